// Dates enter the library as ISO 8601 text in five places: `Backfill.Timestamp` (every Schema), the response fast
// path (`internal/decode.ts`), `Backfill.decodeIngestEvent`, `Backfills.validateEncodedEvent` and
// `Backfill.parseTimestamp`. One parser serves them all, so they refuse and accept the same strings, read them as
// the same instants, and never depend on the machine's time zone.
import { afterEach, assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import * as Backfill from "../src/Backfill.js"
import * as Backfills from "../src/Backfills.js"
import { decoderFor, fastBackfill } from "../src/internal/decode.js"
import * as OrbError from "../src/OrbError.js"
import { wireBackfill } from "./utils.js"

const decodeTimestamp = Schema.decodeUnknownEither(Backfill.Timestamp)
const decodeBackfill = Schema.decodeUnknownEither(Backfill.Backfill)
const decodeEventBySchema = Schema.decodeUnknownEither(Backfill.IngestEvent, { onExcessProperty: "error" })
const decodeCreate = Schema.decodeUnknownEither(Backfill.CreateBackfill)

const wire = {
  event_name: "api_call",
  timestamp: "2026-10-02T12:00:00.000Z",
  properties: { units: 3 },
  idempotency_key: "k1",
  customer_id: "cus_1"
}

const zones = ["UTC", "Asia/Kolkata", "America/St_Johns", "Pacific/Kiritimati", "America/Los_Angeles", "Europe/London"]
const originalTz = process.env.TZ
afterEach(() => {
  if (originalTz === undefined) delete process.env.TZ
  else process.env.TZ = originalTz
})

const message = (either: Either.Either<unknown, { readonly message: string } | string>): string => {
  if (Either.isRight(either)) return assert.fail(`expected a refusal, got ${JSON.stringify(either.right)}`)
  return typeof either.left === "string" ? either.left : either.left.message
}

/** What each entry point makes of one timestamp: `undefined` when it refuses it, else epoch milliseconds. */
const everyEntryPoint = (text: string) => {
  const schema = decodeTimestamp(text)
  const backfill = decoderFor(Backfill.Backfill)(wireBackfill({ created_at: text }))
  const event = Backfill.decodeIngestEvent({ ...wire, timestamp: text })
  const encoded = Backfills.validateEncodedEvent({ ...wire, timestamp: text }, "e")
  const create = decodeCreate({
    timeframe_start: text,
    timeframe_end: "9999-01-01T00:00:00Z",
    replace_existing_events: false
  })
  const parsed = Backfill.parseTimestamp(text)
  return {
    schema: Either.isRight(schema) ? schema.right.epochMillis : undefined,
    backfill: Either.isRight(backfill) ? backfill.right.createdAt.epochMillis : undefined,
    event: Either.isRight(event) ? event.right.timestamp.epochMillis : undefined,
    encoded: Either.isRight(encoded) ? Date.parse(encoded.right.timestamp) : undefined,
    create: Either.isRight(create) ? create.right.timeframeStart.epochMillis : undefined,
    parsed: Either.isRight(parsed) ? parsed.right.epochMillis : undefined,
    millis: Backfill.timestampMillis(text)
  }
}

const refusedEverywhere = (text: string) => {
  const outcome = everyEntryPoint(text)
  assert.deepStrictEqual(outcome, {
    schema: undefined,
    backfill: undefined,
    event: undefined,
    encoded: undefined,
    create: undefined,
    parsed: undefined,
    millis: Number.NaN
  }, text)
}

const acceptedEverywhere = (text: string, iso: string) => {
  const millis = Date.parse(iso)
  const outcome = everyEntryPoint(text)
  assert.deepStrictEqual(outcome, {
    schema: millis,
    backfill: millis,
    event: millis,
    encoded: millis,
    create: millis,
    parsed: millis,
    millis
  }, text)
}

describe("dates are refused, never moved", () => {
  const refused: ReadonlyArray<[string, RegExp]> = [
    ["2026-11-31T10:00:00Z", /^"2026-11-31T10:00:00Z" is not a calendar date \(November 2026 has 30 days\)$/],
    ["2026-02-30T00:00:00.000Z", /is not a calendar date \(February 2026 has 28 days\)/],
    ["2026-02-29T00:00:00Z", /February 2026 has 28 days/],
    ["1900-02-29T00:00:00Z", /February 1900 has 28 days/],
    ["2026-13-01T00:00:00Z", /is not a calendar date \(there is no month 13\)/],
    ["2026-00-10T00:00:00Z", /there is no month 00/],
    ["2026-10-00T00:00:00Z", /is not a calendar date/],
    ["2026-10-02", /is a date without a time \(write 2026-10-02T00:00:00Z for midnight UTC\)/],
    ["2026-10-02 12:00:00Z", /separates the date and the time with a space, not T/],
    ["2026-10-01T24:00:00Z", /has an hour out of range \(00 to 23\)/],
    ["2026-10-01T12:60:00Z", /has a minute out of range \(00 to 59\)/],
    ["2016-12-31T23:59:60Z", /has a second out of range \(00 to 59; leap seconds are not accepted\)/],
    ["2026-10-01T12:00:00+24:00", /has an offset out of range/],
    ["2026-10-01T12:00:00+01:60", /has an offset out of range/],
    ["0000-01-01T00:00:00+00:01", /is outside the years 0000 to 9999 in UTC/],
    ["9999-12-31T23:59:59-00:01", /is outside the years 0000 to 9999 in UTC/],
    [
      "Thu, 01 Oct 2026 00:00:00 GMT",
      /^"Thu, 01 Oct 2026 00:00:00 GMT" is not an ISO 8601 date-time \(such as 2026-10-01T12:00:00Z\)$/
    ],
    // Without a zone (UTC, as Orb reads it), as strictly as with one.
    ["2026-11-31T10:00:00", /is not a calendar date \(November 2026 has 30 days\)/],
    ["2026-10-01T24:00:00", /has an hour out of range/],
    ["2026-10-01 12:00:00", /separates the date and the time with a space, not T/],
    ["0", /is not an ISO 8601 date-time/],
    ["2026", /is not an ISO 8601 date-time/],
    ["", /is not an ISO 8601 date-time/],
    ["+002026-10-01T00:00:00Z", /is not an ISO 8601 date-time/],
    ["2026-10-01T12:00:00+0100", /is not an ISO 8601 date-time/],
    ["2026-10-01T12:00:00+01", /is not an ISO 8601 date-time/],
    ["2026-10-01T12:00:00.Z", /is not an ISO 8601 date-time/],
    ["2026-10-01T12:00:00,5Z", /is not an ISO 8601 date-time/],
    ["2026-10-01T12:00:00.1234567890Z", /is not an ISO 8601 date-time/],
    ["2026-10-01T12:00:00Z ", /is not an ISO 8601 date-time/],
    [" 2026-10-01T12:00:00Z", /is not an ISO 8601 date-time/],
    ["2026-1O-01T00:00:00Z", /is not an ISO 8601 date-time/],
    ["March 1, 2026", /is not an ISO 8601 date-time/]
  ]

  it("at every entry point of the library, under any TZ", () => {
    for (const tz of zones) {
      process.env.TZ = tz
      for (const [text] of refused) refusedEverywhere(text)
    }
  })

  it("with a reason that names the problem, in the Schema's error as in parseTimestamp's", () => {
    for (const [text, reason] of refused) {
      assert.match(message(Backfill.parseTimestamp(text)), reason, text)
      assert.include(message(decodeTimestamp(text)), message(Backfill.parseTimestamp(text)), text)
    }
    // A long text is quoted in part only.
    const long = "2026-10-01T00:00:00" + "9".repeat(10_000)
    assert.isBelow(message(Backfill.parseTimestamp(long)).length, 200)
    // The field is named, in the event checks as in the response decoder.
    const checked = Backfills.validateEncodedEvent({ ...wire, timestamp: "2026-11-31T10:00:00Z" }, "events[4]")
    assert.isTrue(Either.isLeft(checked))
    if (Either.isLeft(checked)) {
      assert.strictEqual(checked.left.field, "events[4].timestamp")
      assert.match(checked.left.reason, /November 2026 has 30 days/)
    }
    const response = decoderFor(Backfill.Backfill)(wireBackfill({ timeframe_end: "2026-02-30T00:00:00Z" }))
    assert.match(message(response), /timeframe_end[\s\S]*February 2026 has 28 days/)
  })
})

describe("Backfill.timestamp and unsafeTimestamp: a date-time for code, as strict as the rest", () => {
  it.effect("timestamp refuses 2026-11-31 with an InvalidInput naming the text and the place", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Backfill.timestamp("2026-11-31T00:00:00Z"))
      assert.instanceOf(error, OrbError.InvalidInput)
      assert.strictEqual(error.field, "timestamp")
      assert.strictEqual(error.reason, `"2026-11-31T00:00:00Z" is not a calendar date (November 2026 has 30 days)`)
      assert.strictEqual(
        error.message,
        `Invalid timestamp: "2026-11-31T00:00:00Z" is not a calendar date (November 2026 has 30 days)`
      )
      const read = yield* Backfill.timestamp("2026-10-01T02:00:00+02:00")
      assert.strictEqual(DateTime.formatIso(read), "2026-10-01T00:00:00.000Z")
    }))

  it("unsafeTimestamp reads a literal, and throws the same error for an impossible one", () => {
    assert.strictEqual(Backfill.unsafeTimestamp("2026-10-01T00:00:00Z").epochMillis, Date.UTC(2026, 9, 1))
    assert.throws(
      () => Backfill.unsafeTimestamp("2026-11-31T00:00:00Z"),
      OrbError.InvalidInput,
      `Invalid timestamp: "2026-11-31T00:00:00Z" is not a calendar date (November 2026 has 30 days)`
    )
    for (const [text] of [["2026-02-29T00:00:00Z"], ["Thu, 01 Oct 2026 00:00:00 GMT"], ["2026-10-01T24:00:00Z"]]) {
      assert.throws(() => Backfill.unsafeTimestamp(text), message(Backfill.parseTimestamp(text)))
    }
  })
})

describe("the forms accepted", () => {
  const accepted: ReadonlyArray<[string, string]> = [
    ["2026-10-01T12:00:00.000Z", "2026-10-01T12:00:00.000Z"],
    ["2026-10-01T12:00:00Z", "2026-10-01T12:00:00.000Z"],
    ["2026-10-01T12:00Z", "2026-10-01T12:00:00.000Z"],
    ["2026-10-01T12:00:00.5Z", "2026-10-01T12:00:00.500Z"],
    ["2026-10-01T12:00:00.25Z", "2026-10-01T12:00:00.250Z"],
    // Below the millisecond, digits are dropped (a DateTime holds milliseconds).
    ["2026-10-01T12:00:00.123456789Z", "2026-10-01T12:00:00.123Z"],
    ["2026-10-01t12:00:00z", "2026-10-01T12:00:00.000Z"],
    ["2026-10-01T14:00:00+02:00", "2026-10-01T12:00:00.000Z"],
    // Without a zone: UTC, as Orb reads it ("no timezone offset (i.e. UTC)"), never the machine's zone.
    ["2026-10-01T12:00:00", "2026-10-01T12:00:00.000Z"],
    ["2026-10-01T12:00", "2026-10-01T12:00:00.000Z"],
    ["2026-10-01t12:00:00.123", "2026-10-01T12:00:00.123Z"],
    ["9999-12-31T23:59:59.999", "9999-12-31T23:59:59.999Z"],
    ["2026-10-01T05:30:00-06:30", "2026-10-01T12:00:00.000Z"],
    ["2026-10-01T12:00:00+00:00", "2026-10-01T12:00:00.000Z"],
    ["2026-10-01T12:00:00-00:00", "2026-10-01T12:00:00.000Z"],
    ["2026-10-02T11:59:00+23:59", "2026-10-01T12:00:00.000Z"],
    ["2024-02-29T00:00:00Z", "2024-02-29T00:00:00.000Z"],
    ["2000-02-29T23:59:59.999Z", "2000-02-29T23:59:59.999Z"],
    ["0000-01-01T00:00:00Z", "0000-01-01T00:00:00.000Z"],
    ["0000-02-29T00:00:00Z", "0000-02-29T00:00:00.000Z"],
    ["0099-12-31T00:00:00Z", "0099-12-31T00:00:00.000Z"],
    ["9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"],
    ["1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z"]
  ]

  it("read as the same instant at every entry point, under any TZ", () => {
    for (const tz of zones) {
      process.env.TZ = tz
      for (const [text, iso] of accepted) acceptedEverywhere(text, iso)
    }
  })

  it("encodes with toISOString, and decodes what it encodes", () => {
    const encode = Schema.encodeSync(Backfill.Timestamp)
    for (const [, iso] of accepted) {
      const utc = DateTime.unsafeMake(iso)
      assert.strictEqual(encode(utc), iso)
      assert.deepStrictEqual(Schema.decodeSync(Backfill.Timestamp)(encode(utc)), utc)
    }
  })

  it("parseTimestamp with date: true also reads a date alone as midnight UTC, strictly", () => {
    const midnight = Backfill.parseTimestamp("2026-01-01", { date: true })
    assert.deepStrictEqual(midnight, Either.right(DateTime.unsafeMake("2026-01-01T00:00:00Z")))
    assert.match(
      message(Backfill.parseTimestamp("2026-11-31", { date: true })),
      /^"2026-11-31" is not a calendar date \(November 2026 has 30 days\)$/
    )
    assert.deepStrictEqual(
      Backfill.parseTimestamp("2026-10-01T00:00:00", { date: true }),
      Either.right(DateTime.unsafeMake("2026-10-01T00:00:00Z"))
    )
    assert.match(message(Backfill.parseTimestamp("26-10-01", { date: true })), /is not an ISO 8601 date \(/)
  })
})

// An independent reading of the accepted grammar, through `Date.UTC` and a round trip of the fields: the oracle
// of the generated tests below.
const reference = (text: string): number => {
  const match =
    /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):(\d{2}))?$/
      .exec(text)
  if (match === null) return Number.NaN
  const [, y, mo, d, h, mi, s = "0", f = "0", _z, sign, oh, om] = match
  const date = new Date(0)
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d))
  date.setUTCHours(Number(h), Number(mi), Number(s), Number(f.padEnd(3, "0").slice(0, 3)))
  if (
    date.getUTCFullYear() !== Number(y) || date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d) ||
    date.getUTCHours() !== Number(h) || date.getUTCMinutes() !== Number(mi) || date.getUTCSeconds() !== Number(s)
  ) return Number.NaN
  if (sign !== undefined && (Number(oh) > 23 || Number(om) > 59)) return Number.NaN
  // No zone at all: UTC.
  const offset = sign === undefined ? 0 : (sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om))
  const millis = date.getTime() - offset * 60_000
  const min = -62_167_219_200_000 // 0000-01-01T00:00:00.000Z
  const max = Date.UTC(9999, 11, 31, 23, 59, 59, 999)
  return millis < min || millis > max ? Number.NaN : millis
}

const pad = (n: number, width: number) => String(n).padStart(width, "0")

/** Timestamps near and far from the grammar: valid, impossible, zoneless, odd separators, other formats. */
const timestamps: FastCheck.Arbitrary<string> = FastCheck.oneof(
  FastCheck.record({
    year: FastCheck.oneof(FastCheck.integer({ min: 0, max: 9999 }), FastCheck.constantFrom(1900, 2000, 2024, 2026)),
    month: FastCheck.integer({ min: 0, max: 13 }),
    day: FastCheck.integer({ min: 0, max: 32 }),
    separator: FastCheck.constantFrom("T", "T", "T", "t", " ", ""),
    hour: FastCheck.integer({ min: 0, max: 25 }),
    minute: FastCheck.integer({ min: 0, max: 60 }),
    second: FastCheck.option(FastCheck.integer({ min: 0, max: 61 })),
    fraction: FastCheck.option(FastCheck.stringMatching(/^\d{0,10}$/)),
    zone: FastCheck.oneof(
      FastCheck.constantFrom("Z", "Z", "z", "", "+00:00", "-00:00", "+0100", "+01", " GMT"),
      FastCheck.tuple(
        FastCheck.constantFrom("+", "-"),
        FastCheck.integer({ min: 0, max: 25 }),
        FastCheck.integer({ min: 0, max: 61 })
      ).map(([sign, h, m]) => `${sign}${pad(h, 2)}:${pad(m, 2)}`)
    )
  }).map(({ day, fraction, hour, minute, month, second, separator, year, zone }) =>
    `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}${separator}${pad(hour, 2)}:${pad(minute, 2)}` +
    (second === null ? "" : `:${pad(second, 2)}${fraction === null ? "" : `.${fraction}`}`) + zone
  ),
  FastCheck.date({ min: new Date(-62_167_219_200_000), max: new Date(253_402_300_799_999), noInvalidDate: true })
    .map((date) => date.toISOString()),
  FastCheck.date({ noInvalidDate: true }).map((date) => date.toUTCString()),
  FastCheck.constantFrom("0", "1", "2026", "2026-10-01", "2026-10", "+002026-10-01T00:00:00Z", "noon"),
  FastCheck.string()
)

describe("the fast paths agree with the Schema on every input, under any TZ", () => {
  it("the parser reads exactly the grammar, as an independent oracle does", () => {
    FastCheck.assert(
      FastCheck.property(timestamps, (text) => {
        const expected = reference(text)
        assert.deepStrictEqual(Backfill.timestampMillis(text), expected, text)
      }),
      { numRuns: 20_000 }
    )
  })

  for (const tz of zones) {
    it(`TZ=${tz}`, () => {
      process.env.TZ = tz
      FastCheck.assert(
        FastCheck.property(timestamps, FastCheck.constantFrom("created_at", "close_time"), (text, key) => {
          // The response decoder: the fast path either gives what the Schema gives, or leaves it to the Schema.
          const body = wireBackfill({ [key]: text })
          const bySchema = decodeBackfill(body)
          const fast = fastBackfill(body)
          if (fast !== undefined) assert.deepStrictEqual(Either.right(fast), bySchema, text)
          else assert.isTrue(Either.isLeft(bySchema), `fast path declined what the Schema decodes: ${text}`)
          // Events: the hand reader and the Schema.
          const event = { ...wire, timestamp: text }
          const decoded = Backfill.decodeIngestEvent(event)
          const schemaEvent = decodeEventBySchema(event)
          assert.strictEqual(Either.isRight(decoded), Either.isRight(schemaEvent), text)
          if (Either.isRight(decoded) && Either.isRight(schemaEvent)) {
            assert.deepStrictEqual(decoded.right, schemaEvent.right, text)
          }
          // The wire check reads the same instant as the decoded path.
          const checked = Backfills.validateEncodedEvent(event, "e")
          assert.strictEqual(Either.isRight(checked), Either.isRight(schemaEvent), text)
          if (Either.isRight(checked) && Either.isRight(schemaEvent)) {
            assert.strictEqual(Date.parse(checked.right.timestamp), schemaEvent.right.timestamp.epochMillis, text)
          }
        }),
        { numRuns: 3_000 }
      )
    })
  }
})
