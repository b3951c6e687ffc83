/**
 * Scenario 7 (analysis): the CPU our stack spends per request with no socket at all, against an in-process
 * `HttpClient` that answers every request with the same backfill. Variants:
 *
 * - `stub`: that client alone (`execute`, `text`, `JSON.parse`): the floor of any Effect `HttpClient`;
 * - `ours`: `Backfills.fetch` as it ships;
 * - `httpspans`: the same with the HTTP client's own span and trace headers (`httpSpans: true`);
 * - `notrace`: the same with Effect's tracer off altogether;
 * - `hand`: what `OrbClient` does at the least (a request built once with its headers, `execute`, `text`,
 *   `JSON.parse`, the Schema decode hoisted), then `hand-timeout`, `hand-retry`, `hand-span` and `hand-fn`,
 *   each adding one of the things `OrbClient` and `Backfills` do per call (`Effect.timeoutFail`,
 *   `Effect.retry` with the default schedule, a span, an `Effect.fn` wrapper), to price each of them.
 */
import { Backfill, Backfills, OrbClient } from "@effect-orb/backfills"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { Job, Measurement } from "../Protocol.js"
import { main, start, stop } from "./Worker.js"

const body = JSON.stringify({
  id: "bf_overhead",
  status: "pending",
  created_at: "2026-11-01T00:00:00.000Z",
  timeframe_start: "2026-10-01T00:00:00.000Z",
  timeframe_end: "2026-10-31T00:00:00.000Z",
  events_ingested: 1234,
  close_time: "2026-11-02T00:00:00.000Z",
  reverted_at: null,
  customer_id: null,
  replace_existing_events: false,
  deprecation_filter: null
})
const headers = { "content-type": "application/json", "content-length": String(body.length) }

const stub = HttpClient.make((request) =>
  Effect.sync(() => HttpClientResponse.fromWeb(request, new Response(body, { status: 200, headers })))
)

const run = async (job: Job): Promise<Measurement> => {
  const loop = <R>(once: Effect.Effect<unknown, unknown, R>) =>
    Effect.gen(function*() {
      for (let i = 0; i < job.warmup; i++) yield* once
      const mark = start()
      for (let i = 0; i < job.count; i++) yield* once
      return stop(mark, job.count)
    })
  if (job.variant.startsWith("hand")) {
    const request = HttpClientRequest.get("http://127.0.0.1:1/v1/events/backfills/bf_overhead").pipe(
      HttpClientRequest.bearerToken(Redacted.make("key")),
      HttpClientRequest.acceptJson,
      HttpClientRequest.setHeader("user-agent", "effect-orb/0.1.0")
    )
    const decode = Schema.decodeUnknownEither(Backfill.Backfill)
    const attempt = Effect.flatMap(stub.execute(request), (response) =>
      Effect.flatMap(response.text, (text) => {
        const decoded = decode(JSON.parse(text))
        return Either.isRight(decoded) ? Effect.succeed(decoded.right) : Effect.fail(decoded.left)
      }))
    const schedule = OrbClient.defaultRetrySchedule(2)
    // Called anew for every request, as `Backfills.fetch(id)` is.
    const fetchFn = Effect.fn("Backfills.fetch")(function*() {
      return yield* attempt
    })
    const once = job.variant === "hand-timeout"
      ? Effect.timeoutFail(attempt, { duration: Duration.seconds(60), onTimeout: () => "timeout" as const })
      : job.variant === "hand-retry"
      ? Effect.retry(attempt, { schedule, while: () => true })
      : job.variant === "hand-span"
      ? Effect.withSpan(attempt, "Backfills.fetch", { attributes: { "backfill.id": "bf_overhead" } })
      : job.variant === "hand-fn"
      ? Effect.suspend(() => fetchFn())
      : attempt
    return Effect.runPromise(loop(once))
  }
  if (job.variant === "stub") {
    const request = HttpClientRequest.get("http://127.0.0.1:1/v1/events/backfills/bf_overhead")
    const once = Effect.flatMap(stub.execute(request), (response) => Effect.map(response.text, JSON.parse))
    return Effect.runPromise(loop(once))
  }
  const client = stub
  const layer = Backfills.layer.pipe(
    Layer.provide(OrbClient.layer({
      apiKey: Redacted.make("key"),
      baseUrl: "http://127.0.0.1:1/v1",
      httpSpans: job.variant === "httpspans"
    })),
    Layer.provide(Layer.succeed(HttpClient.HttpClient, client))
  )
  const program = Effect.provide(loop(Backfills.fetch("bf_overhead")), layer)
  return Effect.runPromise(job.variant === "notrace" ? Effect.withTracerEnabled(program, false) : program)
}

main(run)
