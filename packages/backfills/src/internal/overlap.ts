/**
 * Orb refuses a create whose timeframe overlaps a backfill in `pending` or `pending_revert`: what blocks a create,
 * and the wait for it to be reflected or reverted.
 */
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Backfill from "../Backfill.js"
import type * as Backfills from "../Backfills.js"
import * as RetryPolicy from "./retryPolicy.js"

export const defaultOverlapWait: Duration.Duration = Duration.hours(1)

export const blockerOf = (
  list: Backfills.Backfills["list"],
  timeframe: Backfill.Timeframe
): Effect.Effect<Option.Option<Backfill.Backfill>, Backfills.Error> =>
  list().pipe(Stream.filter((backfill) => Backfill.blocks(backfill, timeframe)), Stream.runHead)

/** The waits between polls of a blocking backfill, in milliseconds (`RetryPolicy.pollWait`). */
export const pollWaitMillis = (poll: number): number => Duration.toMillis(RetryPolicy.pollWait(poll))

export const isRefusal = (error: { readonly _tag: string }): boolean => error._tag === "ConstraintViolation"
