/**
 * The spans a run gives an OpenTelemetry exporter through `@effect/opentelemetry`, as docs/getting-started.md
 * shows them: their names, nesting and `backfill.*` attributes, and never the API key.
 */
import { Backfills, OrbClient } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import * as Metrics from "@effect/opentelemetry/Metrics"
import * as Resource from "@effect/opentelemetry/Resource"
import * as Tracer from "@effect/opentelemetry/Tracer"
import { assert, describe, it } from "@effect/vitest"
import type { DataPoint, Histogram, MetricData } from "@opentelemetry/sdk-metrics"
import { MetricReader } from "@opentelemetry/sdk-metrics"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { driveClock, sampleEvent, setNow, timeframe } from "./simulator.js"

const apiKey = "sk-tracing-test-secret-7f3a9c"

/** Effect's tracer over an SDK provider that keeps every ended span in `exporter`. */
const tracing = (exporter: InMemorySpanExporter) =>
  Tracer.layer.pipe(
    Layer.provide(Layer.effect(
      Tracer.OtelTracerProvider,
      Effect.map(Resource.Resource, (resource) =>
        new BasicTracerProvider({ resource, spanProcessors: [new SimpleSpanProcessor(exporter)] }))
    )),
    Layer.provide(Resource.layer({ serviceName: "tracing-test" }))
  )

const orb = (options: { readonly clientKey?: string; readonly httpSpans?: boolean } = {}) =>
  Backfills.layer.pipe(
    Layer.provideMerge(OrbClient.layer({
      apiKey: Redacted.make(options.clientKey ?? apiKey),
      baseUrl: "http://127.0.0.1/v1",
      httpSpans: options.httpSpans ?? false,
      maxRetries: 0
    })),
    Layer.provideMerge(OrbSimulator.layer({ apiKey, reflectionDelay: "30 seconds" })),
    Layer.orDie
  )

const run = Backfills.run({
  ...timeframe,
  replaceExistingEvents: false,
  events: Stream.range(0, 1_199).pipe(Stream.map((i) => sampleEvent(i))),
  ingest: { quota: false }
})

/** Everything an exporter sends of a span, as text. */
const exported = (span: ReadableSpan): string =>
  JSON.stringify({
    name: span.name,
    attributes: span.attributes,
    events: span.events,
    status: span.status,
    links: span.links,
    resource: span.resource.attributes
  })

const named = (spans: ReadonlyArray<ReadableSpan>, name: string): ReadableSpan => {
  const found = spans.filter((span) => span.name === name)
  assert.strictEqual(found.length, 1, `one ${name} span`)
  return found[0]
}

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId

/** A metric reader the test collects from at will. */
class Reader extends MetricReader {
  protected override onForceFlush() {
    return Promise.resolve()
  }
  protected override onShutdown() {
    return Promise.resolve()
  }
}

// One reader per test: a reader binds to one provider.
const runReader = new Reader()
const faultReader = new Reader()

/** Effect's metrics (every one in the process) to the reader, with the service's resource. */
const metrics = (reader: Reader) =>
  Metrics.layer(() => reader).pipe(Layer.provide(Resource.layer({ serviceName: "tracing-test" })))

const collect = (reader: Reader) =>
  Effect.promise(() => reader.collect()).pipe(
    Effect.map(({ resourceMetrics }) => resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics))
  )

const metric = (metrics: ReadonlyArray<MetricData>, name: string) => metrics.find((m) => m.descriptor.name === name)

const matching = (point: DataPoint<unknown>, attributes: Record<string, string> = {}) =>
  Object.entries(attributes).every(([key, value]) => point.attributes[key] === value)

/** A counter's total over the data points with these attributes (0 before it was ever updated). */
const sumOf = (metrics: ReadonlyArray<MetricData>, name: string, attributes?: Record<string, string>) =>
  (metric(metrics, name)?.dataPoints ?? []).filter((point) => matching(point, attributes)).reduce(
    (sum, point) => sum + (point.value as number),
    0
  )

/** A histogram's count of records over the data points with these attributes. */
const countOf = (metrics: ReadonlyArray<MetricData>, name: string, attributes?: Record<string, string>) =>
  (metric(metrics, name)?.dataPoints ?? []).filter((point) => matching(point, attributes)).reduce(
    (sum, point) => sum + (point.value as Histogram).count,
    0
  )

describe("Tracing with @effect/opentelemetry", () => {
  it.effect("a run's spans: Backfills.run over create, ingestStream, close and awaitStatus, with backfill.id", () =>
    Effect.gen(function*() {
      const exporter = new InMemorySpanExporter()
      yield* setNow
      const result = yield* driveClock(run).pipe(
        Effect.withSpan("billing.backfill"),
        Effect.provide(Layer.merge(orb(), tracing(exporter)))
      )
      const id = result.backfill.id
      const spans = exporter.getFinishedSpans()
      const names = new Set(spans.map((span) => span.name))
      for (
        const name of [
          "billing.backfill",
          "Backfills.run",
          "Backfills.create",
          "Backfills.ingestStream",
          "Backfills.close",
          "Backfills.awaitStatus",
          "Backfills.fetch"
        ]
      ) assert.isTrue(names.has(name), `a ${name} span`)

      const root = named(spans, "billing.backfill")
      const runSpan = named(spans, "Backfills.run")
      assert.strictEqual(parentOf(runSpan), root.spanContext().spanId, "Backfills.run is a child of the caller's span")
      assert.strictEqual(runSpan.attributes["backfill.id"], id)
      assert.strictEqual(runSpan.resource.attributes["service.name"], "tracing-test")

      for (const name of ["Backfills.create", "Backfills.ingestStream", "Backfills.close", "Backfills.awaitStatus"]) {
        assert.strictEqual(parentOf(named(spans, name)), runSpan.spanContext().spanId, `${name} is under Backfills.run`)
      }
      assert.strictEqual(named(spans, "Backfills.create").attributes["backfill.id"], id)
      assert.strictEqual(named(spans, "Backfills.ingestStream").attributes["backfill.ids"], id)
      assert.strictEqual(named(spans, "Backfills.close").attributes["backfill.id"], id)
      assert.deepStrictEqual(named(spans, "Backfills.awaitStatus").attributes, {
        "backfill.id": id,
        "backfill.target": "reflected"
      })
      for (const span of spans.filter((span) => span.name === "Backfills.fetch")) {
        assert.strictEqual(span.attributes["backfill.id"], id)
      }
      // One trace, every span ended successfully.
      assert.strictEqual(new Set(spans.map((span) => span.spanContext().traceId)).size, 1)
      for (const span of spans) assert.strictEqual(span.status.code, 1, `${span.name} ends OK`)
      // No HTTP spans by default.
      assert.isFalse(spans.some((span) => span.name.startsWith("http.client")))
      for (const span of spans) assert.notInclude(exported(span), apiKey, `${span.name} holds no API key`)
    }))

  it.effect("with httpSpans: an http.client span per request under the operation's, its authorization redacted", () =>
    Effect.gen(function*() {
      const exporter = new InMemorySpanExporter()
      yield* setNow
      yield* driveClock(run).pipe(Effect.provide(Layer.merge(orb({ httpSpans: true }), tracing(exporter))))
      const spans = exporter.getFinishedSpans()
      const http = spans.filter((span) => span.name.startsWith("http.client"))
      assert.isTrue(http.some((span) => span.name === "http.client POST"), "POST spans")
      assert.isTrue(http.some((span) => span.name === "http.client GET"), "GET spans")
      const create = named(spans, "Backfills.create")
      const createRequest = http.find((span) => parentOf(span) === create.spanContext().spanId)
      assert.isDefined(createRequest, "Backfills.create's request is its child")
      assert.strictEqual(createRequest!.attributes["http.request.method"], "POST")
      assert.strictEqual(createRequest!.attributes["url.path"], "/v1/events/backfills")
      assert.strictEqual(createRequest!.attributes["http.response.status_code"], 200)
      assert.strictEqual(createRequest!.attributes["http.request.header.authorization"], "<redacted>")
      for (const span of spans) assert.notInclude(exported(span), apiKey, `${span.name} holds no API key`)
    }))

  it.effect("a refused key: the failure is on the spans, the key is not", () =>
    Effect.gen(function*() {
      const exporter = new InMemorySpanExporter()
      const wrongKey = "sk-tracing-test-wrong-key-41d2"
      yield* setNow
      const exit = yield* driveClock(run).pipe(
        Effect.exit,
        Effect.provide(Layer.merge(orb({ clientKey: wrongKey, httpSpans: true }), tracing(exporter)))
      )
      assert.isTrue(Exit.isFailure(exit))
      const spans = exporter.getFinishedSpans()
      const runSpan = named(spans, "Backfills.run")
      assert.strictEqual(runSpan.status.code, 2, "Backfills.run ends in error")
      assert.isTrue(runSpan.events.some((event) => event.name === "exception"), "the failure recorded as an exception")
      for (const span of spans) {
        assert.notInclude(exported(span), wrongKey, `${span.name} holds no API key`)
        assert.notInclude(exported(span), apiKey, `${span.name} holds no API key`)
      }
    }))

  it.effect("a run's metrics through a metric reader: events sent, batches, run and reflection durations", () =>
    Effect.gen(function*() {
      yield* setNow
      const before = yield* collect(runReader)
      const result = yield* driveClock(run).pipe(Effect.provide(orb()))
      const after = yield* collect(runReader)
      const delta = (name: string, attributes?: Record<string, string>) =>
        sumOf(after, name, attributes) - sumOf(before, name, attributes)
      assert.strictEqual(delta("orb.backfill.events.sent"), 1_200)
      assert.strictEqual(delta("orb.backfill.events.sent"), result.ingestion.accepted)
      assert.strictEqual(delta("orb.backfill.batches"), 3)
      assert.strictEqual(delta("orb.backfill.ingest.rate_limited"), 0)
      assert.strictEqual(delta("orb.backfill.events.failed"), 0)
      const runs = { "orb.backfill.mode": "add", "orb.backfill.outcome": "reflected" }
      assert.strictEqual(
        countOf(after, "orb.backfill.run.duration", runs) - countOf(before, "orb.backfill.run.duration", runs),
        1
      )
      assert.strictEqual(
        countOf(after, "orb.backfill.reflection.duration") - countOf(before, "orb.backfill.reflection.duration"),
        1
      )
      // Orb reflects 30 s after the close: the simulated clock's seconds.
      const reflection = metric(after, "orb.backfill.reflection.duration")!
      assert.strictEqual(reflection.descriptor.unit, "s")
      assert.strictEqual(metric(after, "orb.backfill.events.sent")!.descriptor.unit, "{event}")
      assert.isAtLeast((reflection.dataPoints[0] as DataPoint<Histogram>).value.sum ?? 0, 30)
    }).pipe(Effect.provide(metrics(runReader))))

  it.effect("429s and retries counted as the simulator answers them, with the status", () =>
    Effect.gen(function*() {
      yield* setNow
      const simulator = yield* OrbSimulator.OrbSimulator
      const before = yield* collect(faultReader)
      // A third of the ingest requests answered 429 while the events are read; none for the create and the close.
      const events = Stream.execute(simulator.setFaults({ rate: 0.3, kinds: ["too-many-requests"], timing: "before" }))
        .pipe(
          Stream.concat(Stream.range(0, 2_999).pipe(Stream.map((i) => sampleEvent(i)))),
          Stream.concat(Stream.execute(simulator.setFaults(undefined)))
        )
      const result = yield* driveClock(Backfills.run({
        ...timeframe,
        replaceExistingEvents: true,
        events,
        ingest: { quota: false, batchSize: 100 }
      }))
      const after = yield* collect(faultReader)
      const answered = (yield* simulator.requests).filter((r) => r.url.startsWith("/v1/ingest") && r.status === 429)
      assert.isAbove(answered.length, 0, "the simulator answered 429s")
      const delta = (name: string, attributes?: Record<string, string>) =>
        sumOf(after, name, attributes) - sumOf(before, name, attributes)
      assert.strictEqual(delta("orb.backfill.ingest.rate_limited"), answered.length)
      assert.strictEqual(delta("orb.backfill.ingest.retries", { "http.response.status_code": "429" }), answered.length)
      assert.strictEqual(delta("orb.backfill.events.sent"), 3_000)
      assert.strictEqual(result.ingestion.rateLimited, answered.length)
      assert.strictEqual(delta("orb.backfill.batches"), 30)
    }).pipe(Effect.provide(Layer.merge(orb(), metrics(faultReader)))))
})
