/**
 * A Postgres address that takes the connection and never answers (a firewall that drops packets, a hung server, a
 * wrong port on a host that accepts anything): the cluster engine's layer must fail with a `SqlError` once its
 * connect timeout has passed, not wait for ever. It waited for ever: `@effect/sql-pg`'s own 5 s timeout on its first
 * query cannot interrupt that query (an uninterruptible acquisition), and `pg` waits for a server's first answer
 * without end unless told how long.
 *
 * And a Postgres that stops answering on a connection already open (a failover that leaves the old server's
 * connections hanging, a network cut, a hung server): a query there fails once its query timeout has passed, its
 * connection is dropped, and the next query gets a new one. It waited for the system's TCP timeout (about 15
 * minutes), or for ever when the other end still takes the bytes: a runner whose database failed over mid-run (its
 * open connections left hanging, new ones answered) never went on with its run.
 */
import { OrbSimulator } from "@effect-orb/simulator"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { DurableEngine, DurableRun, RunSource } from "../src/index.js"
import { eventsFile, holdingShards, runEnd, runner } from "./support/clusterRunner.js"
import { freezingProxy } from "./support/freezingProxy.js"
import { postgres } from "./support/postgres.js"
import { until } from "./support/processes.js"
import { silentServer } from "./support/silentServer.js"

const apiKey = "sk-silent-database"
const failoverEvents = 3_000
const october = Date.parse("2026-10-01T00:00:00Z")

describe("a Postgres that never answers, or stops answering", () => {
  it.scopedLive("the engine's layer fails with a SqlError after its connect timeout", () =>
    Effect.gen(function*() {
      const { port } = yield* silentServer
      const started = Date.now()
      const exit = yield* Effect.exit(
        Layer.build(DurableEngine.layerPostgres({
          postgres: { url: Redacted.make(`postgres://someone:secret@127.0.0.1:${port}/runs`) },
          clientOnly: true,
          connectTimeout: "1 second"
        })).pipe(Effect.scoped, Effect.timeout("20 seconds"))
      )
      const waited = Date.now() - started
      assert.isTrue(Exit.isFailure(exit), "the layer was built against a server that never answered")
      const error = Exit.isFailure(exit) ? exit.cause.toJSON() : undefined
      assert.include(JSON.stringify(error), "SqlError", `not a SqlError: ${JSON.stringify(error)}`)
      assert.isAtLeast(waited, 900)
      assert.isBelow(waited, 10_000, `it failed only after ${waited} ms`)
    }), 30_000)

  it.scopedLive(
    "a query on an open connection that gets no answer fails after the query timeout; the next is answered",
    () =>
      Effect.gen(function*() {
        const database = yield* postgres()
        // Everything sent after the marked query is held: the server stops answering on the open connections.
        const proxy = yield* freezingProxy(database.port, "last answered")
        const context = yield* Layer.build(DurableEngine.layerPostgres({
          postgres: { url: Redacted.make(database.url.replace(`:${database.port}/`, `:${proxy.port}/`)) },
          clientOnly: true,
          queryTimeout: "2 seconds"
        }))
        const sql = Context.get(context, SqlClient.SqlClient)
        // One connection of the pool for both (the engine's own queries take others meanwhile).
        const connection = yield* sql.reserve
        assert.deepStrictEqual(
          yield* connection.execute("SELECT 'last answered' AS said", [], undefined),
          [{ said: "last answered" }]
        )
        assert.isTrue(proxy.holding())
        const started = Date.now()
        const exit = yield* Effect.exit(
          connection.execute("SELECT 1 AS one", [], undefined).pipe(Effect.timeout("20 seconds"))
        )
        const waited = Date.now() - started
        assert.isTrue(Exit.isFailure(exit), "a query got an answer through a proxy that held it")
        const error = Exit.isFailure(exit) ? JSON.stringify(exit.cause.toJSON()) : ""
        assert.include(error, "SqlError", `not a SqlError after ${waited} ms: ${error}`)
        const reason = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
        assert.include(
          String((reason as { cause?: { message?: unknown } } | undefined)?.cause?.message),
          "no answer within 2 seconds on an open connection"
        )
        assert.isAtLeast(waited, 1_900)
        assert.isBelow(waited, 10_000, `it failed only after ${waited} ms`)
        // The server answers again: the next query, on a new connection, is answered.
        yield* proxy.resume
        assert.deepStrictEqual(yield* sql`SELECT 2 AS two`.pipe(Effect.timeout("20 seconds")), [{ two: 2 }])
      }),
    120_000
  )

  it.scopedLive(
    "a query timeout of infinity, or of zero, is none: the engine's queries are answered",
    () =>
      Effect.gen(function*() {
        const database = yield* postgres()
        for (const queryTimeout of [Duration.infinity, Duration.zero]) {
          // A Node timer of more than 2^31 - 1 ms (infinity too) fires at once: every query was dropped.
          const answered = yield* Effect.scoped(Effect.gen(function*() {
            const context = yield* Layer.build(DurableEngine.layerPostgres({
              postgres: { url: Redacted.make(database.url) },
              clientOnly: true,
              queryTimeout
            }))
            return yield* Context.get(context, SqlClient.SqlClient)`SELECT 3 AS three`
          }))
          assert.deepStrictEqual(answered, [{ three: 3 }], Duration.format(queryTimeout))
        }
      }),
    60_000
  )

  it.scopedLive(
    "a runner whose database fails over mid-run (its open connections hang, new ones are answered): the run goes on " +
      "and ends with every event counted once",
    () =>
      Effect.gen(function*() {
        const dir = yield* Effect.acquireRelease(
          Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-orb-failover-"))),
          (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
        )
        const database = yield* postgres()
        const proxy = yield* freezingProxy(database.port)
        const server = yield* OrbSimulator.serve({ apiKey, reflectionDelay: "1 second" })
        // The runner reaches the database through the proxy; this process submits and polls directly.
        const worker = yield* runner("a", {
          PG_URL: database.url.replace(`:${database.port}/`, `:${proxy.port}/`),
          ORB_URL: server.url,
          ORB_KEY: apiKey,
          QUERY_TIMEOUT: "2 seconds"
        })
        yield* Effect.gen(function*() {
          yield* holdingShards(worker)
          const file = eventsFile(path.join(dir, "events.ndjson"), failoverEvents, "failover")
          // About 250 events a second: the run is still sending when its database fails over.
          const payload = yield* DurableRun.payload({
            runKey: "failover",
            source: yield* RunSource.fromFile(file),
            timeframeStart: DateTime.unsafeMake(october),
            timeframeEnd: DateTime.unsafeMake(october + 7 * 86_400_000),
            replaceExistingEvents: false,
            segmentEvents: 250,
            batchSize: 50,
            concurrency: 1,
            quota: { requestsPerSecond: 5, eventsPerMinute: 6_000_000 },
            until: "closed"
          })
          const executionId = yield* DurableRun.BackfillRun.execute(payload, { discard: true })
          yield* until(
            Effect.map(server.simulator.backfills, (backfills) => (backfills[0]?.eventsIngested ?? 0) >= 500),
            `the run to send its first events\n${worker.output().slice(-3_000)}`,
            40_000
          )
          yield* proxy.failover
          const exit = yield* runEnd(
            executionId,
            worker,
            60_000,
            Effect.map(server.simulator.backfills, ([backfill]) =>
              `the run did not end in 60 s after the failover (${backfill.eventsIngested} of ${failoverEvents} ` +
              "events sent)")
          )
          assert.isTrue(Exit.isSuccess(exit), `the run ended with ${Exit.isFailure(exit) ? String(exit.cause) : ""}`)
          assert.strictEqual((exit as Exit.Success<DurableRun.RunResult, never>).value.accepted, failoverEvents)
          const [backfill] = yield* server.simulator.backfills
          assert.strictEqual(backfill.eventsIngested, failoverEvents)
        }).pipe(
          Effect.provide(
            DurableEngine.layerPostgres({ postgres: { url: Redacted.make(database.url) }, clientOnly: true })
          )
        )
      }),
    150_000
  )
})
