/**
 * The steps of a durable run, each journaled and run again only if it never finished: the create, close, polls and
 * reverts as the engine's activities, the segments in the segments' journal (`segmentJournal.ts`).
 */
import { Backfill, Backfills, IdempotencyKey, IngestBudget, OrbError, RetryPolicy } from "@effect-orb/backfills"
import * as RateLimiter from "@effect/experimental/RateLimiter"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Activity from "@effect/workflow/Activity"
import * as DurableClock from "@effect/workflow/DurableClock"
import * as Workflow from "@effect/workflow/Workflow"
import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { identity } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as DurableRun from "../DurableRun.js"
import * as Models from "../RunModels.js"
import * as RunSource from "../RunSource.js"
import * as AccountBudget from "./accountBudget.js"
import * as CancelRequests from "./cancelRequests.js"
import * as RunOrb from "./runOrb.js"
import * as RunProgress from "./runProgress.js"
import * as RunStates from "./runStates.js"
import * as SegmentJournal from "./segmentJournal.js"
import * as SqlRateLimiterStore from "./sqlRateLimiterStore.js"
import * as StateStore from "./stateStore.js"
import * as StorageOutcome from "./storageOutcome.js"

/** Why a step failed, as the engine journals it. */
class StepFailed extends Schema.TaggedError<StepFailed>("@effect-orb/workflow/StepFailed")("StepFailed", {
  stage: Schema.String,
  reason: Schema.String
}) {}

/**
 * What a segment in flight tells the run and the segment after it: where the next one starts, once its events are
 * read (`readTo`); that its first requests are on their way (`started`), for the next one to be read; that every
 * request of its own is in flight (`fed`), for the next one's to follow (`after`, the segment before's `fed`), or
 * that it failed before.
 */
interface Handoff {
  readonly readTo: Deferred.Deferred<Cursor, StepFailed>
  readonly started: Deferred.Deferred<void>
  /** `false` when the segment failed first: the next one sends nothing. */
  readonly fed: Deferred.Deferred<boolean>
  readonly after: Deferred.Deferred<boolean> | undefined
}

/**
 * A part's events for its ingestion, a batch's worth at a time: the ingestion checks a chunk of events whole before
 * it sends any batch of it, so one chunk of 5,000 kept the first request until all 5,000 were checked (the run in
 * memory reads its file in chunks of a few hundred). `first` runs as the first chunk is pulled; `started` once the
 * first `firstRequests` chunks were pulled (those batches are on their way: the ingestion pulls the next only as a
 * slot frees); `last` once every chunk was. One stream pulling from the array, not `Stream.concat`s of
 * `Stream.fromChunks`, which opened and closed some 40 channels per segment: 11% of the Effect runtime's operations
 * in a run of 100,000 events (131,000 then, 117,000 now, counted in a patched build of the bench's client).
 */
const inBatches = <A, E, R>(
  events: ReadonlyArray<A>,
  batchSize: number,
  firstRequests: number,
  hooks: {
    readonly first: Effect.Effect<unknown, E, R>
    readonly started: Effect.Effect<unknown>
    readonly last: Effect.Effect<unknown>
  }
): Stream.Stream<A, E, R> => {
  const chunks = Math.ceil(events.length / batchSize)
  const startedAt = Math.min(firstRequests, chunks)
  let next = 0
  return Stream.repeatEffectChunkOption(Effect.suspend(() => {
    const index = next++
    const chunk = index < chunks
      ? Effect.succeed(Chunk.unsafeFromArray(events.slice(index * batchSize, (index + 1) * batchSize)))
      : Effect.zipRight(hooks.last, Effect.fail(Option.none()))
    const withStarted = index === startedAt ? Effect.zipRight(hooks.started, chunk) : chunk
    return index === 0 ? Effect.zipRight(Effect.mapError(hooks.first, Option.some), withStarted) : withStarted
  }))
}

/** Where a segment starts: the offset and line after the segment before it, and whether that one was the last. */
interface Cursor {
  readonly next: number
  readonly nextLine: number
  readonly eof: boolean
}

const SegmentResult = Schema.Struct({
  next: Schema.NonNegativeInt,
  nextLine: Schema.NonNegativeInt,
  eof: Schema.Boolean,
  read: Schema.NonNegativeInt,
  accepted: Schema.NonNegativeInt,
  /** With several windows, the events each accepted (absent in runs journaled before windows). */
  acceptedByWindow: Schema.optional(Schema.Array(Schema.NonNegativeInt)),
  failed: Schema.NonNegativeInt
})

/** A segment's outcome as its journal keeps it. */
const SegmentOutcome = Schema.parseJson(Schema.Either({ right: SegmentResult, left: StepFailed }))
const encodeOutcome = Schema.encodeSync(SegmentOutcome)
const decodeOutcome = Schema.decodeUnknown(SegmentOutcome)

/**
 * Within one attempt of an activity, an outage is waited out: the keys make every request safe to send again, and
 * a durable run that gave up on a blip would revert hours of work (`RetryPolicy.outages`: about half an hour).
 */
const throughOutages = <A, E extends { readonly _tag: string }, R>(
  effect: Effect.Effect<A, E, R>,
  /** Told of each transient failure before the step is sent again: the run's progress says what it waits for. */
  onRetry?: (error: E) => Effect.Effect<void>
) =>
  Effect.retry(
    onRetry === undefined
      ? effect
      : Effect.tapError(effect, (error) => OrbError.isTransient(error) ? onRetry(error) : Effect.void),
    {
      while: OrbError.isTransient,
      schedule: RetryPolicy.outages
    }
  )

const failed = (stage: string) => (error: { readonly message: string }) =>
  new StepFailed({ stage, reason: error.message })

/** The create's Orb idempotency key, from the execution and the submission (`IdempotencyKey.durableCreate`). */
const createKey = IdempotencyKey.durableCreate

/** What blocks a create refused for an overlap: a pending backfill overlapping its timeframe. */
const Blocker = Schema.Struct({
  id: Schema.String,
  timeframeStart: Backfill.Timestamp,
  timeframeEnd: Backfill.Timestamp,
  status: Backfill.BackfillStatus
})

const Blocked = Schema.Struct({ blocked: Schema.optional(Blocker), at: Schema.Number })

const blockerText = (blocker: typeof Blocker.Type) =>
  `backfill ${blocker.id} (${DateTime.formatIso(blocker.timeframeStart)} to ${
    DateTime.formatIso(blocker.timeframeEnd)
  }, ${blocker.status})`

export const defaultOverlapWait: Duration.Duration = Duration.hours(12)

export const cancel = (workflow: typeof DurableRun.BackfillRun) => (executionId: string) =>
  Effect.gen(function*() {
    // A finished run has nothing to cancel: it is left as it is, and the caller told so.
    const result = yield* workflow.poll(executionId)
    if (result !== undefined && result._tag === "Complete") return false
    yield* CancelRequests.request(executionId)
    return true
  })

/** The stage of a run whose journal is behind Orb (`closedByOthers`). */
const journalStage = "journal"

/**
 * A backfill the journal has open that is not, and not because its close time came (Orb then closes it by itself,
 * half filled, and the run reverts it): reverted, or closed before that time, by this run in a later state than its
 * journal (a state file older than the run: a copy, a restored backup) or by a person. Either way not the run's to
 * send to or to undo.
 */
const closedByOthers = (backfill: Backfill.Backfill, closeTime: DateTime.Utc) =>
  Backfill.isReverted(backfill.status) ||
  (backfill.closeTime._tag === "Some" && backfill.closeTime.value.epochMillis < closeTime.epochMillis)

/** Reverts tried in all, the last ones 30 minutes apart: about a day (`RetryPolicy.revertAttempts`). */
const maxRevertAttempts = RetryPolicy.revertAttempts

/** The polls' waits, the same in every process (no jitter: the schedule is journaled). */
const pollWait = RetryPolicy.pollWait

/** Where a window's events are in a segment: the wire events, and the line (event number) each came from. */
interface Part {
  readonly events: ReadonlyArray<unknown>
  readonly lines: ReadonlyArray<number>
}

/**
 * The window holding an event in wire form. An event whose timestamp cannot be read, or that is outside every
 * window, goes to the nearest one, whose ingestion refuses it with the reason.
 */
const windowOfEvent = (windows: ReadonlyArray<Backfill.Timeframe>, event: unknown) => {
  const text = (event as { readonly timestamp?: unknown } | null)?.timestamp
  const millis = typeof text === "string" ? Backfill.timestampMillis(text) : Number.NaN
  return Number.isNaN(millis) ? 0 : Backfill.windowOf(windows, millis)
}

/**
 * The workflow's implementation.
 */
export const layer = Layer.unwrapScoped(Effect.gen(function*() {
  yield* Effect.orDie(CancelRequests.ensure)
  yield* Effect.orDie(SegmentJournal.ensure)
  // On a state file the engine's layer made it before it started; on Postgres the engine's tables are made with its
  // start, so here, as every process of the cluster starts (a storage failure in a new database's first seconds
  // would still be journaled).
  yield* Effect.orDie(StorageOutcome.refuse)
  const sql = yield* SqlClient.SqlClient
  const health = Option.getOrUndefined(yield* Effect.serviceOption(StateStore.StateHealth))
  const segmentCheckpoint = yield* StateStore.segmentCheckpoints(sql)
  // The runs this process executes share the account's budget, in the engine's database, with every process on
  // it (one given in context, or the budget of the process's Orb connection); without either, they share one
  // pace per quota in this process, so that runs at once stay within the account's quota together.
  const budget = yield* budgetOf
  const paces = new Map<string, Backfills.IngestPace>()
  const paceOf = (quota: Backfills.IngestQuota) => {
    const key = `${quota.requestsPerSecond}/${quota.eventsPerMinute}`
    let pace = paces.get(key)
    if (pace === undefined) paces.set(key, pace = Effect.runSync(Effect.orDie(Backfills.makeIngestPace(quota))))
    return pace
  }
  // Where each run is, for whoever shows it in this process (none provided: nothing reported).
  const progresses = Option.getOrUndefined(yield* Effect.serviceOption(RunProgress.RunProgresses))
  const workflow = Models.BackfillRun
  return workflow.toLayer((payload, executionId) =>
    Effect.gen(function*() {
      const backfills = yield* Backfills.Backfills
      // Every unfinished run of the engine's database resumes as soon as it is up, whichever Orb the process talks
      // to: a run of another Orb suspends here, before any step sends or reverts anything (a 404 for its backfill
      // there would otherwise read as a failure, and be reverted), and stays resumable against its own.
      yield* RunOrb.check({
        runKey: payload.runKey,
        orb: payload.orb,
        backfillIds: Effect.map(
          // This run alone read in full, not every run the database ever held.
          Effect.orElseSucceed(
            RunStates.listPicked(workflow.name, (head) => head.executionId === executionId),
            () => []
          ),
          (runs) => runs.find((run) => run.executionId === executionId)?.backfillIds ?? []
        )
      }).pipe(
        Effect.catchTag("OtherOrb", (other) =>
          Effect.zipRight(
            Effect.logWarning(`Suspended: ${other.message}`),
            Effect.flatMap(WorkflowEngine.WorkflowInstance, Workflow.suspend)
          ))
      )
      const windows = payload.windows ??
        [{ timeframeStart: payload.timeframeStart, timeframeEnd: payload.timeframeEnd }]
      const count = windows.length
      /** A step's name: as it always was with one window; with several, the window's number in it. */
      const named = (base: string, window: number, suffix = "") => (count === 1 ? base : `${base}-w${window}`) + suffix
      // The backfills created so far, by window; how many of them are closed; their events, by window.
      const backfillIds: Array<string> = []
      let closedCount = 0
      const acceptedBy = windows.map(() => 0)
      const statusBy: Array<Backfill.BackfillStatus | undefined> = windows.map(() => undefined)

      let progress: DurableRun.RunProgress = {
        runKey: payload.runKey,
        stage: "creating",
        windows: windows.map((window) => ({
          timeframeStart: window.timeframeStart,
          timeframeEnd: window.timeframeEnd
        })),
        read: 0,
        accepted: 0,
        failed: 0,
        position: 0,
        // In the unit of the run's offsets (a gzip file's decompressed bytes, a Parquet file's rows, ...).
        size: RunSource.extentOf(payload.source) ?? 0,
        quota: payload.quota,
        batchSize: payload.batchSize
      }
      const report = (change: Partial<DurableRun.RunProgress>) =>
        progresses === undefined ? Effect.void : Effect.suspend(() => {
          progress = { ...progress, ...change }
          return progresses.publish(progress)
        })
      const reportWindow = (
        window: number,
        change: { readonly backfillId?: string; readonly status?: Backfill.BackfillStatus }
      ) => report({ windows: progress.windows.map((each, i) => (i === window ? { ...each, ...change } : each)) })
      /** A step sent again after a transient failure: what the run waits for until it is answered. */
      const retrying = (step: string) => (error: { readonly _tag: string }) =>
        Effect.flatMap(Clock.currentTimeMillis, (at) => {
          const { message, status } = error as { readonly message?: unknown; readonly status?: unknown }
          return report({
            waiting: {
              _tag: "Retry",
              step,
              reason: typeof message === "string" && message.length > 0 ? message : error._tag,
              status: typeof status === "number" ? status : undefined,
              at
            }
          })
        })

      // The engine's steps are taken again while its database fails, as the segments' rows are, and the run says why
      // it does not move meanwhile (since its first failure).
      const journalFails = (error: unknown) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const wait = progress.waiting
          const at = wait?._tag === "Retry" && wait.journal === true ? wait.at : now
          return report({
            waiting: { _tag: "Retry", step: "journal", reason: StorageOutcome.storageReason(error), journal: true, at }
          })
        })
      const throughStorage = StorageOutcome.stepThroughFailures(sql, journalFails)

      // A create sent again after Orb refused it for an overlap has a key of its own: Orb keeps the key's refusal.
      const createRequest = (window: number, attempt = 0) => {
        const key = IdempotencyKey.forCreate(createKey(executionId, payload.submission), window, count, attempt)
        return throughOutages(
          backfills.create(Backfill.createBackfillOf({ ...payload, ...windows[window] }, payload.closeTime), {
            idempotencyKey: key
          })
        )
      }
      const overlapWait = payload.overlapWaitMillis ?? Duration.toMillis(defaultOverlapWait)

      // The run's backfills as this process last fetched them: before the first segment it sends, each is fetched
      // and checked against the journal (a copy of the state file resumed after the run went on is caught there).
      const seen = new Map<string, Backfill.Backfill>()

      // Only a backfill this run saw open is its own: one in any other state was not made by this submission. A
      // create's answer cannot tell (Orb replays a key's first answer, `pending` as it was then): it is fetched. One
      // fetched open is as the first segment this process sends would fetch it: that one need not.
      const isOpen = (answer: Backfill.Backfill) =>
        Effect.flatMap(
          Effect.orElseSucceed(throughOutages(backfills.fetch(answer.id)), () => answer),
          (backfill) =>
            Effect.map(DateTime.now, (now) => {
              const open = Backfill.isOpen(backfill, now.epochMillis)
              if (open && backfill !== answer) seen.set(backfill.id, backfill)
              return open
            })
        )

      const create = (window: number, attempt: number) =>
        throughStorage(Activity.make({
          name: named("create", window, attempt === 0 ? "" : `-o${attempt}`),
          // The backfill's id; or, refused for an overlap, what blocks it (none found: it just ceased to) and when.
          success: Schema.Union(Schema.String, Blocked),
          error: StepFailed,
          execute: Effect.gen(function*(): Effect.fn.Return<string | typeof Blocked.Type, StepFailed> {
            const answer = yield* createRequest(window, attempt).pipe(
              Effect.catchTag("ConstraintViolation", (refusal) =>
                overlapWait <= 0 ? Effect.fail(refusal) : Effect.zip(
                  throughOutages(Backfills.blockerOf(windows[window])).pipe(
                    Effect.provideService(Backfills.Backfills, backfills)
                  ),
                  DateTime.now
                )),
              Effect.mapError(failed("create"))
            )
            if (Array.isArray(answer)) {
              const [blocker, now] = answer
              return Option.match(blocker, {
                onNone: () => ({ at: now.epochMillis }),
                onSome: (backfill) => ({
                  blocked: {
                    id: backfill.id as string,
                    timeframeStart: backfill.timeframeStart,
                    timeframeEnd: backfill.timeframeEnd,
                    status: backfill.status
                  },
                  at: now.epochMillis
                })
              })
            }
            const backfill = answer as Backfill.Backfill
            if (yield* isOpen(backfill)) return backfill.id as string
            return yield* new StepFailed({
              stage: "create",
              reason: `Orb answered with backfill ${backfill.id}, which is no longer open: not one ` +
                "this run created; it was left as it is"
            })
          })
        }))

      const pollBlocker = (id: string, window: number, attempt: number, index: number) =>
        throughStorage(Activity.make({
          name: named("overlap-poll", window, `-${attempt}-${index}`),
          success: Schema.Struct({ status: Schema.optional(Backfill.BackfillStatus), at: Schema.Number }),
          // A poll that outlasts an outage is no reason to stop waiting: the next one, after a durable sleep.
          execute: Effect.zipWith(
            throughOutages(backfills.fetch(id)).pipe(
              Effect.map((backfill) => backfill.status),
              Effect.orElseSucceed(() => undefined)
            ),
            DateTime.now,
            (status, now) => ({ ...(status !== undefined ? { status } : {}), at: now.epochMillis })
          )
        }))

      /**
       * A window's create, waiting out an overlap: refused while a pending backfill overlaps the window, it polls that
       * backfill between durable sleeps (a crash while waiting resumes the wait) until it is reflected or reverted,
       * then is sent again with a key of its own; a refusal with no such backfill is sent again once, then stands.
       * The wait is bounded by the run's overlap wait, and, for a later window, by the close time of those made.
       */
      const createWaiting = (window: number) =>
        Effect.gen(function*() {
          let since: number | undefined
          let unexplained = false
          for (let attempt = 0;; attempt++) {
            const answer = yield* create(window, attempt)
            if (typeof answer === "string") return answer
            const blocker = answer.blocked
            if (blocker === undefined) {
              if (unexplained) {
                return yield* new StepFailed({
                  stage: "create",
                  reason: "Orb refused the create (a constraint violation), and no pending backfill overlaps it"
                })
              }
              unexplained = true
              continue
            }
            unexplained = false
            const start = since ??= answer.at
            const deadline = Backfills.overlapDeadline(
              { closeTime: payload.closeTime, overlapWaitMillis: overlapWait },
              window,
              start
            )
            yield* Effect.logInfo(`Waiting for ${blockerText(blocker)} to be reflected or reverted`)
            let status: Backfill.BackfillStatus = blocker.status
            let at = answer.at
            const overlapping = (status: Backfill.BackfillStatus) =>
              report({
                waiting: {
                  _tag: "Overlap",
                  window,
                  backfillId: blocker.id,
                  timeframeStart: blocker.timeframeStart,
                  timeframeEnd: blocker.timeframeEnd,
                  status
                }
              })
            yield* overlapping(status)
            for (let index = 0; status === "pending" || status === "pending_revert"; index++) {
              if (at >= deadline) {
                return yield* new StepFailed({
                  stage: "create",
                  reason: new OrbError.OverlapWaitTimeout({
                    ...blocker,
                    backfillId: blocker.id,
                    status,
                    waitedMillis: at - start
                  })
                    .message
                })
              }
              yield* throughStorage(DurableClock.sleep({
                name: named("overlap-wait", window, `-${attempt}-${index}`),
                duration: Duration.millis(Math.min(Duration.toMillis(pollWait(index)), deadline - at)),
                inMemoryThreshold: 0
              }))
              yield* unlessCancelled
              const polled = yield* pollBlocker(blocker.id, window, attempt, index)
              status = polled.status ?? status
              at = polled.at
              // Reported while it is in the way: once reflected or reverted, it is no longer waited for.
              if (status === "pending" || status === "pending_revert") yield* overlapping(status)
            }
            // Runs of this engine that overlap are admitted in submission order: one submitted earlier that has
            // not created yet goes first (this create is then refused by its backfill, and waits for it).
            for (let index = 0;; index++) {
              const earlier = yield* earlierCreating(window, attempt, index)
              if (earlier.runKey === undefined) break
              if (earlier.at >= deadline) {
                return yield* new StepFailed({
                  stage: "create",
                  reason:
                    `waited ${
                      Duration.format(Duration.millis(earlier.at - start))
                    } for durable run ${earlier.runKey}, submitted earlier over an overlapping timeframe, to create ` +
                    "its backfill; this window's backfill was not created"
                })
              }
              if (index === 0) {
                yield* Effect.logInfo(`Waiting for durable run ${earlier.runKey}, submitted earlier, to create first`)
                yield* report({ waiting: { _tag: "EarlierRun", window, runKey: earlier.runKey } })
              }
              yield* throughStorage(DurableClock.sleep({
                name: named("overlap-order-wait", window, `-${attempt}-${index}`),
                duration: Duration.millis(Math.min(Duration.toMillis(pollWait(index)), deadline - earlier.at)),
                inMemoryThreshold: 0
              }))
              yield* unlessCancelled
            }
          }
        })

      /**
       * The earliest run of this engine, submitted before this one, in the same Orb, whose timeframe overlaps the
       * window and which is still creating with no backfill made: the one to go first.
       */
      const earlierCreating = (window: number, attempt: number, index: number) =>
        throughStorage(Activity.make({
          name: named("overlap-order", window, `-${attempt}-${index}`),
          success: Schema.Struct({ runKey: Schema.optional(Schema.String), at: Schema.Number }),
          execute: Effect.gen(function*() {
            // The unfinished runs only (this one among them), in their order of submission: a finished run is not
            // creating, and every run the database ever held was read in full at each look before.
            const runs = yield* Effect.orElseSucceed(
              RunStates.listPicked(workflow.name, (head) => head.finishedAt === undefined),
              () => []
            )
            const now = yield* DateTime.now
            const own = runs.findIndex((run) => run.executionId === executionId)
            const earlier = runs.slice(0, Math.max(0, own)).find((run) =>
              run.stage === "creating" && run.backfillIds.length === 0 &&
              run.orb?.baseUrl === payload.orb?.baseUrl && run.orb?.keyFingerprint === payload.orb?.keyFingerprint &&
              run.timeframeStart !== undefined && run.timeframeEnd !== undefined &&
              run.timeframeStart.epochMillis < windows[window].timeframeEnd.epochMillis &&
              windows[window].timeframeStart.epochMillis < run.timeframeEnd.epochMillis
            )
            return { ...(earlier !== undefined ? { runKey: earlier.runKey } : {}), at: now.epochMillis }
          })
        }))

      /**
       * The create failed without a readable answer that it was refused: it may have been applied. Sent again with
       * its key, Orb replays the backfill it made (or makes it now), which is then reverted; a backfill that is not
       * open is not this run's, and is left alone.
       */
      const recoverCreate = (window: number) =>
        throughStorage(Activity.make({
          name: named("recover-create", window),
          success: Schema.Struct({ backfillId: Schema.optional(Schema.String) }),
          execute: createRequest(window).pipe(
            Effect.flatMap((backfill) =>
              Effect.map(isOpen(backfill), (open) => open ? { backfillId: backfill.id as string } : {})
            ),
            Effect.orElseSucceed(() => ({}))
          )
        }))

      // A cancel requested (from any process): the run fails at its next step, and reverts what it made.
      const unlessCancelled = Effect.flatMap(
        CancelRequests.isRequested(executionId),
        (yes) => yes ? Effect.fail(new StepFailed({ stage: "cancel", reason: "the run was cancelled" })) : Effect.void
      )

      // The segments journaled (`SegmentJournal`), read once: a resume replays them from here. A run submitted before
      // the table journals its segments as the engine's activities, as it began.
      const inTable = payload.segmentJournal === "table"
      const journal = inTable
        ? yield* Effect.orDie(SegmentJournal.load(executionId, payload.submission))
        : new Map<number, string>()
      /**
       * A segment's step: its outcome as journaled, or the segment run and its outcome (a success or a typed
       * failure) journaled before anything depends on it. A write that keeps failing stops the run as the engine's
       * own storage failing does (a defect; on a state file never journaled as the run's outcome): it resumes from
       * the segment.
       */
      const journaled = <R>(index: number, step: Effect.Effect<typeof SegmentResult.Type, StepFailed, R>) =>
        !inTable
          ? throughStorage(
            Activity.make({ name: `segment-${index}`, success: SegmentResult, error: StepFailed, execute: step })
          )
          : Effect.suspend(() => {
            const kept = journal.get(index)
            if (kept !== undefined) return Effect.flatten(Effect.orDie(decodeOutcome(kept)))
            return Effect.either(step).pipe(
              Effect.flatMap((outcome) => {
                const encoded = encodeOutcome(outcome)
                return SegmentJournal.record(executionId, payload.submission, index, encoded).pipe(
                  StateStore.asStateWrite(health, segmentCheckpoint),
                  (write) => SegmentJournal.throughOutages(write, journalFails),
                  Effect.orDie,
                  // Another process's outcome for the segment, journaled first, is the run's.
                  Effect.flatMap((journaled) =>
                    journaled === encoded ? outcome : Effect.flatten(Effect.orDie(decodeOutcome(journaled)))
                  )
                )
              })
            )
          })

      // What the finished segments add up to; and, for the segments in flight, what each has sent so far.
      const totals = { read: 0, accepted: 0, failed: 0, segments: 0 }
      const inFlight = new Map<number, { readonly accepted: number; readonly failed: number }>()
      const reportSent = Effect.suspend(() => {
        let accepted = totals.accepted
        let failed = totals.failed
        for (const sent of inFlight.values()) {
          accepted += sent.accepted
          failed += sent.failed
        }
        return report({ accepted, failed, waiting: undefined })
      })
      // The requests in flight of every segment: two segments may send at once (see the loop), as many requests in
      // flight together as the run's concurrency.
      const slots = yield* Effect.makeSemaphore(payload.concurrency)

      /**
       * The backfill as Orb has it now, unless the journal has it open while someone else closed or reverted it
       * (`closedByOthers`): then the run fails at stage journal, and nothing is reverted.
       */
      const checkedAgainstOrb = (id: string, where: string) =>
        Effect.flatMap(
          throughOutages(backfills.fetch(id)).pipe(Effect.mapError(failed(where))),
          (backfill) =>
            Effect.flatMap(DateTime.now, (now) =>
              !Backfill.isOpen(backfill, now.epochMillis) && closedByOthers(backfill, payload.closeTime)
                ? new StepFailed({
                  stage: journalStage,
                  reason:
                    `Orb is ahead of this run's journal: backfill ${id} is ${
                      Backfill.isReverted(backfill.status) ? backfill.status : `closed (${backfill.status})`
                    } while the journal has it open: someone else closed it, or this state file is older than the ` +
                    "run (a copy, a restored backup?); nothing more was sent to it"
                })
                : Effect.succeed(backfill))
        )

      /**
       * One segment: its events read, each routed to its window, each window's part sent to that window. Where the
       * next segment starts is given to `handoff.readTo` as soon as the events are read, before they are sent; the
       * events are sent once the segment before has every request of its own in flight (`handoff.after`), and this
       * one's `handoff.fed` says when it has.
       */
      const segment = (
        ids: ReadonlyArray<string>,
        index: number,
        from: { readonly offset: number; readonly line: number },
        handoff: Handoff
      ) =>
        journaled(
          index,
          Effect.gen(function*() {
            const where = `ingest (segment ${index}, from ${RunSource.where(payload.source, from.line, from.offset)})`
            // The first segment this process sends (not replayed from the journal): the rate starts here.
            if (progress.sending === undefined) {
              yield* report({
                sending: { since: yield* Clock.currentTimeMillis, from: progress.accepted + progress.failed }
              })
            }
            // The backfills as this process first fetched them (checked against the journal then) are given to the
            // ingestions, which then fetch them neither before nor after: one request per backfill and process, not
            // three per segment. One changed since is Orb's to refuse, and the refusal is checked as the fetch was.
            const fetched: Array<Backfill.Backfill> = []
            for (const id of ids) {
              let backfill = seen.get(id)
              if (backfill === undefined) seen.set(id, backfill = yield* checkedAgainstOrb(id, where))
              fetched.push(backfill)
            }
            const read = yield* RunSource.readSegment(payload.source, from, payload.segmentEvents).pipe(
              Effect.mapError(failed(where))
            )
            yield* Deferred.succeed(handoff.readTo, { next: read.next, nextLine: read.nextLine, eof: read.eof })
            if (read.unreadable.length > 0 && payload.invalidEvents === "fail") {
              const first = read.unreadable[0]
              return yield* new StepFailed({
                stage: where,
                reason: `${RunSource.where(payload.source, first.line, from.offset)}: ${first.reason}`
              })
            }
            // With one window the segment is its one part, as read (not copied event by event).
            let parts: ReadonlyArray<Part> = [read]
            if (count > 1) {
              const byWindow = ids.map(() => ({ events: [] as Array<unknown>, lines: [] as Array<number> }))
              for (let i = 0; i < read.events.length; i++) {
                const part = byWindow[windowOfEvent(windows, read.events[i])]
                part.events.push(read.events[i])
                part.lines.push(read.lines[i])
              }
              parts = byWindow
            }
            // The segment before goes first: its requests in flight, then this one's, in the slots its requests free
            // (waited for as the events are first pulled, once the ingestion has checked its backfill); if it failed,
            // this one sends nothing (the run fails with it, and reverts). A cancel requested meanwhile stops the run
            // here, before this segment sends anything, as it stops it before a segment that starts alone: the run
            // loop looked before this segment started, while the one before was still sending.
            const after = handoff.after
            const sent = parts.flatMap((part, window) => (part.events.length > 0 ? [window] : []))
            const behind = after === undefined ? Effect.void : Effect.flatMap(
              Deferred.await(after),
              (go) =>
                go
                  ? unlessCancelled
                  : new StepFailed({ stage: where, reason: "the segment before it failed; nothing was sent" })
            )
            const accepted: Array<number> = []
            let refused = 0
            for (let window = 0; window < parts.length; window++) {
              const part = parts[window]
              const sentBefore = accepted.reduce((sum, n) => sum + n, 0)
              const refusedBefore = refused + read.unreadable.length
              // The backfill as fetched above, for the first attempt only: one sent again after an outage fetches
              // it again, to check it anew.
              let known: Backfill.Backfill | undefined = fetched[window]
              const firstAttempt = () => {
                const backfill = known
                known = undefined
                return backfill === undefined ? {} : { backfill }
              }
              const summary = part.events.length === 0
                ? { accepted: 0, failed: 0 }
                : yield* throughOutages(
                  Effect.suspend(() =>
                    backfills.ingestEncodedStream(
                      ids[window],
                      // The last part's end says that every request of this segment is in flight (an ingestion pulls its
                      // events only as slots free up): the next segment's may follow.
                      inBatches(
                        part.events as ReadonlyArray<typeof Backfill.IngestEvent.Encoded>,
                        payload.batchSize,
                        payload.concurrency,
                        {
                          first: window === sent[0] ? behind : Effect.void,
                          started: window === sent[0] ? Deferred.succeed(handoff.started, undefined) : Effect.void,
                          last: window === sent[sent.length - 1] ? Deferred.succeed(handoff.fed, true) : Effect.void
                        }
                      ),
                      {
                        batchSize: payload.batchSize,
                        concurrency: payload.concurrency,
                        ...(payload.quota === false
                          ? { quota: false }
                          : budget !== undefined
                          ? { quota: payload.quota }
                          : { pace: paceOf(payload.quota) }),
                        onInvalid: payload.invalidEvents,
                        slots,
                        ...firstAttempt(),
                        onProgress: (ingest) =>
                          Effect.suspend(() => {
                            inFlight.set(index, {
                              accepted: sentBefore + ingest.accepted,
                              failed: refusedBefore + ingest.failed
                            })
                            return reportSent
                          })
                      }
                    )
                  ),
                  retrying(`segment-${index}`)
                ).pipe(
                  budget === undefined ? identity : Effect.provideService(IngestBudget.IngestBudget, budget),
                  // Refused: a backfill someone else closed or reverted since this process fetched it fails the run
                  // at stage journal (nothing reverted); any other refusal is the segment's failure.
                  Effect.catchTag(
                    "ConstraintViolation",
                    (refused) => Effect.zipRight(checkedAgainstOrb(ids[window], where), Effect.fail(refused))
                  ),
                  Effect.mapError((error) =>
                    error._tag === "StepFailed"
                      ? error
                      : error._tag === "InvalidEvent"
                      ? new StepFailed({
                        stage: where,
                        reason: `${RunSource.where(payload.source, part.lines[error.position] ?? 0, from.offset)}: ${
                          error.reasons.join("; ")
                        }`
                      })
                      : failed(where)(error)
                  )
                )
              accepted.push(summary.accepted)
              refused += summary.failed
            }
            yield* Deferred.succeed(handoff.fed, true)
            return {
              next: read.next,
              nextLine: read.nextLine,
              eof: read.eof,
              read: read.events.length + read.unreadable.length,
              accepted: accepted.reduce((sum, n) => sum + n, 0),
              acceptedByWindow: accepted,
              failed: refused + read.unreadable.length
            }
          })
        )

      // "Already closed" is done: a close sent again after a crash finds the backfill closed.
      const close = (id: string, window: number) =>
        throughStorage(Activity.make({
          name: named("close", window),
          success: Backfill.BackfillStatus,
          error: StepFailed,
          execute: throughOutages(backfills.close(id), retrying(named("close", window))).pipe(
            Effect.map((backfill) => backfill.status),
            Effect.catchTag("ConstraintViolation", (refused) =>
              Effect.flatMap(
                throughOutages(backfills.fetch(id)),
                (backfill) =>
                  Effect.map(DateTime.now, (now) => ({ open: Backfill.isOpen(backfill, now.epochMillis), backfill }))
              ).pipe(Effect.flatMap(({ backfill, open }) =>
                open || Backfill.isReverted(backfill.status)
                  ? Effect.fail(refused)
                  : Effect.succeed(backfill.status)
              ))),
            Effect.mapError(failed("close"))
          )
        }))

      const poll = (id: string, window: number, index: number) =>
        throughStorage(Activity.make({
          name: named("poll", window, `-${index}`),
          success: Backfill.BackfillStatus,
          error: StepFailed,
          execute: throughOutages(backfills.fetch(id), retrying(named("poll", window, `-${index}`))).pipe(
            Effect.map((backfill) => backfill.status),
            Effect.mapError(failed("await"))
          )
        }))

      // A revert that fails is checked by a fetch: the error then says what is known, not a guess.
      const revertOnce = (id: string, window: number, attempt: number) =>
        throughStorage(Activity.make({
          name: named("revert", window, attempt === 0 ? "" : `-${attempt}`),
          success: Schema.Struct({ reverted: Schema.Boolean, status: Schema.optional(Backfill.BackfillStatus) }),
          execute: throughOutages(backfills.revert(id)).pipe(
            Effect.map((backfill) => ({ reverted: true, status: backfill.status })),
            Effect.orElse(() =>
              throughOutages(backfills.fetch(id)).pipe(
                Effect.map((backfill) => ({
                  reverted: Backfill.isReverted(backfill.status),
                  status: backfill.status
                })),
                Effect.orElseSucceed(() => ({ reverted: false }))
              )
            )
          )
        }))

      /**
       * Reverts until the outcome is known: a backfill still open, or whose state could not be learnt, after an
       * outage outlasting a step's retries would close by itself half filled. So the revert is tried again after a
       * durable sleep (5 seconds doubling to 30 minutes), for about a day, before the run says it could not.
       */
      const revert = (id: string, window: number) =>
        Effect.gen(function*() {
          for (let attempt = 0;; attempt++) {
            const outcome = yield* revertOnce(id, window, attempt)
            const settled = outcome.reverted || (outcome.status !== undefined && outcome.status !== "pending")
            if (settled || attempt >= maxRevertAttempts) return outcome
            yield* throughStorage(DurableClock.sleep({
              name: named("revert-wait", window, `-${attempt}`),
              duration: RetryPolicy.revertWait(attempt),
              inMemoryThreshold: 0
            }))
          }
        })

      type Outcome = { readonly reverted: boolean; readonly status?: Backfill.BackfillStatus | undefined }

      /** Every window as it is now; `outcomes` say what a revert made of those created. */
      const windowsNow = (outcomes: ReadonlyArray<Outcome | undefined>) =>
        windows.map((window, index) => {
          const outcome = outcomes[index]
          const status = outcome?.status ?? statusBy[index]
          return new Models.RunWindow({
            ...window,
            ...(backfillIds[index] !== undefined ? { backfillId: backfillIds[index] } : {}),
            accepted: acceptedBy[index],
            closed: index < closedCount,
            reverted: outcome?.reverted ?? false,
            ...(status !== undefined ? { status } : {})
          })
        })

      /** Reverts every window's backfill made (the closed ones too: all or nothing). */
      const revertAll = Effect.forEach(backfillIds, (id, window) => revert(id, window))

      const runFailed = (error: StepFailed, outcomes: ReadonlyArray<Outcome | undefined>) => {
        const first = outcomes[0]
        const each = windowsNow(outcomes)
        return new Models.RunFailed({
          runKey: payload.runKey,
          ...(backfillIds[0] !== undefined ? { backfillId: backfillIds[0] } : {}),
          stage: error.stage,
          reason: error.reason,
          reverted: count === 1
            ? first?.reverted ?? false
            : backfillIds.length > 0 && each.every((window) => window.reverted || window.backfillId === undefined),
          ...(count === 1 && first?.status !== undefined ? { status: first.status } : {}),
          ...(count > 1 ? { windows: each } : {})
        })
      }

      // Before the last close, a typed failure reverts every backfill made. An interruption is no failure: the run
      // suspends, and resumes where it was.

      yield* Effect.gen(function*() {
        // The first create comes before the first look at a cancel: on a replay it gives back the backfill to
        // revert.
        for (let window = 0; window < count; window++) {
          if (window > 0) yield* unlessCancelled
          backfillIds.push(yield* createWaiting(window))
          statusBy[window] = "pending"
          yield* report({ waiting: undefined })
          yield* reportWindow(window, { backfillId: backfillIds[window], status: "pending" })
        }
        yield* Effect.annotateCurrentSpan("backfill.id", backfillIds.join(","))
        yield* report({ stage: "ingesting", waiting: undefined })
        /** A finished segment, in the order of the source. */
        const account = (index: number, done: typeof SegmentResult.Type) =>
          Effect.suspend(() => {
            inFlight.delete(index)
            totals.read += done.read
            totals.accepted += done.accepted
            totals.failed += done.failed
            totals.segments++
            const byWindow = done.acceptedByWindow ?? [done.accepted]
            byWindow.forEach((accepted, window) => acceptedBy[window] += accepted)
            return Effect.zipRight(
              report({ read: totals.read, position: done.next, waiting: undefined }),
              reportSent
            )
          })
        // Two segments at a time: the next one starts once the one before it has read its events (where it ends is
        // where the next begins: the source is pinned, so that is the same in every process) and has its first
        // requests on their way, and the one before that has finished, so that the requests in flight never drain
        // between segments. Each is journaled apart; after a crash, a segment that did not finish runs again from its
        // start (its batches are the same: Orb replays them), whether or not the one after it finished, and the close
        // waits for every one.
        const running: Array<
          { readonly index: number; readonly fiber: Fiber.RuntimeFiber<typeof SegmentResult.Type, StepFailed> }
        > = []
        yield* Effect.gen(function*() {
          let from = { offset: 0, line: 1 }
          let after: Deferred.Deferred<boolean> | undefined
          for (let index = 0;; index++) {
            yield* unlessCancelled
            const handoff: Handoff = {
              readTo: yield* Deferred.make<Cursor, StepFailed>(),
              started: yield* Deferred.make<void>(),
              fed: yield* Deferred.make<boolean>(),
              after
            }
            after = handoff.fed
            // A segment replayed from the journal, or that failed, says where the next one starts by its outcome, and
            // lets the next one send.
            const fiber = yield* Effect.fork(
              segment(backfillIds, index, from, handoff).pipe(
                Effect.tap((done) =>
                  Deferred.succeed(handoff.readTo, { next: done.next, nextLine: done.nextLine, eof: done.eof })
                ),
                // A typed failure stops the next segment; an interruption (a shutdown) does not fail it: it is run
                // again on resume, like this one.
                Effect.onExit((exit) =>
                  Effect.zipRight(
                    Effect.zipRight(
                      Deferred.succeed(handoff.started, undefined),
                      Deferred.succeed(
                        handoff.fed,
                        !(Exit.isFailure(exit) && Option.isSome(Cause.failureOption(exit.cause)))
                      )
                    ),
                    Exit.isFailure(exit) ? Deferred.failCause(handoff.readTo, exit.cause) : Effect.void
                  )
                )
              )
            )
            running.push({ index, fiber })
            if (running.length > 1) {
              const before = running.shift()!
              yield* account(before.index, yield* Fiber.join(before.fiber))
            }
            const cursor = yield* Deferred.await(handoff.readTo)
            if (cursor.eof) break
            // The next one is read once this one's first requests are on their way: read at once, its thousands of
            // events took the thread from this one's checks and first requests (the run's very first waited 30 to 50
            // ms for it), and it is read soon enough, while those requests are answered.
            yield* Deferred.await(handoff.started)
            from = { offset: cursor.next, line: cursor.nextLine }
          }
          while (running.length > 0) {
            const last = running.shift()!
            yield* account(last.index, yield* Fiber.join(last.fiber))
          }
        }).pipe(
          // A failure waits for the other segment in flight (after a failed one it sends nothing; before one, it
          // ends its sending), so that nothing is sent after the revert; an interruption (a shutdown) interrupts it,
          // as it always did.
          Effect.tapError(() => Effect.forEach(running, ({ fiber }) => Fiber.await(fiber)))
        )
        yield* unlessCancelled
        yield* report({ stage: "closing", waiting: undefined })
        for (let window = 0; window < count; window++) {
          const status = yield* close(backfillIds[window], window)
          statusBy[window] = status
          closedCount++
          yield* reportWindow(window, { status })
        }
      }).pipe(
        Effect.catchTag("StepFailed", (error) =>
          Effect.gen(function*() {
            // A journal behind Orb never undoes what the run did when it was ahead: nothing is reverted.
            if (error.stage === journalStage) return yield* runFailed(error, windows.map(() => ({ reverted: false })))
            if (error.stage === "create" && backfillIds.length < count) {
              const recovered = (yield* recoverCreate(backfillIds.length)).backfillId
              if (recovered !== undefined) backfillIds.push(recovered)
            }
            if (backfillIds.length === 0) return yield* runFailed(error, [])
            yield* report({ stage: "reverting", waiting: undefined })
            return yield* runFailed(error, yield* revertAll)
          }))
      )

      if (payload.until === "reflected") {
        const reflection = { _tag: "Reflection", backfillIds: [...backfillIds] } as const
        yield* report({ stage: "awaiting reflection", waiting: reflection })
        for (let window = 0; window < count; window++) {
          const id = backfillIds[window]
          for (let index = 0; statusBy[window] !== "reflected"; index++) {
            if (index > 0) {
              yield* throughStorage(DurableClock.sleep({
                name: named("wait", window, `-${index}`),
                duration: pollWait(index - 1),
                inMemoryThreshold: 0
              }))
            }
            // Cancelled after the close: the backfills are reverted all the same, as asked.
            if (yield* CancelRequests.isRequested(executionId)) {
              return yield* Effect.flatMap(
                revertAll,
                (outcomes) =>
                  Effect.fail(
                    runFailed(new StepFailed({ stage: "cancel", reason: "the run was cancelled" }), outcomes)
                  )
              )
            }
            // A poll that outlasts an outage is no reason to end a closed run: the next poll, after a durable sleep.
            const status = yield* poll(id, window, index).pipe(Effect.orElseSucceed(() => "pending" as const))
            statusBy[window] = status
            yield* reportWindow(window, { status })
            if (progress.waiting?._tag !== "Reflection") yield* report({ waiting: reflection })
            if (!Backfill.canReach(status, "reflected")) {
              return yield* runFailed(
                new StepFailed({
                  stage: "await",
                  reason: `${
                    count === 1 ? "the backfill" : `backfill ${id}`
                  } is ${status} and can no longer be reflected`
                }),
                windows.map(() => ({ reverted: false }))
              )
            }
          }
        }
      }
      yield* report({ stage: "done", waiting: undefined })
      return new Models.RunResult({
        backfillId: backfillIds[0],
        status: statusBy[0]!,
        ...totals,
        windows: windowsNow([])
      })
    })
  )
}))

/**
 * The budget the runs of this process take from: one in context, or else the account's of the process's Orb
 * connection in the engine's database. A database that cannot hold it leaves the runs paced by the process alone.
 */
const budgetOf: Effect.Effect<IngestBudget.IngestBudget | undefined, never, SqlClient.SqlClient> = Effect.gen(
  function*() {
    const given = yield* Effect.serviceOption(IngestBudget.IngestBudget)
    if (Option.isSome(given)) return given.value
    const connection = yield* Effect.serviceOption(RunOrb.OrbConnection)
    if (Option.isNone(connection)) return undefined
    return yield* SqlRateLimiterStore.make.pipe(
      Effect.flatMap((store) =>
        Effect.provideService(AccountBudget.make(RunOrb.account(connection.value)), RateLimiter.RateLimiterStore, store)
      ),
      Effect.catchAll((error) =>
        Effect.as(
          Effect.logWarning(`No shared ingest budget (${error.message}): the runs of this process share its own pace`),
          undefined
        )
      )
    )
  }
)

/** A file's events, guessed at 100 bytes each (a Parquet file's are its rows; of several files, of them all); a named
 * source's, as it said. */
const expectedEvents = (source: RunSource.RunSource) => {
  if (source._tag === "Named") return source.size
  const parts: ReadonlyArray<RunSource.FileSource> = source._tag === "File" ? [source] : source.parts
  const events = parts.reduce((sum, part) => sum + (part.rows ?? Math.ceil(part.size / 100)), 0)
  return events > 0 ? events : undefined
}

export const payload = (spec: DurableRun.RunSpec): Effect.Effect<DurableRun.RunPayload, Backfills.Error> =>
  Effect.gen(function*() {
    const invalid = (field: string, reason: string) => new OrbError.InvalidInput({ field, reason })
    if (spec.runKey.length === 0) return yield* invalid("runKey", "must not be empty")
    const now = yield* DateTime.now
    // A durable run that stops is resumed later, perhaps much later: its backfill must not close by itself, half
    // filled, before then. So at least a day ahead (the run closes it itself as soon as its events are in).
    const plan = yield* Backfills.plan(
      { ...spec, expectedEvents: spec.expectedEvents ?? expectedEvents(spec.source) },
      { maxTimeframe: spec.maxTimeframe },
      now,
      { defaultOverlapWait, closeAtLeast: Duration.hours(24) }
    )
    const { closeTime, windows } = plan
    const createInput: Backfill.CreateBackfill = Backfill.createBackfillOf(spec, closeTime)
    const connection = yield* Effect.serviceOption(RunOrb.OrbConnection)
    return {
      runKey: spec.runKey,
      submission: globalThis.crypto.randomUUID().replace(/-/g, "").slice(0, 16),
      ...(Option.isSome(connection) ? { orb: RunOrb.of(connection.value) } : {}),
      ...createInput,
      closeTime,
      ...(windows.length > 1 ? { windows } : {}),
      source: spec.source,
      segmentEvents: spec.segmentEvents ?? 5_000,
      segmentJournal: "table",
      batchSize: spec.batchSize ?? Backfill.maxEventsPerRequest,
      concurrency: spec.concurrency ?? 4,
      quota: spec.quota ?? Backfills.liveModeQuota,
      invalidEvents: spec.invalidEvents ?? "fail",
      until: spec.until ?? "reflected",
      ...(spec.overlapWait !== undefined
        ? { overlapWaitMillis: plan.overlapWaitMillis }
        : {})
    }
  })
