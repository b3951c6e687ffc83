/**
 * Reading a run of several files (`RunSource.FilesSource`) as one source: its offsets run through the files in
 * order, each file taking its own span (`extentOf`: bytes, or a gzip file's decompressed bytes), so that the journal's
 * cursor, one offset and the line in its file, says which file and where in it. A segment stays within one file: its
 * lines are that file's, and its messages name it. Each file is read as a file source of its own (its format
 * recognised by its own content), and every file is checked against its pin before every segment, so that a resume
 * over a changed or vanished file fails before anything more is sent.
 */
import * as Effect from "effect/Effect"
import * as crypto from "node:crypto"
import type * as RunSource from "../RunSource.js"
import type { SourceError } from "../SourceError.js"
import * as FileSource from "./fileSource.js"

/** The file that holds `offset`, and where it begins; an offset past the end is in the last file, at its end. */
export const partAt = (
  source: RunSource.FilesSource,
  offset: number
): { readonly index: number; readonly part: RunSource.FileSource; readonly base: number } => {
  let base = 0
  for (let index = 0; index < source.parts.length; index++) {
    const part = source.parts[index]
    const extent = FileSource.extentOf(part)
    if (offset < base + extent || index === source.parts.length - 1) return { index, part, base }
    base += extent
  }
  // A schema-checked source has at least one part.
  return { index: 0, part: source.parts[0], base: 0 }
}

/** The span of all the files: the run's size, in the unit of its offsets. */
export const extentOf = (source: RunSource.FilesSource): number =>
  source.parts.reduce((sum, part) => sum + FileSource.extentOf(part), 0)

/**
 * Up to `maxEvents` events from `from` (an offset across the files, the line in its file), all from one file; at
 * the end of a file that is not the last, the next segment begins the next file at its line 1.
 */
export const readSegment = (
  source: RunSource.FilesSource,
  from: { readonly offset: number; readonly line: number },
  maxEvents: number
): Effect.Effect<RunSource.Segment, SourceError> =>
  Effect.gen(function*() {
    // Every file, not only the one read now: a run that resumes over a changed file stops before sending more.
    for (const part of source.parts) yield* FileSource.verify(part)
    const { base, index, part } = partAt(source, from.offset)
    const read = yield* FileSource.readSegment(part, { offset: from.offset - base, line: from.line }, maxEvents)
    const last = index === source.parts.length - 1
    const extent = FileSource.extentOf(part)
    return !read.eof || last
      ? { ...read, next: base + read.next }
      : { ...read, next: base + extent, nextLine: 1, eof: false }
  })

/** The SHA-256 of the files' SHA-256s, in order. */
export const sha256Of = (source: RunSource.FilesSource): string =>
  crypto.createHash("sha256").update(`files\n${source.parts.map((part) => part.sha256).join("\n")}`).digest("hex")

/** `/data/part-1.ndjson and 2 more files`. */
export const nameOf = (source: RunSource.FilesSource): string =>
  source.parts.length === 1
    ? source.parts[0].path
    : `${source.parts[0].path} and ${source.parts.length - 1} more file${source.parts.length === 2 ? "" : "s"}`
