import { OrbSimulator } from "@effect-orb/simulator"
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
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
      assert.strictEqual(failed.status, 500)
      assert.strictEqual(failed.body.type, errorType("500-internal-server-error"))
      assert.strictEqual(failed.headers["transient-error"], "true")
      assert.lengthOf(yield* simulator.backfills, 0)
      const retried = yield* post("/events/backfills", newBackfill(), { "idempotency-key": "k" })
      assert.strictEqual(retried.status, 200)
      assert.isUndefined(retried.headers["idempotent-replayed"])
    }).pipe(Effect.provide(layer())))

  it.effect("a fault after the request took effect: the retry with the same key gets the stored response", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      yield* simulator.injectFaults({ kind: "unavailable", timing: "after" })
      const failed = yield* post("/events/backfills", newBackfill(), { "idempotency-key": "k" })
      // A load balancer's page, not one of Orb's problem documents.
      assert.strictEqual(failed.status, 503)
      assert.strictEqual(failed.headers["content-type"], "text/html")
      assert.match(failed.body, /^<html>/)
      assert.isUndefined(failed.headers["transient-error"])
      const backfills = yield* simulator.backfills
      assert.lengthOf(backfills, 1)
      const retried = yield* post("/events/backfills", newBackfill(), { "idempotency-key": "k" })
      assert.strictEqual(retried.status, 200)
      assert.strictEqual(retried.headers["idempotent-replayed"], "true")
      assert.strictEqual(retried.body.id, backfills[0].id)
    }).pipe(Effect.provide(layer())))

  it.effect("429 and 409 faults", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      yield* simulator.injectFaults(
        { kind: "too-many-requests", timing: "before" },
        { kind: "conflict", timing: "before" }
      )
      const limited = yield* get("/events/backfills")
      assert.strictEqual(limited.status, 429)
      assert.strictEqual(limited.headers["retry-after"], "1")
      const conflict = yield* get("/events/backfills")
      assert.strictEqual(conflict.status, 409)
      assert.strictEqual(conflict.body.type, errorType("409-resource-conflict"))
      assert.strictEqual((yield* get("/events/backfills")).status, 200)
    }).pipe(Effect.provide(layer())))

  it.effect("a dropped connection is a transport error of the HttpClient", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      yield* simulator.injectFaults({ kind: "drop", timing: "after" })
      const client = yield* HttpClient.HttpClient
      const result = yield* Effect.either(client.post("https://api.withorb.com/v1/events/backfills/x/close"))
      assert.strictEqual(
        Either.isLeft(result) && result.left._tag === "RequestError" && result.left.reason,
        "Transport"
      )
      const [record] = yield* simulator.requests
      // `status: undefined`: no response reached the client.
      assert.containSubset(record, { status: undefined, fault: "drop", url: "/v1/events/backfills/x/close" })
    }).pipe(Effect.provide(layer())))

  it.effect("a delay holds the response for the given time", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      yield* simulator.injectFaults({ kind: "delay", timing: "after" })
      const fiber = yield* Effect.fork(post("/events/backfills", newBackfill()))
      yield* whenSleeping
      yield* TestClock.adjust("119 seconds")
      assert.isNull(fiber.unsafePoll())
      assert.lengthOf(yield* simulator.backfills, 1)
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* Fiber.join(fiber)).status, 200)
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
      assert.deepStrictEqual(a, b)
      assert.notDeepEqual(a, c)
      const faulted = a.filter((status) => status !== 200).length
      assert.isAbove(faulted, 3)
      assert.isBelow(faulted, 25)
    }))

  it.effect("setFaults and reset", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      yield* simulator.setFaults({ rate: 1, kinds: ["internal-error"] })
      assert.strictEqual((yield* get("/events/backfills")).status, 500)
      yield* post("/events/backfills", newBackfill())
      yield* simulator.reset
      assert.deepStrictEqual((yield* get("/events/backfills")).body.data, [])
      assert.lengthOf(yield* simulator.requests, 1)
    }).pipe(Effect.provide(layer())))

  it.effect("recordRequests: metadata keeps no bodies, none keeps nothing", () =>
    Effect.gen(function*() {
      for (const mode of ["metadata", "none"] as const) {
        const requests = yield* Effect.gen(function*() {
          const simulator = yield* OrbSimulator.OrbSimulator
          const created = yield* post("/events/backfills", newBackfill())
          assert.strictEqual(created.status, 200)
          return yield* simulator.requests
        }).pipe(Effect.provide(layer({ recordRequests: mode })))
        if (mode === "none") assert.lengthOf(requests, 0)
        else {
          assert.lengthOf(requests, 1)
          assert.strictEqual(requests[0].body, "")
          assert.strictEqual(requests[0].status, 200)
        }
      }
    }))
})
