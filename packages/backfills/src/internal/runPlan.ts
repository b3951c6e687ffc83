/**
 * A run's plan, the same for both executors (`Backfills.run` in memory, and the durable run's payload): its close
 * time, its windows (the timeframe cut at the account's maximum), each window's create, the key of each create, and
 * how long a create refused for an overlap waits; every check of these made before anything is sent. The rule of the
 * overlap wait's end (`overlapDeadline`) is here too, for the durable run reads it from its journaled payload.
 */
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Backfill from "../Backfill.js"
import type * as Backfills from "../Backfills.js"
import * as OrbError from "../OrbError.js"
import { maxTimeframeMillisOf, validateCreate } from "./createChecks.js"
import * as IdempotencyKey from "./idempotencyKey.js"
import { defaultCloseTime } from "./quota.js"

// The shapes are declared once, by the public module (Backfills.RunPlanSpec, RunPlanOptions, RunPlan).
type PlanSpec = Backfills.RunPlanSpec
type PlanOptions = Backfills.RunPlanOptions
type RunPlan = Backfills.RunPlan

/** How long before the close time of the windows already created a later window's wait for an overlap ends. */
const windowWaitMargin = 10 * 60_000

/**
 * When the wait for an overlap of window `window`, begun at `since`, ends: after the run's overlap wait, and for a
 * later window well before the close time of the windows already created (they close by themselves then).
 */
export const overlapDeadline = (
  plan: { readonly closeTime: DateTime.Utc; readonly overlapWaitMillis: number },
  window: number,
  since: number
): number =>
  Math.min(since + plan.overlapWaitMillis, window === 0 ? Infinity : plan.closeTime.epochMillis - windowWaitMargin)

/** A run's plan, or the first of its checks that fails. */
export const plan = (
  spec: PlanSpec,
  account: Backfills.AccountOptions | undefined,
  now: DateTime.Utc,
  options: PlanOptions
): Either.Either<RunPlan, OrbError.InvalidInput> =>
  Either.gen(function*() {
    const invalid = (field: string, reason: string) => new OrbError.InvalidInput({ field, reason })
    const estimated = defaultCloseTime({ now, expectedEvents: spec.expectedEvents, quota: spec.quota })
    const atLeast = options.closeAtLeast === undefined ? undefined : DateTime.addDuration(now, options.closeAtLeast)
    const closeTime = spec.closeTime ??
      (atLeast !== undefined && atLeast.epochMillis >= estimated.epochMillis ? atLeast : estimated)
    if (closeTime.epochMillis <= now.epochMillis) {
      return yield* Either.left(invalid("closeTime", `${DateTime.formatIso(closeTime)} is not in the future`))
    }
    // A timeframe longer than the account allows is cut into windows; the spec's own is checked first (its
    // order, its customer fields), then every window's create, all before anything is sent. A spec whose types
    // were not checked (no DateTime) is the one window, which its check refuses.
    const windows = DateTime.isDateTime(spec.timeframeStart) && DateTime.isDateTime(spec.timeframeEnd)
      ? Backfill.splitTimeframe(spec, maxTimeframeMillisOf(account))
      : [{ timeframeStart: spec.timeframeStart, timeframeEnd: spec.timeframeEnd }]
    const count = windows.length
    const inputs = windows.map((window) => Backfill.createBackfillOf({ ...spec, ...window }, closeTime))
    for (const input of inputs) yield* validateCreate(input, account)
    // One key per window for its create and for any re-send of it, so that Orb can only ever apply it once.
    const idempotencyKey = spec.idempotencyKey ?? IdempotencyKey.forRun()
    const suffixLength = IdempotencyKey.windowSuffix(count - 1, count).length
    if (idempotencyKey.length + suffixLength > IdempotencyKey.maxLength) {
      return yield* Either.left(invalid(
        "idempotencyKey",
        `${count} windows: each window's create key is this key and "-w<window>", so at most ${
          IdempotencyKey.maxLength - suffixLength
        } characters, got ${idempotencyKey.length}`
      ))
    }
    const overlapWaitMillis = Math.max(
      0,
      Math.round(Duration.toMillis(Duration.decode(spec.overlapWait ?? options.defaultOverlapWait)))
    )
    return { closeTime, windows, inputs, idempotencyKey, overlapWaitMillis }
  })
