/**
 * `Verify` on the wire, against a scripted Orb: searches of at most 500 ids, at the pace asked for.
 */
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type * as Backfill from "../src/Backfill.js"
import * as Verify from "../src/Verify.js"
import { recordingBackfills, wireBackfill } from "./utils.js"

const source: ReadonlyArray<Backfill.IngestEvent> = Array.from({ length: 1_200 }, (_, i) => ({
  eventName: "api_call",
  timestamp: DateTime.unsafeMake(Date.UTC(2026, 9, 2, 0, i)),
  properties: { units: i },
  idempotencyKey: `order-${i}`,
  customerId: "cus_1"
}))

/** Orb holding every event searched for, as sent; the backfill reflected, scoped to cus_1 (no volume check). */
const orb = () =>
  recordingBackfills((request) => {
    if (request.method === "GET") return { json: wireBackfill({ status: "reflected", customer_id: "cus_1" }) }
    const ids: Array<string> = JSON.parse(request.body!).event_ids
    return {
      json: {
        data: ids.map((id) => {
          const i = Number(id.slice("order-".length))
          return {
            id,
            customer_id: "cus_1",
            external_customer_id: null,
            event_name: "api_call",
            properties: { units: i },
            timestamp: new Date(Date.UTC(2026, 9, 2, 0, i)).toISOString(),
            deprecated: false
          }
        })
      }
    }
  })

describe("Verify.verify", () => {
  it.effect("searches at most 500 ids at a time, at the pace asked for", () => {
    const { layer, requests } = orb()
    return Effect.gen(function*() {
      const searches = Effect.sync(() => requests.filter((r) => r.url.pathname.endsWith("/events/search")))
      const fiber = yield* Effect.fork(
        Verify.verify(Stream.fromIterable(source), { backfills: ["bf_1"], searchesPerSecond: 2 })
      )
      yield* TestClock.adjust("100 millis")
      assert.strictEqual((yield* searches).length, 1)
      yield* TestClock.adjust("450 millis")
      assert.strictEqual((yield* searches).length, 2)
      yield* TestClock.adjust("500 millis")
      const report = yield* Fiber.join(fiber)
      const sent = yield* searches
      assert.deepStrictEqual(sent.map((r) => JSON.parse(r.body!).event_ids.length), [500, 500, 200])
      assert.deepStrictEqual(JSON.parse(sent[0].body!).timeframe_start, "2026-10-01T00:00:00.000Z")
      assert.deepStrictEqual([report.found, report.volume], [1_200, "skipped"])
    }).pipe(Effect.provide(layer))
  })
})
