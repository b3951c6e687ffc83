/**
 * The retry policy of the library and of its durable runs, in one place: which failures are worth another attempt
 * (`OrbError.isTransient` reads the verdict), and how long each layer waits before the next (docs/errors-and-retries.md,
 * "How the retries compose", says how they nest: how many retries a 429 gets, and how far apart).
 *
 * @since 0.2.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Schedule from "effect/Schedule"
import * as internal from "./internal/retryPolicy.js"

/**
 * Whether a response with this status and `x-should-retry` header is worth another attempt: the header decides when
 * it says `true` or `false`, else the status (408, 409, 429, 5xx).
 *
 * @since 0.2.0
 * @category rules
 */
export const retryableResponse: (status: number, shouldRetry: string | undefined) => boolean =
  internal.retryableResponse

/**
 * 409s in a row for one idempotency key after which the conflict is final (`ResourceConflict` with
 * `conflictsInARow`): a concurrent duplicate passes within a few attempts, a key reused for another request never.
 *
 * @since 0.2.0
 * @category rules
 */
export const maxConflictsInARow: number = internal.maxConflictsInARow

/**
 * `OrbClient`'s retries by default (`maxRetries`): three attempts in all.
 *
 * @since 0.2.0
 * @category transport
 */
export const defaultMaxRetries: number = internal.defaultMaxRetries

/**
 * The longest wait `OrbClient` grants a server that asks for one (`retry-after-ms`, `Retry-After`) by default
 * (`maxRetryAfter`).
 *
 * @since 0.2.0
 * @category transport
 */
export const defaultMaxRetryAfter: Duration.Duration = internal.defaultMaxRetryAfter

/**
 * `OrbClient`'s schedule (`OrbClient.defaultRetrySchedule`): exponential from 0.5 s, doubling, capped at 8 s, each
 * wait scaled by a random factor in [0.75, 1], at most `maxRetries` times. A wait the server asks for wins.
 *
 * @since 0.2.0
 * @category transport
 */
export const transport: (maxRetries: number) => Schedule.Schedule<unknown, unknown> = internal.transport

/**
 * An ingest request's attempts by default (`maxAttempts`), through transient failures: the ingestion retries its
 * batches itself, with the transport's retries off, so that it keeps its pace through 429s.
 *
 * @since 0.2.0
 * @category ingestion
 */
export const defaultBatchAttempts: number = internal.defaultBatchAttempts

/**
 * The wait before a batch's next attempt (after attempt `attempt`, from 1) when the server asked for none: 0.5 s
 * doubling to 30 s, jittered down by up to a quarter.
 *
 * @since 0.2.0
 * @category ingestion
 */
export const batchBackoff: (attempt: number) => Effect.Effect<Duration.Duration> = internal.batchBackoff

/**
 * `Backfills.awaitStatus`'s polls by default (`Backfills.defaultAwaitSchedule`): 1 s doubling to 30 s, jittered.
 *
 * @since 0.2.0
 * @category polls
 */
export const awaitPoll: Schedule.Schedule<unknown> = internal.awaitPoll

/**
 * The wait after poll `poll` (from 0) of a backfill that blocks a create (the overlap wait), or that a durable run
 * awaits: 1 s doubling to 30 s, without jitter (a durable run journals it).
 *
 * @since 0.2.0
 * @category polls
 */
export const pollWait: (poll: number) => Duration.Duration = internal.pollWait

/**
 * The search for the backfill of a create whose outcome is unknown (`Backfills.run`): 2 s doubling, 3 times after
 * the first.
 *
 * @since 0.2.0
 * @category runs
 */
export const createSearch: Schedule.Schedule<unknown> = internal.createSearch

/**
 * A durable run's activity through an outage, within one attempt of the activity: 1 s doubling to 1 min, 35 times
 * (about half an hour).
 *
 * @since 0.2.0
 * @category runs
 */
export const outages: Schedule.Schedule<unknown> = internal.outages

/**
 * The durable sleep after a durable run's revert attempt `attempt` (from 0) left the backfill unsettled: 5 s
 * doubling to 30 min.
 *
 * @since 0.2.0
 * @category runs
 */
export const revertWait: (attempt: number) => Duration.Duration = internal.revertWait

/**
 * A durable run's revert attempts in all before it says it could not revert, the last ones 30 minutes apart: about
 * a day.
 *
 * @since 0.2.0
 * @category runs
 */
export const revertAttempts: number = internal.revertAttempts
