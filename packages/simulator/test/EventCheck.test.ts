// An ingested event is decoded by hand when it is plainly well formed, and by the `IngestEvent` Schema otherwise
// (which names the problems): these tests hold both paths to the same answer, accepted or the same errors.
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as IngestHandler from "../src/internal/ingestHandler.js"
import * as State from "../src/internal/state.js"
import { T0 } from "./support.js"

const hour = 3_600_000

const config: State.Config = {
  apiKey: undefined,
  reflectionDelayMillis: 5_000,
  revertDelayMillis: 5_000,
  maxTimeframeMillis: 31 * 24 * hour,
  maxEventsPerRequest: 500,
  gracePeriodMillis: 12 * hour,
  maxFutureMillis: 5 * 60_000,
  idempotencyTtlMillis: 48 * hour,
  defaultCloseAfterMillis: 24 * hour,
  customers: OrbSimulator.defaultCustomers
}

const backfill = (customerId: string | null): State.BackfillRecord => ({
  seq: 1,
  id: "bf_1",
  createdAt: T0,
  timeframeStart: Date.parse("2025-03-01T00:00:00Z"),
  timeframeEnd: Date.parse("2025-03-02T00:00:00Z"),
  closeTime: T0 + 24 * hour,
  closedAt: undefined,
  revert: undefined,
  customerId,
  replaceExistingEvents: false,
  deprecationFilter: null,
  filter: () => true,
  events: new Map()
})

const good = {
  event_name: "api_call",
  timestamp: "2025-03-01T12:00:00Z",
  properties: { units: 1, region: "eu", ok: true },
  idempotency_key: "k",
  customer_id: "cus_1"
}

const withEvent = (overrides: Record<string, unknown>, without: ReadonlyArray<string> = []) => {
  const event: Record<string, unknown> = { ...good, ...overrides }
  for (const key of without) delete event[key]
  return event
}

// Well formed: the hand decoder takes them (the contexts below may still refuse some, e.g. by time).
const wellFormed: ReadonlyArray<[string, unknown]> = [
  ["plain", good],
  ["external customer id", withEvent({ external_customer_id: "acme" }, ["customer_id"])],
  ["external customer id, customer_id null", withEvent({ external_customer_id: "acme", customer_id: null })],
  ["customer_id, external_customer_id null", withEvent({ external_customer_id: null })],
  ["both customer keys", withEvent({ external_customer_id: "acme" })],
  ["no customer key", withEvent({}, ["customer_id"])],
  ["both customer keys null", withEvent({ customer_id: null, external_customer_id: null })],
  ["another customer", withEvent({ customer_id: "cus_2" })],
  ["empty customer id", withEvent({ customer_id: "" })],
  ["+00:00", withEvent({ timestamp: "2025-03-01T12:00:00+00:00" })],
  ["-00:00", withEvent({ timestamp: "2025-03-01T12:00:00-00:00" })],
  ["no seconds", withEvent({ timestamp: "2025-03-01T12:00Z" })],
  ["milliseconds", withEvent({ timestamp: "2025-03-01T12:00:00.123Z" })],
  ["nine digits of fraction", withEvent({ timestamp: "2025-03-01T12:00:00.123456789Z" })],
  ["one digit of fraction", withEvent({ timestamp: "2025-03-01T12:00:00.5Z" })],
  ["start of the timeframe", withEvent({ timestamp: "2025-03-01T00:00:00.000Z" })],
  ["end of the timeframe (exclusive)", withEvent({ timestamp: "2025-03-02T00:00:00Z" })],
  ["before the timeframe", withEvent({ timestamp: "2025-02-28T23:59:59.999Z" })],
  ["within the grace period", withEvent({ timestamp: new Date(T0 - 11 * hour).toISOString() })],
  ["just ahead", withEvent({ timestamp: new Date(T0 + 4 * 60_000).toISOString() })],
  ["too far ahead", withEvent({ timestamp: new Date(T0 + 6 * 60_000).toISOString() })],
  ["empty properties", withEvent({ properties: {} })],
  ["every kind of property", withEvent({ properties: { s: "", n: -1.5e300, z: 0, t: true, f: false, "a b.c": "é" } })],
  ["numeric property keys", withEvent({ properties: { "2": 2, "1": "one", x: 3 } })],
  ["empty event name", withEvent({ event_name: "" })],
  ["64-character key", withEvent({ idempotency_key: "k".repeat(64) })],
  ["key with odd characters", withEvent({ idempotency_key: " é/\n" })],
  // An event's key has no documented length limit (the 64 characters are the Idempotency-Key header's).
  ["65-character key", withEvent({ idempotency_key: "k".repeat(65) })],
  // RFC 3339 allows a lower-case t and z, and so does the one parser.
  ["lower-case z", withEvent({ timestamp: "2025-03-01T12:00:00z" })],
  ["lower-case t", withEvent({ timestamp: "2025-03-01t12:00:00Z" })],
  // No zone is UTC, as Orb reads it; an offset names its instant (here 11:00 UTC).
  ["no zone", withEvent({ timestamp: "2025-03-01T12:00:00" })],
  ["an offset", withEvent({ timestamp: "2025-03-01T12:00:00+01:00" })],
  ["an offset that leaves the timeframe", withEvent({ timestamp: "2025-03-01T12:00:00+14:00" })]
]

// Left to the Schema by the hand decoder: most are refused, a few accepted (a lower-case `t`, say).
const leftToTheSchema: ReadonlyArray<[string, unknown]> = [
  ["null", null],
  ["array", [good]],
  ["string", "event"],
  ["number", 1],
  ["empty object", {}],
  ["unknown key", withEvent({ colour: "blue" })],
  ["two unknown keys", withEvent({ colour: "blue", size: 2 })],
  ["own __proto__ key", JSON.parse(`{"__proto__": 1, ${JSON.stringify(good).slice(1)}`)],
  ["no event name", withEvent({}, ["event_name"])],
  ["event name a number", withEvent({ event_name: 7 })],
  ["event name null", withEvent({ event_name: null })],
  ["no timestamp", withEvent({}, ["timestamp"])],
  ["timestamp a number", withEvent({ timestamp: T0 })],
  ["timestamp null", withEvent({ timestamp: null })],
  ["no zone, impossible date", withEvent({ timestamp: "2025-02-29T12:00:00" })],
  ["+0000", withEvent({ timestamp: "2025-03-01T12:00:00+0000" })],
  ["a date", withEvent({ timestamp: "2025-03-01" })],
  ["prose", withEvent({ timestamp: "March 1, 2025" })],
  ["month 13", withEvent({ timestamp: "2025-13-01T00:00:00Z" })],
  // Refused, not moved: `Date.parse` would roll them over to March 2 and 2.
  ["day 30 of February", withEvent({ timestamp: "2025-02-30T00:00:00Z" })],
  ["hour 24", withEvent({ timestamp: "2025-03-01T24:00:00Z" })],
  ["ten digits of fraction", withEvent({ timestamp: "2025-03-01T12:00:00.1234567890Z" })],
  ["empty timestamp", withEvent({ timestamp: "" })],
  ["no properties", withEvent({}, ["properties"])],
  ["properties null", withEvent({ properties: null })],
  ["properties an array", withEvent({ properties: [1] })],
  ["properties a string", withEvent({ properties: "units=1" })],
  ["nested property", withEvent({ properties: { units: 1, nested: { a: 1 } } })],
  ["property null", withEvent({ properties: { units: null } })],
  ["property an array", withEvent({ properties: { units: [1] } })],
  [
    "property __proto__",
    JSON.parse(
      `{"properties": {"__proto__": "x", "units": 1}, "event_name": "a", "timestamp": "2025-03-01T12:00:00Z", "idempotency_key": "k", "customer_id": "c"}`
    )
  ],
  ["no idempotency key", withEvent({}, ["idempotency_key"])],
  ["empty idempotency key", withEvent({ idempotency_key: "" })],
  ["idempotency key a number", withEvent({ idempotency_key: 1 })],
  ["idempotency key null", withEvent({ idempotency_key: null })],
  ["customer id a number", withEvent({ customer_id: 1 })],
  ["external customer id false", withEvent({ external_customer_id: false }, ["customer_id"])],
  ["everything wrong", { event_name: 1, timestamp: "soon", properties: [], idempotency_key: "", extra: true }],
  ["key wrong, timestamp with an offset", withEvent({ idempotency_key: "", timestamp: "2025-03-01T12:00:00+01:00" })]
]

const contexts: ReadonlyArray<[string, State.BackfillRecord | undefined, number]> = [
  ["a backfill for every customer", backfill(null), T0],
  ["a backfill scoped to cus_1", backfill("cus_1"), T0],
  ["outside a backfill", undefined, T0]
]

type Checked = ReturnType<typeof IngestHandler.checkEvent>

const answer = (checked: Checked) =>
  Either.match(checked, {
    onLeft: (failure) => ({ refused: [failure.idempotencyKey, failure.validationErrors] }),
    onRight: ({ event, key }) => ({ accepted: { key, event } })
  })

describe("ingest: an event's check", () => {
  it("gives the same answer on the fast path as through the Schema, for good and bad events", () => {
    const tally = { accepted: 0, refused: 0 }
    for (const [where, record, now] of contexts) {
      for (const [name, raw] of [...wellFormed, ...leftToTheSchema]) {
        // One state per path, with the same history: an external customer id is given the same Orb id in both.
        const fast = IngestHandler.checkEvent(new State.State(config, 1), raw, 3, record, now, true)
        const schema = IngestHandler.checkEvent(new State.State(config, 1), raw, 3, record, now, false)
        assert.deepStrictEqual(answer(fast), answer(schema), `${name}, ${where}`)
        tally[Either.isRight(fast) ? "accepted" : "refused"]++
      }
    }
    // Both outcomes are exercised, not only refusals.
    assert.isAbove(tally.accepted, 20)
    assert.isAbove(tally.refused, 100)
  })

  it("takes the fast path for well-formed events only", () => {
    for (const [name, raw] of wellFormed) {
      assert.isDefined(IngestHandler.decodeEventFast(raw as Record<string, unknown>), name)
    }
    for (const [name, raw] of leftToTheSchema) {
      if (typeof raw === "object" && raw !== null && !Array.isArray(raw)) {
        assert.isUndefined(IngestHandler.decodeEventFast(raw as Record<string, unknown>), name)
      }
    }
  })

  it("refuses a malformed event with the Schema's messages and its own", () => {
    const refused = IngestHandler.checkEvent(
      new State.State(config, 1),
      withEvent({ colour: "blue", timestamp: "2025-03-01T12:00:00+01:00", idempotency_key: "" }),
      0,
      backfill(null),
      T0
    )
    assert.deepStrictEqual(Either.isLeft(refused) && refused.left.validationErrors, [
      "colour: is unexpected, expected: \"event_name\" | \"timestamp\" | \"properties\" | \"idempotency_key\" | " +
      "\"customer_id\" | \"external_customer_id\"",
      "idempotency_key: is required and must be a non-empty string"
    ])
  })
})
