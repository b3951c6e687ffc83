// The `latency` option: every answer reaches the client that long after the request took effect, on
// Effect's clock, in-process and over HTTP alike.
import { OrbSimulator } from "@effect-orb/simulator"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { atT0, get, layer, newBackfill, post, whenSleeping } from "./support.js"

describe("latency", () => {
  it.effect("an answer comes after the latency; the request has taken effect by then", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      const creating = yield* Effect.fork(post("/events/backfills", newBackfill()))
      yield* whenSleeping
      expect(Option.isNone(yield* Fiber.poll(creating))).toBe(true)
      expect(yield* simulator.backfills).toHaveLength(1)
      yield* TestClock.adjust("199 millis")
      expect(Option.isNone(yield* Fiber.poll(creating))).toBe(true)
      yield* TestClock.adjust("1 millis")
      const created = yield* Fiber.join(creating)
      expect(created.status).toBe(200)
      // Every answer, errors included, waits: a read of an unknown backfill too.
      const missing = yield* OrbSimulator.drive(get("/events/backfills/nope"), "50 millis")
      expect(missing.status).toBe(404)
      expect((yield* simulator.requests).map((r) => r.status)).toEqual([200, 404])
    }).pipe(Effect.provide(layer({ latency: "200 millis" }))))

  it.effect("a client that gives up during the latency is logged as unanswered, and its request stands", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      const creating = yield* Effect.fork(post("/events/backfills", newBackfill(), { "idempotency-key": "k" }))
      yield* whenSleeping
      yield* Fiber.interrupt(creating)
      expect((yield* simulator.requests).map((r) => r.status)).toEqual([undefined])
      const retried = yield* OrbSimulator.drive(
        post("/events/backfills", newBackfill(), { "idempotency-key": "k" }),
        "1 second"
      )
      expect(retried.status).toBe(200)
      expect(retried.headers["idempotent-replayed"]).toBe("true")
      expect(yield* simulator.backfills).toHaveLength(1)
    }).pipe(Effect.provide(layer({ latency: "1 second" }))))

  it.effect("no latency by default: an answer needs no clock movement", () =>
    Effect.gen(function*() {
      const created = yield* post("/events/backfills", newBackfill())
      expect(created.status).toBe(200)
    }).pipe(Effect.provide(layer())))

  it.scoped("the loopback server delays every response by the latency", () =>
    Effect.gen(function*() {
      yield* atT0
      const server = yield* OrbSimulator.serve({ latency: "2 seconds" })
      const listing = yield* Effect.fork(
        Effect.promise(() => fetch(`${server.url}/events/backfills`).then((response) => response.status))
      )
      yield* whenSleeping
      yield* TestClock.adjust("1999 millis")
      expect(Option.isNone(yield* Fiber.poll(listing))).toBe(true)
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(listing)).toBe(200)
    }))
})
