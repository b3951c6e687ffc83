/**
 * The library's metrics, on Effect's `Metric`: any exporter of the application's (`@effect/opentelemetry`'s
 * `Metrics.layer`, Prometheus) gets them. Named after OpenTelemetry's semantic conventions (dotted, the unit out of
 * the name); the `unit` tag is the unit `@effect/opentelemetry` exports them with.
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import type * as MetricKeyType from "effect/MetricKeyType"
import type * as MetricState from "effect/MetricState"

type Histogram = Metric.Metric<MetricKeyType.MetricKeyType.Histogram, number, MetricState.MetricState.Histogram>

const counter = (name: string, unit: string, description: string): Metric.Metric.Counter<number> =>
  Metric.counter(name, { description, incremental: true }).pipe(Metric.tagged("unit", unit))

export const eventsSent = counter(
  "orb.backfill.events.sent",
  "{event}",
  "Events Orb accepted into backfills, each counted once whatever the retries"
)

export const eventsFailed = counter(
  "orb.backfill.events.failed",
  "{event}",
  "Events set aside as invalid, refused locally or by Orb"
)

export const batches = counter("orb.backfill.batches", "{batch}", "Ingest requests Orb accepted")

export const rateLimited = counter(
  "orb.backfill.ingest.rate_limited",
  "{response}",
  "Ingest requests Orb answered 429 (Too Many Requests)"
)

export const retries = counter(
  "orb.backfill.ingest.retries",
  "{request}",
  "Ingest requests sent again after a transient failure; http.response.status_code when Orb answered"
)

// Seconds: from a tenth of a second to about 9 hours (a backfill of millions of events at the live quota).
const seconds = MetricBoundaries.exponential({ start: 0.1, factor: 2, count: 19 })

export const runDuration: Histogram = Metric.histogram(
  "orb.backfill.run.duration",
  seconds,
  "A whole run (Backfills.run), from the checks to the end; orb.backfill.mode and orb.backfill.outcome"
).pipe(Metric.tagged("unit", "s"))

export const reflectionDuration: Histogram = Metric.histogram(
  "orb.backfill.reflection.duration",
  seconds,
  "From a backfill's close to Orb's reflection of it"
).pipe(Metric.tagged("unit", "s"))

/** The status Orb answered a failed request with, if it answered. */
export const statusOf = (error: unknown): number | undefined => {
  const status = (error as { readonly status?: unknown } | null)?.status
  return typeof status === "number" ? status : undefined
}
