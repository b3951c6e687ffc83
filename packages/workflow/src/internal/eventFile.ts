/**
 * Reading event files, NDJSON and CSV, line by line in constant memory: the one reader of the command line's
 * validation and run passes and of a durable run's file source.
 */
import { Backfill, Backfills } from "@effect-orb/backfills"
import * as FileSystem from "@effect/platform/FileSystem"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as EventFile from "../EventFile.js"

/** Kept in the .d.ts (not marked internal): `EventFile.InputError`'s declaration names it. */
export class InputError
  extends Schema.TaggedError<InputError>("@effect-orb/workflow/EventFile/InputError")("InputError", {
    file: Schema.String,
    line: Schema.optional(Schema.Number),
    reason: Schema.String
  })
{
  override get message() {
    return this.line === undefined ? `${this.file}: ${this.reason}` : `${this.file}:${this.line}: ${this.reason}`
  }
}

/** @internal */
export const formatOf = (
  file: string,
  explicit?: EventFile.Format | undefined
): Either.Either<EventFile.Format, InputError> => {
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

/** @internal */
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

/** @internal */
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

/** @internal */
export const csvValue = (field: EventFile.CsvField): string | number | boolean | undefined => {
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

/** @internal */
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

/** @internal */
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
    return Either.right(wire)
  })

/** @internal */
export const lineTooLong = `the line is longer than ${
  Backfill.maxEventBytes.toLocaleString("en-US")
} bytes; an event may be at most that`

/**
 * A line as the splitter gives it: its text (`undefined` when too long), its number, and the byte after it.
 *
 * @internal
 */
export interface SplitLine {
  readonly text: string | undefined
  readonly line: number
  /** The offset in the file just past the line's newline (or the file's end): where the next line begins. */
  readonly end: number
}

/**
 * Splits a stream of bytes into numbered lines (LF or CRLF), holding at most `maxBytes` of a line: a longer line
 * is skipped to its end, never held whole, and given as `undefined`. Each chunk is decoded once; its newlines are
 * found both in the text (to cut it) and in the bytes (to count them and know where each line ends): UTF-8 never
 * has a newline byte inside a character, so both find the same newlines in the same order. `from` is where the
 * bytes begin in the file, so that a reader may start at any line.
 *
 * @internal
 */
export const lineSplitter = (
  maxBytes: number,
  from: { readonly offset: number; readonly line: number } = { offset: 0, line: 1 }
) => {
  const decoder = new TextDecoder()
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
    out.push({ text: text !== undefined && pendingBytes > maxBytes ? undefined : text, line, end })
    pending = ""
    pendingBytes = 0
    skipping = false
  }
  const push = (bytes: Uint8Array): Array<SplitLine> => {
    const out: Array<SplitLine> = []
    const text = decoder.decode(bytes, { stream: true })
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
    const rest = decoder.decode()
    if (pending.length > 0 || rest.length > 0 || skipping) {
      emit(out, rest, position)
    }
    return out
  }
  return { push, end }
}

/** The lines of a file with where each ends, streamed in constant memory. */
const splitLines = (file: string): Stream.Stream<SplitLine, InputError, FileSystem.FileSystem> =>
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
    const splitter = lineSplitter(Backfill.maxEventBytes)
    return fs.stream(file, { chunkSize: FileSystem.KiB(64) }).pipe(
      Stream.mapError((error) => new InputError({ file, reason: `cannot read it (${error.message})` })),
      Stream.mapConcat(splitter.push),
      Stream.concat(Stream.suspend(() => Stream.fromIterable(splitter.end()))),
      // Against the in-process simulator nothing waits on the network, and the event loop would turn only when
      // the file is read: a pause of one timer tick per chunk (a few hundred lines) lets it handle Ctrl-C.
      Stream.mapChunksEffect((chunk) => Effect.as(Effect.sleep(Duration.zero), chunk))
    )
  }))

/** @internal */
export const lines = (
  file: string
): Stream.Stream<readonly [text: string | undefined, line: number], InputError, FileSystem.FileSystem> =>
  Stream.map(splitLines(file), ({ line, text }) => [text, line] as const)

/** Whether a line holds nothing: blank lines are skipped, and still counted. @internal */
export const isBlank = (text: string | undefined): boolean => text !== undefined && text.trim().length === 0

/** @internal */
export const parseLine = (
  text: string | undefined,
  header: ReadonlyArray<string> | undefined
): Either.Either<Readonly<Record<string, unknown>>, string> =>
  text === undefined
    ? Either.left(lineTooLong)
    : header === undefined
    ? parseNdjsonLine(text)
    : parseCsvRow(header, text)

/** @internal */
export const headerOf = (text: string | undefined): Either.Either<ReadonlyArray<string>, string> =>
  text === undefined ? Either.left(`header: ${lineTooLong}`) : parseCsvHeader(text)

/** @internal */
export const read = (
  file: string,
  format: EventFile.Format
): Stream.Stream<EventFile.ParsedLine, InputError, FileSystem.FileSystem> => {
  const nonBlank = lines(file).pipe(Stream.filter(([text]) => !isBlank(text)))
  if (format === "ndjson") {
    return Stream.map(nonBlank, ([text, line]) => ({ line, event: parseLine(text, undefined) }))
  }
  return nonBlank.pipe(
    Stream.mapAccumEffect(
      Option.none<ReadonlyArray<string>>(),
      (header, [text, line]): Effect.Effect<
        readonly [Option.Option<ReadonlyArray<string>>, Option.Option<EventFile.ParsedLine>],
        InputError
      > =>
        Option.match(header, {
          onNone: () =>
            Either.match(headerOf(text), {
              onLeft: (reason) => Effect.fail(new InputError({ file, line, reason })),
              onRight: (names) => Effect.succeed([Option.some(names), Option.none()] as const)
            }),
          onSome: (names) => Effect.succeed([header, Option.some({ line, event: parseLine(text, names) })] as const)
        })
    ),
    Stream.filterMap((line) => line)
  )
}

/** @internal */
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
