// The dry run as a preview: per customer, the events, their first and last timestamp, the exact sum of each numeric
// property and the types seen, read by the real CLI from real files; and its two building blocks in bounded memory.
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Preview from "../src/internal/preview.js"
import { cli, simulator, tempFile, timeframe } from "./support.js"

const requests = Effect.flatMap(OrbSimulator.OrbSimulator, (s) => s.requests)

const event = (at: string, customer: Record<string, string>, properties: Record<string, unknown>, key: string) =>
  JSON.stringify({ event_name: "api_call", timestamp: at, ...customer, idempotency_key: key, properties })

// Two customers, one by Orb's id and one by yours; sums that a float sum gets wrong (0.1 + 0.2, past 2^53); a zip
// code read as a number in one line and as a string in another.
const lines = [
  event("2026-10-02T10:00:00Z", { customer_id: "cus_1" }, { units: 0.1, zip: "007" }, "a1"),
  event("2026-10-01T09:00:00Z", { customer_id: "cus_1" }, { units: 0.2, zip: 7 }, "a2"),
  event("2026-10-03T00:00:00Z", { customer_id: "cus_1" }, { units: 3 }, "a3"),
  event("2026-10-05T00:00:00Z", { external_customer_id: "acme" }, { units: 9007199254740991, ok: true }, "b1"),
  event("2026-10-04T00:00:00Z", { external_customer_id: "acme" }, { units: 9007199254740991, ok: false }, "b2"),
  event("2026-10-06T00:00:00Z", { external_customer_id: "acme" }, { units: 1e-7 }, "b3"),
  event("2026-10-01T00:00:00Z", { external_customer_id: "acme" }, { units: -2 }, "b4")
]

describe("the dry run's preview", () => {
  it.live("names each customer with its events, first and last timestamp, exact sums and mixed types", () =>
    Effect.gen(function*() {
      const file = tempFile("preview.ndjson", lines.join("\n") + "\n")
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add", "--dry-run"])
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.include(
        ran.stdout,
        "By customer (2 customers; sums are exact):\n" +
          "  CUSTOMER         EVENTS  FIRST                 LAST                  SUMS\n" +
          "  acme (external)       4  2026-10-01 00:00:00Z  2026-10-06 00:00:00Z  units 18,014,398,509,481,980.0000001\n" +
          "  cus_1                 3  2026-10-01 09:00:00Z  2026-10-03 00:00:00Z  units 3.3, zip 7\n" +
          "Seen both as a number and as a string (a wrong column?):\n" +
          "  cus_1: zip: number in 1 event, string in 1 (first on line 1)\n" +
          `7 events in ${file} would be sent; nothing was created.\n`
      )
      const json = JSON.parse(
        (yield* cli(["run", "--file", file, ...timeframe, "--add", "--dry-run", "--json"])).stdout
      )
      assert.deepStrictEqual(json.customers, {
        count: 2,
        customers: [
          {
            external_customer_id: "acme",
            events: 4,
            first_timestamp: "2026-10-01T00:00:00.000Z",
            last_timestamp: "2026-10-06T00:00:00.000Z",
            properties: {
              units: { number: 4, sum: "18014398509481980.0000001" },
              ok: { boolean: 2 }
            }
          },
          {
            customer_id: "cus_1",
            events: 3,
            first_timestamp: "2026-10-01T09:00:00.000Z",
            last_timestamp: "2026-10-03T00:00:00.000Z",
            properties: {
              units: { number: 3, sum: "3.3" },
              zip: { number: 1, string: 1, sum: "7", first_line: { number: 2, string: 1 } }
            }
          }
        ],
        others: null
      })
      assert.strictEqual((yield* requests).length, 0)
    }).pipe(Effect.provide(simulator)))

  it.live("reads a CSV's cells as they will be sent: a column of ids with leading zeros is flagged", () =>
    Effect.gen(function*() {
      const file = tempFile(
        "preview.csv",
        "event_name,timestamp,customer_id,idempotency_key,amount,zip\n" +
          "charge,2026-10-01T00:00:00Z,cus_2,c1,19.99,02134\n" +
          "charge,2026-10-01T01:00:00Z,cus_2,c2,0.01,94110\n" +
          "charge,2026-10-01T02:00:00Z,cus_2,c3,,10001\n"
      )
      const json = JSON.parse(
        (yield* cli(["run", "--file", file, ...timeframe, "--add", "--dry-run", "--json"])).stdout
      )
      assert.deepStrictEqual(json.customers.customers, [{
        customer_id: "cus_2",
        events: 3,
        first_timestamp: "2026-10-01T00:00:00.000Z",
        last_timestamp: "2026-10-01T02:00:00.000Z",
        properties: {
          amount: { number: 2, sum: "20" },
          zip: { number: 2, string: 1, sum: "104111", first_line: { number: 3, string: 2 } }
        }
      }])
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add", "--dry-run"])
      assert.include(ran.stdout, "  cus_2: zip: number in 2 events, string in 1 (first on line 2)\n")
    }).pipe(Effect.provide(simulator)))

  it.live(
    "stays readable for 10,050 customers: the 10 with the most events, then the others summed",
    () =>
      Effect.gen(function*() {
        // customer-00000 has 3 events, customer-00001..00009 two, the others one: 10,050 customers, 10,061 events;
        // the first ten in the file in reverse order (the sort is by events, then by id, whatever the file's order).
        const events: Array<string> = []
        const order = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, ...Array.from({ length: 10_040 }, (_, i) => 10 + i)]
        for (const c of order) {
          const copies = c === 0 ? 3 : c < 10 ? 2 : 1
          for (let k = 0; k < copies; k++) {
            const id = `customer-${String(c).padStart(5, "0")}`
            const at = new Date(Date.parse("2026-10-01T00:00:00Z") + (c * 3 + k) * 1000).toISOString()
            events.push(event(at, { external_customer_id: id }, { units: 2, price: 0.25 }, `${id}-${k}`))
          }
        }
        const file = tempFile("many.ndjson", events.join("\n") + "\n")
        const ran = yield* cli(["run", "--file", file, ...timeframe, "--add", "--dry-run"])
        assert.strictEqual(ran.code, 0, ran.stderr)
        const table = ran.stdout.slice(ran.stdout.indexOf("By customer"), ran.stdout.indexOf("10,061 events in"))
        assert.deepStrictEqual(table.split("\n").map((line) => line.replace(/ +/g, " ").trim()).filter(Boolean), [
          "By customer (10,050 customers; sums are exact):",
          "CUSTOMER EVENTS FIRST LAST SUMS",
          "customer-00000 (external) 3 2026-10-01 00:00:00Z 2026-10-01 00:00:02Z units 6, price 0.75",
          ...Array.from({ length: 9 }, (_, i) =>
            `customer-0000${i + 1} (external) 2 2026-10-01 00:00:${String((i + 1) * 3).padStart(2, "0")}Z ` +
            `2026-10-01 00:00:${String((i + 1) * 3 + 1).padStart(2, "0")}Z units 4, price 0.5`),
          "… 10,040 other customers 10,040 2026-10-01 00:00:30Z 2026-10-01 08:22:27Z units 20,080, price 2,510"
        ])
        const json = JSON.parse(
          (yield* cli(["run", "--file", file, ...timeframe, "--add", "--dry-run", "--json"])).stdout
        )
        // The first 10,000 customers of the file one by one, the 50 after them together.
        assert.strictEqual(json.customers.count, 10_050)
        assert.strictEqual(json.customers.customers.length, 10_000)
        assert.deepStrictEqual(json.customers.customers[0].external_customer_id, "customer-00000")
        assert.deepStrictEqual(json.customers.customers[9_999].external_customer_id, "customer-09999")
        assert.deepStrictEqual(json.customers.others, {
          customers: 50,
          events: 50,
          first_timestamp: "2026-10-01T08:20:00.000Z",
          last_timestamp: "2026-10-01T08:22:27.000Z",
          properties: { units: { number: 50, sum: "100" }, price: { number: 50, sum: "12.5" } }
        })
      }).pipe(Effect.provide(simulator)),
    60_000
  )

  it.live("with --only-external-customer: the kept customer previewed, the others counted as left out", () =>
    Effect.gen(function*() {
      const file = tempFile(
        "export-preview.ndjson",
        [
          event("2026-10-01T00:00:00Z", { external_customer_id: "globex" }, { units: 1 }, "g1"),
          event("2026-10-02T00:00:00Z", { external_customer_id: "acme" }, { units: 2.5 }, "a1"),
          event("2026-10-03T00:00:00Z", { external_customer_id: "globex" }, { units: 1 }, "g2"),
          event("2026-10-04T00:00:00Z", { external_customer_id: "acme" }, { units: 2.5 }, "a2"),
          event("2026-10-05T00:00:00Z", { external_customer_id: "globex" }, { units: 1 }, "g3")
        ].join("\n") + "\n"
      )
      const args = ["run", "--file", file, ...timeframe, "--replace", "--only-external-customer", "acme", "--dry-run"]
      const ran = yield* cli(args)
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.include(ran.stdout, "By customer (1 customer; sums are exact):\n")
      assert.include(
        ran.stdout,
        "  acme (external)       2  2026-10-02 00:00:00Z  2026-10-04 00:00:00Z  units 5\n"
      )
      assert.include(
        ran.stdout,
        "Kept 2 events of external customer acme; left out 3 events of 1 other customer (globex 3)."
      )
      const json = JSON.parse((yield* cli([...args, "--json"])).stdout)
      assert.deepStrictEqual(
        json.customers.customers.map((c: Record<string, unknown>) => [c.external_customer_id, c.events]),
        [["acme", 2]]
      )
      assert.strictEqual(json.validation.skipped, 3)
      assert.strictEqual(json.validation.invalid, 0)
      assert.deepStrictEqual(json.validation.skipped_by_customer, { globex: 3 })
    }).pipe(Effect.provide(simulator)))
})

describe("DecimalSum", () => {
  const sum = (values: ReadonlyArray<number>) => {
    const total = new Preview.DecimalSum()
    for (const value of values) total.add(value)
    return total.toString()
  }

  it("sums the numbers as their decimal text, not as binary doubles", () => {
    assert.strictEqual(sum([0.1, 0.2]), "0.3")
    assert.strictEqual(sum(Array.from({ length: 1_000 }, () => 0.01)), "10")
    assert.strictEqual(sum([1.5, 0.25, 0.125, 0.0625, 1e-7]), "1.9375001")
    assert.strictEqual(sum([-0.5, 0.25]), "-0.25")
    assert.strictEqual(sum([1e21, 1]), "1000000000000000000001")
    assert.strictEqual(sum([1.7976931348623157e308, -1.7976931348623157e308, 5e-324]), `0.${"0".repeat(323)}5`)
    assert.strictEqual(sum([]), "0")
  })

  it("is exact past 2^53", () => {
    assert.strictEqual(sum([Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 2]), "18014398509481984")
    assert.strictEqual(sum([Number.MAX_SAFE_INTEGER, 0.5, Number.MAX_SAFE_INTEGER]), "18014398509481982.5")
    const many = Array.from({ length: 100 }, () => 2 ** 52 + 1)
    assert.strictEqual(sum(many), (BigInt(2 ** 52 + 1) * 100n).toString())
  })

  it("merges exactly", () => {
    const a = new Preview.DecimalSum()
    const b = new Preview.DecimalSum()
    a.add(0.1)
    a.add(Number.MAX_SAFE_INTEGER)
    b.add(0.02)
    b.add(1e-9)
    a.merge(b)
    assert.strictEqual(a.toString(), "9007199254740991.120000001")
  })

  it("groups the whole part by thousands", () => {
    assert.strictEqual(Preview.groupDigits("-1234567.891"), "-1,234,567.891")
    assert.strictEqual(Preview.groupDigits("999"), "999")
  })
})

describe("DistinctCount", () => {
  it("counts each customer once, in typed arrays, and says when there were more than it counts", () => {
    const distinct = new Preview.DistinctCount(50_000)
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 40_000; i++) distinct.add(`customer-${i}`)
    }
    assert.strictEqual(distinct.size, 40_000)
    assert.isFalse(distinct.full)
    for (let i = 0; i < 20_000; i++) distinct.add(`other-${i}`)
    assert.strictEqual(distinct.size, 50_000)
    assert.isTrue(distinct.full)
  })
})
