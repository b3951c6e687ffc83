/**
 * Reading an event file (NDJSON or CSV, by `EventFile`'s reader) from any byte offset, in constant memory, and
 * pinning it by size and SHA-256.
 */
import { Backfill } from "@effect-orb/backfills"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import type * as EventFileApi from "../EventFile.js"
import type * as RunSource from "../RunSource.js"
import { SourceError } from "../SourceError.js"
import * as EventFile from "./eventFile.js"

// A run reads its source again in every process it runs in; the whole file is hashed once per process, and its
// size checked before every segment.
const verified = new Set<string>()

const chunkBytes = 64 * 1024

const unreadable = (file: string, error: unknown) =>
  new SourceError({
    source: file,
    reason: "unreadable",
    detail: error instanceof Error ? error.message : String(error)
  })

/** The absolute path, size and SHA-256 of a file, read as a stream. @internal */
export const fingerprint = (file: string): Effect.Effect<
  { readonly path: string; readonly size: number; readonly sha256: string },
  SourceError
> =>
  Effect.async((resume) => {
    const absolute = path.resolve(file)
    const hash = crypto.createHash("sha256")
    let size = 0
    const stream = fs.createReadStream(absolute)
    stream.on("data", (chunk) => {
      size += chunk.length
      hash.update(chunk)
    })
    stream.on("error", (error) => resume(Effect.fail(unreadable(absolute, error))))
    stream.on("end", () => {
      const sha256 = hash.digest("hex")
      // This process has just read the file whole: its first segment need not read it again.
      verified.add(`${absolute}\n${size}\n${sha256}`)
      resume(Effect.succeed({ path: absolute, size, sha256 }))
    })
    return Effect.sync(() => stream.destroy())
  })

/** Refuses a file that is not NDJSON or CSV from its first bytes, as `EventFile`'s reader does. @internal */
export const recognise = (
  file: string,
  format: RunSource.FileSource["format"]
): Effect.Effect<void, SourceError | EventFile.UnsupportedFormat> =>
  Effect.flatMap(
    Effect.try({
      try: () => {
        const fd = fs.openSync(file, "r")
        try {
          const buffer = Buffer.alloc(chunkBytes)
          return EventFile.detect(buffer.subarray(0, fs.readSync(fd, buffer, 0, chunkBytes, 0)), format)
        } finally {
          fs.closeSync(fd)
        }
      },
      catch: (e) => unreadable(path.resolve(file), e)
    }),
    (detected) => detected === undefined ? Effect.void : new EventFile.UnsupportedFormat({ file, detected })
  )

const verify = (source: RunSource.FileSource): Effect.Effect<void, SourceError> =>
  Effect.gen(function*() {
    const stat = yield* Effect.try({ try: () => fs.statSync(source.path), catch: (e) => unreadable(source.path, e) })
    if (stat.size !== source.size) {
      return yield* new SourceError({
        source: source.path,
        reason: "changed",
        detail: `${stat.size} bytes, submitted with ${source.size}`
      })
    }
    const key = `${source.path}\n${source.size}\n${source.sha256}`
    if (verified.has(key)) return
    const now = yield* fingerprint(source.path)
    if (now.sha256 !== source.sha256) {
      return yield* new SourceError({
        source: source.path,
        reason: "changed",
        detail: `SHA-256 ${now.sha256}, submitted with ${source.sha256}`
      })
    }
    verified.add(key)
  })

/** Up to `maxEvents` events from byte `offset` (line `line`), read in chunks. @internal */
export const readSegment = (
  source: RunSource.FileSource,
  from: { readonly offset: number; readonly line: number },
  maxEvents: number
): Effect.Effect<RunSource.Segment, SourceError> =>
  Effect.zipRight(
    verify(source),
    Effect.flatMap(DateTime.now, (now) =>
      Effect.try({
        try: () => {
          const fd = fs.openSync(source.path, "r")
          try {
            return readLines(fd, source, from, maxEvents, now)
          } finally {
            fs.closeSync(fd)
          }
        },
        catch: (e) => e instanceof SourceError ? e : unreadable(source.path, e)
      }))
  )

/** Feeds the file's bytes from `from` to `EventFile`'s line splitter until `take` says stop. */
const eachLine = (
  fd: number,
  source: RunSource.FileSource,
  from: { readonly offset: number; readonly line: number },
  take: (line: EventFile.SplitLine) => boolean
) => {
  const size = source.size
  const splitter = EventFile.recordSplitter(Backfill.maxEventBytes, source.format, from)
  const buffer = Buffer.alloc(chunkBytes)
  let position = from.offset
  while (position < size) {
    const read = fs.readSync(fd, buffer, 0, Math.min(chunkBytes, size - position), position)
    if (read === 0) break
    position += read
    for (const line of splitter.push(buffer.subarray(0, read))) if (!take(line)) return
  }
  for (const line of splitter.end()) if (!take(line)) return
}

/** A CSV's header: its first non-blank line, read from the start, whatever the segment's offset. */
const csvHeader = (fd: number, source: RunSource.FileSource) => {
  let header: { names: EventFileApi.CsvHeader; end: number; line: number } | undefined
  let failure: string | undefined
  eachLine(fd, source, { offset: 0, line: 1 }, (line) => {
    if (EventFile.isBlank(line.text)) return true
    Either.match(EventFile.headerOf(line.text, source.csvTypes), {
      onLeft: (reason) => (failure = `line ${line.line}: ${reason}`),
      onRight: (names) => (header = { names, end: line.end, line: line.last })
    })
    return false
  })
  if (header === undefined) {
    throw new SourceError({
      source: source.path,
      reason: "unreadable",
      detail: failure ?? "the CSV file has no header"
    })
  }
  return header
}

const readLines = (
  fd: number,
  source: RunSource.FileSource,
  from: { readonly offset: number; readonly line: number },
  maxEvents: number,
  now: DateTime.Utc
): RunSource.Segment => {
  const events: Array<unknown> = []
  const lines: Array<number> = []
  const unreadableLines: Array<{ line: number; reason: string }> = []
  let start = from
  let header: EventFileApi.CsvHeader | undefined
  if (source.format === "csv") {
    const found = csvHeader(fd, source)
    header = found.names
    if (from.offset < found.end) start = { offset: found.end, line: found.line + 1 }
  }
  let next = start
  eachLine(fd, source, start, (line) => {
    next = { offset: line.end, line: line.last + 1 }
    if (EventFile.isBlank(line.text)) return true
    const event = Either.flatMap(
      EventFile.parseLine(line.text, header),
      (event): Either.Either<unknown, string> =>
        source.scope === undefined ? Either.right(event) : EventFile.checkEvent(event, source.scope, now)
    )
    if (Either.isRight(event)) {
      events.push(event.right)
      lines.push(line.line)
    } else {
      unreadableLines.push({ line: line.line, reason: event.left })
    }
    return events.length + unreadableLines.length < maxEvents
  })
  return {
    events,
    lines,
    unreadable: unreadableLines,
    next: next.offset,
    nextLine: next.line,
    eof: next.offset >= source.size
  }
}
