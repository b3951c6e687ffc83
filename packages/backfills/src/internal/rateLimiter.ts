/**
 * A client-side pace for Orb's ingest quotas: requests per second and events per minute.
 *
 * Each acquisition reserves its share of both budgets after the previous reservation (a virtual schedule, as
 * in GCRA), so requests leave evenly spaced rather than in bursts that a rolling window would refuse. When the
 * server answers 429 anyway (another client shares the quota, or the configured limits are too high), every
 * request holds back for as long as the server asked and the pace halves, once for all the 429s of one burst;
 * each success then brings back a twentieth of the full pace (additive increase, multiplicative decrease, as
 * TCP does), so a long run neither stalls nor storms.
 *
 * With an account's budget (`IngestBudget`), a request that its own pace lets go then takes its share of the
 * budget, and waits as long as the budget says: the runs sharing the account stay within its quota together. The
 * request's own pace still holds (at the whole quota, it never waits longer than the budget would), so a budget
 * that cannot be reached leaves the run paced as it was without one. A slowed pace takes more of the budget per
 * request, which slows every holder: a 429 says the account is over, whoever met it.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type * as IngestBudget from "../IngestBudget.js"

export interface Quota {
  readonly requestsPerSecond: number
  readonly eventsPerMinute: number
}

/** Kept in the .d.ts (not marked internal): `Backfills.IngestPace`'s declaration names it. */
export interface RateLimiter {
  /** Waits until a request of `events` events may leave, and reserves its budget. */
  readonly acquire: (events: number) => Effect.Effect<void>
  /** The server said 429 (asking for `retryAfterMillis`, if it said): hold back, and slow down. */
  readonly slowDown: (retryAfterMillis: number | undefined) => Effect.Effect<void>
  /** A request went through: recover some pace. */
  readonly recover: Effect.Effect<void>
  /** The current share of the configured pace, in (0, 1]. */
  readonly pace: Effect.Effect<number>
}

interface State {
  /** When the next request may leave, by the requests budget (ms since epoch). */
  readonly nextRequestAt: number
  /** When the events budget is free again (ms since epoch). */
  readonly eventsFreeAt: number
  /** No request leaves before this, after a 429; 429s before it belong to the same burst. */
  readonly pausedUntil: number
  readonly pace: number
}

const minPace = 1 / 32
const recoveryStep = 1 / 20
/** A 429 without a `Retry-After` holds requests back this long. */
const minPause = 1_000

/**
 * The share of a quota used by default: spacing at exactly the quota would put a request on the boundary of
 * the server's window, where clock skew makes it a 429.
 */
export const safetyMargin = 0.99

export const make = (quota: Quota, budget?: IngestBudget.IngestBudget | undefined): Effect.Effect<RateLimiter> =>
  Effect.map(Ref.make<State>({ nextRequestAt: 0, eventsFreeAt: 0, pausedUntil: 0, pace: 1 }), (state) => {
    const requestInterval = 1000 / (quota.requestsPerSecond * safetyMargin)
    const eventInterval = 60_000 / (quota.eventsPerMinute * safetyMargin)
    const acquire = (events: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Ref.modify(state, (s): [number, State] => {
          const start = Math.max(now, s.nextRequestAt, s.eventsFreeAt, s.pausedUntil)
          return [start - now, {
            ...s,
            nextRequestAt: start + requestInterval / s.pace,
            eventsFreeAt: start + (events * eventInterval) / s.pace
          }]
        })).pipe(Effect.flatMap((wait) => wait > 0 ? Effect.sleep(wait) : Effect.void))
    // The budget keeps the same margin below the quota as this pace does.
    const budgetQuota = {
      requestsPerSecond: quota.requestsPerSecond * safetyMargin,
      eventsPerMinute: quota.eventsPerMinute * safetyMargin
    }
    const fromBudget = budget === undefined ?
      undefined :
      (events: number) =>
        Effect.flatMap(Ref.get(state), (s) =>
          budget.reserve({
            quota: budgetQuota,
            requests: Math.ceil(1 / s.pace),
            events: Math.ceil(events / s.pace)
          })).pipe(
            Effect.flatMap((wait) => Duration.isZero(wait) ? Effect.void : Effect.sleep(wait))
          )
    return {
      acquire: fromBudget === undefined ? acquire : (events) => Effect.zipRight(acquire(events), fromBudget(events)),
      slowDown: (retryAfterMillis) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Ref.update(state, (s) => ({
            ...s,
            pace: now >= s.pausedUntil ? Math.max(minPace, s.pace / 2) : s.pace,
            pausedUntil: Math.max(s.pausedUntil, now + Math.max(minPause, retryAfterMillis ?? 0))
          }))),
      recover: Ref.update(state, (s) => s.pace >= 1 ? s : { ...s, pace: Math.min(1, s.pace + recoveryStep) }),
      pace: Ref.get(state).pipe(Effect.map((s) => s.pace))
    }
  })

/**
 * Where a shared pace (`Backfills.IngestPace`) keeps its limiter. Kept in the .d.ts (not marked internal):
 * `Backfills.IngestPace`'s declaration names it.
 */
export const PaceTypeId: unique symbol = Symbol.for("@effect-orb/backfills/Backfills/IngestPace")

/** A limiter that never waits. */
export const unlimited: RateLimiter = {
  acquire: () => Effect.void,
  slowDown: () => Effect.void,
  recover: Effect.void,
  pace: Effect.succeed(1)
}
