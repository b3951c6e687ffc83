/**
 * Where durable runs keep their state: the workflow engine of `@effect/cluster` over SQL. The embedded default is
 * one SQLite file, used by one process at a time (a second process on the same file is refused, naming the first:
 * two single runners on one file would each take the other's work). For several processes or machines, runners
 * share one Postgres database and split the runs between them; a runner that dies leaves its runs to the others.
 *
 * @since 0.1.0
 */
import type * as SocketServer from "@effect/platform/SocketServer"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import type * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Tls from "node:tls"
import * as internal from "./internal/durableEngine.js"

/** The holder as it wrote itself in `<state>.owner`, in words; its text as it is when it is not that. */
const holderOf = (owner: string) => {
  try {
    const { command, host, pid, startedAt } = JSON.parse(owner)
    if (typeof pid !== "number") return owner
    return `process ${pid}` + (typeof host === "string" ? ` on ${host}` : "") +
      (typeof startedAt === "string" ? `, started ${startedAt}` : "") +
      (typeof command === "string" ? `, running ${command}` : "")
  } catch {
    return owner
  }
}

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
    return `The state file ${this.path} is in use by another process (${
      holderOf(this.owner)
    }); run one process per state file`
  }
}

/**
 * The state file cannot be written: the disk is full, read-only, or refuses it. Found when the engine starts (a
 * write to the file before anything runs), or while it runs, when its storage keeps failing so for a few seconds:
 * the runs on it then stop where their journal is, nothing reverted, to resume once the file can be written.
 *
 * @since 0.2.0
 * @category errors
 */
export class StateUnwritable
  extends Schema.TaggedError<StateUnwritable>("@effect-orb/workflow/StateUnwritable")("StateUnwritable", {
    path: Schema.String,
    /** Why, in words, with the system's code (`SQLITE_FULL`, `EROFS`, ...). */
    reason: Schema.String
  })
{
  override get message() {
    return `The state file ${this.path} cannot be written: ${this.reason}; its runs stop where their journal is, ` +
      "nothing reverted, until it can be written again"
  }
}

/**
 * Runs `effect` (a read of the runs, a wait on one) again while the engine's database fails, as a run's own steps
 * are: a server's database as long as it fails (1 second, then 2, 4, ... up to a minute apart), a state file's three
 * times 100 ms apart (its health says the rest: {@link whileWritable}). `onRetry` is told each failure first (a
 * `SqlError`, a `PersistenceError`). Any other failure, and an interruption, ends it at once. Needs the engine's
 * `SqlClient`, as the engine's layers provide it.
 *
 * @since 0.2.0
 * @category combinators
 */
export const throughStorageFailures: <A, E, R, R2 = never>(
  effect: Effect.Effect<A, E, R>,
  onRetry?: (error: unknown) => Effect.Effect<void, never, R2>
) => Effect.Effect<A, E, R | R2 | SqlClient.SqlClient> = internal.throughStorageFailures

/**
 * Runs `effect` (a wait on a run, say) until the state file it works on turns out unwritable, then fails with
 * `StateUnwritable` instead of waiting on a store that cannot record anything. Without the SQLite engine
 * (`layerSqlite`) in context, it is `effect` as it is.
 *
 * @since 0.2.0
 * @category combinators
 */
export const whileWritable: <A, E, R>(
  effect: Effect.Effect<A, E, R>
) => Effect.Effect<A, E | StateUnwritable, R> = (effect) => internal.whileWritable(StateUnwritable)(effect)

/**
 * The state file cannot be read: it is no SQLite database (another file given for it), or a damaged one (a copy cut
 * short, a disk's fault). Neither a retry nor room on the disk cures it: the right file, or a backup of it, does.
 * Found when the engine opens the file, and by {@link readingState} around what reads it.
 *
 * @since 0.2.0
 * @category errors
 */
export class StateDamaged
  extends Schema.TaggedError<StateDamaged>("@effect-orb/workflow/StateDamaged")("StateDamaged", {
    path: Schema.String,
    /** Why, in words, with SQLite's code (`SQLITE_NOTADB`, `SQLITE_CORRUPT`). */
    reason: Schema.String
  })
{
  override get message() {
    return `The state file ${this.path} cannot be read: ${this.reason}`
  }
}

/**
 * Runs `effect` on the state file `filename` (a read of its runs through `layerSqliteReader`, say), failing with
 * `StateDamaged` instead when it failed or died of that file being no database or a damaged one: SQLite finds that
 * only when it reads the pages concerned, so a layer that opened the file cannot promise it.
 *
 * @since 0.2.0
 * @category combinators
 */
export const readingState = (
  filename: string
): <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | StateDamaged, R> =>
  internal.readingState(filename, StateDamaged)

const stateErrors = { StateLocked, StateUnwritable, StateDamaged }

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
 * it is up. The file and those beside it (`-wal`, `-shm`, `.lock`, `.owner`) are readable by their owner only
 * (created so, tightened if they were not). The file is written once before the engine starts (`StateUnwritable`
 * when it cannot be, `StateDamaged` when it is no database or a damaged one); and after every step (an activity's
 * result, a segment's, a run's outcome) and at shutdown, the journal is copied into the main file, which alone then
 * holds every run as of its last finished step.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSqlite = (
  options: SqliteOptions
): Layer.Layer<
  WorkflowEngine.WorkflowEngine | SqlClient.SqlClient,
  StateLocked | StateUnwritable | StateDamaged | ConfigError.ConfigError
> => internal.layerSqlite(options, stateErrors)

/**
 * The state file opened for writing without the engine, holding the one-process lock (`StateLocked` while an engine
 * runs on it): for upkeep such as `DurableRun.prune`, which then resumes no run.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSqliteMaintenance = (
  options: SqliteOptions
): Layer.Layer<SqlClient.SqlClient, StateLocked | StateUnwritable | StateDamaged | ConfigError.ConfigError> =>
  internal.layerSqliteMaintenance(options, stateErrors)

/**
 * The state file opened for writing beside the process that holds it, without the lock and without the engine: for
 * the few writes that process reads while it runs, a cancel request (`DurableRun.requestCancel`). A write waits up to
 * 5 seconds for the holder's to end. Nothing else may write through it: two engines on one file would each take the
 * other's work.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerSqliteBeside = (options: SqliteOptions): Layer.Layer<SqlClient.SqlClient, ConfigError.ConfigError> =>
  internal.layerSqliteBeside(options)

/**
 * The state file opened read-only, without the engine, for reading where runs are (`DurableRun.list`) beside the
 * process that runs them. It changes nothing of the file; where its folder may not be written (a read-only disk,
 * another user's folder), it reads a copy, removed with the layer (SQLite reads a file in WAL mode only with a file
 * of its own beside it). A file that is no state file (no database, or another application's) fails it with
 * `StateDamaged`, unopened.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSqliteReader = (
  options: SqliteOptions
): Layer.Layer<SqlClient.SqlClient, ConfigError.ConfigError | StateDamaged> =>
  internal.layerSqliteReader(options, StateDamaged)

/**
 * Where the Postgres database is: a connection URL (`Redacted`, as it may hold the password), or its fields.
 *
 * @since 0.1.0
 * @category models
 */
export type PostgresConnection =
  | { readonly url: Redacted.Redacted }
  | {
    readonly host: string
    /** Default 5432. */
    readonly port?: number | undefined
    readonly database?: string | undefined
    readonly username?: string | undefined
    readonly password?: Redacted.Redacted | undefined
    /** TLS to the database: `true`, or Node's TLS options. Default off. */
    readonly ssl?: boolean | Tls.ConnectionOptions | undefined
  }

/**
 * Where the other runners reach a runner: the host and port of its socket server.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunnerAddress {
  readonly host: string
  readonly port: number
}

/**
 * The cluster engine's options: the database, and either this runner's address or `clientOnly: true`.
 *
 * @since 0.1.0
 * @category models
 */
export type PostgresOptions =
  & {
    /** The database every runner and client of the cluster shares (its tables are named `cluster_*`). */
    readonly postgres: PostgresConnection
    /**
     * How this process names itself to Postgres (`application_name`, shown in `pg_stat_activity` beside the shard
     * locks it holds, which tells which runner runs what); default `effect-orb-workflow`.
     */
    readonly applicationName?: string | undefined
    /**
     * How long a query may wait for a connection to the database, a new one or a free one of the pool (`pg`'s pool
     * counts both); default 10 seconds. A server that never answers fails the query that needed it (a `SqlError`,
     * waited out as any failure of the database) instead of holding it for ever.
     */
    readonly connectTimeout?: Duration.DurationInput | undefined
    /**
     * How long a connection may wait for an answer while hearing nothing from the server; default 30 seconds. Then
     * the connection is dropped: its queries fail (a `SqlError`, waited out as any failure of the database) and the
     * next ones get a new connection. A server that stops answering on open connections (a failover that leaves the
     * old server's connections hanging, a network cut, a hung server) otherwise holds the runs' steps for the
     * system's TCP timeout (about 15 minutes), or for ever. Keep it above the longest statement the engine's database
     * may take; `Duration.infinity` (or zero) turns it off.
     *
     * @since 0.2.0
     */
    readonly queryTimeout?: Duration.DurationInput | undefined
  }
  & (
    | {
      /** This runner's address as the other runners reach it: unique in the cluster. */
      readonly runnerAddress: RunnerAddress
      /** Where the socket server listens, when not the runner address (`0.0.0.0` in a container, say). */
      readonly listenAddress?: RunnerAddress | undefined
      readonly clientOnly?: false | undefined
    }
    | {
      /** Submits and polls runs without running any: no socket server, no shards, no activities. */
      readonly clientOnly: true
    }
  )

/**
 * The cluster engine: runner processes, on one machine or several, sharing one Postgres database. Runs are spread
 * over the runners by their execution id; a runner that stops (even by kill -9) leaves its runs to the others
 * within seconds, and they resume them from the journal. A client-only engine submits and polls runs, and runs
 * nothing itself. Also provides its `SqlClient`, for `DurableRun.list`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerPostgres = (
  options: PostgresOptions
): Layer.Layer<
  WorkflowEngine.WorkflowEngine | SqlClient.SqlClient,
  SqlError.SqlError | SocketServer.SocketServerError | ConfigError.ConfigError
> => internal.layerPostgres(options)
