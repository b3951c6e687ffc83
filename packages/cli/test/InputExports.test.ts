// Files as exports come: gzip-compressed (by content, whatever the name), JSON arrays, and a full export from which
// one customer is corrected (`--only-customer`), read by the real CLI from real files.
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as zlib from "node:zlib"
import { cli, ndjson, simulator, tempFile, timeframe, wireEvent } from "./support.js"

const sim = OrbSimulator.OrbSimulator
const backfills = Effect.flatMap(sim, (s) => s.backfills)
const requests = Effect.flatMap(sim, (s) => s.requests)
const sentKeys = Effect.map(
  Effect.flatMap(sim, (s) => s.events),
  (events) => events.map((e) => e.idempotencyKey).sort()
)
const keys = (from: number, to: number, keep: (i: number) => boolean = () => true) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i).filter(keep).map((i) => `event-${i}`).sort()

const writeFile = (name: string, content: Uint8Array | string) => {
  const file = tempFile(name, "")
  fs.writeFileSync(file, content)
  return file
}

// Enough events for many 64 KiB chunks, compressed and not.
const count = 3_000
const lines = ndjson(count)
const csv = "event_name,timestamp,external_customer_id,idempotency_key,units\n" +
  Array.from({ length: count }, (_, i) => {
    const e = wireEvent(i + 1)
    return `${e.event_name},${e.timestamp},${e.external_customer_id},${e.idempotency_key},${i % 7}`
  }).join("\n") + "\n"

describe("gzip", () => {
  const half = lines.indexOf("\n", lines.length / 2) + 1
  const cases: ReadonlyArray<readonly [name: string, content: Uint8Array]> = [
    ["events.ndjson.gz", zlib.gzipSync(lines)],
    ["gzip-named.ndjson", zlib.gzipSync(lines)],
    ["events.csv.gz", zlib.gzipSync(csv)],
    // `cat a.gz b.gz`, and what some exporters write: one gzip member per part.
    ["members.ndjson.gz", Buffer.concat([zlib.gzipSync(lines.slice(0, half)), zlib.gzipSync(lines.slice(half))])]
  ]
  for (const [name, content] of cases) {
    it.live(
      `${name} is read by its content, decompressed as it is read, every event sent once`,
      () =>
        Effect.gen(function*() {
          const file = writeFile(name, content)
          const ran = yield* cli(["run", "--file", file, ...timeframe, "--add"])
          assert.strictEqual(ran.code, 0, ran.stderr)
          assert.include(ran.stderr, `Checked ${file}: 3,000 valid events.`)
          assert.deepStrictEqual(yield* sentKeys, keys(1, count))
        }).pipe(Effect.provide(simulator)),
      60_000
    )
  }

  it.live("a truncated gzip file: one sentence with the line where it broke, nothing created", () =>
    Effect.gen(function*() {
      const full = zlib.gzipSync(lines)
      const file = writeFile("truncated.ndjson.gz", full.subarray(0, Math.floor(full.length / 2)))
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add"])
      assert.strictEqual(ran.code, 2, ran.stderr)
      const match = ran.stderr.match(
        /Error: (.+):(\d+): the gzip data is truncated \(the file ends inside it\), within its first ([\d,]+) compressed bytes; nothing after this line can be read\.\n$/
      )
      assert.isNotNull(match, ran.stderr)
      assert.strictEqual(match![1], file)
      assert.isAbove(Number(match![2]), 1)
      assert.isBelow(Number(match![2]), count)
      assert.strictEqual((yield* requests).length, 0)
    }).pipe(Effect.provide(simulator)))

  it.live("a corrupt gzip file: one sentence naming it, nothing created", () =>
    Effect.gen(function*() {
      const full = Buffer.from(zlib.gzipSync(lines))
      for (let i = 0; i < 64; i++) full[Math.floor(full.length / 3) + i] ^= 0x5a
      const file = writeFile("corrupt.ndjson.gz", full)
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add"])
      assert.strictEqual(ran.code, 2, ran.stderr)
      assert.match(
        ran.stderr,
        /Error: .+:\d+: the gzip data is corrupt \(.+\), within its first [\d,]+ compressed bytes/
      )
      assert.strictEqual((yield* requests).length, 0)
    }).pipe(Effect.provide(simulator)))
})

describe("a JSON array", () => {
  const events: Array<Record<string, unknown>> = Array.from({ length: count }, (_, i) => wireEvent(i + 1))
  // Strings holding what the scanner must not take for structure.
  events[1] = { ...events[1], properties: { note: "a ] and a }, a \"quote\" and a \\ [{" } }
  const cases: ReadonlyArray<readonly [name: string, content: Uint8Array | string]> = [
    ["pretty.json", JSON.stringify(events, null, 2) + "\n"],
    ["compact.json", JSON.stringify(events)],
    ["array.json.gz", zlib.gzipSync(`\uFEFF [\r\n${events.map((e) => JSON.stringify(e)).join(",\r\n")}\r\n]`)]
  ]
  for (const [name, content] of cases) {
    it.live(`${name}: its elements are the events, read as a stream`, () =>
      Effect.gen(function*() {
        const file = writeFile(name, content)
        const ran = yield* cli(["run", "--file", file, ...timeframe, "--add"])
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.deepStrictEqual(yield* sentKeys, keys(1, count))
        const sent = yield* Effect.flatMap(sim, (s) => s.events)
        assert.deepStrictEqual(sent.find((e) => e.idempotencyKey === "event-2")?.properties, events[1].properties)
      }).pipe(Effect.provide(simulator)), 60_000)
  }

  it.live("an invalid element is named by its number and line; an array not closed is named too", () =>
    Effect.gen(function*() {
      const bad = events.slice(0, 5).map((e, i) => i === 2 ? { ...e, timestamp: "2026-10-02" } : e)
      const text = JSON.stringify(bad, null, 2)
      const file = writeFile("bad.json", text)
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add"])
      assert.strictEqual(ran.code, 2)
      // The third element begins on the third line that opens an element.
      const starts = text.split("\n").flatMap((line, i) => line === "  {" ? [i + 1] : [])
      assert.include(ran.stderr, `${file}: element 3 (line ${starts[2]}): timestamp:`)
      const open = writeFile("open.json", "[\n" + events.slice(0, 2).map((e) => JSON.stringify(e)).join(",\n"))
      const unclosed = yield* cli(["run", "--file", open, ...timeframe, "--add"])
      assert.strictEqual(unclosed.code, 2)
      assert.include(
        unclosed.stderr,
        `${open}: element 3 (line 3): the JSON array is not closed: the file ends before its \`]\` (is it truncated?)`
      )
      assert.strictEqual((yield* requests).length, 0)
    }).pipe(Effect.provide(simulator)))
})

describe("a compact JSON array (one line)", () => {
  it.live("events Orb refuses are named by element, not all as line 1", () =>
    Effect.gen(function*() {
      // Elements 10 and 20 share a key with different contents: the local check passes them, Orb refuses both.
      const events = Array.from(
        { length: 100 },
        (_, i) => i === 9 || i === 19 ? wireEvent(i + 1, { idempotency_key: "dup" }) : wireEvent(i + 1)
      )
      const file = writeFile("refused.json", JSON.stringify(events))
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add", "--skip-invalid"])
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.include(ran.stderr, `  ${file}: element 10 (dup): idempotency_key: appears more than once`)
      assert.include(ran.stderr, `  ${file}: element 20 (dup): idempotency_key: appears more than once`)
      const json = yield* cli(["run", "--file", file, ...timeframe, "--add", "--skip-invalid", "--json"])
      const failures = JSON.parse(json.stdout).ingestion.failures
      assert.deepStrictEqual(failures.map((f: { element: number }) => f.element).sort(), [10, 20])
    }).pipe(Effect.provide(simulator)))
})

describe("--only-customer", () => {
  // A full export: customers customer-0, customer-1, customer-2 in turn.
  const file = () => writeFile("export.ndjson", ndjson(300))

  it.live("keeps one customer's events and counts the others' as left out, not invalid", () =>
    Effect.gen(function*() {
      const export_ = file()
      const dry = yield* cli([
        "run",
        "--file",
        export_,
        ...timeframe,
        "--replace",
        "--only-external-customer",
        "customer-1",
        "--dry-run"
      ])
      assert.strictEqual(dry.code, 0, dry.stderr)
      assert.include(
        dry.stdout,
        "Kept 100 events of external customer customer-1; left out 200 events of 2 other customers " +
          "(customer-0 100, customer-2 100)."
      )
      const json = JSON.parse(
        (yield* cli([
          "run",
          "--file",
          export_,
          ...timeframe,
          "--replace",
          "--only-external-customer",
          "customer-1",
          "--dry-run",
          "--json"
        ])).stdout
      )
      assert.strictEqual(json.validation.events, 100)
      assert.strictEqual(json.validation.invalid, 0)
      assert.deepStrictEqual(json.validation.skipped_by_customer, { "customer-0": 100, "customer-2": 100 })
      assert.strictEqual((yield* requests).length, 0)

      const ran = yield* cli([
        "run",
        "--file",
        export_,
        ...timeframe,
        "--replace",
        "--only-external-customer",
        "customer-1"
      ])
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.deepStrictEqual(yield* sentKeys, keys(1, 300, (i) => i % 3 === 1))
      const [backfill] = yield* backfills
      // Scoped to the customer: a replace there deprecates no other customer's usage.
      assert.deepStrictEqual(
        backfill.customerId,
        Option.some(yield* Effect.flatMap(sim, (s) => s.customerIdFor("customer-1")))
      )
    }).pipe(Effect.provide(simulator)), 60_000)

  it.live("the kept customer's invalid lines still stop the run; --only-customer goes with no other scope", () =>
    Effect.gen(function*() {
      const broken = writeFile(
        "broken-export.ndjson",
        ndjson(30, (i) => i === 4 ? JSON.stringify(wireEvent(4, { timestamp: "yesterday" })) : undefined)
      )
      const ran = yield* cli(["run", "--file", broken, ...timeframe, "--add", "--only-external-customer", "customer-1"])
      assert.strictEqual(ran.code, 2)
      assert.include(ran.stderr, `${broken}:4: timestamp:`)
      const both = yield* cli([
        "run",
        "--file",
        broken,
        ...timeframe,
        "--add",
        "--only-customer",
        "c1",
        "--external-customer-id",
        "customer-1"
      ])
      assert.strictEqual(both.code, 2)
      assert.include(
        both.stderr,
        "give at most one of --customer-id, --external-customer-id, --only-customer and --only-external-customer"
      )
      assert.strictEqual((yield* requests).length, 0)
    }).pipe(Effect.provide(simulator)))
})
