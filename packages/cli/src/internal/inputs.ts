/**
 * What `run --file` names, as the files a run reads, in order: a file, a folder's event files, a glob's matches, or
 * standard input (`-`) spooled to a file first, so that the check pass and the send (and a durable run's resumes)
 * read the same bytes without asking the pipe twice.
 *
 * The rules, said once here and in docs/cli.md:
 * - the values are read in the order given; a folder's files and a glob's matches by name (code-point order);
 * - in a folder, hidden files (`.name`) and names starting with `_` (an export's markers, `_SUCCESS`) are skipped,
 *   and subfolders are not entered; every other file must be named by its format (`.ndjson`, `.jsonl`, `.json`,
 *   `.csv`, each optionally `.gz`), or `--format` given, else the folder is refused, naming the file;
 * - each file is read by its own format, so a folder may mix NDJSON and CSV (each file recognised by its own name and
 *   content); a file that is none of them (zstd, ...) is refused before anything is read, naming it;
 * - a glob (`*`, `?`, `[...]`, in the file name only, quoted so that the shell leaves it) that matches nothing, an
 *   empty folder, a missing path, the same file twice: each refused in one sentence, before anything is read.
 */
import * as EventFile from "@effect-orb/workflow/EventFile"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as nodeStream from "node:stream"
import { pipeline } from "node:stream/promises"
import * as CliError from "./cliError.js"

/**
 * One file of a run and the format it is read by.
 *
 * @category models
 */
export interface InputFile {
  readonly file: string
  readonly format: EventFile.Format
}

/**
 * How the files read in messages: the file, or the first and how many more.
 *
 * @category formatting
 */
export const label = (files: ReadonlyArray<InputFile>): string =>
  files.length === 1
    ? files[0].file
    : `${files.length} files (${files[0].file}, …)`

/**
 * What one place of the files is, in counts (`3 invalid rows`): a Parquet file's row, a text file's line, an event when
 * the run reads both.
 *
 * @category formatting
 */
export const unitOf = (files: ReadonlyArray<InputFile>): "line" | "row" | "event" => {
  const parquet = files.filter(({ format }) => format === "parquet").length
  return parquet === 0 ? "line" : parquet === files.length ? "row" : "event"
}

/**
 * Whether a path is a folder (not one when it cannot be read: the reader names why).
 *
 * @category reading
 */
export const isFolder = (file: string): boolean => fs.statSync(file, { throwIfNoEntry: false })?.isDirectory() === true

/**
 * Whether a file begins as Parquet does (`PAR1`), read at once: the flags' checks run before any effect; a file
 * that cannot be read is not (the reader says why later).
 *
 * @category reading
 */
export const isParquetSync = (file: string): boolean => {
  let fd: number | undefined
  try {
    fd = fs.openSync(file, "r")
    const head = Buffer.alloc(4)
    return fs.readSync(fd, head, 0, 4, 0) === 4 && head.toString("latin1") === "PAR1"
  } catch {
    return false
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}

/**
 * Which files are which, for several: `3 files, in this order: 2 NDJSON (part-1.ndjson.gz, part-3.jsonl), 1 CSV
 * (part-2.csv)` (at most three names per format); `undefined` for one file.
 *
 * @category formatting
 */
export const summary = (files: ReadonlyArray<InputFile>): string | undefined => {
  if (files.length < 2) return undefined
  const byFormat = new Map<EventFile.Format, Array<string>>()
  for (const { file, format } of files) {
    const names = byFormat.get(format) ?? []
    names.push(path.basename(file))
    byFormat.set(format, names)
  }
  return `${files.length} files, in this order: ` +
    [...byFormat].map(([format, names]) =>
      `${names.length} ${format === "csv" ? "CSV" : "NDJSON"} (${names.slice(0, 3).join(", ")}${
        names.length > 3 ? `, and ${names.length - 3} more` : ""
      })`
    ).join(", ")
}

const hasMagic = (text: string) => /[*?[]/.test(text)

/** A glob of one path segment as a regular expression: `*`, `?` and `[...]` (`[!...]` negated). */
const globRegExp = (pattern: string): RegExp => {
  let source = ""
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === "*") source += "[^/]*"
    else if (c === "?") source += "[^/]"
    else if (c === "[") {
      const close = pattern.indexOf("]", i + 2)
      if (close === -1) source += "\\["
      else {
        const body = pattern.slice(i + 1, close)
        source += `[${body.startsWith("!") ? `^${body.slice(1)}` : body}]`
        i = close
      }
    } else source += c.replace(/[.+^${}()|\\\]]/g, "\\$&")
  }
  return new RegExp(`^${source}$`)
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

const refused = (reason: string) => new CliError.UsageError({ reason })

/** A folder's event files, by name (see the module's rules). */
const folderFiles = (folder: string, explicit: EventFile.Format | undefined) =>
  Effect.gen(function*() {
    const names = yield* Effect.try({
      try: () => fs.readdirSync(folder).sort(byName),
      catch: (e) => new EventFile.InputError({ file: folder, reason: `cannot be read (${(e as Error).message})` })
    })
    const files: Array<InputFile> = []
    const unnamed: Array<string> = []
    for (const name of names) {
      if (name.startsWith(".") || name.startsWith("_")) continue
      const file = path.join(folder, name)
      const stat = yield* Effect.try({
        try: () => fs.statSync(file),
        catch: (e) =>
          new EventFile.InputError({
            file,
            reason: `cannot be read (${
              (e as { code?: string }).code === "ENOENT" ? "a link to nothing" : (e as Error).message
            })`
          })
      })
      if (!stat.isFile()) continue
      const format = (yield* parquetByContent(file, explicit))
        ? Either.right("parquet" as const)
        : EventFile.formatOf(file, explicit)
      if (Either.isLeft(format)) unnamed.push(name)
      else files.push({ file, format: format.right })
    }
    if (unnamed.length > 0) {
      return yield* refused(
        `${folder}: cannot tell the format of ${unnamed.slice(0, 3).join(", ")}${
          unnamed.length > 3 ? ` and ${unnamed.length - 3} more` : ""
        } from the name; a folder's event files are named .ndjson, .jsonl, .json or .csv (optionally .gz), .parquet or ` +
          ".pq (Parquet is also known by its content): move the others out, or pass --format ndjson|csv|parquet to read " +
          "every file of it as one format"
      )
    }
    if (files.length === 0) {
      return yield* refused(
        `${folder} holds no event files (hidden files, names starting with _ and subfolders are skipped); nothing was ` +
          "read"
      )
    }
    return files
  })

/** Parquet by its first bytes (`PAR1`) whatever the file's name, unless `--format` says otherwise. */
const parquetByContent = (file: string, explicit: EventFile.Format | undefined) =>
  explicit !== undefined
    ? Effect.succeed(false)
    // Unreadable: the reader says so, with the rest of the checks.
    : Effect.orElseSucceed(EventFile.isParquet(file), () => false)

/**
 * A file's format: Parquet by its content, else by its name; a name that tells none (`events.txt`): what the file is
 * says more.
 */
const formatOfFile = (file: string, explicit: EventFile.Format | undefined): Effect.Effect<
  EventFile.Format,
  EventFile.InputError | EventFile.UnsupportedFormat,
  FileSystem.FileSystem
> =>
  Effect.flatMap(
    parquetByContent(file, explicit),
    (parquet) => parquet ? Effect.succeed("parquet" as const) : formatOfName(file, explicit)
  )

const formatOfName = (file: string, explicit: EventFile.Format | undefined) =>
  Either.match(EventFile.formatOf(file, explicit), {
    onRight: Effect.succeed,
    onLeft: (error) =>
      EventFile.recognise(file).pipe(
        // Unreadable too: the name's error stands.
        Effect.catchTag("InputError", () => Effect.void),
        Effect.zipRight(Effect.fail(error))
      )
  })

/** A glob's matching files, by name. */
const globFiles = (pattern: string, explicit: EventFile.Format | undefined) =>
  Effect.gen(function*() {
    const folder = path.dirname(pattern)
    const base = path.basename(pattern)
    if (hasMagic(folder)) {
      return yield* refused(`--file ${pattern}: a glob may match file names only, not folders (${folder})`)
    }
    const match = globRegExp(base)
    const names = fs.existsSync(folder) && fs.statSync(folder).isDirectory()
      ? fs.readdirSync(folder).sort(byName).filter((name) =>
        match.test(name) && (base.startsWith(".") || !name.startsWith(".")) &&
        fs.statSync(path.join(folder, name), { throwIfNoEntry: false })?.isFile() === true
      )
      : []
    if (names.length === 0) return yield* refused(`--file ${pattern}: no file matches it; nothing was read`)
    const files: Array<InputFile> = []
    for (const name of names) {
      const file = path.join(folder, name)
      files.push({ file, format: yield* formatOfFile(file, explicit) })
    }
    return files
  })

/**
 * The files `--file`'s values name, in order, each with its format, each recognised from its first bytes (a file
 * that is not NDJSON, CSV, a JSON array or Parquet is refused, naming it). `stdin`: the file standard input was spooled to,
 * for the value `-`.
 *
 * @category reading
 */
export const expand = (
  values: ReadonlyArray<string>,
  explicit: EventFile.Format | undefined,
  stdin?: string | undefined
): Effect.Effect<
  ReadonlyArray<InputFile>,
  CliError.UsageError | EventFile.InputError | EventFile.UnsupportedFormat,
  FileSystem.FileSystem
> =>
  Effect.gen(function*() {
    if (values.length === 0) {
      return yield* refused("give --file PATH: a file, a folder, a quoted glob, or - for standard input")
    }
    if (values.filter((value) => value === "-").length > 1) {
      return yield* refused("--file -: standard input can be read once only")
    }
    const files: Array<InputFile> = []
    for (const value of values) {
      if (value === "-") {
        if (stdin === undefined) return yield* refused("--file -: standard input is not read here")
        files.push({
          file: stdin,
          format: explicit ?? ((yield* parquetByContent(stdin, explicit)) ? "parquet" : "ndjson")
        })
        continue
      }
      const stat = fs.statSync(value, { throwIfNoEntry: false })
      if (stat === undefined && hasMagic(value)) {
        for (const file of yield* globFiles(value, explicit)) files.push(file)
      } else if (stat === undefined) {
        return yield* new EventFile.InputError({ file: value, reason: "no such file or folder" })
      } else if (stat.isDirectory()) {
        for (const file of yield* folderFiles(value, explicit)) files.push(file)
      } else files.push({ file: value, format: yield* formatOfFile(value, explicit) })
    }
    const seen = new Set<string>()
    for (const { file } of files) {
      const absolute = path.resolve(file)
      if (seen.has(absolute)) {
        return yield* refused(`${file} is named twice by --file; its events would be read twice`)
      }
      seen.add(absolute)
    }
    for (const { file, format } of files) yield* EventFile.recognise(file, format)
    return files
  })

/**
 * Standard input, read to its end into `file` (made owner-only, 0600), hashed on the way: its SHA-256.
 *
 * @category reading
 */
export const spool = (
  input: NodeJS.ReadableStream,
  file: string
): Effect.Effect<string, EventFile.InputError> =>
  Effect.tryPromise({
    try: async () => {
      const hash = crypto.createHash("sha256")
      await pipeline(
        input,
        new nodeStream.Transform({
          transform(chunk: Buffer, _, done) {
            hash.update(chunk)
            done(null, chunk)
          }
        }),
        fs.createWriteStream(file, { mode: 0o600 })
      )
      return hash.digest("hex")
    },
    catch: (e) =>
      new EventFile.InputError({ file: "-", reason: `standard input cannot be read (${(e as Error).message})` })
  })

/**
 * Standard input spooled to a private temporary file (a 0700 folder of its own, the file 0600), removed when the
 * scope closes and, should the process end otherwise, at its exit: an in-memory run's check pass and send read it.
 *
 * @category reading
 */
export const spoolTemporary = (
  input: NodeJS.ReadableStream
): Effect.Effect<string, EventFile.InputError, Scope.Scope> =>
  Effect.gen(function*() {
    const folder = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const made = fs.mkdtempSync(path.join(os.tmpdir(), "orb-backfill-stdin-"))
        const remove = () => fs.rmSync(made, { recursive: true, force: true })
        process.once("exit", remove)
        return { made, remove }
      }),
      ({ remove }) =>
        Effect.sync(() => {
          process.removeListener("exit", remove)
          remove()
        })
    )
    const file = path.join(folder.made, "stdin")
    yield* spool(input, file)
    return file
  })

/**
 * Standard input spooled into the durable runs' folder (`spool/` beside the state file, 0700), named by its SHA-256
 * (`stdin-<sha256>`): the run pins it like any file and resumes from it without the pipe; `runs prune` removes it
 * with the last run that reads it.
 *
 * @category reading
 */
export const spoolDurable = (
  input: NodeJS.ReadableStream,
  stateFile: string
): Effect.Effect<string, EventFile.InputError> =>
  Effect.gen(function*() {
    const folder = spoolFolder(stateFile)
    const partial = path.join(folder, `.stdin-${process.pid}-${Date.now()}`)
    yield* Effect.try({
      try: () => fs.mkdirSync(folder, { recursive: true, mode: 0o700 }),
      catch: (e) => new EventFile.InputError({ file: folder, reason: `cannot be made (${(e as Error).message})` })
    })
    const sha256 = yield* spool(input, partial).pipe(
      Effect.tapError(() => Effect.sync(() => fs.rmSync(partial, { force: true })))
    )
    const file = path.join(folder, `stdin-${sha256}`)
    fs.renameSync(partial, file)
    return file
  })

/**
 * Where a state file's spooled inputs are.
 *
 * @category reading
 */
export const spoolFolder = (stateFile: string): string => path.join(path.dirname(path.resolve(stateFile)), "spool")
