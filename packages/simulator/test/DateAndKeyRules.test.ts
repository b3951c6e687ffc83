// The simulator reads dates and event keys as the library does: one strict ISO 8601 parser (an impossible date
// is refused, never moved; no zone is UTC, as Orb reads it), no length limit on an event's key (the 64 characters are the
// Idempotency-Key header's), and Orb's 5-minute rule on future events inside a backfill too.
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { createBackfill, errorType, event, layer, newBackfill, post, T0 } from "./support.js"

const validation = errorType("400-request-validation-errors")

const ingestInto = (backfillId: string, events: ReadonlyArray<unknown>) =>
  post(`/ingest?backfill_id=${backfillId}`, { events })

describe("dates", () => {
  it.effect("a create with an impossible date is refused, naming the field", () =>
    Effect.gen(function*() {
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ timeframe_end: "2025-02-30T00:00:00Z" }, /timeframe_end.*February 2025 has 28 days/],
        [{ timeframe_start: "2025-02-29T00:00:00" }, /timeframe_start.*February 2025 has 28 days/],
        [{ close_time: "2025-11-31T00:00:00Z" }, /close_time.*November 2025 has 30 days/],
        [{ timeframe_start: "Sat, 01 Mar 2025 00:00:00 GMT" }, /timeframe_start.*is not an ISO 8601 date-time/]
      ]
      for (const [overrides, reason] of cases) {
        const reply = yield* post("/events/backfills", newBackfill(overrides))
        assert.strictEqual(reply.status, 400, JSON.stringify(overrides))
        assert.strictEqual(reply.body.type, validation)
        assert.match(reply.body.validation_errors.join("\n"), reason)
      }
      const simulator = yield* OrbSimulator.OrbSimulator
      assert.lengthOf(yield* simulator.backfills, 0)
    }).pipe(Effect.provide(layer())))

  it.effect("an event with an impossible date is refused, not moved into the timeframe", () =>
    Effect.gen(function*() {
      const backfill = yield* createBackfill({
        timeframe_start: "2025-03-01T00:00:00Z",
        timeframe_end: "2025-03-08T00:00:00Z"
      })
      // 2025-02-29 would roll over to March 1, inside the timeframe.
      for (const timestamp of ["2025-02-29T12:00:00Z", "2025-03-01T24:00:00Z", "2025-02-29T12:00:00"]) {
        const reply = yield* ingestInto(backfill.id, [event("k1", { timestamp })])
        assert.strictEqual(reply.status, 400, timestamp)
        assert.match(JSON.stringify(reply.body.validation_errors), /timestamp/, timestamp)
      }
      const simulator = yield* OrbSimulator.OrbSimulator
      assert.lengthOf(yield* simulator.events, 0)
    }).pipe(Effect.provide(layer())))
})

describe("what Orb's Python SDK sends", () => {
  // Its docstrings ask for "an ISO 8601 format date with no timezone offset (i.e. UTC)", and it writes a naive
  // `datetime` without a zone; an aware one keeps its offset. Orb reads both: so does the simulator.
  it.effect("a date-time without a zone is UTC, and one with an offset is its instant, in a create and an event", () =>
    Effect.gen(function*() {
      const created = yield* post(
        "/events/backfills",
        newBackfill({ timeframe_start: "2025-03-01T00:00:00", timeframe_end: "2025-03-02T02:00:00+02:00" })
      )
      assert.strictEqual(created.status, 200, JSON.stringify(created.body))
      assert.strictEqual(created.body.timeframe_start, "2025-03-01T00:00:00.000Z")
      assert.strictEqual(created.body.timeframe_end, "2025-03-02T00:00:00.000Z")
      const reply = yield* ingestInto(created.body.id, [
        event("naive", { timestamp: "2025-03-01T12:00:00" }),
        event("offset", { timestamp: "2025-03-01T12:00:00-05:00" })
      ])
      assert.strictEqual(reply.status, 200, JSON.stringify(reply.body))
      const simulator = yield* OrbSimulator.OrbSimulator
      assert.deepStrictEqual(
        (yield* simulator.events).map((e) => [e.idempotencyKey, e.timestamp.epochMillis]),
        [["naive", Date.parse("2025-03-01T12:00:00Z")], ["offset", Date.parse("2025-03-01T17:00:00Z")]]
      )
      // Outside a backfill too (within the grace period, before T0).
      const recent = yield* post("/ingest", {
        events: [
          event("recent", { timestamp: "2025-03-09T20:00:00" }),
          event("recent+1", { timestamp: "2025-03-09T22:00:00+01:00" })
        ]
      })
      assert.strictEqual(recent.status, 200, JSON.stringify(recent.body))
    }).pipe(Effect.provide(layer())))
})

describe("event keys", () => {
  it.effect("an event's idempotency_key has no length limit; the Idempotency-Key header keeps its 64", () =>
    Effect.gen(function*() {
      const backfill = yield* createBackfill()
      const long = "k".repeat(200)
      const reply = yield* ingestInto(backfill.id, [event(long)])
      assert.strictEqual(reply.status, 200)
      const simulator = yield* OrbSimulator.OrbSimulator
      assert.deepStrictEqual((yield* simulator.events).map((e) => e.idempotencyKey), [long])
      const empty = yield* ingestInto(backfill.id, [event("")])
      assert.strictEqual(empty.status, 400)
      const header = yield* post(`/ingest?backfill_id=${backfill.id}`, { events: [event("k2")] }, {
        "idempotency-key": "h".repeat(65)
      })
      assert.strictEqual(header.status, 400)
    }).pipe(Effect.provide(layer())))
})

describe("future events", () => {
  it.effect("inside a backfill too, an event more than 5 minutes ahead of the clock is refused", () =>
    Effect.gen(function*() {
      // A timeframe that runs past now (T0).
      const backfill = yield* createBackfill({
        timeframe_start: new Date(T0 - 86_400_000).toISOString(),
        timeframe_end: new Date(T0 + 86_400_000).toISOString()
      })
      const at = (millis: number) => new Date(T0 + millis).toISOString()
      const refused = yield* ingestInto(backfill.id, [event("late", { timestamp: at(5 * 60_000 + 1) })])
      assert.strictEqual(refused.status, 400)
      assert.deepStrictEqual(refused.body.validation_errors[0].validation_errors, [
        "timestamp: more than 5 minutes in the future"
      ])
      const accepted = yield* ingestInto(backfill.id, [event("edge", { timestamp: at(5 * 60_000) })])
      assert.strictEqual(accepted.status, 200)
    }).pipe(Effect.provide(layer())))
})
