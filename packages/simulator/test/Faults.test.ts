import { OrbSimulator } from "@effect-orb/simulator"
import * as HttpClient from "@effect/platform/HttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { errorType, get, layer, newBackfill, post, whenSleeping } from "./support.js"

describe("faults", () => {
  it.effect("a fault before the request takes effect leaves no trace", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      yield* simulator.injectFaults({ kind: "internal-error", timing: "before" })
      const failed = yield* post("/events/backfills", newBackfill(), { "idempotency-key": "k" })
      expect(failed.status).toBe(500)
      expect(failed.body.type).toBe(errorType("500-internal-server-error"))
      expect(failed.headers["transient-error"]).toBe("true")
      expect(yield* simulator.backfills).toHaveLength(0)
      const retried = yield* post("/events/backfills", newBackfill(), { "idempotency-key": "k" })
      expect(retried.status).toBe(200)
      expect(retried.headers["idempotent-replayed"]).toBeUndefined()
    }).pipe(Effect.provide(layer())))

  it.effect("a fault after the request took effect: the retry with the same key gets the stored response", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      yield* simulator.injectFaults({ kind: "unavailable", timing: "after" })
      const failed = yield* post("/events/backfills", newBackfill(), { "idempotency-key": "k" })
      // A load balancer's page, not one of Orb's problem documents.
      expect(failed.status).toBe(503)
      expect(failed.headers["content-type"]).toBe("text/html")
      expect(failed.body).toMatch(/^<html>/)
      expect(failed.headers["transient-error"]).toBeUndefined()
      const backfills = yield* simulator.backfills
      expect(backfills).toHaveLength(1)
      const retried = yield* post("/events/backfills", newBackfill(), { "idempotency-key": "k" })
      expect(retried.status).toBe(200)
      expect(retried.headers["idempotent-replayed"]).toBe("true")
      expect(retried.body.id).toBe(backfills[0].id)
    }).pipe(Effect.provide(layer())))

  it.effect("429 and 409 faults", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      yield* simulator.injectFaults(
        { kind: "too-many-requests", timing: "before" },
        { kind: "conflict", timing: "before" }
      )
      const limited = yield* get("/events/backfills")
      expect(limited.status).toBe(429)
      expect(limited.headers["retry-after"]).toBe("1")
      const conflict = yield* get("/events/backfills")
      expect(conflict.status).toBe(409)
      expect(conflict.body.type).toBe(errorType("409-resource-conflict"))
      expect((yield* get("/events/backfills")).status).toBe(200)
    }).pipe(Effect.provide(layer())))

  it.effect("a dropped connection is a transport error of the HttpClient", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      yield* simulator.injectFaults({ kind: "drop", timing: "after" })
      const client = yield* HttpClient.HttpClient
      const result = yield* Effect.either(client.post("https://api.withorb.com/v1/events/backfills/x/close"))
      expect(Either.isLeft(result) && result.left._tag === "RequestError" && result.left.reason).toBe("Transport")
      const [record] = yield* simulator.requests
      // `status: undefined`: no response reached the client.
      expect(record).toMatchObject({ status: undefined, fault: "drop", url: "/v1/events/backfills/x/close" })
    }).pipe(Effect.provide(layer())))

  it.effect("a delay holds the response for the given time", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      yield* simulator.injectFaults({ kind: "delay", timing: "after" })
      const fiber = yield* Effect.fork(post("/events/backfills", newBackfill()))
      yield* whenSleeping
      yield* TestClock.adjust("119 seconds")
      expect(fiber.unsafePoll()).toBeNull()
      expect(yield* simulator.backfills).toHaveLength(1)
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(fiber)).status).toBe(200)
    }).pipe(Effect.provide(layer())))

  const statuses = (seed: number) =>
    Effect.gen(function*() {
      const out: Array<number> = []
      for (let i = 0; i < 40; i++) out.push((yield* get("/events/backfills")).status)
      return out
    }).pipe(
      Effect.provide(layer({
        seed,
        faults: { rate: 0.3, kinds: ["internal-error", "unavailable", "too-many-requests", "conflict"] }
      }))
    )

  it.effect("random faults are reproducible from the seed", () =>
    Effect.gen(function*() {
      const a = yield* statuses(42)
      const b = yield* statuses(42)
      const c = yield* statuses(7)
      expect(a).toEqual(b)
      expect(a).not.toEqual(c)
      const faulted = a.filter((status) => status !== 200).length
      expect(faulted).toBeGreaterThan(3)
      expect(faulted).toBeLessThan(25)
    }))

  it.effect("setFaults and reset", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      yield* simulator.setFaults({ rate: 1, kinds: ["internal-error"] })
      expect((yield* get("/events/backfills")).status).toBe(500)
      yield* post("/events/backfills", newBackfill())
      yield* simulator.reset
      expect((yield* get("/events/backfills")).body.data).toEqual([])
      expect(yield* simulator.requests).toHaveLength(1)
    }).pipe(Effect.provide(layer())))

  it.effect("recordRequests: metadata keeps no bodies, none keeps nothing", () =>
    Effect.gen(function*() {
      for (const mode of ["metadata", "none"] as const) {
        const requests = yield* Effect.gen(function*() {
          const simulator = yield* OrbSimulator.OrbSimulator
          const created = yield* post("/events/backfills", newBackfill())
          expect(created.status).toBe(200)
          return yield* simulator.requests
        }).pipe(Effect.provide(layer({ recordRequests: mode })))
        if (mode === "none") expect(requests).toHaveLength(0)
        else {
          expect(requests).toHaveLength(1)
          expect(requests[0].body).toBe("")
          expect(requests[0].status).toBe(200)
        }
      }
    }))
})
