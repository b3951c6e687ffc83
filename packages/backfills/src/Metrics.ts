/**
 * The library's metrics, on Effect's `Metric` API: recorded by every ingestion and run (in-memory, or a durable run's
 * segments) and read by whichever exporter the application provides (`@effect/opentelemetry`'s `Metrics.layer` with
 * an OpenTelemetry metric reader, for one). Their names follow OpenTelemetry's semantic conventions, and each carries
 * a `unit` tag, the unit `@effect/opentelemetry` exports it with.
 *
 * @since 0.2.0
 */
import type * as Metric from "effect/Metric"
import type * as MetricKeyType from "effect/MetricKeyType"
import type * as MetricState from "effect/MetricState"
import * as internal from "./internal/metrics.js"

/**
 * @since 0.2.0
 * @category models
 */
export type Counter = Metric.Metric.Counter<number>

/**
 * @since 0.2.0
 * @category models
 */
export type Histogram = Metric.Metric<MetricKeyType.MetricKeyType.Histogram, number, MetricState.MetricState.Histogram>

/**
 * `orb.backfill.events.sent` (`{event}`): events Orb accepted into backfills, each counted once whatever the retries.
 *
 * @since 0.2.0
 * @category metrics
 */
export const eventsSent: Counter = internal.eventsSent

/**
 * `orb.backfill.events.failed` (`{event}`): events set aside as invalid (refused locally or by Orb).
 *
 * @since 0.2.0
 * @category metrics
 */
export const eventsFailed: Counter = internal.eventsFailed

/**
 * `orb.backfill.batches` (`{batch}`): ingest requests Orb accepted.
 *
 * @since 0.2.0
 * @category metrics
 */
export const batches: Counter = internal.batches

/**
 * `orb.backfill.ingest.rate_limited` (`{response}`): ingest requests Orb answered 429.
 *
 * @since 0.2.0
 * @category metrics
 */
export const rateLimited: Counter = internal.rateLimited

/**
 * `orb.backfill.ingest.retries` (`{request}`): ingest requests sent again after a transient failure, with the
 * attribute `http.response.status_code` when Orb answered (429, 503, ...), none when it did not.
 *
 * @since 0.2.0
 * @category metrics
 */
export const retries: Counter = internal.retries

/**
 * `orb.backfill.run.duration` (`s`): a whole `Backfills.run`, with the attributes `orb.backfill.mode` (`replace`,
 * `add`) and `orb.backfill.outcome` (`reflected`, `closed`, `failed`, `interrupted`).
 *
 * @since 0.2.0
 * @category metrics
 */
export const runDuration: Histogram = internal.runDuration

/**
 * `orb.backfill.reflection.duration` (`s`): from a backfill's close to Orb's reflection of it, in `Backfills.run`.
 *
 * @since 0.2.0
 * @category metrics
 */
export const reflectionDuration: Histogram = internal.reflectionDuration
