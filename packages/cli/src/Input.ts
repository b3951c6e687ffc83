/**
 * Reading events from a file: NDJSON (one Orb ingest event per line, in Orb's snake_case) or CSV (a header
 * row, then one event per row), streamed line by line so that a file of millions of lines is read in
 * constant memory. Every problem is reported with the file name and the 1-based line number.
 *
 * @since 0.1.0
 */
import { Backfill, Backfills } from "@effect-orb/backfills"
import * as FileSystem from "@effect/platform/FileSystem"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

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
export class InputError extends Schema.TaggedError<InputError>()("InputError", {
  file: Schema.String,
  line: Schema.optional(Schema.Number),
  reason: Schema.String
}) {
  override get message() {
    return this.line === undefined ? `${this.file}: ${this.reason}` : `${this.file}:${this.line}: ${this.reason}`
  }
}

/**
 * One non-blank line of the input: its 1-based number and either the event it holds or why it holds none.
 *
 * @since 0.1.0
 * @category models
 */
export interface ParsedLine {
  readonly line: number
  readonly event: Either.Either<Backfill.IngestEvent, string>
}

/**
 * The format of a file: `explicit` when given, else from its extension (`.ndjson`, `.jsonl`, `.json` are
 * NDJSON; `.csv` is CSV).
 *
 * @since 0.1.0
 * @category parsing
 */
export const formatOf = (file: string, explicit?: Format | undefined): Either.Either<Format, InputError> => {
  if (explicit !== undefined) return Either.right(explicit)
  const lower = file.toLowerCase()
  if (lower.endsWith(".csv")) return Either.right("csv")
  if (lower.endsWith(".ndjson") || lower.endsWith(".jsonl") || lower.endsWith(".json")) return Either.right("ndjson")
  return Either.left(
    new InputError({
      file,
      reason: "cannot tell the format from the file name: name it .ndjson or .csv, or pass --format ndjson|csv"
    })
  )
}

// Orb wants UTC date-times; a date-time without a zone would be read in the machine's local time zone, which
// silently moves events by hours, so the zone must be explicit.
const isoDateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i

/**
 * Whether a string is an ISO 8601 date-time with an explicit time zone (`Z` or an offset).
 *
 * @since 0.1.0
 * @category parsing
 */
export const isIsoDateTime = (text: string): boolean => isoDateTime.test(text) && !Number.isNaN(Date.parse(text))

const badTimestamp = (value: unknown) =>
  `timestamp: expected an ISO 8601 date-time with a time zone, such as 2026-10-01T12:00:00Z, got ${
    JSON.stringify(value) ?? String(value)
  }`

const firstIssue = (error: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const issue = issues[0]
  if (issue === undefined) return error.message
  const path = issue.path.map(String).join(".")
  // A missing or unexpected key reads best as "<key>: is missing" rather than as the whole expected type.
  const message = issue._tag === "Unexpected" ? "is not an Orb event field" : issue.message
  return path.length > 0 ? `${path}: ${message}` : message
}

/**
 * Parses one NDJSON line into an event, or says in one phrase what is wrong with it.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseNdjsonLine = (text: string): Either.Either<Backfill.IngestEvent, string> => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return Either.left(`not valid JSON (${(error as Error).message})`)
  }
  if (!Predicate.isRecord(value) || Array.isArray(value)) return Either.left("expected a JSON object (one event)")
  const timestamp = value.timestamp
  if (timestamp !== undefined && (typeof timestamp !== "string" || !isIsoDateTime(timestamp))) {
    return Either.left(badTimestamp(timestamp))
  }
  return decodeWire(value)
}

const decodeWire = (value: Record<string, unknown>): Either.Either<Backfill.IngestEvent, string> =>
  Either.mapLeft(Backfill.decodeIngestEvent(value), firstIssue)

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
export const parseCsvRecord = (text: string): Either.Either<Array<CsvField>, string> => {
  const fields: Array<CsvField> = []
  let i = 0
  const n = text.length
  while (true) {
    if (text[i] === "\"") {
      let value = ""
      i++
      while (true) {
        if (i >= n) {
          return Either.left(
            "a quoted field is not closed on this line (newlines inside quoted fields are not supported)"
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

// Numbers are parsed as numbers only in their plain decimal form, so that ids such as "007" or "1e3" stay
// strings; quote a cell to force a string.
const plainNumber = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/

/**
 * A CSV cell as a property value: `true`/`false` are booleans, plain decimal numbers (no leading zeros, no
 * exponent) are numbers, anything else, and any quoted cell, is a string. An empty unquoted cell is no value.
 *
 * @since 0.1.0
 * @category parsing
 */
export const csvValue = (field: CsvField): string | number | boolean | undefined => {
  if (field.quoted) return field.value
  if (field.value === "") return undefined
  if (field.value === "true") return true
  if (field.value === "false") return false
  if (plainNumber.test(field.value)) {
    const number = Number(field.value)
    if (Number.isFinite(number) && Number.isSafeInteger(Math.trunc(number))) return number
  }
  return field.value
}

const eventColumns = ["event_name", "timestamp", "customer_id", "external_customer_id", "idempotency_key"] as const

/**
 * A CSV header: the column names, checked (the event name and timestamp columns and at least one customer
 * column are required, names are unique and non-empty).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseCsvHeader = (text: string): Either.Either<ReadonlyArray<string>, string> =>
  Either.flatMap(parseCsvRecord(text.replace(/^\uFEFF/, "")), (fields) => {
    const names = fields.map((f) => f.value.trim())
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
    return Either.right(names)
  })

/**
 * One CSV row as an event, given the header: the event columns fill the event, the other columns its
 * properties (see {@link csvValue}).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseCsvRow = (
  header: ReadonlyArray<string>,
  text: string
): Either.Either<Backfill.IngestEvent, string> =>
  Either.flatMap(parseCsvRecord(text), (fields) => {
    if (fields.length !== header.length) {
      return Either.left(`expected ${header.length} fields as in the header, got ${fields.length}`)
    }
    const wire: Record<string, unknown> = {}
    const properties: Record<string, string | number | boolean> = {}
    for (const [index, name] of header.entries()) {
      const field = fields[index]
      if ((eventColumns as ReadonlyArray<string>).includes(name)) {
        if (field.value !== "") wire[name] = field.value
      } else {
        const value = csvValue(field)
        if (value !== undefined) properties[name] = value
      }
    }
    wire.properties = properties
    if (wire.timestamp !== undefined && !isIsoDateTime(wire.timestamp as string)) {
      return Either.left(badTimestamp(wire.timestamp))
    }
    return decodeWire(wire)
  })

/**
 * The lines of a file, numbered from 1, streamed in constant memory.
 *
 * @since 0.1.0
 * @category reading
 */
export const lines = (
  file: string
): Stream.Stream<readonly [text: string, line: number], InputError, FileSystem.FileSystem> =>
  Stream.unwrap(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(file).pipe(
      Effect.mapError((error) =>
        new InputError({
          file,
          reason: error._tag === "SystemError" && error.reason === "NotFound"
            ? "no such file"
            : `cannot read it (${error.message})`
        })
      )
    )
    if (info.type !== "File") return yield* new InputError({ file, reason: "not a regular file" })
    return fs.stream(file, { chunkSize: FileSystem.KiB(64) }).pipe(
      Stream.mapError((error) => new InputError({ file, reason: `cannot read it (${error.message})` })),
      Stream.decodeText(),
      Stream.splitLines,
      // Against the in-process simulator nothing waits on the network, and the event loop would turn only when
      // the file is read: a pause of one timer tick per chunk (a few hundred lines) lets it handle Ctrl-C.
      Stream.mapChunksEffect((chunk) => Effect.as(Effect.sleep(Duration.zero), chunk)),
      Stream.zipWithIndex,
      Stream.map(([text, index]) => [text, index + 1] as const)
    )
  }))

/**
 * The events of a file, one {@link ParsedLine} per non-blank line (a CSV's header excepted). The stream fails
 * only when the file cannot be read or a CSV header is unusable; a bad line is a `ParsedLine` holding the
 * reason, so the caller decides whether to stop, report or skip.
 *
 * @since 0.1.0
 * @category reading
 */
export const read = (
  file: string,
  format: Format
): Stream.Stream<ParsedLine, InputError, FileSystem.FileSystem> => {
  const nonBlank = lines(file).pipe(Stream.filter(([text]) => text.trim().length > 0))
  if (format === "ndjson") {
    return Stream.map(nonBlank, ([text, line]) => ({ line, event: parseNdjsonLine(text) }))
  }
  return nonBlank.pipe(
    Stream.mapAccumEffect(
      Option.none<ReadonlyArray<string>>(),
      (header, [text, line]): Effect.Effect<
        readonly [Option.Option<ReadonlyArray<string>>, Option.Option<ParsedLine>],
        InputError
      > =>
        Option.match(header, {
          onNone: () =>
            Either.match(parseCsvHeader(text), {
              onLeft: (reason) => Effect.fail(new InputError({ file, line, reason })),
              onRight: (names) => Effect.succeed([Option.some(names), Option.none()] as const)
            }),
          onSome: (names) => Effect.succeed([header, Option.some({ line, event: parseCsvRow(names, text) })] as const)
        })
    ),
    Stream.filterMap((line) => line)
  )
}

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
 * to one customer gets that customer; then the checks Orb makes (via `Backfills.validateEvent`), the
 * timeframe, and the scope's customer.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkEvent = (
  event: Backfill.IngestEvent,
  scope: Scope
): Either.Either<Backfill.IngestEvent, string> => {
  let filled = event
  if (event.customerId === undefined && event.externalCustomerId === undefined) {
    if (scope.customerId !== undefined) filled = { ...event, customerId: scope.customerId }
    else if (scope.externalCustomerId !== undefined) filled = { ...event, externalCustomerId: scope.externalCustomerId }
  }
  const problem = Backfills.validateEvent(filled, "event")
  if (Either.isLeft(problem)) {
    const field = problem.left.field.replace(/^event\.?/, "")
    return Either.left(`${snake(field)}: ${problem.left.reason}`)
  }
  const at = filled.timestamp.epochMillis
  if (at < scope.timeframeStart.epochMillis || at >= scope.timeframeEnd.epochMillis) {
    return Either.left(
      `timestamp: ${DateTime.formatIso(filled.timestamp)} is outside the timeframe [${
        DateTime.formatIso(scope.timeframeStart)
      }, ${DateTime.formatIso(scope.timeframeEnd)})`
    )
  }
  if (scope.customerId !== undefined && filled.customerId !== scope.customerId) {
    return Either.left(
      filled.customerId === undefined
        ? `customer_id: the backfill is scoped to customer ${scope.customerId}; this event names an external customer id`
        : `customer_id: ${filled.customerId} is not the backfill's customer (${scope.customerId})`
    )
  }
  if (scope.externalCustomerId !== undefined && filled.externalCustomerId !== scope.externalCustomerId) {
    return Either.left(
      filled.externalCustomerId === undefined
        ? `external_customer_id: the backfill is scoped to external customer ${scope.externalCustomerId}; this event names a customer id`
        : `external_customer_id: ${filled.externalCustomerId} is not the backfill's customer (${scope.externalCustomerId})`
    )
  }
  return Either.right(filled)
}

// The library names fields in camelCase; the file uses Orb's snake_case, so the messages follow the file.
const snake = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
