/**
 * Where durable runs keep their state: the workflow engine of `@effect/cluster` over SQL. The embedded default is
 * one SQLite file, used by one process at a time (a second process on the same file is refused, naming the first:
 * two single runners on one file would each take the other's work).
 *
 * @since 0.1.0
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import type * as ConfigError from "effect/ConfigError"
import type * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as internal from "./internal/durableEngine.js"

/**
 * The state file is held by another process.
 *
 * @since 0.1.0
 * @category errors
 */
export class StateLocked extends Schema.TaggedError<StateLocked>("@effect-orb/workflow/StateLocked")("StateLocked", {
  path: Schema.String,
  /** What the holder wrote of itself: process id, host, start time and command line. */
  owner: Schema.String
}) {
  override get message() {
    return `The state file ${this.path} is in use by another process (${this.owner}); run one process per state file`
  }
}

/**
 * @since 0.1.0
 * @category models
 */
export interface SqliteOptions {
  /** The state file; created when missing. */
  readonly filename: string
}

/**
 * The embedded engine: a single runner on one SQLite file, resuming every unfinished run of that file as soon as
 * it is up.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSqlite = (
  options: SqliteOptions
): Layer.Layer<WorkflowEngine.WorkflowEngine | SqlClient.SqlClient, StateLocked | ConfigError.ConfigError> =>
  internal.layerSqlite(options, StateLocked)

/**
 * The state file opened read-only, without the engine, for reading where runs are (`DurableRun.list`) beside the
 * process that runs them.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSqliteReader = (options: SqliteOptions): Layer.Layer<SqlClient.SqlClient, ConfigError.ConfigError> =>
  internal.layerSqliteReader(options)
