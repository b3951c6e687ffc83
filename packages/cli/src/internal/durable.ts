/**
 * Durable runs from the command line: `run` against an Orb that outlives the process keeps its state in one SQLite
 * file (`@effect-orb/workflow`), so that a crash, a deploy or Ctrl-C only suspends it; `runs` lists the runs of a
 * state file, `resume` continues them, `runs cancel` reverts one and ends it.
 */
import { Backfill, Backfills, type Verify } from "@effect-orb/backfills"
import { DurableEngine, DurableRun, type EventFile, RunSource } from "@effect-orb/workflow"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as ConfigError from "effect/ConfigError"
import * as DateTime from "effect/DateTime"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { identity } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Backend from "../Backend.js"
import * as Output from "../Output.js"
import * as CliError from "./cliError.js"
import * as Database from "./database.js"
import * as Follow from "./follow.js"
import * as Inputs from "./inputs.js"
import * as Progress from "./progress.js"
import * as Render from "./render.js"
import * as RunResult from "./runResult.js"
import * as VerifyCli from "./verify.js"

/**
 * Where the state file is by default: `$XDG_STATE_HOME/orb-backfill/runs.sqlite`, else
 * `~/.local/state/orb-backfill/runs.sqlite` (the XDG base directories' place for state that outlives a process
 * but is not worth a backup).
 *
 * @category state
 */
export const defaultStatePath = (
  env: { readonly XDG_STATE_HOME?: string | undefined } = process.env,
  home: string = os.homedir()
): string => {
  const base = env.XDG_STATE_HOME !== undefined && path.isAbsolute(env.XDG_STATE_HOME)
    ? env.XDG_STATE_HOME
    : path.join(home, ".local", "state")
  return path.join(base, "orb-backfill", "runs.sqlite")
}

/**
 * Which state file a command uses: `--state`, or the default.
 *
 * @category state
 */
export interface State {
  /** The state file, or the database's URL with its password hidden. */
  readonly path: string
  /** Whether `--state` (or `--database`) chose it: the commands printed for later then repeat it. */
  readonly explicit: boolean
  /** The Postgres database the runs are on, shared with workers (`--database`), instead of the state file. */
  readonly database?: Database.Database | undefined
}

/**
 * The state file of a command's `--state` flag.
 *
 * @category state
 */
export const stateOf = (flag: string | undefined): State =>
  flag === undefined ? { path: defaultStatePath(), explicit: false } : { path: path.resolve(flag), explicit: true }

/**
 * Where a command's runs are: the Postgres database of `--database` (or `ORB_BACKFILL_DATABASE_URL` without
 * `--state`), else the state file of `--state` or the default.
 *
 * @category state
 */
export const locate = (
  flags: { readonly state: string | undefined; readonly database: string | undefined }
): Effect.Effect<State, CliError.UsageError> =>
  Effect.flatMap(Database.resolve(flags), (database) => {
    if (Option.isSome(database)) {
      return Effect.succeed({ path: database.value.shown, explicit: database.value.explicit, database: database.value })
    }
    const state = stateOf(flags.state)
    const notAFile = pathTrouble(state.path)
    return notAFile === undefined ? Effect.succeed(state) : Effect.fail(
      new CliError.UsageError({
        reason: `${state.explicit ? "--state" : "the default state file"}: ${notAFile}`
      })
    )
  })

/**
 * What is wrong with a state file's path before anything opens it: a folder given for the file (SQLite's answer is
 * `disk I/O error`), or a file where its folder should be.
 */
const pathTrouble = (file: string): string | undefined => {
  // Whatever else a look finds (no such entry, no permission) is for the command to meet and say.
  const statOf = (entry: string) => {
    try {
      return fs.statSync(entry)
    } catch {
      return undefined
    }
  }
  if (statOf(file)?.isDirectory() === true) {
    return `${file} is a folder: give the state file's path, such as ${path.join(file, "runs.sqlite")}`
  }
  for (let above = path.dirname(file);; above = path.dirname(above)) {
    const found = statOf(above)
    if (found !== undefined) {
      return found.isDirectory() ? undefined : `${above} is a file, not a folder: the state file cannot be made in it`
    }
    if (path.dirname(above) === above) return undefined
  }
}

const stateFlag = (state: State) =>
  state.database !== undefined ? Database.flagOf(state.database) : state.explicit ? ` --state ${state.path}` : ""

/** Whether the state file or database has no runs yet (a database is asked). */
const missing = (state: State) => state.database === undefined && !fs.existsSync(state.path)

/**
 * The run key of a run from a file: derived from the file's SHA-256 and what shapes the backfill (timeframe, mode,
 * customer scope, deprecation filter) and the events read from it (a CSV file's `--csv-type`s), so that the same
 * command run again attaches to the same run, and the same file into another timeframe or mode, or read with other
 * types, is another run. Pacing and batching shape no backfill and are left out.
 *
 * @category state
 */
export const runKeyOf = (
  sha256: string,
  backfill: Backfill.CreateBackfill,
  csvTypes?: Readonly<Record<string, string>> | undefined,
  only = false
): string => {
  const shape = JSON.stringify([
    sha256,
    backfill.timeframeStart.epochMillis,
    backfill.timeframeEnd.epochMillis,
    backfill.replaceExistingEvents,
    backfill.customerId ?? null,
    backfill.externalCustomerId ?? null,
    backfill.deprecationFilter ?? null,
    // Only when given, so that the keys of the runs without them stay what they were.
    ...(csvTypes !== undefined && Object.keys(csvTypes).length > 0
      ? [Object.entries(csvTypes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]
      : []),
    // A run that keeps one customer's events sends other events than one that refuses the others.
    ...(only ? ["only"] : [])
  ])
  return `run-${crypto.createHash("sha256").update(shape).digest("hex").slice(0, 20)}`
}

/**
 * The state file's folder, made when missing readable by its owner only (whatever the umask: it holds file paths,
 * customer ids and timeframes); an existing folder is left as it is, it may be shared.
 */
const ensureFolder = (state: State) => {
  const folder = path.dirname(state.path)
  const first = fs.mkdirSync(folder, { recursive: true, mode: 0o700 })
  if (first === undefined) return
  for (let made = folder; made.length >= first.length; made = path.dirname(made)) fs.chmodSync(made, 0o700)
}

/**
 * The engine on the state file, its workflow over the backend's `Backfills`; refused if another process holds it.
 * On a database, a client of the workers' engine: it runs nothing itself.
 */
const engine = (state: State): Layer.Layer<
  Layer.Layer.Success<ReturnType<typeof sqliteEngine>>,
  Layer.Layer.Error<ReturnType<typeof sqliteEngine>> | Database.DatabaseUnreachable,
  Layer.Layer.Context<ReturnType<typeof sqliteEngine>>
> =>
  state.database !== undefined
    // Workers execute the runs: this process has no progress of its own to show (`followJournal` reads the journal).
    ? Layer.merge(Database.client(state.database), DurableRun.layerProgress)
    : sqliteEngine(state)

const sqliteEngine = (state: State) =>
  Layer.unwrapEffect(Effect.sync(() => {
    try {
      ensureFolder(state)
    } catch (error) {
      return Layer.fail(
        new DurableEngine.StateUnwritable({
          path: state.path,
          reason: `its folder cannot be made (${(error as { code?: unknown }).code ?? String(error)})`
        })
      )
    }
    // The runs' progress, reported by the workflow, shown by the commands.
    return DurableRun.layer.pipe(
      Layer.provideMerge(Layer.merge(DurableEngine.layerSqlite({ filename: state.path }), DurableRun.layerProgress))
    )
  }))

/**
 * With the backend's Orb as the runs' `OrbConnection`: runs submitted record it, and the workflow leaves a run of
 * another Orb alone.
 */
export const withOrb = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.serviceOption(Backend.Backend), (backend) => {
    const connection = Option.getOrUndefined(backend)?.connection
    return connection === undefined ? effect : Effect.provideService(effect, DurableRun.OrbConnection, connection)
  })

/**
 * A command on the runs of `state`, with the backend's Orb as theirs (unless `orb` is `false`: a command that runs
 * none): on a state file, that file being no database or a damaged one is its sentence (`StateDamaged`), wherever it
 * is found.
 */
const onState = (state: State, orb = true) => <A, E, R>(effect: Effect.Effect<A, E, R>) => {
  const reading = state.database !== undefined ? effect : DurableEngine.readingState(state.path)(effect)
  return orb ? withOrb(reading) : reading
}

/** Refuses a run of another Orb (or account) than the backend's, before the engine is asked to do anything with it. */
const ownRun = (run: DurableRun.RunState) =>
  DurableRun.checkOrb(run).pipe(Effect.mapError((other) => new CliError.UsageError({ reason: other.message })))

const share = (run: DurableRun.RunState) => run.size === 0 ? 1 : Math.min(1, run.position / run.size)

const percent = (run: DurableRun.RunState) => `${Math.floor(share(run) * 100)}%`

const find = (runs: ReadonlyArray<DurableRun.RunState>, runKey: string) => runs.find((run) => run.runKey === runKey)

/**
 * Shows a run's progress as this process executes it (`DurableRun.progress`), with the bar, the lines and the ETA of
 * an in-memory run, until interrupted; nothing under `--json`. `total`: the events of the file, when checked (a
 * resumed run's is estimated from how far into its file it is); `quota`: the pace, default the run's own.
 */
const show = (
  runKey: string,
  json: boolean,
  options: {
    readonly total?: number | undefined
    readonly quota?: Backfills.IngestQuota | false | undefined
    readonly batchSize?: number | undefined
    /** A run this process did not start (resumed, attached to). */
    readonly resumed?: boolean | undefined
  } = {}
) =>
  json ? Effect.never : Effect.scoped(Effect.gen(function*() {
    const backend = yield* Effect.serviceOption(Backend.Backend)
    const output = yield* Output.Output
    const reporter = yield* Progress.reporter(output.isTTY ? "tty" : "plain", options.total, {
      traffic: Option.getOrUndefined(backend)?.traffic,
      quota: options.quota,
      batchSize: options.batchSize,
      resumed: options.resumed
    })
    yield* Stream.runForEach(DurableRun.progress(runKey), reporter.onRun)
    return yield* Effect.never
  }))

/** A run as its journal tells it: what a process that does not execute it (workers do) can show of it. */
const journalLine = (run: DurableRun.RunState) =>
  run.waitingFor !== undefined
    ? `Run ${run.runKey}: ${
      Progress.overlapLabel({ ...run.waitingFor, id: run.waitingFor.backfillId }).replace(/^W/, "w")
    }`
    : `Run ${run.runKey}: ${run.stage}` + (run.backfillId !== undefined ? `, backfill ${run.backfillId}` : "") +
      `, ${Progress.plural(run.accepted, "event")} accepted, ${percent(run)} of the file done` +
      (run.lastError !== undefined && run.stage !== "done" ? ` (last error: ${run.lastError})` : "")

/**
 * Says once, the first time the database fails, that this process waits for it (`what` it waits to do), and why:
 * the `onRetry` of `DurableEngine.throughStorageFailures`.
 */
const databaseWaits = (database: Database.Database, what: string) => {
  let told = false
  return (error: unknown) =>
    told ? Effect.void : Effect.zipRight(
      Effect.sync(() => told = true),
      Output.note(
        `The database does not answer (${Database.unreachable(database)(error).reason}): waiting for it ${what}.`
      )
    )
}

/**
 * Follows a run that workers execute elsewhere from its journal: a line each time it changes, and every 10 seconds
 * while it does not, saying what it waits for (the in-process progress `show` follows is not there).
 */
const followJournal = (
  { executionId, runKey }: Pick<DurableRun.RunState, "executionId" | "runKey">,
  quiet: boolean,
  quota: Backfills.IngestQuota | false | undefined,
  database: Database.Database
) =>
  quiet ? Effect.never : Effect.gen(function*() {
    const backend = yield* Effect.serviceOption(Backend.Backend)
    return yield* Follow.follow(
      // This run alone, not every run the database holds, read in full each time.
      Database.answered(DurableRun.listCurrent({ executionIds: [executionId], unfinished: false })).pipe(
        Effect.map((runs) => {
          const run = runs.find((run) => run.executionId === executionId)
          return run === undefined ? undefined : journalLine(run)
        }),
        // The run is the workers': it goes on (or waits for the database) whatever this process can read of it.
        Effect.catchAll((error) =>
          Effect.succeed(
            `Run ${runKey}: the database does not answer (${Database.unreachable(database)(error).reason}); the ` +
              "workers go on with the run, and this waits for the database"
          )
        )
      ),
      {
        traffic: Option.getOrUndefined(backend)?.traffic,
        pace: quota === undefined || quota === false ? undefined : quota
      }
    )
  })

/** Ends what `show` shows, once the run has ended: its last report (the close, the reflection) drawn first. */
const stopShowing = <A, E>(fiber: Fiber.RuntimeFiber<A, E>, exit: Exit.Exit<unknown, unknown>) =>
  Effect.zipRight(
    Exit.isSuccess(exit) ? Effect.sleep("50 millis") : Effect.void,
    Fiber.interrupt(fiber)
  )

/**
 * Waits for the end of a run the engine executes (it resumes unfinished runs by itself), following its progress;
 * a state file that cannot be written ends the wait.
 */
const awaitEnd = (
  run: Pick<DurableRun.RunState, "executionId" | "runKey">,
  quiet: boolean,
  quota?: Backfills.IngestQuota | false | undefined,
  /** Workers on this database execute it, not this process: its progress is read from its journal. */
  elsewhere?: Database.Database | undefined
) =>
  DurableEngine.whileWritable(Effect.gen(function*() {
    // A run that suspended itself (it met another Orb) waits for a resume; one that runs goes on as it was.
    const waits = elsewhere === undefined ? undefined : databaseWaits(elsewhere, "to follow the run")
    const resumed = DurableEngine.throughStorageFailures(DurableRun.BackfillRun.resume(run.executionId), waits)
    // The engine's resume waits out the database's failures by itself, without a word: a database down or silent
    // meanwhile is said once it has not answered in time, as a poll's silence is below.
    yield* waits === undefined ? resumed : Database.saidWhenSilent(resumed, waits)
    const following: Effect.Effect<never, never, Output.Output | SqlClient.SqlClient | DurableRun.RunProgresses> =
      elsewhere !== undefined
        ? followJournal(run, quiet, quota, elsewhere)
        : show(run.runKey, quiet, { quota, resumed: true })
    const progress = yield* Effect.fork(following)
    for (;;) {
      // The database failing (a restart, a failover) is waited out as the run's own steps wait it out.
      // No answer in time (a connection the server dropped) is looked again, as a failure of the database is.
      const polled = DurableEngine.throughStorageFailures(DurableRun.BackfillRun.poll(run.executionId), waits)
      const result = elsewhere === undefined
        ? yield* polled
        // No answer in time is said as a failure of the database is: a query on a dropped connection fails no other
        // way.
        : yield* Database.answered(polled).pipe(Effect.catchAll((silence) => Effect.as(waits!(silence), undefined)))
      if (result !== undefined && result._tag === "Complete") {
        yield* stopShowing(progress, result.exit)
        return yield* result.exit
      }
      yield* Effect.sleep("250 millis")
    }
  }))

/**
 * A durable run's result as the one result printer takes it: each window's backfill fetched as it is now (the
 * journal keeps only its id and last status).
 */
const printResult = (
  runKey: string,
  state: State,
  result: DurableRun.RunResult,
  json: boolean,
  options: { readonly validation?: unknown; readonly reflecting?: boolean; readonly extra?: Record<string, unknown> } =
    {}
) =>
  Effect.flatMap(resultOf(runKey, state, result, options), (printed) => RunResult.print(printed, json, options.extra))

/** A durable run's result as the printer takes it, each window's backfill fetched as it is now. */
const resultOf = (
  runKey: string,
  state: State,
  result: DurableRun.RunResult,
  options: { readonly validation?: unknown; readonly reflecting?: boolean } = {}
) =>
  Effect.map(
    Effect.forEach(result.windows, (window) =>
      Effect.map(Backfills.fetch(window.backfillId ?? result.backfillId), (backfill) => ({ window, backfill }))),
    (windows): RunResult.RunResult => ({
      windows,
      status: result.status,
      durable: { runKey, state: state.path },
      ingestion: {
        accepted: result.accepted,
        leftOut: result.failed,
        json: { read: result.read, accepted: result.accepted, failed: result.failed, segments: result.segments }
      },
      validation: options.validation,
      reflecting: options.reflecting ?? false
    })
  )

// Ctrl-C, SIGTERM or a shutdown suspends a durable run: nothing is reverted, and `resume` continues it. What that
// leaves in Orb depends on the stage: before the close the backfill stays open (and closes by itself, half filled, at
// its close time); once closed, the events are in and Orb reflects them whatever this process does.
const reportSuspension = (runKey: string, state: State, closeTime: string) =>
  Effect.gen(function*() {
    const run = find(yield* Effect.orElseSucceed(DurableRun.list, () => []), runKey)
    const ids = run?.backfillIds ?? []
    const backfill = ids.length > 1 ? `backfills ${ids.join(", ")}` : `backfill ${ids[0]}`
    const resume = `orb-backfill resume ${runKey}${stateFlag(state)}`
    const before = `before ${closeTime}, when Orb would close ${ids.length > 1 ? "them" : "it"} by itself`
    const [what, next] = ids.length === 0
      ? ["no backfill yet", `Continue it with: ${resume}.`]
      : run?.stage === "awaiting reflection"
      ? [
        `${backfill} ${ids.length > 1 ? "are" : "is"} closed and Orb is reflecting ${
          ids.length > 1 ? "them" : "it"
        }, nothing reverted`,
        `${resume} only waits for the reflection.`
      ]
      : run?.stage === "reverting"
      ? [`it was reverting ${backfill}`, `Finish the revert with: ${resume} (${before}).`]
      : run?.stage === "closing"
      ? [`${backfill} may not be closed yet, nothing reverted`, `Continue it with: ${resume} (${before}).`]
      : [
        `${backfill} ${ids.length > 1 ? "stay" : "stays"} open, nothing reverted`,
        `Continue it with: ${resume} (${before}).`
      ]
    yield* Output.note(`\nInterrupted: durable run ${runKey} is suspended (${what}). ${next}`)
  })

/**
 * The engine resumes every unfinished run of its file, and those of another Orb suspend themselves at once: said, so
 * that such a run is not forgotten.
 */
const noteOtherOrbs = (runs: ReadonlyArray<DurableRun.RunState>, except: string | undefined, state: State) =>
  Effect.forEach(runs, (run) =>
    run.runKey === except || !unfinished(run) || run.orb === undefined
      ? Effect.void
      : Effect.flatMap(DurableRun.compareOrb(run), (match) =>
        match === "another Orb"
          ? Output.note(
            `Durable run ${run.runKey} of this ${
              state.database !== undefined ? "database" : "state file"
            } belongs to the Orb at ${run.orb!.baseUrl}: it is left ` +
              `as it is (resume it against that Orb).`
          )
          : Effect.void), { discard: true })

/** Which generation of the run key `base` a run key is: `base` the first, `base-2` the second, and so on. */
const generationOf = (base: string, runKey: string) => {
  if (runKey === base) return 1
  const suffix = runKey.startsWith(`${base}-`) ? /^([2-9]|[1-9]\d+)$/.exec(runKey.slice(base.length + 1)) : null
  return suffix === null ? undefined : Number(suffix[1])
}

/** Those of a run's backfills that Orb says are reverted (one that cannot be fetched is not known to be). */
const revertedOf = (run: DurableRun.RunState) =>
  Effect.filter(run.backfillIds, (id) =>
    Backfills.fetch(id).pipe(
      Effect.map((found) => Backfill.isReverted(found.status)),
      Effect.orElseSucceed(() => false)
    ))

/**
 * The earlier run of the state file, in this Orb, that added the same file's events over an overlapping timeframe
 * and whose backfills Orb still counts: a new `--add` run would count them twice.
 */
const addedBefore = (
  runs: ReadonlyArray<DurableRun.RunState>,
  sha256: string,
  backfill: Backfill.CreateBackfill
) =>
  Effect.gen(function*() {
    for (const run of runs) {
      const overlaps = run.timeframeStart !== undefined && run.timeframeEnd !== undefined &&
        run.timeframeStart.epochMillis < backfill.timeframeEnd.epochMillis &&
        backfill.timeframeStart.epochMillis < run.timeframeEnd.epochMillis
      if (run.stage !== "done" || run.sha256 !== sha256 || run.replaceExistingEvents !== false || !overlaps) continue
      if ((yield* DurableRun.compareOrb(run)) === "another Orb") continue
      if ((yield* revertedOf(run)).length === 0) return run
    }
    return undefined
  })

/**
 * Which run the command is. The latest run of its run key (in this Orb) is attached to while it has not ended, or
 * when it ended with its backfills in Orb; one that failed or was cancelled, or whose backfill was reverted since,
 * is over: the command starts a new run under the next generation of the key (`run-...-2`), saying why. A run
 * of another Orb is not this one's.
 */
const chooseRun = (runs: ReadonlyArray<DurableRun.RunState>, base: string) =>
  Effect.gen(function*() {
    const family = runs.flatMap((run) => {
      const generation = generationOf(base, run.runKey)
      return generation === undefined ? [] : [{ run, generation }]
    }).sort((a, b) => a.generation - b.generation)
    const next = family.length === 0 ? base : `${base}-${family[family.length - 1].generation + 1}`
    const ours = yield* Effect.filter(
      family,
      ({ run }) => Effect.map(DurableRun.compareOrb(run), (match) => match !== "another Orb")
    )
    const latest = ours[ours.length - 1]?.run
    if (latest === undefined) return { runKey: next }
    if (unfinished(latest)) return { runKey: latest.runKey, before: latest }
    if (latest.stage === "failed") {
      return { runKey: next, why: `Durable run ${latest.runKey} failed (${latest.lastError ?? "no reason recorded"})` }
    }
    const reverted = yield* revertedOf(latest)
    if (reverted.length === 0) return { runKey: latest.runKey, before: latest }
    return {
      runKey: next,
      why: `Durable run ${latest.runKey} ended with its backfill ${reverted.join(", ")} reverted since`
    }
  })

/**
 * How a durable run can fail beyond an in-memory one: the run failed (and says whether it was reverted), the file
 * cannot be read or changed (or is not NDJSON or CSV), another process holds the state file, or the state file
 * cannot be written, or read (no database, or a damaged one).
 *
 * @category errors
 */
export type RunError =
  | DurableRun.RunFailed
  | RunSource.SourceError
  | EventFile.UnsupportedFormat
  | DurableEngine.StateLocked
  | DurableEngine.StateUnwritable
  | DurableEngine.StateDamaged
  | ConfigError.ConfigError
  | Database.DatabaseUnreachable
  | VerifyError

/**
 * How a run's verification (`--verify`) can fail: Orb does not hold the file (exit 1, said), a backfill is no longer
 * reflected, the file cannot be read again.
 *
 * @category errors
 */
export type VerifyError = CliError.Exit | Verify.NotReflected | EventFile.InputError

/**
 * What a durable `run` needs beyond the checked file.
 *
 * @category models
 */
export interface RunSettings {
  /** The files, in order, each with its format: one file is a file source, several a files source. */
  readonly files: ReadonlyArray<Inputs.InputFile>
  /** Types for some of a CSV file's property columns (`--csv-type`). */
  readonly csvTypes?: EventFile.CsvTypes | undefined
  readonly backfill: Backfill.CreateBackfill
  readonly state: State
  readonly runKey?: string | undefined
  /** In add mode, add the file's events even though an earlier run of the state file added them. */
  readonly addAgain?: boolean | undefined
  readonly expectedEvents: number
  readonly skipInvalid: boolean
  /** Keep only the backfill's customer's events (`--only-customer`): the others are left out. */
  readonly only?: boolean | undefined
  readonly wait: boolean
  /** Once reflected, verify the run's backfills against the file (`--verify`). */
  readonly verify?: VerifyCli.Settings | undefined
  readonly json: boolean
  /** On a database: submit the run to the workers and return, without following it (`--submit`). */
  readonly submit?: boolean | undefined
  readonly batchSize?: number | undefined
  readonly concurrency?: number | undefined
  readonly quota: Backfills.IngestQuota | false
  /** The account's longest timeframe per backfill: a longer one is run as windows. */
  readonly maxTimeframe?: Duration.Duration | undefined
  /** How long the create waits for an overlapping pending backfill (`--overlap-wait`); default the workflow's. */
  readonly overlapWait?: Duration.Duration | undefined
  /** Printed with the result under `--json`. */
  readonly validation: unknown
  /** The files' pin ({@link pin}), started while they were checked; else taken here. */
  readonly pinned?: Effect.Effect<RunSource.RunSource, RunSource.SourceError | EventFile.UnsupportedFormat>
}

/**
 * The run's files as its source, each pinned by its size and SHA-256 (read whole: a big file on a worker thread, so
 * that the pin can be taken while the file is checked). One file stays a file source, so that its run key is the one
 * it always had.
 *
 * @category commands
 */
export const pin = (
  settings: Pick<RunSettings, "files" | "csvTypes" | "backfill" | "only">
): Effect.Effect<RunSource.RunSource, RunSource.SourceError | EventFile.UnsupportedFormat> => {
  const { backfill } = settings
  const options: RunSource.FileOptions = {
    csvTypes: settings.csvTypes,
    scope: {
      timeframeStart: backfill.timeframeStart,
      timeframeEnd: backfill.timeframeEnd,
      customerId: backfill.customerId,
      externalCustomerId: backfill.externalCustomerId,
      ...(settings.only === true ? { only: true } : {})
    }
  }
  return settings.files.length === 1
    ? RunSource.fromFile(settings.files[0].file, { ...options, format: settings.files[0].format })
    : RunSource.fromFiles(settings.files.map(({ file, format }) => ({ path: file, format })), options)
}

/**
 * Submits the run of a checked file to the engine on the state file and waits for its end, printing its progress;
 * a run already submitted under the same run key is attached to (a finished one prints its result at once).
 *
 * @category commands
 */
export const run = (settings: RunSettings): Effect.Effect<
  DurableRun.RunResult | undefined,
  RunError | CliError.UsageError | Backfills.Error,
  Output.Output | Backend.Backend | Backfills.Backfills | FileSystem.FileSystem
> =>
  onState(settings.state)(Effect.gen(function*() {
    const { backfill, state } = settings
    const source = yield* (settings.pinned ?? pin(settings))
    const sha256 = RunSource.sha256Of(source)!
    const file = Inputs.label(settings.files)
    const csvTypes = settings.files.some((input) => input.format === "csv")
      ? settings.csvTypes
      : undefined
    const baseKey = settings.runKey ??
      runKeyOf(
        sha256,
        backfill,
        csvTypes !== undefined && Object.keys(csvTypes).length > 0 ? csvTypes : undefined,
        settings.only === true
      )
    // The close time is fixed here, in the payload: every attempt of the create sends the same request.
    const checked = yield* DurableRun.payload({
      ...backfill,
      runKey: baseKey,
      source,
      expectedEvents: settings.expectedEvents,
      batchSize: settings.batchSize,
      concurrency: settings.concurrency,
      quota: settings.quota,
      maxTimeframe: settings.maxTimeframe,
      overlapWait: settings.overlapWait,
      invalidEvents: settings.skipInvalid ? "skip" : "fail",
      until: settings.wait ? "reflected" : "closed"
    })
    return yield* Effect.gen(function*() {
      const runs = yield* onRuns(state)(DurableRun.list)
      const { before, runKey, why } = yield* chooseRun(runs, baseKey)
      const payload = { ...checked, runKey }
      if (before !== undefined && unfinished(before)) yield* ownRun(before)
      if (why !== undefined && !settings.json) yield* Output.note(`${why}; starting a new run ${runKey}.`)
      if (!settings.json) yield* noteOtherOrbs(runs, runKey, state)
      if (before === undefined && !backfill.replaceExistingEvents) {
        const earlier = yield* addedBefore(runs, sha256, backfill)
        if (earlier !== undefined) {
          const said = `the events of ${file} were already added by durable run ${earlier.runKey} ` +
            `(backfill ${earlier.backfillIds.join(", ")}, ${Render.time(earlier.timeframeStart!)} to ${
              Render.time(earlier.timeframeEnd!)
            }), and Orb still counts them`
          if (settings.addAgain !== true) {
            return yield* new CliError.UsageError({
              reason: `${said}: adding them again counts them twice. To add them again all the same, pass ` +
                "--add-again; to put the file's events in place of those in the timeframe, use --replace"
            })
          }
          yield* Output.note(`Warning: ${said}; adding them again, as --add-again asks.`)
        }
      }
      if (!settings.json) {
        yield* Output.note(
          before !== undefined
            ? `Attaching to durable run ${runKey} (${before.stage})` + (unfinished(before)
              ? ": it goes on as it was submitted, its pace, batches and overlap wait included, whatever the flags " +
                "given now."
              : ".")
            : state.database !== undefined
            ? `Durable run ${runKey}, submitted to ${state.path}: the workers there run it (orb-backfill worker).`
            : `Durable run ${runKey} (resume it with: orb-backfill resume ${runKey}${stateFlag(state)}).`
        )
      }
      if (state.database !== undefined) {
        const result = yield* onWorkers(payload, state, settings, before?.executionId)
        if (result === undefined) return undefined
        return yield* afterRun(runKey, state, result, settings)
      }
      // An attach to a run that suspended itself (it met another Orb) wakes it.
      if (before !== undefined) yield* DurableRun.BackfillRun.resume(before.executionId)
      const progress = yield* Effect.fork(show(runKey, settings.json, {
        total: settings.expectedEvents,
        quota: settings.quota,
        batchSize: settings.batchSize,
        resumed: before !== undefined
      }))
      const result = yield* DurableRun.execute(payload).pipe(
        Effect.onExit((exit) => stopShowing(progress, exit)),
        Effect.onInterrupt(() => reportSuspension(runKey, state, Render.time(payload.closeTime)))
      )
      return yield* afterRun(runKey, state, result, settings)
    }).pipe(Effect.provide(engine(state)))
  }))

/** What a run prints once it has ended: its result, its verification, and where Orb's reflection goes on. */
const afterRun = (runKey: string, state: State, result: DurableRun.RunResult, settings: RunSettings) =>
  Effect.gen(function*() {
    yield* VerifyCli.afterRun(
      settings.wait ? settings.verify : undefined,
      result.windows.flatMap((window) => window.backfillId === undefined ? [] : [window.backfillId]),
      settings.json,
      (extra) =>
        printResult(runKey, state, result, settings.json, {
          validation: settings.validation,
          reflecting: !settings.wait,
          extra
        })
    )
    return result
  })

/**
 * A run on a database: submitted (a run key already submitted is the same run), then, unless `--submit`, its
 * progress followed until a worker ends it. Ctrl-C detaches: the workers go on with the run.
 */
const onWorkers = (
  payload: DurableRun.RunPayload,
  state: State,
  settings: RunSettings,
  /** The run's, when it was submitted before (an attach): submitted again, the engine's client waited for its end. */
  submitted: string | undefined
) =>
  Effect.gen(function*() {
    const executionId = submitted ?? (yield* DurableEngine.throughStorageFailures(
      DurableRun.BackfillRun.execute(payload, { discard: true }),
      state.database === undefined ? undefined : databaseWaits(state.database, "to submit the run")
    ))
    if (!settings.json) yield* noWorkerSaid(state, "the run waits for one")
    const later = `Follow it with: orb-backfill runs${stateFlag(state)}; stop it with: orb-backfill runs cancel ` +
      `${payload.runKey}${stateFlag(state)}`
    if (settings.submit === true) {
      yield* settings.json
        ? Output.line(JSON.stringify({ submitted: true, run_key: payload.runKey, database: state.path }))
        : Output.line(`Submitted durable run ${payload.runKey}. ${later}`)
      return undefined
    }
    return yield* awaitEnd({ executionId, runKey: payload.runKey }, settings.json, settings.quota, state.database).pipe(
      Effect.onInterrupt(() =>
        Output.note(
          `\nDetached from durable run ${payload.runKey}: the workers go on with it, nothing reverted. ${later}`
        )
      )
    )
  })

/** How a run's Orb compares with the backend's. */
type OrbMatch = Effect.Effect.Success<ReturnType<typeof DurableRun.compareOrb>>

const runJson = (run: DurableRun.RunState, match?: OrbMatch, runner?: string | null) => ({
  run_key: run.runKey,
  ...(runner === undefined ? {} : { runner }),
  orb: run.orb?.baseUrl ?? null,
  this_orb: match === undefined ? null : match === "this Orb",
  execution_id: run.executionId,
  backfill_id: run.backfillId ?? null,
  stage: run.stage,
  source: run.source,
  read: run.read,
  accepted: run.accepted,
  failed: run.failed,
  bytes_read: run.position,
  bytes_total: run.size,
  done: share(run),
  step: run.step ?? null,
  step_in_flight: run.stepInFlight ?? null,
  last_error: run.lastError ?? null
})

/**
 * The runs of a state file as a table: run key, backfill, stage, events accepted, share of the file done, the Orb it
 * belongs to (and whether that is the backend's: `this Orb`, `another Orb`, or its base URL with `another key`), last
 * error. Given the runners (runs on a database), a RUNNER column says which worker holds each run now (`-` for
 * none: an ended run, or one waiting for a worker).
 *
 * @category formatting
 */
export const runsTable = (
  runs: ReadonlyArray<DurableRun.RunState>,
  matches: ReadonlyArray<OrbMatch> = [],
  runners?: ReadonlyArray<string | null> | undefined
): string => {
  const header = ["RUN KEY", "BACKFILL", "STAGE", "ACCEPTED", "DONE", "ORB", "LAST ERROR"]
  const rows = runs.map((run, i) => [
    run.runKey,
    run.backfillId ?? "-",
    run.stage,
    Progress.count(run.accepted),
    percent(run),
    run.orb === undefined ? "-" : run.orb.baseUrl + (matches[i] === undefined ? "" : ` (${matches[i]})`),
    run.lastError ?? "-"
  ])
  if (runners !== undefined) {
    header.splice(3, 0, "RUNNER")
    rows.forEach((row, i) => row.splice(3, 0, runners[i] ?? "-"))
  }
  const right = runners !== undefined ? [4, 5] : [3, 4]
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const cell = (text: string, i: number) => (right.includes(i) ? text.padStart(widths[i]) : text.padEnd(widths[i]))
  return [header, ...rows].map((r) => r.map(cell).join("  ").trimEnd()).join("\n")
}

/**
 * `runs`: the durable runs of the state file, read-only (beside a process that runs them, too).
 *
 * @category commands
 */
export const list = (state: State, json: boolean) =>
  onState(state)(Effect.gen(function*() {
    const { placed, runs } = state.database !== undefined
      ? yield* Effect.all({ runs: DurableRun.list, placed: Database.placements }).pipe(
        onRuns(state),
        Effect.provide(engine(state))
      )
      : {
        placed: undefined,
        // A missing or empty file is a state file with no runs yet.
        runs: fs.existsSync(state.path) && fs.statSync(state.path).size > 0
          ? yield* DurableRun.list.pipe(Effect.provide(DurableEngine.layerSqliteReader({ filename: state.path })))
          : []
      }
    const runners = placed === undefined ? undefined : runs.map((run) => {
      const runner = unfinished(run) ? placed.get(run.executionId) : undefined
      return runner === undefined ? null : Database.shownRunner(runner)
    })
    const matches = yield* Effect.forEach(runs, DurableRun.compareOrb)
    if (json) {
      return yield* Output.line(JSON.stringify(runs.map((run, i) => runJson(run, matches[i], runners?.[i]))))
    }
    if (runs.length === 0) return yield* Output.line(`No durable runs in ${state.path}.`)
    yield* Output.line(runsTable(runs, matches, runners))
  }))

/**
 * A one-shot look at the runs (list them, ask a cancel): on a database, its failure, or no answer within 10 seconds,
 * is the database's sentence (`DatabaseUnreachable`), as when it cannot be reached at the start; a state file's is a
 * defect (the engine's layer has opened and checked it). Not `bounded`, for a write that may take longer (a prune of
 * many runs, one transaction each), only the failure is mapped.
 */
const onRuns =
  (state: State, options: { readonly bounded: boolean } = { bounded: true }) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    state.database !== undefined
      ? (options.bounded ? Database.answered(effect) : effect).pipe(
        Effect.mapError(Database.unreachable(state.database))
      )
      : Effect.orDie(effect)

const unfinished = (run: DurableRun.RunState) => run.stage !== "done" && run.stage !== "failed"

const noSuchRun = (state: State, runKey: string) =>
  new CliError.UsageError({ reason: `no durable run ${runKey} in ${state.path} (list them with: orb-backfill runs)` })

/**
 * `resume [RUN]`: continues one run (or every unfinished one) of the state file, printing progress, and prints
 * each result. The engine continues every unfinished run of the file while it is up, whichever was named.
 *
 * @category commands
 */
export const resume = (state: State, runKey: string | undefined, json: boolean) =>
  onState(state)(Effect.gen(function*() {
    // Every unfinished run (no RUN), with `--json`: one document, an array of their results (of failures, each the
    // error's document).
    const documents: Array<unknown> = []
    const every = runKey === undefined && json
    // Once the runs are read: a failure before (the state file's, the database's) is the error's document alone.
    let listed = false
    if (missing(state)) {
      return yield* runKey !== undefined
        ? Effect.fail(noSuchRun(state, runKey))
        : every
        ? Output.line("[]")
        : Output.line(`No durable runs in ${state.path}.`)
    }
    yield* Effect.gen(function*() {
      const runs = yield* onRuns(state)(DurableRun.list)
      const chosen = runKey === undefined ? runs.filter(unfinished) : runs.filter((run) => run.runKey === runKey)
      listed = true
      if (runKey !== undefined && chosen.length === 0) return yield* noSuchRun(state, runKey)
      // With `--json`, the array is printed however this ends (below).
      if (chosen.length === 0) {
        return every
          ? undefined
          : yield* Output.line(`No unfinished durable runs in ${state.path}.`)
      }
      let failure: DurableRun.RunFailed | undefined
      for (const run of chosen) {
        if (runKey !== undefined) yield* ownRun(run)
        else {
          // Every unfinished run: those of another Orb are left for a resume against theirs.
          const refused = yield* Effect.flip(ownRun(run)).pipe(Effect.option)
          if (refused._tag === "Some") {
            yield* Output.note(`Skipped: ${refused.value.reason}.`)
            continue
          }
        }
        if (!json) yield* Output.note(`Resuming durable run ${run.runKey} (${run.stage}).`)
        const exit = yield* Effect.exit(
          awaitEnd(run, json, undefined, state.database).pipe(
            Effect.onInterrupt(() =>
              Output.note(
                state.database !== undefined
                  ? `\nDetached from durable run ${run.runKey}: the workers go on with it, nothing reverted.`
                  : `\nInterrupted: durable run ${run.runKey} is suspended again, nothing reverted. Continue it ` +
                    `with: orb-backfill resume ${run.runKey}${stateFlag(state)}`
              )
            )
          )
        )
        if (Exit.isSuccess(exit)) {
          if (every) documents.push(RunResult.json(yield* resultOf(run.runKey, state, exit.value)))
          else yield* printResult(run.runKey, state, exit.value, json)
        } else if (Exit.isFailure(exit)) {
          const error = yield* Effect.flip(exit)
          const document = { run: { run_key: run.runKey, state: state.path }, ...CliError.json(error) }
          // An unwritable state file stops every run on it: the next would only wait for it too.
          if (runKey !== undefined || error._tag === "StateUnwritable") {
            if (!every) return yield* error
            documents.push(document)
            yield* Output.note(`Error: ${CliError.messageOf(error)}`)
            return yield* new CliError.Exit({ code: CliError.exitCodeOf(error) })
          }
          failure = error
          yield* Output.note(`Error: ${CliError.messageOf(error)}`)
          if (every) documents.push(document)
        }
      }
      if (failure !== undefined) return yield* new CliError.Exit({ code: CliError.ExitCode.failure })
    }).pipe(
      Effect.provide(engine(state)),
      // Every run's document so far, however the command ends (a failure, Ctrl-C): one array.
      every
        ? Effect.ensuring(Effect.suspend(() => listed ? Output.line(JSON.stringify(documents)) : Effect.void))
        : identity
    )
  }))

/** The run to cancel, unfinished: a run key of no run, or of one that has ended, is refused. */
const toCancel = (state: State, runKey: string) =>
  Effect.gen(function*() {
    const run = find(yield* onRuns(state)(DurableRun.list), runKey)
    if (run === undefined) return yield* noSuchRun(state, runKey)
    yield* ownRun(run)
    if (!unfinished(run)) return yield* alreadyEnded(run)
    return run
  })

/**
 * Refuses the cancel of a run that has ended; how to undo its backfill, unless Orb has it reverted already (a failed
 * or cancelled run reverts it: `revert` would be refused).
 */
const alreadyEnded = (run: DurableRun.RunState) =>
  Effect.gen(function*() {
    const id = run.backfillId
    const status = id === undefined
      ? undefined
      // A look, not a wait: an Orb that does not answer at once leaves the command as it would have been.
      : yield* Backfills.fetch(id).pipe(
        Effect.map((backfill) => backfill.status),
        Effect.timeoutOption("5 seconds"),
        Effect.map(Option.getOrUndefined),
        Effect.orElseSucceed(() => undefined)
      )
    return yield* new CliError.UsageError({
      reason: `durable run ${run.runKey} has already ended (${run.stage}` +
        (id !== undefined ? `, backfill ${id}` : "") + `); nothing to cancel` +
        (id === undefined
          ? ""
          : status !== undefined && Backfill.isReverted(status)
          ? `, and its backfill is ${status.replace("_", " ")}`
          : `. To undo its backfill: orb-backfill revert ${id}`)
    })
  })

/** The end of a run whose cancel was asked, awaited on this process's own engine (which resumes it if need be). */
const engineAwait = (state: State, runKey: string, executionId: string) =>
  Effect.gen(function*() {
    const run = (yield* Effect.orDie(DurableRun.list)).find((run) => run.executionId === executionId)
    if (run === undefined) return yield* noSuchRun(state, runKey)
    return yield* Effect.exit(awaitEnd(run, true))
  }).pipe(Effect.provide(engine(state)))

/** The cancel by this process's own engine, which resumes the run: the run's exit. */
const cancelByEngine = (state: State, runKey: string, json: boolean, asked: Asked) =>
  Effect.gen(function*() {
    const run = yield* toCancel(state, runKey)
    if (!(yield* DurableRun.cancel(run.executionId))) return yield* alreadyEnded(run)
    asked.by = "here"
    if (!json) yield* Output.note(`Cancelling durable run ${runKey}…`)
    return yield* Effect.exit(awaitEnd(run, true))
  }).pipe(Effect.provide(engine(state)))

/**
 * The cancel of a run another process runs (it holds the state file): the request written beside it (a write that
 * waits for that process's own) unless it was already, then the run's end read from the state file, for up to
 * `millis` (`None` while it has not ended).
 */
const cancelBeside = (
  state: State,
  runKey: string,
  json: boolean,
  requested: string | undefined,
  millis: number,
  asked: Asked
) =>
  Effect.gen(function*() {
    let executionId = requested
    if (executionId === undefined) {
      executionId = (yield* toCancel(state, runKey)).executionId
      yield* Effect.orDie(DurableRun.requestCancel(executionId))
      asked.by = "beside"
      if (!json) {
        yield* Output.note(
          `Cancelling durable run ${runKey}, which another process is running: it reverts and ends the run before ` +
            "its next step…"
        )
      }
    }
    for (const started = Date.now(); Date.now() - started < millis;) {
      const ended = yield* Effect.orDie(DurableRun.outcome(executionId))
      if (Option.isSome(ended)) return { executionId, ended }
      yield* Effect.sleep("250 millis")
    }
    return { executionId, ended: Option.none() }
  }).pipe(Effect.provide(DurableEngine.layerSqliteBeside({ filename: state.path })))

/** Says so when no worker is up on the database: what the command waits for (`waits`) then waits for one. */
const noWorkerSaid = (state: State, waits: string) =>
  Effect.flatMap(Database.runnersUp, (up) =>
    up === 0
      ? Output.note(
        `No worker is up on ${state.path}: ${waits} (start one with: orb-backfill worker${stateFlag(state)}).`
      )
      : Effect.void)

/** The cancel of a run on a database: the request written there, then the run's end read as a worker records it. */
const cancelOnWorkers = (state: State, runKey: string, json: boolean, asked: Asked) =>
  Effect.gen(function*() {
    const run = yield* toCancel(state, runKey)
    if (!(yield* onRuns(state)(DurableRun.cancel(run.executionId)))) return yield* alreadyEnded(run)
    asked.by = "workers"
    if (!json) {
      yield* Output.note(`Cancelling durable run ${runKey}: its worker reverts and ends it before its next step…`)
      yield* noWorkerSaid(state, "the cancel waits for one to revert and end the run")
    }
    // Its end as a worker records it, waited for through an outage of the database (said, not silent).
    return yield* Effect.exit(awaitEnd(run, true, undefined, state.database))
  }).pipe(Effect.provide(engine(state)))

/**
 * `runs cancel RUN`: reverts the run's backfill and ends the run. Its request is a row in the state file, read by
 * whichever process runs the run, before each step: when another process runs it (and holds the state file), the
 * request is written beside it and the run's end awaited from the file; otherwise the engine resumes the run here
 * and it sees the request at once. Either way the step in flight, if one was cut short, runs again first (a
 * segment's requests are replays). Should the other process stop before the run ends, the engine is taken up here.
 *
 * @category commands
 */
export const cancel = (state: State, runKey: string, json: boolean) => {
  const asked: Asked = { by: undefined }
  return onState(state)(Effect.gen(function*() {
    if (missing(state)) return yield* noSuchRun(state, runKey)
    let exit: Exit.Exit<DurableRun.RunResult, DurableRun.RunFailed | DurableEngine.StateUnwritable> | undefined
    // Once asked beside another process, the run is awaited there; every 2 seconds this process tries to take the
    // engine up, for should that process stop first, the run would wait for its next engine.
    let requested: string | undefined
    // On a database, the request is a row there, read by whichever worker runs the run (on any machine).
    if (state.database !== undefined) exit = yield* cancelOnWorkers(state, runKey, json, asked)
    while (exit === undefined) {
      const here = yield* Effect.either(
        requested === undefined ? cancelByEngine(state, runKey, json, asked) : engineAwait(state, runKey, requested)
      )
      if (here._tag === "Right") exit = here.right
      else if (here.left._tag !== "StateLocked") return yield* Effect.fail(here.left)
      else {
        const beside = yield* cancelBeside(state, runKey, json, requested, 2_000, asked)
        requested = beside.executionId
        exit = Option.getOrUndefined(beside.ended)
      }
    }
    const error = Exit.isFailure(exit) ? yield* Effect.flip(exit) : undefined
    if (error === undefined || error._tag === "StateUnwritable" || error.stage !== "cancel") {
      // It finished, or failed on its own, before it saw the cancel.
      return yield* error ??
        new CliError.UsageError({ reason: `durable run ${runKey} finished before it was cancelled` })
    }
    if (json) {
      return yield* Output.line(JSON.stringify({
        cancelled: true,
        run_key: runKey,
        backfill_id: error.backfillId ?? null,
        reverted: error.reverted
      }))
    }
    const windows = error.windows ?? []
    yield* Output.line(
      `Cancelled durable run ${runKey}: ` +
        (windows.length > 1
          ? `${
            error.reverted
              ? "every window's backfill was reverted, so no usage changed"
              : "NOT every window was reverted"
          }:\n` + Render.windowsTable(windows.map((window) => ({ ...window, status: window.status ?? "-" })))
          : error.backfillId === undefined
          ? "no backfill had been created."
          : error.reverted
          ? `backfill ${error.backfillId} was reverted, so no usage changed.`
          : `backfill ${error.backfillId} could not be confirmed reverted; revert it with: orb-backfill revert ${error.backfillId}`)
    )
  })).pipe(
    // Interrupted once asked: the request stands (a row beside the run), and whoever runs the run next acts on it.
    Effect.onInterrupt(() =>
      asked.by === undefined || json ? Effect.void : Output.note(cancelStands(state, runKey, asked.by))
    )
  )
}

/** Where a cancel was asked: by this process's engine, beside another process, or of the database's workers. */
interface Asked {
  by: "here" | "beside" | "workers" | undefined
}

/** What an interrupted cancel leaves: the request stands, and who acts on it. */
const cancelStands = (state: State, runKey: string, by: "here" | "beside" | "workers") =>
  `\nInterrupted: the cancel of durable run ${runKey} stands. ` + (by === "here"
    ? `The run is suspended: it reverts its backfill and ends as soon as it resumes (orb-backfill resume ${runKey}` +
      `${stateFlag(state)}).`
    : by === "beside"
    ? `The process running it reverts its backfill and ends it before its next step (follow it with: orb-backfill runs` +
      `${stateFlag(state)}).`
    : `Its worker reverts its backfill and ends it before its next step (follow it with: orb-backfill runs` +
      `${stateFlag(state)}).`)

/**
 * Standard input spooled for the pruned runs (in the state file's `spool/` folder), removed unless a run kept still
 * reads it: nothing else needs it once its runs are forgotten.
 */
const removeSpooled = (
  state: State,
  pruned: ReadonlyArray<DurableRun.RunState>,
  kept: ReadonlyArray<DurableRun.RunState>
) => {
  const folder = Inputs.spoolFolder(state.path)
  const stillRead = new Set(kept.flatMap((run) => run.files ?? []))
  for (const file of pruned.flatMap((run) => run.files ?? [])) {
    if (path.dirname(file) === folder && !stillRead.has(file)) fs.rmSync(file, { force: true })
  }
}

/**
 * `runs prune --older-than DAYS`: forgets the runs of the state file that finished more than that many days ago
 * (`DurableRun.prune`); unfinished runs, and failed runs that may have left a backfill open, are kept.
 *
 * @category commands
 */
export const prune = (state: State, olderThanDays: number, json: boolean) =>
  onState(state, false)(Effect.gen(function*() {
    if (missing(state)) {
      return yield* json
        ? Output.line(JSON.stringify({ pruned: [] }))
        : Output.line(`No durable runs in ${state.path}.`)
    }
    const finishedBefore = DateTime.subtract(yield* DateTime.now, { days: olderThanDays })
    // Without the engine, which would resume the unfinished runs; the lock refuses it beside a process running them.
    // Not bounded in time as a look is: a prune of many runs, one transaction each, can take longer than 10 seconds.
    const pruning = onRuns(state, { bounded: false })(
      Effect.all({ pruned: DurableRun.prune({ finishedBefore }), kept: DurableRun.list })
    )
    const { kept, pruned } = yield* (state.database !== undefined
      // On a database, beside the workers: only finished runs are touched.
      ? Effect.provide(pruning, Database.client(state.database))
      : Effect.provide(pruning, DurableEngine.layerSqliteMaintenance({ filename: state.path })))
    if (state.database === undefined) removeSpooled(state, pruned, kept)
    if (json) return yield* Output.line(JSON.stringify({ pruned: pruned.map((run) => runJson(run)) }))
    yield* Output.line(
      pruned.length === 0
        ? `No durable run of ${state.path} finished before ${Render.time(finishedBefore)}; nothing was pruned.`
        : `Pruned ${Progress.plural(pruned.length, "durable run")} that finished before ${
          Render.time(finishedBefore)
        }: ` +
          pruned.map((run) => run.runKey).join(", ") + ". Their run keys would now start new runs."
    )
  }))
