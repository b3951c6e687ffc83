/**
 * Reading an event file (NDJSON or CSV, by `EventFile`'s reader) from any byte offset, or a Parquet file from any
 * row, in constant memory, and pinning it by size and SHA-256. A gzip-compressed file's offsets are in its decompressed bytes: a segment
 * continues the decompression where the previous one in this process stopped, and otherwise (after a crash, in
 * another process) decompresses from the start to its offset, so that a resume reads exactly the same events.
 */
import { Backfill } from "@effect-orb/backfills"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import * as nodeStream from "node:stream"
import * as zlib from "node:zlib"
import type * as EventFileApi from "../EventFile.js"
import type * as RunSource from "../RunSource.js"
import { SourceError } from "../SourceError.js"
import * as EventFile from "./eventFile.js"
import * as FileHash from "./fileHash.js"
import * as ParquetFile from "./parquetFile.js"

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

const isGzip = (bytes: Uint8Array) => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b

/** The first bytes of a file. */
const headOf = (file: string): Buffer => {
  const fd = fs.openSync(file, "r")
  try {
    const buffer = Buffer.alloc(chunkBytes)
    return buffer.subarray(0, fs.readSync(fd, buffer, 0, chunkBytes, 0))
  } finally {
    fs.closeSync(fd)
  }
}

const gzipBroken = (file: string, error: unknown) =>
  new SourceError({
    source: file,
    reason: "unreadable",
    detail: (error as { code?: string }).code === "Z_BUF_ERROR"
      ? "the gzip data is truncated (the file ends inside it)"
      : `the gzip data is corrupt (${error instanceof Error ? error.message : String(error)})`
  })

/** A file's pin as this process has just read it whole: its first segment need not read it again. */
const pinned = <A extends { readonly path: string; readonly size: number; readonly sha256: string }>(pin: A): A => {
  verified.add(`${pin.path}\n${pin.size}\n${pin.sha256}`)
  return pin
}

/**
 * The absolute path, size and SHA-256 of a file, read whole (`fileHash.ts`: a big one on a worker thread); for a
 * gzip file, also the size of its decompressed bytes (decompressed as it is read: a corrupt one is refused here,
 * before it is a source).
 */
export const fingerprint = (file: string): Effect.Effect<
  {
    readonly path: string
    readonly size: number
    readonly sha256: string
    readonly decompressedSize?: number | undefined
  },
  SourceError
> => {
  const absolute = path.resolve(file)
  return Effect.flatMap(
    Effect.try({
      try: () => ({ gzip: isGzip(headOf(absolute)), size: fs.statSync(absolute).size }),
      catch: (e) => unreadable(absolute, e)
    }),
    ({ gzip, size }) =>
      gzip ? gzipFingerprint(absolute) : FileHash.hashFile(absolute, size).pipe(
        Effect.mapError((e) => unreadable(absolute, e)),
        Effect.map(({ sha256, size }) => pinned({ path: absolute, size, sha256 }))
      )
  )
}

/** A gzip file's pin: its bytes hashed as they are read, and decompressed to count its decompressed bytes. */
const gzipFingerprint = (absolute: string) =>
  Effect.async<
    { readonly path: string; readonly size: number; readonly sha256: string; readonly decompressedSize: number },
    SourceError
  >((resume) => {
    const hash = crypto.createHash("sha256")
    let size = 0
    let decompressedSize = 0
    const stream = fs.createReadStream(absolute, { highWaterMark: FileHash.chunkBytes })
    stream.on("data", (chunk) => {
      size += chunk.length
      hash.update(chunk)
    })
    const gunzip = zlib.createGunzip()
    let failed = false
    const fail = (error: SourceError) => {
      if (failed) return
      failed = true
      stream.destroy()
      gunzip.destroy()
      resume(Effect.fail(error))
    }
    stream.on("error", (error) => fail(unreadable(absolute, error)))
    gunzip.on("error", (error) => fail(gzipBroken(absolute, error)))
    gunzip.on("data", (chunk: Buffer) => (decompressedSize += chunk.length))
    gunzip.on("end", () => {
      if (!failed) {
        resume(Effect.succeed(pinned({ path: absolute, size, sha256: hash.digest("hex"), decompressedSize })))
      }
    })
    stream.pipe(gunzip)
    return Effect.sync(() => {
      stream.destroy()
      gunzip.destroy()
    })
  })

/**
 * Refuses a file that is not NDJSON, CSV, a JSON array or Parquet from its first bytes, as `EventFile`'s reader
 * does, and gives the format it is read in: Parquet by its content (`PAR1`) whatever `format` says, with its number
 * of rows (its footer read and its columns checked here, so that a truncated file is refused before it is a source).
 */
export const recognise = (
  file: string,
  format: RunSource.FileSource["format"]
): Effect.Effect<
  { readonly format: RunSource.FileSource["format"]; readonly rows?: number | undefined },
  SourceError | EventFile.UnsupportedFormat
> =>
  Effect.flatMap(
    Effect.try({
      try: () => {
        const head = headOf(file)
        if (ParquetFile.isParquet(head)) return { detected: "parquet" as const, parquet: true, gzip: false }
        const gzip = isGzip(head)
        return { detected: EventFile.detect(gzip ? EventFile.gunzipHead(head) : head, format), parquet: false, gzip }
      },
      catch: (e) => unreadable(path.resolve(file), e)
    }),
    ({ detected, gzip, parquet }): Effect.Effect<
      { readonly format: RunSource.FileSource["format"]; readonly rows?: number | undefined },
      SourceError | EventFile.UnsupportedFormat
    > =>
      parquet
        ? Effect.map(
          Effect.tryPromise({
            try: () => ParquetFile.open(file),
            catch: (e) => parquetBroken(path.resolve(file), e)
          }),
          (layout) => ({ format: "parquet" as const, rows: layout.rows })
        )
        : detected !== undefined && !(detected === "json-array" && format === "ndjson")
        ? new EventFile.UnsupportedFormat({ file, detected, gzip })
        : format === "parquet"
        ? Effect.fail(
          new SourceError({
            source: path.resolve(file),
            reason: "unreadable",
            detail: "it is not a Parquet file (it does not begin with PAR1)"
          })
        )
        : Effect.succeed({ format })
  )

const parquetBroken = (file: string, error: unknown) =>
  error instanceof ParquetFile.ParquetProblem
    ? new SourceError({
      source: file,
      reason: "unreadable",
      detail: error.at === undefined
        ? error.reason
        : `row group ${error.at.rowGroup}, row ${error.at.row}: ${error.reason}`
    })
    : unreadable(file, error)

/** Refuses a file that is no longer the one submitted: its size at every call, its SHA-256 once per process. */
export const verify = (source: RunSource.FileSource): Effect.Effect<void, SourceError> =>
  Effect.gen(function*() {
    const stat = yield* Effect.try({
      try: () => fs.statSync(source.path),
      catch: (e) =>
        (e as { code?: string }).code === "ENOENT"
          ? new SourceError({ source: source.path, reason: "changed", detail: "it no longer exists" })
          : unreadable(source.path, e)
    })
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

/**
 * The unit of a file's offsets, the span it takes in a run of several files: its bytes, a gzip file's decompressed
 * bytes, a Parquet file's rows. A format whose offsets count something else says it here.
 */
export const extentOf = (source: RunSource.FileSource): number => source.rows ?? source.decompressedSize ?? source.size

/**
 * Up to `maxEvents` events from byte `offset` (line `line`), read in chunks; for a gzip file, `offset` is in its
 * decompressed bytes.
 */
export const readSegment = (
  source: RunSource.FileSource,
  from: { readonly offset: number; readonly line: number },
  maxEvents: number
): Effect.Effect<RunSource.Segment, SourceError> =>
  Effect.zipRight(
    verify(source),
    Effect.flatMap(DateTime.now, (now) =>
      Effect.tryPromise({
        try: async () => {
          if (source.format === "parquet") return await readRows(source, from, maxEvents, now)
          const jsonArray = isJsonArray(source)
          if (source.decompressedSize !== undefined) {
            return await readLines(
              (at, take) => eachInflatedLine(source, jsonArray, at, take),
              source,
              from,
              maxEvents,
              now
            )
          }
          const fd = fs.openSync(source.path, "r")
          try {
            return await readLines(
              (at, take) => Promise.resolve(eachLine(fd, source, jsonArray, at, take)),
              source,
              from,
              maxEvents,
              now
            )
          } finally {
            fs.closeSync(fd)
          }
        },
        catch: (e) => e instanceof SourceError ? e : parquetBroken(source.path, e)
      }))
  )

/** Feeds the records from `from` to `take` until it says stop; `true` when the input was read to its end. */
type EachLine = (
  from: { readonly offset: number; readonly line: number },
  take: (line: EventFile.SplitLine) => boolean
) => Promise<boolean>

/**
 * The splitter of a source's records from `from`: its lines, a CSV's records, or a JSON array's elements (known
 * from the file's first bytes, pinned by its SHA-256: every segment finds the same).
 */
const splitterOf = (
  source: RunSource.FileSource,
  from: { readonly offset: number; readonly line: number },
  jsonArray: boolean
) =>
  jsonArray
    ? EventFile.elementSplitter(Backfill.maxEventBytes, from)
    : EventFile.recordSplitter(Backfill.maxEventBytes, source.format, from)

/** Whether the file is a JSON array, by its (decompressed) first bytes. */
const isJsonArray = (source: RunSource.FileSource): boolean => {
  if (source.format !== "ndjson") return false
  const head = headOf(source.path)
  return EventFile.detect(isGzip(head) ? EventFile.gunzipHead(head) : head, source.format) === "json-array"
}

/** Feeds the file's bytes from `from` to `EventFile`'s line splitter until `take` says stop. */
const eachLine = (
  fd: number,
  source: RunSource.FileSource,
  jsonArray: boolean,
  from: { readonly offset: number; readonly line: number },
  take: (line: EventFile.SplitLine) => boolean
): boolean => {
  const size = source.size
  const splitter = splitterOf(source, from, jsonArray)
  const buffer = Buffer.alloc(chunkBytes)
  let position = from.offset
  while (position < size) {
    const read = fs.readSync(fd, buffer, 0, Math.min(chunkBytes, size - position), position)
    if (read === 0) break
    position += read
    for (const line of splitter.push(buffer.subarray(0, read))) if (!take(line)) return false
  }
  for (const line of splitter.end()) if (!take(line)) return false
  return true
}

/** A gzip file's decompression, at `position` in its decompressed bytes, with the chunk that begins there. */
interface Inflation {
  readonly iterator: AsyncIterator<Buffer>
  readonly stop: () => void
  position: number
  chunk: Buffer
  done: boolean
}

// The decompression each gzip source's last segment in this process stopped in (one per source), so that the
// next segment goes on from there instead of from the start: a run reads its segments in order.
const inflations = new Map<string, Inflation>()

const startInflation = (file: string): Inflation => {
  const raw = fs.createReadStream(file, { highWaterMark: chunkBytes })
  const gunzip = zlib.createGunzip({ chunkSize: chunkBytes })
  const output = nodeStream.pipeline(raw, gunzip, () => {})
  return {
    iterator: output[Symbol.asyncIterator](),
    stop: () => output.destroy(),
    position: 0,
    chunk: Buffer.alloc(0),
    done: false
  }
}

/** Feeds a gzip file's decompressed bytes from `from` to the splitter until `take` says stop. */
const eachInflatedLine = async (
  source: RunSource.FileSource,
  jsonArray: boolean,
  from: { readonly offset: number; readonly line: number },
  take: (line: EventFile.SplitLine) => boolean
): Promise<boolean> => {
  const key = `${source.path}\n${source.sha256}`
  let inflation = inflations.get(key)
  inflations.delete(key)
  if (inflation === undefined || inflation.position > from.offset) {
    inflation?.stop()
    inflation = startInflation(source.path)
  }
  const current = inflation
  const next = async (): Promise<boolean> => {
    current.position += current.chunk.length
    if (current.done) {
      current.chunk = Buffer.alloc(0)
      return false
    }
    const result = await current.iterator.next().catch((error) => {
      throw gzipBroken(source.path, error)
    })
    current.done = result.done === true
    current.chunk = result.done === true ? Buffer.alloc(0) : result.value
    return result.done !== true
  }
  try {
    // To the chunk that holds `from.offset`: decompressed, not kept.
    while (current.position + current.chunk.length <= from.offset && await next());
    const splitter = splitterOf(source, from, jsonArray)
    let bytes = current.chunk.subarray(from.offset - current.position)
    for (;;) {
      for (const line of splitter.push(bytes)) {
        if (!take(line)) {
          inflations.set(key, current)
          return false
        }
      }
      if (!await next()) break
      bytes = current.chunk
    }
    current.stop()
    for (const line of splitter.end()) if (!take(line)) return false
    return true
  } catch (error) {
    current.stop()
    throw error
  }
}

/** A CSV's header: its first non-blank line, read from the start, whatever the segment's offset. */
const csvHeader = async (each: EachLine, source: RunSource.FileSource) => {
  let header: { names: EventFileApi.CsvHeader; end: number; line: number } | undefined
  let failure: string | undefined
  await each({ offset: 0, line: 1 }, (line) => {
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

const readLines = async (
  each: EachLine,
  source: RunSource.FileSource,
  from: { readonly offset: number; readonly line: number },
  maxEvents: number,
  now: DateTime.Utc
): Promise<RunSource.Segment> => {
  const events: Array<unknown> = []
  const lines: Array<number> = []
  const unreadableLines: Array<{ line: number; reason: string }> = []
  let start = from
  let header: EventFileApi.CsvHeader | undefined
  if (source.format === "csv") {
    const found = await csvHeader(each, source)
    header = found.names
    if (from.offset < found.end) start = { offset: found.end, line: found.line + 1 }
  }
  let next = start
  const size = source.decompressedSize ?? source.size
  // Read to the end: the segment is the last, whatever its records (a JSON array's `]` ends none).
  const ended = await each(start, (line) => {
    next = { offset: line.end, line: line.nextLine ?? line.last + 1 }
    if (EventFile.isBlank(line.text)) return true
    const parsed = line.problem !== undefined
      ? Either.left(line.problem)
      : EventFile.parseLine(line.text, header)
    const event = judge(parsed, source, now)
    if (event === undefined) return true
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
    next: ended ? Math.max(next.offset, size) : next.offset,
    nextLine: next.line,
    eof: ended || next.offset >= size
  }
}

/**
 * A read event as the run takes it: `undefined` for another customer's event in a run that keeps one customer's (not
 * sent, and not unreadable), else the event checked against the source's scope, or why it is unreadable.
 */
const judge = (
  parsed: Either.Either<Readonly<Record<string, unknown>>, string>,
  source: RunSource.FileSource,
  now: DateTime.Utc
): Either.Either<unknown, string> | undefined => {
  if (
    source.scope !== undefined && Either.isRight(parsed) &&
    EventFile.otherCustomer(parsed.right, source.scope) !== undefined
  ) {
    return undefined
  }
  return Either.flatMap(
    parsed,
    (event): Either.Either<unknown, string> =>
      source.scope === undefined ? Either.right(event) : EventFile.checkEvent(event, source.scope, now)
  )
}

// A Parquet source's footer, and where its last segment in this process stopped reading (one per source): a run
// reads its segments in order, a few hundred events each, and a batch holds a page's rows, thousands; the next segment
// goes on with the same reader, so that no page is decoded twice.
const layouts = new Map<string, ParquetFile.Layout>()
const readers = new Map<string, { readonly batches: AsyncGenerator<ParquetFile.Batch>; batch: ParquetFile.Batch }>()

/** Up to `maxEvents` rows of a Parquet source from row `from.offset` (counting from 0). */
const readRows = async (
  source: RunSource.FileSource,
  from: { readonly offset: number; readonly line: number },
  maxEvents: number,
  now: DateTime.Utc
): Promise<RunSource.Segment> => {
  const key = `${source.path}\n${source.sha256}`
  let layout = layouts.get(key)
  if (layout === undefined) {
    layout = await ParquetFile.open(source.path)
    layouts.set(key, layout)
  }
  const events: Array<unknown> = []
  const lines: Array<number> = []
  const unreadableRows: Array<{ line: number; reason: string }> = []
  let row = from.offset
  while (row < layout.rows && events.length + unreadableRows.length < maxEvents) {
    let reader = readers.get(key)
    // Not where the last reader is (a resume, or a segment read again): a reader from the row, the pages before it
    // passed over undecoded.
    if (reader !== undefined && (row < reader.batch.start || row > reader.batch.start + reader.batch.length)) {
      reader = undefined
    }
    if (reader !== undefined && row === reader.batch.start + reader.batch.length) {
      const next = await reader.batches.next()
      reader = next.done === true ? undefined : { batches: reader.batches, batch: next.value }
    }
    if (reader === undefined) {
      const batches = ParquetFile.batches(source.path, layout, row)
      const next = await batches.next()
      if (next.done === true) break
      reader = { batches, batch: next.value }
    }
    readers.set(key, reader)
    const batch = reader.batch
    for (
      let i = row - batch.start;
      i < batch.length && events.length + unreadableRows.length < maxEvents;
      i++, row++
    ) {
      const { event: parsed, row: number } = batch.row(i)
      const event = judge(parsed, source, now)
      if (event === undefined) continue
      if (Either.isRight(event)) {
        events.push(event.right)
        lines.push(number)
      } else {
        unreadableRows.push({ line: number, reason: event.left })
      }
    }
  }
  if (row >= layout.rows) readers.delete(key)
  return {
    events,
    lines,
    unreadable: unreadableRows,
    next: row,
    nextLine: row + 1,
    eof: row >= layout.rows
  }
}
