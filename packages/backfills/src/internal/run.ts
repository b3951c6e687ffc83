/**
 * The whole backfill workflow behind `Backfills.run`: create, ingest, close, await, with a revert when the
 * run fails or is interrupted between the create and the close.
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Backfill from "../Backfill.js"
import type * as Backfills from "../Backfills.js"
import * as OrbError from "../OrbError.js"
import * as RetryRule from "./retryRule.js"

type Operations =
  & Pick<
    Backfills.Backfills,
    "create" | "fetch" | "list" | "ingestStream" | "ingestEncodedStream" | "close" | "revert" | "awaitStatus"
  >
  & { readonly defaultCloseTime: typeof Backfills.defaultCloseTime }

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
      return RetryRule.retryableStatus(error.status)
  }
}

// Orb's clock and ours may disagree: a backfill made by this run's create can carry a `created_at` a little
// before the run's own start.
const clockSkewMillis = 15 * 60_000

/** Searches after the first for the backfill of a lost create, 2, 4 and 8 seconds apart. */
const recoveryRetries = 3

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

/** @internal */
export const run = <E, R>(
  ops: Operations,
  spec: Backfills.RunSpec<E, R>
): Effect.Effect<Backfills.RunResult, Backfills.Error | OrbError.RunFailed, R> =>
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
    const closeTime = spec.closeTime ??
      ops.defaultCloseTime({ now, expectedEvents: spec.expectedEvents, quota: spec.ingest?.quota })
    if (closeTime.epochMillis <= now.epochMillis) {
      return yield* invalid("closeTime", `${DateTime.formatIso(closeTime)} is not in the future`)
    }
    const report = spec.onProgress ?? (() => Effect.void)

    const createInput: Backfill.CreateBackfill = Backfill.createBackfillOf(spec, closeTime)
    // One key for the create and for any re-send of it below, so that Orb can only ever apply it once.
    const createKey = spec.idempotencyKey ?? `effect-orb-run-${globalThis.crypto.randomUUID()}`

    let stage: "ingest" | "close" = "ingest"

    /**
     * Reverts the backfill, and says what is known of it afterwards: when the revert's own answer is lost, a fetch
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
    const confirmOpen = (backfill: Backfill.Backfill) =>
      Effect.flatMap(
        Effect.orElseSucceed(ops.fetch(backfill.id), () => backfill),
        (current) => isOpen(current) ? Effect.succeed(backfill) : notThisRuns(current)
      )

    const notThisRuns = (backfill: Backfill.Backfill) =>
      new OrbError.InvalidInput({
        field: "idempotencyKey",
        reason:
          `Orb answered the create with backfill ${backfill.id}, which is ${backfill.status} and closed: the key ` +
          `${createKey} was used by an earlier create; that backfill was left as it is. Give each run a key of its own`
      })

    /**
     * The create's answer was lost: find the backfill it may have made, and revert it, so that no unknown open
     * backfill stays behind to close by itself (in replace mode, replacing the timeframe's usage with nothing).
     * First by sending the create again with the same idempotency key: Orb replays the answer of a create it applied
     * (the one answer that is sure to be this run's) and applies one it never saw (reverted at once), and a refusal
     * it replays means nothing was made. Only when that has no readable answer either, among the open backfills
     * created since the run began with exactly this run's timeframe, mode, scope and close time, when there is one.
     */
    const recoverCreate = (cause: Backfills.Error) =>
      Effect.gen(function*() {
        yield* Effect.logWarning(`The create's outcome is unknown (${cause.message}): looking for its backfill`)
        const since = now.epochMillis - clockSkewMillis
        const search = Effect.gen(function*() {
          const replayed = yield* Effect.either(ops.create(createInput, { idempotencyKey: createKey }))
          if (Either.isRight(replayed)) return { how: "replayed" as const, backfill: replayed.right }
          if (!outcomeUnknown(replayed.left)) return { how: "refused" as const, error: replayed.left }
          const listed = yield* ops.list().pipe(
            Stream.takeWhile((backfill) => backfill.createdAt.epochMillis >= since),
            Stream.filter((backfill) => isThisRun(backfill, createInput)),
            Stream.runCollect,
            Effect.map(Chunk.toReadonlyArray)
          )
          if (listed.length === 1) return { how: "listed" as const, backfill: listed[0] }
          return yield* Effect.fail("not found" as const)
        })
        // A create held up on the way (by a proxy, say) can reach Orb after the client gave up on it: look again a
        // few times, a while apart, before saying nothing was found.
        const found = yield* search.pipe(
          Effect.retry(Schedule.exponential("2 seconds", 2).pipe(Schedule.intersect(Schedule.recurs(recoveryRetries)))),
          Effect.orElseSucceed(() => undefined)
        )
        // Orb refused the create (its refusal replayed, or the same request refused again): nothing was made.
        if (found?.how === "refused") return yield* found.error
        if (found !== undefined && found.how === "replayed") yield* confirmOpen(found.backfill)
        if (found === undefined) {
          return yield* new OrbError.RunFailed({
            stage: "create",
            reverted: false,
            found: "none",
            lookFor: `a pending backfill of ${DateTime.formatIso(spec.timeframeStart)} to ${
              DateTime.formatIso(spec.timeframeEnd)
            } closing by itself at ${DateTime.formatIso(closeTime)}`,
            cause
          })
        }
        const id = found.backfill.id
        yield* Effect.annotateCurrentSpan("backfill.id", id)
        const outcome = yield* revertKnown(id)
        return yield* new OrbError.RunFailed({ backfillId: id, stage: "create", found: found.how, ...outcome, cause })
      })

    const createOrRecover = ops.create(createInput, { idempotencyKey: createKey }).pipe(
      Effect.catchIf(outcomeUnknown, recoverCreate),
      Effect.flatMap(confirmOpen)
    )

    const ingestAndClose = (id: Backfill.BackfillId) =>
      Effect.gen(function*() {
        const options: Backfills.IngestStreamOptions = {
          ...spec.ingest,
          onInvalid: spec.invalidEvents ?? "fail",
          onProgress: (ingest) => report({ stage: "ingesting", backfillId: id, ingest })
        }
        const ingestion = yield* (spec.encodedEvents !== undefined
          ? ops.ingestEncodedStream(id, spec.encodedEvents, options)
          : ops.ingestStream(id, spec.events!, options))
        stage = "close"
        const closed = yield* ops.close(id)
        return { ingestion, closed }
      })

    // Between the create and the close, a failure or an interruption reverts the backfill: its events are not
    // visible before the close, so a revert leaves usage exactly as it was.
    const revertAfter = (created: Backfill.Backfill, cause: Cause.Cause<unknown>) =>
      Effect.gen(function*() {
        const outcome = yield* revertKnown(created.id)
        if (outcome.reverted) {
          yield* Effect.logWarning(
            `Reverted backfill ${created.id} after the run stopped while ${
              stage === "ingest" ? "ingesting" : "closing"
            }`
          )
        }
        if (Cause.isInterruptedOnly(cause)) return yield* Effect.failCause(cause as Cause.Cause<never>)
        return yield* new OrbError.RunFailed({
          backfillId: created.id,
          stage,
          ...outcome,
          cause: Option.getOrElse(Cause.failureOption(cause), () => Cause.squash(cause))
        })
      })

    // The create runs uninterruptibly: an interruption while it is in flight waits for its outcome, so that the
    // backfill it made is known, and reverted as the interruption then reaches the ingestion.
    const { closed, created, ingestion } = yield* Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const created = yield* createOrRecover
        yield* Effect.annotateCurrentSpan("backfill.id", created.id)
        const exit = yield* Effect.exit(restore(Effect.zipRight(
          report({ stage: "created", backfill: created }),
          ingestAndClose(created.id)
        )))
        return Exit.isSuccess(exit) ? { ...exit.value, created } : yield* revertAfter(created, exit.cause)
      })
    )
    const id = created.id
    yield* report({ stage: "closed", backfill: closed, ingest: ingestion })
    if (spec.until === "closed") {
      return { backfill: closed, ingestion }
    }

    const reflected = yield* ops.awaitStatus(id, "reflected", spec.await).pipe(
      Effect.catchAll((error) =>
        new OrbError.RunFailed({
          backfillId: id,
          stage: "await",
          reverted: false,
          ...(error._tag === "StatusUnreachable" ? { status: error.status } : {}),
          ...(error._tag === "AwaitTimeout" && error.lastStatus ? { status: error.lastStatus } : {}),
          cause: error
        })
      )
    )
    yield* report({ stage: "done", backfill: reflected, ingest: ingestion })
    return { backfill: reflected, ingestion }
  })
