/**
 * A backfill's spans and metrics, exported with `@effect/opentelemetry` over the OpenTelemetry SDK: a run against the
 * in-process Orb simulator, its spans printed to the console, and its metrics (`Metrics` of `@effect-orb/backfills`:
 * events sent, batches, 429s, retries, run and reflection durations) printed once at the end. With
 * `OTEL_EXPORTER_OTLP_ENDPOINT` set (for example `http://localhost:4318`, a collector's or Jaeger's OTLP/HTTP port)
 * the spans go there instead. Run it with
 * `npx -y pnpm@10.34.9 example:tracing`.
 */
import { Backfill, Backfills, OrbClient } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import * as Metrics from "@effect/opentelemetry/Metrics"
import * as Resource from "@effect/opentelemetry/Resource"
import * as Tracer from "@effect/opentelemetry/Tracer"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import {
  AggregationTemporality,
  ConsoleMetricExporter,
  PeriodicExportingMetricReader
} from "@opentelemetry/sdk-metrics"
import type { SpanProcessor } from "@opentelemetry/sdk-trace-base"
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor
} from "@opentelemetry/sdk-trace-base"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"

// Console by default; OTLP/HTTP (to `${OTEL_EXPORTER_OTLP_ENDPOINT}/v1/traces`) when the endpoint is set.
const spanProcessor = (): SpanProcessor =>
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT
    ? new BatchSpanProcessor(new OTLPTraceExporter())
    : new SimpleSpanProcessor(new ConsoleSpanExporter())

// The SDK's provider, with the service's resource, shut down (its last spans flushed) when the program ends.
const TracerProvider = Layer.scoped(
  Tracer.OtelTracerProvider,
  Effect.flatMap(Resource.Resource, (resource) =>
    Effect.acquireRelease(
      Effect.sync(() => new BasicTracerProvider({ resource, spanProcessors: [spanProcessor()] })),
      (provider) => Effect.promise(() => provider.shutdown())
    ))
)

// Effect's spans (`Effect.withSpan`, `Effect.fn`) become OpenTelemetry spans of the service named here.
const Tracing = Tracer.layer.pipe(
  Layer.provide(TracerProvider),
  Layer.provide(Resource.layer({ serviceName: "billing-backfill", serviceVersion: "1.0.0" }))
)

// The library's metrics (Effect's `Metric`) to an OpenTelemetry metric reader: here printed to the console when the
// program ends (the reader's shutdown exports them); an OTLP metric exporter would send them to a collector instead.
const MetricsExport = Metrics.layer(() =>
  new PeriodicExportingMetricReader({
    exporter: new ConsoleMetricExporter({ temporalitySelector: () => AggregationTemporality.CUMULATIVE }),
    exportIntervalMillis: 60_000
  })
).pipe(Layer.provide(Resource.layer({ serviceName: "billing-backfill", serviceVersion: "1.0.0" })))

const start = Backfill.unsafeTimestamp("2026-10-01T00:00:00Z")

// A day of API calls for two customers, one a minute each.
const events: Stream.Stream<Backfill.IngestEvent> = Stream.range(0, 2_000 - 1).pipe(
  Stream.map((i) => ({
    eventName: "api_call",
    timestamp: DateTime.add(start, { minutes: Math.floor(i / 2) }),
    properties: { units: 1 + (i % 5) },
    externalCustomerId: i % 2 === 0 ? "acme" : "globex",
    idempotencyKey: `tracing-example-${i}`
  }))
)

const program = Effect.gen(function*() {
  const result = yield* Backfills.run({
    timeframeStart: start,
    timeframeEnd: DateTime.add(start, { days: 1 }),
    replaceExistingEvents: false,
    events,
    expectedEvents: 2_000,
    ingest: { quota: false } // the simulator runs without Orb's quotas
  })
  yield* Effect.log(`backfill ${result.backfill.id}: ${result.backfill.eventsIngested} events reflected`)
}).pipe(Effect.withSpan("billing.backfillOctober")) // a span of your own, the library's beneath it

const OrbInProcess = Backfills.layer.pipe(
  Layer.provide(OrbClient.layer({ apiKey: Redacted.make("sk-example") })),
  Layer.provide(OrbSimulator.layer({ apiKey: "sk-example", reflectionDelay: "1 second" }))
)

Effect.runPromise(program.pipe(Effect.provide(Layer.mergeAll(OrbInProcess, Tracing, MetricsExport)))).catch((error) => {
  console.error(String(error))
  process.exitCode = 1
})
