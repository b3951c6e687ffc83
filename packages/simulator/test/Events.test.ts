// `POST /events/search` and `GET /events/volume`: on the wire (every answer checked against Orb's OpenAPI document
// by the support layer), and through the library's `Events` service.
import type { Backfill } from "@effect-orb/backfills"
import { Backfills, Events, OrbClient } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { createBackfill, errorType, event, get, layer, post } from "./support.js"

const validation = errorType("400-request-validation-errors")

/**
 * Ingests events outside any backfill (within the 12-hour grace period before T0), with the key of the library's
 * simulator below (the others demand none).
 */
const ingestLive = (events: ReadonlyArray<unknown>) =>
  Effect.flatMap(
    post("/ingest", { events }, { authorization: "Bearer k" }),
    (reply) => reply.status === 200 ? Effect.void : Effect.dieMessage(`ingest failed: ${JSON.stringify(reply.body)}`)
  )

const ids = (reply: { readonly body: any }): Array<[string, boolean]> =>
  reply.body.data.map((e: { id: string; deprecated: boolean }) => [e.id, e.deprecated])

describe("POST /events/search", () => {
  it.effect("finds events by idempotency key, in the order of the ids, and leaves out the unknown", () =>
    Effect.gen(function*() {
      yield* ingestLive([
        event("a", { timestamp: "2025-03-09T20:00:00Z", customer_id: null, external_customer_id: "acme" }),
        event("b", { timestamp: "2025-03-09T21:00:00Z" })
      ])
      const reply = yield* post("/events/search", { event_ids: ["b", "nope", "a", "A"] })
      assert.strictEqual(reply.status, 200)
      assert.deepStrictEqual(ids(reply), [["b", false], ["a", false]])
      const a = reply.body.data[1]
      assert.strictEqual(a.external_customer_id, "acme")
      assert.match(a.customer_id, /^cus_/)
      assert.deepStrictEqual(a.properties, { units: 1 })
      assert.strictEqual(a.timestamp, "2025-03-09T20:00:00.000Z")
    }).pipe(Effect.provide(layer())))

  it.effect("searches the week before now unless told a timeframe", () =>
    Effect.gen(function*() {
      const backfill = yield* createBackfill({ replace_existing_events: false })
      yield* post(`/ingest?backfill_id=${backfill.id}`, { events: [event("old")] })
      yield* post(`/events/backfills/${backfill.id}/close`)
      yield* TestClock.adjust("1 minute")
      // 2025-03-01T12:00Z is more than a week before now (2025-03-10).
      assert.deepStrictEqual(ids(yield* post("/events/search", { event_ids: ["old"] })), [])
      const within = yield* post("/events/search", {
        event_ids: ["old"],
        timeframe_start: "2025-03-01T12:00:00Z",
        timeframe_end: null
      })
      assert.deepStrictEqual(ids(within), [["old", false]])
      const endExclusive = yield* post("/events/search", {
        event_ids: ["old"],
        timeframe_start: "2025-03-01T00:00:00Z",
        timeframe_end: "2025-03-01T12:00:00Z"
      })
      assert.deepStrictEqual(ids(endExclusive), [])
    }).pipe(Effect.provide(layer())))

  it.effect("refuses a search Orb's schema refuses", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, unknown]> = [
        ["no ids", { event_ids: [] }],
        ["501 ids", { event_ids: Array.from({ length: 501 }, (_, i) => `e${i}`) }],
        ["no event_ids", { timeframe_start: "2025-03-01T00:00:00Z" }],
        ["an unknown key", { event_ids: ["a"], customer_id: "cus_1" }],
        // A date without a zone is UTC (docs/orb-api.md); an impossible one is refused.
        ["an impossible date", { event_ids: ["a"], timeframe_start: "2025-02-30T00:00:00Z" }],
        ["an end before the start", {
          event_ids: ["a"],
          timeframe_start: "2025-03-02T00:00:00Z",
          timeframe_end: "2025-03-01T00:00:00Z"
        }],
        ["not an object", ["a"]]
      ]
      for (const [name, body] of cases) {
        const reply = yield* post("/events/search", body)
        assert.strictEqual(reply.status, 400, name)
        assert.strictEqual(reply.body.type, validation, name)
      }
    }).pipe(Effect.provide(layer())))
})

describe("GET /events/volume", () => {
  it.effect("counts per UTC hour, the hours of unaligned ends included, zeros too, through the cursor", () =>
    Effect.gen(function*() {
      yield* ingestLive([
        event("a", { timestamp: "2025-03-09T20:00:00Z" }),
        event("b", { timestamp: "2025-03-09T20:59:59.999Z" }),
        event("c", { timestamp: "2025-03-09T22:30:00Z" })
      ])
      const query = "timeframe_start=2025-03-09T19:30:00Z&timeframe_end=2025-03-09T22:10:00Z&limit=3"
      const first = yield* get(`/events/volume?${query}`)
      assert.strictEqual(first.status, 200)
      assert.deepStrictEqual(first.body.data, [
        { timeframe_start: "2025-03-09T19:00:00.000Z", timeframe_end: "2025-03-09T20:00:00.000Z", count: 0 },
        { timeframe_start: "2025-03-09T20:00:00.000Z", timeframe_end: "2025-03-09T21:00:00.000Z", count: 2 },
        { timeframe_start: "2025-03-09T21:00:00.000Z", timeframe_end: "2025-03-09T22:00:00.000Z", count: 0 }
      ])
      assert.strictEqual(first.body.pagination_metadata.has_more, true)
      const second = yield* get(
        `/events/volume?${query}&cursor=${first.body.pagination_metadata.next_cursor}`
      )
      assert.deepStrictEqual(second.body.data, [
        { timeframe_start: "2025-03-09T22:00:00.000Z", timeframe_end: "2025-03-09T23:00:00.000Z", count: 1 }
      ])
      assert.deepStrictEqual(second.body.pagination_metadata, { has_more: false, next_cursor: null })
      // Without an end: up to the hour now falls in (T0 is aligned: the last hour is the one before it).
      const toNow = yield* get("/events/volume?timeframe_start=2025-03-09T22:00:00Z")
      assert.deepStrictEqual(toNow.body.data.map((v: { count: number }) => v.count), [1, 0])
    }).pipe(Effect.provide(layer())))

  it.effect("refuses a query it cannot answer", () =>
    Effect.gen(function*() {
      for (
        const query of [
          "",
          "timeframe_start=yesterday",
          "timeframe_start=2025-03-09T00:00:00Z&limit=0",
          "timeframe_start=2025-03-09T00:00:00Z&limit=101",
          "timeframe_start=2025-03-09T00:00:00Z&cursor=zz",
          "timeframe_start=2025-03-09T00:00:00Z&timeframe_end=2025-03-08T00:00:00Z"
        ]
      ) {
        const reply = yield* get(`/events/volume?${query}`)
        assert.strictEqual(reply.status, 400, query)
        assert.strictEqual(reply.body.type, validation, query)
      }
    }).pipe(Effect.provide(layer())))
})

// ---------------------------------------------------------------------------------------------------------
// the library

const simulator = layer({ apiKey: "k", reflectionDelay: "30 seconds", revertDelay: "30 seconds" })
const library = Layer.mergeAll(Backfills.layer, Events.layer).pipe(
  Layer.provide(OrbClient.layer({ apiKey: Redacted.make("k") })),
  Layer.provideMerge(simulator)
)

const at = (iso: string) => DateTime.unsafeMake(iso)

const found = (result: Events.EventSearchResult): Array<[string, boolean]> =>
  result.data.map((e) => [e.id, e.deprecated])

const counts = (volumes: Iterable<Events.EventVolume>): Array<[string, number]> =>
  Array.from(volumes, (v) => [DateTime.formatIso(v.timeframeStart), v.count])

const replacement: ReadonlyArray<Backfill.IngestEvent> = [{
  eventName: "api_call",
  timestamp: at("2025-03-09T20:15:00Z"),
  properties: { units: 5 },
  idempotencyKey: "new-1",
  customerId: "cus_1"
}]

describe("Events over the simulator", () => {
  it.effect("search and volume follow a replace backfill: hidden while open, replacing once reflected, undone", () =>
    Effect.gen(function*() {
      yield* ingestLive([
        event("old-1", { timestamp: "2025-03-09T20:00:00Z" }),
        event("old-2", { timestamp: "2025-03-09T21:30:00Z" })
      ])
      const everyId = { eventIds: ["old-1", "old-2", "new-1"] }
      const hours = { timeframeStart: at("2025-03-09T19:00:00Z"), timeframeEnd: at("2025-03-09T23:00:00Z"), limit: 2 }
      const volume = Effect.map(Stream.runCollect(Events.volume(hours)), Chunk.toReadonlyArray)
      assert.deepStrictEqual(found(yield* Events.search(everyId)), [["old-1", false], ["old-2", false]])
      assert.deepStrictEqual(counts(yield* volume), [
        ["2025-03-09T19:00:00.000Z", 0],
        ["2025-03-09T20:00:00.000Z", 1],
        ["2025-03-09T21:00:00.000Z", 1],
        ["2025-03-09T22:00:00.000Z", 0]
      ])

      const backfill = yield* Backfills.create({
        timeframeStart: at("2025-03-09T00:00:00Z"),
        timeframeEnd: at("2025-03-10T00:00:00Z"),
        replaceExistingEvents: true
      })
      yield* Backfills.ingest(backfill.id, replacement)
      // Open, then closed and not reflected: Orb holds none of its events yet.
      assert.deepStrictEqual(found(yield* Events.search(everyId)), [["old-1", false], ["old-2", false]])
      yield* Backfills.close(backfill.id)
      assert.deepStrictEqual(found(yield* Events.search(everyId)), [["old-1", false], ["old-2", false]])

      yield* OrbSimulator.drive(Backfills.awaitStatus(backfill.id, "reflected"))
      assert.deepStrictEqual(found(yield* Events.search(everyId)), [["old-1", true], ["old-2", true], [
        "new-1",
        false
      ]])
      assert.deepStrictEqual(counts(yield* volume).map(([, count]) => count), [0, 1, 0, 0])

      yield* Backfills.revert(backfill.id)
      yield* OrbSimulator.drive(Backfills.awaitStatus(backfill.id, "reverted"))
      // Kept for audit, deprecated; the events it replaced count again.
      assert.deepStrictEqual(found(yield* Events.search(everyId)), [["old-1", false], ["old-2", false], [
        "new-1",
        true
      ]])
      assert.deepStrictEqual(counts(yield* volume).map(([, count]) => count), [0, 1, 1, 0])

      const sim = yield* OrbSimulator.OrbSimulator
      const volumeRequests = (yield* sim.requests).filter((r) => r.url.startsWith("/v1/events/volume"))
      // Three listings of 4 hours at 2 a page: 2 requests each, the second with the first's cursor.
      assert.strictEqual(volumeRequests.length, 6)
      assert.notInclude(volumeRequests[0].url, "cursor=")
      assert.include(volumeRequests[1].url, "cursor=")
    }).pipe(Effect.provide(library)))

  it.effect("the decoded event: customer ids, properties and timestamp as ingested", () =>
    Effect.gen(function*() {
      yield* ingestLive([
        event("x", {
          timestamp: "2025-03-09T23:00:00.123Z",
          customer_id: null,
          external_customer_id: "acme",
          properties: { region: "eu", units: 2.5, trial: false }
        })
      ])
      const [x] = (yield* Events.search({ eventIds: ["x"] })).data
      const sim = yield* OrbSimulator.OrbSimulator
      assert.deepStrictEqual(x.customerId, Option.some(yield* sim.customerIdFor("acme")))
      assert.deepStrictEqual(x.externalCustomerId, Option.some("acme"))
      assert.deepStrictEqual(x.properties, { region: "eu", units: 2.5, trial: false })
      assert.strictEqual(x.timestamp.epochMillis, Date.parse("2025-03-09T23:00:00.123Z"))
      assert.strictEqual(x.eventName, "api_call")
    }).pipe(Effect.provide(library)))

  it.effect("more than 500 ids, or none, are refused before any request", () =>
    Effect.gen(function*() {
      const tooMany = yield* Effect.flip(Events.search({ eventIds: Array.from({ length: 501 }, (_, i) => `e${i}`) }))
      assert.strictEqual(tooMany._tag, "InvalidInput")
      assert.include(tooMany.message, "501 ids")
      const none = yield* Effect.flip(Events.search({ eventIds: [] }))
      assert.strictEqual(none._tag, "InvalidInput")
      const sim = yield* OrbSimulator.OrbSimulator
      assert.strictEqual((yield* sim.requests).length, 0)
      // 500 is Orb's limit, and is sent.
      const full = yield* Events.search({ eventIds: Array.from({ length: 500 }, (_, i) => `e${i}`) })
      assert.deepStrictEqual(full.data, [])
      assert.strictEqual((yield* sim.requests).length, 1)
    }).pipe(Effect.provide(library)))

  it.effect("a search is a write and the volume a read, for the rate limits", () =>
    Effect.gen(function*() {
      const sim = yield* OrbSimulator.OrbSimulator
      yield* sim.setQuotas({ writesPerSecond: 1, readsPerSecond: 1 })
      const hours = { timeframeStart: at("2025-03-09T23:00:00Z") }
      yield* Events.search({ eventIds: ["a"] })
      yield* Events.volumePage(hours)
      // Each second call waits for its category's window (the client honours Retry-After).
      yield* OrbSimulator.drive(Effect.all([Events.search({ eventIds: ["a"] }), Events.volumePage(hours)]))
      const statuses = (yield* sim.requests).map((r) => [r.method, r.status])
      assert.deepStrictEqual(statuses, [["POST", 200], ["GET", 200], ["POST", 429], ["POST", 200], ["GET", 200]])
    }).pipe(Effect.provide(library)))
})

describe("a deprecated event's key", () => {
  it.effect("is refused by a later ingest, into a backfill or not, while a key that still counts is accepted", () =>
    Effect.gen(function*() {
      yield* ingestLive([event("old-1", { timestamp: "2025-03-09T20:00:00Z" })])
      const replace = yield* Backfills.create({
        timeframeStart: at("2025-03-09T00:00:00Z"),
        timeframeEnd: at("2025-03-10T00:00:00Z"),
        replaceExistingEvents: true
      })
      yield* Backfills.ingest(replace.id, replacement)
      yield* Backfills.close(replace.id)
      yield* OrbSimulator.drive(Backfills.awaitStatus(replace.id, "reflected"))
      assert.deepStrictEqual(found(yield* Events.search({ eventIds: ["old-1", "new-1"] })), [["old-1", true], [
        "new-1",
        false
      ]])

      const again = yield* Backfills.create({
        timeframeStart: at("2025-03-09T00:00:00Z"),
        timeframeEnd: at("2025-03-10T00:00:00Z"),
        replaceExistingEvents: true
      })
      const refused = yield* post(`/ingest?backfill_id=${again.id}`, {
        events: [
          event("old-1", { timestamp: "2025-03-09T20:00:00Z" }),
          event("new-1", { timestamp: "2025-03-09T20:15:00Z" })
        ]
      }, { authorization: "Bearer k" })
      assert.strictEqual(refused.status, 400)
      assert.strictEqual(refused.body.type, validation)
      assert.deepStrictEqual(refused.body.validation_errors.map((e: any) => e.idempotency_key), ["old-1"])
      assert.include(refused.body.validation_errors[0].validation_errors[0], "deprecated")
      // new-1 still counts (the same file run again in replace mode): accepted.
      const accepted = yield* post(`/ingest?backfill_id=${again.id}`, {
        events: [event("new-1", { timestamp: "2025-03-09T20:15:00Z", properties: { units: 5 } })]
      }, { authorization: "Bearer k" })
      assert.strictEqual(accepted.status, 200)
      const live = yield* post("/ingest", { events: [event("old-1", { timestamp: "2025-03-09T20:00:00Z" })] }, {
        authorization: "Bearer k"
      })
      assert.strictEqual(live.status, 400)
    }).pipe(Effect.provide(library)))
})
