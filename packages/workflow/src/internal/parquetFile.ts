/**
 * Reading one Parquet file as events, through hyparquet (pure JavaScript, no native or Wasm code; see
 * docs/performance.md for why it over the other readers): its footer once, then its rows a page at a time, each
 * column's pages walked by `parquetPages.ts`, never a whole column chunk nor the file. Columns are mapped to Orb's
 * event as a CSV's are: the event columns fill the event, a struct or map column `properties` (or a JSON string one)
 * gives properties, every other column is a property; typed values stay typed. Independent of `eventFile.ts` (which
 * wraps it into its errors and stream) so that the two do not import each other.
 */
import * as Either from "effect/Either"
import type { FileMetaData, SchemaTree } from "hyparquet"
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, parquetSchema } from "hyparquet"
import { compressors } from "hyparquet-compressors"
import { eventColumns } from "./eventColumns.js"
import * as ParquetPages from "./parquetPages.js"

/** Why a Parquet file cannot be read, and where: a row group and a row (1-based, the row counted in the file). */
export class ParquetProblem extends Error {
  constructor(
    readonly reason: string,
    readonly at?: { readonly rowGroup: number; readonly row: number } | undefined
  ) {
    super(reason)
  }
}

/** Whether bytes begin as a Parquet file does (`PAR1`). */
export const isParquet = (bytes: Uint8Array): boolean =>
  bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x41 && bytes[2] === 0x52 && bytes[3] === 0x31

/**
 * A nested `properties` column (a struct or a map) is not walked page by page (`parquetPages.ts` walks flat columns):
 * hyparquet's reader decodes it, a row group at a time, or {@link sliceRows} of its rows when the group is larger
 * (pyarrow writes groups of a million rows), so that what it holds is bounded by that many rows, not by the writer's
 * choice of group size. A group up to this size is read whole: slicing it would decode its pages once per slice.
 */
export const wholeGroupRows = 131_072

/** The rows of a slice of a larger row group, for a nested column. */
export const sliceRows = 65_536

type Role = "event" | "property" | "properties" | "propertiesJson"

interface Column {
  readonly name: string
  readonly role: Role
  /** A timestamp or a date: decoded as milliseconds since 1970 (see {@link millis}), its ISO text made per event. */
  readonly temporal: boolean
}

/** A file's footer, read once: its row groups and how each column becomes part of an event. */
export interface Layout {
  readonly metadata: FileMetaData
  /** Each row group's first row (0-based, in the file) and its number of rows. */
  readonly groups: ReadonlyArray<{ readonly start: number; readonly rows: number }>
  readonly rows: number
  readonly columns: ReadonlyArray<Column>
}

/** Why a value cannot be sent (kept apart from strings: a timestamp out of range is one). */
class Refused {
  constructor(readonly reason: string) {}
}

const iso = (millis: number): string | Refused => {
  const date = new Date(millis)
  return Number.isFinite(date.getTime())
    ? date.toISOString()
    : new Refused(`a timestamp of ${millis} ms since 1970 is out of range`)
}

// Timestamps and dates within a `properties` struct become Orb's ISO strings as they are decoded (to the
// millisecond, the precision Orb keeps).
const parsers = {
  timestampFromMilliseconds: (millis: bigint) => iso(Number(millis)),
  timestampFromMicroseconds: (micros: bigint) => iso(Number(micros / 1000n)),
  timestampFromNanoseconds: (nanos: bigint) => iso(Number(nanos / 1_000_000n)),
  dateFromDays: (days: number) => iso(days * 86_400_000)
}

// A top-level timestamp or date column is decoded as milliseconds, into an array of unboxed numbers, and each row's
// ISO text is made as its event is: the text of many rows held at once (a string per row) would be promoted to the
// old generation with them, and V8 grows its heap by a multiple of what survives (measured when a row group was
// decoded at once: 219 MB against 163 MB of peak RSS to decode the 2,000,000 rows of the bench's file).
const millis = {
  timestampFromMilliseconds: (value: bigint) => Number(value),
  timestampFromMicroseconds: (value: bigint) => Number(value / 1000n),
  timestampFromNanoseconds: (value: bigint) => Number(value / 1_000_000n),
  dateFromDays: (days: number) => days * 86_400_000
}

const isTemporal = (tree: SchemaTree): boolean => {
  const { element } = tree
  const converted = element.converted_type
  const logical = element.logical_type?.type
  return tree.children.length === 0 && (
    logical === "TIMESTAMP" || logical === "DATE" || converted === "DATE" || converted === "TIMESTAMP_MILLIS" ||
    converted === "TIMESTAMP_MICROS" || (element.type === "INT96" && converted === undefined)
  )
}

/** Why a column's type cannot be an event's part, or `undefined` when it can. */
const unsupported = (tree: SchemaTree): string | undefined => {
  const { element } = tree
  const logical = element.logical_type?.type
  const converted = element.converted_type
  if (tree.children.length > 0 || element.repetition_type === "REPEATED") {
    const kind = logical === "LIST" || converted === "LIST" || element.repetition_type === "REPEATED"
      ? "a list"
      : logical === "MAP" || converted === "MAP" || converted === "MAP_KEY_VALUE"
      ? "a map"
      : "a struct"
    return element.name === "properties" && kind !== "a list"
      ? undefined
      : `${kind}, which an Orb property cannot hold (only a column named properties may be a struct or a map)`
  }
  if (logical === "VARIANT") return "a variant, which an Orb property cannot hold"
  if (converted === "BSON" || logical === "BSON") return "BSON, which an Orb property cannot hold"
  if (converted === "INTERVAL" || logical === "INTERVAL") return "an interval, which an Orb property cannot hold"
  if (converted === "TIME_MILLIS" || converted === "TIME_MICROS" || logical === "TIME") {
    return "a time of day, which an Orb property cannot hold (cast it to a string)"
  }
  if (logical === "GEOMETRY" || logical === "GEOGRAPHY") return "a geometry, which an Orb property cannot hold"
  if (
    element.type === "FIXED_LEN_BYTE_ARRAY" && converted !== "DECIMAL" && logical !== "DECIMAL" &&
    logical !== "UUID" && logical !== "FLOAT16"
  ) {
    return "fixed-length binary, which an Orb property cannot hold (cast it to a string)"
  }
  return undefined
}

/** The columns of a file's schema as parts of an event, or why they cannot be (a sentence naming the column). */
const plan = (metadata: FileMetaData): Either.Either<ReadonlyArray<Column>, string> => {
  const children = parquetSchema(metadata).children
  const names = children.map((child) => child.element.name)
  const seen = new Set(names)
  for (const required of ["event_name", "timestamp"]) {
    if (!seen.has(required)) return Either.left(`no "${required}" column (columns: ${names.join(", ")})`)
  }
  if (!seen.has("customer_id") && !seen.has("external_customer_id")) {
    return Either.left("no customer column (add customer_id or external_customer_id)")
  }
  const columns: Array<Column> = []
  for (const child of children) {
    const name = child.element.name
    const problem = eventColumns.has(name) && child.children.length > 0
      ? "nested, and an event field is a single value"
      : unsupported(child)
    if (problem !== undefined) return Either.left(`column "${name}" is ${problem}`)
    columns.push({
      name,
      temporal: isTemporal(child),
      role: eventColumns.has(name)
        ? "event"
        : name === "properties"
        ? (child.children.length > 0 ? "properties" : "propertiesJson")
        : "property"
    })
  }
  return Either.right(columns)
}

/** Where a message from the decoder says the file is broken, in a few words. */
const broken = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error)
  return /footer|metadata|magic/i.test(message)
    ? `the Parquet footer is missing or corrupt (is the file truncated?): ${message}`
    : `the Parquet data is corrupt (${message})`
}

/** Reads a file's footer and plans its columns; a `ParquetProblem` when it is not a Parquet file we can read. */
export const open = async (file: string): Promise<Layout> => {
  const buffer = await asyncBufferFromFile(file)
  if (buffer.byteLength < 12) {
    throw new ParquetProblem(`the file is ${buffer.byteLength} bytes, too short for a Parquet file (is it truncated?)`)
  }
  const metadata = await parquetMetadataAsync(buffer, { parsers }).catch((error) => {
    throw new ParquetProblem(broken(error))
  })
  const columns = plan(metadata)
  if (Either.isLeft(columns)) throw new ParquetProblem(columns.left)
  const groups: Array<{ start: number; rows: number }> = []
  let start = 0
  for (const group of metadata.row_groups) {
    const rows = Number(group.num_rows)
    groups.push({ start, rows })
    start += rows
  }
  return { metadata, groups, rows: start, columns: columns.right }
}

/** One row as an event, or why it cannot be one: the row (1-based, in the file) and its row group (1-based). */
export interface Row {
  readonly row: number
  readonly rowGroup: number
  readonly event: Either.Either<Readonly<Record<string, unknown>>, string>
}

/**
 * Consecutive rows of one row group, decoded column by column (never as row objects: a row's event is built when it
 * is asked for, so that only the pages being read and the events being checked are held).
 */
export interface Batch {
  /** The first row, 0-based in the file. */
  readonly start: number
  readonly rowGroup: number
  readonly length: number
  /** The row `start + index` as an event. */
  readonly row: (index: number) => Row
}

/** The slices a nested column of a row group is read in, `[start, end)` rows (0-based, in the group), from `from`. */
const slicesOf = (rows: number, from: number): Array<{ start: number; end: number }> => {
  const size = rows <= wholeGroupRows ? rows : sliceRows
  const out: Array<{ start: number; end: number }> = []
  // Aligned to the group's start, so that a reader resuming mid-slice decodes the same slice.
  for (let start = Math.floor(from / size) * size; start < rows; start += size) {
    out.push({ start, end: Math.min(start + size, rows) })
  }
  return out
}

/** A nested `properties` column's values, a slice of the row group at a time, through hyparquet's reader. */
async function* nestedPages(
  file: string,
  layout: Layout,
  column: Column,
  group: { readonly start: number; readonly rows: number },
  from: number
): AsyncGenerator<ParquetPages.Page> {
  const buffer = await asyncBufferFromFile(file)
  for (const slice of slicesOf(group.rows, from)) {
    let values: Array<unknown> | undefined
    try {
      await parquetRead({
        file: buffer,
        metadata: layout.metadata,
        rowStart: group.start + slice.start,
        rowEnd: group.start + slice.end,
        columns: [column.name],
        compressors,
        // Its timestamps as text: a struct's fields are not known to be temporal when its event is built.
        parsers,
        // A page may hold rows outside the slice: only those inside are kept.
        onChunk: ({ columnData, rowStart }) => {
          values ??= new Array(slice.end - slice.start)
          const from = Math.max(group.start + slice.start, rowStart)
          const to = Math.min(group.start + slice.end, rowStart + columnData.length)
          for (let row = from; row < to; row++) values[row - group.start - slice.start] = columnData[row - rowStart]
        }
      })
    } catch (error) {
      throw new ParquetPages.PageProblem(error instanceof Error ? error.message : String(error), slice.start)
    }
    const decoded = values ?? new Array(slice.end - slice.start)
    yield { first: slice.start, rows: slice.end - slice.start, read: (start) => ({ values: decoded, offset: start }) }
  }
}

/**
 * A file's rows from row `from` (0-based, in the file) to its end, in batches of up to
 * {@link ParquetPages.pieceRows} rows: each column is read a page at a time (`parquetPages.ts`), a batch never
 * crosses the end of a column's page (the columns' pages end at different rows), and its values are converted as the
 * batch is made. So what is held at once is a page's bytes per column and a batch's values, whatever the size of the
 * row groups and pages. A page that cannot be read is a {@link ParquetProblem} naming its row group and the first row
 * not read, after the rows before it.
 */
export async function* batches(file: string, layout: Layout, from = 0): AsyncGenerator<Batch> {
  const root = parquetSchema(layout.metadata)
  for (const [index, group] of layout.groups.entries()) {
    if (group.start + group.rows <= from || group.rows === 0) continue
    const rowGroup = index + 1
    const first = Math.max(0, from - group.start)
    const chunks = layout.metadata.row_groups[index].columns
    const sources = layout.columns.map((column) => {
      if (column.role === "properties") return nestedPages(file, layout, column, group, first)
      const chunk = chunks.find((chunk) =>
        chunk.meta_data?.path_in_schema.length === 1 && chunk.meta_data.path_in_schema[0] === column.name
      )
      if (chunk === undefined) {
        throw new ParquetProblem(`row group ${rowGroup} has no data for the column "${column.name}"`)
      }
      const tree = root.children.find((child) => child.element.name === column.name)!
      const decoder = ParquetPages.decoder(tree, root, chunk, column.temporal ? millis : parsers, compressors)
      return ParquetPages.pages(file, chunk, decoder, group.rows, first)
    })
    const current: Array<ParquetPages.Page | undefined> = sources.map(() => undefined)
    try {
      for (let at = first; at < group.rows;) {
        let end = Math.min(group.rows, at + ParquetPages.pieceRows)
        for (const [c, source] of sources.entries()) {
          let page = current[c]
          while (page === undefined || page.first + page.rows <= at) {
            const next = await source.next()
            if (next.done === true) {
              throw new ParquetPages.PageProblem(
                `the column "${layout.columns[c].name}" ends before its row group does`,
                at
              )
            }
            page = next.value
          }
          if (page.first > at) {
            throw new ParquetPages.PageProblem(`the column "${layout.columns[c].name}" skips rows`, at)
          }
          current[c] = page
          end = Math.min(end, page.first + page.rows)
        }
        const columns = layout.columns.map((column, c) => {
          const page = current[c]!
          const { offset, values } = page.read(at - page.first, end - at)
          return { ...column, values, offset }
        })
        const start = group.start + at
        yield {
          start,
          rowGroup,
          length: end - at,
          row: (i) => ({ row: start + i + 1, rowGroup, event: toEvent(columns, i) })
        }
        at = end
      }
    } catch (error) {
      if (error instanceof ParquetPages.PageProblem) {
        throw new ParquetProblem(broken(error), { rowGroup, row: group.start + error.row + 1 })
      }
      throw error
    }
  }
}

/** A property value as Orb takes it: numbers (a BigInt when exact), booleans and strings; `undefined` for null. */
const propertyValue = (value: unknown): unknown => {
  switch (typeof value) {
    case "bigint":
      return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
        ? Number(value)
        : new Refused(`${value} cannot be sent exactly as a number (more than 2^53)`)
    case "number":
      return Number.isFinite(value) ? value : new Refused(`${value} is not a number Orb takes`)
    default:
      return value === null ? undefined : value
  }
}

/** An event field: an integer id is its decimal text (warehouses store numeric ids), the rest as it is. */
const eventValue = (value: unknown): unknown =>
  typeof value === "bigint" || (typeof value === "number" && Number.isSafeInteger(value))
    ? String(value)
    : value === null
    ? undefined
    : value

/** The row at `index` of a batch as an event: each column's value at its `offset` plus `index`. */
const toEvent = (
  columns: ReadonlyArray<Column & { readonly values: ArrayLike<unknown>; readonly offset: number }>,
  index: number
): Either.Either<Readonly<Record<string, unknown>>, string> => {
  const wire: Record<string, unknown> = {}
  const properties: Record<string, unknown> = {}
  const put = (name: string, raw: unknown, where: string): string | undefined => {
    const value = propertyValue(raw)
    if (value === undefined) return undefined
    if (value instanceof Refused) return `${where}: ${value.reason}`
    if (name in properties) return `${where}: the property "${name}" is both a column and a key of properties`
    properties[name] = value
    return undefined
  }
  for (const column of columns) {
    const decoded = column.values[column.offset + index]
    if (decoded === null || decoded === undefined) continue
    const raw = column.temporal && typeof decoded === "number" ? iso(decoded) : decoded
    switch (column.role) {
      case "event": {
        const value = eventValue(raw)
        if (value instanceof Refused) return Either.left(`${column.name}: ${value.reason}`)
        if (value !== undefined) wire[column.name] = value
        break
      }
      case "property": {
        const problem = put(column.name, raw, column.name)
        if (problem !== undefined) return Either.left(problem)
        break
      }
      case "properties":
      case "propertiesJson": {
        let object = raw
        if (typeof raw === "string") {
          try {
            object = JSON.parse(raw)
          } catch (error) {
            return Either.left(`properties: not valid JSON (${(error as Error).message})`)
          }
        }
        if (typeof object !== "object" || object === null || Array.isArray(object)) {
          return Either.left("properties: expected an object of properties")
        }
        for (const [key, value] of Object.entries(object)) {
          const problem = put(key, value, `properties.${key}`)
          if (problem !== undefined) return Either.left(problem)
        }
        break
      }
    }
  }
  wire.properties = properties
  return Either.right(wire)
}
