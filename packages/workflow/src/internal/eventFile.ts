/**
 * Reading event files, NDJSON and CSV, line by line in constant memory, and Parquet a slice of rows at a time
 * (`parquetFile.ts`): the one reader of the command line's validation and run passes and of a durable run's file
 * source.
 */
import { Backfill, Backfills } from "@effect-orb/backfills"
import type * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as nodeFs from "node:fs"
import * as nodeStream from "node:stream"
import * as zlib from "node:zlib"
import type * as EventFile from "../EventFile.js"
import { eventColumns } from "./eventColumns.js"
import * as ParquetFile from "./parquetFile.js"

/** Kept in the .d.ts (not marked internal): `EventFile.InputError`'s declaration names it. */
export class InputError
  extends Schema.TaggedError<InputError>("@effect-orb/workflow/EventFile/InputError")("InputError", {
    file: Schema.String,
    line: Schema.optional(Schema.Number),
    /** For a JSON array file: the element (counting from 1) that begins on `line`. */
    element: Schema.optional(Schema.Number),
    /** For a Parquet file: the row group (counting from 1) of the row `line` (counted in the file, from 1). */
    rowGroup: Schema.optional(Schema.Number),
    reason: Schema.String
  })
{
  override get message() {
    return `${where(this.file, this)}: ${this.reason}`
  }
}

export const where = (
  file: string,
  at: {
    readonly line?: number | undefined
    readonly element?: number | undefined
    readonly rowGroup?: number | undefined
  }
): string =>
  at.line === undefined
    ? (at.rowGroup === undefined ? file : `${file}: row group ${at.rowGroup}`)
    : at.rowGroup !== undefined
    ? `${file}: row group ${at.rowGroup}, row ${at.line}`
    : at.element === undefined
    ? `${file}:${at.line}`
    : `${file}: element ${at.element} (line ${at.line})`

/** What a file that is not NDJSON or CSV was recognised as, by its first bytes. */
const unsupportedKinds = [
  "gzip",
  "zstd",
  "bzip2",
  "xz",
  "zip",
  "parquet",
  "json-array",
  "json-document",
  "utf-16",
  "binary"
] as const

/** Kept in the .d.ts (not marked internal): `EventFile.UnsupportedFormat`'s declaration names it. */
export class UnsupportedFormat
  extends Schema.TaggedError<UnsupportedFormat>("@effect-orb/workflow/EventFile/UnsupportedFormat")(
    "UnsupportedFormat",
    {
      file: Schema.String,
      detected: Schema.Literal(...unsupportedKinds),
      /** Whether what was detected is inside gzip (a Parquet file is read, but not a gzip-compressed one). */
      gzip: Schema.optional(Schema.Boolean)
    }
  )
{
  override get message() {
    const file = this.file
    switch (this.detected) {
      case "gzip":
        // gzip is decompressed as it is read: this is gzip found inside it.
        return `${file} is gzip-compressed twice; decompress it first (gunzip -c ${file} | gunzip > events)`
      case "zstd":
        return `${file} is zstd-compressed, which Node.js ${process.versions.node} cannot decompress (its zlib ` +
          `has no zstd); decompress it first (zstd -d ${file})`
      case "bzip2":
        return `${file} is bzip2-compressed; decompress it first (bunzip2 -k ${file})`
      case "xz":
        return `${file} is xz-compressed; decompress it first (unxz -k ${file})`
      case "zip":
        return `${file} is a zip archive; extract the events file from it first (unzip ${file})`
      case "parquet":
        // A Parquet file is read as events; inside gzip it is not (Parquet compresses its own pages).
        return this.gzip === true
          ? `${file} is a gzip-compressed Parquet file; decompress it first (gunzip -k ${file})`
          : `${file} is a Parquet file: its rows are read as events (EventFile.read, --format parquet), not as text`
      case "json-array":
        return `${file} is a JSON array, not NDJSON (one event per line); convert it first (jq -c '.[]' ${file})`
      case "json-document":
        return `${file} is pretty-printed JSON, not NDJSON (one event per line); convert it first (jq -c . ${file})`
      case "utf-16":
        return `${file} is UTF-16 text; convert it to UTF-8 first (iconv -f UTF-16 -t UTF-8 ${file})`
      case "binary":
        return `${file} is not a text file (it holds NUL bytes); give an NDJSON or CSV file`
    }
  }
}

const startsWith = (bytes: Uint8Array, magic: ReadonlyArray<number>) =>
  bytes.length >= magic.length && magic.every((byte, i) => bytes[i] === byte)

/**
 * What a file is when it is not NDJSON or CSV, from its first bytes (the first chunk read): compressed, an
 * archive, Parquet, a JSON array or a pretty-printed JSON document, UTF-16, or binary. Only looked at once per
 * file, so the reader's speed is untouched.
 */
export const detect = (
  bytes: Uint8Array,
  format: EventFile.Format | undefined
): UnsupportedFormat["detected"] | undefined => {
  if (startsWith(bytes, [0x1f, 0x8b])) return "gzip"
  if (startsWith(bytes, [0x28, 0xb5, 0x2f, 0xfd])) return "zstd"
  if (startsWith(bytes, [0x42, 0x5a, 0x68])) return "bzip2"
  if (startsWith(bytes, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return "xz"
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06])) return "zip"
  if (startsWith(bytes, [0x50, 0x41, 0x52, 0x31])) return "parquet"
  if (startsWith(bytes, [0xff, 0xfe]) || startsWith(bytes, [0xfe, 0xff])) return "utf-16"
  if (bytes.indexOf(0) !== -1) return "binary"
  // The first character that is not blank (after a UTF-8 byte order mark).
  let i = startsWith(bytes, [0xef, 0xbb, 0xbf]) ? 3 : 0
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++
  if (bytes[i] === 0x5b) {
    // `[` then an object, an array or the end: a JSON array, not a CSV header such as `[event_name],...`.
    let j = i + 1
    while (j < bytes.length && (bytes[j] === 0x20 || bytes[j] === 0x09 || bytes[j] === 0x0a || bytes[j] === 0x0d)) j++
    if (j === bytes.length || bytes[j] === 0x7b || bytes[j] === 0x5b || bytes[j] === 0x5d) return "json-array"
  }
  if (bytes[i] === 0x7b && format !== "csv") {
    // `{` alone on its line: one JSON document over many lines, not one event per line.
    let j = i + 1
    while (j < bytes.length && (bytes[j] === 0x20 || bytes[j] === 0x09 || bytes[j] === 0x0d)) j++
    if (bytes[j] === 0x0a) return "json-document"
  }
  return undefined
}

export const formatOf = (
  file: string,
  explicit?: EventFile.Format | undefined
): Either.Either<EventFile.Format, InputError> => {
  if (explicit !== undefined) return Either.right(explicit)
  // A compressed file is named by what it holds, then the compression (`events.ndjson.gz`).
  const lower = file.toLowerCase().replace(/\.gz$/, "")
  if (lower.endsWith(".csv")) return Either.right("csv")
  if (lower.endsWith(".parquet") || lower.endsWith(".pq")) return Either.right("parquet")
  if (lower.endsWith(".ndjson") || lower.endsWith(".jsonl") || lower.endsWith(".json")) return Either.right("ndjson")
  return Either.left(
    new InputError({
      file,
      reason: "cannot tell the format from the file name: name it .ndjson, .csv or .parquet, or pass " +
        "--format ndjson|csv|parquet"
    })
  )
}

export const parseNdjsonLine = (text: string): Either.Either<Readonly<Record<string, unknown>>, string> => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return Either.left(`not valid JSON (${(error as Error).message})`)
  }
  if (!Predicate.isRecord(value) || Array.isArray(value)) return Either.left("expected a JSON object (one event)")
  return Either.right(value)
}

export const parseCsvRecord = (text: string): Either.Either<Array<EventFile.CsvField>, string> => {
  const fields: Array<EventFile.CsvField> = []
  let i = 0
  const n = text.length
  while (true) {
    if (text[i] === "\"") {
      let value = ""
      i++
      while (true) {
        if (i >= n) {
          return Either.left(
            `a quoted field is not closed (its closing quote is missing; a quoted field may hold line breaks, up to ${
              Backfill.maxEventBytes.toLocaleString("en-US")
            } bytes)`
          )
        }
        const c = text[i]
        if (c === "\"") {
          if (text[i + 1] === "\"") {
            value += "\""
            i += 2
            continue
          }
          i++
          break
        }
        value += c
        i++
      }
      fields.push({ value, quoted: true })
      if (i < n && text[i] !== ",") {
        return Either.left(`unexpected character after the closing quote of field ${fields.length}`)
      }
    } else {
      let end = text.indexOf(",", i)
      if (end === -1) end = n
      const value = text.slice(i, end)
      if (value.includes("\"")) {
        return Either.left(`field ${fields.length + 1} holds a quote but is not quoted (write it as "...""...")`)
      }
      fields.push({ value, quoted: false })
      i = end
    }
    if (i >= n) return Either.right(fields)
    i++ // the comma
  }
}

// A cell is typed by what it holds, quoted or not (exports quote every cell): the plain decimal form is a number,
// so that ids such as "007" stay strings; an exponent is allowed, as warehouses write small and large floats so.
const plainNumber = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/
// What a column typed `number` accepts: any decimal form, leading zeros and a sign included.
const anyNumber = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/

/** A number whose integer part is exact in JSON (at most 2^53), or `undefined`. */
const exactNumber = (text: string): number | undefined => {
  const number = Number(text)
  return Number.isFinite(number) && Number.isSafeInteger(Math.trunc(number)) ? number : undefined
}

/** The cells that are no value, in every column: empty, and SQL's NULL as exports write it. */
const isNull = (text: string): boolean => {
  switch (text.length) {
    case 0:
      return true
    case 2:
      return text === "\\N"
    case 4:
      return text.charCodeAt(0) === 0x4e || text.charCodeAt(0) === 0x6e ? text.toLowerCase() === "null" : false
    default:
      return false
  }
}

/** Why a cell of a typed column is refused; any other result of {@link cellValue} is the value. */
class Refused {
  constructor(readonly reason: string) {}
}

/** A cell's value in a column of the given kind: no value, the value, or why it cannot be one. */
const cellValue = (text: string, kind: CsvKind): string | number | boolean | undefined | Refused => {
  if (isNull(text)) return undefined
  switch (kind) {
    case "auto": {
      const c = text.charCodeAt(0)
      if ((c >= 0x30 && c <= 0x39) || c === 0x2d) {
        return plainNumber.test(text) ? exactNumber(text) ?? text : text
      }
      if (c === 0x74 || c === 0x54 || c === 0x66 || c === 0x46) {
        if (text.length === 4 && text.toLowerCase() === "true") return true
        if (text.length === 5 && text.toLowerCase() === "false") return false
      }
      return text
    }
    case "event":
    case "string":
      return text
    case "number": {
      if (!anyNumber.test(text)) return new Refused(`${JSON.stringify(text)} is not a number`)
      return exactNumber(text) ??
        new Refused(`${JSON.stringify(text)} cannot be sent exactly as a number (more than 2^53)`)
    }
    case "boolean": {
      const lower = text.toLowerCase()
      if (lower === "true" || lower === "t" || lower === "yes" || lower === "1") return true
      if (lower === "false" || lower === "f" || lower === "no" || lower === "0") return false
      return new Refused(`${JSON.stringify(text)} is not a boolean (true or false)`)
    }
  }
}

export const csvValue = (
  text: string,
  type: EventFile.CsvType | "auto" = "auto"
): Either.Either<string | number | boolean | undefined, string> => {
  const value = cellValue(text, type)
  return value instanceof Refused ? Either.left(value.reason) : Either.right(value)
}

/** How a column's cells are read: an event field (a string), a property typed by its cells, or a typed property. */
type CsvKind = "event" | "auto" | EventFile.CsvType

export const parseCsvHeader = (
  text: string,
  types: EventFile.CsvTypes = {}
): Either.Either<EventFile.CsvHeader, string> =>
  Either.flatMap(parseCsvRecord(text.replace(/^\uFEFF/, "")), (fields) => {
    const names = fields.map((f) => f.value.trim())
    if (names.length === 1) {
      // Spreadsheets set to a locale with a decimal comma export with semicolons; "Unicode text" is tab-separated.
      const separator = names[0].includes(";") ? "semicolons" : names[0].includes("\t") ? "tabs" : undefined
      if (separator !== undefined) {
        return Either.left(
          `header: the columns are separated by ${separator}, not commas; export the file as CSV with commas`
        )
      }
    }
    const seen = new Set<string>()
    for (const [index, name] of names.entries()) {
      if (name.length === 0) return Either.left(`header: column ${index + 1} has no name`)
      if (seen.has(name)) return Either.left(`header: column "${name}" appears twice`)
      seen.add(name)
    }
    for (const required of ["event_name", "timestamp"]) {
      if (!seen.has(required)) return Either.left(`header: no "${required}" column (columns: ${names.join(", ")})`)
    }
    if (!seen.has("customer_id") && !seen.has("external_customer_id")) {
      return Either.left("header: no customer column (add customer_id or external_customer_id)")
    }
    for (const column of Object.keys(types)) {
      if (eventColumns.has(column)) return Either.left(`header: "${column}" is an event column, read as written`)
      if (!seen.has(column)) {
        return Either.left(
          `header: no property column "${column}" for its type (the property columns: ${
            names.filter((name) => !eventColumns.has(name)).join(", ") || "none"
          })`
        )
      }
    }
    return Either.right({
      names,
      kinds: names.map((name): CsvKind => eventColumns.has(name) ? "event" : types[name] ?? "auto")
    })
  })

export const parseCsvRow = (
  header: EventFile.CsvHeader,
  text: string
): Either.Either<Readonly<Record<string, unknown>>, string> =>
  Either.flatMap(parseCsvRecord(text), (fields) => {
    const { kinds, names } = header
    if (fields.length !== names.length) {
      return Either.left(`expected ${names.length} fields as in the header, got ${fields.length}`)
    }
    const wire: Record<string, unknown> = {}
    const properties: Record<string, string | number | boolean> = {}
    for (let index = 0; index < names.length; index++) {
      const kind = kinds[index]
      const value = cellValue(fields[index].value, kind)
      if (value === undefined) continue
      if (value instanceof Refused) return Either.left(`${names[index]}: ${value.reason} (the column is typed ${kind})`)
      if (kind === "event") wire[names[index]] = value
      else properties[names[index]] = value
    }
    wire.properties = properties
    return Either.right(wire)
  })

export const lineTooLong = `the line is longer than ${
  Backfill.maxEventBytes.toLocaleString("en-US")
} bytes; an event may be at most that`

/**
 * A line as the splitter gives it: its text (`undefined` when too long), its number, and the byte after it.
 */
export interface SplitLine {
  readonly text: string | undefined
  readonly line: number
  /** The number of its last line: a CSV record whose quoted field holds line breaks spans several. */
  readonly last: number
  /** The offset in the file just past the line's newline (or the file's end): where the next line begins. */
  readonly end: number
  /** For a JSON array file: the element's number, counting from 1. */
  readonly element?: number | undefined
  /** Why the record holds no event whatever its text (a JSON array that is not closed). */
  readonly problem?: string | undefined
  /** The line number where reading resumes at `end`, when not `last + 1` (a JSON array's element ends mid-line). */
  readonly nextLine?: number | undefined
}

/**
 * UTF-8 chunks decoded as one stream is (a character cut by a chunk's end is decoded whole with the next chunk; a
 * BOM is dropped at the stream's start only), but most chunks by a whole decode: Node's streaming decode is about
 * five times slower (23 against 4.4 ms for 20 MB in chunks of 64 KB). A chunk ending in an ASCII byte ends no
 * character half-way, so decoded whole it gives what the stream gives; one ending otherwise, and the one after it,
 * go through the stream, as does the first (its BOM).
 */
const chunkDecoder = () => {
  const stream = new TextDecoder()
  // A whole decode is a stream of its own, which would drop a BOM at every chunk's start: later chunks keep theirs.
  const whole = new TextDecoder("utf-8", { ignoreBOM: true })
  let first = true
  // Whether `stream` may hold the first bytes of a character cut by the last chunk's end.
  let holding = false
  return {
    next: (bytes: Uint8Array): string => {
      if (bytes.length === 0) return ""
      const endsWhole = bytes[bytes.length - 1] < 0x80
      if (first || holding || !endsWhole) {
        first = false
        holding = !endsWhole
        return stream.decode(bytes, { stream: true })
      }
      return whole.decode(bytes)
    },
    end: (): string => stream.decode()
  }
}

/**
 * Splits a stream of bytes into numbered lines (LF or CRLF), holding at most `maxBytes` of a line: a longer line
 * is skipped to its end, never held whole, and given as `undefined`. Each chunk is decoded once; its newlines are
 * found both in the text (to cut it) and in the bytes (to count them and know where each line ends): UTF-8 never
 * has a newline byte inside a character, so both find the same newlines in the same order. `from` is where the
 * bytes begin in the file, so that a reader may start at any line.
 */
export const lineSplitter = (
  maxBytes: number,
  from: { readonly offset: number; readonly line: number } = { offset: 0, line: 1 }
) => {
  const decode = chunkDecoder()
  let pending = ""
  let pendingBytes = 0
  let skipping = false
  let line = from.line - 1
  let position = from.offset
  const emit = (out: Array<SplitLine>, rest: string, end: number) => {
    line++
    let text: string | undefined = skipping ? undefined : pending + rest
    if (text !== undefined && text.endsWith("\r")) {
      text = text.slice(0, -1)
      pendingBytes--
    }
    out.push({ text: text !== undefined && pendingBytes > maxBytes ? undefined : text, line, last: line, end })
    pending = ""
    pendingBytes = 0
    skipping = false
  }
  const push = (bytes: Uint8Array): Array<SplitLine> => {
    const out: Array<SplitLine> = []
    const text = decode.next(bytes)
    let from = 0
    let byteFrom = 0
    for (;;) {
      const newline = text.indexOf("\n", from)
      if (newline === -1) {
        pendingBytes += bytes.length - byteFrom
        if (!skipping) {
          if (pendingBytes > maxBytes) {
            skipping = true
            pending = ""
          } else {
            pending += from === 0 ? text : text.slice(from)
          }
        }
        position += bytes.length
        return out
      }
      const byteNewline = bytes.indexOf(10, byteFrom)
      pendingBytes += byteNewline - byteFrom
      emit(out, skipping || pendingBytes > maxBytes + 1 ? "" : text.slice(from, newline), position + byteNewline + 1)
      from = newline + 1
      byteFrom = byteNewline + 1
    }
  }
  const end = (): Array<SplitLine> => {
    const out: Array<SplitLine> = []
    const rest = decode.end()
    if (pending.length > 0 || rest.length > 0 || skipping) {
      emit(out, rest, position)
    }
    return out
  }
  return { push, end }
}

/** Whether a line holds an odd number of double quotes: a CSV record with a quoted field left open goes on. */
const opensQuote = (text: string): boolean => {
  let odd = false
  for (let i = text.indexOf("\""); i !== -1; i = text.indexOf("\"", i + 1)) odd = !odd
  return odd
}

/**
 * The records of a file: its lines, except that for CSV a line whose quoted field is left open is joined with the
 * lines after it (by `\n`) until the quote closes, as RFC 4180 allows. A record is numbered by its first line and
 * ends where its last does, so that a reader resuming at its end resumes at the next record. One that is not
 * closed within `maxBytes` (or by the file's end) is given as its first line alone, which the CSV parser refuses
 * (a quoted field left open), and the lines after it are read again as records of their own: one stray quote
 * costs one line, never the rest of the file. `from` is where the bytes begin in the file, as for
 * {@link lineSplitter}.
 */
export const recordSplitter = (
  maxBytes: number,
  format: EventFile.Format,
  from: { readonly offset: number; readonly line: number } = { offset: 0, line: 1 }
) => {
  const lines = lineSplitter(maxBytes, from)
  if (format === "ndjson") return lines
  // The lines of a record not closed yet, and where its first line begins in the file.
  let held: Array<SplitLine> = []
  let heldFrom = from.offset
  let previousEnd = from.offset
  // Lines to read again after a record was given up, before any new one.
  const again: Array<SplitLine> = []
  const giveUp = (out: Array<SplitLine>) => {
    const first = held[0]
    again.unshift(...held.slice(1))
    held = []
    out.push(first)
    previousEnd = first.end
  }
  const feed = (line: SplitLine, out: Array<SplitLine>) => {
    // The common case: a line that is a whole record.
    if (held.length === 0 && (line.text === undefined || !opensQuote(line.text))) {
      previousEnd = line.end
      out.push(line)
      return
    }
    again.push(line)
    drain(out)
  }
  const drain = (out: Array<SplitLine>) => {
    while (again.length > 0) {
      const line = again.shift()!
      if (held.length === 0) {
        heldFrom = previousEnd
        previousEnd = line.end
        if (line.text === undefined || !opensQuote(line.text)) out.push(line)
        else held.push(line)
        continue
      }
      if (line.text === undefined || line.end - heldFrom > maxBytes) {
        again.unshift(line)
        giveUp(out)
        continue
      }
      previousEnd = line.end
      held.push(line)
      if (opensQuote(line.text)) {
        out.push({ text: held.map((l) => l.text).join("\n"), line: held[0].line, last: line.line, end: line.end })
        held = []
      }
    }
  }
  const push = (bytes: Uint8Array): Array<SplitLine> => {
    const out: Array<SplitLine> = []
    for (const line of lines.push(bytes)) feed(line, out)
    return out
  }
  const end = (): Array<SplitLine> => {
    const out: Array<SplitLine> = []
    for (const line of lines.end()) feed(line, out)
    while (held.length > 0) {
      giveUp(out)
      drain(out)
    }
    return out
  }
  return { push, end }
}

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

/**
 * The elements of a JSON array (`[ {...}, {...} ]`, pretty-printed or not), streamed in constant memory: a scanner
 * of the top-level array that tracks strings, escapes and nesting, holding one element at a time (at most
 * `maxBytes` of it: a longer one is skipped to its end and given as `undefined`), each numbered and named by the
 * line it begins on. The element is then parsed as an NDJSON line is. An array not closed by the file's end, or
 * followed by more than blanks, gives a record with its `problem`.
 */
export const elementSplitter = (
  maxBytes: number,
  from: { readonly offset: number; readonly line: number } = { offset: 0, line: 1 }
) => {
  // The scan is of bytes: the structure is ASCII, and no byte of a UTF-8 character is ASCII, so offsets are exact
  // whatever the text holds; an element's bytes are decoded once, whole.
  const decoder = new TextDecoder()
  // before: the `[` not seen yet; between: between elements; inside: in an element; after: past the `]`. A reader
  // resuming at an element's end is between elements (an element ending at the `]` ends before it).
  let state: "before" | "between" | "inside" | "after" = from.offset === 0 ? "before" : "between"
  let line = from.line
  // Counted from where the reading began: a reader resuming names lines, not elements.
  let element = 0
  let held: Array<Uint8Array> = []
  let heldBytes = 0
  let startLine = line
  let depth = 0
  let inString = false
  let escaped = false
  let position = from.offset
  let trailing = false
  const give = (out: Array<SplitLine>, end: number) => {
    let text: string | undefined
    if (heldBytes <= maxBytes) {
      const bytes = new Uint8Array(heldBytes)
      let at = 0
      for (const part of held) {
        bytes.set(part, at)
        at += part.length
      }
      text = decoder.decode(bytes).trimEnd()
    }
    out.push({ text, line: startLine, last: line, end, element, nextLine: line })
    held = []
    heldBytes = 0
  }
  const hold = (part: Uint8Array) => {
    heldBytes += part.length
    // Past the bound, the element is skipped to its end, not held.
    if (heldBytes <= maxBytes) held.push(part)
    else held = []
  }
  const push = (bytes: Uint8Array): Array<SplitLine> => {
    const out: Array<SplitLine> = []
    // Where the element being read begins in this chunk.
    let begin = state === "inside" ? 0 : -1
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i]
      if (c === 0x0a) line++
      switch (state) {
        case "before":
          if (c === 0x5b) state = "between"
          break
        case "between":
          if (c === 0x5d) state = "after"
          else if (c !== 0x2c && !isSpace(c)) {
            state = "inside"
            element++
            startLine = line
            depth = 0
            inString = false
            escaped = false
            begin = i
            i--
          }
          break
        case "inside":
          if (inString) {
            if (escaped) escaped = false
            else if (c === 0x5c) escaped = true
            else if (c === 0x22) inString = false
          } else if (c === 0x22) inString = true
          else if (c === 0x7b || c === 0x5b) depth++
          else if ((c === 0x7d || c === 0x5d) && depth > 0) depth--
          else if (depth === 0 && (c === 0x2c || c === 0x5d)) {
            hold(bytes.subarray(begin, i))
            begin = -1
            give(out, c === 0x5d ? position + i : position + i + 1)
            state = c === 0x5d ? "after" : "between"
          }
          break
        case "after":
          if (!isSpace(c)) trailing = true
          break
      }
    }
    // Copied (a Buffer's `slice` is a view): a caller may read its next chunk into the same buffer.
    if (state === "inside") hold(new Uint8Array(bytes.subarray(begin)))
    position += bytes.length
    return out
  }
  const end = (): Array<SplitLine> => {
    const out: Array<SplitLine> = []
    if (state === "inside") give(out, position)
    if (state !== "after" || trailing) {
      out.push({
        text: undefined,
        line,
        last: line,
        end: position,
        element: element + 1,
        nextLine: line,
        problem: state !== "after"
          ? "the JSON array is not closed: the file ends before its `]` (is it truncated?)"
          : "text after the JSON array's closing `]`"
      })
    }
    return out
  }
  return { push, end }
}

const chunkSize = FileSystem.KiB(64)
const chunkBytes = 64 * 1024

/** The first bytes of a file, to tell how it is stored. */
const head = (file: string) =>
  Effect.scoped(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const handle = yield* fs.open(file).pipe(Effect.mapError((error) => unreadable(file, error)))
    const bytes = yield* handle.readAlloc(chunkSize).pipe(Effect.mapError((error) => unreadable(file, error)))
    return Option.getOrElse(bytes, () => new Uint8Array(0))
  }))

const isGzip = (bytes: Uint8Array) => startsWith(bytes, [0x1f, 0x8b])

/**
 * A gzip file's decompressed bytes, streamed in constant memory (concatenated gzip members are read as one). A
 * corrupt or truncated file fails with where it broke: the line being read (`lineNow`) and the compressed bytes
 * read.
 */
const gunzipped = (file: string, lineNow: () => number): Stream.Stream<Uint8Array, InputError> =>
  Stream.suspend(() => {
    const raw = nodeFs.createReadStream(file, { highWaterMark: chunkBytes })
    const gunzip = zlib.createGunzip({ chunkSize: chunkBytes })
    const output = nodeStream.pipeline(raw, gunzip, () => {})
    return Stream.fromAsyncIterable(output as AsyncIterable<Uint8Array>, (error) => {
      const zlibError = error as { code?: string; message?: string }
      const what = zlibError.code === "Z_BUF_ERROR"
        ? "the gzip data is truncated (the file ends inside it)"
        : zlibError.code?.startsWith("Z_") || zlibError.code === "ERR_ZLIB_INITIALIZATION_FAILED"
        ? `the gzip data is corrupt (${zlibError.message})`
        : `cannot read it (${zlibError.message})`
      return new InputError({
        file,
        line: lineNow(),
        reason: `${what}, within its first ${raw.bytesRead.toLocaleString("en-US")} compressed bytes; ` +
          "nothing after this line can be read"
      })
    })
  })

/**
 * The records of a file with where each ends, streamed in constant memory: its lines, or for CSV its records (see
 * {@link recordSplitter}), or for a JSON array its elements (see {@link elementSplitter}); a gzip file is
 * decompressed as it is read, and where each record ends is then an offset in the decompressed bytes. A file that
 * is not NDJSON, CSV or a JSON array is refused from its first bytes (see {@link detect}).
 */
const splitRecords = (
  file: string,
  format: EventFile.Format | undefined
): Stream.Stream<SplitLine, InputError | UnsupportedFormat, FileSystem.FileSystem> =>
  Stream.unwrap(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(file).pipe(Effect.mapError((error) => unreadable(file, error)))
    if (info.type !== "File") return yield* new InputError({ file, reason: "not a regular file" })
    let splitter: { push: (bytes: Uint8Array) => Array<SplitLine>; end: () => Array<SplitLine> } | undefined
    // The line being read, for a gzip file that breaks off.
    let line = 1
    const gzip = isGzip(yield* head(file))
    const bytes: Stream.Stream<Uint8Array, InputError> = gzip
      ? gunzipped(file, () => line)
      : fs.stream(file, { chunkSize }).pipe(
        Stream.mapError((error) => new InputError({ file, reason: `cannot read it (${error.message})` }))
      )
    const splitterFor = (first: Uint8Array) => {
      const detected = detect(first, format)
      if (detected === "json-array" && format === "ndjson") {
        return Effect.succeed(elementSplitter(Backfill.maxEventBytes))
      }
      if (detected !== undefined) return Effect.fail(new UnsupportedFormat({ file, detected, gzip }))
      return Effect.succeed(
        format === undefined ? lineSplitter(Backfill.maxEventBytes) : recordSplitter(Backfill.maxEventBytes, format)
      )
    }
    const noted = (records: Array<SplitLine>) => {
      if (records.length > 0) {
        const last = records[records.length - 1]
        line = last.nextLine ?? last.last + 1
      }
      return records
    }
    return bytes.pipe(
      Stream.mapConcatEffect((chunk) =>
        splitter !== undefined
          ? Effect.succeed(noted(splitter.push(chunk)))
          : Effect.map(splitterFor(chunk), (chosen) => {
            splitter = chosen
            return noted(chosen.push(chunk))
          })
      ),
      Stream.concat(Stream.suspend(() =>
        Stream.fromIterable(
          splitter !== undefined
            ? splitter.end()
            // An empty file: nothing to recognise, no line.
            : []
        )
      )),
      // Against the in-process simulator nothing waits on the network, and the event loop would turn only when
      // the file is read: a pause of one timer tick per chunk (a few hundred lines) lets it handle Ctrl-C.
      Stream.mapChunksEffect((chunk) => Effect.as(Effect.sleep(Duration.zero), chunk))
    )
  }))

const unreadable = (file: string, error: PlatformError.PlatformError) =>
  new InputError({
    file,
    reason: error._tag === "SystemError" && error.reason === "NotFound"
      ? "no such file"
      : `cannot read it (${error.message})`
  })

export const recognise = (
  file: string,
  format?: EventFile.Format | undefined
): Effect.Effect<void, InputError | UnsupportedFormat, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const first = yield* head(file)
    const detected = detect(isGzip(first) ? gunzipHead(first) : first, format)
    if (detected === "parquet" && !isGzip(first)) return
    if (detected !== undefined && !(detected === "json-array" && format !== "csv")) {
      return yield* new UnsupportedFormat({ file, detected, gzip: isGzip(first) })
    }
  })

/** What the first compressed bytes of a gzip file decompress to (1 KiB in, at most 1 MiB out). */
export const gunzipHead = (bytes: Uint8Array): Uint8Array => {
  try {
    return zlib.gunzipSync(bytes.subarray(0, 1024), {
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
      maxOutputLength: chunkBytes * 16
    })
  } catch {
    // Corrupt from its first bytes: the reader names where; nothing is recognised here.
    return new Uint8Array(0)
  }
}

export const lines = (
  file: string
): Stream.Stream<
  readonly [text: string | undefined, line: number],
  InputError | UnsupportedFormat,
  FileSystem.FileSystem
> => Stream.map(splitRecords(file, undefined), ({ line, text }) => [text, line] as const)

/** Whether a line holds nothing: blank lines are skipped, and still counted. */
export const isBlank = (text: string | undefined): boolean => text !== undefined && text.trim().length === 0

export const notUtf8 = "the line is not UTF-8 text (the file may be Windows-1252 or Latin-1: convert it first, " +
  "iconv -f WINDOWS-1252 -t UTF-8)"

// The decoder replaces a byte that is not UTF-8 with U+FFFD: a line holding one would be sent with its letters
// replaced (a Windows-1252 "Zürich" as "Z\uFFFDrich"), so it is refused instead.
const replaced = (text: string) => text.indexOf("\uFFFD") !== -1

export const parseLine = (
  text: string | undefined,
  header: EventFile.CsvHeader | undefined
): Either.Either<Readonly<Record<string, unknown>>, string> =>
  text === undefined
    ? Either.left(lineTooLong)
    : replaced(text)
    ? Either.left(notUtf8)
    : header === undefined
    ? parseNdjsonLine(text)
    : parseCsvRow(header, text)

export const headerOf = (
  text: string | undefined,
  types?: EventFile.CsvTypes | undefined
): Either.Either<EventFile.CsvHeader, string> =>
  text === undefined
    ? Either.left(`header: ${lineTooLong}`)
    : replaced(text)
    ? Either.left(`header: ${notUtf8}`)
    : parseCsvHeader(text, types)

export const csvHeader = (
  file: string,
  options: EventFile.ReadOptions = {}
): Effect.Effect<EventFile.CsvHeader, InputError | UnsupportedFormat, FileSystem.FileSystem> =>
  splitRecords(file, "csv").pipe(
    Stream.filter(({ text }) => !isBlank(text)),
    Stream.runHead,
    Effect.flatMap(Option.match({
      onNone: () => Effect.fail(new InputError({ file, reason: "the CSV file has no header" })),
      onSome: ({ line, text }) =>
        Either.match(headerOf(text, options.csvTypes), {
          onLeft: (reason) => Effect.fail(new InputError({ file, line, reason })),
          onRight: Effect.succeed
        })
    }))
  )

export const isParquet = (file: string): Effect.Effect<boolean, InputError, FileSystem.FileSystem> =>
  Effect.map(head(file), ParquetFile.isParquet)

const parquetFailure = (file: string, error: unknown): InputError =>
  error instanceof ParquetFile.ParquetProblem
    ? new InputError({
      file,
      ...(error.at !== undefined ? { rowGroup: error.at.rowGroup, line: error.at.row } : {}),
      reason: error.reason
    })
    : new InputError({ file, reason: `cannot read it (${error instanceof Error ? error.message : String(error)})` })

/**
 * A Parquet file's rows as events, a page at a time (see `parquetFile.ts`): its footer is read first, so that a
 * truncated file or a column no event can hold fails before any row.
 */
const readParquet = (file: string): Stream.Stream<EventFile.ParsedLine, InputError> =>
  Stream.unwrap(Effect.map(
    Effect.tryPromise({ try: () => ParquetFile.open(file), catch: (error) => parquetFailure(file, error) }),
    (layout) =>
      Stream.fromAsyncIterable(ParquetFile.batches(file, layout), (error) => parquetFailure(file, error)).pipe(
        // Each row's event built as the stream pulls it, a chunk at a time.
        Stream.flatMap((batch) =>
          Stream.fromIterable({
            *[Symbol.iterator]() {
              for (let i = 0; i < batch.length; i++) {
                const { event, row, rowGroup } = batch.row(i)
                yield { line: row, rowGroup, event } satisfies EventFile.ParsedLine
              }
            }
          })
        )
      )
  ))

export const read = (
  file: string,
  format: EventFile.Format,
  options: EventFile.ReadOptions = {}
): Stream.Stream<EventFile.ParsedLine, InputError | UnsupportedFormat, FileSystem.FileSystem> => {
  if (format === "parquet") {
    return Stream.unwrap(Effect.flatMap(head(file), (first): Effect.Effect<
      Stream.Stream<EventFile.ParsedLine, InputError>,
      InputError | UnsupportedFormat
    > =>
      ParquetFile.isParquet(first)
        ? Effect.succeed(readParquet(file))
        : isGzip(first) && ParquetFile.isParquet(gunzipHead(first))
        ? Effect.fail(new UnsupportedFormat({ file, detected: "parquet", gzip: true }))
        : Effect.fail(new InputError({ file, reason: "not a Parquet file (it does not begin with PAR1)" }))))
  }
  // A Parquet file whatever its name or the format given: its content says what it is, as gzip's does.
  return Stream.catchTag(
    readText(file, format, options),
    "UnsupportedFormat",
    (error): Stream.Stream<EventFile.ParsedLine, InputError | UnsupportedFormat, FileSystem.FileSystem> =>
      error.detected === "parquet" && error.gzip !== true
        ? Stream.unwrap(
          Effect.map(
            isParquet(file),
            (parquet): Stream.Stream<EventFile.ParsedLine, InputError | UnsupportedFormat> =>
              parquet ? readParquet(file) : Stream.fail(error)
          )
        )
        : Stream.fail(error)
  )
}

const readText = (
  file: string,
  format: "ndjson" | "csv",
  options: EventFile.ReadOptions
): Stream.Stream<EventFile.ParsedLine, InputError | UnsupportedFormat, FileSystem.FileSystem> => {
  const nonBlank = splitRecords(file, format).pipe(Stream.filter(({ text }) => !isBlank(text)))
  if (format === "ndjson") {
    return Stream.map(nonBlank, ({ element, line, problem, text }) => ({
      line,
      ...(element === undefined ? {} : { element }),
      event: problem === undefined ? parseLine(text, undefined) : Either.left(problem)
    }))
  }
  return nonBlank.pipe(
    Stream.mapAccumEffect(
      Option.none<EventFile.CsvHeader>(),
      (header, { line, text }): Effect.Effect<
        readonly [Option.Option<EventFile.CsvHeader>, Option.Option<EventFile.ParsedLine>],
        InputError
      > =>
        Option.match(header, {
          onNone: () =>
            Either.match(headerOf(text, options.csvTypes), {
              onLeft: (reason) => Effect.fail(new InputError({ file, line, reason })),
              onRight: (names) => Effect.succeed([Option.some(names), Option.none()] as const)
            }),
          onSome: (names) => Effect.succeed([header, Option.some({ line, event: parseLine(text, names) })] as const)
        })
    ),
    Stream.filterMap((line) => line)
  )
}

export const otherCustomer = (
  event: Readonly<Record<string, unknown>>,
  scope: EventFile.Scope
): string | undefined => {
  if (scope.only !== true) return undefined
  const [key, own] = scope.customerId !== undefined
    ? [event.customer_id, scope.customerId]
    : [event.external_customer_id, scope.externalCustomerId]
  return own !== undefined && typeof key === "string" && key !== own ? key : undefined
}

export const checkEvent = (
  event: Readonly<Record<string, unknown>>,
  scope: EventFile.Scope,
  now: DateTime.Utc
): Either.Either<EventFile.WireEvent, string> => {
  let filled = event
  if (event.customer_id == null && event.external_customer_id == null) {
    if (scope.customerId !== undefined) filled = { ...event, customer_id: scope.customerId }
    else if (scope.externalCustomerId !== undefined) {
      filled = { ...event, external_customer_id: scope.externalCustomerId }
    }
  }
  const checked = Backfills.validateEncodedEvent(filled, "event", undefined, now)
  if (Either.isLeft(checked)) {
    const field = fileField(checked.left.field.replace(/^event\.?/, ""))
    return Either.left(field === "" ? checked.left.reason : `${field}: ${checked.left.reason}`)
  }
  const wire = checked.right
  // The library gives the timestamp as `toISOString` writes it.
  const at = Backfill.timestampMillis(wire.timestamp)
  if (at < scope.timeframeStart.epochMillis || at >= scope.timeframeEnd.epochMillis) {
    return Either.left(
      `timestamp: ${wire.timestamp} is outside the timeframe [${DateTime.formatIso(scope.timeframeStart)}, ${
        DateTime.formatIso(scope.timeframeEnd)
      })`
    )
  }
  if (scope.customerId !== undefined && wire.customer_id !== scope.customerId) {
    return Either.left(
      wire.customer_id == null
        ? `customer_id: the backfill is scoped to customer ${scope.customerId}; this event names an external customer id`
        : `customer_id: ${wire.customer_id} is not the backfill's customer (${scope.customerId})`
    )
  }
  if (scope.externalCustomerId !== undefined && wire.external_customer_id !== scope.externalCustomerId) {
    return Either.left(
      wire.external_customer_id == null
        ? `external_customer_id: the backfill is scoped to external customer ${scope.externalCustomerId}; this event names a customer id`
        : `external_customer_id: ${wire.external_customer_id} is not the backfill's customer (${scope.externalCustomerId})`
    )
  }
  return Either.right(wire)
}

// The library names an event's fields in camelCase; the file uses Orb's snake_case, so the messages follow the
// file. Only the event's own fields are renamed: a property's name, or an unknown key, is as the file has it.
const fileFields: Readonly<Record<string, string>> = {
  eventName: "event_name",
  idempotencyKey: "idempotency_key",
  customerId: "customer_id",
  externalCustomerId: "external_customer_id"
}

const fileField = (field: string): string => {
  const dot = field.indexOf(".")
  const head = dot === -1 ? field : field.slice(0, dot)
  return (fileFields[head] ?? head) + (dot === -1 ? "" : field.slice(dot))
}
