/**
 * @since 0.1.0
 */

/**
 * The models of Orb's backfill API, as Schemas.
 *
 * @since 0.1.0
 */
export * as Backfill from "./Backfill.js"

/**
 * The backfill operations.
 *
 * @since 0.1.0
 */
export * as Backfills from "./Backfills.js"

/**
 * What Orb holds: events searched by id, and hourly event counts.
 *
 * @since 0.2.0
 */
export * as Events from "./Events.js"

/**
 * Every idempotency key the library and its durable runs send, and how each is made.
 *
 * @since 0.2.0
 */
export * as IdempotencyKey from "./IdempotencyKey.js"

/**
 * One ingest budget per Orb account, shared by every ingestion that has it.
 *
 * @since 0.2.0
 */
export * as IngestBudget from "./IngestBudget.js"

/**
 * The library's metrics, on Effect's `Metric` API: events sent, batches, 429s, retries, run and reflection durations.
 *
 * @since 0.2.0
 */
export * as Metrics from "./Metrics.js"

/**
 * The configured transport to Orb.
 *
 * @since 0.1.0
 */
export * as OrbClient from "./OrbClient.js"

/**
 * The errors of the library.
 *
 * @since 0.1.0
 */
export * as OrbError from "./OrbError.js"

/**
 * The retry policy: which failures are retried, and how long each layer waits before the next attempt.
 *
 * @since 0.2.0
 */
export * as RetryPolicy from "./RetryPolicy.js"

/**
 * Proof of what Orb holds after a backfill: every event found as sent, and the hourly counts.
 *
 * @since 0.2.0
 */
export * as Verify from "./Verify.js"
