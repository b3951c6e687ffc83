// The local checks of an event that used to let bad input through: a key an object only inherits, a limit on
// event keys that Orb does not set, an event in the future, an event of any size.
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Backfill from "../src/Backfill.js"
import * as Backfills from "../src/Backfills.js"
import type * as OrbError from "../src/OrbError.js"
import { type Recorded, recordingBackfills, wireBackfill } from "./utils.js"

type Wire = typeof Backfill.IngestEvent.Encoded

const decodeBySchema = Schema.decodeUnknownEither(Backfill.IngestEvent, { onExcessProperty: "error" })

const wire: Wire = {
  event_name: "api_call",
  timestamp: "2026-10-02T12:00:00.000Z",
  properties: { region: "eu", units: 3 },
  idempotency_key: "k1",
  customer_id: "cus_1"
}
const decoded = (value: unknown) => Either.getOrThrow(Backfill.decodeIngestEvent(value))

const refusedBoth = (value: Wire, now?: DateTime.Utc): OrbError.InvalidInput => {
  const encoded = Backfills.validateEncodedEvent(value, "events[2]", undefined, now)
  const viaDecoded = Backfills.validateEvent(decoded(value), "events[2]", undefined, now)
  if (Either.isRight(encoded) || Either.isRight(viaDecoded)) {
    return assert.fail(`expected both forms to refuse ${JSON.stringify(value).slice(0, 200)}`)
  }
  assert.strictEqual(encoded.left.field, viaDecoded.left.field)
  assert.strictEqual(encoded.left.reason, viaDecoded.left.reason)
  return encoded.left
}

const acceptedBoth = (value: Wire, now?: DateTime.Utc) => {
  const encoded = Backfills.validateEncodedEvent(value, "events[2]", undefined, now)
  assert.isTrue(Either.isRight(encoded), Either.isLeft(encoded) ? encoded.left.message : "")
  const viaDecoded = Backfills.validateEvent(decoded(value), "events[2]", undefined, now)
  assert.isTrue(Either.isRight(viaDecoded), Either.isLeft(viaDecoded) ? viaDecoded.left.message : "")
}

describe("Backfill.decodeIngestEvent", () => {
  it("reads an event as the Schema does, keys it only inherits included (one reader of a wire event)", () => {
    const { idempotency_key: _, customer_id: __, ...rest } = wire
    const cases: ReadonlyArray<unknown> = [
      Object.assign(Object.create({ idempotency_key: "inherited" }), { ...rest, customer_id: "cus_1" }),
      Object.assign(Object.create({ customer_id: "cus_9" }), { ...rest, idempotency_key: "k1" }),
      Object.assign(Object.create({ external_customer_id: "acme" }), rest),
      Object.assign(Object.create(null), wire),
      { ...wire, properties: Object.assign(Object.create({ inherited: 1 }), { units: 3 }) }
    ]
    for (const value of cases) {
      assert.deepStrictEqual(Backfill.decodeIngestEvent(value), decodeBySchema(value))
    }
  })
})

describe("an event's idempotency key", () => {
  it("has no length limit (Orb sets none; the 64 characters are the Idempotency-Key header's)", () => {
    acceptedBoth({ ...wire, idempotency_key: "k".repeat(65) })
    acceptedBoth({ ...wire, idempotency_key: "k".repeat(1_000) })
  })

  it("must still be a non-empty string", () => {
    const error = refusedBoth({ ...wire, idempotency_key: "" })
    assert.strictEqual(error.field, "events[2].idempotencyKey")
    assert.strictEqual(error.reason, "must be a non-empty string")
  })

  it.effect("the header keeps its limit of 64 characters", () => {
    const { layer } = recordingBackfills(() => ({ json: wireBackfill() }))
    return Effect.gen(function*() {
      const error = yield* Effect.flip(Backfills.close("bf_1", { idempotencyKey: "k".repeat(65) }))
      assert.strictEqual(error._tag, "InvalidInput")
    }).pipe(Effect.provide(layer))
  })
})

describe("an event in the future", () => {
  const now = DateTime.unsafeMake("2026-10-02T12:00:00.000Z")
  const at = (millis: number): Wire => ({ ...wire, timestamp: new Date(now.epochMillis + millis).toISOString() })

  it("is refused when more than 5 minutes ahead of now, in either form", () => {
    acceptedBoth(at(Backfill.maxFutureMillis), now)
    const error = refusedBoth(at(Backfill.maxFutureMillis + 1), now)
    assert.strictEqual(error.field, "events[2].timestamp")
    assert.strictEqual(
      error.reason,
      "2026-10-02T12:05:00.001Z is more than 5 minutes after now (2026-10-02T12:00:00.000Z); Orb refuses it"
    )
    assert.strictEqual(Backfill.maxFutureMillis, 5 * 60_000)
  })

  const replies = (request: Recorded) =>
    request.method === "GET" ? { json: wireBackfill({ close_time: null }) } : { json: { validation_failed: [] } }

  it.effect("is set aside by ingestStream and ingestEncodedStream against the Clock (TestClock drives it)", () => {
    const { layer, requests } = recordingBackfills(replies)
    const events: Array<Wire> = [at(0), { ...at(Backfill.maxFutureMillis + 1), idempotency_key: "k2" }]
    return Effect.gen(function*() {
      yield* TestClock.setTime(now.epochMillis)
      for (const ingest of ["wire", "decoded"] as const) {
        const summary = ingest === "wire"
          ? yield* Backfills.ingestEncodedStream("bf_1", Stream.fromIterable(events), { quota: false })
          : yield* Backfills.ingestStream("bf_1", Stream.fromIterable(events.map(decoded)), { quota: false })
        assert.strictEqual(summary.accepted, 1, ingest)
        assert.deepStrictEqual(summary.failures.map((f) => [f.position, f.refusedBy, f.idempotencyKey]), [
          [1, "local", "k2"]
        ])
        assert.match(summary.failures[0].reasons[0], /^events\[1\]\.timestamp: .* is more than 5 minutes after now/)
      }
      // Later, the same event is no longer in the future.
      yield* TestClock.adjust("1 minute")
      const later = yield* Backfills.ingestEncodedStream("bf_1", Stream.fromIterable(events), { quota: false })
      assert.strictEqual(later.failed, 0)
      const sent = requests.filter((r) => r.method === "POST").flatMap((r) => JSON.parse(r.body!).events)
      assert.deepStrictEqual(sent.map((e: Wire) => e.idempotency_key), ["k1", "k1", "k1", "k2"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("is refused by ingest before anything is sent", () => {
    const { layer, requests } = recordingBackfills(replies)
    return Effect.gen(function*() {
      yield* TestClock.setTime(now.epochMillis)
      const error = yield* Effect.flip(Backfills.ingest("bf_1", [decoded(at(Backfill.maxFutureMillis + 1))]))
      assert.strictEqual(error._tag, "InvalidInput")
      assert.match(error.message, /events\[0\]\.timestamp/)
      assert.strictEqual(requests.length, 0)
    }).pipe(Effect.provide(layer))
  })
})

/** The size of an event as the bound counts it: the UTF-8 bytes of its JSON as sent. */
const sizeOf = (value: Wire) => new TextEncoder().encode(JSON.stringify(value)).length

/** `base` with a string property `p` padded so that the event's JSON is exactly `bytes` long. */
const ofSize = (bytes: number, unit = "x", base: Wire = wire): Wire => {
  const empty = sizeOf({ ...base, properties: { ...base.properties, p: "" } })
  const unitBytes = sizeOf({ ...base, properties: { ...base.properties, p: unit } }) - empty
  const count = Math.floor((bytes - empty) / unitBytes)
  const rest = bytes - empty - count * unitBytes
  return { ...base, properties: { ...base.properties, p: unit.repeat(count) + "y".repeat(rest) } }
}

describe("an event's size", () => {
  it("is bounded by Backfill.maxEventBytes, the UTF-8 bytes of its JSON, in either form", () => {
    assert.strictEqual(Backfill.maxEventBytes, 32 * 1024)
    for (const unit of ["x", "é", "€", "😀", "\"", "\n", "\u0001"]) {
      const largest = ofSize(Backfill.maxEventBytes, unit)
      assert.strictEqual(sizeOf(largest), Backfill.maxEventBytes, unit)
      acceptedBoth(largest)
      const over = ofSize(Backfill.maxEventBytes + 1, unit)
      const error = refusedBoth(over)
      assert.strictEqual(error.field, "events[2]")
      assert.match(error.reason, /^the event is (at least )?32,769 bytes of JSON; at most 32,768 are allowed$/, unit)
    }
    // Far over the bound: refused on the cheap lower bound, without writing the event out.
    const huge = refusedBoth({ ...wire, properties: { p: "x".repeat(10_000_000) } })
    assert.strictEqual(huge.reason, "the event is at least 10,000,131 bytes of JSON; at most 32,768 are allowed")
    assert.strictEqual(sizeOf({ ...wire, properties: { p: "x".repeat(10_000_000) } }), 10_000_131)
  })

  it("counts every field, measured cheaply and exactly on a generated corpus", () => {
    const text = FastCheck.oneof(
      FastCheck.string({ maxLength: 3_000 }),
      FastCheck.string({ unit: "grapheme", maxLength: 2_000 }),
      FastCheck.string({ unit: "binary", maxLength: 2_000 })
    )
    const event = FastCheck.record({
      event_name: text,
      idempotency_key: FastCheck.option(text),
      customer_id: text,
      properties: FastCheck.dictionary(
        text,
        FastCheck.oneof(text, FastCheck.double({ noNaN: true, noDefaultInfinity: true }), FastCheck.boolean()),
        { maxKeys: 12 }
      )
    }).map(({ idempotency_key, ...fields }): Wire => ({
      ...fields,
      event_name: fields.event_name === "" ? "e" : fields.event_name,
      customer_id: fields.customer_id === "" ? "c" : fields.customer_id,
      timestamp: "2026-10-02T12:00:00.000Z",
      ...(idempotency_key === null || idempotency_key === "" ? {} : { idempotency_key })
    }))
    FastCheck.assert(
      FastCheck.property(event, FastCheck.integer({ min: -400, max: 400 }), (base, delta) => {
        // Pad it to near the bound, so that both sides of it are tried.
        const value = sizeOf(base) > Backfill.maxEventBytes - 500
          ? base
          : ofSize(Backfill.maxEventBytes + delta, "x", base)
        const checked = Backfills.validateEncodedEvent(JSON.parse(JSON.stringify(value)), "e")
        const tooBig = sizeOf(value) > Backfill.maxEventBytes
        assert.strictEqual(Either.isLeft(checked) && /bytes of JSON/.test(checked.left.reason), tooBig, String(delta))
      }),
      { numRuns: 400 }
    )
  })
})
