/**
 * A whole backfill run as a durable workflow (`@effect/workflow`): create, ingest the source segment by segment,
 * close, await reflection. Each step's result is journaled (the create, close and polls as the engine's activities,
 * each segment as a row of the engine database's segments table), so a run that a crash, an
 * OOM kill or a deploy stops resumes where it was, in this process or another, and ends once: the create is keyed
 * from the execution (a crash between the POST and the journal gives back the same backfill), each segment's
 * requests are keyed from the backfill and their events (a segment sent again is Orb's replay), and a close of a
 * closed backfill is done. A typed failure before the close reverts the backfill; an interruption (SIGTERM, a
 * shutdown) only suspends the run, never reverts it.
 *
 * @since 0.1.0
 */
import { OrbClient } from "@effect-orb/backfills"
import type { Backfill, Backfills } from "@effect-orb/backfills"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import type * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import type * as Context from "effect/Context"
import type * as DateTime from "effect/DateTime"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import * as DurableEngine from "./DurableEngine.js"
import * as CancelRequests from "./internal/cancelRequests.js"
import * as internal from "./internal/durableRun.js"
import * as InternalRunOrb from "./internal/runOrb.js"
import * as InternalProgress from "./internal/runProgress.js"
import * as RunStates from "./internal/runStates.js"
import * as models from "./RunModels.js"
import type * as RunSource from "./RunSource.js"

/**
 * An ingest pace, as `Backfills.IngestQuota`.
 *
 * @since 0.1.0
 * @category models
 */
export const Quota: typeof models.Quota = models.Quota

/**
 * The Orb a run belongs to: its base URL, and its account as the API key's fingerprint (a salted SHA-256, never the
 * key; Orb has no endpoint that names the account of a key). Once the run's backfill exists, that backfill is the
 * proof of the account instead: a key that finds it is of the run's account, as after a key rotation.
 *
 * @since 0.2.0
 * @category models
 */
export const RunOrb: typeof models.RunOrb = models.RunOrb

/**
 * @since 0.2.0
 * @category models
 */
export type RunOrb = models.RunOrb

/**
 * The Orb this process's `Backfills` talks to. Provided beside the workflow's layer, each run submitted records it
 * (`payload`), and a run of another Orb or account is left alone: resumed by the engine, it suspends before it sends
 * or reverts anything, and stays resumable against its own Orb. Without it, runs record no Orb and are not checked.
 *
 * @since 0.2.0
 * @category models
 */
export interface OrbConnection {
  /** As the `OrbClient` is given it (`ORB_BASE_URL`). */
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted
}

/**
 * @since 0.2.0
 * @category tags
 */
export const OrbConnection: Context.Tag<OrbConnection, OrbConnection> = InternalRunOrb.OrbConnection

/**
 * @since 0.2.0
 * @category layers
 */
export const layerOrbConnection = (connection: OrbConnection): Layer.Layer<OrbConnection> =>
  Layer.succeed(OrbConnection, connection)

/**
 * The connection as `OrbClient.layerConfig` reads it by default: `ORB_API_KEY` (as `Redacted`) and `ORB_BASE_URL`
 * (default Orb's production URL).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerOrbConnectionConfig = (
  config: Config.Config.Wrap<OrbConnection> = OrbClient.environmentConfig
): Layer.Layer<OrbConnection, ConfigError.ConfigError> => Layer.effect(OrbConnection, Config.unwrap(config))

/**
 * A run was to act through a connection to another Orb, or another account of its Orb, than its own: nothing was sent.
 *
 * @since 0.2.0
 * @category errors
 */
export const OtherOrb: typeof models.OtherOrb = models.OtherOrb

/**
 * @since 0.2.0
 * @category errors
 */
export type OtherOrb = models.OtherOrb

/**
 * What a durable run is: everything `Backfills.run` takes but its events, a replayable source instead, and the run
 * key from which its execution id derives (submitting the same run key again attaches to the same execution). Its
 * close time is fixed at submission, so that every attempt of the create sends the same request.
 *
 * @since 0.1.0
 * @category models
 */
export const RunPayload: typeof models.RunPayload = models.RunPayload

/**
 * @since 0.1.0
 * @category models
 */
export type RunPayload = models.RunPayload

/**
 * One window of a run over a timeframe longer than the account's maximum (or the one window of a shorter run):
 * the library's `OrbError.RunWindowOutcome`, the one window model of both executors.
 *
 * @since 0.1.0
 * @category models
 */
export const RunWindow: typeof models.RunWindow = models.RunWindow

/**
 * @since 0.1.0
 * @category models
 */
export type RunWindow = models.RunWindow

/**
 * What a finished run did.
 *
 * @since 0.1.0
 * @category models
 */
export const RunResult: typeof models.RunResult = models.RunResult

/**
 * @since 0.1.0
 * @category models
 */
export type RunResult = models.RunResult

/**
 * A durable run failed for good. Before the close, the backfill was reverted (`reverted`), so usage is as it was;
 * after the close it never is.
 *
 * @since 0.1.0
 * @category errors
 */
export const RunFailed: typeof models.RunFailed = models.RunFailed

/**
 * @since 0.1.0
 * @category errors
 */
export type RunFailed = models.RunFailed

/**
 * The workflow. Its execution id derives from the payload's `runKey`.
 *
 * @since 0.1.0
 * @category workflows
 */
export const BackfillRun: typeof models.BackfillRun = models.BackfillRun

/**
 * What a run waits for while nothing moves: a pending backfill that overlaps a window's timeframe (to be reflected or
 * reverted), a run of the engine submitted earlier over an overlapping timeframe (to create its backfill first), a
 * step sent again after a transient failure (a 429 beyond the ingestion's own retries, an outage), or Orb's
 * reflection of the closed backfills.
 *
 * @since 0.2.0
 * @category models
 */
export type RunWait =
  | {
    readonly _tag: "Overlap"
    readonly window: number
    readonly backfillId: string
    readonly timeframeStart: DateTime.Utc
    readonly timeframeEnd: DateTime.Utc
    readonly status: Backfill.BackfillStatus
  }
  | { readonly _tag: "EarlierRun"; readonly window: number; readonly runKey: string }
  | {
    readonly _tag: "Retry"
    /** The step sent again: `create`, `segment-3`, `close`, `poll`. */
    readonly step: string
    /** The failure's message, and its HTTP status when Orb answered. */
    readonly reason: string
    readonly status?: number | undefined
    /**
     * `true` when it is the run's own database that failed (the step's journal could not be written): the run waits
     * for it as long as it fails, a server's database, and goes on once it answers.
     */
    readonly journal?: boolean | undefined
    /** When it failed (epoch milliseconds). */
    readonly at: number
  }
  | { readonly _tag: "Reflection"; readonly backfillIds: ReadonlyArray<string> }

/**
 * Where a run this process executes is, as it goes: set at each step and after each ingest request (a run's
 * journal, `RunState`, moves only once a segment of thousands of events is done). A run resumed from its journal
 * reports the journaled steps at once, then goes on.
 *
 * @since 0.2.0
 * @category models
 */
export interface RunProgress {
  readonly runKey: string
  readonly stage: RunState["stage"]
  /** Every window, in order, with its backfill once created and its last known status. */
  readonly windows: ReadonlyArray<
    Backfill.Timeframe & {
      readonly backfillId?: string | undefined
      readonly status?: Backfill.BackfillStatus | undefined
    }
  >
  /** Events read by the finished segments (as far as `position`). */
  readonly read: number
  /** Events accepted by Orb, and set aside, so far (the segments being sent included). */
  readonly accepted: number
  readonly failed: number
  /**
   * How far into the source the finished segments reach, and its size (0 when unknown), in its unit (as in
   * `RunState`).
   */
  readonly position: number
  readonly size: number
  /**
   * Once this process sends events (its first segment not replayed from the journal): when (epoch milliseconds), and
   * the events done (accepted and set aside) by then. The rate starts there.
   */
  readonly sending?: { readonly since: number; readonly from: number } | undefined
  /** The run's pace. */
  readonly quota: Backfills.IngestQuota | false
  readonly batchSize: number
  /** What it waits for, if it waits. */
  readonly waiting?: RunWait | undefined
}

/**
 * The progress of the runs this process executes, by run key. Provided beside the workflow's layer, the workflow
 * reports to it; without it, it reports nothing.
 *
 * @since 0.2.0
 * @category models
 */
export interface RunProgresses {
  readonly publish: (progress: RunProgress) => Effect.Effect<void>
  /** The run's latest progress, if it reported any. */
  readonly current: (runKey: string) => Effect.Effect<Option.Option<RunProgress>>
  /** The run's latest progress (once it reported), then each change. */
  readonly changes: (runKey: string) => Stream.Stream<RunProgress>
}

/**
 * @since 0.2.0
 * @category tags
 */
export const RunProgresses: Context.Tag<RunProgresses, RunProgresses> = InternalProgress.RunProgresses

/**
 * The progress of the runs of this process, in memory.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerProgress: Layer.Layer<RunProgresses> = InternalProgress.layer

/**
 * A run's progress as this process executes it (see {@link RunProgress}): the latest, then each change.
 *
 * @since 0.2.0
 * @category accessors
 */
export const progress = (runKey: string): Stream.Stream<RunProgress, never, RunProgresses> =>
  InternalProgress.changes(runKey)

/**
 * The workflow's implementation, over the `Backfills` service and the engine's `SqlClient` (where cancel requests are)
 * in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<
  never,
  never,
  WorkflowEngine.WorkflowEngine | Backfills.Backfills | SqlClient.SqlClient
> = internal.layer

/**
 * A run as a user describes it: the options of `Backfills.run` (without events), a source and a run key.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunSpec {
  readonly runKey: string
  readonly source: RunSource.RunSource
  readonly timeframeStart: DateTime.Utc
  readonly timeframeEnd: DateTime.Utc
  readonly replaceExistingEvents: boolean
  readonly customerId?: string | undefined
  readonly externalCustomerId?: string | undefined
  readonly deprecationFilter?: string | undefined
  /**
   * The account's longest timeframe per backfill (default 31 days): a longer timeframe is cut into windows, one
   * backfill each, all or nothing, as `Backfills.run` does.
   */
  readonly maxTimeframe?: Duration.DurationInput | undefined
  /** Default: `Backfills.defaultCloseTime` from the source's size, at submission. */
  readonly closeTime?: DateTime.Utc | undefined
  /** How many events the source holds, when known: for the default close time. */
  readonly expectedEvents?: number | undefined
  /** Default 5,000. */
  readonly segmentEvents?: number | undefined
  /** Default 500. */
  readonly batchSize?: number | undefined
  /** Default 4. */
  readonly concurrency?: number | undefined
  /** Default Orb's live-mode quota. */
  readonly quota?: Backfills.IngestQuota | false | undefined
  /** Default `"fail"`. */
  readonly invalidEvents?: "fail" | "skip" | undefined
  /** Default `"reflected"`. */
  readonly until?: "reflected" | "closed" | undefined
  /**
   * How long a create that Orb refuses because its timeframe overlaps a pending backfill waits for that backfill to
   * be reflected or reverted, polling it between durable sleeps (a crash while waiting resumes the wait), before the
   * run fails naming it; `0` fails at once. Default 12 hours ({@link defaultOverlapWait}).
   */
  readonly overlapWait?: Duration.DurationInput | undefined
}

/**
 * How long a durable run's create waits, by default, for an overlapping pending backfill: longer than an in-memory
 * run's, as a durable run outlives its process.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultOverlapWait: Duration.Duration = internal.defaultOverlapWait

/**
 * The payload of a spec, checked as `Backfills.run` checks its spec (and the close time fixed now).
 *
 * @since 0.1.0
 * @category constructors
 */
export const payload: (spec: RunSpec) => Effect.Effect<RunPayload, Backfills.Error> = internal.payload

/**
 * Where a durable run is, from the engine's own records.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunState {
  readonly runKey: string
  readonly executionId: string
  readonly stage: "creating" | "ingesting" | "closing" | "reverting" | "awaiting reflection" | "done" | "failed"
  /** Once the create has finished (with several windows, the first window's). */
  readonly backfillId?: string | undefined
  /** Every window's backfill created so far, in order. */
  readonly backfillIds: ReadonlyArray<string>
  /** The source's name: a file's path, a named source's name (several files: the first and how many more). */
  readonly source: string
  /**
   * The files it reads, in order (absent for a named source): what a spooled input's cleanup looks for.
   *
   * @since 0.2.0
   */
  readonly files?: ReadonlyArray<string> | undefined
  /** Events read, accepted by Orb, and set aside, over the finished segments. */
  readonly read: number
  readonly accepted: number
  readonly failed: number
  /**
   * How far into the source the finished segments reach, and its size (0 when unknown), in its unit: bytes of a file,
   * events of a named source. Their ratio is the share done.
   */
  readonly position: number
  readonly size: number
  /** The step last started (`segment-3`, `close`, `poll-2`), and whether it is still running (or was cut short). */
  readonly step?: string | undefined
  readonly stepInFlight?: boolean | undefined
  /**
   * While its create waits out an overlap: the pending backfill it waits for (to be reflected or reverted), as last
   * seen when Orb refused the create.
   */
  readonly waitingFor?: {
    readonly backfillId: string
    readonly timeframeStart: DateTime.Utc
    readonly timeframeEnd: DateTime.Utc
    readonly status: Backfill.BackfillStatus
  } | undefined
  /** The last failure of a step, or the run's own. */
  readonly lastError?: string | undefined
  /** When it finished (`done` or `failed`), as the engine recorded its outcome. */
  readonly finishedAt?: DateTime.Utc | undefined
  /** The Orb it belongs to, when recorded. */
  readonly orb?: RunOrb | undefined
  /** The file's SHA-256, for a run of a file; for several files, `RunSource.sha256Of`'s (their SHA-256s, in order). */
  readonly sha256?: string | undefined
  /** What shapes its backfill: the timeframe, and replace or add mode. */
  readonly timeframeStart?: DateTime.Utc | undefined
  readonly timeframeEnd?: DateTime.Utc | undefined
  readonly replaceExistingEvents?: boolean | undefined
}

/**
 * Fails with `OtherOrb` when the process's `OrbConnection` is not the run's Orb: another base URL, or another API
 * key that does not find the run's backfill (or, before the backfill exists, any other key). A run that recorded no
 * Orb fails only when its backfill is not found; a process without an `OrbConnection` checks nothing.
 *
 * @since 0.2.0
 * @category accessors
 */
export const checkOrb = (run: RunState): Effect.Effect<void, OtherOrb, Backfills.Backfills> =>
  InternalRunOrb.check({ runKey: run.runKey, orb: run.orb, backfillIds: Effect.succeed(run.backfillIds) })
    .pipe(Effect.withSpan("DurableRun.checkOrb", { attributes: { "run.key": run.runKey } }))

/**
 * How the run's Orb compares with the process's `OrbConnection`, without a request (`undefined` when either says
 * nothing): `another key` is the run's base URL with another API key, which may be of the same account (a rotated
 * key) or not (`checkOrb` tells).
 *
 * @since 0.2.0
 * @category accessors
 */
export const compareOrb = (run: RunState): Effect.Effect<"this Orb" | "another Orb" | "another key" | undefined> =>
  InternalRunOrb.compare(run.orb)

/**
 * Every durable run of the engine's database, oldest first: finished ones keep their outcome until pruned.
 *
 * @since 0.1.0
 * @category accessors
 */
export const list: Effect.Effect<ReadonlyArray<RunState>, SqlError.SqlError, SqlClient.SqlClient> = RunStates.list(
  BackfillRun.name
)

/**
 * The runs still going (unless `unfinished: false`), and those that finished at or after `finishedSince` or are
 * among `executionIds`, as `list` reads them: the others are not read at all. For a process that watches runs over
 * time (`orb-backfill worker` looks every second): `list` reads every run the database ever held, in full (2,000
 * finished runs took about 115 ms each time), where this reads one row of each and the few it keeps in full. A run
 * finishes when its reply is written, by the clock of the process that ran it: leave a margin for the clocks of other
 * machines.
 *
 * @since 0.2.0
 * @category accessors
 */
export const listCurrent = (options: {
  readonly finishedSince?: DateTime.Utc | undefined
  readonly executionIds?: Iterable<string> | undefined
  /** Whether every run still going is listed (default `true`); `false` lists only the others asked for. */
  readonly unfinished?: boolean | undefined
}): Effect.Effect<ReadonlyArray<RunState>, SqlError.SqlError, SqlClient.SqlClient> => {
  const since = options.finishedSince?.epochMillis
  const also = new Set(options.executionIds ?? [])
  const unfinished = options.unfinished ?? true
  return RunStates.listPicked(
    BackfillRun.name,
    (head) =>
      (unfinished && head.finishedAt === undefined) || (since !== undefined && head.finishedAt !== undefined &&
        head.finishedAt >= since) ||
      also.has(head.executionId)
  )
}

/**
 * Forgets the runs that finished before `finishedBefore`: the engine's rows of each (its journal and outcome) are
 * deleted, and the runs returned. A run key submitted again after its run was pruned is a new run, which creates a
 * new backfill: prune only what is past being submitted again. Kept whatever their age: unfinished runs, and failed
 * runs that may have left their backfill open (they failed before the close and could not revert it), which are the
 * trail to that backfill. Safe while the engine runs: only finished runs are touched.
 *
 * @since 0.1.0
 * @category accessors
 */
export const prune: (
  options: { readonly finishedBefore: DateTime.Utc }
) => Effect.Effect<ReadonlyArray<RunState>, SqlError.SqlError, SqlClient.SqlClient> = (options) =>
  RunStates.prune(BackfillRun.name)(options.finishedBefore)

/**
 * Cancels a run that has not finished: before its next step that sends something, it reverts its backfill (if it
 * created one) and ends, failing with `RunFailed` at stage `cancel`. The run must be executing, or resume, for that to
 * happen (an engine resumes every unfinished run of its database as soon as it is up): the request is a row in the
 * engine's database (table `effect_orb_cancelled_runs`), seen at once by whichever process runs it. `false` when the
 * run had already finished: it is left as it is.
 *
 * @since 0.1.0
 * @category accessors
 */
export const cancel: (
  executionId: string
) => Effect.Effect<boolean, SqlError.SqlError, WorkflowEngine.WorkflowEngine | SqlClient.SqlClient> = internal.cancel(
  BackfillRun
)

/**
 * Asks a run to stop, as `cancel` does, by its request alone: a row in the engine's database, which the process
 * running the run reads before each step, then reverts and ends. For a process beside the one that runs it, on the
 * state file opened with `DurableEngine.layerSqliteBeside`; the run's end is then read with `outcome`.
 *
 * @since 0.2.0
 * @category accessors
 */
export const requestCancel = (executionId: string): Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> =>
  CancelRequests.request(executionId)

const RunExit = Schema.Exit({ success: RunResult, failure: models.JournaledRunFailed, defect: Schema.Defect })

/**
 * How a run ended, from the engine's records alone (no engine needed: beside the process that runs it, too);
 * `None` while it has not.
 *
 * @since 0.2.0
 * @category accessors
 */
export const outcome = (
  executionId: string
): Effect.Effect<Option.Option<Exit.Exit<RunResult, RunFailed>>, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.map(
    RunStates.outcome(BackfillRun.name)(executionId),
    (encoded) => encoded === undefined ? Option.none() : Option.some(Schema.decodeUnknownSync(RunExit)(encoded))
  )

/**
 * Submits a run and waits for its end; a run already submitted under the same run key is attached to (and a
 * finished one gives its result at once). On the SQLite engine, a state file that turns out unwritable (a full or
 * read-only disk) ends the wait with `DurableEngine.StateUnwritable`: the run stops where its journal is.
 *
 * @since 0.1.0
 * @category accessors
 */
export const execute = (
  runPayload: RunPayload
): Effect.Effect<RunResult, RunFailed | DurableEngine.StateUnwritable, WorkflowEngine.WorkflowEngine> =>
  DurableEngine.whileWritable(BackfillRun.execute(runPayload))
