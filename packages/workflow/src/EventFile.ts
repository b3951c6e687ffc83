/**
 * Reading events from a file: NDJSON (one Orb ingest event per line, in Orb's snake_case) or CSV (a header
 * row, then one event per record, its cells typed by {@link csvValue}), streamed line by line so that a file of
 * millions of lines is read in constant memory. A gzip-compressed file (recognised by its content) is decompressed
 * as it is read, and a JSON array of events is read element by element (an incremental scanner, never the whole
 * file parsed). Every problem is reported with the file name and the 1-based line number (and a JSON array's element
 * number); a file that is something else (zstd, Parquet, ...) is recognised by its first bytes and refused
 * ({@link UnsupportedFormat}). A Parquet file (by its content, `PAR1`, or by its name or the format given) is read a
 * slice of rows at a time, its columns mapped to the event as a CSV's are (see {@link read}). The one reader of event files: the command line's validation and run
 * passes, and a durable run's file source (`RunSource`).
 *
 * @since 0.1.0
 */
import type { Backfill } from "@effect-orb/backfills"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as DateTime from "effect/DateTime"
import type * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/eventFile.js"

/**
 * The input formats. `parquet` since 0.2.0.
 *
 * @since 0.1.0
 * @category models
 */
export type Format = "ndjson" | "csv" | "parquet"

/**
 * A problem with the input file as a whole (it cannot be read, or its CSV header is unusable), or with one
 * of its lines when the line must stop the work.
 *
 * @since 0.1.0
 * @category errors
 */
export const InputError: typeof internal.InputError = internal.InputError

/**
 * @since 0.1.0
 * @category errors
 */
export type InputError = internal.InputError

/**
 * A file that is not NDJSON, CSV or a JSON array (gzip-compressed or not), recognised by its first bytes (after
 * decompressing gzip): compressed otherwise (zstd, which Node.js 20's zlib cannot read, bzip2, xz, or gzip twice), a
 * zip archive, a gzip-compressed Parquet file (a Parquet file itself is read by {@link read}, and refused by what
 * reads text: {@link lines}, {@link csvHeader}), a JSON array read as CSV or a pretty-printed JSON document, UTF-16 text, or binary. Its
 * message is one sentence naming the file and what to do (`events.ndjson.bz2 is bzip2-compressed; decompress it
 * first (bunzip2 -k events.ndjson.bz2)`). These formats are recognised, not read.
 *
 * @since 0.2.0
 * @category errors
 */
export const UnsupportedFormat: typeof internal.UnsupportedFormat = internal.UnsupportedFormat

/**
 * @since 0.2.0
 * @category errors
 */
export interface UnsupportedFormat extends internal.UnsupportedFormat {}

/**
 * Refuses a file that is not NDJSON, CSV or a JSON array (see {@link UnsupportedFormat}) from its first 64 KiB (a
 * gzip file's first decompressed bytes), without reading the rest: what {@link read} does as it starts, for a caller that must know before (a file whose format its name
 * does not tell). The pretty-printed JSON document is recognised only when `format` is not `csv`.
 *
 * @since 0.2.0
 * @category reading
 */
export const recognise: (
  file: string,
  format?: Format | undefined
) => Effect.Effect<void, InputError | UnsupportedFormat, FileSystem.FileSystem> = internal.recognise

/**
 * Where a line or element is, for a message: `events.ndjson:12`, for a JSON array `events.json: element 3 (line
 * 12)`, for a Parquet file `events.parquet: row group 3, row 1200` (the row counted in the file, from 1); the file
 * alone when no line is known.
 *
 * @since 0.2.0
 * @category reading
 */
export const where: (
  file: string,
  at: {
    readonly line?: number | undefined
    readonly element?: number | undefined
    readonly rowGroup?: number | undefined
  }
) => string = internal.where

/**
 * Whether a file is Parquet, by its first bytes (`PAR1`), whatever its name: how the command line chooses the
 * format when `--format` is not given.
 *
 * @since 0.2.0
 * @category reading
 */
export const isParquet: (file: string) => Effect.Effect<boolean, InputError, FileSystem.FileSystem> = internal.isParquet

/**
 * An event in Orb's wire form, as the file holds it and as it is sent.
 *
 * @since 0.1.0
 * @category models
 */
export type WireEvent = typeof Backfill.IngestEvent.Encoded

/**
 * One non-blank line of the input: its 1-based number and either the event it holds, an object whose shape
 * {@link checkEvent} checks, or why it holds none.
 *
 * @since 0.1.0
 * @category models
 */
export interface ParsedLine {
  readonly line: number
  /**
   * For a JSON array file: the element, counting from 1, that begins on `line`.
   *
   * @since 0.2.0
   */
  readonly element?: number | undefined
  /**
   * For a Parquet file: the row group, counting from 1, of the row `line` (the row counted in the file, from 1).
   *
   * @since 0.2.0
   */
  readonly rowGroup?: number | undefined
  readonly event: Either.Either<Readonly<Record<string, unknown>>, string>
}

/**
 * The format of a file: `explicit` when given, else from its extension (`.ndjson`, `.jsonl`, `.json` are
 * NDJSON; `.csv` is CSV; `.parquet` and `.pq` are Parquet). A Parquet file is read as one whatever this says
 * ({@link read} knows it by its content).
 *
 * @since 0.1.0
 * @category parsing
 */
export const formatOf: (file: string, explicit?: Format | undefined) => Either.Either<Format, InputError> =
  internal.formatOf

/**
 * Parses one NDJSON line into an object, or says in one phrase what is wrong with it. The object's shape is
 * checked by {@link checkEvent}, after the run's customer is filled in (its timestamp too, by the library's one
 * strict parser: an impossible date is refused there, never moved).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseNdjsonLine: (text: string) => Either.Either<Readonly<Record<string, unknown>>, string> =
  internal.parseNdjsonLine

/**
 * A CSV field and whether it was quoted (which does not change its type: exports quote every cell).
 *
 * @since 0.1.0
 * @category models
 */
export interface CsvField {
  readonly value: string
  readonly quoted: boolean
}

/**
 * Splits one CSV record (RFC 4180: fields separated by commas, a field in double quotes may hold commas, doubled
 * quotes and line breaks). A quoted field left open at the end of the text is refused: the reader joins the lines
 * of a record before it comes here, up to `Backfill.maxEventBytes`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseCsvRecord: (text: string) => Either.Either<Array<CsvField>, string> = internal.parseCsvRecord

/**
 * The type a CSV property column may be given, instead of its cells' own (see {@link csvValue}).
 *
 * @since 0.2.0
 * @category models
 */
export type CsvType = "string" | "number" | "boolean"

/**
 * Types for some of a CSV file's property columns, by column name: `{ zip: "string" }`.
 *
 * @since 0.2.0
 * @category models
 */
export type CsvTypes = Readonly<Record<string, CsvType>>

/**
 * How to read a file.
 *
 * @since 0.2.0
 * @category models
 */
export interface ReadOptions {
  /** Types for some of a CSV file's property columns (see {@link csvValue}). */
  readonly csvTypes?: CsvTypes | undefined
}

/**
 * A CSV header, checked: the column names, and how each column's cells are read (`event`: an event field, as
 * written; `auto`: a property typed by its cells; or the type it was given).
 *
 * @since 0.2.0
 * @category models
 */
export interface CsvHeader {
  readonly names: ReadonlyArray<string>
  readonly kinds: ReadonlyArray<"event" | "auto" | CsvType>
}

/**
 * A CSV cell as a property value, the same whether it was quoted or not. In every column, an empty cell, `NULL`
 * (any case) and `\N` are no value (the property is left out). Otherwise, by the column's type:
 *
 * - `auto` (a column given no type): `true`/`false` (any case) are booleans; numbers in plain decimal form (`42`,
 *   `-3.25`, `1.5e-05`: no leading zero, no `+`) whose integer part is exact in JSON (at most 2^53) are numbers;
 *   anything else (`007`, `12345678901234567890`, `n/a`) is a string;
 * - `string`: the cell as written;
 * - `number`: any decimal form (`007` is 7, `+1`, `.5`), refused if it is not a number or not exact;
 * - `boolean`: `true`/`false`, `t`/`f`, `yes`/`no`, `1`/`0` (any case), refused otherwise.
 *
 * @since 0.1.0
 * @category parsing
 */
export const csvValue: (
  text: string,
  type?: CsvType | "auto"
) => Either.Either<string | number | boolean | undefined, string> = internal.csvValue

/**
 * A CSV header: the column names, checked (the event name and timestamp columns and at least one customer
 * column are required, names are unique and non-empty), and the types given to property columns (each must name
 * one).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseCsvHeader: (text: string, types?: CsvTypes) => Either.Either<CsvHeader, string> =
  internal.parseCsvHeader

/**
 * One CSV record as an event, given the header: the event columns fill the event (as written), the other columns
 * its properties (see {@link csvValue}); a cell its column's type refuses makes the record invalid.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseCsvRow: (
  header: CsvHeader,
  text: string
) => Either.Either<Readonly<Record<string, unknown>>, string> = internal.parseCsvRow

/**
 * Why a line is refused unread: it is longer than `Backfill.maxEventBytes`, the most an event may be.
 *
 * @since 0.1.0
 * @category reading
 */
export const lineTooLong: string = internal.lineTooLong

/**
 * The lines of a file, numbered from 1, streamed in constant memory: a line longer than `Backfill.maxEventBytes`
 * (LF or CRLF excluded) is not held, and comes as `undefined` text (see {@link lineTooLong}). A gzip file's
 * decompressed lines; a file that is not text, or a JSON array, is refused ({@link UnsupportedFormat}).
 *
 * @since 0.1.0
 * @category reading
 */
export const lines: (
  file: string
) => Stream.Stream<
  readonly [text: string | undefined, line: number],
  InputError | UnsupportedFormat,
  FileSystem.FileSystem
> = internal.lines

/**
 * The events of a file, one {@link ParsedLine} per non-blank line, or for CSV per record (numbered by its first
 * line: a quoted field may hold line breaks), a CSV's header excepted, or for an NDJSON file that holds a JSON array
 * per element (numbered, and named by the line it begins on); a gzip file is decompressed as it is read. The stream
 * fails only when the file cannot be read (a corrupt or truncated gzip file: at the line where it broke), is not
 * NDJSON, CSV or a JSON array ({@link UnsupportedFormat}, from its first bytes, before any line), or a CSV header
 * is unusable; a bad line is a `ParsedLine` holding the reason, so the caller decides whether to stop, report or
 * skip.
 *
 * A Parquet file (by its content whatever `format` says, or `format` `parquet`) is read a slice of rows at a time (a
 * row group, or 32,768 of its rows), never whole; each row is a `ParsedLine` whose `line` is the row (counted in the
 * file, from 1) and `rowGroup` its row group. Its columns are mapped as a CSV's: `event_name`, `timestamp`,
 * `customer_id`, `external_customer_id`, `idempotency_key` fill the event (an integer id becomes its decimal text);
 * a struct or map column `properties`, or a string one holding a JSON object, gives properties, and every other
 * column is a property. Values keep their types: numbers (a 64-bit integer when exact, else the row is invalid),
 * booleans, strings; timestamps and dates become ISO strings to the millisecond; a null is no value. A truncated
 * file (its footer missing), a corrupt page, or a column no event can hold (a list, a nested struct other than
 * `properties`, binary of fixed length, a time of day, ...) fails the stream with the place, before the rows of
 * that place.
 *
 * @since 0.1.0
 * @category reading
 */
export const read: (
  file: string,
  format: Format,
  options?: ReadOptions
) => Stream.Stream<ParsedLine, InputError | UnsupportedFormat, FileSystem.FileSystem> = internal.read

/**
 * A CSV file's header, checked as {@link read} checks it, read without the rows: its first non-blank record.
 *
 * @since 0.2.0
 * @category reading
 */
export const csvHeader: (
  file: string,
  options?: ReadOptions
) => Effect.Effect<CsvHeader, InputError | UnsupportedFormat, FileSystem.FileSystem> = internal.csvHeader

/**
 * What every event of a run must fit: the timeframe, and the customer when the backfill is scoped to one.
 *
 * @since 0.1.0
 * @category models
 */
export interface Scope {
  readonly timeframeStart: DateTime.Utc
  readonly timeframeEnd: DateTime.Utc
  readonly customerId?: string | undefined
  readonly externalCustomerId?: string | undefined
  /**
   * Keep only the scoped customer's events: one that names another customer (of the scope's kind) is left out
   * ({@link otherCustomer}), not invalid, as when correcting one customer from an export of all of them.
   *
   * @since 0.2.0
   */
  readonly only?: boolean | undefined
}

/**
 * The customer an event names when the scope keeps only its own customer's events (`only`) and the event names
 * another one of the same kind (`customer_id` for a scope by Orb id, `external_customer_id` by your id): the
 * event is to be left out, and counted as that customer's. `undefined` for an event to check with
 * {@link checkEvent} (the scope's customer, no customer key, or a key of the other kind, which cannot be told
 * apart and stays invalid).
 *
 * @since 0.2.0
 * @category validation
 */
export const otherCustomer: (event: Readonly<Record<string, unknown>>, scope: Scope) => string | undefined =
  internal.otherCustomer

/**
 * Completes and checks an event against the run's scope: an event with no customer key in a backfill scoped
 * to one customer gets that customer; then the checks Orb makes, shape and rules (via
 * `Backfills.validateEncodedEvent`, as the run will check it: a strictly read timestamp at most 5 minutes after
 * `now`, at most `Backfill.maxEventBytes` of JSON), the timeframe, and the scope's customer. Gives the event as it
 * will be sent.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkEvent: (
  event: Readonly<Record<string, unknown>>,
  scope: Scope,
  now: DateTime.Utc
) => Either.Either<WireEvent, string> = internal.checkEvent
