import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Backfill from "../src/Backfill.js"
import { decoderFor, fastBackfill, fastBackfillPage } from "../src/internal/decode.js"
import { wireBackfill } from "./utils.js"

const bySchema = Schema.decodeUnknownSync(Backfill.Backfill)

describe("the fast decoding path", () => {
  const wellFormed = [
    wireBackfill(),
    wireBackfill({ status: "reflected", customer_id: "cus_1", events_ingested: 12, deprecation_filter: "a = 'b'" }),
    wireBackfill({ close_time: null, reverted_at: "2026-11-03T10:00:00.5Z", status: "reverted" }),
    wireBackfill({ created_at: "2026-11-01T02:00:00+02:00", extra: { nested: [1, 2] } }),
    (({ deprecation_filter: _, ...rest }) => rest)(wireBackfill())
  ]

  it("decodes well-formed backfills exactly as the Schema does", () => {
    for (const wire of wellFormed) {
      const fast = fastBackfill(wire)
      assert.isDefined(fast, JSON.stringify(wire))
      assert.deepStrictEqual(fast, bySchema(wire))
      assert.instanceOf(fast, Backfill.Backfill)
    }
    const page = { data: wellFormed, pagination_metadata: { has_more: true, next_cursor: "c1" } }
    assert.deepStrictEqual(fastBackfillPage(page), Schema.decodeUnknownSync(Backfill.BackfillPage)(page))
  })

  it("declines anything it is not sure of, and the Schema then names the problem", () => {
    const decode = decoderFor(Backfill.Backfill)
    const cases: Array<[unknown, string]> = [
      [wireBackfill({ status: "archived" }), "status"],
      [wireBackfill({ id: "" }), "id"],
      [wireBackfill({ events_ingested: -1 }), "events_ingested"],
      [wireBackfill({ events_ingested: 1.5 }), "events_ingested"],
      [wireBackfill({ created_at: "yesterday" }), "created_at"],
      [wireBackfill({ close_time: 5 }), "close_time"],
      [wireBackfill({ customer_id: 7 }), "customer_id"],
      [wireBackfill({ deprecation_filter: false }), "deprecation_filter"],
      [(({ replace_existing_events: _, ...rest }) => rest)(wireBackfill()), "replace_existing_events"],
      [[], "Expected"],
      [null, "Expected"]
    ]
    for (const [wire, named] of cases) {
      assert.isUndefined(fastBackfill(wire), JSON.stringify(wire))
      const decoded = decode(wire)
      assert.isTrue(Either.isLeft(decoded))
      if (Either.isLeft(decoded)) assert.include(decoded.left, named)
    }
    assert.isUndefined(fastBackfillPage({ data: [wireBackfill({ status: "x" })], pagination_metadata: {} }))
  })
})

describe("Backfill.decodeIngestEvent", () => {
  const bySchema = Schema.decodeUnknownEither(Backfill.IngestEvent, { onExcessProperty: "error" })
  const wire = {
    event_name: "api_call",
    timestamp: "2026-10-02T12:00:00Z",
    properties: { region: "eu", units: 3, billable: true },
    idempotency_key: "k1",
    external_customer_id: "acme"
  }

  it("decodes well-formed events exactly as the Schema does", () => {
    const cases = [
      wire,
      { ...wire, idempotency_key: undefined, properties: {} },
      { ...wire, external_customer_id: undefined, customer_id: "cus_1" },
      { ...wire, customer_id: null },
      { ...wire, timestamp: "2026-10-02T14:00:00.250+02:00" }
    ].map((c) => JSON.parse(JSON.stringify(c)))
    for (const c of cases) {
      assert.deepStrictEqual(Backfill.decodeIngestEvent(c), bySchema(c), JSON.stringify(c))
      assert.isTrue(Either.isRight(Backfill.decodeIngestEvent(c)))
    }
  })

  it("refuses what Orb refuses, naming it", () => {
    const cases: Array<[unknown, string]> = [
      [{ ...wire, propertes: {} }, "propertes"],
      [{ ...wire, properties: { nested: { a: 1 } } }, "nested"],
      [{ ...wire, timestamp: "noon" }, "timestamp"],
      [{ ...wire, event_name: 5 }, "event_name"],
      [{ ...wire, customer_id: 5 }, "customer_id"],
      ["a string", "Expected"]
    ]
    for (const [input, named] of cases) {
      const decoded = Backfill.decodeIngestEvent(input)
      assert.isTrue(Either.isLeft(decoded), JSON.stringify(input))
      if (Either.isLeft(decoded)) assert.include(String(decoded.left), named)
    }
  })
})
