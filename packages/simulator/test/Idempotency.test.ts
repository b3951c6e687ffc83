import { OrbSimulator } from "@effect-orb/simulator"
import { describe, expect, it } from "@effect/vitest"
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
      expect(first.status).toBe(200)
      expect(first.headers["idempotent-replayed"]).toBeUndefined()
      yield* TestClock.adjust("47 hours")
      const replay = yield* post("/events/backfills", newBackfill(), { "idempotency-key": "k1" })
      expect(replay.status).toBe(200)
      expect(replay.headers["idempotent-replayed"]).toBe("true")
      expect(replay.body).toEqual(first.body)
      expect(yield* simulator.backfills).toHaveLength(1)
      const requests = yield* simulator.requests
      expect(requests.map((r) => r.replayed)).toEqual([false, true])
    }).pipe(Effect.provide(layer())))

  it.effect("error responses are replayed too", () =>
    Effect.gen(function*() {
      const first = yield* post("/events/backfills/nope/close", undefined, { "idempotency-key": "k" })
      const replay = yield* post("/events/backfills/nope/close", undefined, { "idempotency-key": "k" })
      expect(first.status).toBe(404)
      expect(replay.status).toBe(404)
      expect(replay.headers["idempotent-replayed"]).toBe("true")
    }).pipe(Effect.provide(layer())))

  it.effect("the same key with another body or path is 409 resource-conflict", () =>
    Effect.gen(function*() {
      yield* post("/events/backfills", newBackfill(), { "idempotency-key": "k" })
      const otherBody = yield* post("/events/backfills", newBackfill({ replace_existing_events: true }), {
        "idempotency-key": "k"
      })
      expect(otherBody.status).toBe(409)
      expect(otherBody.body.type).toBe(conflict)
      const otherPath = yield* post("/ingest", { events: [] }, { "idempotency-key": "k" })
      expect(otherPath.status).toBe(409)
    }).pipe(Effect.provide(layer())))

  it.effect("a key is forgotten after 48 hours", () =>
    Effect.gen(function*() {
      const first = yield* post("/events/backfills/nope/close", undefined, { "idempotency-key": "k" })
      yield* TestClock.adjust("48 hours")
      const later = yield* post("/events/backfills/nope/close", undefined, { "idempotency-key": "k" })
      expect(first.status).toBe(404)
      expect(later.headers["idempotent-replayed"]).toBeUndefined()
    }).pipe(Effect.provide(layer())))

  it.effect("the same key while the first request is in flight is 409", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      yield* simulator.injectFaults({ kind: "delay", timing: "before", delay: "10 seconds" })
      const first = yield* Effect.fork(post("/events/backfills", newBackfill(), { "idempotency-key": "k" }))
      yield* whenSleeping
      yield* TestClock.adjust("1 second")
      const second = yield* post("/events/backfills", newBackfill(), { "idempotency-key": "k" })
      expect(second.status).toBe(409)
      expect(second.body.type).toBe(conflict)
      expect(second.body.detail).toContain("in progress")
      yield* TestClock.adjust("9 seconds")
      expect((yield* Fiber.join(first)).status).toBe(200)
      const third = yield* post("/events/backfills", newBackfill(), { "idempotency-key": "k" })
      expect(third.headers["idempotent-replayed"]).toBe("true")
    }).pipe(Effect.provide(layer())))

  it.effect("a large body: the same one is replayed, one differing in its last event is 409 and not recorded", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      const created = yield* createBackfill()
      const path = `/ingest?backfill_id=${created.id}`
      const events = Array.from({ length: 500 }, (_, i) => event(`e${i}`, { properties: { units: i } }))
      const headers = { "idempotency-key": "batch-1" }
      const first = yield* post(path, { events }, headers)
      expect(first.status).toBe(200)
      const replay = yield* post(path, { events }, headers)
      expect(replay.status).toBe(200)
      expect(replay.headers["idempotent-replayed"]).toBe("true")
      const changed = [...events.slice(0, 499), event("e499", { properties: { units: 500 } })]
      const reused = yield* post(path, { events: changed }, headers)
      expect(reused.status).toBe(409)
      expect(reused.body.type).toBe(conflict)
      expect(reused.body.detail).toBe("This Idempotency-Key was used with a different request")
      const stored = (yield* simulator.events).find((e) => e.idempotencyKey === "e499")
      expect(stored?.properties).toEqual({ units: 499 })
    }).pipe(Effect.provide(layer())))

  it("a remembered request is a fixed-size digest of its method, path and body, not the body itself", () => {
    const big = JSON.stringify({ events: Array.from({ length: 500 }, (_, i) => event(`e${i}`)) })
    const digest = State.fingerprint("POST", "/v1/ingest?backfill_id=b", big)
    expect(digest).toHaveLength(State.fingerprint("POST", "/v1/ingest?backfill_id=b", "").length)
    expect(digest.length).toBeLessThan(64)
    expect(State.fingerprint("POST", "/v1/ingest?backfill_id=b", big)).toBe(digest)
    // One character changed at the very end.
    expect(State.fingerprint("POST", "/v1/ingest?backfill_id=b", `${big.slice(0, -3)}x]}`)).not.toBe(digest)
    expect(State.fingerprint("POST", "/v1/ingest?backfill_id=c", big)).not.toBe(digest)
    expect(State.fingerprint("PUT", "/v1/ingest?backfill_id=b", big)).not.toBe(digest)
  })

  it.effect("a key longer than 64 characters is refused; GET ignores the header", () =>
    Effect.gen(function*() {
      const long = yield* post("/events/backfills", newBackfill(), { "idempotency-key": "x".repeat(65) })
      expect(long.status).toBe(400)
      expect(long.body.type).toBe(errorType("400-request-validation-errors"))
      const a = yield* get("/events/backfills", { "idempotency-key": "g" })
      const b = yield* get("/events/backfills", { "idempotency-key": "g" })
      expect(a.status).toBe(200)
      expect(b.headers["idempotent-replayed"]).toBeUndefined()
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
      expect((yield* post(`/ingest?backfill_id=${created.id}`, body, headers)).status).toBe(200)
      // Another query (another backfill_id) with the same body and key.
      for (const wait of ["1 second", "24 hours", "23 hours"] as const) {
        yield* TestClock.adjust(wait)
        const reused = yield* post(`/ingest?backfill_id=${other.id}`, body, headers)
        expect(reused.status).toBe(409)
        expect(reused.body.detail).toBe("This Idempotency-Key was used with a different request")
      }
      // 48 hours after the first request, the key is forgotten: the request is answered on its own merits (its event
      // is outside this backfill's timeframe).
      yield* TestClock.adjust("1 hour")
      const later = yield* post(`/ingest?backfill_id=${other.id}`, body, headers)
      expect(later.status).toBe(400)
      expect(later.body.type).toBe(errorType("400-request-validation-errors"))
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
        expect(duplicate.status).toBe(409)
        expect(duplicate.body.detail).toContain("in progress")
        const other = yield* post("/events/backfills", newBackfill({ replace_existing_events: true }), headers)
        expect(other.status).toBe(409)
        expect(other.body.detail).toBe("This Idempotency-Key was used with a different request")
        yield* TestClock.adjust("3 seconds")
      }
      yield* TestClock.adjust("1 second")
      const answered = yield* Fiber.join(first)
      expect(answered.status).toBe(200)
      const replay = yield* post("/events/backfills", newBackfill(), headers)
      expect(replay.headers["idempotent-replayed"]).toBe("true")
      expect(replay.body).toEqual(answered.body)
      const other = yield* post("/events/backfills", newBackfill({ replace_existing_events: true }), headers)
      expect(other.status).toBe(409)
      expect(yield* simulator.backfills).toHaveLength(1)
    }).pipe(Effect.provide(layer())))

  it.effect("a replay answers the first response whatever happened since, faults included", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      const created = yield* createBackfill()
      const headers = { "idempotency-key": "close" }
      yield* simulator.injectFaults({ kind: "internal-error", timing: "after" })
      const lost = yield* post(`/events/backfills/${created.id}/close`, undefined, headers)
      expect(lost.status).toBe(500)
      // The backfill moves on (reflected), but the replay is the close's own answer, byte for byte.
      yield* TestClock.adjust("1 hour")
      const replay = yield* post(`/events/backfills/${created.id}/close`, undefined, headers)
      expect(replay.status).toBe(200)
      expect(replay.headers["idempotent-replayed"]).toBe("true")
      expect(replay.body.status).toBe("pending")
      const again = yield* post(`/events/backfills/${created.id}/close`, undefined, {})
      expect(again.status).toBe(400)
    }).pipe(Effect.provide(layer())))
})
