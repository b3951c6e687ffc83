/**
 * Reading events from a file: NDJSON (one Orb ingest event per line, in Orb's snake_case) or CSV (a header
 * row, then one event per row), streamed line by line so that a file of millions of lines is read in
 * constant memory. Every problem is reported with the file name and the 1-based line number. The one reader of
 * event files: the command line's validation and run passes, and a durable run's file source (`RunSource`).
 *
 * @since 0.1.0
 */
import type { Backfill } from "@effect-orb/backfills"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as DateTime from "effect/DateTime"
import type * as Either from "effect/Either"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/eventFile.js"

/**
 * The input formats.
 *
 * @since 0.1.0
 * @category models
 */
export type Format = "ndjson" | "csv"

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
  readonly event: Either.Either<Readonly<Record<string, unknown>>, string>
}

/**
 * The format of a file: `explicit` when given, else from its extension (`.ndjson`, `.jsonl`, `.json` are
 * NDJSON; `.csv` is CSV).
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
 * A CSV field and whether it was quoted (a quoted field is always a string).
 *
 * @since 0.1.0
 * @category models
 */
export interface CsvField {
  readonly value: string
  readonly quoted: boolean
}

/**
 * Splits one CSV record (RFC 4180: fields separated by commas, a field in double quotes may hold commas and
 * doubled quotes). A quoted field that runs to the end of the line is refused: the reader works line by line,
 * and newlines inside quoted fields are not supported.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseCsvRecord: (text: string) => Either.Either<Array<CsvField>, string> = internal.parseCsvRecord

/**
 * A CSV cell as a property value: `true`/`false` are booleans, plain decimal numbers (no leading zeros, no
 * exponent) are numbers, anything else, and any quoted cell, is a string. An empty unquoted cell is no value.
 *
 * @since 0.1.0
 * @category parsing
 */
export const csvValue: (field: CsvField) => string | number | boolean | undefined = internal.csvValue

/**
 * A CSV header: the column names, checked (the event name and timestamp columns and at least one customer
 * column are required, names are unique and non-empty).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseCsvHeader: (text: string) => Either.Either<ReadonlyArray<string>, string> = internal.parseCsvHeader

/**
 * One CSV row as an event, given the header: the event columns fill the event, the other columns its
 * properties (see {@link csvValue}).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseCsvRow: (
  header: ReadonlyArray<string>,
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
 * (LF or CRLF excluded) is not held, and comes as `undefined` text (see {@link lineTooLong}).
 *
 * @since 0.1.0
 * @category reading
 */
export const lines: (
  file: string
) => Stream.Stream<readonly [text: string | undefined, line: number], InputError, FileSystem.FileSystem> =
  internal.lines

/**
 * The events of a file, one {@link ParsedLine} per non-blank line (a CSV's header excepted). The stream fails
 * only when the file cannot be read or a CSV header is unusable; a bad line is a `ParsedLine` holding the
 * reason, so the caller decides whether to stop, report or skip.
 *
 * @since 0.1.0
 * @category reading
 */
export const read: (file: string, format: Format) => Stream.Stream<ParsedLine, InputError, FileSystem.FileSystem> =
  internal.read

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
}

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
