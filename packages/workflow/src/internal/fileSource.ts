/**
 * Reading an NDJSON file from any byte offset, in constant memory, and pinning it by size and SHA-256.
 */
import { Backfill } from "@effect-orb/backfills"
import * as Effect from "effect/Effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import type * as RunSource from "../RunSource.js"
import { SourceError } from "../RunSource.js"

const unreadable = (file: string, error: unknown) =>
  new SourceError({ path: file, reason: "unreadable", detail: error instanceof Error ? error.message : String(error) })

/** The absolute path, size and SHA-256 of a file, read as a stream. */
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
    stream.on("end", () => resume(Effect.succeed({ path: absolute, size, sha256: hash.digest("hex") })))
    return Effect.sync(() => stream.destroy())
  })

// A run reads its source again in every process it runs in; the whole file is hashed once per process, and its
// size checked before every segment.
const verified = new Set<string>()

const verify = (source: RunSource.FileSource): Effect.Effect<void, SourceError> =>
  Effect.gen(function*() {
    const stat = yield* Effect.try({ try: () => fs.statSync(source.path), catch: (e) => unreadable(source.path, e) })
    if (stat.size !== source.size) {
      return yield* new SourceError({
        path: source.path,
        reason: "changed",
        detail: `${stat.size} bytes, submitted with ${source.size}`
      })
    }
    const key = `${source.path}\n${source.size}\n${source.sha256}`
    if (verified.has(key)) return
    const now = yield* fingerprint(source.path)
    if (now.sha256 !== source.sha256) {
      return yield* new SourceError({
        path: source.path,
        reason: "changed",
        detail: `SHA-256 ${now.sha256}, submitted with ${source.sha256}`
      })
    }
    verified.add(key)
  })

const chunkBytes = 64 * 1024
// A line longer than an event may be is refused without holding more of it than this.
const maxLineBytes = Backfill.maxEventBytes

/** Up to `maxEvents` events from byte `offset` (line `line`), read in chunks. */
export const readSegment = (
  source: RunSource.RunSource,
  from: { readonly offset: number; readonly line: number },
  maxEvents: number
): Effect.Effect<RunSource.Segment, SourceError> =>
  Effect.zipRight(
    verify(source),
    Effect.try({
      try: () => {
        const fd = fs.openSync(source.path, "r")
        try {
          return readLines(fd, source.size, from, maxEvents)
        } finally {
          fs.closeSync(fd)
        }
      },
      catch: (e) => unreadable(source.path, e)
    })
  )

const decoder = new TextDecoder("utf-8", { fatal: true })

const readLines = (
  fd: number,
  size: number,
  from: { readonly offset: number; readonly line: number },
  maxEvents: number
): RunSource.Segment => {
  const events: Array<unknown> = []
  const lines: Array<number> = []
  const unreadableLines: Array<{ line: number; reason: string }> = []
  const buffer = Buffer.alloc(chunkBytes)
  let offset = from.offset
  let line = from.line
  // The bytes of the current line read so far (or only its length, once it is known to be too long).
  let pending: Array<Buffer> = []
  let pendingBytes = 0
  let position = offset
  const endLine = (end: number) => {
    if (pendingBytes > maxLineBytes) {
      unreadableLines.push({
        line,
        reason: `the line is ${pendingBytes} bytes; an event may be at most ${maxLineBytes}`
      })
    } else if (pendingBytes > 0) {
      const bytes = Buffer.concat(pending, pendingBytes)
      let text: string
      try {
        text = decoder.decode(bytes).trim()
      } catch {
        text = ""
        unreadableLines.push({ line, reason: "not valid UTF-8" })
      }
      if (text.length > 0) {
        try {
          const value: unknown = JSON.parse(text)
          if (typeof value === "object" && value !== null && !Array.isArray(value)) {
            events.push(value)
            lines.push(line)
          } else {
            unreadableLines.push({ line, reason: "not a JSON object" })
          }
        } catch (error) {
          unreadableLines.push({ line, reason: `not JSON (${(error as Error).message})` })
        }
      }
    }
    pending = []
    pendingBytes = 0
    line++
    offset = end
  }
  while (events.length + unreadableLines.length < maxEvents && position < size) {
    const read = fs.readSync(fd, buffer, 0, Math.min(chunkBytes, size - position), position)
    if (read === 0) break
    let start = 0
    for (let i = 0; i < read; i++) {
      if (buffer[i] !== 10) continue
      const piece = i - start
      if (pendingBytes + piece <= maxLineBytes) pending.push(Buffer.from(buffer.subarray(start, i)))
      pendingBytes += piece
      endLine(position + i + 1)
      start = i + 1
      if (events.length + unreadableLines.length >= maxEvents) break
    }
    if (events.length + unreadableLines.length >= maxEvents) break
    const rest = read - start
    if (pendingBytes + rest <= maxLineBytes) pending.push(Buffer.from(buffer.subarray(start, read)))
    pendingBytes += rest
    position += read
  }
  // The last line may have no newline.
  if (events.length + unreadableLines.length < maxEvents && pendingBytes > 0 && position >= size) endLine(size)
  return { events, lines, unreadable: unreadableLines, next: offset, nextLine: line, eof: offset >= size }
}
