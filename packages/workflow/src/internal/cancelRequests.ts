/**
 * Cancel requests: a row per run in a table of ours beside the engine's, looked at before every step that sends
 * something after the create (each segment, the close, each poll). Not `Workflow.interrupt` (it takes effect only
 * when the workflow suspends, which a run ingesting never does before its close, and runs no revert), nor a durable
 * deferred (its message waits in the workflow entity's mailbox until the run suspends or ends): a table is read at
 * once, whoever wrote it.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as OwnTables from "./ownTables.js"

const table = "effect_orb_cancelled_runs"

const ensureTable = OwnTables.create((sql) =>
  sql`CREATE TABLE IF NOT EXISTS ${sql(table)} (execution_id VARCHAR(255) PRIMARY KEY)`
)

/**
 * Whether the run was asked to stop. A database that cannot answer reads as "not asked": the run then goes on to its
 * next step and asks again before it, so a cancel is at worst seen one step late; failing the run for it would revert
 * hours of work over a blip of the engine's own database.
 */
export const isRequested = (executionId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`SELECT execution_id FROM ${sql(table)} WHERE execution_id = ${executionId}`
  ).pipe(
    Effect.map((rows) => rows.length > 0),
    Effect.orElseSucceed(() => false)
  )

/**
 * Makes the table, where a run's process starts: its first look for a request must find the table, as a statement
 * that failed to prepare (the table missing) is remembered as failed by the client's statement cache, and would read
 * "not asked" for minutes after another process made the table with its request.
 */
export const ensure = ensureTable

/** Records a cancel request; requesting twice is one request. */
export const request = (executionId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* ensureTable
    yield* sql`INSERT INTO ${sql(table)} (execution_id) VALUES (${executionId}) ON CONFLICT DO NOTHING`
  })

/** Forgets a run's request, with its engine rows when it is pruned. */
export const forget = (executionId: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* ensureTable
    yield* sql`DELETE FROM ${sql(table)} WHERE execution_id = ${executionId}`
  })
