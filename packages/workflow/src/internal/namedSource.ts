/**
 * Reading a named source: the events its registered reader streams from an offset, taken a segment at a time and
 * put in Orb's wire form, after checking that the reader's fingerprint is still the submitted one.
 */
import { Backfill } from "@effect-orb/backfills"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as RunSource from "../RunSource.js"
import { SourceError } from "../SourceError.js"

/** The registered readers, when any were. */
type Readers = Option.Option<ReadonlyMap<string, RunSource.NamedReader>>

const label = (name: string) => `source ${JSON.stringify(name)}`

const unreadable = (name: string, detail: string) =>
  new SourceError({ source: label(name), reason: "unreadable", detail })

const detailOf = (error: unknown) =>
  error instanceof SourceError
    ? error.detail
    : error instanceof Error || (typeof error === "object" && error !== null && "message" in error)
    ? String((error as { message: unknown }).message)
    : String(error)

/** The reader registered under `name` in this process. */
const reader = (sources: Readers, name: string): Effect.Effect<RunSource.NamedReader, SourceError> => {
  const found = Option.flatMapNullable(sources, (map) => map.get(name))
  return Option.isSome(found) ? Effect.succeed(found.value) : Effect.fail(unreadable(
    name,
    "no source of that name is registered in this process (provide RunSource.layerSources to the durable run's " +
      "layer wherever runs may resume)"
  ))
}

/** The reader's fingerprint now, as its errors are SourceErrors naming it. */
const fingerprint = (name: string, reader: RunSource.NamedReader) =>
  reader.fingerprint === undefined
    ? Effect.succeed(undefined)
    : Effect.mapError(reader.fingerprint, (error) => unreadable(name, `its fingerprint: ${detailOf(error)}`))

/** A registered source's fingerprint and size now, for its `NamedSource`. */
export const describe = (sources: Readers, name: string) =>
  Effect.gen(function*() {
    const named = yield* reader(sources, name)
    const fingerprinted = yield* fingerprint(name, named)
    const size = named.size === undefined ? undefined : yield* Effect.mapError(
      named.size,
      (error) => unreadable(name, `its size: ${detailOf(error)}`)
    )
    return {
      name,
      ...(fingerprinted !== undefined ? { fingerprint: fingerprinted } : {}),
      ...(size !== undefined ? { size: Math.max(0, Math.floor(size)) } : {})
    }
  })

// A source's fingerprint is asked once per process and name (a resume checks it before its first segment).
const verified = new Set<string>()

const verify = (source: RunSource.NamedSource, reader: RunSource.NamedReader) =>
  Effect.gen(function*() {
    if (source.fingerprint === undefined) return
    const key = `${source.name}\n${source.fingerprint}`
    if (verified.has(key)) return
    const now = yield* fingerprint(source.name, reader)
    if (now !== source.fingerprint) {
      return yield* new SourceError({
        source: label(source.name),
        reason: "changed",
        detail: `fingerprint ${now ?? "(none)"}, submitted with ${source.fingerprint}`
      })
    }
    verified.add(key)
  })

const encode = Schema.encodeEither(Backfill.IngestEvent)

/** Up to `maxEvents` events from the `from.offset`-th: `lines` count events from 1. */
export const readSegment = (
  sources: Readers,
  source: RunSource.NamedSource,
  from: { readonly offset: number },
  maxEvents: number
): Effect.Effect<RunSource.Segment, SourceError> =>
  Effect.gen(function*() {
    const named = yield* reader(sources, source.name)
    yield* verify(source, named)
    const taken = yield* Stream.runCollect(Stream.take(named.events(from.offset), maxEvents)).pipe(
      Effect.mapError((error) => unreadable(source.name, `from event ${from.offset + 1}: ${detailOf(error)}`)),
      // A reader that throws is a failure of the source, not of the run's machinery.
      Effect.catchAllDefect((defect) =>
        Effect.fail(unreadable(source.name, `from event ${from.offset + 1}: ${detailOf(defect)}`))
      )
    )
    const events: Array<unknown> = []
    const lines: Array<number> = []
    const unreadableEvents: Array<{ line: number; reason: string }> = []
    let position = from.offset
    for (const event of Chunk.toReadonlyArray(taken)) {
      position++
      Either.match(encode(event), {
        onLeft: (error) =>
          unreadableEvents.push({ line: position, reason: ParseResult.TreeFormatter.formatErrorSync(error) }),
        onRight: (wire) => {
          events.push(wire)
          lines.push(position)
        }
      })
    }
    return {
      events,
      lines,
      unreadable: unreadableEvents,
      next: position,
      nextLine: position + 1,
      // Fewer than asked for: the stream has ended. Exactly as many: the next segment finds out, perhaps empty.
      eof: taken.length < maxEvents
    }
  })
