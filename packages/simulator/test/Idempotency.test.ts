import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as State from "../src/internal/state.js"
import { createBackfill, errorType, event, get, layer, newBackfill, post, whenSleeping } from "./support.js"

const conflict = errorType("409-resource-conflict")

describe("Idempotency-Key", () => {
  it.effect("a replay answers the first response with Idempotent-Replayed: true", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      const first = yield* post("/events/backfills", newBackfill(), { "idempotency-key": "k1" })
      assert.strictEqual(first.status, 200)
      assert.isUndefined(first.headers["idempotent-replayed"])
      yield* TestClock.adjust("47 hours")
      const replay = yield* post("/events/backfills", newBackfill(), { "idempotency-key": "k1" })
      assert.strictEqual(replay.status, 200)
      assert.strictEqual(replay.headers["idempotent-replayed"], "true")
      assert.deepStrictEqual(replay.body, first.body)
      assert.lengthOf(yield* simulator.backfills, 1)
      const requests = yield* simulator.requests
      assert.deepStrictEqual(requests.map((r) => r.replayed), [false, true])
    }).pipe(Effect.provide(layer())))

  it.effect("error responses are replayed too", () =>
    Effect.gen(function*() {
      const first = yield* post("/events/backfills/nope/close", undefined, { "idempotency-key": "k" })
      const replay = yield* post("/events/backfills/nope/close", undefined, { "idempotency-key": "k" })
      assert.strictEqual(first.status, 404)
      assert.strictEqual(replay.status, 404)
      assert.strictEqual(replay.headers["idempotent-replayed"], "true")
    }).pipe(Effect.provide(layer())))

  it.effect("the same key with another body or path is 409 resource-conflict", () =>
    Effect.gen(function*() {
      yield* post("/events/backfills", newBackfill(), { "idempotency-key": "k" })
      const otherBody = yield* post("/events/backfills", newBackfill({ replace_existing_events: true }), {
        "idempotency-key": "k"
      })
      assert.strictEqual(otherBody.status, 409)
      assert.strictEqual(otherBody.body.type, conflict)
      const otherPath = yield* post("/ingest", { events: [] }, { "idempotency-key": "k" })
      assert.strictEqual(otherPath.status, 409)
    }).pipe(Effect.provide(layer())))

  it.effect("a key is forgotten after 48 hours", () =>
    Effect.gen(function*() {
      const first = yield* post("/events/backfills/nope/close", undefined, { "idempotency-key": "k" })
      yield* TestClock.adjust("48 hours")
      const later = yield* post("/events/backfills/nope/close", undefined, { "idempotency-key": "k" })
      assert.strictEqual(first.status, 404)
      assert.isUndefined(later.headers["idempotent-replayed"])
    }).pipe(Effect.provide(layer())))

  it.effect("the same key while the first request is in flight is 409", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      yield* simulator.injectFaults({ kind: "delay", timing: "before", delay: "10 seconds" })
      const first = yield* Effect.fork(post("/events/backfills", newBackfill(), { "idempotency-key": "k" }))
      yield* whenSleeping
      yield* TestClock.adjust("1 second")
      const second = yield* post("/events/backfills", newBackfill(), { "idempotency-key": "k" })
      assert.strictEqual(second.status, 409)
      assert.strictEqual(second.body.type, conflict)
      assert.include(second.body.detail, "in progress")
      yield* TestClock.adjust("9 seconds")
      assert.strictEqual((yield* Fiber.join(first)).status, 200)
      const third = yield* post("/events/backfills", newBackfill(), { "idempotency-key": "k" })
      assert.strictEqual(third.headers["idempotent-replayed"], "true")
    }).pipe(Effect.provide(layer())))

  it.effect("a large body: the same one is replayed, one differing in its last event is 409 and not recorded", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      const created = yield* createBackfill()
      const path = `/ingest?backfill_id=${created.id}`
      const events = Array.from({ length: 500 }, (_, i) => event(`e${i}`, { properties: { units: i } }))
      const headers = { "idempotency-key": "batch-1" }
      const first = yield* post(path, { events }, headers)
      assert.strictEqual(first.status, 200)
      const replay = yield* post(path, { events }, headers)
      assert.strictEqual(replay.status, 200)
      assert.strictEqual(replay.headers["idempotent-replayed"], "true")
      const changed = [...events.slice(0, 499), event("e499", { properties: { units: 500 } })]
      const reused = yield* post(path, { events: changed }, headers)
      assert.strictEqual(reused.status, 409)
      assert.strictEqual(reused.body.type, conflict)
      assert.strictEqual(reused.body.detail, "This Idempotency-Key was used with a different request")
      const stored = (yield* simulator.events).find((e) => e.idempotencyKey === "e499")
      assert.deepStrictEqual(stored?.properties, { units: 499 })
    }).pipe(Effect.provide(layer())))

  it("a remembered request is a fixed-size digest of its method, path and body, not the body itself", () => {
    const big = JSON.stringify({ events: Array.from({ length: 500 }, (_, i) => event(`e${i}`)) })
    const digest = State.fingerprint("POST", "/v1/ingest?backfill_id=b", big)
    assert.lengthOf(digest, State.fingerprint("POST", "/v1/ingest?backfill_id=b", "").length)
    assert.isBelow(digest.length, 64)
    assert.strictEqual(State.fingerprint("POST", "/v1/ingest?backfill_id=b", big), digest)
    // One character changed at the very end.
    assert.notStrictEqual(State.fingerprint("POST", "/v1/ingest?backfill_id=b", `${big.slice(0, -3)}x]}`), digest)
    assert.notStrictEqual(State.fingerprint("POST", "/v1/ingest?backfill_id=c", big), digest)
    assert.notStrictEqual(State.fingerprint("PUT", "/v1/ingest?backfill_id=b", big), digest)
  })

  it.effect("a key longer than 64 characters is refused; GET ignores the header", () =>
    Effect.gen(function*() {
      const long = yield* post("/events/backfills", newBackfill(), { "idempotency-key": "x".repeat(65) })
      assert.strictEqual(long.status, 400)
      assert.strictEqual(long.body.type, errorType("400-request-validation-errors"))
      const a = yield* get("/events/backfills", { "idempotency-key": "g" })
      const b = yield* get("/events/backfills", { "idempotency-key": "g" })
      assert.strictEqual(a.status, 200)
      assert.isUndefined(b.headers["idempotent-replayed"])
    }).pipe(Effect.provide(layer())))
  it.effect("the same key with another request is 409 on every try for as long as the key is kept", () =>
    Effect.gen(function*() {
      // Open for longer than the key is kept.
      const created = yield* createBackfill({ close_time: "2025-04-01T00:00:00Z" })
      const other = yield* createBackfill({
        timeframe_start: "2025-03-05T00:00:00Z",
        timeframe_end: "2025-03-06T00:00:00Z",
        close_time: "2025-04-01T00:00:00Z"
      })
      const headers = { "idempotency-key": "batch" }
      const body = { events: [event("a")] }
      assert.strictEqual((yield* post(`/ingest?backfill_id=${created.id}`, body, headers)).status, 200)
      // Another query (another backfill_id) with the same body and key.
      for (const wait of ["1 second", "24 hours", "23 hours"] as const) {
        yield* TestClock.adjust(wait)
        const reused = yield* post(`/ingest?backfill_id=${other.id}`, body, headers)
        assert.strictEqual(reused.status, 409)
        assert.strictEqual(reused.body.detail, "This Idempotency-Key was used with a different request")
      }
      // 48 hours after the first request, the key is forgotten: the request is answered on its own merits (its event
      // is outside this backfill's timeframe).
      yield* TestClock.adjust("1 hour")
      const later = yield* post(`/ingest?backfill_id=${other.id}`, body, headers)
      assert.strictEqual(later.status, 400)
      assert.strictEqual(later.body.type, errorType("400-request-validation-errors"))
    }).pipe(Effect.provide(layer())))

  it.effect("a concurrent duplicate is 409 until the first request ends; another request meanwhile is 409 for good", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      yield* simulator.injectFaults({ kind: "delay", timing: "before", delay: "10 seconds" })
      const headers = { "idempotency-key": "k" }
      const first = yield* Effect.fork(post("/events/backfills", newBackfill(), headers))
      yield* whenSleeping
      for (let i = 0; i < 3; i++) {
        const duplicate = yield* post("/events/backfills", newBackfill(), headers)
        assert.strictEqual(duplicate.status, 409)
        assert.include(duplicate.body.detail, "in progress")
        const other = yield* post("/events/backfills", newBackfill({ replace_existing_events: true }), headers)
        assert.strictEqual(other.status, 409)
        assert.strictEqual(other.body.detail, "This Idempotency-Key was used with a different request")
        yield* TestClock.adjust("3 seconds")
      }
      yield* TestClock.adjust("1 second")
      const answered = yield* Fiber.join(first)
      assert.strictEqual(answered.status, 200)
      const replay = yield* post("/events/backfills", newBackfill(), headers)
      assert.strictEqual(replay.headers["idempotent-replayed"], "true")
      assert.deepStrictEqual(replay.body, answered.body)
      const other = yield* post("/events/backfills", newBackfill({ replace_existing_events: true }), headers)
      assert.strictEqual(other.status, 409)
      assert.lengthOf(yield* simulator.backfills, 1)
    }).pipe(Effect.provide(layer())))

  it.effect("a replay answers the first response whatever happened since, faults included", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      const created = yield* createBackfill()
      const headers = { "idempotency-key": "close" }
      yield* simulator.injectFaults({ kind: "internal-error", timing: "after" })
      const lost = yield* post(`/events/backfills/${created.id}/close`, undefined, headers)
      assert.strictEqual(lost.status, 500)
      // The backfill moves on (reflected), but the replay is the close's own answer, byte for byte.
      yield* TestClock.adjust("1 hour")
      const replay = yield* post(`/events/backfills/${created.id}/close`, undefined, headers)
      assert.strictEqual(replay.status, 200)
      assert.strictEqual(replay.headers["idempotent-replayed"], "true")
      assert.strictEqual(replay.body.status, "pending")
      const again = yield* post(`/events/backfills/${created.id}/close`, undefined, {})
      assert.strictEqual(again.status, 400)
    }).pipe(Effect.provide(layer())))
})
