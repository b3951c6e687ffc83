/**
 * Where a durable run's events come from: a source that can be read again from any point, so that a run resumed
 * after a crash reads exactly the events it had not finished, and that is pinned by its size and SHA-256, so that a
 * resume over a changed input is refused before anything of it is sent.
 *
 * @since 0.1.0
 */
import { Backfill } from "@effect-orb/backfills"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as EventFile from "./EventFile.js"
import * as internal from "./internal/fileSource.js"

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
  externalCustomerId: Schema.optional(Schema.String)
})

/**
 * A file of events as `EventFile` reads it, NDJSON (one event per line in Orb's wire form) or CSV (a header row,
 * then one event per row), blank lines ignored, by path, with the size and SHA-256 it had when the run was
 * submitted.
 *
 * @since 0.1.0
 * @category models
 */
export class FileSource extends Schema.TaggedClass<FileSource>("@effect-orb/workflow/FileSource")("File", {
  /** An absolute path: the run may resume in another process, from another working directory. */
  path: Schema.String,
  format: Schema.Literal("ndjson", "csv"),
  size: Schema.NonNegativeInt,
  /** Hex. */
  sha256: Schema.String,
  scope: Schema.optional(FileScope)
}) {}

/**
 * A replayable source of events.
 *
 * @since 0.1.0
 * @category models
 */
export const RunSource = Schema.Union(FileSource)

/**
 * @since 0.1.0
 * @category models
 */
export type RunSource = typeof RunSource.Type

/**
 * The source could not be read, or is not the one the run was submitted with.
 *
 * @since 0.1.0
 * @category errors
 */
export class SourceError extends Schema.TaggedError<SourceError>("@effect-orb/workflow/SourceError")("SourceError", {
  path: Schema.String,
  /** `changed`: its size or SHA-256 differ from the submitted ones; `unreadable`: it cannot be read. */
  reason: Schema.Literal("changed", "unreadable"),
  detail: Schema.String
}) {
  override get message() {
    return this.reason === "changed"
      ? `${this.path} changed since the run was submitted (${this.detail}); nothing of it was sent`
      : `${this.path} cannot be read: ${this.detail}`
  }
}

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
}

/**
 * A file as a source: its absolute path, size and SHA-256, read once, in constant memory.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFile = (path: string, options: FileOptions = {}): Effect.Effect<FileSource, SourceError> =>
  Effect.map(
    internal.fingerprint(path),
    ({ path, sha256, size }) =>
      new FileSource({
        path,
        format: options.format ?? "ndjson",
        size,
        sha256,
        ...(options.scope !== undefined ? { scope: options.scope } : {})
      })
  )

/**
 * Up to `maxEvents` events of a source from byte `offset` (line `line`, counting from 1), and where the next
 * segment begins.
 *
 * @since 0.1.0
 * @category models
 */
export interface Segment {
  /** The parsed events, in wire form, each with the line it came from. */
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
): Effect.Effect<Segment, SourceError> => internal.readSegment(source, from, maxEvents)
