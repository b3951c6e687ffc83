/**
 * A file source read segment by segment through `EventFile`'s reader: NDJSON and CSV (whose header is read from the
 * start, whatever the segment's offset), with the segments together giving every event once.
 */
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { RunSource } from "../src/index.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-orb-source-"))
const write = (name: string, text: string) => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, text)
  return file
}

/** Every segment of a source, from the start, `size` events at a time. */
const segments = (source: RunSource.RunSource, size: number) =>
  Effect.gen(function*() {
    const all: Array<RunSource.Segment> = []
    let from = { offset: 0, line: 1 }
    for (;;) {
      const segment = yield* RunSource.readSegment(source, from, size)
      all.push(segment)
      if (segment.eof) return all
      from = { offset: segment.next, line: segment.nextLine }
    }
  })

describe("RunSource.fromFile", () => {
  it.effect("a CSV file, read from byte offsets: the header from the start, values typed as the CLI types them", () =>
    Effect.gen(function*() {
      const file = write(
        "events.csv",
        "\uFEFFevent_name,timestamp,external_customer_id,idempotency_key,units,note\r\n" +
          Array.from({ length: 7 }, (_, i) => `api_call,2026-10-01T00:0${i}:00Z,acme,k${i},${i},"a, ""b"""`)
            .join("\r\n") +
          "\r\n\r\n"
      )
      const source = yield* RunSource.fromFile(file, { format: "csv" })
      assert.strictEqual(source.format, "csv")
      const all = yield* segments(source, 3)
      assert.deepStrictEqual(all.map((s) => s.lines), [[2, 3, 4], [5, 6, 7], [8]])
      const events = all.flatMap((s) => s.events) as Array<Record<string, unknown>>
      assert.strictEqual(events.length, 7)
      assert.deepStrictEqual(events[4], {
        event_name: "api_call",
        timestamp: "2026-10-01T00:04:00Z",
        external_customer_id: "acme",
        idempotency_key: "k4",
        properties: { units: 4, note: "a, \"b\"" }
      })
      assert.strictEqual(all[all.length - 1].next, source.size)
    }))

  it.live("with a scope: events get its customer and are checked against it as the CLI checks them", () =>
    Effect.gen(function*() {
      const file = write(
        "scoped.ndjson",
        [
          { event_name: "a", timestamp: "2026-10-01T00:00:00Z", idempotency_key: "in", properties: {} },
          { event_name: "a", timestamp: "2026-11-01T00:00:00Z", idempotency_key: "out", properties: {} }
        ].map((e) => JSON.stringify(e)).join("\n") + "\n{oops\n"
      )
      const source = yield* RunSource.fromFile(file, {
        scope: {
          timeframeStart: DateTime.unsafeMake("2026-10-01T00:00:00Z"),
          timeframeEnd: DateTime.unsafeMake("2026-10-08T00:00:00Z"),
          externalCustomerId: "acme"
        }
      })
      const [segment] = yield* segments(source, 10)
      assert.deepStrictEqual(segment.lines, [1], JSON.stringify(segment.unreadable))
      assert.strictEqual((segment.events[0] as Record<string, unknown>).external_customer_id, "acme")
      assert.deepStrictEqual(segment.unreadable.map((u) => u.line), [2, 3])
      assert.include(segment.unreadable[0].reason, "is outside the timeframe")
      assert.include(segment.unreadable[1].reason, "not valid JSON")
    }))

  it.effect("a quoted CSV export: cells typed as unquoted, a record over several lines whole in one segment", () =>
    Effect.gen(function*() {
      const file = write(
        "quoted.csv",
        "\"event_name\",\"timestamp\",\"external_customer_id\",\"idempotency_key\",\"units\",\"note\",\"zip\"\n" +
          "\"a\",\"2026-10-01T00:00:00Z\",\"acme\",\"k1\",\"3\",\"\",\"007\"\n" +
          "\"a\",\"2026-10-01T00:01:00Z\",\"acme\",\"k2\",\"4\",\"two\nlines\",\"10115\"\n" +
          "\"a\",\"2026-10-01T00:02:00Z\",\"acme\",\"k3\",\"NULL\",\"x\",\"42\"\n"
      )
      const source = yield* RunSource.fromFile(file, { format: "csv", csvTypes: { zip: "string" } })
      const all = yield* segments(source, 1)
      assert.deepStrictEqual(all.map((s) => s.lines), [[2], [3], [5]])
      assert.deepStrictEqual(
        all.flatMap((s) => s.events).map((e) => (e as { properties: unknown }).properties),
        [{ units: 3, zip: "007" }, { units: 4, note: "two\nlines", zip: "10115" }, { note: "x", zip: "42" }]
      )
    }))

  it.effect("a file that is not NDJSON or CSV is refused before it is a source, by what it is", () =>
    Effect.gen(function*() {
      // Inside gzip, which is read, a Parquet file is refused (Parquet compresses its own pages).
      const gz = path.join(dir, "events.parquet.gz")
      fs.writeFileSync(gz, zlib.gzipSync(Buffer.concat([Buffer.from("PAR1"), Buffer.alloc(64, 3)])))
      const refused = yield* Effect.either(RunSource.fromFile(gz))
      assert.isTrue(Either.isLeft(refused))
      const error = (refused as Either.Left<{ _tag: string; message: string }, unknown>).left
      assert.strictEqual(error._tag, "UnsupportedFormat")
      assert.strictEqual(
        error.message,
        `${gz} is a gzip-compressed Parquet file; decompress it first (gunzip -k ${gz})`
      )
    }))
})

describe("a gzip file source", () => {
  const lines = Array.from({ length: 2_000 }, (_, i) =>
    i % 97 === 5 ? "" : JSON.stringify({
      event_name: "api_call",
      timestamp: "2026-10-02T12:00:00Z",
      external_customer_id: `customer-${i % 3}`,
      idempotency_key: `k${i}`,
      properties: { i, note: "x".repeat(i % 50) }
    })).join("\n") + "\n"
  const keysOf = (all: ReadonlyArray<RunSource.Segment>) =>
    all.flatMap((s) => s.events).map((e) => (e as { idempotency_key: string }).idempotency_key)

  it.effect("reads the same segments as the plain file, from offsets in its decompressed bytes; the pin is its own bytes", () =>
    Effect.gen(function*() {
      const plain = yield* RunSource.fromFile(write("plain.ndjson", lines))
      const gzFile = path.join(dir, "events.ndjson.gz")
      // Two gzip members, as `cat a.gz b.gz` makes.
      const half = lines.indexOf("\n", lines.length / 2) + 1
      fs.writeFileSync(gzFile, Buffer.concat([zlib.gzipSync(lines.slice(0, half)), zlib.gzipSync(lines.slice(half))]))
      const gz = yield* RunSource.fromFile(gzFile)
      assert.strictEqual(gz.size, fs.statSync(gzFile).size)
      assert.strictEqual(gz.decompressedSize, Buffer.byteLength(lines))
      for (const size of [1, 37, 500, 5_000]) {
        const expected = yield* segments(plain, size)
        const actual = yield* segments(gz, size)
        assert.deepStrictEqual(
          actual.map((s) => [s.lines, s.next, s.nextLine, s.eof]),
          expected.map((s) => [s.lines, s.next, s.nextLine, s.eof])
        )
        assert.strictEqual(new Set(keysOf(actual)).size, keysOf(actual).length)
      }
      // A resume in another process starts at a journaled offset with nothing decompressed: an earlier offset than
      // the last segment read here is decompressed again from the start, and gives the same events.
      const all = yield* segments(gz, 300)
      const third = all[2]
      const again = yield* RunSource.readSegment(gz, { offset: all[1].next, line: all[1].nextLine }, 300)
      assert.deepStrictEqual(again, third)
    }))

  it.effect("a truncated gzip file is refused before it is a source", () =>
    Effect.gen(function*() {
      const full = zlib.gzipSync(lines)
      const file = path.join(dir, "truncated.ndjson.gz")
      fs.writeFileSync(file, full.subarray(0, full.length - 100))
      const refused = yield* Effect.flip(RunSource.fromFile(file))
      assert.strictEqual(refused._tag, "SourceError")
      assert.include(refused.message, "the gzip data is truncated (the file ends inside it)")
    }))
})

describe("a JSON array file source", () => {
  const events = Array.from({ length: 700 }, (_, i) => ({
    event_name: "api_call",
    timestamp: "2026-10-02T12:00:00Z",
    external_customer_id: "acme",
    idempotency_key: `k${i}`,
    properties: { i, note: i % 5 === 0 ? "a ], a }, a \\\" and a [{" : "ü" }
  }))
  const pretty = JSON.stringify(events, null, 2) + "\n"
  // The line each element begins on, pretty-printed: the lines that open one.
  const starts = pretty.split("\n").flatMap((line, i) => line === "  {" ? [i + 1] : [])

  it.effect("read in segments from offsets between elements, pretty-printed, compact and gzip: every event once, by line", () =>
    Effect.gen(function*() {
      const files = [
        ["pretty.json", Buffer.from(pretty)],
        ["compact.json", Buffer.from(JSON.stringify(events))],
        ["pretty.json.gz", zlib.gzipSync(pretty)]
      ] as const
      for (const [name, content] of files) {
        const file = path.join(dir, name)
        fs.writeFileSync(file, content)
        const source = yield* RunSource.fromFile(file)
        for (const size of [1, 33, 700, 1_000]) {
          const all = yield* segments(source, size)
          assert.deepStrictEqual(all.flatMap((s) => s.events), events, `${name} by ${size}`)
          assert.deepStrictEqual(
            all.flatMap((s) => s.lines),
            name === "compact.json" ? events.map(() => 1) : starts,
            `${name} by ${size}`
          )
          assert.isTrue(all[all.length - 1].eof)
          assert.strictEqual(all.filter((s) => s.eof).length, 1)
        }
        // A resume at a journaled offset, in a fresh reading.
        const all = yield* segments(source, 50)
        const again = yield* RunSource.readSegment(source, { offset: all[3].next, line: all[3].nextLine }, 50)
        assert.deepStrictEqual(again, all[4])
      }
    }))

  it.effect("an array not closed: its end is an unreadable record, named by line", () =>
    Effect.gen(function*() {
      const file = write("open.json", "[\n" + events.slice(0, 3).map((e) => JSON.stringify(e)).join(",\n"))
      const all = yield* segments(yield* RunSource.fromFile(file), 2)
      assert.strictEqual(all.flatMap((s) => s.events).length, 3)
      assert.deepStrictEqual(all.flatMap((s) => s.unreadable), [{
        line: 4,
        reason: "the JSON array is not closed: the file ends before its `]` (is it truncated?)"
      }])
    }))
})
