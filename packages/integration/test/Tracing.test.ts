/**
 * The spans a run gives an OpenTelemetry exporter through `@effect/opentelemetry`, as docs/getting-started.md
 * shows them: their names, nesting and `backfill.*` attributes, and never the API key.
 */
import { Backfills, OrbClient } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import * as Resource from "@effect/opentelemetry/Resource"
import * as Tracer from "@effect/opentelemetry/Tracer"
import { assert, describe, it } from "@effect/vitest"
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
})
