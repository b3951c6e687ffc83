/**
 * The page walker of the Parquet reader (`internal/parquetPages.ts`) against hyparquet's own reader: every flat
 * column of files by other writers (test/fixtures/parquet: version 1 and 2 pages, plain, dictionary, delta and
 * byte-stream-split encodings, gzip, LZ4, snappy, nulls, offset indexes) and of files written here with pages of a
 * few hundred bytes, read from the first row and from the middle of a page, a few rows at a time, gives the values
 * `parquetReadObjects` gives.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type { FileMetaData } from "hyparquet"
import {
  asyncBufferFromFile,
  parquetMetadataAsync,
  parquetReadObjects,
  parquetSchema,
  readOffsetIndex
} from "hyparquet"
import { compressors } from "hyparquet-compressors"
import { parquetWriteBuffer } from "hyparquet-writer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as ParquetPages from "../src/internal/parquetPages.js"

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "parquet")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-orb-parquet-pages-"))

/** A flat column's values in row group `group`, from row `from` (0-based, in the group), asked for `step` rows at a time. */
const walk = async (file: string, metadata: FileMetaData, group: number, name: string, from: number, step: number) => {
  const root = parquetSchema(metadata)
  const tree = root.children.find((child) => child.element.name === name)!
  const chunk = metadata.row_groups[group].columns.find((column) => column.meta_data?.path_in_schema[0] === name)!
  const rows = Number(metadata.row_groups[group].num_rows)
  const decoder = ParquetPages.decoder(tree, root, chunk, {}, compressors)
  const out: Array<unknown> = []
  let pages = 0
  for await (const page of ParquetPages.pages(file, chunk, decoder, rows, from)) {
    pages++
    for (let at = Math.max(from, page.first); at < page.first + page.rows; at += step) {
      const count = Math.min(step, page.first + page.rows - at)
      const { offset, values } = page.read(at - page.first, count)
      for (let i = 0; i < count; i++) out.push(values[offset + i])
    }
  }
  return { values: out, pages }
}

/** Every flat column of a file, in every row group, from its first row and from its middle, against hyparquet. */
const compare = async (file: string) => {
  const buffer = await asyncBufferFromFile(file)
  const metadata = await parquetMetadataAsync(buffer)
  const flat = parquetSchema(metadata).children
    .filter((child) => child.children.length === 0 && child.element.repetition_type !== "REPEATED")
    .map((child) => child.element.name)
  const rows = await parquetReadObjects({ file: buffer, metadata, columns: flat, compressors })
  const compared: Array<string> = []
  let start = 0
  for (const [group, rowGroup] of metadata.row_groups.entries()) {
    const count = Number(rowGroup.num_rows)
    for (const name of flat) {
      for (const from of [0, Math.floor(count / 2) + 1]) {
        const { values } = await walk(file, metadata, group, name, from, 7)
        // hyparquet leaves a null of a column read whole as undefined at times, a null at others.
        const expected = rows.slice(start + from, start + count).map((row) => row[name] ?? null)
        assert.deepStrictEqual(values.map((value) => value ?? null), expected, `${path.basename(file)}: ${name}`)
      }
      compared.push(name)
    }
    start += count
  }
  return compared
}

describe("the Parquet page walker", () => {
  it.effect("files by other writers: every flat column as hyparquet reads it, from the start and from the middle", () =>
    Effect.promise(async () => {
      const files = fs.readdirSync(fixtures).filter((name) => name.endsWith(".parquet"))
      assert.strictEqual(files.length, 7)
      for (const name of files) {
        const compared = await compare(path.join(fixtures, name))
        assert.isAbove(compared.length, 0, name)
      }
    }))

  it.effect("small pages, ending at different rows per column, a dictionary across pages, nulls", () =>
    Effect.promise(async () => {
      const n = 5_000
      const file = path.join(dir, "pages.parquet")
      fs.writeFileSync(
        file,
        new Uint8Array(parquetWriteBuffer({
          pageSize: 512,
          rowGroupSize: 3_000,
          columnData: [
            { name: "key", data: Array.from({ length: n }, (_, i) => `k${i}`), type: "STRING" },
            { name: "region", data: Array.from({ length: n }, (_, i) => ["eu", "us", null][i % 3]), type: "STRING" },
            { name: "units", data: Array.from({ length: n }, (_, i) => i % 7 === 0 ? null : BigInt(i)), type: "INT64" },
            { name: "at", data: Array.from({ length: n }, (_, i) => new Date(i * 1000)), type: "TIMESTAMP" },
            { name: "paid", data: Array.from({ length: n }, (_, i) => i % 2 === 0), type: "BOOLEAN" }
          ]
        }))
      )
      // What the file is meant to hold: several pages per column, not ending at the same rows, a dictionary.
      const buffer = await asyncBufferFromFile(file)
      const metadata = await parquetMetadataAsync(buffer)
      const firstRows = async (name: string) => {
        const chunk = metadata.row_groups[0].columns.find((column) => column.meta_data?.path_in_schema[0] === name)!
        const index = await buffer.slice(
          Number(chunk.offset_index_offset),
          Number(chunk.offset_index_offset) + chunk.offset_index_length!
        )
        return readOffsetIndex({ view: new DataView(index), offset: 0 }).page_locations.map((page) =>
          Number(page.first_row_index)
        )
      }
      const keyPages = await firstRows("key")
      const unitPages = await firstRows("units")
      assert.isAbove(keyPages.length, 5)
      assert.isAbove(unitPages.length, 5)
      assert.notDeepEqual(keyPages, unitPages)
      const region = metadata.row_groups[0].columns.find((column) => column.meta_data?.path_in_schema[0] === "region")!
      assert.include(region.meta_data!.encodings, "RLE_DICTIONARY")
      assert.deepStrictEqual(await compare(file), [
        "key",
        "region",
        "units",
        "at",
        "paid",
        "key",
        "region",
        "units",
        "at",
        "paid"
      ])

      // From a row in the middle of a page, without an offset index: the pages before it passed over by their headers.
      const bare = path.join(dir, "bare.parquet")
      fs.writeFileSync(
        bare,
        new Uint8Array(parquetWriteBuffer({
          pageSize: 512,
          rowGroupSize: n,
          columnData: [{
            name: "key",
            data: Array.from({ length: n }, (_, i) => `k${i}`),
            type: "STRING",
            offsetIndex: false
          }]
        }))
      )
      const bareMetadata = await parquetMetadataAsync(await asyncBufferFromFile(bare))
      assert.isUndefined(bareMetadata.row_groups[0].columns[0].offset_index_offset)
      const from = keyPages[3] + 5
      const { pages, values } = await walk(bare, bareMetadata, 0, "key", from, 100)
      assert.deepStrictEqual(values, Array.from({ length: n - from }, (_, i) => `k${from + i}`))
      const all = await walk(bare, bareMetadata, 0, "key", 0, 100)
      assert.isBelow(pages, all.pages)
    }))

  it.effect("a page asked for rows out of order, or one that ends early: a PageProblem naming the row", () =>
    Effect.promise(async () => {
      const file = path.join(dir, "short.parquet")
      const data = Array.from({ length: 100 }, (_, i) => `value ${i}`)
      fs.writeFileSync(
        file,
        new Uint8Array(parquetWriteBuffer({ columnData: [{ name: "key", data, type: "STRING" }] }))
      )
      const metadata = await parquetMetadataAsync(await asyncBufferFromFile(file))
      const root = parquetSchema(metadata)
      const chunk = metadata.row_groups[0].columns[0]
      const decoder = ParquetPages.decoder(root.children[0], root, chunk, {}, compressors)
      // A row group said to hold more rows than its column chunk has.
      const pages = ParquetPages.pages(file, chunk, decoder, 150)
      const first = await pages.next()
      assert.isFalse(first.done)
      const page = first.value as ParquetPages.Page
      assert.deepStrictEqual(Array.from(page.read(10, 2).values), ["value 10", "value 11"])
      assert.throws(() => page.read(0, 1), "a page's rows asked for out of order")
      const error = await pages.next().then(() => undefined, (error: unknown) => error)
      assert.instanceOf(error, ParquetPages.PageProblem)
      assert.strictEqual((error as ParquetPages.PageProblem).row, 100)
      assert.strictEqual(
        (error as ParquetPages.PageProblem).reason,
        "its column chunk ends after 100 of the row group's 150 rows"
      )
    }))
})
