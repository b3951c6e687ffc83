/**
 * The segments' journal: a run journals each finished segment as one row of the segments table (not as an activity
 * of the engine), `DurableRun.list` reads the rows while the run sends and after, and pruning forgets them; a run
 * submitted before the table (its payload without `segmentJournal`) journals its segments as activities, as it began.
 * In-process: the engine on a real SQLite file, the library over the simulator's test layer.
 */
import { OrbSimulator } from "@effect-orb/simulator"
import * as HttpClient from "@effect/platform/HttpClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as path from "node:path"
import { DurableRun, RunSource } from "../src/index.js"
import { engineOver, tempFolder } from "./support/inProcess.js"

const start = Date.parse("2026-08-01T00:00:00Z")
const events = 500
const segmentEvents = 200

const line = (i: number) =>
  JSON.stringify({
    event_name: "api_call",
    timestamp: new Date(start + i * 60_000).toISOString(),
    external_customer_id: "acme",
    idempotency_key: `j-${i}`,
    properties: { units: 1 }
  })

/** The library's client, every ingest request after the first held until `release` is done. */
const holdingAfterFirstIngest = (release: Deferred.Deferred<void>) =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) => {
      let ingests = 0
      return HttpClient.mapRequestEffect(client, (request) =>
        request.url.includes("/ingest") && ++ingests > 1
          ? Effect.as(Deferred.await(release), request)
          : Effect.succeed(request))
    })
  )

const setup = Effect.gen(function*() {
  const dir = yield* tempFolder("effect-orb-segments-")
  const file = path.join(dir, "events.ndjson")
  fs.writeFileSync(file, Array.from({ length: events }, (_, i) => line(i)).join("\n") + "\n")
  const simulator = yield* Layer.build(OrbSimulator.layer({ apiKey: "sk-sim", reflectionDelay: "1 hour" }))
  const payload = yield* DurableRun.payload({
    runKey: "segments",
    source: yield* RunSource.fromFile(file),
    timeframeStart: DateTime.unsafeMake(start),
    timeframeEnd: DateTime.unsafeMake(start + 7 * 86_400_000),
    replaceExistingEvents: false,
    segmentEvents,
    concurrency: 1,
    quota: false,
    until: "closed"
  })
  return { dir, simulator, payload }
})

/** The run's segments in the table (by number) and among the engine's activities (by name). */
const journaled = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ readonly segment: number }>`SELECT segment FROM effect_orb_run_segments ORDER BY segment`
  const activities = yield* sql<{ readonly payload: string }>`
    SELECT payload FROM cluster_messages WHERE tag = 'activity'`
  return {
    rows: rows.map((row) => Number(row.segment)),
    activities: activities.map((row) => JSON.parse(row.payload).name as string).filter((name) =>
      name.startsWith("segment-")
    )
  }
})

describe("the segments' journal", () => {
  it.scopedLive(
    "a row per segment, no activity; listed while the run sends and after; pruned with the run",
    () =>
      Effect.gen(function*() {
        const { dir, payload, simulator } = yield* setup
        assert.strictEqual(payload.segmentJournal, "table")
        const release = yield* Deferred.make<void>()
        yield* Effect.gen(function*() {
          const run = yield* Effect.fork(DurableRun.execute(payload))
          // The first segment is in; the second's request is held.
          let state: DurableRun.RunState | undefined
          while (state?.accepted !== segmentEvents) {
            yield* Effect.sleep("20 millis")
            state = (yield* DurableRun.list)[0]
          }
          assert.deepInclude(state, { stage: "ingesting", step: "segment-1", stepInFlight: true, read: segmentEvents })
          assert.isAbove(state.position, 0)
          assert.isBelow(state.position, state.size)
          assert.deepStrictEqual(yield* journaled, { rows: [0], activities: [] })

          yield* Deferred.succeed(release, undefined)
          const result = yield* Fiber.join(run)
          assert.strictEqual(result.accepted, events)
          assert.strictEqual(result.segments, 3)
          assert.deepStrictEqual(yield* journaled, { rows: [0, 1, 2], activities: [] })
          const [done] = yield* DurableRun.list
          assert.deepInclude(done, { stage: "done", read: events, accepted: events, failed: 0, position: done.size })

          const pruned = yield* DurableRun.prune({ finishedBefore: DateTime.add(yield* DateTime.now, { seconds: 1 }) })
          assert.deepStrictEqual(pruned.map((s) => s.runKey), ["segments"])
          assert.deepStrictEqual(yield* journaled, { rows: [], activities: [] })
        }).pipe(Effect.provide(engineOver(dir, simulator, holdingAfterFirstIngest(release))))
      }),
    30_000
  )

  it.scopedLive("a segment's outcome journaled first by another process is the run's", () =>
    Effect.gen(function*() {
      const { dir, payload, simulator } = yield* setup
      const release = yield* Deferred.make<void>()
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const run = yield* Effect.fork(Effect.flip(DurableRun.execute(payload)))
        let state: DurableRun.RunState | undefined
        while (state?.accepted !== segmentEvents) {
          yield* Effect.sleep("20 millis")
          state = (yield* DurableRun.list)[0]
        }
        // While the second segment's request is held, another process (a runner taken for dead that was not)
        // journals that segment as failed.
        const elsewhere = { _tag: "Left", left: { _tag: "StepFailed", stage: "elsewhere", reason: "journaled first" } }
        yield* sql`INSERT INTO effect_orb_run_segments (execution_id, submission, segment, outcome)
          VALUES (${state.executionId}, ${payload.submission}, 1, ${JSON.stringify(elsewhere)})`
        yield* Deferred.succeed(release, undefined)
        const failure = yield* Fiber.join(run)
        assert.strictEqual(failure._tag, "DurableRunFailed")
        if (failure._tag !== "DurableRunFailed") return
        assert.strictEqual(failure.stage, "elsewhere")
        assert.strictEqual(failure.reason, "journaled first")
        assert.isTrue(failure.reverted)
      }).pipe(Effect.provide(engineOver(dir, simulator, holdingAfterFirstIngest(release))))
    }), 30_000)

  it.scopedLive(
    "rows left by an earlier submission of the run key answer nothing: the new run sends every event",
    () =>
      Effect.gen(function*() {
        const { dir, payload, simulator } = yield* setup
        yield* Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          // An earlier submission's first segment, said to be the whole source (pruned, but left by a late runner).
          const executionId = yield* DurableRun.BackfillRun.executionId(payload)
          const stale = { _tag: "Right", right: { next: 0, nextLine: 1, eof: true, read: 7, accepted: 7, failed: 0 } }
          yield* sql`INSERT INTO effect_orb_run_segments (execution_id, submission, segment, outcome)
          VALUES (${executionId}, ${"0".repeat(16)}, 0, ${JSON.stringify(stale)})`
          const result = yield* DurableRun.execute(payload)
          assert.strictEqual(result.accepted, events)
          assert.strictEqual(result.segments, 3)
          const [done] = yield* DurableRun.list
          assert.deepInclude(done, { stage: "done", read: events, accepted: events })
        }).pipe(Effect.provide(engineOver(dir, simulator, Layer.effect(HttpClient.HttpClient, HttpClient.HttpClient))))
      }),
    30_000
  )

  it.scopedLive(
    "a run submitted before the table journals its segments as the engine's activities",
    () =>
      Effect.gen(function*() {
        const { dir, payload, simulator } = yield* setup
        const { segmentJournal: _, ...before } = payload
        yield* Effect.gen(function*() {
          const result = yield* DurableRun.execute(before)
          assert.strictEqual(result.accepted, events)
          assert.deepStrictEqual(yield* journaled, { rows: [], activities: ["segment-0", "segment-1", "segment-2"] })
          const [done] = yield* DurableRun.list
          assert.deepInclude(done, { stage: "done", read: events, accepted: events, position: done.size })
        }).pipe(Effect.provide(engineOver(dir, simulator, Layer.effect(HttpClient.HttpClient, HttpClient.HttpClient))))
      }),
    30_000
  )
})
