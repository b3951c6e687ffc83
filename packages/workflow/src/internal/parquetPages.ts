/**
 * One flat column chunk of a Parquet file, walked a page at a time, and a page's values converted {@link pieceRows}
 * rows at a time as they are asked for. hyparquet's `readColumn` (what `parquetRead` runs) decodes every page of a
 * chunk in one synchronous call, and a page into one array of values: a chunk's strings (and a `Uint8Array` view per
 * string before them) were made at once and lived while their rows were checked, long enough for V8 to promote them
 * to its old generation, which it lets grow to a multiple of what survives (the check pass over 2,000,000 rows peaked
 * at 265 MB; docs/performance.md). A page alone is no bound either: a writer's page is about a megabyte, 80,000 rows
 * of short strings, 100,000 of a dictionary-encoded column. So a page is decompressed and its levels (and a
 * dictionary's indexes) read whole, into typed arrays outside V8's heap, but its values are made a piece at a time,
 * as its rows are asked for: they die young, as a line's values do when NDJSON is read. The encodings whose values
 * cannot be read a piece at a time (deltas, byte-stream split, plain booleans) are decoded whole by hyparquet.
 *
 * The decoding is still hyparquet's, through the lower-level modules its package exports (`parquetHeader`,
 * `readPage`, `decompressPage`, `readPlain`, `readRleBitPackedHybrid`, `convert`), so that types, encodings and codecs
 * stay its; what is ours is the walk: which bytes to read, and where a page's levels end and its values begin (as its
 * `readDataPage` and `readDataPageV2` find them). The bytes are read with positioned reads, a page (or a window of
 * small pages) at a time, never the whole chunk nor the file. Only flat columns (a single value per row) are walked
 * here: a nested `properties` column is read by `parquetFile.ts` through hyparquet's own reader.
 */
import type { ColumnChunk, Compressors, DecodedArray, PageHeader, SchemaTree } from "hyparquet"
import { readOffsetIndex } from "hyparquet"
import { parquetHeader, readPage } from "hyparquet/src/column.js"
import { convert, DEFAULT_PARSERS } from "hyparquet/src/convert.js"
import { decompressPage } from "hyparquet/src/datapage.js"
import { readRleBitPackedHybrid } from "hyparquet/src/encoding.js"
import { readPlain } from "hyparquet/src/plain.js"
import { getMaxDefinitionLevel } from "hyparquet/src/schema.js"
import * as fs from "node:fs/promises"

/** How hyparquet decodes a column's pages (its `ColumnDecoder`, which its index does not export). */
export type Decoder = Parameters<typeof readPage>[2]

/** Values of consecutive rows: the row `start + i` (asked for) is `values[offset + i]`. */
export interface Values {
  readonly values: ArrayLike<unknown>
  readonly offset: number
}

/** A data page: rows `first` (0-based, in the row group) to `first + rows`. */
export interface Page {
  readonly first: number
  readonly rows: number
  /**
   * The values of the page's rows `[start, start + count)` (0-based, in the page), converted as hyparquet converts
   * them, a null where a row has none. Asked for in order: a plainly encoded page is read forward.
   */
  readonly read: (start: number, count: number) => Values
}

/** Why a page cannot be read, and the row (0-based, in the row group) its values would have begun at. */
export class PageProblem extends Error {
  constructor(readonly reason: string, readonly row: number) {
    super(reason)
  }
}

/**
 * The bytes read from the file at once: several small pages in one read, a large page alone and whole. A page header
 * is small (a few dozen bytes, more with long min/max statistics): it is first looked for in {@link headerWindow}
 * bytes, then in four times as many.
 */
const readAhead = 256 * 1024
const headerWindow = 16 * 1024

/** The bytes `[start, end)` of a file, read on demand through a small window (the file opened for each read). */
class Bytes {
  private window = new Uint8Array(0)
  private windowStart = 0

  constructor(readonly file: string, readonly end: number) {}

  /**
   * The bytes `[position, position + length)`, or fewer at the end of the range. The file is opened for each read, not
   * held: a reader dropped before its end (a resumed run starts another) leaves no descriptor behind.
   */
  async at(position: number, length: number): Promise<Uint8Array> {
    const end = Math.min(position + length, this.end)
    if (position >= this.windowStart && end <= this.windowStart + this.window.length) {
      return this.window.subarray(position - this.windowStart, end - this.windowStart)
    }
    const size = Math.max(end - position, Math.min(readAhead, this.end - position))
    const buffer = new Uint8Array(size)
    const handle = await fs.open(this.file, "r")
    try {
      let read = 0
      while (read < size) {
        const { bytesRead } = await handle.read(buffer, read, size - read, position + read)
        if (bytesRead === 0) break
        read += bytesRead
      }
      this.window = buffer.subarray(0, read)
      this.windowStart = position
    } finally {
      await handle.close()
    }
    return this.window.subarray(0, Math.min(end - position, this.window.length))
  }
}

/** A page header at `position`, and where its page's bytes begin. */
const header = async (bytes: Bytes, position: number): Promise<{ header: PageHeader; data: number }> => {
  for (let window = headerWindow;; window *= 4) {
    const view = await bytes.at(position, window)
    try {
      const reader = { view: new DataView(view.buffer, view.byteOffset, view.byteLength), offset: 0 }
      return { header: parquetHeader(reader), data: position + reader.offset }
    } catch (error) {
      // Cut off by the window: look again in a larger one, unless the window already held the rest of the chunk.
      if (view.length < window || !(error instanceof RangeError)) throw error
    }
  }
}

/** The rows a data page holds: for a flat column, one value (or null) per row. */
const rowsOf = (page: PageHeader): number | undefined =>
  page.type === "DATA_PAGE"
    ? page.data_page_header?.num_values
    : page.type === "DATA_PAGE_V2"
    ? page.data_page_header_v2?.num_rows
    : undefined

/** What hyparquet needs to decode a top-level flat column, as its `readRowGroup` builds it. */
export const decoder = (
  tree: SchemaTree,
  root: SchemaTree,
  chunk: ColumnChunk,
  parsers: Partial<Decoder["parsers"]>,
  compressors: Compressors
): Decoder => {
  const meta = chunk.meta_data!
  return {
    pathInSchema: meta.path_in_schema,
    element: tree.element,
    schemaPath: [root, tree],
    type: meta.type,
    codec: meta.codec,
    compressors,
    parsers: { ...DEFAULT_PARSERS, ...parsers },
    utf8: true
  }
}

/**
 * The rows of a page whose values are made at once. Measured on the bench's 2,000,000 rows (the check pass, one run
 * each on the loaded VM): 4,096 rows peaked at 173 and 175 MB, 1,024 at 154 to 187 MB, 512 at 159 and 187 MB.
 */
export const pieceRows = 1_024

const viewOf = (bytes: Uint8Array): DataView => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** The bits a level up to `max` takes (as hyparquet's `bitWidth`). */
const bitWidth = (max: number): number => 32 - Math.clz32(max)

/**
 * A data page whose values are read as they are asked for: plain values but booleans (which are bits), a
 * dictionary's indexes, booleans run-length encoded; `undefined` for another encoding (deltas, byte-stream split,
 * plain booleans), which hyparquet decodes whole. What is decoded whole here is held in typed arrays (levels, indexes),
 * outside V8's heap: a megabyte page's 100,000 levels as an array of numbers is promoted to the old generation, a
 * garbage V8 grows its heap for. Its levels and values are where hyparquet's `readDataPage` (version 1: all
 * compressed, a level block prefixed by its length) and `readDataPageV2` (version 2: the levels uncompressed before
 * the values, their lengths in the header) find them; a flat column has no repetition levels.
 */
const lazyPage = (
  header: PageHeader,
  body: Uint8Array,
  decoder: Decoder,
  dictionary: DecodedArray | undefined,
  first: number,
  rows: number
): Page | undefined => {
  const v1 = header.data_page_header
  const v2 = header.data_page_header_v2
  const encoding = (v1 ?? v2)?.encoding
  const kind = encoding === "PLAIN" && decoder.type !== "BOOLEAN"
    ? "plain"
    : (encoding === "RLE_DICTIONARY" || encoding === "PLAIN_DICTIONARY") && dictionary !== undefined
    ? "dictionary"
    : encoding === "RLE" && decoder.type === "BOOLEAN"
    ? "booleans"
    : undefined
  if (kind === undefined) return undefined
  const maxDefinition = getMaxDefinitionLevel(decoder.schemaPath)
  // A version 2 page says when it has no nulls: its levels need not be read.
  let levels: Uint8Array | undefined = maxDefinition > 0 && v2?.num_nulls !== 0 ? new Uint8Array(rows) : undefined
  let reader: { view: DataView; offset: number }
  let valueBytes: number
  if (v2 !== undefined) {
    const levelBytes = v2.repetition_levels_byte_length + v2.definition_levels_byte_length
    if (levels !== undefined) {
      readRleBitPackedHybrid(
        { view: viewOf(body), offset: v2.repetition_levels_byte_length },
        bitWidth(maxDefinition),
        levels,
        v2.definition_levels_byte_length
      )
    }
    valueBytes = header.uncompressed_page_size - levelBytes
    let data = body.subarray(levelBytes)
    // A page with no values may have no compressed bytes, which no codec reads.
    if (v2.is_compressed !== false && valueBytes > 0) {
      data = decompressPage(data, valueBytes, decoder.codec, decoder.compressors)
    }
    reader = { view: viewOf(data), offset: 0 }
  } else {
    const page = decompressPage(body, header.uncompressed_page_size, decoder.codec, decoder.compressors)
    reader = { view: viewOf(page), offset: 0 }
    if (levels !== undefined) readRleBitPackedHybrid(reader, bitWidth(maxDefinition), levels)
    valueBytes = page.length - reader.offset
  }
  let present = rows
  if (levels !== undefined) {
    present = 0
    for (let i = 0; i < rows; i++) if (levels[i] === maxDefinition) present++
    if (present === rows) levels = undefined
  }

  // A dictionary's indexes and run-length encoded booleans, decoded whole (numbers in a typed array); plain values
  // read a piece at a time.
  let decoded: Int32Array | undefined
  if (kind === "dictionary") {
    decoded = new Int32Array(present)
    const width = reader.view.getUint8(reader.offset++)
    if (width > 0) readRleBitPackedHybrid(reader, width, decoded, valueBytes - 1)
  } else if (kind === "booleans") {
    decoded = new Int32Array(present)
    readRleBitPackedHybrid(reader, 1, decoded)
  }
  let value = 0
  /** The next `count` values (rows with one), converted. */
  const values = (count: number): ArrayLike<unknown> => {
    if (value + count > present) throw new Error(`a page ends after ${present} of its values`)
    const from = value
    value += count
    if (decoded === undefined) {
      const raw = readPlain(reader, decoder.type, count, decoder.element.type_length)
      if (raw.length !== count) throw new Error(`a page ends after ${from + raw.length} of its values`)
      return convert(raw, decoder)
    }
    const out = new Array<unknown>(count)
    if (kind === "booleans") {
      for (let i = 0; i < count; i++) out[i] = decoded[from + i] !== 0
    } else {
      for (let i = 0; i < count; i++) {
        const index = decoded[from + i]
        if (index >= dictionary!.length) throw new Error(`a dictionary index ${index} is past the dictionary's end`)
        out[i] = dictionary![index]
      }
    }
    return out
  }

  let next = 0
  /** The next `count` rows' values; a null for a row without one. */
  const take = (count: number): ArrayLike<unknown> => {
    if (levels === undefined) {
      next += count
      return values(count)
    }
    let some = 0
    for (let i = next; i < next + count; i++) if (levels[i] === maxDefinition) some++
    const converted = values(some)
    const out = new Array<unknown>(count)
    for (let i = 0, v = 0; i < count; i++) out[i] = levels[next + i] === maxDefinition ? converted[v++] : null
    next += count
    return out
  }
  let last: { start: number; count: number; values: Values } | undefined
  return {
    first,
    rows,
    read: (start, count) => {
      if (last !== undefined && last.start === start && last.count === count) return last.values
      try {
        if (start < next) throw new Error("a page's rows asked for out of order")
        // Rows passed over (a resume in the middle of the page): read, a piece at a time, and dropped.
        while (next < start) take(Math.min(start - next, pieceRows))
        last = { start, count, values: { values: take(Math.min(count, rows - start)), offset: 0 } }
        return last.values
      } catch (error) {
        throw new PageProblem(error instanceof Error ? error.message : String(error), first + next)
      }
    }
  }
}

/**
 * The data pages of a flat column chunk (a row group of `rows` rows), in order, from the page holding row `from`
 * (0-based, in the row group): the pages before it are passed over undecoded, found by the offset index when the
 * file has one, else by their headers' counts. The dictionary, when the chunk has one, is read first and kept for the
 * chunk's pages. A page that cannot be read throws a {@link PageProblem} naming its first row.
 */
export async function* pages(
  file: string,
  chunk: ColumnChunk,
  decoder: Decoder,
  rows: number,
  from = 0
): AsyncGenerator<Page> {
  const meta = chunk.meta_data
  if (meta === undefined) throw new PageProblem("a column chunk has no metadata", 0)
  const start = Number(meta.dictionary_page_offset || meta.data_page_offset)
  const end = start + Number(meta.total_compressed_size)
  const bytes = new Bytes(file, end)
  let dictionary: DecodedArray | undefined
  let position = start
  let row = 0

  /** The bytes of the page at `position` (its header given), leaving `position` after it; none when `skip`. */
  const body = async (page: { header: PageHeader; data: number }, skip: boolean) => {
    const size = page.header.compressed_page_size
    if (!(size >= 0) || page.data + size > end) {
      throw new Error(`a page of ${size} bytes runs past the end of its column chunk`)
    }
    position = page.data + size
    return skip ? undefined : await bytes.at(page.data, size)
  }
  /** A dictionary page's values, converted once for the chunk's pages. */
  const readDictionary = async (page: { header: PageHeader; data: number }) => {
    const bytes = (await body(page, false))!
    const data = readPage({ view: viewOf(bytes), offset: 0 }, page.header, decoder, undefined, undefined, 0).data
    return data === undefined ? undefined : convert(data, decoder)
  }

  try {
    // From a page in the middle of the chunk: the offset index says where each page begins and its first row.
    if (from > 0 && chunk.offset_index_offset !== undefined && chunk.offset_index_length !== undefined) {
      const indexStart = Number(chunk.offset_index_offset)
      const index = await new Bytes(file, indexStart + chunk.offset_index_length).at(
        indexStart,
        chunk.offset_index_length
      )
      const { page_locations } = readOffsetIndex({ view: viewOf(index), offset: 0 })
      let at = 0
      while (at + 1 < page_locations.length && Number(page_locations[at + 1].first_row_index) <= from) at++
      if (at > 0) {
        // A dictionary page before the first data page (some writers leave dictionary_page_offset unset).
        if (Number(page_locations[0].offset) > start) {
          const page = await header(bytes, start)
          if (page.header.type === "DICTIONARY_PAGE") dictionary = await readDictionary(page)
        }
        position = Number(page_locations[at].offset)
        row = Number(page_locations[at].first_row_index)
      }
    }
    while (row < rows) {
      if (position >= end) throw new Error(`its column chunk ends after ${row} of the row group's ${rows} rows`)
      const page = await header(bytes, position)
      if (page.header.type === "DICTIONARY_PAGE") {
        dictionary = await readDictionary(page)
        continue
      }
      const count = rowsOf(page.header)
      // An index page, or another kind a reader may pass over.
      if (count === undefined) {
        await body(page, true)
        continue
      }
      // A page wholly before `from`: not decompressed nor decoded.
      const data = await body(page, row + count <= from)
      if (data !== undefined) {
        const lazy = lazyPage(page.header, data, decoder, dictionary, row, count)
        if (lazy !== undefined) {
          yield lazy
        } else {
          const values = readPage({ view: viewOf(data), offset: 0 }, page.header, decoder, dictionary, undefined, 0)
            .data ?? []
          if (values.length !== count) {
            throw new Error(`a page says it holds ${count} rows and decodes to ${values.length} values`)
          }
          yield { first: row, rows: count, read: (start) => ({ values, offset: start }) }
        }
      }
      row += count
    }
  } catch (error) {
    if (error instanceof PageProblem) throw error
    throw new PageProblem(error instanceof Error ? error.message : String(error), row)
  }
}
