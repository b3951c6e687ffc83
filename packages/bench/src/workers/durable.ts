/**
 * The durable scenario's client: one backfill run over `NodeHttpClient.layerUndici`, either in memory
 * (`Backfills.run` with `encodedEvents` read from the file as the ingest clients read it) or durable
 * (`DurableRun.execute` on a SQLite state file, the file as a `RunSource`), with the same batch size and
 * concurrency and no quota. Variants:
 *
 * - `memory`, `durable`: the timed run, from building the layers to the result (the close; reflection is the
 *   simulator's own delay, the same for both, and is not waited for).
 * - `engine-up`: the durable run timed from its source's pin, on an engine built before (as an application builds
 *   it once): the run's own cost, without the engine's start.
 * - `crash`: a durable run whose ingest requests after the first `ingestsBeforeCrash` are held (never sent): it
 *   prints {@link crashMarker} then, for the harness to kill it with kill -9.
 * - `resume`: a new process on the crashed run's state file, which the engine resumes by itself as soon as its
 *   layer is up; it attaches to the run with the kept payload and waits for its end.
 */
import { Backfills, OrbClient } from "@effect-orb/backfills"
import { DurableEngine, DurableRun, RunSource } from "@effect-orb/workflow"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as DateTime from "effect/DateTime"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as fs from "node:fs"
import type { DurableJob, Job, Measurement } from "../Protocol.js"
import { crashMarker } from "../Protocol.js"
import { eventsOf } from "./EffectClient.js"
import { main, start, stop } from "./Worker.js"

// When this module's code began to run (after Node's start and the bundle's evaluation), in ms since the process
// began.
const startedAt = performance.now()

const payloadJson = Schema.parseJson(DurableRun.RunPayload)

const sizeOf = (file: string) => (fs.existsSync(file) ? fs.statSync(file).size : 0)

/** The state file's bytes as they stand, the main file and its write-ahead log apart. */
const stateBytes = (state: string) => ({ stateDbBytes: sizeOf(state), stateWalBytes: sizeOf(`${state}-wal`) })

/**
 * Holds every ingest request after the first `after`, and says so once on stdout once those `after` are answered:
 * with two segments in flight the next one's request leaves before the one before's last is answered, and a kill on
 * the first held request would lose that one on its way.
 */
const holdingIngestsAfter = (after: number): Layer.Layer<HttpClient.HttpClient> =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const letThrough = yield* Deferred.make<void>()
      let ingests = 0
      let answered = 0
      return HttpClient.transform(client, (response, request) => {
        if (!request.url.includes("/ingest")) return response
        ingests++
        if (ingests <= after) {
          return Effect.ensuring(
            response,
            Effect.suspend(() => ++answered === after ? Deferred.succeed(letThrough, undefined) : Effect.void)
          )
        }
        return ingests === after + 1
          ? Deferred.await(letThrough).pipe(
            Effect.zipRight(Effect.sync(() => process.stdout.write(`${crashMarker}\n`))),
            Effect.zipRight(Effect.never)
          )
          : Effect.never
      })
    })
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))

const library = (job: Job, transport: Layer.Layer<HttpClient.HttpClient>) =>
  Backfills.layer.pipe(
    Layer.provide(OrbClient.layer({ apiKey: Redacted.make(job.apiKey), baseUrl: job.baseUrl })),
    Layer.provide(transport)
  )

const memory = (job: Job, run: DurableJob) =>
  Effect.gen(function*() {
    const mark = start()
    const result = yield* Backfills.run({
      timeframeStart: DateTime.unsafeMake(run.timeframeStart),
      timeframeEnd: DateTime.unsafeMake(run.timeframeEnd),
      replaceExistingEvents: false,
      encodedEvents: eventsOf(job.file),
      expectedEvents: job.count,
      until: "closed",
      ingest: { batchSize: run.batchSize, concurrency: job.concurrency, quota: false }
    }).pipe(Effect.provide(library(job, NodeHttpClient.layerUndici)))
    return stop(mark, result.ingestion.accepted, { requests: result.ingestion.batches })
  })

const durable = (job: Job, run: DurableJob) =>
  Effect.gen(function*() {
    const started = start()
    // The engine is never shut down: the process ends right after the report, as a kill would end it, so that the
    // state file is measured as the run left it (with its write-ahead log).
    const scope = yield* Scope.make()
    const transport = job.variant === "crash"
      ? holdingIngestsAfter(run.ingestsBeforeCrash ?? 0)
      : NodeHttpClient.layerUndici
    const app = DurableRun.layer.pipe(
      Layer.provideMerge(DurableEngine.layerSqlite({ filename: run.state })),
      Layer.provide(library(job, transport))
    )
    // `engine-up`: the engine built and given a moment (its shards acquired) before the timed part, as in an
    // application that builds its layers once, or an `orb-backfill worker`: what the run itself costs.
    const up = job.variant === "engine-up"
      ? yield* Effect.zipLeft(Layer.buildWithScope(app, scope), Effect.sleep("300 millis"))
      : undefined
    const mark = up === undefined ? started : start()
    // The source is pinned (its SHA-256: on a worker thread for a file this big) while the engine starts; the pin
    // goes first, to start its thread before the engine's start takes this one.
    let layerUpMs = 0
    const [source, context] = yield* Effect.all([
      job.variant === "resume" ? Effect.succeed(undefined) : RunSource.fromFile(job.file),
      up !== undefined
        ? Effect.succeed(up)
        : Effect.tap(Layer.buildWithScope(app, scope), () => Effect.sync(() => layerUpMs = performance.now()))
    ], { concurrency: 2 })
    const payloadFile = `${run.state}.payload.json`
    const payload = source === undefined
      ? yield* Schema.decode(payloadJson)(fs.readFileSync(payloadFile, "utf8"))
      : yield* Effect.gen(function*() {
        const built = yield* DurableRun.payload({
          runKey: run.runKey,
          source,
          timeframeStart: DateTime.unsafeMake(run.timeframeStart),
          timeframeEnd: DateTime.unsafeMake(run.timeframeEnd),
          replaceExistingEvents: false,
          expectedEvents: job.count,
          segmentEvents: run.segmentEvents,
          batchSize: run.batchSize,
          concurrency: job.concurrency,
          quota: false,
          until: "closed"
        })
        fs.writeFileSync(payloadFile, Schema.encodeSync(payloadJson)(built))
        return built
      })
    const result = yield* DurableRun.execute(payload).pipe(Effect.provide(context))
    return stop(mark, result.accepted, {
      segments: result.segments,
      read: result.read,
      ...stateBytes(run.state),
      startedAtMs: startedAt,
      layerUpAtMs: layerUpMs
    })
  })

main((job): Promise<Measurement> => {
  const run = job.durable
  if (run === undefined) return Promise.reject(new Error("no durable settings in the job"))
  const program: Effect.Effect<Measurement, unknown> = job.variant === "memory" ? memory(job, run) : durable(job, run)
  return Effect.runPromise(program)
})
