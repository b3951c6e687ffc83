// The simulator writes backfills to the wire by hand (the Schema encoder costs most of a list page's CPU): these
// tests hold the hand encoding to exactly what `Schema.encodeSync(Backfill.Backfill)` gives.
import { Backfill } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as BackfillsHandler from "../src/internal/backfillsHandler.js"
import { createBackfill, get, layer, post, T0 } from "./support.js"

const encode = Schema.encodeSync(Backfill.Backfill)

// What the simulator has always sent: the Schema's encoding, with an absent `deprecation_filter` as `null`.
const bySchema = (backfill: Backfill.Backfill) => ({ deprecation_filter: null, ...encode(backfill) })

const statuses: ReadonlyArray<Backfill.BackfillStatus> = ["pending", "pending_revert", "reflected", "reverted"]

describe("a backfill's wire body", () => {
  it("is the Schema's encoding, for every status and every optional field present or not", () => {
    const times = [
      T0,
      T0 + 1,
      T0 + 999,
      0,
      Date.parse("1969-07-20T20:17:40.5Z"),
      Date.parse("2099-12-31T23:59:59.999Z")
    ]
    let cases = 0
    for (const status of statuses) {
      for (const closeTime of [null, T0 + 86_400_000, T0 - 1]) {
        for (const revertedAt of [null, T0 + 5_123]) {
          for (const customerId of [null, "cus_1", ""]) {
            for (const deprecationFilter of [null, "region = 'eu' AND units > 2"]) {
              for (const [index, time] of times.entries()) {
                const fields: BackfillsHandler.BackfillFields = {
                  id: `bf_${cases}`,
                  status,
                  createdAt: time,
                  timeframeStart: times[(index + 1) % times.length],
                  timeframeEnd: times[(index + 2) % times.length],
                  eventsIngested: cases % 3 === 0 ? 0 : cases * 1_000,
                  closeTime,
                  revertedAt,
                  customerId,
                  replaceExistingEvents: cases % 2 === 0,
                  deprecationFilter
                }
                const expected = bySchema(BackfillsHandler.backfillModel(fields))
                const actual = BackfillsHandler.backfillJson(fields)
                assert.deepStrictEqual(actual, expected)
                // The same text too, key order included: a stored idempotent response replays it byte for byte.
                assert.strictEqual(JSON.stringify(actual), JSON.stringify(expected))
                cases++
              }
            }
          }
        }
      }
    }
    assert.strictEqual(cases, 4 * 3 * 2 * 3 * 2 * 6)
  })

  it.effect("fetch and list send the Schema's encoding of what the simulator shows, through the lifecycle", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      const seen = new Set<string>()
      const check = Effect.gen(function*() {
        const expected = (yield* simulator.backfills).map(bySchema)
        const listed = yield* get("/events/backfills?limit=100")
        assert.strictEqual(listed.status, 200)
        assert.deepStrictEqual(listed.body.data, expected)
        for (const backfill of expected) {
          const fetched = yield* get(`/events/backfills/${backfill.id}`)
          assert.deepStrictEqual(fetched.body, backfill)
          seen.add(backfill.status)
          seen.add(`reverted_at ${backfill.reverted_at === null ? "null" : "set"}`)
          seen.add(`customer_id ${backfill.customer_id === null ? "null" : "set"}`)
          seen.add(`deprecation_filter ${backfill.deprecation_filter === null ? "null" : "set"}`)
        }
      })
      const day = (n: number) => ({
        timeframe_start: `2025-02-${String(n).padStart(2, "0")}T00:00:00Z`,
        timeframe_end: `2025-02-${String(n + 1).padStart(2, "0")}T00:00:00Z`
      })
      const revertedLater = yield* createBackfill(day(1))
      const revertedAfter = yield* createBackfill({ ...day(3), customer_id: "cus_1" })
      const reflected = yield* createBackfill({
        ...day(5),
        replace_existing_events: true,
        deprecation_filter: "region = 'eu'"
      })
      const revertedAtOnce = yield* createBackfill({ ...day(7), external_customer_id: "acme" })
      yield* createBackfill({ ...day(9), close_time: "2025-03-10T06:00:00.123Z", deprecation_filter: null })
      yield* check

      yield* TestClock.adjust("1234 millis")
      for (const created of [revertedLater, revertedAfter, reflected]) {
        assert.strictEqual((yield* post(`/events/backfills/${created.id}/close`)).status, 200)
      }
      assert.strictEqual((yield* post(`/events/backfills/${revertedAtOnce.id}/revert`)).status, 200)
      yield* check

      yield* TestClock.adjust("5 seconds")
      yield* check
      for (const created of [revertedLater, revertedAfter]) {
        assert.strictEqual((yield* post(`/events/backfills/${created.id}/revert`)).status, 200)
      }
      yield* check

      yield* TestClock.adjust("5 seconds")
      yield* check
      assert.deepStrictEqual([...seen].sort(), [
        "customer_id null",
        "customer_id set",
        "deprecation_filter null",
        "deprecation_filter set",
        "pending",
        "pending_revert",
        "reflected",
        "reverted",
        "reverted_at null",
        "reverted_at set"
      ])
    }).pipe(Effect.provide(layer())))
})
