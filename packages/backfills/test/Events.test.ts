/**
 * `Events` on the wire: the requests it sends, what it refuses before sending, and how it reads answers the
 * simulator never gives (a volume page without `pagination_metadata`, cursors that go round).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Events from "../src/Events.js"
import type { Recorded } from "./utils.js"
import { recordingBackfills } from "./utils.js"

const at = (iso: string) => DateTime.unsafeMake(iso)

const hour = (n: number) => ({
  timeframe_start: new Date(Date.UTC(2026, 9, 1, n)).toISOString(),
  timeframe_end: new Date(Date.UTC(2026, 9, 1, n + 1)).toISOString(),
  count: n
})

const cursorOf = (request: Recorded) => request.url.searchParams.get("cursor")

describe("Events.search", () => {
  it.effect("sends Orb's search body and decodes the events found", () => {
    const { layer, requests } = recordingBackfills(() => ({
      json: {
        data: [{
          id: "order-1",
          customer_id: "cus_1",
          external_customer_id: null,
          event_name: "api_call",
          properties: {},
          timestamp: "2026-10-02T12:00:00Z",
          deprecated: true,
          added_later: "ignored"
        }]
      }
    }))
    return Effect.gen(function*() {
      const result = yield* Events.search({
        eventIds: ["order-1", "order-2"],
        timeframeStart: at("2026-10-01T00:00:00Z"),
        timeframeEnd: at("2026-10-08T00:00:00Z")
      })
      assert.strictEqual(requests.length, 1)
      const [request] = requests
      assert.strictEqual(request.method, "POST")
      assert.strictEqual(request.url.pathname, "/v1/events/search")
      assert.deepStrictEqual(JSON.parse(request.body!), {
        event_ids: ["order-1", "order-2"],
        timeframe_start: "2026-10-01T00:00:00.000Z",
        timeframe_end: "2026-10-08T00:00:00.000Z"
      })
      assert.isString(request.headers["idempotency-key"])
      const [event] = result.data
      assert.strictEqual(event.id, "order-1")
      assert.deepStrictEqual(event.customerId, Option.some("cus_1"))
      assert.deepStrictEqual(event.externalCustomerId, Option.none())
      assert.deepStrictEqual(event.properties, {})
      assert.strictEqual(event.deprecated, true)
      assert.strictEqual(DateTime.formatIso(event.timestamp), "2026-10-02T12:00:00.000Z")
      // Without a timeframe, Orb's default (the past week) applies: nothing is sent for it.
      yield* Events.search({ eventIds: ["order-1"] })
      assert.deepStrictEqual(JSON.parse(requests[1].body!), { event_ids: ["order-1"] })
    }).pipe(Effect.provide(layer))
  })

  it.effect("refuses, before sending anything, what Orb would refuse", () => {
    const { layer, requests } = recordingBackfills(() => ({ json: { data: [] } }))
    return Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [Events.EventSearch, string]> = [
        [{ eventIds: [] }, "eventIds"],
        [{ eventIds: Array.from({ length: 501 }, (_, i) => `e${i}`) }, "eventIds"],
        [{ eventIds: ["a", ""] }, "eventIds[1]"],
        [{
          eventIds: ["a"],
          timeframeStart: at("2026-10-02T00:00:00Z"),
          timeframeEnd: at("2026-10-02T00:00:00Z")
        }, "timeframeEnd"]
      ]
      for (const [input, field] of cases) {
        const error = yield* Effect.flip(Events.search(input))
        assert.strictEqual(error._tag, "InvalidInput", field)
        assert.strictEqual(error._tag === "InvalidInput" && error.field, field)
      }
      assert.strictEqual(requests.length, 0)
    }).pipe(Effect.provide(layer))
  })
})

describe("Events.volume", () => {
  it.effect("sends the timeframe, limit and cursor as Orb's query", () => {
    const { layer, requests } = recordingBackfills(() => ({
      json: { data: [hour(0)], pagination_metadata: { has_more: false, next_cursor: null } }
    }))
    return Effect.gen(function*() {
      const page = yield* Events.volumePage({
        timeframeStart: at("2026-10-01T00:30:00Z"),
        timeframeEnd: at("2026-10-02T00:00:00Z"),
        limit: 100,
        cursor: "c1"
      })
      assert.deepStrictEqual(page.paginationMetadata, Option.some({ hasMore: false, nextCursor: null }))
      assert.strictEqual(page.data[0].count, 0)
      const [request] = requests
      assert.strictEqual(request.method, "GET")
      assert.strictEqual(request.url.pathname, "/v1/events/volume")
      assert.deepStrictEqual([...request.url.searchParams], [
        ["timeframe_start", "2026-10-01T00:30:00.000Z"],
        ["timeframe_end", "2026-10-02T00:00:00.000Z"],
        ["limit", "100"],
        ["cursor", "c1"]
      ])
      for (const limit of [0, 101, 2.5]) {
        const error = yield* Effect.flip(Events.volumePage({ timeframeStart: at("2026-10-01T00:00:00Z"), limit }))
        assert.strictEqual(error._tag === "InvalidInput" && error.field, "limit")
      }
      const backwards = yield* Effect.flip(
        Events.volumePage({ timeframeStart: at("2026-10-02T00:00:00Z"), timeframeEnd: at("2026-10-01T00:00:00Z") })
      )
      assert.strictEqual(backwards._tag === "InvalidInput" && backwards.field, "timeframeEnd")
      // From JavaScript, anything may come: still a typed refusal, never a defect.
      const notADate = { timeframeStart: "2026-10-01" as unknown as DateTime.Utc }
      const streamed = yield* Effect.flip(Stream.runCollect(Events.volume(notADate)))
      assert.strictEqual(streamed._tag === "InvalidInput" && streamed.field, "timeframeStart")
      const paged = yield* Effect.flip(Events.volumePage(notADate))
      assert.strictEqual(paged._tag === "InvalidInput" && paged.field, "timeframeStart")
      const searched = yield* Effect.flip(Events.search({ eventIds: ["a"], timeframeEnd: notADate.timeframeStart }))
      assert.strictEqual(searched._tag === "InvalidInput" && searched.field, "timeframeEnd")
      assert.strictEqual(requests.length, 1)
    }).pipe(Effect.provide(layer))
  })

  it.effect("follows the cursor page by page, lazily", () => {
    const { layer, requests } = recordingBackfills((request) => {
      const n = Number(cursorOf(request) ?? "0")
      return {
        json: {
          data: [hour(n), hour(n + 1)],
          pagination_metadata: { has_more: n < 4, next_cursor: n < 4 ? String(n + 2) : null }
        }
      }
    })
    return Effect.gen(function*() {
      const options = { timeframeStart: at("2026-10-01T00:00:00Z"), limit: 2 }
      const firstThree = yield* Stream.runCollect(Stream.take(Events.volume(options), 3))
      assert.deepStrictEqual(Chunk.toReadonlyArray(firstThree).map((v) => v.count), [0, 1, 2])
      assert.deepStrictEqual(requests.map(cursorOf), [null, "2"])
      const all = yield* Stream.runCollect(Events.volume(options))
      assert.deepStrictEqual(Chunk.toReadonlyArray(all).map((v) => v.count), [0, 1, 2, 3, 4, 5])
      assert.deepStrictEqual(requests.slice(2).map(cursorOf), [null, "2", "4"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("without pagination_metadata: a short page ends the stream, a full one is a DecodeError", () => {
    let pageSize = 2
    const { layer, requests } = recordingBackfills(() => ({
      json: { data: Array.from({ length: pageSize }, (_, n) => hour(n)) }
    }))
    return Effect.gen(function*() {
      const options = { timeframeStart: at("2026-10-01T00:00:00Z"), limit: 3 }
      const short = yield* Stream.runCollect(Events.volume(options))
      assert.strictEqual(Chunk.size(short), 2)
      assert.strictEqual(requests.length, 1)
      pageSize = 3
      const error = yield* Effect.flip(Stream.runCollect(Events.volume(options)))
      assert.strictEqual(error._tag, "DecodeError")
      assert.include(error.message, "without pagination_metadata")
      assert.include(error.message, "/events/volume?timeframe_start=2026-10-01T00%3A00%3A00.000Z&limit=3")
      // With Orb's default page size of 20 hours.
      pageSize = 20
      const byDefault = yield* Effect.flip(Stream.runCollect(Events.volume({ timeframeStart: options.timeframeStart })))
      assert.strictEqual(byDefault._tag, "DecodeError")
    }).pipe(Effect.provide(layer))
  })

  it.effect("cursors that go round are a DecodeError, as for backfills", () => {
    const { layer, requests } = recordingBackfills((request) => ({
      json: {
        data: [hour(0)],
        pagination_metadata: { has_more: true, next_cursor: cursorOf(request) === "A" ? "B" : "A" }
      }
    }))
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Stream.runCollect(Events.volume({ timeframeStart: at("2026-10-01T00:00:00Z") })))
      assert.strictEqual(error._tag, "DecodeError")
      assert.include(error.message, "never end")
      assert.deepStrictEqual(requests.map(cursorOf), [null, "A", "B"])
    }).pipe(Effect.provide(layer))
  })
})
