/**
 * An account's ingest budget over `@effect/experimental`'s `RateLimiter`: two token buckets per account, one of
 * requests and one of events, each taken with `onExceeded: "delay"` (a take may overdraw the bucket; its delay is
 * the time the bucket takes to be back at zero). A bucket holds one request's worth (a request, or the most events
 * one request carries): a budget left idle lets one request leave at once, never a burst that Orb's window would
 * refuse, and a busy one spaces requests at the quota's pace, as GCRA does.
 */
import { Backfill, IngestBudget } from "@effect-orb/backfills"
import * as RateLimiter from "@effect/experimental/RateLimiter"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as RunOrb from "./runOrb.js"

/** Takes `tokens` (more than a bucket holds: in parts, the last part's delay then being the whole's). */
const take = (
  limiter: RateLimiter.RateLimiter,
  key: string,
  capacity: number,
  millisPerToken: number,
  tokens: number
): Effect.Effect<Duration.Duration, RateLimiter.RateLimiterError> =>
  Effect.gen(function*() {
    let delay = Duration.zero
    for (let left = Math.max(1, Math.ceil(tokens)); left > 0; left -= capacity) {
      const result = yield* limiter.consume({
        algorithm: "token-bucket",
        onExceeded: "delay",
        key,
        limit: capacity,
        window: Duration.millis(capacity * millisPerToken),
        tokens: Math.min(left, capacity)
      })
      delay = result.delay
    }
    return delay
  })

export const make = (account: string): Effect.Effect<IngestBudget.IngestBudget, never, RateLimiter.RateLimiterStore> =>
  Effect.map(RateLimiter.make, (limiter) => {
    let warned = false
    return IngestBudget.IngestBudget.of({
      reserve: ({ events, quota, requests }) =>
        Effect.zipWith(
          take(limiter, `${account}/ingest-requests`, 1, 1000 / quota.requestsPerSecond, requests),
          take(
            limiter,
            `${account}/ingest-events`,
            Backfill.maxEventsPerRequest,
            60_000 / quota.eventsPerMinute,
            events
          ),
          Duration.max
        ).pipe(
          // The ingestion's own pace holds meanwhile: the budget is no reason to stop sending.
          Effect.catchAll((error) =>
            Effect.as(
              warned ? Effect.void : Effect.sync(() => warned = true).pipe(
                Effect.zipRight(Effect.logWarning(
                  `The shared ingest budget cannot be reached (${error.message}): each run paces alone at the whole ` +
                    "quota until it can"
                ))
              ),
              Duration.zero
            )
          )
        )
    })
  })

export const layer = Layer.effect(
  IngestBudget.IngestBudget,
  Effect.flatMap(RunOrb.OrbConnection, (connection) => make(RunOrb.account(connection)))
)
