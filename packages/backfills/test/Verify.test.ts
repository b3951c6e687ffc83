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

  it.effect("a backfill created by external id: other customers' events are outside with externalCustomerId", () => {
    // Orb's backfill names its customer by Orb id only (cus_1); the source names customers by external id.
    const mixed = Array.from({ length: 10 }, (_, i) => ({
      event_name: "api_call",
      timestamp: new Date(Date.UTC(2026, 9, 2, 0, i)).toISOString(),
      properties: { units: i },
      idempotency_key: `order-${i}`,
      external_customer_id: i % 2 === 0 ? "acme" : "globex"
    }))
    const { layer } = recordingBackfills((request) => {
      if (request.method === "GET") return { json: wireBackfill({ status: "reflected", customer_id: "cus_1" }) }
      const ids: Array<string> = JSON.parse(request.body!).event_ids
      return {
        json: {
          data: mixed.filter((e) => e.external_customer_id === "acme" && ids.includes(e.idempotency_key)).map((e) => ({
            id: e.idempotency_key,
            customer_id: "cus_1",
            external_customer_id: "acme",
            event_name: e.event_name,
            properties: e.properties,
            timestamp: e.timestamp,
            deprecated: false
          }))
        }
      }
    })
    return Effect.gen(function*() {
      const scoped = yield* Verify.verifyEncoded(Stream.fromIterable(mixed), {
        backfills: ["bf_1"],
        searchesPerSecond: false,
        externalCustomerId: "acme"
      })
      assert.deepStrictEqual([scoped.found, scoped.outside, scoped.missing, scoped.holds], [5, 5, 0, true])
      const unscoped = yield* Effect.flip(
        Verify.verifyEncoded(Stream.fromIterable(mixed), { backfills: ["bf_1"], searchesPerSecond: false })
      )
      assert.strictEqual(unscoped._tag, "VerifyFailed")
      if (unscoped._tag === "VerifyFailed") assert.strictEqual(unscoped.report.missing, 5)
    }).pipe(Effect.provide(layer))
  })
})
