import { EventFile } from "@effect-orb/workflow"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Either from "effect/Either"

const right = <A, E>(either: Either.Either<A, E>): A => {
  if (Either.isLeft(either)) assert.fail(`expected a value, got ${String(either.left)}`)
  return (either as Either.Right<E, A>).right
}
const left = <A, E>(either: Either.Either<A, E>): E => {
  if (Either.isRight(either)) assert.fail(`expected a failure, got ${JSON.stringify(either.right)}`)
  return (either as Either.Left<E, A>).left
}

// Long after every event here: none is in the future.
const now = DateTime.unsafeMake("2100-01-01T00:00:00Z")

// A scope that takes any instant, for checking an event's shape alone.
const wide = {
  timeframeStart: DateTime.unsafeMake("2000-01-01T00:00:00Z"),
  timeframeEnd: DateTime.unsafeMake("2100-01-01T00:00:00Z")
}

describe("CSV", () => {
  it("splits RFC 4180 records: quoted commas, doubled quotes, empty fields", () => {
    assert.deepStrictEqual(right(EventFile.parseCsvRecord("a,\"b,c\",\"say \"\"hi\"\"\",,\"\"")), [
      { value: "a", quoted: false },
      { value: "b,c", quoted: true },
      { value: "say \"hi\"", quoted: true },
      { value: "", quoted: false },
      { value: "", quoted: true }
    ])
    assert.deepStrictEqual(right(EventFile.parseCsvRecord("")), [{ value: "", quoted: false }])
    assert.deepStrictEqual(right(EventFile.parseCsvRecord("x,")), [{ value: "x", quoted: false }, {
      value: "",
      quoted: false
    }])
  })

  it("reads line breaks inside quotes, and refuses a quoted field left open and stray quotes", () => {
    assert.deepStrictEqual(right(EventFile.parseCsvRecord("a,\"b\nc\"")), [
      { value: "a", quoted: false },
      { value: "b\nc", quoted: true }
    ])
    assert.match(left(EventFile.parseCsvRecord("a,\"b")), /^a quoted field is not closed/)
    assert.match(left(EventFile.parseCsvRecord("a,\"b\"c")), /after the closing quote of field 2/)
    assert.match(left(EventFile.parseCsvRecord("a,b\"c")), /field 2 holds a quote but is not quoted/)
  })

  it("types cells by what they hold, quoted or not: numbers, booleans, strings; empty and NULL are no value", () => {
    const cell = (value: string, type?: "string" | "number" | "boolean") => right(EventFile.csvValue(value, type))
    assert.strictEqual(cell("42"), 42)
    assert.strictEqual(cell("-3.25"), -3.25)
    assert.strictEqual(cell("0"), 0)
    assert.strictEqual(cell("1.5e-05"), 0.000015)
    assert.strictEqual(cell("1E3"), 1000)
    assert.strictEqual(cell("007"), "007")
    assert.strictEqual(cell("+1"), "+1")
    assert.strictEqual(cell(".5"), ".5")
    assert.strictEqual(cell(" 42"), " 42")
    assert.strictEqual(cell("12345678901234567890"), "12345678901234567890")
    assert.strictEqual(cell("true"), true)
    assert.strictEqual(cell("FALSE"), false)
    assert.strictEqual(cell("t"), "t")
    assert.strictEqual(cell("-"), "-")
    assert.strictEqual(cell("nullable"), "nullable")
    for (const none of ["", "NULL", "null", "\\N"]) {
      assert.isUndefined(cell(none), none)
      assert.isUndefined(cell(none, "number"), none)
      assert.isUndefined(cell(none, "string"), none)
    }
    // A column's type, given with --csv-type.
    assert.strictEqual(cell("007", "string"), "007")
    assert.strictEqual(cell("true", "string"), "true")
    assert.strictEqual(cell("007", "number"), 7)
    assert.strictEqual(cell("+.5", "number"), 0.5)
    assert.strictEqual(left(EventFile.csvValue("n/a", "number")), "\"n/a\" is not a number")
    assert.match(left(EventFile.csvValue("12345678901234567890", "number")), /cannot be sent exactly as a number/)
    assert.strictEqual(cell("t", "boolean"), true)
    assert.strictEqual(cell("No", "boolean"), false)
    assert.strictEqual(cell("0", "boolean"), false)
    assert.strictEqual(left(EventFile.csvValue("maybe", "boolean")), "\"maybe\" is not a boolean (true or false)")
  })

  it("needs event_name, timestamp and a customer column in the header", () => {
    assert.deepStrictEqual(
      right(EventFile.parseCsvHeader("\uFEFFevent_name,timestamp,customer_id,units,zip", { zip: "string" })),
      {
        names: ["event_name", "timestamp", "customer_id", "units", "zip"],
        kinds: ["event", "event", "event", "auto", "string"]
      }
    )
    assert.match(
      left(EventFile.parseCsvHeader("event_name,timestamp,customer_id,units", { unit: "number" })),
      /no property column "unit" for its type \(the property columns: units\)/
    )
    assert.match(
      left(EventFile.parseCsvHeader("event_name,timestamp,customer_id", { timestamp: "string" })),
      /"timestamp" is an event column/
    )
    assert.match(left(EventFile.parseCsvHeader("timestamp,customer_id")), /no "event_name" column/)
    assert.match(left(EventFile.parseCsvHeader("event_name,timestamp")), /no customer column/)
    assert.match(left(EventFile.parseCsvHeader("event_name,timestamp,customer_id,a,a")), /"a" appears twice/)
    assert.strictEqual(
      left(EventFile.parseCsvHeader("event_name;timestamp;customer_id")),
      "header: the columns are separated by semicolons, not commas; export the file as CSV with commas"
    )
    assert.match(left(EventFile.parseCsvHeader("event_name\ttimestamp\tcustomer_id")), /separated by tabs, not commas/)
  })

  it("makes an event of a row, with the other columns as properties", () => {
    const header = right(EventFile.parseCsvHeader("event_name,timestamp,external_customer_id,units,region"))
    const event = right(
      EventFile.checkEvent(
        right(EventFile.parseCsvRow(header, "api_call,2026-10-01T00:00:00Z,acme,3,\"eu, west\"")),
        wide,
        now
      )
    )
    assert.deepStrictEqual(event, {
      event_name: "api_call",
      timestamp: "2026-10-01T00:00:00.000Z",
      properties: { units: 3, region: "eu, west" },
      external_customer_id: "acme"
    })
    assert.match(left(EventFile.parseCsvRow(header, "api_call,2026-10-01T00:00:00Z,acme")), /expected 5 fields/)
    // Quoted as exports write every cell: the same event; an empty cell, quoted or not, is no property.
    assert.deepStrictEqual(
      right(EventFile.parseCsvRow(header, "\"api_call\",\"2026-10-01T00:00:00Z\",\"acme\",\"3\",\"\"")),
      {
        event_name: "api_call",
        timestamp: "2026-10-01T00:00:00Z",
        external_customer_id: "acme",
        properties: { units: 3 }
      }
    )
    const typed = right(
      EventFile.parseCsvHeader("event_name,timestamp,external_customer_id,units,region", { units: "number" })
    )
    assert.strictEqual(
      left(EventFile.parseCsvRow(typed, "api_call,2026-10-01T00:00:00Z,acme,lots,eu")),
      "units: \"lots\" is not a number (the column is typed number)"
    )
    // A date alone is no event timestamp (it is refused by the check, by the library's one strict parser).
    assert.match(
      left(EventFile.checkEvent(right(EventFile.parseCsvRow(header, "api_call,2026-10-01,acme,1,eu")), wide, now)),
      /^timestamp: "2026-10-01" is a date without a time \(write 2026-10-01T00:00:00Z for midnight UTC\)$/
    )
  })
})

describe("NDJSON", () => {
  // A line as the run reads it: parsed, then checked (its shape too) against a scope that takes any instant.
  const line = (text: string) =>
    Either.flatMap(EventFile.parseNdjsonLine(text), (event) => EventFile.checkEvent(event, wide, now))

  it("reads Orb's wire events, and gives them as they are sent", () => {
    const text = JSON.stringify({
      event_name: "api_call",
      timestamp: "2026-10-01T00:00:00.000Z",
      customer_id: "cus_1",
      properties: { n: 1, ok: true, s: "x" }
    })
    const parsed = right(EventFile.parseNdjsonLine(text))
    // Already in the form sent: the very object, no copy.
    assert.strictEqual(right(EventFile.checkEvent(parsed, wide, now)), parsed)
    const offset = right(line(
      "{\"event_name\":\"a\",\"timestamp\":\"2026-10-01T02:00:00+02:00\",\"properties\":{},\"customer_id\":\"cus_1\"}"
    ))
    assert.strictEqual(offset.timestamp, "2026-10-01T00:00:00.000Z")
    assert.isUndefined(offset.idempotency_key)
    const withNull = right(line(
      "{\"event_name\":\"a\",\"timestamp\":\"2026-10-01T00:00:00Z\",\"properties\":{},\"customer_id\":null,\"external_customer_id\":\"x\"}"
    ))
    assert.isFalse("customer_id" in withNull)
    assert.strictEqual(withNull.external_customer_id, "x")
    assert.match(
      left(line(
        "{\"event_name\":\"a\",\"timestamp\":\"2026-10-01T00:00:00Z\",\"properties\":{},\"idempotency_key\":null,\"customer_id\":\"c\"}"
      )),
      /^idempotency_key: /
    )
  })

  it("says what is wrong with a line", () => {
    assert.match(left(EventFile.parseNdjsonLine("{")), /^not valid JSON/)
    assert.strictEqual(left(EventFile.parseNdjsonLine("[1]")), "expected a JSON object (one event)")
    assert.strictEqual(
      left(line("{\"timestamp\":\"2026-10-01T00:00:00Z\",\"properties\":{},\"customer_id\":\"c\"}")),
      "event_name: is missing"
    )
    assert.match(
      left(
        line("{\"event_name\":\"a\",\"timestamp\":\"2026-09-31T00:00:00\",\"properties\":{},\"customer_id\":\"c\"}")
      ),
      /^timestamp: "2026-09-31T00:00:00" is not a calendar date \(September 2026 has 30 days\)$/
    )
    assert.match(
      left(line(
        "{\"event_name\":\"a\",\"timestamp\":\"2026-10-01T00:00:00Z\",\"properties\":{\"x\":{}},\"customer_id\":\"c\"}"
      )),
      /^properties\.x: /
    )
    assert.strictEqual(
      left(line(
        "{\"event_name\":\"a\",\"timestamp\":\"2026-10-01T00:00:00Z\",\"properties\":{},\"x\":1,\"customer_id\":\"c\"}"
      )),
      "x: is not an Orb event field"
    )
    // A property's name is the file's, even in camelCase; only the event's own fields are written in snake_case.
    assert.strictEqual(
      left(line(
        "{\"event_name\":\"\",\"timestamp\":\"2026-10-01T00:00:00Z\",\"properties\":{},\"customer_id\":\"c\"}"
      )),
      "event_name: must be a non-empty string"
    )
    assert.match(
      left(line(
        "{\"event_name\":\"a\",\"timestamp\":\"2026-10-01T00:00:00Z\",\"properties\":{\"bytesSent\":[1]},\"customer_id\":\"c\"}"
      )),
      /^properties\.bytesSent: /
    )
  })
})

describe("checkEvent", () => {
  const scope = {
    timeframeStart: DateTime.unsafeMake("2026-10-01T00:00:00Z"),
    timeframeEnd: DateTime.unsafeMake("2026-10-08T00:00:00Z")
  }
  const event = {
    event_name: "api_call",
    timestamp: "2026-10-07T23:59:59.999Z",
    properties: {},
    external_customer_id: "acme"
  }

  it("checks the timeframe (end excluded) and the customer keys", () => {
    right(EventFile.checkEvent(event, scope, now))
    assert.match(
      left(EventFile.checkEvent({ ...event, timestamp: "2026-10-08T00:00:00Z" }, scope, now)),
      /^timestamp: 2026-10-08T00:00:00.000Z is outside the timeframe \[2026-10-01T00:00:00.000Z, 2026-10-08T00:00:00.000Z\)$/
    )
    assert.match(
      left(EventFile.checkEvent({ ...event, external_customer_id: undefined }, scope, now)),
      /^customer_id: give one of customerId and externalCustomerId$/
    )
  })

  it("fills in and enforces the backfill's customer", () => {
    const scoped = { ...scope, externalCustomerId: "acme" }
    assert.strictEqual(
      right(EventFile.checkEvent({ ...event, external_customer_id: undefined }, scoped, now)).external_customer_id,
      "acme"
    )
    assert.strictEqual(
      right(EventFile.checkEvent({ ...event, external_customer_id: null }, scoped, now)).external_customer_id,
      "acme"
    )
    assert.match(
      left(EventFile.checkEvent({ ...event, external_customer_id: "globex" }, scoped, now)),
      /globex is not the backfill's customer \(acme\)/
    )
    const byId = { ...scope, customerId: "cus_1" }
    assert.strictEqual(
      right(EventFile.checkEvent({ ...event, external_customer_id: undefined }, byId, now)).customer_id,
      "cus_1"
    )
    assert.match(left(EventFile.checkEvent(event, byId, now)), /scoped to customer cus_1/)
  })
})

describe("formatOf", () => {
  it("goes by the extension unless told", () => {
    assert.strictEqual(right(EventFile.formatOf("a.CSV")), "csv")
    assert.strictEqual(right(EventFile.formatOf("a.jsonl")), "ndjson")
    assert.strictEqual(right(EventFile.formatOf("a.txt", "csv")), "csv")
    assert.match(left(EventFile.formatOf("a.txt")).message, /^a\.txt: cannot tell the format/)
  })
})
