/**
 * Reading events from a file: NDJSON (one Orb ingest event per line, in Orb's snake_case) or CSV (a header
 * row, then one event per row), streamed line by line so that a file of millions of lines is read in
 * constant memory. Every problem is reported with the file name and the 1-based line number.
 *
 * @since 0.1.0
 */
import { type Backfill, Backfills } from "@effect-orb/backfills"
import * as FileSystem from "@effect/platform/FileSystem"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
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

/**
 * Parses one NDJSON line into an object, or says in one phrase what is wrong with it. The object's shape is
 * checked by {@link checkEvent}, after the run's customer is filled in.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseNdjsonLine = (text: string): Either.Either<Readonly<Record<string, unknown>>, string> => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return Either.left(`not valid JSON (${(error as Error).message})`)
  }
  if (!Predicate.isRecord(value) || Array.isArray(value)) return Either.left("expected a JSON object (one event)")
  return checkTimestampText(value)
}

// Stricter than the library (which reads a date-time without a zone as UTC, as Effect's Schema does): in a file,
// a missing zone is more likely a mistake than a promise of UTC.
const checkTimestampText = (
  value: Readonly<Record<string, unknown>>
): Either.Either<Readonly<Record<string, unknown>>, string> => {
  const timestamp = value.timestamp
  return timestamp !== undefined && (typeof timestamp !== "string" || !isIsoDateTime(timestamp))
    ? Either.left(badTimestamp(timestamp))
    : Either.right(value)
}

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
): Either.Either<Readonly<Record<string, unknown>>, string> =>
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
    return checkTimestampText(wire)
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
 * to one customer gets that customer; then the checks Orb makes, shape and rules (via
 * `Backfills.validateEncodedEvent`, as the run will check it), the timeframe, and the scope's customer. Gives
 * the event as it will be sent.
 *
 * @since 0.1.0
 * @category validation
 */
export const checkEvent = (
  event: Readonly<Record<string, unknown>>,
  scope: Scope
): Either.Either<WireEvent, string> => {
  let filled = event
  if (event.customer_id == null && event.external_customer_id == null) {
    if (scope.customerId !== undefined) filled = { ...event, customer_id: scope.customerId }
    else if (scope.externalCustomerId !== undefined) {
      filled = { ...event, external_customer_id: scope.externalCustomerId }
    }
  }
  const checked = Backfills.validateEncodedEvent(filled, "event")
  if (Either.isLeft(checked)) {
    const field = fileField(checked.left.field.replace(/^event\.?/, ""))
    return Either.left(field === "" ? checked.left.reason : `${field}: ${checked.left.reason}`)
  }
  const wire = checked.right
  // The library gives the timestamp as `toISOString` writes it.
  const at = Date.parse(wire.timestamp)
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
