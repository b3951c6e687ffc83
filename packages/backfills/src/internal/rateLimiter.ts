/**
 * A client-side pace for Orb's ingest quotas: requests per second and events per minute.
 *
 * Each acquisition reserves its share of both budgets after the previous reservation (a virtual schedule, as
 * in GCRA), so requests leave evenly spaced rather than in bursts that a rolling window would refuse. When the
 * server answers 429 anyway (another client shares the quota, or the configured limits are too high), the pace
 * halves; each success then brings it back by a few percent, so a long run neither stalls nor storms.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"

/** @internal */
export interface Quota {
  readonly requestsPerSecond: number
  readonly eventsPerMinute: number
}

/** @internal */
export interface RateLimiter {
  /** Waits until a request of `events` events may leave, and reserves its budget. */
  readonly acquire: (events: number) => Effect.Effect<void>
  /** The server said 429: slow down. */
  readonly slowDown: Effect.Effect<void>
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
  readonly pace: number
}

const minPace = 1 / 32
const recoveryFactor = 1.05

/**
 * The share of a quota used by default: spacing at exactly the quota would put a request on the boundary of
 * the server's window, where clock skew makes it a 429.
 *
 * @internal
 */
export const safetyMargin = 0.99

/** @internal */
export const make = (quota: Quota): Effect.Effect<RateLimiter> =>
  Effect.map(Ref.make<State>({ nextRequestAt: 0, eventsFreeAt: 0, pace: 1 }), (state) => {
    const requestInterval = 1000 / (quota.requestsPerSecond * safetyMargin)
    const eventInterval = 60_000 / (quota.eventsPerMinute * safetyMargin)
    const acquire = (events: number) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Ref.modify(state, (s): [number, State] => {
          const start = Math.max(now, s.nextRequestAt, s.eventsFreeAt)
          return [start - now, {
            pace: s.pace,
            nextRequestAt: start + requestInterval / s.pace,
            eventsFreeAt: start + (events * eventInterval) / s.pace
          }]
        })).pipe(Effect.flatMap((wait) => wait > 0 ? Effect.sleep(wait) : Effect.void))
    return {
      acquire,
      slowDown: Ref.update(state, (s) => ({ ...s, pace: Math.max(minPace, s.pace / 2) })),
      recover: Ref.update(state, (s) => s.pace >= 1 ? s : { ...s, pace: Math.min(1, s.pace * recoveryFactor) }),
      pace: Ref.get(state).pipe(Effect.map((s) => s.pace))
    }
  })

/** A limiter that never waits. @internal */
export const unlimited: RateLimiter = {
  acquire: () => Effect.void,
  slowDown: Effect.void,
  recover: Effect.void,
  pace: Effect.succeed(1)
}
