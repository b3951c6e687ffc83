/**
 * The tables of ours beside the engine's (cancel requests, the segments' journal, the ingest budget's rate limits):
 * made where a process needs them, by whichever process comes first.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import * as Effect from "effect/Effect"

/**
 * Runs a `CREATE TABLE IF NOT EXISTS`. On Postgres, sessions creating the same table at once can all find it absent,
 * and all but one then fail on Postgres's own catalogue (`type "effect_orb_rate_limits" already exists`): runners
 * started together on a new database died at their start, 45 of 120 in a test (OwnTables.test.ts). There the
 * statement waits its turn on a lock of the transaction's (an advisory lock of a key of ours), and a later one finds
 * the table made. SQLite's write lock already takes them one at a time.
 */
export const create = (
  statement: (sql: SqlClient.SqlClient) => Statement.Statement<unknown>
): Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.onDialectOrElse({
      pg: () =>
        sql.withTransaction(
          Effect.zipRight(sql`SELECT pg_advisory_xact_lock(hashtext('effect_orb tables'))`, statement(sql))
        ),
      orElse: () => statement(sql)
    }).pipe(Effect.asVoid))
