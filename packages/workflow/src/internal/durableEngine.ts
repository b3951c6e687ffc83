/**
 * The engine's layers, and the lock that keeps one process per state file.
 */
import * as ClusterWorkflowEngine from "@effect/cluster/ClusterWorkflowEngine"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as Runners from "@effect/cluster/Runners"
import * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as SqlClient from "@effect/sql/SqlClient"
import Database from "better-sqlite3"
import * as Cause from "effect/Cause"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type * as DurableEngine from "../DurableEngine.js"
import * as PgPool from "./pgPool.js"
import * as StateStore from "./stateStore.js"
import * as StorageOutcome from "./storageOutcome.js"

/**
 * The engine's timings for a run's needs: durable sleeps (the polls for reflection) and delayed messages are looked
 * for every second, not every 10; a shutdown waits 3 seconds for the activity in flight, not 15 (one cut short is
 * run again on resume, and its requests are replays).
 */
const shardingConfig = { entityMessagePollInterval: "1 second", entityTerminationTimeout: "3 seconds" } as const

/** The state file's errors, declared by the public module. */
export interface StateErrors {
  readonly StateLocked: typeof DurableEngine.StateLocked
  readonly StateUnwritable: typeof DurableEngine.StateUnwritable
  readonly StateDamaged: typeof DurableEngine.StateDamaged
}

/**
 * One process per state file: an exclusive SQLite lock on `<state>.lock` (the operating system drops it when the
 * process dies, even by kill -9, so it is never left stale), and `<state>.owner` naming the holder. Then the files
 * are made private and the state file is written once: a store that cannot be written is refused here, before the
 * engine starts and before anything is sent. A file that is no SQLite database is refused first, left as it was.
 */
const open = (filename: string, { StateDamaged, StateLocked, StateUnwritable }: StateErrors) =>
  Effect.acquireRelease(
    Effect.suspend((): Effect.Effect<
      Database.Database,
      DurableEngine.StateLocked | DurableEngine.StateUnwritable | DurableEngine.StateDamaged
    > => {
      const unwritable = (error: unknown) => {
        const damaged = StateStore.damagedReason(error)
        if (damaged !== undefined) return Effect.fail(new StateDamaged({ path: filename, reason: damaged }))
        const reason = StateStore.unwritableReason(error, filename)
        return reason === undefined ? Effect.die(error) : Effect.fail(new StateUnwritable({ path: filename, reason }))
      }
      const notAStateFile = StateStore.notAStateFile(filename)
      if (notAStateFile !== undefined) return Effect.fail(new StateDamaged({ path: filename, reason: notAStateFile }))
      try {
        StateStore.makePrivate(filename)
      } catch (error) {
        return unwritable(error)
      }
      let db: Database.Database
      try {
        db = new Database(`${filename}.lock`, { timeout: 0 })
      } catch (error) {
        return unwritable(error)
      }
      try {
        db.pragma("locking_mode = EXCLUSIVE")
        db.exec("BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS lock (x); COMMIT")
      } catch (error) {
        db.close()
        if ((error as { code?: unknown }).code !== "SQLITE_BUSY") return unwritable(error)
        let owner = "unknown"
        try {
          owner = fs.readFileSync(`${filename}.owner`, "utf8").trim()
        } catch {
          // The holder has not written it yet.
        }
        return Effect.fail(new StateLocked({ path: filename, owner }))
      }
      try {
        fs.writeFileSync(
          `${filename}.owner`,
          JSON.stringify({
            pid: process.pid,
            host: os.hostname(),
            startedAt: new Date().toISOString(),
            // The script only: a command line may carry secrets.
            command: process.argv[1]
          }),
          { mode: 0o600 }
        )
        const reason = StateStore.probe(filename)
        if (reason !== undefined) {
          db.close()
          return Effect.fail(new StateUnwritable({ path: filename, reason }))
        }
      } catch (error) {
        db.close()
        return unwritable(error)
      }
      return Effect.succeed(db)
    }),
    (db) => Effect.sync(() => db.close())
  )

/**
 * `SingleRunner.layer`'s parts, with the storages watched (`StateStore.watchStorage`): a runner on one SQLite file
 * whose storage failing for want of room ends the waits on it rather than being retried for ever.
 */
const singleRunner = Sharding.layer.pipe(
  Layer.provideMerge(Runners.layerNoop),
  Layer.provideMerge(
    StateStore.watchStorage(Layer.merge(SqlMessageStorage.layer, Layer.orDie(SqlRunnerStorage.layer)))
  ),
  Layer.provide(RunnerHealth.layerNoop),
  // Every setting given, none read from the process environment (`layerFromEnv` reads `SHARDS_PER_GROUP`, `HOST`, ...
  // in constant case): a variable set for something else must not change how a state file's runs are stored. It also
  // spares the engine's start the parsing of twenty settings (about 1,000 of the Effect runtime's operations).
  Layer.provide(ShardingConfig.layer(shardingConfig))
)

export const layerSqlite = (options: DurableEngine.SqliteOptions, errors: StateErrors) =>
  ClusterWorkflowEngine.layer.pipe(
    Layer.provide(singleRunner),
    Layer.provideMerge(StateStore.layerHealth(options.filename, errors.StateUnwritable)),
    Layer.provideMerge(SqliteClient.layer({ filename: options.filename })),
    Layer.provide(Layer.scopedDiscard(open(options.filename, errors)))
  )

export const layerSqliteMaintenance = (options: DurableEngine.SqliteOptions, errors: StateErrors) =>
  SqliteClient.layer({ filename: options.filename }).pipe(
    Layer.provide(Layer.scopedDiscard(open(options.filename, errors)))
  )

export const layerSqliteBeside = (options: DurableEngine.SqliteOptions) =>
  SqliteClient.layer({ filename: options.filename })

/**
 * The state file as a reader may open it: the file itself, or, when its folder may not be written (a read-only disk,
 * another user's folder), a copy of it and of its journal in a temporary folder of this process's, removed with the
 * scope. SQLite reads a file in WAL mode only with its shared-memory file (`-shm`) beside it, which it makes when it
 * is missing ("unable to open database file").
 */
const readable = (filename: string) =>
  Effect.gen(function*() {
    try {
      fs.accessSync(path.dirname(path.resolve(filename)), fs.constants.W_OK)
      return filename
    } catch {
      // Copied below.
    }
    const copy = yield* Effect.acquireRelease(
      Effect.sync(() => {
        try {
          return fs.mkdtempSync(path.join(os.tmpdir(), "effect-orb-state-"))
        } catch {
          return undefined
        }
      }),
      (dir) => Effect.sync(() => dir !== undefined && fs.rmSync(dir, { recursive: true, force: true }))
    )
    // No room for a copy: the file itself, and what opens it says why it cannot.
    if (copy === undefined) return filename
    const copied = path.join(copy, path.basename(filename))
    // A process may be writing it (from a folder this one may not write): copied again until neither the file nor
    // its journal changed while it was copied, the journal first.
    const seen = () =>
      [filename, `${filename}-wal`].map((file) => {
        try {
          const stat = fs.statSync(file)
          return `${stat.size}:${stat.mtimeMs}`
        } catch {
          return "-"
        }
      }).join(",")
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const before = seen()
        fs.rmSync(`${copied}-wal`, { force: true })
        if (fs.existsSync(`${filename}-wal`)) fs.copyFileSync(`${filename}-wal`, `${copied}-wal`)
        fs.copyFileSync(filename, copied)
        if (seen() === before) return copied
      } catch {
        // Not to be read (missing, say): what opens it says why.
        return filename
      }
    }
    return copied
  })

// Read-only, and without `journal_mode = WAL`: a reader changes nothing of the file (a file of something else, say,
// whose journal mode it could not set: "attempt to write a readonly database").
export const layerSqliteReader = (
  options: DurableEngine.SqliteOptions,
  StateDamaged: typeof DurableEngine.StateDamaged
) =>
  Layer.unwrapScoped(Effect.gen(function*() {
    // Not opened at all when it is no state file (opening another application's database in WAL mode leaves files
    // beside it).
    const notAStateFile = StateStore.notAStateFile(options.filename)
    if (notAStateFile !== undefined) return yield* new StateDamaged({ path: options.filename, reason: notAStateFile })
    const filename = yield* readable(options.filename)
    return SqliteClient.layer({ filename, readonly: true, disableWAL: true })
  }))

export const throughStorageFailures = <A, E, R, R2 = never>(
  effect: Effect.Effect<A, E, R>,
  onRetry?: (error: unknown) => Effect.Effect<void, never, R2>
): Effect.Effect<A, E, R | R2 | SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => StorageOutcome.stepThroughFailures(sql, onRetry)(effect))

export const readingState = (filename: string, StateDamaged: typeof DurableEngine.StateDamaged) =>
<A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | DurableEngine.StateDamaged, R> =>
  Effect.catchAllCause(
    effect,
    (cause): Effect.Effect<never, E | DurableEngine.StateDamaged> => {
      if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
      // A read that failed on a file of something else (its tables are not there) says so.
      const reason = StateStore.damagedReason(cause) ?? StateStore.notAStateFile(filename)
      return reason === undefined ? Effect.failCause(cause) : Effect.fail(new StateDamaged({ path: filename, reason }))
    }
  )

export const whileWritable = (StateUnwritable: typeof DurableEngine.StateUnwritable) =>
<A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E | DurableEngine.StateUnwritable, R> =>
  Effect.flatMap(
    Effect.serviceOption(StateStore.StateHealth),
    (health) =>
      Option.isNone(health) ? effect : Effect.raceFirst(effect, health.value.unwritable).pipe(
        // The engine's own call may give up first, on its storage's failure, as a defect that need not say why:
        // when the store cannot be written now, that is the failure.
        Effect.catchAllCause((cause) =>
          Cause.isInterruptedOnly(cause) || Cause.isFailType(cause)
            ? Effect.failCause(cause)
            : Effect.flatMap(
              health.value.check,
              (reason) =>
                reason === undefined
                  ? Effect.failCause(cause)
                  : Effect.fail(new StateUnwritable({ path: health.value.path, reason }))
            )
        )
      )
  )

/**
 * How fast a dead runner's runs move: each runner stamps its heartbeat (and holds its shards' advisory locks) every
 * 2 seconds, a runner whose heartbeat is 6 seconds old is taken for gone, and the survivors look at the runners
 * every second. A runner that is only slow (a long pause, a busy machine) is not robbed: its shards stay its own for
 * as long as its Postgres session holds their advisory locks, which only its death (or a lost connection) drops.
 */
const shardLocks = {
  shardLockRefreshInterval: "2 seconds",
  shardLockExpiration: "6 seconds",
  refreshAssignmentsInterval: "1 second"
} as const

const address = (option: string, value: DurableEngine.RunnerAddress) =>
  value.host.length > 0 && Number.isInteger(value.port) && value.port > 0 && value.port < 65_536
    ? Effect.succeed(RunnerAddress.make(value.host, value.port))
    : Effect.fail(
      ConfigError.InvalidData([option], `expected a host and a port from 1 to 65535, got ${value.host}:${value.port}`)
    )

/**
 * How long a query may wait for a connection to the database before it fails, when the options do not say: a server
 * that never answers (a firewall dropping packets, a hung server) is otherwise waited for ever, by every query that
 * needs a new connection, and a process stopped meanwhile does not stop (the acquisition is not interruptible:
 * `@effect/sql-pg`'s own timeout of its first query waits for it too). `pg`'s pool bounds a wait for a free
 * connection by the same setting.
 */
const defaultConnectTimeout = Duration.seconds(10)

/**
 * How long a query on an open connection may go without its answer before the connection is dropped, when the
 * options do not say (`internal/pgPool.ts`): well above what the engine's own statements take on a busy server.
 */
const defaultQueryTimeout = Duration.seconds(30)

export const layerPostgres = (options: DurableEngine.PostgresOptions) =>
  Layer.unwrapEffect(Effect.gen(function*() {
    // Every setting is given, so that the process environment (`HOST`, `PORT`, ...: `NodeClusterSocket` reads it)
    // never chooses one behind the caller's back.
    const base = { ...ShardingConfig.defaults, ...shardingConfig, ...shardLocks }
    const sockets = options.clientOnly === true
      ? NodeClusterSocket.layer({ clientOnly: true, shardingConfig: { ...base, runnerAddress: Option.none() } })
      : NodeClusterSocket.layer({
        shardingConfig: {
          ...base,
          runnerAddress: Option.some(yield* address("runnerAddress", options.runnerAddress)),
          runnerListenAddress: options.listenAddress === undefined
            ? Option.none()
            : Option.some(yield* address("listenAddress", options.listenAddress))
        }
      })
    return ClusterWorkflowEngine.layer.pipe(
      Layer.provide(sockets),
      Layer.provideMerge(PgPool.layer({
        connection: options.postgres,
        applicationName: options.applicationName ?? "effect-orb-workflow",
        connectTimeout: Duration.decode(options.connectTimeout ?? defaultConnectTimeout),
        queryTimeout: Duration.decode(options.queryTimeout ?? defaultQueryTimeout)
      }))
    )
  }))
