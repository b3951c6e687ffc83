/**
 * The whole backfill workflow behind `Backfills.run`: create, ingest, close, await, with a revert when the
 * run fails or is interrupted between the create and the close. A timeframe longer than the account's maximum is
 * the same workflow over several windows, one backfill each: all are created, then fed from the one input, then
 * closed; until the last close, a failure reverts them all.
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Backfill from "../Backfill.js"
import type * as Backfills from "../Backfills.js"
import * as OrbError from "../OrbError.js"
import * as IdempotencyKey from "./idempotencyKey.js"
import type * as IngestStream from "./ingestStream.js"
import * as Metrics from "./metrics.js"
import * as Overlap from "./overlap.js"
import * as RetryPolicy from "./retryPolicy.js"
import * as RunPlan from "./runPlan.js"

type Operations<R> =
  & Pick<Backfills.Backfills, "create" | "fetch" | "list" | "close" | "revert" | "awaitStatus">
  & {
    readonly maxTimeframeMillis: number
    /** The spec's events into these backfills (the windows, in order), one pipeline. */
    readonly ingestInto: (
      ids: ReadonlyArray<string>,
      options: Backfills.IngestStreamOptions,
      onTargets: (counts: ReadonlyArray<IngestStream.TargetCounts>) => Effect.Effect<void>
    ) => Effect.Effect<IngestStream.MultiSummary, unknown, R>
  }

/**
 * Whether a failed create may still have taken effect: no readable answer (no response, an unreadable or
 * ill-shaped one), or an answer that does not say the request was refused (a 5xx, a 408, or a 409 or 429 a proxy
 * may have sent after Orb applied it). A refusal of the request itself (400, 401, 404, ...) created nothing.
 */
const outcomeUnknown = (error: Backfills.Error): boolean => {
  switch (error._tag) {
    case "TransportError":
    case "DecodeError":
      return true
    case "InvalidInput":
      return false
    default:
      return RetryPolicy.retryableStatus(error.status)
  }
}

// Orb's clock and ours may disagree: a backfill made by this run's create can carry a `created_at` a little
// before the run's own start.
const clockSkewMillis = 15 * 60_000

/** Whether a backfill is one this run's create could have made: open, with exactly its parameters. */
const isThisRun = (backfill: Backfill.Backfill, input: Backfill.CreateBackfill): boolean =>
  backfill.status === "pending" &&
  backfill.timeframeStart.epochMillis === input.timeframeStart.epochMillis &&
  backfill.timeframeEnd.epochMillis === input.timeframeEnd.epochMillis &&
  backfill.replaceExistingEvents === input.replaceExistingEvents &&
  // Orb may store the close time at a coarser precision than the millisecond sent.
  Option.exists(backfill.closeTime, (at) => Math.abs(at.epochMillis - input.closeTime!.epochMillis) < 1_000) &&
  // A backfill names its customer by Orb id only: one scoped by external id can only be told from one of all
  // customers.
  (input.customerId !== undefined
    ? Option.contains(backfill.customerId, input.customerId)
    : input.externalCustomerId !== undefined
    ? Option.isSome(backfill.customerId)
    : Option.isNone(backfill.customerId))

export const run = <E, R>(
  ops: Operations<R>,
  spec: Backfills.RunSpec<E, R>
): Effect.Effect<Backfills.RunResult, Backfills.Error | OrbError.RunFailed | OrbError.OverlapWaitTimeout, R> =>
  Effect.flatMap(Clock.currentTimeMillis, (started) =>
    runSteps(ops, spec).pipe(
      Effect.onExit((exit) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Metric.update(
            Metrics.runDuration.pipe(
              Metric.tagged("orb.backfill.mode", spec.replaceExistingEvents ? "replace" : "add"),
              Metric.tagged(
                "orb.backfill.outcome",
                Exit.isSuccess(exit)
                  ? (spec.until === "closed" ? "closed" : "reflected")
                  : Exit.isInterrupted(exit)
                  ? "interrupted"
                  : "failed"
              )
            ),
            (now - started) / 1000
          ))
      )
    ))

const runSteps = <E, R>(
  ops: Operations<R>,
  spec: Backfills.RunSpec<E, R>
): Effect.Effect<Backfills.RunResult, Backfills.Error | OrbError.RunFailed | OrbError.OverlapWaitTimeout, R> =>
  Effect.gen(function*() {
    const invalid = (field: string, reason: string) => new OrbError.InvalidInput({ field, reason })
    if (spec.invalidEvents !== undefined && spec.invalidEvents !== "fail" && spec.invalidEvents !== "skip") {
      return yield* invalid("invalidEvents", `must be "fail" or "skip", got ${String(spec.invalidEvents)}`)
    }
    if (spec.until !== undefined && spec.until !== "reflected" && spec.until !== "closed") {
      return yield* invalid("until", `must be "reflected" or "closed", got ${String(spec.until)}`)
    }
    // Checked here too, for callers whose types did not: with both, or neither, which events would be meant?
    if ((spec.events === undefined) === (spec.encodedEvents === undefined)) {
      return yield* invalid("events", "give exactly one of events and encodedEvents")
    }
    const now = yield* DateTime.now
    // The plan both executors share: close time, windows, creates, keys and overlap wait, all checked up front.
    const { closeTime, idempotencyKey: baseKey, inputs, overlapWaitMillis: overlapWait, windows: timeframes } =
      yield* RunPlan.plan(
        { ...spec, quota: spec.ingest?.quota },
        { maxTimeframe: Duration.millis(ops.maxTimeframeMillis) },
        now,
        { defaultOverlapWait: Overlap.defaultOverlapWait }
      )
    const report = spec.onProgress ?? (() => Effect.void)
    const count = timeframes.length
    const keyOf = (index: number, attempt = 0) => IdempotencyKey.forCreate(baseKey, index, count, attempt)

    // Where each window is, for the progress reports and the failure's account of every window.
    const windows = timeframes.map((timeframe): {
      -readonly [K in keyof Backfills.RunWindow]: Backfills.RunWindow[K]
    } => ({ ...timeframe, read: 0, accepted: 0, failed: 0 }))
    const snapshot = (): ReadonlyArray<Backfills.RunWindow> => windows.map((window) => ({ ...window }))
    let stage: "ingest" | "close" = "ingest"

    /**
     * Reverts a backfill, and says what is known of it afterwards: when the revert's own answer is lost, a fetch
     * tells whether it took effect; when that fails too, its status stays unknown rather than guessed.
     */
    const revertKnown = (id: string) =>
      Effect.gen(function*() {
        const reverted = yield* Effect.either(ops.revert(id))
        if (Either.isRight(reverted)) return { reverted: true, status: reverted.right.status } as const
        const revertFailure = reverted.left.message
        const seen = yield* Effect.either(ops.fetch(id))
        if (Either.isLeft(seen)) {
          yield* Effect.logError(`Could not revert backfill ${id} (${revertFailure}), nor fetch it again`)
          return { reverted: false, revertFailure } as const
        }
        const status = seen.right.status
        const done = Backfill.isReverted(status)
        if (!done) yield* Effect.logError(`Could not revert backfill ${id}: ${revertFailure}`)
        return { reverted: done, status, revertFailure } as const
      })

    // Only a backfill this run saw open is its own: a key given by the caller and used before would make Orb replay
    // an earlier run's backfill, which must never be ingested into, nor reverted.
    const isOpen = (backfill: Backfill.Backfill) => Backfill.isOpen(backfill, now.epochMillis)

    /**
     * The backfill as it is now, when it is open. A create's answer cannot tell: Orb replays the first answer of a
     * key, `pending` as it was then, so it is fetched again. When that fetch fails, the answer stands (the ingestion
     * fetches it again before it sends anything).
     */
    const confirmOpen = (index: number) => (backfill: Backfill.Backfill) =>
      Effect.flatMap(
        Effect.orElseSucceed(ops.fetch(backfill.id), () => backfill),
        (current) => isOpen(current) ? Effect.succeed(backfill) : notThisRuns(index, current)
      )

    const notThisRuns = (index: number, backfill: Backfill.Backfill) =>
      new OrbError.InvalidInput({
        field: "idempotencyKey",
        reason:
          `Orb answered the create with backfill ${backfill.id}, which is ${backfill.status} and closed: the key ` +
          `${keyOf(index)} was used by an earlier create; that backfill was left as it is. Give each run a key of ` +
          "its own"
      })

    /**
     * A window's create answer was lost: find the backfill it may have made, and revert it, so that no unknown open
     * backfill stays behind to close by itself (in replace mode, replacing the timeframe's usage with nothing).
     * First by sending the create again with the same idempotency key: Orb replays the answer of a create it applied
     * (the one answer that is sure to be this run's) and applies one it never saw (reverted at once), and a refusal
     * it replays means nothing was made. Only when that has no readable answer either, among the open backfills
     * created since the run began with exactly this window's timeframe, mode, scope and close time, when there is
     * one. Fails with what it found: `RunFailed` at stage `create`, or the refusal.
     */
    const recoverCreate = (index: number, attempt: number) => (cause: Backfills.Error) =>
      Effect.gen(function*() {
        const input = inputs[index]
        yield* Effect.logWarning(`The create's outcome is unknown (${cause.message}): looking for its backfill`)
        const since = now.epochMillis - clockSkewMillis
        const search = Effect.gen(function*() {
          const replayed = yield* Effect.either(ops.create(input, { idempotencyKey: keyOf(index, attempt) }))
          if (Either.isRight(replayed)) return { how: "replayed" as const, backfill: replayed.right }
          if (!outcomeUnknown(replayed.left)) return { how: "refused" as const, error: replayed.left }
          const listed = yield* ops.list().pipe(
            Stream.takeWhile((backfill) => backfill.createdAt.epochMillis >= since),
            Stream.filter((backfill) => isThisRun(backfill, input)),
            Stream.runCollect,
            Effect.map(Chunk.toReadonlyArray)
          )
          if (listed.length === 1) return { how: "listed" as const, backfill: listed[0] }
          return yield* Effect.fail("not found" as const)
        })
        // A create held up on the way (by a proxy, say) can reach Orb after the client gave up on it: look again a
        // few times, a while apart, before saying nothing was found.
        const found = yield* search.pipe(
          Effect.retry(RetryPolicy.createSearch),
          Effect.orElseSucceed(() => undefined)
        )
        // Orb refused the create (its refusal replayed, or the same request refused again): nothing was made.
        if (found?.how === "refused") return yield* found.error
        if (found !== undefined && found.how === "replayed") yield* confirmOpen(index)(found.backfill)
        if (found === undefined) {
          return yield* new OrbError.RunFailed({
            stage: "create",
            reverted: false,
            found: "none",
            lookFor: `a pending backfill of ${DateTime.formatIso(input.timeframeStart)} to ${
              DateTime.formatIso(input.timeframeEnd)
            } closing by itself at ${DateTime.formatIso(closeTime)}`,
            cause
          })
        }
        const id = found.backfill.id
        yield* Effect.annotateCurrentSpan("backfill.id", id)
        const outcome = yield* revertKnown(id)
        return yield* new OrbError.RunFailed({ backfillId: id, stage: "create", found: found.how, ...outcome, cause })
      })

    const createOrRecover = (index: number, attempt: number) =>
      ops.create(inputs[index], { idempotencyKey: keyOf(index, attempt) }).pipe(
        Effect.catchIf(outcomeUnknown, recoverCreate(index, attempt)),
        Effect.flatMap(confirmOpen(index))
      )

    /**
     * A window's create, waiting out an overlap: a create Orb refuses (a refusal creates nothing, and a lost create's
     * recovery says it was refused only when Orb replays the refusal) while a pending backfill overlaps the window
     * waits, interruptibly (`restore`), for that backfill to be reflected or reverted, then is sent again with a key of
     * its own. A refusal with no such backfill is sent again once, in case it just ceased to block, then stands.
     */
    const createWaiting = (
      index: number,
      restore: <A, E2, R2>(effect: Effect.Effect<A, E2, R2>) => Effect.Effect<A, E2, R2>
    ) =>
      Effect.gen(function*() {
        const input = inputs[index]
        let since: number | undefined
        let unexplained = false
        for (let attempt = 0;; attempt++) {
          const made = yield* Effect.either(createOrRecover(index, attempt))
          if (Either.isRight(made)) return made.right
          const refusal = made.left
          if (overlapWait <= 0 || !Overlap.isRefusal(refusal)) return yield* refusal
          const found = yield* restore(Overlap.blockerOf(ops.list, input))
          if (Option.isNone(found)) {
            if (unexplained) return yield* refusal
            unexplained = true
            continue
          }
          unexplained = false
          let blocker = found.value
          const start = since ??= yield* Clock.currentTimeMillis
          // The windows created before this one close by themselves at the close time: the wait ends well before.
          const deadline = RunPlan.overlapDeadline({ closeTime, overlapWaitMillis: overlapWait }, index, start)
          yield* Effect.logInfo(
            `Waiting for backfill ${blocker.id} (${DateTime.formatIso(blocker.timeframeStart)} to ${
              DateTime.formatIso(blocker.timeframeEnd)
            }, ${blocker.status}) to be reflected or reverted: its timeframe overlaps this run's`
          )
          yield* report({ stage: "waiting", blocker, window: index, windows: snapshot() })
          for (let poll = 0; Backfill.blocks(blocker, input); poll++) {
            const now = yield* Clock.currentTimeMillis
            if (now >= deadline) {
              return yield* new OrbError.OverlapWaitTimeout({
                backfillId: blocker.id,
                timeframeStart: blocker.timeframeStart,
                timeframeEnd: blocker.timeframeEnd,
                status: blocker.status,
                waitedMillis: now - start
              })
            }
            yield* restore(Effect.sleep(Duration.millis(Math.min(Overlap.pollWaitMillis(poll), deadline - now))))
            // A poll that fails (an outage) is no reason to stop waiting: the next one, later.
            blocker = yield* restore(Effect.orElseSucceed(ops.fetch(blocker.id), () => blocker))
          }
        }
      })

    /** Every window's account, for a failure: reverting those that were created, unless `revert` is false. */
    const outcomes = (
      created: ReadonlyArray<Backfill.Backfill>,
      closed: number,
      revert: boolean,
      known: ReadonlyArray<OrbError.RunWindowOutcome | undefined> = []
    ) =>
      Effect.forEach(timeframes, (timeframe, index) =>
        Effect.gen(function*() {
          if (known[index] !== undefined) return known[index]
          const backfill = created[index]
          if (backfill === undefined) {
            return new OrbError.RunWindowOutcome({ ...timeframe, accepted: 0, closed: false, reverted: false })
          }
          const outcome = revert
            ? yield* revertKnown(backfill.id)
            : { reverted: false, status: windows[index].status }
          return new OrbError.RunWindowOutcome({
            ...timeframe,
            backfillId: backfill.id,
            accepted: windows[index].accepted,
            closed: index < closed,
            ...outcome
          })
        }))

    const ingestAndClose = (created: ReadonlyArray<Backfill.Backfill>, closedSoFar: { count: number }) =>
      Effect.gen(function*() {
        const ids = created.map((backfill) => backfill.id)
        const options: Backfills.IngestStreamOptions = {
          ...spec.ingest,
          onInvalid: spec.invalidEvents ?? "fail",
          onProgress: (ingest) => report({ stage: "ingesting", backfillId: ids[0], ingest, windows: snapshot() })
        }
        const summary = yield* ops.ingestInto(ids, options, (counts) =>
          Effect.sync(() => {
            counts.forEach((part, index) => {
              windows[index].read = part.read
              windows[index].accepted = part.accepted
              windows[index].failed = part.failed
            })
          }))
        stage = "close"
        const closed: Array<Backfill.Backfill> = []
        for (const id of ids) {
          closed.push(yield* ops.close(id))
          windows[closedSoFar.count].status = closed[closed.length - 1].status
          closedSoFar.count++
        }
        return { summary, closed }
      })

    // Between the create and the last close, a failure or an interruption reverts every backfill made: their events
    // are not visible before the close, so a revert leaves usage exactly as it was. With several windows, the
    // windows already closed are reverted too: all or nothing.
    const revertAfter = (created: ReadonlyArray<Backfill.Backfill>, closed: number, cause: Cause.Cause<unknown>) =>
      Effect.gen(function*() {
        const failure = Option.getOrElse(Cause.failureOption(cause), () => Cause.squash(cause))
        if (count === 1) {
          const outcome = yield* revertKnown(created[0].id)
          if (outcome.reverted) {
            yield* Effect.logWarning(
              `Reverted backfill ${created[0].id} after the run stopped while ${
                stage === "ingest" ? "ingesting" : "closing"
              }`
            )
          }
          if (Cause.isInterruptedOnly(cause)) return yield* Effect.failCause(cause as Cause.Cause<never>)
          return yield* new OrbError.RunFailed({ backfillId: created[0].id, stage, ...outcome, cause: failure })
        }
        const each = yield* outcomes(created, closed, true)
        const reverted = each.every((window) => window.reverted || window.backfillId === undefined)
        yield* Effect.logWarning(
          `Reverted ${each.filter((window) => window.reverted).length} of ${created.length} windows' backfills after ` +
            `the run stopped while ${stage === "ingest" ? "ingesting" : "closing"}`
        )
        if (Cause.isInterruptedOnly(cause)) return yield* Effect.failCause(cause as Cause.Cause<never>)
        // The window whose close failed, when one did.
        const failedWindow = stage === "close" ? created[closed] : undefined
        return yield* new OrbError.RunFailed({
          ...(failedWindow !== undefined ? { backfillId: failedWindow.id } : {}),
          stage,
          reverted,
          windows: each,
          cause: failure
        })
      })

    /** A window's create failed after `created` were made: they are reverted, and the failure tells of every window. */
    const createFailed = (
      created: ReadonlyArray<Backfill.Backfill>,
      cause: Cause.Cause<Backfills.Error | OrbError.RunFailed | OrbError.OverlapWaitTimeout>
    ) =>
      Effect.gen(function*() {
        const index = created.length
        const failure = Option.getOrElse(Cause.failureOption(cause), () => Cause.squash(cause))
        const own = failure instanceof OrbError.RunFailed ? failure : undefined
        // One window, or a refusal of the first create: nothing exists on Orb's side beyond what the error says.
        if (count === 1 || (index === 0 && own === undefined)) return yield* Effect.failCause(cause)
        const known: Array<OrbError.RunWindowOutcome | undefined> = []
        if (own !== undefined) {
          known[index] = new OrbError.RunWindowOutcome({
            ...timeframes[index],
            accepted: 0,
            closed: false,
            reverted: own.reverted,
            ...(own.backfillId !== undefined ? { backfillId: own.backfillId } : {}),
            ...(own.status !== undefined ? { status: own.status } : {}),
            ...(own.revertFailure !== undefined ? { revertFailure: own.revertFailure } : {})
          })
        }
        const each = yield* outcomes(created, 0, true, known)
        if (Cause.isInterruptedOnly(cause)) return yield* Effect.failCause(cause)
        return yield* new OrbError.RunFailed({
          ...(own ?? {}),
          stage: "create",
          reverted: each.every((window) => window.reverted || window.backfillId === undefined) &&
            (own === undefined || own.found !== "none"),
          windows: each,
          cause: own?.cause ?? failure
        })
      })

    // Each create runs uninterruptibly: an interruption while one is in flight waits for its outcome, so that the
    // backfill it made is known, and reverted as the interruption then reaches the run (between the creates, or
    // during the ingestion).
    const { closed, created, summary } = yield* Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const created: Array<Backfill.Backfill> = []
        for (let index = 0; index < count; index++) {
          const made = yield* Effect.exit(
            index === 0
              ? createWaiting(index, restore)
              : Effect.zipRight(restore(Effect.yieldNow()), createWaiting(index, restore))
          )
          if (Exit.isFailure(made)) return yield* createFailed(created, made.cause)
          const backfill = made.value
          created.push(backfill)
          windows[index].backfillId = backfill.id
          windows[index].status = backfill.status
          if (index === 0) yield* Effect.annotateCurrentSpan("backfill.id", backfill.id)
          yield* report({ stage: "created", backfill, windows: snapshot() })
        }
        const closedSoFar = { count: 0 }
        const exit = yield* Effect.exit(restore(ingestAndClose(created, closedSoFar)))
        return Exit.isSuccess(exit)
          ? { ...exit.value, created }
          : yield* revertAfter(created, closedSoFar.count, exit.cause)
      })
    )
    const ingestion = summary.total
    const resultOf = (backfills: ReadonlyArray<Backfill.Backfill>): Backfills.RunResult => ({
      backfill: backfills[0],
      ingestion,
      windows: backfills.map((backfill, index) => ({
        ...timeframes[index],
        backfillId: backfill.id,
        status: backfill.status,
        backfill,
        read: summary.targets[index].read,
        accepted: summary.targets[index].accepted,
        failed: summary.targets[index].failed,
        sent: summary.targets[index].sent,
        duplicates: summary.targets[index].duplicates
      }))
    })
    for (const backfill of closed) yield* report({ stage: "closed", backfill, ingest: ingestion, windows: snapshot() })
    if (spec.until === "closed") return resultOf(closed)
    const closedAt = yield* Clock.currentTimeMillis

    const reflected = yield* Effect.forEach(
      created,
      (backfill, index) =>
        ops.awaitStatus(backfill.id, "reflected", spec.await).pipe(
          Effect.tap((reflected) =>
            Effect.zipRight(
              Effect.zipRight(
                Effect.sync(() => windows[index].status = reflected.status),
                Effect.flatMap(
                  Clock.currentTimeMillis,
                  (now) => Metric.update(Metrics.reflectionDuration, (now - closedAt) / 1000)
                )
              ),
              report({ stage: "done", backfill: reflected, ingest: ingestion, windows: snapshot() })
            )
          ),
          Effect.catchAll((error) => {
            const status = error._tag === "StatusUnreachable"
              ? error.status
              : error._tag === "AwaitTimeout"
              ? error.lastStatus
              : undefined
            if (status !== undefined) windows[index].status = status
            return Effect.flatMap(
              count === 1 ? Effect.succeed(undefined) : outcomes(created, count, false),
              (each) =>
                new OrbError.RunFailed({
                  backfillId: backfill.id,
                  stage: "await",
                  reverted: false,
                  ...(status !== undefined ? { status } : {}),
                  ...(each !== undefined ? { windows: each } : {}),
                  cause: error
                })
            )
          })
        ),
      { concurrency: "unbounded" }
    )
    return resultOf(reflected)
  })
