/**
 * The whole backfill workflow behind `Backfills.run`: create, ingest, close, await, with a revert when the
 * run fails or is interrupted between the create and the close.
 */
import * as Cause from "effect/Cause"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Stream from "effect/Stream"
import type * as Backfill from "../Backfill.js"
import type * as Backfills from "../Backfills.js"
import * as OrbError from "../OrbError.js"

interface Operations {
  readonly create: Backfills.Backfills["create"]
  readonly ingestStream: <E, R>(
    id: string,
    events: Stream.Stream<Backfill.IngestEvent, E, R>,
    options?: Backfills.IngestStreamOptions
  ) => Effect.Effect<Backfills.IngestSummary, Backfills.Error | OrbError.InvalidEvent | E, R>
  readonly ingestEncodedStream: <E, R>(
    id: string,
    events: Stream.Stream<typeof Backfill.IngestEvent.Encoded, E, R>,
    options?: Backfills.IngestStreamOptions
  ) => Effect.Effect<Backfills.IngestSummary, Backfills.Error | OrbError.InvalidEvent | E, R>
  readonly close: Backfills.Backfills["close"]
  readonly revert: Backfills.Backfills["revert"]
  readonly awaitStatus: Backfills.Backfills["awaitStatus"]
  readonly defaultCloseTime: typeof Backfills.defaultCloseTime
}

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

    const created = yield* ops.create({
      timeframeStart: spec.timeframeStart,
      timeframeEnd: spec.timeframeEnd,
      replaceExistingEvents: spec.replaceExistingEvents,
      closeTime,
      ...(spec.customerId !== undefined ? { customerId: spec.customerId } : {}),
      ...(spec.externalCustomerId !== undefined ? { externalCustomerId: spec.externalCustomerId } : {}),
      ...(spec.deprecationFilter !== undefined ? { deprecationFilter: spec.deprecationFilter } : {})
    }, { idempotencyKey: spec.idempotencyKey })
    const id = created.id
    yield* Effect.annotateCurrentSpan("backfill.id", id)
    yield* report({ stage: "created", backfill: created })

    let stage: "ingest" | "close" = "ingest"
    const ingestAndClose = Effect.gen(function*() {
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
    const revertAfter = (cause: Cause.Cause<unknown>) =>
      Effect.gen(function*() {
        const reverted = yield* Effect.either(ops.revert(id))
        if (Either.isLeft(reverted)) {
          yield* Effect.logError(`Could not revert backfill ${id}: ${reverted.left.message}`)
        } else {
          yield* Effect.logWarning(
            `Reverted backfill ${id} after the run stopped while ${stage === "ingest" ? "ingesting" : "closing"}`
          )
        }
        if (Cause.isInterruptedOnly(cause)) return yield* Effect.failCause(cause as Cause.Cause<never>)
        return yield* new OrbError.RunFailed({
          backfillId: id,
          stage,
          reverted: Either.isRight(reverted),
          ...(Either.isLeft(reverted) ? { revertFailure: reverted.left.message } : {}),
          status: Either.isRight(reverted) ? reverted.right.status : created.status,
          cause: Option.getOrElse(Cause.failureOption(cause), () => Cause.squash(cause))
        })
      })

    const { closed, ingestion } = yield* Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Effect.exit(restore(ingestAndClose)), (exit) =>
        Exit.isSuccess(exit) ? Effect.succeed(exit.value) : revertAfter(exit.cause))
    )
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
