/**
 * The segments' journal: one row per finished segment of a durable run, in a table of ours beside the engine's.
 *
 * A segment was an activity of the engine: a message to the workflow's entity, saved, delivered, answered and its
 * reply saved, about 1,900 fiber steps and four commits for a step that needs one row (docs/performance.md, "The
 * segment journal"). A run's segments are its only steps by the thousand, so they are journaled here instead, with
 * the same rule as an activity's: an outcome is written once the segment is done (its success, or its typed
 * failure), before anything depends on it, and a segment with no row runs again from its start (its batches are the
 * same: Orb replays them). The other steps (create, close, polls, reverts, sleeps) stay the engine's activities.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"

const table = "effect_orb_run_segments"

const ensureTable = (sql: SqlClient.SqlClient) =>
  sql`CREATE TABLE IF NOT EXISTS ${sql(table)} (
    execution_id VARCHAR(255) NOT NULL,
    segment INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    PRIMARY KEY (execution_id, segment)
  )`

/** Makes the table, where a run's process starts (as `CancelRequests.ensure`, for the same reason). */
export const ensure = Effect.flatMap(SqlClient.SqlClient, ensureTable)

/** A run's journaled segments: each one's outcome, as written, by its number. */
export const load = (
  executionId: string
): Effect.Effect<Map<number, string>, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      sql<{ readonly segment: number; readonly outcome: string }>`
        SELECT segment, outcome FROM ${sql(table)} WHERE execution_id = ${executionId}`,
      (rows) => new Map(rows.map((row) => [Number(row.segment), row.outcome]))
    ))

/** The table is not there: a state file no run of this version has written, read without writing. */
const isMissing = (error: SqlError.SqlError) => {
  const cause = error.cause as { readonly code?: unknown; readonly message?: unknown } | undefined
  return cause?.code === "42P01" || (typeof cause?.message === "string" && cause.message.includes("no such table"))
}

/** Every run's journaled segments, for the runs' states (none in a database without the table). */
export const all: Effect.Effect<
  ReadonlyArray<{ readonly execution_id: string; readonly segment: number; readonly outcome: string }>,
  SqlError.SqlError,
  SqlClient.SqlClient
> = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) =>
    sql<{ readonly execution_id: string; readonly segment: number; readonly outcome: string }>`
    SELECT execution_id, segment, outcome FROM ${sql(table)}`.pipe(
      Effect.catchIf(isMissing, () => Effect.succeed([]))
    )
)

/**
 * Writes a segment's outcome, and gives back the one journaled: one already written (by a process that ran the same
 * segment, a runner taken for dead that was not) stays as it was, and is the run's.
 */
export const record = (
  executionId: string,
  segment: number,
  outcome: string
): Effect.Effect<string, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql`INSERT INTO ${sql(table)} (execution_id, segment, outcome) VALUES (${executionId}, ${segment}, ${outcome})
      ON CONFLICT DO NOTHING`.pipe(
        Effect.zipRight(sql<{ readonly outcome: string }>`
        SELECT outcome FROM ${sql(table)} WHERE execution_id = ${executionId} AND segment = ${segment}`),
        Effect.map((rows) => rows[0]?.outcome ?? outcome)
      )
  )

/** Forgets a run's segments, with its engine rows when it is pruned. */
export const forget = (executionId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* ensureTable(sql)
    yield* sql`DELETE FROM ${sql(table)} WHERE execution_id = ${executionId}`
  })
