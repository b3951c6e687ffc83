/**
 * Where a durable run's events come from: a source that can be read again from any point, so that a run resumed
 * after a crash reads exactly the events it had not finished, and that is pinned by its size and SHA-256, so that a
 * resume over a changed input is refused before anything of it is sent.
 *
 * @since 0.1.0
 */
import { Backfill } from "@effect-orb/backfills"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import type * as EventFile from "./EventFile.js"
import * as internal from "./internal/fileSource.js"
import * as files from "./internal/filesSource.js"
import * as named from "./internal/namedSource.js"
import { SourceError } from "./SourceError.js"

/**
 * What the events of a file source are checked against as they are read, as the command line checks a file
 * (`EventFile.checkEvent`): an event outside it is set aside like an unreadable line, and an event with no
 * customer key gets the scope's customer.
 *
 * @since 0.1.0
 * @category models
 */
export const FileScope = Schema.Struct({
  timeframeStart: Backfill.Timestamp,
  timeframeEnd: Backfill.Timestamp,
  customerId: Schema.optional(Schema.String),
  externalCustomerId: Schema.optional(Schema.String),
  /** Keep only the scoped customer's events: another customer's is left out, not set aside (`EventFile.Scope`). */
  only: Schema.optional(Schema.Boolean)
})

/**
 * A file of events as `EventFile` reads it, NDJSON (one event per line in Orb's wire form), CSV (a header row,
 * then one event per row), blank lines ignored, or Parquet (one event per row, read from any row), by path, with the size and SHA-256 it had when the run was
 * submitted.
 *
 * @since 0.1.0
 * @category models
 */
export class FileSource extends Schema.TaggedClass<FileSource>("@effect-orb/workflow/FileSource")("File", {
  /** An absolute path: the run may resume in another process, from another working directory. */
  path: Schema.String,
  format: Schema.Literal("ndjson", "csv", "parquet"),
  size: Schema.NonNegativeInt,
  /** Hex. */
  sha256: Schema.String,
  /**
   * For a gzip-compressed file: the size of its decompressed bytes, the unit of the run's offsets (`size` and
   * `sha256` stay the file's own bytes, as stored).
   */
  decompressedSize: Schema.optional(Schema.NonNegativeInt),
  /**
   * For a Parquet file: its number of rows, the unit of the run's offsets (a row, counting from 0).
   *
   * @since 0.2.0
   */
  rows: Schema.optional(Schema.NonNegativeInt),
  scope: Schema.optional(FileScope),
  /** Types for some of a CSV file's property columns (`EventFile.CsvTypes`). */
  csvTypes: Schema.optional(
    Schema.Record({ key: Schema.String, value: Schema.Literal("string", "number", "boolean") })
  )
}) {}

/**
 * A source of the library user's own, registered under a name in every process that may run it
 * ({@link layerSources}): its reader streams the events from any offset, the same events in the same order every
 * time, so that a run resumed after a crash reads exactly those it had not finished.
 *
 * @since 0.1.0
 * @category models
 */
export class NamedSource extends Schema.TaggedClass<NamedSource>("@effect-orb/workflow/NamedSource")("Named", {
  name: Schema.NonEmptyString,
  /** The reader's fingerprint at submission: a resume whose reader gives another is refused before anything is sent. */
  fingerprint: Schema.optional(Schema.String),
  /** How many events the reader said it holds at submission, when it knows: progress, and the default close time. */
  size: Schema.optional(Schema.NonNegativeInt)
}) {}

/**
 * Several files read as one source, in the order given (a warehouse's shards, a folder): each pinned by its own
 * size and SHA-256 and read by its own format, recognised from its own content (a gzip shard beside a plain one).
 * The run's offsets run through the files in order, each taking its own span (its bytes, a gzip file's decompressed
 * bytes), so that the journal's cursor says which file and where in it; a segment stays within one file, and every
 * file is checked against its pin before every segment: a file that changed or vanished fails the run, naming it,
 * before anything more is sent.
 *
 * @since 0.2.0
 * @category models
 */
export class FilesSource extends Schema.TaggedClass<FilesSource>("@effect-orb/workflow/FilesSource")("Files", {
  parts: Schema.NonEmptyArray(FileSource)
}) {}

/**
 * A replayable source of events: a file, several files, or a named source.
 *
 * @since 0.1.0
 * @category models
 */
export const RunSource = Schema.Union(FileSource, FilesSource, NamedSource)

/**
 * @since 0.1.0
 * @category models
 */
export type RunSource = typeof RunSource.Type

export {
  /**
   * The source could not be read, or is not the one the run was submitted with (the class of the `SourceError`
   * module).
   *
   * @since 0.1.0
   * @category errors
   */
  SourceError
} from "./SourceError.js"

/**
 * How to read a file source.
 *
 * @since 0.1.0
 * @category models
 */
export interface FileOptions {
  /** Default `"ndjson"`. */
  readonly format?: EventFile.Format | undefined
  /** Check (and complete) every event against this scope as it is read. */
  readonly scope?: EventFile.Scope | undefined
  /** Types for some of a CSV file's property columns, as `EventFile.read` takes them. */
  readonly csvTypes?: EventFile.CsvTypes | undefined
}

/**
 * A file as a source: its absolute path, size and SHA-256, read once, in constant memory. A gzip file is read
 * decompressed (its offsets in its decompressed bytes, whose size is counted here; a corrupt one is refused), a JSON
 * array element by element, a Parquet file (known by its content whatever `format` says) row by row, its offsets
 * rows (its footer read and its columns checked here); a file that is not NDJSON, CSV, a JSON array or Parquet (zstd,
 * ...) is refused from its first bytes, as `EventFile.read` refuses it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFile = (
  path: string,
  options: FileOptions = {}
): Effect.Effect<FileSource, SourceError | EventFile.UnsupportedFormat> =>
  Effect.map(
    Effect.zip(internal.recognise(path, options.format ?? "ndjson"), internal.fingerprint(path)),
    ([{ format, rows }, { decompressedSize, path, sha256, size }]) =>
      new FileSource({
        path,
        format,
        size,
        sha256,
        ...(decompressedSize !== undefined ? { decompressedSize } : {}),
        ...(rows !== undefined ? { rows } : {}),
        ...(options.scope !== undefined ? { scope: options.scope } : {}),
        ...(options.csvTypes !== undefined && Object.keys(options.csvTypes).length > 0
          ? { csvTypes: options.csvTypes }
          : {})
      })
  )

/**
 * Several files as one source, in the order given (see {@link FilesSource}), each as {@link fromFile} makes it: a
 * file given as a path is read with `options.format`, one given with its own format by that. The same file twice is
 * refused (its events would be read twice); so is an empty list.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromFiles = (
  paths: ReadonlyArray<string | { readonly path: string; readonly format: EventFile.Format }>,
  options: FileOptions = {}
): Effect.Effect<FilesSource, SourceError | EventFile.UnsupportedFormat> =>
  Effect.gen(function*() {
    const parts: Array<FileSource> = []
    for (const entry of paths) {
      const file = typeof entry === "string" ? { path: entry, format: options.format } : entry
      const part = yield* fromFile(file.path, { ...options, format: file.format })
      const twice = parts.find((earlier) => earlier.path === part.path)
      if (twice !== undefined) {
        return yield* new SourceError({
          source: part.path,
          reason: "unreadable",
          detail: "it is given twice, and its events would be read twice"
        })
      }
      parts.push(part)
    }
    const [first, ...rest] = parts
    if (first === undefined) {
      return yield* new SourceError({ source: "the run's files", reason: "unreadable", detail: "no file is given" })
    }
    return new FilesSource({ parts: [first, ...rest] })
  })

/**
 * What pins a file source's bytes, for a run key: a file's SHA-256; for several files, the SHA-256 of their
 * SHA-256s in order (the same files in another order are another run); `undefined` for a named source.
 *
 * @since 0.2.0
 * @category reading
 */
export const sha256Of = (source: RunSource): string | undefined =>
  source._tag === "File"
    ? source.sha256
    : source._tag === "Files"
    ? files.sha256Of(source)
    : undefined

/**
 * How a named source is read. Whatever it reads from (a database, an object store, an API) must give the same events
 * in the same order for the same offset in every process and every attempt: a segment is read again after a crash.
 * Events without an idempotency key get one derived from their content, so a segment sent again is counted once.
 *
 * @since 0.1.0
 * @category models
 */
export interface NamedReader {
  /** The events from the `offset`-th (counting from 0) to the end. Its failures are `SourceError`s naming the source. */
  readonly events: (offset: number) => Stream.Stream<Backfill.IngestEvent, unknown>
  /**
   * What identifies the events now (a version, an ETag, a content hash), asked at submission and before the first
   * segment in each process: a difference refuses the run (`SourceError` `changed`). Without it, nothing is checked.
   */
  readonly fingerprint?: Effect.Effect<string, unknown> | undefined
  /** How many events the source holds, when known. */
  readonly size?: Effect.Effect<number, unknown> | undefined
}

/**
 * The named sources of this process, by name.
 *
 * @since 0.1.0
 * @category tags
 */
export class Sources extends Context.Tag("@effect-orb/workflow/RunSource/Sources")<
  Sources,
  ReadonlyMap<string, NamedReader>
>() {}

/**
 * Registers named sources. Provide it to the durable run's layer (`DurableRun.layer`) in every process that may
 * execute or resume a run that uses them.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSources = (readers: Readonly<Record<string, NamedReader>>): Layer.Layer<Sources> =>
  Layer.succeed(Sources, new Map(Object.entries(readers)))

/**
 * A registered named source as a run's source, with its fingerprint and size as its reader gives them now.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromNamed = (name: string): Effect.Effect<NamedSource, SourceError> =>
  Effect.flatMap(
    Effect.serviceOption(Sources),
    (sources) => Effect.map(named.describe(sources, name), (fields) => new NamedSource(fields))
  )

/**
 * How a place in a source reads in a message: `line 12` of a file, `row 12` of a Parquet file, `event 12` of a
 * named source; of several files, `/data/part-2.ndjson:12` (`/data/part-3.parquet row 12`), the file found from
 * the segment's `offset` (a segment stays within one file).
 *
 * @since 0.1.0
 * @category reading
 */
export const where = (source: RunSource, line: number, offset = 0): string => {
  if (source._tag === "Named") return `event ${line}`
  if (source._tag === "File") return `${source.format === "parquet" ? "row" : "line"} ${line}`
  const part = files.partAt(source, offset).part
  return part.format === "parquet" ? `${part.path} row ${line}` : `${part.path}:${line}`
}

/**
 * The name of a source in messages and listings: a file's path, a named source's name; several files by the first
 * and how many more.
 *
 * @since 0.1.0
 * @category reading
 */
export const nameOf = (source: RunSource): string =>
  source._tag === "File"
    ? source.path
    : source._tag === "Files"
    ? files.nameOf(source)
    : source.name

/**
 * The size of a source in the unit of its offsets (the share of it done is an offset over this): a file's bytes (a
 * gzip file's decompressed bytes), the sum of several files', a named source's events when it said.
 *
 * @since 0.2.0
 * @category reading
 */
export const extentOf = (source: RunSource): number | undefined =>
  source._tag === "File"
    ? internal.extentOf(source)
    : source._tag === "Files"
    ? files.extentOf(source)
    : source.size

/**
 * Up to `maxEvents` events of a source from `offset` (a file's byte offset, at line `line` counting from 1; a named
 * source's event offset, `line` being `offset + 1`), and where the next segment begins.
 *
 * @since 0.1.0
 * @category models
 */
export interface Segment {
  /** The parsed events, in wire form, each with the line (of a named source: the event number) it came from. */
  readonly events: ReadonlyArray<unknown>
  readonly lines: ReadonlyArray<number>
  /** Lines that hold no event (or, with a scope, an event outside it), with why. */
  readonly unreadable: ReadonlyArray<{ readonly line: number; readonly reason: string }>
  readonly next: number
  readonly nextLine: number
  readonly eof: boolean
}

/**
 * Reads one segment of a source, after checking that it is still the one submitted.
 *
 * @since 0.1.0
 * @category reading
 */
export const readSegment = (
  source: RunSource,
  from: { readonly offset: number; readonly line: number },
  maxEvents: number
): Effect.Effect<Segment, SourceError> =>
  source._tag === "File"
    ? internal.readSegment(source, from, maxEvents)
    : source._tag === "Files"
    ? files.readSegment(source, from, maxEvents)
    : Effect.flatMap(Effect.serviceOption(Sources), (sources) => named.readSegment(sources, source, from, maxEvents))
