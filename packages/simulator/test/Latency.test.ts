// The `latency` option: every answer reaches the client that long after the request took effect, on
// Effect's clock, in-process and over HTTP alike.
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
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
      assert.strictEqual(Option.isNone(yield* Fiber.poll(creating)), true)
      assert.lengthOf(yield* simulator.backfills, 1)
      yield* TestClock.adjust("199 millis")
      assert.strictEqual(Option.isNone(yield* Fiber.poll(creating)), true)
      yield* TestClock.adjust("1 millis")
      const created = yield* Fiber.join(creating)
      assert.strictEqual(created.status, 200)
      // Every answer, errors included, waits: a read of an unknown backfill too.
      const missing = yield* OrbSimulator.drive(get("/events/backfills/nope"), "50 millis")
      assert.strictEqual(missing.status, 404)
      assert.deepStrictEqual((yield* simulator.requests).map((r) => r.status), [200, 404])
    }).pipe(Effect.provide(layer({ latency: "200 millis" }))))

  it.effect("a client that gives up during the latency is logged as unanswered, and its request stands", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      const creating = yield* Effect.fork(post("/events/backfills", newBackfill(), { "idempotency-key": "k" }))
      yield* whenSleeping
      yield* Fiber.interrupt(creating)
      assert.deepStrictEqual((yield* simulator.requests).map((r) => r.status), [undefined])
      const retried = yield* OrbSimulator.drive(
        post("/events/backfills", newBackfill(), { "idempotency-key": "k" }),
        "1 second"
      )
      assert.strictEqual(retried.status, 200)
      assert.strictEqual(retried.headers["idempotent-replayed"], "true")
      assert.lengthOf(yield* simulator.backfills, 1)
    }).pipe(Effect.provide(layer({ latency: "1 second" }))))

  it.effect("no latency by default: an answer needs no clock movement", () =>
    Effect.gen(function*() {
      const created = yield* post("/events/backfills", newBackfill())
      assert.strictEqual(created.status, 200)
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
      assert.strictEqual(Option.isNone(yield* Fiber.poll(listing)), true)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* Fiber.join(listing), 200)
    }))
})
