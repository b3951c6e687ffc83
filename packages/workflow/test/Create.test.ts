/**
 * A durable run's create, in-process (the engine on a real SQLite file, the library over the simulator's test
 * layer, the live clock): an answer that is lost after Orb applied the create, and the same run key submitted
 * again to another engine database after the first run finished.
 */
import { Backfills, OrbClient } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { DurableEngine, DurableRun, RunSource } from "../src/index.js"
import { runFailure } from "./support/inProcess.js"

const lines = Array.from({ length: 300 }, (_, i) =>
  JSON.stringify({
    event_name: "api_call",
    timestamp: new Date(Date.parse("2026-10-01T00:00:00Z") + i * 60_000).toISOString(),
    external_customer_id: "acme",
    idempotency_key: `create-${i}`,
    properties: { units: 1 }
  }))

/**
 * The library over the simulator; with `loseFirstCreate`, the first create's answer (applied by the simulator) is
 * replaced by a 200 whose JSON is not a backfill, as a proxy could send.
 */
const library = (loseFirstCreate: boolean, loseFirstRevert = false) => {
  const lossy = Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (inner) => {
      let lost = false
      // With `loseFirstRevert`: the first revert's answer, and that of the fetch that follows it.
      let revertLoss: "waiting" | "revert lost" | "done" = "waiting"
      return HttpClient.make((request, url) =>
        Effect.flatMap(inner.execute(request), (response) => {
          const garble = () =>
            Effect.as(response.text, HttpClientResponse.fromWeb(request, new Response("{}", { status: 200 })))
          if (loseFirstRevert && revertLoss === "waiting" && url.pathname.endsWith("/revert")) {
            revertLoss = "revert lost"
            return garble()
          }
          if (revertLoss === "revert lost" && request.method === "GET") {
            revertLoss = "done"
            return garble()
          }
          if (!loseFirstCreate || lost || request.method !== "POST" || url.pathname !== "/v1/events/backfills") {
            return Effect.succeed(response)
          }
          lost = true
          return Effect.as(response.text, HttpClientResponse.fromWeb(request, new Response("{}", { status: 200 })))
        }).pipe(Effect.orDie)
      )
    })
  )
  return Backfills.layer.pipe(
    Layer.provideMerge(OrbClient.layer({ apiKey: Redacted.make("sk-sim"), baseUrl: "http://127.0.0.1/v1" })),
    Layer.provide(lossy),
    Layer.provideMerge(OrbSimulator.layer({ apiKey: "sk-sim", reflectionDelay: "1 second" })),
    Layer.orDie
  )
}

const engine = (file: string) =>
  DurableRun.layer.pipe(Layer.provideMerge(DurableEngine.layerSqlite({ filename: file })), Layer.orDie)

const spec = (dir: string) =>
  Effect.gen(function*() {
    const file = path.join(dir, "events.ndjson")
    fs.writeFileSync(file, lines.join("\n") + "\n")
    return {
      runKey: "october-fix",
      source: yield* RunSource.fromFile(file),
      timeframeStart: DateTime.unsafeMake("2026-10-01T00:00:00Z"),
      timeframeEnd: DateTime.unsafeMake("2026-10-08T00:00:00Z"),
      replaceExistingEvents: true,
      // Fixed, as a caller of the command line can fix it: the create's body is then the same in every run.
      closeTime: DateTime.unsafeMake(Date.now() + 6 * 3_600_000),
      quota: false as const
    }
  })

const withDir = <A, E, R>(use: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-orb-create-"))),
    use,
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

describe("a durable run's create", () => {
  it.live(
    "an answer lost after Orb applied it: the create is sent again with its key, and its backfill reverted",
    () =>
      withDir((dir) =>
        Effect.gen(function*() {
          const payload = yield* DurableRun.payload(yield* spec(dir))
          const failure = yield* runFailure(payload)
          assert.strictEqual(failure.stage, "create")
          assert.isTrue(failure.reverted)
          const sim = yield* OrbSimulator.OrbSimulator
          const all = yield* sim.backfills
          assert.strictEqual(all.length, 1, "the create sent again was Orb's replay")
          assert.strictEqual(all[0].id, failure.backfillId)
          assert.strictEqual(all[0].status, "reverted")
        }).pipe(Effect.provide(engine(path.join(dir, "state.sqlite"))), Effect.provide(library(true)))
      ),
    60_000
  )

  it.live(
    "a revert whose outcome stays unknown is tried again after a durable sleep, until it is known",
    () =>
      withDir((dir) =>
        Effect.gen(function*() {
          const runSpec = yield* spec(dir)
          // An event outside the timeframe: the run fails at its first segment, and reverts.
          fs.appendFileSync(runSpec.source.path, lines[0].replace("2026-10-01", "2026-10-09") + "\n")
          const payload = yield* DurableRun.payload({
            ...runSpec,
            source: yield* RunSource.fromFile(runSpec.source.path)
          })
          const started = Date.now()
          const failure = yield* runFailure(payload)
          assert.strictEqual(failure.stage.startsWith("ingest"), true, failure.message)
          assert.isTrue(failure.reverted, failure.message)
          assert.isAtLeast(Date.now() - started, 5_000, "the second revert came after the durable sleep")
          const sim = yield* OrbSimulator.OrbSimulator
          assert.deepStrictEqual((yield* sim.backfills).map((b) => b.status), ["reverted"])
        }).pipe(Effect.provide(engine(path.join(dir, "state.sqlite"))), Effect.provide(library(false, true)))
      ),
    60_000
  )

  it.live(
    "the same run key submitted again to another state file after it finished: a new run, the first untouched",
    () =>
      withDir((dir) =>
        Effect.gen(function*() {
          const context = yield* Layer.build(library(false))
          const runSpec = yield* spec(dir)
          const first = yield* Effect.flatMap(DurableRun.payload(runSpec), DurableRun.execute).pipe(
            Effect.provide(engine(path.join(dir, "first.sqlite"))),
            Effect.provide(context)
          )
          const second = yield* Effect.flatMap(DurableRun.payload(runSpec), DurableRun.execute).pipe(
            Effect.provide(engine(path.join(dir, "second.sqlite"))),
            Effect.provide(context)
          )
          assert.notStrictEqual(second.backfillId, first.backfillId)
          const sim = OrbSimulator.OrbSimulator.pipe(Effect.provide(context))
          const all = yield* Effect.flatMap(sim, (s) => s.backfills)
          const byId = new Map(all.map((b) => [b.id as string, b.status]))
          assert.strictEqual(byId.get(first.backfillId), "reflected", "the first run's backfill was not reverted")
          assert.strictEqual(byId.get(second.backfillId), "reflected")
        }).pipe(Effect.scoped)
      ),
    60_000
  )
})
