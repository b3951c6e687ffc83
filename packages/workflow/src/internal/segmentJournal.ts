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
import * as OwnTables from "./ownTables.js"
import * as StorageOutcome from "./storageOutcome.js"

const table = "effect_orb_run_segments"

/**
 * A row is the segment's of one submission of the run (`RunPayload.submission`): the same run key submitted again
 * after a prune is a new run, which a row left behind (by a runner taken for dead that finished its segment late, or
 * by an older version's prune, which knows no such table) must not answer.
 */
const ensureTable = OwnTables.create((sql) =>
  sql`CREATE TABLE IF NOT EXISTS ${sql(table)} (
    execution_id VARCHAR(255) NOT NULL,
    submission VARCHAR(64) NOT NULL,
    segment INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    PRIMARY KEY (execution_id, submission, segment)
  )`
)

/** Makes the table, where a run's process starts (as `CancelRequests.ensure`, for the same reason). */
export const ensure = ensureTable

/**
 * The journal's reads and writes are the run's steps: tried again as the engine's steps are when its database fails
 * (`StorageOutcome.stepThroughFailures`: a server's as long as it fails, a state file's briefly), each failure told to
 * `onRetry` first.
 */
export const throughOutages = <A, R>(
  effect: Effect.Effect<A, SqlError.SqlError, R>,
  onRetry?: (error: unknown) => Effect.Effect<void>
): Effect.Effect<A, SqlError.SqlError, R | SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => StorageOutcome.stepThroughFailures(sql, onRetry)(effect))

/** A run's journaled segments: each one's outcome, as written, by its number. */
export const load = (
  executionId: string,
  submission: string
): Effect.Effect<Map<number, string>, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(
      throughOutages(sql<{ readonly segment: number; readonly outcome: string }>`
        SELECT segment, outcome FROM ${sql(table)}
        WHERE execution_id = ${executionId} AND submission = ${submission}`),
      (rows) => new Map(rows.map((row) => [Number(row.segment), row.outcome]))
    ))

/**
 * Whether the table is there, asked of the database's catalogue: a query of a missing table would fail, and the
 * client would keep that failed statement for minutes after the table is made (a reader open meanwhile would show
 * no progress).
 */
const exists = (sql: SqlClient.SqlClient) =>
  Effect.map(
    sql.onDialectOrElse({
      pg: () => sql<{ readonly found: unknown }>`SELECT to_regclass(${table}) AS found`,
      orElse: () => sql<{ readonly found: unknown }>`SELECT name AS found FROM sqlite_master WHERE name = ${table}`
    }),
    (rows) => rows.length > 0 && rows[0].found !== null && rows[0].found !== undefined
  )

/**
 * Every run's journaled segments in their order, or only those of the runs `executionIds` names, for the runs'
 * states (none in a database without the table).
 */
export const all = (executionIds?: ReadonlyArray<string>): Effect.Effect<
  ReadonlyArray<
    { readonly execution_id: string; readonly submission: string; readonly segment: number; readonly outcome: string }
  >,
  SqlError.SqlError,
  SqlClient.SqlClient
> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.flatMap(exists(sql), (found) =>
      found
        ? sql<{ execution_id: string; submission: string; segment: number; outcome: string }>`
          SELECT execution_id, submission, segment, outcome FROM ${sql(table)}
          ${executionIds === undefined ? sql`` : sql`WHERE ${sql.in("execution_id", executionIds)}`}
          ORDER BY execution_id, segment`
        : Effect.succeed([])))

/**
 * Writes a segment's outcome, and gives back the one journaled: one already written (by a process that ran the same
 * segment, a runner taken for dead that was not) stays as it was, and is the run's. Tried once: the caller reports
 * each failure to the state file's health before it tries again ({@link throughOutages}).
 */
export const record = (
  executionId: string,
  submission: string,
  segment: number,
  outcome: string
): Effect.Effect<string, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      // One statement when the row is new (the segment's usual case): a row comes back only if it was written.
      sql<{ readonly outcome: string }>`INSERT INTO ${sql(table)} (execution_id, submission, segment, outcome)
      VALUES (${executionId}, ${submission}, ${segment}, ${outcome})
      ON CONFLICT DO NOTHING RETURNING outcome`.pipe(
        Effect.flatMap((written) =>
          written.length > 0 ? Effect.succeed(outcome) : Effect.map(
            sql<{ readonly outcome: string }>`
            SELECT outcome FROM ${sql(table)}
            WHERE execution_id = ${executionId} AND submission = ${submission} AND segment = ${segment}`,
            (rows) => rows[0]?.outcome ?? outcome
          )
        )
      )
  )

/** Forgets a run's segments, with its engine rows when it is pruned. */
export const forget = (executionId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* ensureTable
    yield* sql`DELETE FROM ${sql(table)} WHERE execution_id = ${executionId}`
  })
