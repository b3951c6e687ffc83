/**
 * The account's ingest budget: the `RateLimiterStore` on `@effect/sql` answers as `@effect/experimental`'s memory
 * store does (on a real SQLite file, under `TestClock`), and runs sharing an account stay within its quota together
 * against the simulator's real server, which enforces it: two durable runs of one engine and an in-memory run in one
 * process; a durable run and an in-memory run in two processes on one SQLite file; three runs on two runner processes
 * on Postgres.
 */
import { Backfills, OrbClient } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import * as RateLimiter from "@effect/experimental/RateLimiter"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as child from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { AccountBudget, DurableEngine, DurableRun, RunSource } from "../src/index.js"
import { apiKey, eventOf, ingestTraffic, linesOf, runRps, weekOf } from "./support/budget.js"
import { runner } from "./support/clusterRunner.js"
import { postgres } from "./support/postgres.js"
import { runnersReady, shardHolders } from "./support/shards.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-orb-budget-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** A script of takes, some overdrawing, some refused, with time passing between them. */
const script = (store: RateLimiter.RateLimiterStore["Type"]) =>
  Effect.gen(function*() {
    const answers: Array<unknown> = []
    const steps: ReadonlyArray<readonly [number, number, boolean]> = [
      [0, 3, true],
      [0, 5, true],
      [40, 1, false],
      [0, 4, false],
      [250, 2, true],
      [5, 10, false],
      [1_000, 10, true],
      [0, 10, true],
      [7, 1, false]
    ]
    for (const [wait, tokens, overflow] of steps) {
      yield* TestClock.adjust(Duration.millis(wait))
      answers.push(
        yield* store.tokenBucket({
          key: "a",
          tokens,
          limit: 10,
          refillRate: Duration.millis(12.5),
          allowOverflow: overflow
        }),
        yield* store.fixedWindow({
          key: "a",
          tokens,
          refillRate: Duration.millis(12.5),
          limit: overflow ? undefined : 10
        }),
        // Another key is another budget.
        yield* store.tokenBucket({
          key: "b",
          tokens: 1,
          limit: 2,
          refillRate: Duration.millis(100),
          allowOverflow: true
        })
      )
    }
    return answers
  })

describe("the RateLimiterStore on @effect/sql", () => {
  it.scoped("answers every take as the memory store does, on a real SQLite file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      // The same start on both: the clock past zero, as a real one is.
      yield* TestClock.adjust(Duration.seconds(1_000))
      const memory = yield* Effect.provide(RateLimiter.RateLimiterStore, RateLimiter.layerStoreMemory)
      const expected = yield* script(memory)
      yield* TestClock.setTime(1_000_000)
      const sql = Context.get(
        yield* Layer.build(
          AccountBudget.layerStore.pipe(Layer.provide(SqliteClient.layer({ filename: path.join(dir, "state.sqlite") })))
        ),
        RateLimiter.RateLimiterStore
      )
      const actual = yield* script(sql)
      assert.deepStrictEqual(actual, expected)
    }))
})

describe("one budget per account, in one process", () => {
  it.scopedLive(
    "two durable runs of one engine and an in-memory run together stay within the account's requests per second",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const perRun = 400
        const rps = 10
        const server = yield* OrbSimulator.serve({ apiKey, quotas: { ingestRequestsPerSecond: rps } })
        const connection = { apiKey: Redacted.make(apiKey), baseUrl: server.url }
        const library = Backfills.layer.pipe(
          Layer.provideMerge(OrbClient.layer({ ...connection, allowInsecureHttp: true })),
          Layer.provide(NodeHttpClient.layerUndici)
        )
        const layer = DurableRun.layer.pipe(
          Layer.provideMerge(AccountBudget.layer),
          Layer.provideMerge(DurableRun.layerOrbConnection(connection)),
          Layer.provideMerge(DurableEngine.layerSqlite({ filename: path.join(dir, "state.sqlite") })),
          Layer.provideMerge(library),
          Layer.orDie
        )
        const quota = { requestsPerSecond: runRps, eventsPerMinute: 1_000_000 }
        const durableRun = (run: number) =>
          Effect.gen(function*() {
            const file = path.join(dir, `run-${run}.ndjson`)
            fs.writeFileSync(file, linesOf(run, perRun))
            const payload = yield* DurableRun.payload({
              runKey: `budget-durable-${run}`,
              source: yield* RunSource.fromFile(file),
              ...weekOf(run),
              replaceExistingEvents: false,
              segmentEvents: 200,
              batchSize: 20,
              concurrency: 4,
              quota,
              until: "closed"
            })
            return (yield* DurableRun.execute(payload)).accepted
          })
        const memoryRun = Effect.map(
          Backfills.run({
            ...weekOf(2),
            replaceExistingEvents: false,
            encodedEvents: Stream.fromIterable(Array.from({ length: perRun }, (_, i) => eventOf(2, i))),
            until: "closed",
            ingest: { batchSize: 20, concurrency: 4, quota }
          }),
          (result) => result.ingestion.accepted
        )
        const accepted = yield* Effect.all([durableRun(0), durableRun(1), memoryRun], { concurrency: 3 }).pipe(
          Effect.provide(layer)
        )
        assert.deepStrictEqual(accepted, [perRun, perRun, perRun])
        const requests = yield* server.simulator.requests
        const traffic = ingestTraffic(requests)
        yield* Effect.logInfo(`In one process: ${JSON.stringify(traffic)}`)
        assert.isAtMost(traffic.answered429, 2, "the budget kept the runs within the quota together")
        assert.isAtLeast(traffic.perSecond, 0.7 * rps, "and used most of it")
      }),
    60_000
  )
})

const packageDir = fileURLToPath(new URL("..", import.meta.url))
const budgetProcess = fileURLToPath(new URL("./fixtures/budgetProcess.ts", import.meta.url))

/** A process of `fixtures/budgetProcess.ts`; its events accepted, once it exits. */
const spawn = (env: Record<string, string>) =>
  Effect.tryPromise({
    try: () =>
      new Promise<number>((resolve, reject) => {
        const proc = child.spawn(process.execPath, ["--import", "tsx", budgetProcess], {
          cwd: packageDir,
          env: { ...process.env, ORB_KEY: apiKey, ...env },
          stdio: ["ignore", "pipe", "pipe"]
        })
        let out = ""
        proc.stdout.on("data", (chunk) => (out += chunk))
        proc.stderr.on("data", (chunk) => (out += chunk))
        proc.on("exit", (code) => {
          const line = out.split("\n").find((l) => l.startsWith("{\"accepted\""))
          if (code === 0 && line !== undefined) resolve(JSON.parse(line).accepted)
          else reject(new Error(`${env.MODE} process exited with ${code}:\n${out.slice(-3_000)}`))
        })
      }),
    catch: (error) => error as Error
  }).pipe(Effect.orDie)

describe("one budget per account, across processes on one SQLite state file", () => {
  it.scopedLive(
    "a durable run in the engine's process and an in-memory run in another stay within the quota together",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const perRun = 600
        const rps = 10
        const server = yield* OrbSimulator.serve({ apiKey, quotas: { ingestRequestsPerSecond: rps } })
        const common = { STATE: path.join(dir, "state.sqlite"), ORB_URL: server.url, RPS: String(runRps) }
        for (const run of [0, 1]) fs.writeFileSync(path.join(dir, `run-${run}.ndjson`), linesOf(run, perRun))
        const accepted = yield* Effect.all([
          spawn({ ...common, MODE: "durable", RUN: "0", FILE: path.join(dir, "run-0.ndjson") }),
          spawn({ ...common, MODE: "memory", RUN: "1", FILE: path.join(dir, "run-1.ndjson") })
        ], { concurrency: 2 })
        assert.deepStrictEqual(accepted, [perRun, perRun])
        const traffic = ingestTraffic(yield* server.simulator.requests)
        yield* Effect.logInfo(`Across processes on one SQLite file: ${JSON.stringify(traffic)}`)
        assert.isAtMost(traffic.answered429, 2, "the budget kept the processes within the quota together")
        assert.isAtLeast(traffic.perSecond, 0.7 * rps, "and used most of it")
      }),
    90_000
  )
})

describe("one budget per account, across runners on Postgres", () => {
  it.scopedLive(
    "three runs on two runner processes stay within the account's quota together",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const runs = 3
        const perRun = 600
        const rps = 10
        const database = yield* postgres()
        const server = yield* OrbSimulator.serve({ apiKey, quotas: { ingestRequestsPerSecond: rps } })
        const env = { PG_URL: database.url, ORB_URL: server.url, ORB_KEY: apiKey, BUDGET: "1" }
        const runners = [yield* runner("a", env), yield* runner("b", env)]
        const output = () => runners.map((r, i) => `--- runner ${i}:\n${r.output().slice(-3_000)}`).join("\n")
        const client = DurableEngine.layerPostgres({ postgres: { url: Redacted.make(database.url) }, clientOnly: true })
        yield* Effect.gen(function*() {
          // Submit once both runners hold their shards, so that the runs are spread over both.
          yield* runnersReady(2, 40_000, () => `runners not ready\n${output()}`)
          const holderOf = yield* shardHolders
          const payloads = []
          for (let run = 0; run < runs; run++) {
            const file = path.join(dir, `run-${run}.ndjson`)
            fs.writeFileSync(file, linesOf(run, perRun))
            const source = yield* RunSource.fromFile(file)
            // The run keys chosen so that the first two runs fall to different runners: the shards decide, and
            // three runs may otherwise all hash to one runner's (one time in four).
            for (let attempt = 0;; attempt++) {
              const payload = yield* DurableRun.payload({
                runKey: `budget-pg-${run}-${attempt}`,
                source,
                ...weekOf(run),
                replaceExistingEvents: false,
                segmentEvents: 200,
                batchSize: 20,
                concurrency: 4,
                quota: { requestsPerSecond: runRps, eventsPerMinute: 1_000_000 },
                until: "closed"
              })
              const holder = holderOf(yield* DurableRun.BackfillRun.executionId(payload))
              const first = payloads[0]
              if (
                run !== 1 || first === undefined || attempt >= 64 ||
                holder !== holderOf(yield* DurableRun.BackfillRun.executionId(first))
              ) {
                payloads.push(payload)
                break
              }
            }
          }
          const ids = yield* Effect.forEach(payloads, (payload) =>
            DurableRun.BackfillRun.execute(payload, { discard: true }))
          const waited = Date.now()
          while (true) {
            const polled = yield* Effect.forEach(ids, (id) =>
              DurableRun.BackfillRun.poll(id))
            const done = polled.flatMap((p) => (p?._tag === "Complete" ? [p.exit] : []))
            if (done.length === runs) {
              for (const exit of done) {
                assert.isTrue(Exit.isSuccess(exit), `a run failed: ${String(exit)}`)
              }
              break
            }
            if (Date.now() - waited > 60_000) {
              return yield* Effect.dieMessage(`runs unfinished\n${output()}`)
            }
            yield* Effect.sleep("200 millis")
          }
        }).pipe(Effect.provide(client))
        const requests = yield* server.simulator.requests
        const senders = new Set(
          requests.filter((r) => r.url.startsWith("/v1/ingest")).map((r) => r.headers["user-agent"])
        )
        assert.strictEqual(senders.size, 2, "both runners sent events")
        const traffic = ingestTraffic(requests)
        yield* Effect.logInfo(`Across runners on Postgres: ${JSON.stringify(traffic)}`)
        assert.strictEqual(traffic.requests - traffic.answered429, runs * perRun / 20)
        assert.isAtMost(traffic.answered429, 2, "the budget kept the runners within the quota together")
        assert.isAtLeast(traffic.perSecond, 0.7 * rps, "and used most of it")
      }),
    150_000
  )
})
