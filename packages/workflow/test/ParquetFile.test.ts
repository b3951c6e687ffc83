/**
 * Parquet files, written here by hyparquet-writer (a writer apart from the reader), read by `EventFile.read` and as a
 * durable run's source: typed columns mapped as a CSV's, rows named by row group and row, read a slice at a time
 * (row groups larger than a slice included), from any row; a truncated file, a corrupt page and a column no event
 * can hold refused in one sentence naming the place.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import { parquetMetadata, readOffsetIndex } from "hyparquet"
import { parquetWriteBuffer } from "hyparquet-writer"
import type { ColumnSource } from "hyparquet-writer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { EventFile, RunSource } from "../src/index.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-orb-parquet-"))
const write = (name: string, bytes: ArrayBuffer | Uint8Array) => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes))
  return file
}
const start = Date.parse("2026-10-01T00:00:00Z")

/** `n` events as columns: a timestamp column, a numeric customer id, typed properties, a null every 10th row. */
const columns = (n: number): Array<ColumnSource> => [
  { name: "event_name", data: Array.from({ length: n }, () => "api_call"), type: "STRING" },
  { name: "timestamp", data: Array.from({ length: n }, (_, i) => new Date(start + i * 1000)), type: "TIMESTAMP" },
  { name: "external_customer_id", data: Array.from({ length: n }, (_, i) => BigInt(i % 3)), type: "INT64" },
  { name: "idempotency_key", data: Array.from({ length: n }, (_, i) => `k${i + 1}`), type: "STRING" },
  { name: "units", data: Array.from({ length: n }, (_, i) => BigInt(i)), type: "INT64" },
  { name: "price", data: Array.from({ length: n }, (_, i) => i % 10 === 0 ? null : i / 4), type: "DOUBLE" },
  { name: "paid", data: Array.from({ length: n }, (_, i) => i % 2 === 0), type: "BOOLEAN" }
]

const readAll = (file: string, format: EventFile.Format = "ndjson") =>
  EventFile.read(file, format).pipe(
    Stream.runCollect,
    Effect.map(Chunk.toReadonlyArray),
    Effect.provide(NodeContext.layer)
  )

const failure = (file: string) =>
  EventFile.read(file, "parquet").pipe(
    Stream.runDrain,
    Effect.flip,
    Effect.map((error) => error.message),
    Effect.provide(NodeContext.layer)
  )

describe("EventFile.read of a Parquet file", () => {
  it.effect("typed columns become the event as a CSV's do: numbers, booleans, ISO timestamps, ids as text", () =>
    Effect.gen(function*() {
      const file = write("typed.parquet", parquetWriteBuffer({ columnData: columns(3) }))
      // Named nothing that tells a format, and read as NDJSON: its content says Parquet.
      const renamed = write("export.bin", fs.readFileSync(file))
      const rows = yield* readAll(renamed)
      assert.deepStrictEqual(rows.map((row) => [row.line, row.rowGroup]), [[1, 1], [2, 1], [3, 1]])
      assert.deepStrictEqual(
        rows[1].event,
        Either.right({
          event_name: "api_call",
          timestamp: "2026-10-01T00:00:01.000Z",
          external_customer_id: "1",
          idempotency_key: "k2",
          properties: { units: 1, price: 0.25, paid: false }
        })
      )
      // A null is no value: the property is left out.
      assert.deepStrictEqual(
        Either.map(rows[0].event, (event) => event.properties),
        Either.right({ units: 0, paid: true })
      )
      assert.isTrue(yield* EventFile.isParquet(renamed).pipe(Effect.provide(NodeContext.layer)))
      assert.deepStrictEqual(EventFile.formatOf("events.parquet"), Either.right("parquet"))
      // Its rows are events, not lines of text: what reads text says so.
      const asText = yield* Effect.flip(EventFile.csvHeader(renamed).pipe(Effect.provide(NodeContext.layer)))
      assert.strictEqual(
        asText.message,
        `${renamed} is a Parquet file: its rows are read as events (EventFile.read, --format parquet), not as text`
      )
    }))

  it.effect("a properties struct column, and a DATE: the struct's fields are properties, the date an ISO string", () =>
    Effect.gen(function*() {
      const file = write(
        "struct.parquet",
        parquetWriteBuffer({
          columnData: [
            { name: "event_name", data: ["a", "b"] },
            { name: "timestamp", data: [BigInt(start), BigInt(start + 1)] },
            { name: "customer_id", data: ["cus_1", "cus_2"] },
            { name: "day", data: [20_362, null] },
            { name: "properties", data: [{ units: 3, region: "eu" }, { units: null, region: "us" }] }
          ],
          schema: [
            { name: "root", num_children: 5 },
            { name: "event_name", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "REQUIRED" },
            { name: "timestamp", type: "INT64", converted_type: "TIMESTAMP_MILLIS", repetition_type: "REQUIRED" },
            { name: "customer_id", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "REQUIRED" },
            { name: "day", type: "INT32", converted_type: "DATE", repetition_type: "OPTIONAL" },
            { name: "properties", repetition_type: "OPTIONAL", num_children: 2 },
            { name: "units", type: "INT32", repetition_type: "OPTIONAL" },
            { name: "region", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" }
          ]
        })
      )
      const rows = yield* readAll(file, "parquet")
      assert.deepStrictEqual(rows.map((row) => row.event), [
        Either.right({
          event_name: "a",
          timestamp: "2026-10-01T00:00:00.000Z",
          customer_id: "cus_1",
          properties: { day: "2025-10-01T00:00:00.000Z", units: 3, region: "eu" }
        }),
        Either.right({
          event_name: "b",
          timestamp: "2026-10-01T00:00:00.001Z",
          customer_id: "cus_2",
          properties: { region: "us" }
        })
      ])
    }))

  it.effect("row groups larger than a slice: every row once, in order, each named by its row group and row", () =>
    Effect.gen(function*() {
      // Row group 1 (140,000 rows) is read in slices of 65,536; row group 2 whole.
      const n = 150_000
      const data = columns(n)
      // Rows 65,537 (the second slice's first) and 140,005 (row group 2) hold a number JSON cannot carry exactly.
      data[4].data[65_536] = 2n ** 60n
      data[4].data[140_004] = 2n ** 60n
      const file = write("large.parquet", parquetWriteBuffer({ columnData: data, rowGroupSize: 140_000 }))
      const rows = yield* readAll(file, "parquet")
      assert.strictEqual(rows.length, n)
      assert.isTrue(rows.every((row, i) => row.line === i + 1 && row.rowGroup === (i < 140_000 ? 1 : 2)))
      assert.isTrue(rows.every((row, i) => Either.isLeft(row.event) || row.event.right.idempotency_key === `k${i + 1}`))
      const bad = rows.filter((row) => Either.isLeft(row.event))
      assert.deepStrictEqual(bad.map((row) => EventFile.where(file, row)), [
        `${file}: row group 1, row 65537`,
        `${file}: row group 2, row 140005`
      ])
      assert.deepStrictEqual(
        bad[0].event,
        Either.left("units: 1152921504606846976 cannot be sent exactly as a number (more than 2^53)")
      )
    }))

  it.effect("a truncated file (its footer missing): one sentence naming the file, before any row", () =>
    Effect.gen(function*() {
      const whole = new Uint8Array(parquetWriteBuffer({ columnData: columns(100) }))
      const file = write("truncated.parquet", whole.subarray(0, whole.length - 40))
      assert.strictEqual(
        yield* failure(file),
        `${file}: the Parquet footer is missing or corrupt (is the file truncated?): parquet file invalid (footer != PAR1)`
      )
    }))

  it.effect("a corrupt page: one sentence naming the file, its row group and first row", () =>
    Effect.gen(function*() {
      const buffer = parquetWriteBuffer({ columnData: columns(3_000), rowGroupSize: 1_000 })
      const bytes = new Uint8Array(buffer)
      // The page header of row group 2's first column, overwritten.
      const page = Number(parquetMetadata(buffer).row_groups[1].columns[0].meta_data!.data_page_offset)
      bytes.fill(0xff, page, page + 16)
      const file = write("corrupt.parquet", bytes)
      const message = yield* failure(file)
      assert.match(message, new RegExp(`^${file}: row group 2, row 1001: the Parquet data is corrupt \\(.+\\)$`))
    }))

  it.effect("pages of a few hundred bytes, ending at different rows per column: every row once, its nulls left out", () =>
    Effect.gen(function*() {
      // Row groups of 3,000 rows, each column in pages of about 512 bytes: a page of keys holds fewer rows than a
      // page of the dictionary-encoded customer ids, the nullable units and prices fall elsewhere again.
      const n = 7_000
      const data = columns(n)
      data[2].data = Array.from({ length: n }, (_, i) => `cus_${(i % 3) + 1}`)
      data[2].type = "STRING"
      data[4].data = Array.from({ length: n }, (_, i) => i % 7 === 0 ? null : BigInt(i))
      const buffer = parquetWriteBuffer({ columnData: data, rowGroupSize: 3_000, pageSize: 512 })
      const metadata = parquetMetadata(buffer)
      const pagesOf = (column: number) => {
        const chunk = metadata.row_groups[0].columns[column]
        const start = Number(chunk.offset_index_offset)
        return readOffsetIndex({ view: new DataView(buffer, start, chunk.offset_index_length), offset: 0 })
          .page_locations.map((page) => Number(page.first_row_index))
      }
      assert.isAbove(pagesOf(3).length, 10)
      assert.notDeepEqual(pagesOf(3), pagesOf(4))
      assert.include(metadata.row_groups[0].columns[2].meta_data!.encodings, "RLE_DICTIONARY")
      const file = write("pages.parquet", buffer)
      const rows = yield* readAll(file, "parquet")
      assert.deepStrictEqual(
        rows.map((row) => [row.line, row.rowGroup]),
        Array.from({ length: n }, (_, i) => [i + 1, Math.floor(i / 3_000) + 1])
      )
      assert.deepStrictEqual(
        rows.map((row) => row.event),
        Array.from({ length: n }, (_, i) =>
          Either.right({
            event_name: "api_call",
            timestamp: new Date(start + i * 1000).toISOString(),
            external_customer_id: `cus_${(i % 3) + 1}`,
            idempotency_key: `k${i + 1}`,
            properties: {
              ...(i % 7 === 0 ? {} : { units: i }),
              ...(i % 10 === 0 ? {} : { price: i / 4 }),
              paid: i % 2 === 0
            }
          }))
      )
    }))

  it.effect("a corrupt page in the middle of a row group: the rows before it read, the error naming its first row", () =>
    Effect.gen(function*() {
      const buffer = parquetWriteBuffer({ columnData: columns(3_000), rowGroupSize: 3_000, pageSize: 2_048 })
      const bytes = new Uint8Array(buffer)
      // The header of the idempotency keys' fourth page, overwritten.
      const chunk = parquetMetadata(buffer).row_groups[0].columns[3]
      const index = Number(chunk.offset_index_offset)
      const page = readOffsetIndex({ view: new DataView(buffer, index, chunk.offset_index_length), offset: 0 })
        .page_locations[3]
      const first = Number(page.first_row_index)
      assert.isAbove(first, 100)
      bytes.fill(0xff, Number(page.offset), Number(page.offset) + 16)
      const file = write("corrupt-middle.parquet", bytes)
      const read = yield* EventFile.read(file, "parquet").pipe(
        Stream.either,
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray),
        Effect.provide(NodeContext.layer)
      )
      const rows = read.filter(Either.isRight).map((row) => row.right)
      assert.deepStrictEqual(rows.map((row) => row.line), Array.from({ length: first }, (_, i) => i + 1))
      const errors = read.filter(Either.isLeft).map((error) => error.left.message)
      assert.strictEqual(errors.length, 1)
      assert.match(
        errors[0],
        new RegExp(`^${file}: row group 1, row ${first + 1}: the Parquet data is corrupt \\(.+\\)$`)
      )
    }))

  it.effect("a column no event can hold: a list, named with what to do, before any row", () =>
    Effect.gen(function*() {
      const file = write(
        "list.parquet",
        parquetWriteBuffer({
          columnData: [
            { name: "event_name", data: ["a"] },
            { name: "timestamp", data: ["2026-10-01T00:00:00Z"] },
            { name: "customer_id", data: ["cus_1"] },
            { name: "tags", data: [["x", "y"]] }
          ],
          schema: [
            { name: "root", num_children: 4 },
            { name: "event_name", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "REQUIRED" },
            { name: "timestamp", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "REQUIRED" },
            { name: "customer_id", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "REQUIRED" },
            { name: "tags", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
            { name: "list", repetition_type: "REPEATED", num_children: 1 },
            { name: "element", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" }
          ]
        })
      )
      assert.strictEqual(
        yield* failure(file),
        `${file}: column "tags" is a list, which an Orb property cannot hold (only a column named properties may be ` +
          "a struct or a map)"
      )
    }))
})

describe("a Parquet file as a durable run's source", () => {
  /** Every segment from `from`, `size` events at a time. */
  const segments = (source: RunSource.RunSource, size: number, from = { offset: 0, line: 1 }) =>
    Effect.gen(function*() {
      const all: Array<RunSource.Segment> = []
      for (;;) {
        const segment = yield* RunSource.readSegment(source, from, size)
        all.push(segment)
        if (segment.eof) return all
        from = { offset: segment.next, line: segment.nextLine }
      }
    })
  const keysOf = (all: ReadonlyArray<RunSource.Segment>) =>
    all.flatMap((segment) => segment.events.map((event) => (event as { idempotency_key: string }).idempotency_key))

  it.effect("recognised by its content, its offsets rows: every event once, and a resume from a row reads from it", () =>
    Effect.gen(function*() {
      // Row group 1 (140,000 rows) in slices of 65,536, row group 2 (10,000) whole.
      const n = 150_000
      const file = write("source.data", parquetWriteBuffer({ columnData: columns(n), rowGroupSize: 140_000 }))
      const source = yield* RunSource.fromFile(file)
      assert.strictEqual(source.format, "parquet")
      assert.strictEqual(source.rows, n)
      assert.strictEqual(RunSource.where(source, 12), "row 12")
      const all = yield* segments(source, 20_000)
      assert.deepStrictEqual(keysOf(all), Array.from({ length: n }, (_, i) => `k${i + 1}`))
      assert.deepStrictEqual(
        all.map((segment) => segment.next),
        [20_000, 40_000, 60_000, 80_000, 100_000, 120_000, 140_000, 150_000]
      )
      assert.deepStrictEqual(all[7].lines.slice(0, 2), [140_001, 140_002])
      // As after a crash: from row 100,000 (inside row group 1, in its second slice).
      const resumed = yield* segments(source, 30_000, { offset: 100_000, line: 100_001 })
      assert.deepStrictEqual(keysOf(resumed), Array.from({ length: n - 100_000 }, (_, i) => `k${100_001 + i}`))
    }))

  it.effect("a resume at a row in the middle of a page, with or without an offset index: from that row exactly", () =>
    Effect.gen(function*() {
      const n = 5_000
      for (const offsetIndex of [true, false]) {
        const data = columns(n).map((column) => ({ ...column, offsetIndex }))
        const buffer = parquetWriteBuffer({ columnData: data, rowGroupSize: 3_000, pageSize: 1_024 })
        const file = write(`resume-${offsetIndex}.parquet`, buffer)
        const source = yield* RunSource.fromFile(file, { format: "parquet" })
        // Row 2,345 (0-based) lies inside a page of every column but the booleans'.
        const resumed = yield* segments(source, 700, { offset: 2_345, line: 2_346 })
        assert.deepStrictEqual(keysOf(resumed), Array.from({ length: n - 2_345 }, (_, i) => `k${2_346 + i}`))
        assert.deepStrictEqual(resumed[0].lines.slice(0, 2), [2_346, 2_347])
        assert.deepStrictEqual(resumed.map((segment) => segment.next).slice(0, 2), [3_045, 3_745])
      }
    }))

  // Live: the check refuses an event more than 5 minutes after now, and the test clock's now is 1970.
  it.live("checked against the scope as it is read: an event outside it is unreadable, named by its row", () =>
    Effect.gen(function*() {
      const file = write("scoped.parquet", parquetWriteBuffer({ columnData: columns(10) }))
      const source = yield* RunSource.fromFile(file, {
        format: "parquet",
        scope: {
          timeframeStart: DateTime.unsafeMake(start),
          timeframeEnd: DateTime.unsafeMake(start + 8_000)
        }
      })
      const [segment] = yield* segments(source, 100)
      assert.strictEqual(segment.events.length, 8)
      assert.deepStrictEqual(segment.unreadable.map((u) => u.line), [9, 10])
      assert.include(segment.unreadable[0].reason, "is outside the timeframe")
    }))

  it.effect("a truncated Parquet file is refused before it is a source", () =>
    Effect.gen(function*() {
      const whole = new Uint8Array(parquetWriteBuffer({ columnData: columns(10) }))
      const file = write("cut.parquet", whole.subarray(0, whole.length - 40))
      const error = yield* Effect.flip(RunSource.fromFile(file, { format: "parquet" }))
      assert.strictEqual(
        error.message,
        `${file} cannot be read: the Parquet footer is missing or corrupt (is the file truncated?): parquet file ` +
          "invalid (footer != PAR1)"
      )
    }))
})
