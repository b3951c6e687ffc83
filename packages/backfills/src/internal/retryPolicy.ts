/**
 * The retry policy, all of it in one place: which failures are worth another attempt, and how long to wait before
 * each, for every layer that waits (docs/errors-and-retries.md, "How the retries compose", says how they nest).
 *
 * - the rule: a response is retried by its status and `x-should-retry` ({@link retryableResponse}); a 409 that
 *   persists for one key is final ({@link settleConflict}); `OrbError.isTransient` reads the verdict;
 * - the transport (`OrbClient`): {@link transport}, a wait the server asks for winning;
 * - an ingest batch's own retries (`ingestStream`): {@link batchBackoff}, up to {@link defaultBatchAttempts};
 * - the polls of `awaitStatus`: {@link awaitPoll}; of a blocking backfill (the overlap wait) and of a durable
 *   run's reflection: {@link pollWait};
 * - a lost create's search (`run`): {@link createSearch};
 * - a durable run's activities through an outage: {@link outages}; its reverts: {@link revertWait}.
 *
 * `OrbClient`, `Backfills` and the public `RetryPolicy` module read them from here; the workflow package reads
 * them through `RetryPolicy`.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as OrbError from "../OrbError.js"
import { retryableStatus } from "./problem.js"

export {
  /**
   * Statuses that may pass by themselves (declared with the error classes' table, in `problem.ts`).
   */
  retryableStatus
} from "./problem.js"

/** The transport's retries by default: three attempts in all. */
export const defaultMaxRetries = 2

/** The longest wait the transport grants a server that asks for one (`retry-after-ms`, `Retry-After`). */
export const defaultMaxRetryAfter: Duration.Duration = Duration.seconds(60)

/**
 * The transport's schedule: exponential from 0.5 s, doubling, capped at 8 s, each wait scaled by a random factor
 * in [0.75, 1] (as the official SDK does), at most `maxRetries` times.
 */
export const transport = (maxRetries: number): Schedule.Schedule<unknown, unknown> =>
  Schedule.exponential(Duration.millis(500), 2).pipe(
    Schedule.modifyDelay((_, delay) => Duration.min(delay, Duration.seconds(8))),
    Schedule.jitteredWith({ min: 0.75, max: 1 }),
    Schedule.intersect(Schedule.recurs(maxRetries))
  )

/** An ingest request's attempts by default, through transient failures (its own retries, not the transport's). */
export const defaultBatchAttempts = 10

/**
 * The wait before a batch's attempt `attempt + 1` (from 1) when the server asked for none: 0.5 s doubling to 30 s,
 * jittered down by up to a quarter.
 */
export const batchBackoff = (attempt: number): Effect.Effect<Duration.Duration> =>
  Effect.map(
    Random.nextRange(0.75, 1),
    (factor) => Duration.millis(Math.min(500 * 2 ** (attempt - 1), 30_000) * factor)
  )

/** `awaitStatus`'s polls by default: 1 s doubling to 30 s, jittered (for at most its `timeout`, an hour). */
export const awaitPoll: Schedule.Schedule<unknown> = Schedule.exponential(Duration.seconds(1), 2).pipe(
  Schedule.modifyDelay((_, delay) => Duration.min(delay, Duration.seconds(30))),
  Schedule.jittered
)

/**
 * The wait after poll `poll` (from 0) of a backfill that blocks a create, or that a durable run awaits: 1 s doubling
 * to 30 s. A backfill is reflected some time after its close, so the first polls are quick and the later ones spaced.
 */
export const pollWait = (poll: number): Duration.Duration => Duration.seconds(Math.min(2 ** poll, 30))

/** Searches for a lost create's backfill after the first: a create held up on the way can reach Orb late. */
export const createSearchRetries = 3

/** The search for a lost create's backfill: 2 s doubling, {@link createSearchRetries} times after the first. */
export const createSearch: Schedule.Schedule<unknown> = Schedule.exponential("2 seconds", 2).pipe(
  Schedule.intersect(Schedule.recurs(createSearchRetries))
)

/**
 * A durable run's activity through an outage (within one attempt of the activity): the keys make every request
 * safe to send again, and a durable run that gave up on a blip would revert hours of work. Up to about half an
 * hour, 1 s doubling to 1 min.
 */
export const outages: Schedule.Schedule<unknown> = Schedule.exponential("1 second", 2).pipe(
  Schedule.modifyDelay((_, delay) => Duration.min(delay, Duration.minutes(1))),
  Schedule.intersect(Schedule.recurs(35))
)

/** A durable run's revert attempts in all, the last ones {@link revertWait} 30 minutes apart: about a day. */
export const revertAttempts = 50

/** The durable sleep after a durable run's revert attempt `attempt` (from 0) left it unsettled: 5 s doubling to 30 min. */
export const revertWait = (attempt: number): Duration.Duration => Duration.seconds(Math.min(5 * 2 ** attempt, 1_800))

/**
 * Whether a response with this status and `x-should-retry` header is worth another attempt: the header decides
 * when it says `true` or `false`, else the status.
 */
export const retryableResponse = (status: number, shouldRetry: string | undefined): boolean =>
  shouldRetry === "true" || (shouldRetry !== "false" && retryableStatus(status))

/**
 * 409s in a row for one idempotency key after which the conflict is final. Orb answers 409 to a concurrent
 * duplicate (which passes once the first request ends: a retry after a timeout, say) and to a key reused for
 * another request (which never passes within the key's 48 hours). A few attempts, with the backoff between
 * them, tell one from the other without minutes of silent retries.
 */
export const maxConflictsInARow = 4

/**
 * The error of an attempt, given how many attempts in a row with the same key were answered 409 (this one
 * included): at the limit, a 409 becomes a final `ResourceConflict` that names the key and says why.
 */
export const settleConflict = (error: OrbError.OrbError, conflictsInARow: number): OrbError.OrbError =>
  error._tag === "ResourceConflict" && conflictsInARow >= maxConflictsInARow && error.retryable !== false
    ? new OrbError.ResourceConflict({
      status: error.status,
      type: error.type,
      title: error.title,
      detail: error.detail,
      method: error.method,
      path: error.path,
      idempotencyKey: error.idempotencyKey,
      retryable: false,
      conflictsInARow
    })
    : error
