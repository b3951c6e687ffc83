/**
 * Ours: `@effect-orb/backfills` over a given `HttpClient` layer, written the way its docs show.
 */
import type { Backfill } from "@effect-orb/backfills"
import { Backfills, OrbClient } from "@effect-orb/backfills"
import * as HttpClient from "@effect/platform/HttpClient"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import type { Job, Measurement } from "../Protocol.js"
import { lineChunks, main, start, stop } from "./Worker.js"

/**
 * An NDJSON file as a stream of wire events, read with the same reader as the other clients and parsed with
 * `JSON.parse` alone: `ingestEncodedStream` checks each event as strictly as `Backfill.decodeIngestEvent` would.
 */
export const eventsOf = (file: string): Stream.Stream<typeof Backfill.IngestEvent.Encoded, Error> =>
  Stream.fromAsyncIterable(lineChunks(file), (error) => error as Error).pipe(
    Stream.mapConcatChunk((lines) => Chunk.unsafeFromArray(lines.map((line) => JSON.parse(line))))
  )

const program = (job: Job) =>
  Effect.gen(function*() {
    const backfills = yield* Backfills.Backfills
    switch (job.scenario) {
      case "fetch": {
        for (let i = 0; i < job.warmup; i++) yield* backfills.fetch(job.backfillId)
        const mark = start()
        for (let i = 0; i < job.count; i++) {
          const backfill = yield* backfills.fetch(job.backfillId)
          if (backfill.id !== job.backfillId) return yield* Effect.die("wrong backfill")
        }
        return stop(mark, job.count)
      }
      case "list": {
        const pass = Stream.runCount(backfills.list({ limit: 100 }))
        for (let i = 0; i < job.warmup; i++) yield* pass
        const mark = start()
        const items = yield* pass
        return stop(mark, items, { pages: Math.ceil(items / 100) })
      }
      case "ingest":
      case "quota": {
        const mark = start()
        const summary = yield* backfills.ingestEncodedStream(
          job.backfillId,
          eventsOf(job.file),
          // The simulator runs without quotas except in the quota scenario, where the default (live mode) applies.
          job.scenario === "ingest" ? { quota: false, concurrency: job.concurrency } : {}
        )
        if (summary.failed > 0) return yield* Effect.die(`${summary.failed} events failed`)
        return stop(mark, summary.accepted, {
          requests: summary.batches + summary.retries,
          rateLimited: summary.rateLimited,
          retries: summary.retries
        })
      }
      default:
        return yield* Effect.die(`no ${job.scenario} scenario here`)
    }
  })

/**
 * The floor of any Effect client over the same transport: the platform `HttpClient` alone (`execute`, `text`,
 * `JSON.parse`, no library, no Schema), for fetch and list.
 */
const bare = (job: Job) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const get = (path: string) =>
      client.get(`${job.baseUrl}${path}`, {
        headers: { authorization: `Bearer ${job.apiKey}`, accept: "application/json" }
      }).pipe(Effect.flatMap((response) => response.text), Effect.map((text) => JSON.parse(text)))
    const listPath = (cursor: string | null) =>
      `/events/backfills?limit=100${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`
    switch (job.scenario) {
      case "fetch": {
        const path = `/events/backfills/${encodeURIComponent(job.backfillId)}`
        for (let i = 0; i < job.warmup; i++) yield* get(path)
        const mark = start()
        for (let i = 0; i < job.count; i++) {
          const backfill = yield* get(path)
          if (backfill.id !== job.backfillId) return yield* Effect.die("wrong backfill")
        }
        return stop(mark, job.count)
      }
      case "list": {
        const pass = Effect.gen(function*() {
          let items = 0
          let cursor: string | null = null
          for (;;) {
            const page: any = yield* get(listPath(cursor))
            items += page.data.length
            cursor = page.pagination_metadata.next_cursor
            if (page.data.length === 0 || cursor === null) break
          }
          return items
        })
        for (let i = 0; i < job.warmup; i++) yield* pass
        const mark = start()
        const items = yield* pass
        return stop(mark, items, { pages: Math.ceil(items / 100) })
      }
      default:
        return yield* Effect.die(`no bare ${job.scenario} scenario`)
    }
  })

/**
 * Runs the job over `transport`. Variants: `notrace` runs with Effect's tracer off altogether; `httpspans`
 * keeps the library's spans but not the HTTP client's; `bare` is the platform client alone.
 */
export const run = (transport: Layer.Layer<HttpClient.HttpClient>): void =>
  main((job): Promise<Measurement> => {
    if (job.variant === "bare") return Effect.runPromise(Effect.provide(bare(job), transport))
    const orb = Backfills.layer.pipe(
      Layer.provide(
        OrbClient.layer({
          apiKey: Redacted.make(job.apiKey),
          baseUrl: job.baseUrl,
          httpSpans: job.variant === "httpspans"
        })
      ),
      Layer.provide(transport)
    )
    const effect = Effect.provide(program(job), orb)
    return Effect.runPromise(job.variant === "notrace" ? Effect.withTracerEnabled(effect, false) : effect)
  })
