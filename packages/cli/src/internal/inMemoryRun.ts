/**
 * What `orb-backfill run` does: a validation pass over the whole file before anything is created, then the
 * whole backfill (create, ingest, close, await reflection) from a second pass over the file, with progress,
 * and a revert when it fails or is interrupted before the close.
 */
import { Backfill, Backfills, OrbError } from "@effect-orb/backfills"
// The module, not the package's index: in the bundle, the index would bring the durable engine into startup.
import * as EventFile from "@effect-orb/workflow/EventFile"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Chunk from "effect/Chunk"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as Backend from "../Backend.js"
import * as Output from "../Output.js"
import * as CliError from "./cliError.js"
import type * as Durable from "./durable.js"
import * as Inputs from "./inputs.js"
import * as Lazy from "./lazy.js"
import * as Preview from "./preview.js"
import * as Progress from "./progress.js"
import * as PropertyTypes from "./propertyTypes.js"
import * as Render from "./render.js"
import * as RunResult from "./runResult.js"
import * as VerifyCli from "./verify.js"

/**
 * What the validation pass found.
 *
 * @category models
 */
export interface Validation {
  /** Non-blank lines read (a CSV's header excepted). */
  readonly lines: number
  /** Valid events: what the run will send. */
  readonly events: number
  readonly invalid: number
  /** Other customers' events left out (`--only-customer`), and how many of each (the first few thousand customers). */
  readonly skipped: number
  readonly skippedByCustomer: ReadonlyMap<string, number>
  /** The first invalid lines, as `file:line: reason`. */
  readonly problems: ReadonlyArray<string>
  /** The run's windows (one, for a timeframe within the account's maximum), with the valid events of each. */
  readonly windows: ReadonlyArray<Backfill.Timeframe & { readonly events: number }>
  /** The types the valid events' properties got. */
  readonly properties: PropertyTypes.Tally
  /** The valid events per customer, for a dry run (`undefined` otherwise: a run does not need it). */
  readonly preview: Preview.Preview | undefined
}

const maxProblems = 10

// The customers whose events are left out are counted each up to this many customers, so that memory stays bounded.
const maxSkippedCustomers = 10_000

/**
 * Reads the whole file once, checking every line against the scope, in constant memory: it keeps counts and
 * the first few problems only.
 *
 * @category validation
 */
export const validate = (
  files: ReadonlyArray<Inputs.InputFile>,
  scope: EventFile.Scope,
  windows: ReadonlyArray<Backfill.Timeframe> = [scope],
  options: EventFile.ReadOptions = {},
  preview = false
): Effect.Effect<Validation, EventFile.InputError | EventFile.UnsupportedFormat, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    // Now, once for the whole pass: an event more than 5 minutes after it is refused here, before anything is
    // created (time only moves on, so an event that passes now passes when it is sent).
    const now = yield* DateTime.now
    // A CSV's property columns are listed even when no event holds them: a column empty in every row shows.
    const columns: Array<string> = []
    for (const { file, format } of files) {
      if (format !== "csv") continue
      const header = yield* EventFile.csvHeader(file, options)
      for (const [i, name] of header.names.entries()) {
        if (header.kinds[i] !== "event" && !columns.includes(name)) columns.push(name)
      }
    }
    const acc = {
      lines: 0,
      events: 0,
      invalid: 0,
      skipped: 0,
      skippedByCustomer: new Map<string, number>(),
      problems: [] as Array<string>,
      windows: windows.map((window) => ({ ...window, events: 0 })),
      properties: new PropertyTypes.Tally(columns),
      preview: preview
        ? new Preview.Preview(undefined, files.length > 1 ? files.map(({ file }) => file) : [])
        : undefined
    }
    // The files one after the other into the same counts: one run, positions per file.
    for (const [index, { file, format }] of files.entries()) {
      // The notes name the file of a place only when the run reads several.
      const named = files.length > 1 ? file : undefined
      // A pure fold, not an Effect per line: this runs for every line of every file.
      yield* EventFile.read(file, format, options).pipe(
        Stream.runFold(acc, (acc, parsed) => {
          {
            acc.lines++
            const other = Either.isRight(parsed.event) ? EventFile.otherCustomer(parsed.event.right, scope) : undefined
            if (other !== undefined) {
              acc.skipped++
              const seen = acc.skippedByCustomer.get(other)
              if (seen !== undefined || acc.skippedByCustomer.size < maxSkippedCustomers) {
                acc.skippedByCustomer.set(other, (seen ?? 0) + 1)
              }
              return acc
            }
            const checked = Either.flatMap(parsed.event, (event) => EventFile.checkEvent(event, scope, now))
            if (Either.isRight(checked)) {
              acc.events++
              acc.properties.add(checked.right.properties, parsed.line, named, parsed.rowGroup)
              acc.preview?.add(checked.right, parsed.line, index, parsed.rowGroup)
              acc.windows[
                windows.length === 1
                  ? 0
                  : Backfill.windowOf(windows, Backfill.timestampMillis(checked.right.timestamp))
              ]
                .events++
            } else {
              acc.invalid++
              if (acc.problems.length < maxProblems) {
                acc.problems.push(`${EventFile.where(file, parsed)}: ${checked.left}`)
              }
            }
          }
          return acc
        })
      )
    }
    return acc
  })

/**
 * The file and line of each event a run sends, so that an event Orb refuses (known to the library by its position in
 * the stream) is reported where it is in its file. It keeps only the places where positions and lines drift apart
 * (blank lines, a CSV header, invalid lines left out, the next file): a few numbers, whatever the files' length.
 *
 * @category reading
 */
export class LineIndex {
  private readonly positions: Array<number> = []
  private readonly offsets: Array<number> = []
  private readonly files: Array<number> = []
  private readonly kinds: Array<boolean> = []
  private sent = 0
  /** Whether what was last recorded are a JSON array's element numbers rather than lines. */
  elements = false

  /**
   * Records that the next event of the stream is on `line` (or is a JSON array's element `line`) of the `file`-th
   * file of the run.
   */
  record(line: number, element = false, file = 0): void {
    this.elements = element
    const offset = line - this.sent
    const last = this.offsets.length - 1
    if (last < 0 || this.offsets[last] !== offset || this.files[last] !== file || this.kinds[last] !== element) {
      this.positions.push(this.sent)
      this.offsets.push(offset)
      this.files.push(file)
      this.kinds.push(element)
    }
    this.sent++
  }

  private breakpointOf(position: number): number {
    let low = 0
    let high = this.positions.length - 1
    while (low < high) {
      const middle = (low + high + 1) >> 1
      if (this.positions[middle] <= position) low = middle
      else high = middle - 1
    }
    return low
  }

  /** The line of the event at `position` (counted from 0), or `undefined` if no such event was recorded. */
  lineOf(position: number): number | undefined {
    if (!(position >= 0 && position < this.sent)) return undefined
    return position + this.offsets[this.breakpointOf(position)]
  }

  /** Where the event at `position` is: its file (by its index in the run), line or element number. */
  placeOf(position: number): { readonly file: number; readonly line: number; readonly element: boolean } | undefined {
    if (!(position >= 0 && position < this.sent)) return undefined
    const at = this.breakpointOf(position)
    return { file: this.files[at], line: position + this.offsets[at], element: this.kinds[at] }
  }
}

/**
 * What a run's check pass saw of a file: its size and modification time, so that the send refuses a file that changed
 * (or vanished) since, before reading it.
 *
 * @category reading
 */
export interface FilePin {
  readonly size: number
  readonly mtimeMs: number
}

/**
 * The pins of the files, as they are now.
 *
 * @category reading
 */
export const pinsOf = (
  files: ReadonlyArray<Inputs.InputFile>
): Effect.Effect<ReadonlyArray<FilePin>, EventFile.InputError> =>
  Effect.forEach(files, ({ file }) =>
    Effect.try({
      try: () => {
        const stat = fs.statSync(file)
        return { size: stat.size, mtimeMs: stat.mtimeMs }
      },
      catch: (e) => new EventFile.InputError({ file, reason: `cannot be read (${(e as Error).message})` })
    }))

const unchanged = (file: string, pin: FilePin | undefined) =>
  Effect.suspend(() => {
    if (pin === undefined) return Effect.void
    const stat = fs.statSync(file, { throwIfNoEntry: false })
    if (stat === undefined) {
      return Effect.fail(
        new EventFile.InputError({ file, reason: "vanished since it was checked; it was not read again" })
      )
    }
    return stat.size === pin.size && stat.mtimeMs === pin.mtimeMs
      ? Effect.void
      : Effect.fail(
        new EventFile.InputError({
          file,
          reason: `changed since it was checked (${stat.size} bytes, checked with ${pin.size}); it was not read again`
        })
      )
  })

/**
 * The valid events of the files, in order, read lazily: the run's second pass. With `skipInvalid`, invalid lines
 * are left out (the validation pass reported them); without, one fails the stream (the file changed since the
 * validation pass), which makes the run revert. `lines`, if given, learns the place of every event sent; `pins`, if
 * given, the files as the check pass saw them: a file that is no longer so fails the stream before it is read.
 *
 * @category reading
 */
export const events = (
  files: ReadonlyArray<Inputs.InputFile>,
  scope: EventFile.Scope,
  skipInvalid: boolean,
  lines?: LineIndex,
  options: EventFile.ReadOptions = {},
  pins?: ReadonlyArray<FilePin>
): Stream.Stream<EventFile.WireEvent, EventFile.InputError | EventFile.UnsupportedFormat, FileSystem.FileSystem> =>
  Stream.flatMap(
    Stream.fromIterable(files.map((input, index) => ({ ...input, index }))),
    ({ file, format, index }) =>
      Stream.unwrap(Effect.as(
        unchanged(file, pins?.[index]),
        EventFile.read(file, format, options).pipe(
          // One loop per chunk of lines rather than an Effect per line: this runs for every event of the file.
          Stream.mapChunksEffect((chunk) =>
            Effect.flatMap(DateTime.now, (now) => {
              const valid: Array<EventFile.WireEvent> = []
              for (const parsed of chunk) {
                if (Either.isRight(parsed.event) && EventFile.otherCustomer(parsed.event.right, scope) !== undefined) {
                  continue
                }
                const checked = Either.flatMap(parsed.event, (event) => EventFile.checkEvent(event, scope, now))
                if (Either.isRight(checked)) {
                  valid.push(checked.right)
                  // A JSON array's elements by number: several may share a line (a compact array is one line), and
                  // the index stays a few numbers only while what it records grows with the position.
                  lines?.record(parsed.element ?? parsed.line, parsed.element !== undefined, index)
                } else if (!skipInvalid) {
                  return Effect.fail(
                    new EventFile.InputError({
                      file,
                      line: parsed.line,
                      element: parsed.element,
                      rowGroup: parsed.rowGroup,
                      reason: checked.left
                    })
                  )
                }
              }
              return Effect.succeed(Chunk.unsafeFromArray(valid))
            })
          )
        )
      ))
  )

/**
 * The settings of a run from the command line.
 *
 * @category models
 */
export interface RunOptions {
  /** The files, in order, each with its format (`Inputs.expand`): one run over all of them. */
  readonly files: ReadonlyArray<Inputs.InputFile>
  /** Types for some of a CSV file's property columns (`--csv-type`). */
  readonly csvTypes?: EventFile.CsvTypes | undefined
  readonly backfill: Backfill.CreateBackfill
  readonly skipInvalid: boolean
  /** Keep only the backfill's customer's events, leaving the others out (`--only-customer`). */
  readonly only?: boolean | undefined
  readonly dryRun: boolean
  /** `false`: stop once the backfill is closed (`--no-wait`). */
  readonly wait: boolean
  /**
   * Once reflected, verify the run's backfills against the file (`--verify`), at this pace of searches (`false`:
   * none). Only with `wait`.
   */
  readonly verify?: { readonly searchesPerSecond: number | false } | undefined
  readonly json: boolean
  readonly batchSize?: number | undefined
  readonly concurrency?: number | undefined
  /** The ingest pace; default: the backend's. */
  readonly quota?: Backfills.IngestQuota | false | undefined
  /**
   * How long a create refused for an overlapping pending backfill waits for it (`--overlap-wait`); `0` fails at once.
   * Default: the library's (`Backfills.defaultOverlapWait` in memory, `DurableRun.defaultOverlapWait` durably).
   */
  readonly overlapWait?: Duration.Duration | undefined
  /** The account's limits, when Orb raised them (`--max-window`); default Orb's. */
  readonly account?: Backfills.AccountOptions | undefined
  /** A durable run on this state file (and run key, default derived from the file and the flags), not in memory. */
  readonly durable?:
    | {
      readonly state: Durable.State
      readonly runKey?: string | undefined
      /** Add the file's events even though an earlier durable run added them (`--add-again`). */
      readonly addAgain?: boolean | undefined
      /** On a database: submit the run to the workers and return (`--submit`). */
      readonly submit?: boolean | undefined
    }
    | undefined
}

const scopeOf = (create: Backfill.CreateBackfill, only: boolean): EventFile.Scope => ({
  timeframeStart: create.timeframeStart,
  timeframeEnd: create.timeframeEnd,
  customerId: create.customerId,
  externalCustomerId: create.externalCustomerId,
  only
})

/** What `--only-customer` kept and left out, in words: `kept 120 events of customer acme; left out ...`. */
const keptText = (scope: EventFile.Scope, validation: Validation) => {
  const customer = scope.customerId !== undefined
    ? `customer ${scope.customerId}`
    : `external customer ${scope.externalCustomerId}`
  const others = [...validation.skippedByCustomer].sort(([x, a], [y, b]) => b - a || (x < y ? -1 : x > y ? 1 : 0))
  const shown = others.slice(0, 5).map(([id, n]) => `${id} ${Progress.count(n)}`).join(", ")
  return `Kept ${Progress.plural(validation.events, "event")} of ${customer}; left out ${
    Progress.plural(validation.skipped, "event")
  } of ${Progress.plural(others.length, "other customer")}` +
    (others.length > 0 ? ` (${shown}${others.length > 5 ? ", …" : ""})` : "") + "."
}

const ingestionJson = (summary: Backfills.IngestSummary, lines: LineIndex, files: ReadonlyArray<Inputs.InputFile>) => ({
  sent: summary.sent,
  accepted: summary.accepted,
  duplicates: summary.duplicates,
  failed: summary.failed,
  batches: summary.batches,
  retries: summary.retries,
  rate_limited: summary.rateLimited,
  elapsed_ms: summary.elapsedMillis,
  failures: summary.failures.map((f) => ({
    position: f.position,
    ...placeJson(lines.placeOf(f.position), files),
    idempotency_key: f.idempotencyKey ?? null,
    refused_by: f.refusedBy,
    reasons: f.reasons
  }))
})

/** Where a refused event is, as JSON: its line (or element), and its file when the run read several. */
const placeJson = (place: ReturnType<LineIndex["placeOf"]>, files: ReadonlyArray<Inputs.InputFile>) => ({
  ...(files.length > 1 ? { file: place === undefined ? null : files[place.file].file } : {}),
  ...(place?.element === true ? { element: place.line } : { line: place?.line ?? null })
})

/**
 * The result of a run, dry or not.
 *
 * @category models
 */
export interface RunOutcome {
  readonly validation: Validation
  readonly result: Option.Option<Backfills.RunResult>
}

/** What an in-memory run of the command line can fail with: its input, its usage, Orb, the run. */
export type RunError =
  | EventFile.InputError
  | EventFile.UnsupportedFormat
  | CliError.InvalidLines
  | CliError.UsageError
  | Backfills.Error
  | OrbError.RunFailed
  | OrbError.OverlapWaitTimeout
  | Durable.RunError

/**
 * Validates the file, then (unless `dryRun`) runs the whole backfill from it, reporting on the way. Fails with
 * `InvalidLines` before creating anything when a line is invalid and `skipInvalid` is off.
 *
 * @category workflow
 */
export const run = (
  options: RunOptions
): Effect.Effect<
  RunOutcome,
  RunError,
  FileSystem.FileSystem | Backfills.Backfills | Backend.Backend | Output.Output
> =>
  Effect.gen(function*() {
    const backend = yield* Backend.Backend
    const output = yield* Output.Output
    const mode: Progress.Mode = options.json ? "json" : output.isTTY ? "tty" : "plain"
    const say = (text: string) => (options.json ? Effect.void : Output.note(text))
    const scope = scopeOf(options.backfill, options.only === true)
    // The account's service: the one in context, or one for a raised limit.
    const service = options.account === undefined
      ? yield* Backfills.Backfills
      : yield* backend.backfillsFor(options.account)
    // The safety rails of every window's create request, before reading a line: a timeframe longer than the
    // account's maximum is run as windows (a timeframe that ends before it starts is one, refused as it is).
    const windows = Backfill.splitTimeframe(options.backfill, Duration.toMillis(service.maxTimeframe))
    for (const window of windows) {
      yield* Backfills.validateCreate({ ...options.backfill, ...window }, { maxTimeframe: service.maxTimeframe })
    }

    const label = Inputs.label(options.files)
    const invalidUnit = `invalid ${Inputs.unitOf(options.files)}`
    const which = Inputs.summary(options.files)
    if (which !== undefined) yield* say(`Reading ${which}.`)
    if (mode === "tty") yield* output.stderr(`Checking ${label}…`)
    const read: EventFile.ReadOptions = { csvTypes: options.csvTypes }
    // The files as the check pass reads them: the send refuses one that changed or vanished since.
    const pins = yield* pinsOf(options.files)
    // A durable run pins its files by their SHA-256 as well: read whole on a worker thread (a big file) while the
    // check pass reads them here, rather than after it. Its failure is the run's, once the check has passed.
    const durablePin = options.durable !== undefined && !options.dryRun
      ? yield* Effect.fork(Effect.flatMap(Lazy.durable, (durable) =>
        durable.pin({
          files: options.files,
          csvTypes: options.csvTypes,
          backfill: options.backfill,
          only: options.only === true
        })))
      : undefined
    const validation = yield* validate(options.files, scope, windows, read, options.dryRun).pipe(
      Effect.onInterrupt(() => Output.note("\nInterrupted while checking the file; nothing was created."))
    )
    if (mode === "tty") yield* output.stderr("\r\x1b[2K")
    yield* say(
      `Checked ${label}: ${Progress.plural(validation.events, "valid event")}` +
        (validation.invalid > 0 ? `, ${Progress.plural(validation.invalid, invalidUnit)}` : "") + "."
    )
    // A dry run says it with what it would send.
    if (scope.only === true && !options.dryRun) yield* say(keptText(scope, validation))
    if (validation.invalid > 0) {
      if (!options.json || !options.skipInvalid) {
        for (const problem of validation.problems) yield* Output.note(`  ${CliError.printable(problem)}`)
        if (validation.invalid > validation.problems.length) {
          yield* Output.note(`  … and ${Progress.count(validation.invalid - validation.problems.length)} more`)
        }
      }
      if (!options.skipInvalid) {
        return yield* new CliError.InvalidLines({
          file: label,
          invalid: validation.invalid,
          first: validation.problems[0],
          unit: Inputs.unitOf(options.files)
        })
      }
    }
    if (validation.events === 0) {
      // An empty backfill in replace mode would delete the timeframe's usage and put nothing back.
      return yield* new CliError.UsageError({
        reason: `${label} ${options.files.length === 1 ? "holds" : "hold"} no valid events; nothing was created`
      })
    }
    if (options.dryRun) {
      if (options.json) {
        yield* Output.line(
          JSON.stringify({
            dry_run: true,
            file: options.files.length === 1 ? options.files[0].file : options.files.map((input) => input.file),
            backfill: Render.createJson(options.backfill),
            max_window_days: Duration.toMillis(service.maxTimeframe) / 86_400_000,
            windows: validation.windows.map(windowJson),
            properties: PropertyTypes.json(validation.properties, validation.events),
            ...(validation.preview !== undefined ? { customers: Preview.json(validation.preview) } : {}),
            validation: validationJson(validation, scope)
          })
        )
      } else {
        yield* Output.line(
          `Dry run: ${Render.createSummary(options.backfill)}.\n` +
            (windows.length > 1
              ? `It is longer than the account's ${
                Render.days(service.maxTimeframe)
              } per backfill: ${windows.length} ` +
                "windows, one backfill each,\ncreated together and closed only once every window's events are in:\n" +
                Render.windowsTable(validation.windows.map((window) => ({ ...window, accepted: window.events }))) + "\n"
              : "") +
            PropertyTypes.text(validation.properties, validation.events) +
            "\n" +
            (validation.preview !== undefined ? Preview.text(validation.preview) + "\n" : "") +
            `${Progress.plural(validation.events, "event")} in ${label} would be sent` +
            (validation.invalid > 0 ? ` (${Progress.plural(validation.invalid, invalidUnit)} left out)` : "") +
            "; nothing was created." +
            (scope.only === true ? `\n${keptText(scope, validation)}` : "")
        )
      }
      return { validation, result: Option.none() }
    }
    if (options.durable !== undefined) {
      const durable = yield* Lazy.durable
      yield* durable.run({
        files: options.files,
        csvTypes: options.csvTypes,
        backfill: options.backfill,
        state: options.durable.state,
        runKey: options.durable.runKey,
        addAgain: options.durable.addAgain,
        submit: options.durable.submit,
        expectedEvents: validation.events,
        skipInvalid: options.skipInvalid,
        only: options.only === true,
        wait: options.wait,
        verify: verifySettings(options),
        json: options.json,
        batchSize: options.batchSize,
        concurrency: options.concurrency,
        quota: options.quota ?? backend.defaultQuota,
        maxTimeframe: service.maxTimeframe,
        overlapWait: options.overlapWait,
        validation: validationJson(validation, scope),
        ...(durablePin !== undefined ? { pinned: Fiber.join(durablePin) } : {})
      }).pipe(Effect.provideService(Backfills.Backfills, service))
      return { validation, result: Option.none() }
    }

    const lines = new LineIndex()
    const created = yield* Ref.make<ReadonlyArray<Backfill.BackfillId>>([])
    const closed = yield* Ref.make(false)
    const result = yield* Effect.scoped(Effect.gen(function*() {
      const reporter = yield* Progress.reporter(mode, validation.events, {
        awaitReflection: options.wait,
        traffic: backend.traffic,
        quota: options.quota ?? backend.defaultQuota,
        batchSize: options.batchSize
      })
      return yield* service.run({
        ...options.backfill,
        // In Orb's wire form, as the file holds them: sent without decoding timestamps and encoding them back.
        encodedEvents: events(options.files, scope, options.skipInvalid, lines, read, pins),
        invalidEvents: options.skipInvalid ? "skip" : "fail",
        until: options.wait ? "reflected" : "closed",
        expectedEvents: validation.events,
        ingest: {
          batchSize: options.batchSize,
          concurrency: options.concurrency,
          quota: options.quota ?? backend.defaultQuota
        },
        await: { schedule: backend.awaitSchedule },
        ...(options.overlapWait !== undefined ? { overlapWait: options.overlapWait } : {}),
        onProgress: (progress) =>
          Effect.zipRight(
            progress.stage === "created"
              ? Ref.update(created, (ids) => [...ids, progress.backfill.id])
              : progress.stage === "closed"
              // Reported once every window is closed.
              ? Ref.set(closed, true)
              : Effect.void,
            reporter.onProgress(progress)
          )
      }).pipe(Effect.ensuring(reporter.stopWaiting))
    })).pipe(
      Effect.onInterrupt(() => reportInterruption(created, closed))
    )
    const printed: RunResult.RunResult = {
      windows: result.windows.map((window) => ({
        window: new OrbError.RunWindowOutcome({
          timeframeStart: window.timeframeStart,
          timeframeEnd: window.timeframeEnd,
          backfillId: window.backfill.id,
          accepted: window.accepted,
          closed: true,
          reverted: false,
          status: window.backfill.status
        }),
        backfill: window.backfill
      })),
      status: result.backfill.status,
      ingestion: {
        accepted: result.ingestion.accepted,
        elapsedMillis: result.ingestion.elapsedMillis,
        duplicates: result.ingestion.duplicates,
        refused: result.ingestion.failed,
        invalid: { count: validation.invalid, unit: invalidUnit },
        failures: result.ingestion.failures.slice(0, maxProblems).map((failure) => {
          const place = lines.placeOf(failure.position)
          const at = place === undefined
            ? `event #${failure.position + 1}`
            : place.element
            ? `${options.files[place.file].file}: element ${place.line}`
            : `${options.files[place.file].file}:${place.line}`
          return at + CliError.printable(
            `${failure.idempotencyKey ? ` (${failure.idempotencyKey})` : ""}: ${failure.reasons.join("; ")}`
          )
        }),
        json: ingestionJson(result.ingestion, lines, options.files)
      },
      validation: validationJson(validation, scope),
      reflecting: !options.wait
    }
    yield* VerifyCli.afterRun(
      verifySettings(options),
      result.windows.map((window) => window.backfill.id),
      options.json,
      (extra) => RunResult.print(printed, options.json, extra)
    )
    return { validation, result: Option.some(result) }
  })

/** What a run verifies its backfills with: the file as the run read it. */
const verifySettings = (options: RunOptions): VerifyCli.Settings | undefined =>
  options.verify === undefined || !options.wait ? undefined : {
    files: options.files,
    csvTypes: options.csvTypes,
    searchesPerSecond: options.verify.searchesPerSecond,
    externalCustomerId: options.backfill.externalCustomerId
  }

const windowJson = (window: Backfill.Timeframe & { readonly events: number }) => ({
  timeframe_start: DateTime.formatIso(window.timeframeStart),
  timeframe_end: DateTime.formatIso(window.timeframeEnd),
  events: window.events
})

const validationJson = (validation: Validation, scope: EventFile.Scope) => ({
  lines: validation.lines,
  events: validation.events,
  invalid: validation.invalid,
  ...(scope.only === true
    ? { skipped: validation.skipped, skipped_by_customer: Object.fromEntries(validation.skippedByCustomer) }
    : {}),
  problems: validation.problems
})

// The run itself reverts its open backfills when interrupted; this says what became of them, in words.
const reportInterruption = (
  created: Ref.Ref<ReadonlyArray<Backfill.BackfillId>>,
  closed: Ref.Ref<boolean>
) =>
  Effect.gen(function*() {
    const ids = yield* Ref.get(created)
    if (ids.length === 0) return yield* Output.note("\nInterrupted before anything was created.")
    const named = ids.length === 1 ? `backfill ${ids[0]}` : `the ${ids.length} backfills ${ids.join(", ")}`
    if (yield* Ref.get(closed)) {
      return yield* Output.note(
        `\nInterrupted while waiting: ${named} ${ids.length === 1 ? "is" : "are"} closed and Orb will still ` +
          `reflect ${ids.length === 1 ? "it" : "them"} (follow with: ${
            ids.map((id) => `orb-backfill watch ${id}`).join("; ")
          }).`
      )
    }
    const seen = yield* Effect.forEach(ids, (id) => Effect.either(Backfills.fetch(id)))
    const unreverted = ids.filter((_, i) => {
      const backfill = seen[i]
      return !(Either.isRight(backfill) && backfill.right.status === "reverted")
    })
    if (unreverted.length === 0) {
      return yield* Output.note(
        `\nInterrupted: ${named} ${ids.length === 1 ? "was" : "were"} reverted, so no usage changed.`
      )
    }
    yield* Output.note(
      `\nInterrupted: ${
        unreverted.map((id) => {
          const backfill = seen[ids.indexOf(id)]
          return `backfill ${id} could not be confirmed reverted` +
            (Either.isRight(backfill) ? ` (it is ${backfill.right.status})` : "")
        }).join("; ")
      }; revert with: ${unreverted.map((id) => `orb-backfill revert ${id}`).join("; ")}`
    )
  })
