import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { createBackfill, errorType, event, get, layer, post, T0 } from "./support.js"

const iso = (millis: number) => new Date(millis).toISOString()

describe("lifecycle", () => {
  it.effect("create answers a pending backfill that closes by itself one day later", () =>
    Effect.gen(function*() {
      const created = yield* createBackfill({ customer_id: "cus_1" })
      assert.containSubset(created, {
        status: "pending",
        created_at: iso(T0),
        timeframe_start: "2025-03-01T00:00:00.000Z",
        timeframe_end: "2025-03-02T00:00:00.000Z",
        events_ingested: 0,
        close_time: iso(T0 + 86_400_000),
        reverted_at: null,
        customer_id: "cus_1",
        replace_existing_events: false
      })
      const fetched = yield* get(`/events/backfills/${created.id}`)
      assert.deepStrictEqual(fetched.body, created)

      yield* TestClock.adjust("1 day")
      const closing = yield* get(`/events/backfills/${created.id}`)
      assert.strictEqual(closing.body.status, "pending")
      const ingest = yield* post(`/ingest?backfill_id=${created.id}`, { events: [event("late")] })
      assert.strictEqual(ingest.status, 400)
      assert.strictEqual(ingest.body.type, errorType("400-constraint-violation"))

      yield* TestClock.adjust("5 seconds")
      const reflected = yield* get(`/events/backfills/${created.id}`)
      assert.strictEqual(reflected.body.status, "reflected")
      assert.strictEqual(reflected.body.close_time, iso(T0 + 86_400_000))
    }).pipe(Effect.provide(layer())))

  it.effect("close answers pending and the backfill is reflected after reflectionDelay", () =>
    Effect.gen(function*() {
      const created = yield* createBackfill()
      yield* TestClock.adjust("1 minute")
      const closed = yield* post(`/events/backfills/${created.id}/close`)
      assert.strictEqual(closed.status, 200)
      assert.containSubset(closed.body, { status: "pending", close_time: iso(T0 + 60_000) })

      yield* TestClock.adjust("1999 millis")
      assert.strictEqual((yield* get(`/events/backfills/${created.id}`)).body.status, "pending")
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* get(`/events/backfills/${created.id}`)).body.status, "reflected")

      const again = yield* post(`/events/backfills/${created.id}/close`)
      assert.strictEqual(again.status, 400)
      assert.strictEqual(again.body.type, errorType("400-constraint-violation"))
    }).pipe(Effect.provide(layer({ reflectionDelay: "2 seconds" }))))

  it.effect("a closed backfill that is not reflected yet cannot be closed again nor take events", () =>
    Effect.gen(function*() {
      const created = yield* createBackfill()
      yield* post(`/events/backfills/${created.id}/close`)
      const close = yield* post(`/events/backfills/${created.id}/close`)
      assert.strictEqual(close.status, 400)
      assert.include(close.body.detail, "already closed")
      const ingest = yield* post(`/ingest?backfill_id=${created.id}`, { events: [event("a")] })
      assert.strictEqual(ingest.status, 400)
      assert.strictEqual(ingest.body.type, errorType("400-constraint-violation"))
    }).pipe(Effect.provide(layer())))

  it.effect("close_time in the create body closes the backfill by itself", () =>
    Effect.gen(function*() {
      const created = yield* createBackfill({ close_time: iso(T0 + 3_600_000) })
      yield* TestClock.adjust("59 minutes")
      assert.strictEqual((yield* post(`/ingest?backfill_id=${created.id}`, { events: [event("a")] })).status, 200)
      yield* TestClock.adjust("1 minute")
      assert.strictEqual((yield* post(`/ingest?backfill_id=${created.id}`, { events: [event("b")] })).status, 400)
      assert.strictEqual((yield* post(`/events/backfills/${created.id}/close`)).status, 400)
      yield* TestClock.adjust("5 seconds")
      const fetched = yield* get(`/events/backfills/${created.id}`)
      assert.containSubset(fetched.body, { status: "reflected", events_ingested: 1 })
    }).pipe(Effect.provide(layer())))

  it.effect("revert of an open backfill reverts it at once", () =>
    Effect.gen(function*() {
      const created = yield* createBackfill()
      yield* TestClock.adjust("10 seconds")
      const reverted = yield* post(`/events/backfills/${created.id}/revert`)
      // The revert ended it: close_time, "in the past, the time at which the backfill was closed", is the revert's,
      // not the day-later time at which it would have closed by itself.
      assert.containSubset(reverted.body, {
        status: "reverted",
        reverted_at: iso(T0 + 10_000),
        close_time: iso(T0 + 10_000)
      })
      yield* TestClock.adjust("2 days")
      assert.containSubset((yield* get(`/events/backfills/${created.id}`)).body, { close_time: iso(T0 + 10_000) })
      const simulator = yield* OrbSimulator.OrbSimulator
      const [model] = yield* simulator.backfills
      assert.deepStrictEqual(Option.map(model.closeTime, (at) => at.epochMillis), Option.some(T0 + 10_000))
      const again = yield* post(`/events/backfills/${created.id}/revert`)
      assert.strictEqual(again.status, 400)
      assert.strictEqual(again.body.type, errorType("400-constraint-violation"))
      assert.strictEqual((yield* post(`/events/backfills/${created.id}/close`)).status, 400)
      assert.strictEqual((yield* post(`/ingest?backfill_id=${created.id}`, { events: [event("a")] })).status, 400)
    }).pipe(Effect.provide(layer())))

  it.effect("revert of a closed backfill not yet reflected reverts it at once", () =>
    Effect.gen(function*() {
      const created = yield* createBackfill()
      yield* post(`/events/backfills/${created.id}/close`)
      yield* TestClock.adjust("1 second")
      const reverted = yield* post(`/events/backfills/${created.id}/revert`)
      assert.containSubset(reverted.body, { status: "reverted", reverted_at: iso(T0 + 1_000), close_time: iso(T0) })
      yield* TestClock.adjust("1 minute")
      assert.strictEqual((yield* get(`/events/backfills/${created.id}`)).body.status, "reverted")
    }).pipe(Effect.provide(layer())))

  it.effect("revert of a reflected backfill goes through pending_revert", () =>
    Effect.gen(function*() {
      const created = yield* createBackfill()
      yield* post(`/events/backfills/${created.id}/close`)
      yield* TestClock.adjust("5 seconds")
      const reverting = yield* post(`/events/backfills/${created.id}/revert`)
      assert.containSubset(reverting.body, { status: "pending_revert", reverted_at: null })
      const twice = yield* post(`/events/backfills/${created.id}/revert`)
      assert.strictEqual(twice.status, 400)
      assert.strictEqual(twice.body.type, errorType("400-constraint-violation"))
      yield* TestClock.adjust("2999 millis")
      assert.strictEqual((yield* get(`/events/backfills/${created.id}`)).body.status, "pending_revert")
      yield* TestClock.adjust("1 millis")
      assert.containSubset((yield* get(`/events/backfills/${created.id}`)).body, {
        status: "reverted",
        reverted_at: iso(T0 + 8_000)
      })
    }).pipe(Effect.provide(layer({ revertDelay: "3 seconds" }))))

  it.effect("list pages newest first with opaque cursors", () =>
    Effect.gen(function*() {
      const ids: Array<string> = []
      for (let day = 0; day < 25; day++) {
        const start = Date.parse("2025-01-01T00:00:00Z") + day * 86_400_000
        const created = yield* createBackfill({ timeframe_start: iso(start), timeframe_end: iso(start + 86_400_000) })
        ids.push(created.id)
      }
      const first = yield* get("/events/backfills")
      assert.deepStrictEqual(first.body.data.map((b: any) => b.id), ids.slice().reverse().slice(0, 20))
      assert.strictEqual(first.body.pagination_metadata.has_more, true)
      const cursor = first.body.pagination_metadata.next_cursor
      assert.strictEqual(typeof cursor, "string")
      const second = yield* get(`/events/backfills?cursor=${encodeURIComponent(cursor)}`)
      assert.deepStrictEqual(second.body.data.map((b: any) => b.id), ids.slice(0, 5).reverse())
      assert.deepStrictEqual(second.body.pagination_metadata, { has_more: false, next_cursor: null })

      const small = yield* get("/events/backfills?limit=25")
      assert.lengthOf(small.body.data, 25)
      assert.strictEqual(small.body.pagination_metadata.has_more, false)
      for (const limit of ["0", "101", "abc", "2.5"]) {
        const bad = yield* get(`/events/backfills?limit=${limit}`)
        assert.strictEqual(bad.status, 400)
        assert.strictEqual(bad.body.type, errorType("400-request-validation-errors"))
      }
      const badCursor = yield* get("/events/backfills?cursor=nope")
      assert.strictEqual(badCursor.status, 400)
    }).pipe(Effect.provide(layer())))

  it.effect("a cursor keeps its place while backfills are created; the control service lists in the same order", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      const ids: Array<string> = []
      const createOnDay = (day: number) =>
        Effect.map(
          createBackfill({
            timeframe_start: iso(Date.parse("2025-01-01T00:00:00Z") + day * 86_400_000),
            timeframe_end: iso(Date.parse("2025-01-02T00:00:00Z") + day * 86_400_000)
          }),
          (created) => created.id as string
        )
      for (let day = 0; day < 7; day++) ids.push(yield* createOnDay(day))
      const page = (cursor: string | null, limit: number) =>
        Effect.map(
          get(`/events/backfills?limit=${limit}${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`),
          (reply) => ({
            ids: reply.body.data.map((b: any) => b.id),
            ...reply.body.pagination_metadata as { has_more: boolean; next_cursor: string | null }
          })
        )

      const first = yield* page(null, 3)
      assert.deepStrictEqual(first.ids, [ids[6], ids[5], ids[4]])
      assert.strictEqual(first.has_more, true)
      // Backfills created after a page came out are newer than its cursor: the next page neither repeats nor
      // skips anything.
      const later = [yield* createOnDay(20), yield* createOnDay(21)]
      const second = yield* page(first.next_cursor, 3)
      assert.deepStrictEqual(second.ids, [ids[3], ids[2], ids[1]])
      assert.strictEqual(second.has_more, true)
      const last = yield* page(second.next_cursor, 3)
      assert.deepStrictEqual(last, { ids: [ids[0]], has_more: false, next_cursor: null })
      // Exactly `limit` left: no further page is announced.
      assert.deepStrictEqual(yield* page(first.next_cursor, 4), {
        ids: [ids[3], ids[2], ids[1], ids[0]],
        has_more: false,
        next_cursor: null
      })
      const newestFirst = [...later.slice().reverse(), ...ids.slice().reverse()]
      assert.deepStrictEqual((yield* page(null, 100)).ids, newestFirst)
      assert.deepStrictEqual((yield* simulator.backfills).map((b) => b.id), newestFirst)

      // Events are listed oldest backfill first, whatever order they were ingested in.
      yield* post(`/ingest?backfill_id=${ids[1]}`, { events: [event("b", { timestamp: "2025-01-02T01:00:00Z" })] })
      yield* post(`/ingest?backfill_id=${ids[0]}`, { events: [event("a", { timestamp: "2025-01-01T01:00:00Z" })] })
      const events = yield* simulator.events
      assert.deepStrictEqual(events.map((e) => e.idempotencyKey), ["a", "b"])

      yield* simulator.reset
      assert.deepStrictEqual((yield* page(null, 100)).ids, [])
      const afterReset = yield* createOnDay(0)
      assert.deepStrictEqual((yield* page(null, 100)).ids, [afterReset])
      assert.deepStrictEqual((yield* simulator.backfills).map((b) => b.id), [afterReset])
    }).pipe(Effect.provide(layer())))

  it.effect("replace mode deprecates the timeframe's existing events when reflected, and revert restores them", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      const ts = iso(T0 - 3_600_000)
      const ordinary = [
        event("big-eu", { timestamp: ts, properties: { units: 150, region: "eu" } }),
        event("small-eu", { timestamp: ts, properties: { units: 50, region: "eu" } }),
        event("big-us", { timestamp: ts, properties: { units: 150, region: "us" } }),
        event("other-customer", { timestamp: ts, customer_id: "cus_2", properties: { units: 150, region: "eu" } })
      ]
      assert.strictEqual((yield* post("/ingest", { events: ordinary })).status, 200)
      const created = yield* createBackfill({
        timeframe_start: iso(T0 - 86_400_000),
        timeframe_end: iso(T0),
        replace_existing_events: true,
        customer_id: "cus_1",
        deprecation_filter: "units > 100 AND region = 'eu'"
      })
      assert.strictEqual(created.deprecation_filter, "units > 100 AND region = 'eu'")
      const replacement = event("replacement", { timestamp: ts, properties: { units: 120, region: "eu" } })
      assert.strictEqual((yield* post(`/ingest?backfill_id=${created.id}`, { events: [replacement] })).status, 200)

      const statusOf = Effect.map(
        simulator.events,
        (events) => Object.fromEntries(events.map((e) => [e.idempotencyKey, e.status]))
      )
      assert.deepStrictEqual(yield* statusOf, {
        "big-eu": "active",
        "small-eu": "active",
        "big-us": "active",
        "other-customer": "active",
        replacement: "pending"
      })
      yield* post(`/events/backfills/${created.id}/close`)
      yield* TestClock.adjust("5 seconds")
      const reflected = yield* statusOf
      assert.deepStrictEqual(reflected, {
        "big-eu": "deprecated",
        "small-eu": "active",
        "big-us": "active",
        "other-customer": "active",
        replacement: "active"
      })
      yield* post(`/events/backfills/${created.id}/revert`)
      assert.strictEqual((yield* statusOf)["big-eu"], "deprecated")
      yield* TestClock.adjust("5 seconds")
      assert.deepStrictEqual(yield* statusOf, {
        "big-eu": "active",
        "small-eu": "active",
        "big-us": "active",
        "other-customer": "active",
        replacement: "reverted"
      })
    }).pipe(Effect.provide(layer())))

  it.effect("add mode deprecates nothing", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      const ts = iso(T0 - 3_600_000)
      yield* post("/ingest", { events: [event("existing", { timestamp: ts })] })
      const created = yield* createBackfill({ timeframe_start: iso(T0 - 86_400_000), timeframe_end: iso(T0) })
      yield* post(`/ingest?backfill_id=${created.id}`, { events: [event("added", { timestamp: ts })] })
      yield* post(`/events/backfills/${created.id}/close`)
      yield* TestClock.adjust("5 seconds")
      const events = yield* simulator.events
      assert.deepStrictEqual(events.map((e) => [e.idempotencyKey, e.status, e.deprecated]), [
        ["existing", "active", false],
        ["added", "active", false]
      ])
      const backfills = yield* simulator.backfills
      assert.deepStrictEqual(backfills.map((b) => b.status), ["reflected"])
    }).pipe(Effect.provide(layer())))

  it.effect("a later replace-mode backfill deprecates an earlier backfill's events, not its own", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      const first = yield* createBackfill({ replace_existing_events: true })
      yield* post(`/ingest?backfill_id=${first.id}`, { events: [event("v1")] })
      yield* post(`/events/backfills/${first.id}/close`)
      yield* TestClock.adjust("5 seconds")
      const second = yield* createBackfill({ replace_existing_events: true, external_customer_id: "acme" })
      const acme = yield* simulator.customerIdFor("acme")
      const own = yield* post(`/ingest?backfill_id=${second.id}`, {
        events: [event("v2", { customer_id: null, external_customer_id: "acme" })]
      })
      assert.strictEqual(own.status, 200)
      const foreign = yield* post(`/ingest?backfill_id=${second.id}`, { events: [event("v3")] })
      assert.strictEqual(foreign.status, 400)
      yield* post(`/events/backfills/${second.id}/close`)
      yield* TestClock.adjust("5 seconds")
      // The second backfill is scoped to acme, so cus_1's v1 stays; acme's v2 counts.
      assert.deepStrictEqual((yield* simulator.events).map((e) => [e.idempotencyKey, e.customerId, e.status]), [
        ["v1", "cus_1", "active"],
        ["v2", acme, "active"]
      ])
      const third = yield* createBackfill({ replace_existing_events: true })
      yield* post(`/events/backfills/${third.id}/close`)
      yield* TestClock.adjust("5 seconds")
      assert.deepStrictEqual((yield* simulator.events).map((e) => e.status), ["deprecated", "deprecated"])
    }).pipe(Effect.provide(layer())))
})
