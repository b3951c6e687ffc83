/**
 * The state file as storage: its files kept private to their owner, a write probe at start, the cluster's storage
 * watched for failures that only room on the disk (or a writable one) would cure, and the journal checkpointed into
 * the main file at the steps that matter.
 */
import * as MessageStorage from "@effect/cluster/MessageStorage"
import * as RunnerStorage from "@effect/cluster/RunnerStorage"
import * as SqlClient from "@effect/sql/SqlClient"
import Database from "better-sqlite3"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as path from "node:path"
import type * as DurableEngine from "../DurableEngine.js"
import * as StorageOutcome from "./storageOutcome.js"

/** The files of a state file: itself, SQLite's journal and shared memory, the lock and its holder's note. */
const files = (filename: string) =>
  [filename, `${filename}-wal`, `${filename}-shm`, `${filename}.lock`, `${filename}.owner`] as const

/** What only the owner may read and write: the files hold paths, customer ids and timeframes. */
const privateMode = 0o600

/**
 * Creates the file if missing, readable by its owner only whatever the umask; an existing file open to others is
 * tightened (it is ours: the engine made it, or was pointed at it to keep its state there).
 */
const ensurePrivate = (file: string, create: boolean) => {
  if (create) fs.closeSync(fs.openSync(file, "a", privateMode))
  try {
    if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, privateMode)
  } catch (error) {
    // Not there (a journal not yet made), or not ours to change: it is read and written as it is.
    if (!isCode(error, "ENOENT", "EPERM")) throw error
  }
}

const isCode = (error: unknown, ...codes: ReadonlyArray<string>) =>
  typeof (error as { code?: unknown } | null)?.code === "string" && codes.includes((error as { code: string }).code)

/**
 * The main file (created when missing) and every file beside it made private. SQLite gives the journal and the
 * shared memory it creates later the main file's mode, so they are private from their start.
 */
export const makePrivate = (filename: string) => {
  for (const file of files(filename)) ensurePrivate(file, file === filename || file === `${filename}.lock`)
}

/**
 * Whether the disk holding the file has no room left: SQLite reports some writes a full disk refused as I/O errors
 * (its shared memory that could not grow, say), without the system's code.
 */
const diskIsFull = (filename: string) => {
  try {
    const stats = fs.statfsSync(path.dirname(filename))
    return stats.bavail * stats.bsize < 64 * 1024
  } catch {
    return false
  }
}

/**
 * The first reason `reasonOf` gives for a system or SQLite error code of `error`: each failure and defect of a cause,
 * and each of the errors it was caused by (a few deep), in turn.
 */
const reasonOfCodes = (
  error: unknown,
  reasonOf: (code: string, failure: { readonly message?: unknown }) => string | undefined
): string | undefined => {
  const errors = Cause.isCause(error) ? [...Cause.failures(error), ...Cause.defects(error)] : [error]
  for (const failure of errors) {
    for (let current = failure, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
      const code = (current as { code?: unknown }).code
      const reason = typeof code === "string" ? reasonOf(code, current as { message?: unknown }) : undefined
      if (reason !== undefined) return reason
      current = (current as { cause?: unknown }).cause
    }
  }
  return undefined
}

/**
 * Why the state file cannot be written, when that is the failure: the first cause that only room on the disk, or a
 * writable one, cures (a retry cannot).
 */
export const unwritableReason = (error: unknown, filename: string): string | undefined =>
  reasonOfCodes(error, (code, failure) => {
    if (code === "SQLITE_FULL" || code === "ENOSPC") return `the disk is full (${code})`
    if (code.startsWith("SQLITE_READONLY") || code === "EROFS") return `it is read-only (${code})`
    if (code === "EACCES") return `it may not be written (${code})`
    if (code.startsWith("SQLITE_IOERR") || code === "SQLITE_CANTOPEN" || code === "EIO") {
      if (diskIsFull(filename)) return `the disk is full (${code})`
      return `the disk refuses it (${code}${typeof failure.message === "string" ? `: ${failure.message}` : ""})`
    }
    return undefined
  })

/** The first 16 bytes of every SQLite database. */
const sqliteHeader = Buffer.from("SQLite format 3\0", "latin1")

/** Up to this size, a database in WAL mode is looked at in memory; a bigger one is not looked at. */
const inMemoryBytes = 64 * 1024 * 1024

/**
 * A connection to read a database's tables that leaves no file beside it: SQLite opens a database in WAL mode (its
 * header's bytes 18 and 19 are 2) only with a `-wal` and a `-shm` beside it, which it makes, and a read-only
 * connection leaves them; such a database is read from a copy in memory, marked as not in WAL mode (what its `-wal`
 * holds, if it has one, is not seen: the tables of an application's database are in its main file).
 */
const tablesReader = (filename: string): Database.Database | undefined => {
  const header = Buffer.alloc(20)
  const fd = fs.openSync(filename, "r")
  try {
    fs.readSync(fd, header, 0, header.length, 0)
  } finally {
    fs.closeSync(fd)
  }
  if (header[18] !== 2 && header[19] !== 2) return new Database(filename, { readonly: true, fileMustExist: true })
  if (fs.statSync(filename).size > inMemoryBytes) return undefined
  const bytes = fs.readFileSync(filename)
  bytes[18] = 1
  bytes[19] = 1
  return new Database(bytes)
}

/** The tables of a state file: the cluster's, and ours beside them. */
const isStateTable = (name: string) => name.startsWith("cluster_") || name.startsWith("effect_orb_")

/**
 * Why a file that exists is not a state file, found before anything opens it to write, so that a file given for the
 * state file by mistake is left as it was, its mode included, with no lock or owner file beside it: no SQLite
 * database, from its first bytes (the events file, say; an empty one is a new database), or a SQLite database of
 * something else, from its tables (another application's: the engine would add its tables to it). A database with no
 * tables is a new state file; one that cannot be read here is the opening's to explain.
 */
export const notAStateFile = (filename: string): string | undefined => {
  let fd: number | undefined
  try {
    fd = fs.openSync(filename, "r")
    const head = Buffer.alloc(sqliteHeader.length)
    const read = fs.readSync(fd, head, 0, head.length, 0)
    if (read === 0) return undefined
    if (read !== head.length || !head.equals(sqliteHeader)) return damagedReason({ code: "SQLITE_NOTADB" })
  } catch {
    // Missing (a new state file), or unreadable: the opening says why.
    return undefined
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
  // One the engine has opened before (its lock file beside it) is a state file: its tables are not read again.
  if (fs.existsSync(`${filename}.lock`)) return undefined
  let db: Database.Database | undefined
  try {
    db = tablesReader(filename)
    if (db === undefined) return undefined
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck()
      .all() as Array<string>
    if (tables.length === 0 || tables.some(isStateTable)) return undefined
    const shown = tables.slice(0, 5).join(", ") + (tables.length > 5 ? `, and ${tables.length - 5} more` : "")
    return `it is a SQLite database of something else (its tables: ${shown}), not a state file of durable runs`
  } catch {
    // Damaged, or not to be read here: what opens it says why.
    return undefined
  } finally {
    db?.close()
  }
}

/**
 * Why the state file cannot be read, when that is the failure: SQLite finds it is no database (another file given
 * for it, or one damaged from its first page) or a damaged one (a copy cut short, a disk that corrupted it). Neither
 * a retry nor room on the disk cures that.
 */
export const damagedReason = (error: unknown): string | undefined =>
  reasonOfCodes(error, (code) =>
    code === "SQLITE_NOTADB"
      ? "it is not a SQLite database (SQLITE_NOTADB): another file given for it, or one damaged from its start"
      : code.startsWith("SQLITE_CORRUPT")
      ? `it is damaged (${code}: the database disk image is malformed), a copy cut short or a disk's fault`
      : undefined)

/** The probe's table: a row of when the file was last opened, and the health's passing writes. */
const probeTable = "effect_orb_state_probe"

/**
 * Writes to the state file as the engine will, before the engine starts: the journal checkpointed and emptied, then
 * a row written, so that the write needs room of its own. A disk that is full or read-only fails it at once, rather
 * than the engine's storage failing in a loop behind a run that waits.
 */
export const probe = (filename: string): string | undefined => {
  let db: Database.Database | undefined
  try {
    db = new Database(filename, { timeout: 5_000 })
    db.pragma("journal_mode = WAL")
    db.pragma("wal_checkpoint(TRUNCATE)")
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${probeTable} (id INTEGER PRIMARY KEY, at NOT NULL);` +
        `INSERT OR REPLACE INTO ${probeTable} (id, at) VALUES (1, '${new Date().toISOString()}')`
    )
    db.pragma("wal_checkpoint(TRUNCATE)")
    return undefined
  } catch (error) {
    const reason = unwritableReason(error, filename)
    if (reason === undefined) throw error
    return reason
  } finally {
    try {
      db?.close()
    } catch {
      // Closing checkpoints: on a full disk that fails too, and the probe has already said why.
    }
  }
}

/**
 * How the engine's storage is faring. Its operations' failures do not always say why (SQLite rolls a transaction
 * back by itself on a full disk, and the engine then reports only that its own rollback found none), so a failure
 * is followed by a write of its own, of a few pages, on the engine's connection: `check` says why that cannot be
 * written, if it cannot. `unwritable` fails once such writes have failed a few times on end over about 1.5 s.
 */
export class StateHealth extends Context.Tag("@effect-orb/workflow/StateHealth")<StateHealth, {
  readonly path: string
  readonly unwritable: Effect.Effect<never, DurableEngine.StateUnwritable>
  readonly failed: Effect.Effect<void>
  readonly check: Effect.Effect<string | undefined>
}>() {}

/** Failed writes on end, over at least this long, before the store is taken for unwritable: a blip is not. */
const failuresBeforeGivingUp = 3
const checkEvery = "700 millis"

export const layerHealth = (filename: string, StateUnwritable: typeof DurableEngine.StateUnwritable) =>
  Layer.scoped(
    StateHealth,
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const scope = yield* Effect.scope
      const down = yield* Deferred.make<never, DurableEngine.StateUnwritable>()
      // Two statements, not a transaction: a full disk fails the first with its reason (a transaction would lose it
      // to the rollback SQLite already made), and the second takes the row away whatever became of the first.
      const check = sql`INSERT OR REPLACE INTO ${sql(probeTable)} (id, at) VALUES (2, randomblob(16384))`.pipe(
        Effect.as(undefined),
        Effect.catchAllCause((cause) => Effect.succeed(unwritableReason(cause, filename))),
        Effect.zipLeft(Effect.ignore(sql`DELETE FROM ${sql(probeTable)} WHERE id = 2`))
      )
      // After a failure, the store is written to until a write passes, or until enough have failed: the engine
      // may not fail again by itself (a run whose step could not be saved only stops), so it is not waited for.
      const watch = Effect.gen(function*() {
        for (let failures = 0;;) {
          const reason = yield* check
          if (reason === undefined) return
          if (++failures >= failuresBeforeGivingUp) {
            return yield* Deferred.fail(down, new StateUnwritable({ path: filename, reason }))
          }
          yield* Effect.sleep(checkEvery)
        }
      })
      let watching = false
      return {
        path: filename,
        unwritable: Deferred.await(down),
        check,
        failed: Effect.suspend(() => {
          if (watching) return Effect.void
          watching = true
          return Effect.asVoid(Effect.forkIn(Effect.ensuring(watch, Effect.sync(() => watching = false)), scope))
        })
      }
    })
  )

/** A storage service whose every operation's failure is reported to the health, with an action after some. */
const watched = <S extends object>(service: S, health: StateHealth["Type"], after: Partial<Record<string, any>>) => {
  const watch = (name: string, effect: Effect.Effect<unknown, unknown, unknown>, args: ReadonlyArray<unknown>) =>
    effect.pipe(
      Effect.tapErrorCause((cause) => Cause.isInterruptedOnly(cause) ? Effect.void : health.failed),
      Effect.tap((result) => after[name]?.(result, ...args) ?? Effect.void)
    )
  const result: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(service)) {
    result[name] = Effect.isEffect(value)
      ? watch(name, value, [])
      : typeof value === "function"
      ? (...args: Array<unknown>) => {
        const out = value(...args)
        return Effect.isEffect(out) ? watch(name, out, args) : out
      }
      : value
  }
  return result as S
}

/**
 * Copies the journal into the main file, so that the main file alone holds the run as of its last finished step
 * (a backup of it, or a copy after a kill -9, is then not a run behind). Passive: it never waits for a reader.
 */
const checkpoint = (sql: SqlClient.SqlClient) => Effect.ignore(sql`PRAGMA wal_checkpoint(PASSIVE)`)

/** How far behind the journal the main file may hold the segments' rows (`segmentCheckpoints`). */
const segmentRowsBehind = 1_000

/**
 * The checkpoint after a segment's row, at most once a second: the first at once, and one a second after the last
 * for the rows written in between. A checkpoint syncs the main file, and the next write restarts the journal and
 * syncs it: 3 ms a segment here (84 disk syncs in a run of 100,000 events instead of 24), on the thread that sends.
 * The main file then holds a run's segments up to a second behind its journal; a copy of it resumed sends that
 * second's segments again, which Orb replays (their keys). At Orb's live quota a segment takes longer than a second:
 * each is checkpointed at once, as before. Everything else (a run's submission, its backfills, its close) is
 * checkpointed at once by the engine's storage (`watchStorage`), with every row written before it.
 */
export const segmentCheckpoints = (sql: SqlClient.SqlClient): Effect.Effect<Effect.Effect<void>, never, Scope.Scope> =>
  Effect.map(Effect.scope, (scope) => {
    let last = Number.NEGATIVE_INFINITY
    let pending = false
    const now = Effect.flatMap(Clock.currentTimeMillis, (at) => {
      last = at
      return checkpoint(sql)
    })
    return Effect.flatMap(Clock.currentTimeMillis, (at) => {
      if (at - last >= segmentRowsBehind) return now
      if (pending) return Effect.void
      pending = true
      return Effect.asVoid(Effect.forkIn(
        Effect.sleep(segmentRowsBehind - (at - last)).pipe(
          Effect.zipRight(Effect.suspend(() => {
            pending = false
            return now
          }))
        ),
        scope
      ))
    })
  })

/**
 * A write of the runs' own to the state file (a segment's journal entry), as the engine's writes are: its failure
 * reported to the health, and the journal checkpointed after it (`checkpointAfter`, from {@link segmentCheckpoints}).
 * Elsewhere (Postgres), the write as it is.
 */
export const asStateWrite =
  (health: StateHealth["Type"] | undefined, checkpointAfter: Effect.Effect<void>) =>
  <A, E, R>(write: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    health === undefined ? write : write.pipe(
      Effect.tapErrorCause((cause) => Cause.isInterruptedOnly(cause) ? Effect.void : health.failed),
      Effect.tap(() => checkpointAfter)
    )

/**
 * The cluster's storages watched, and checkpointed at the steps: after a run's submission and after each step's
 * start (an activity's request is saved once the step before it has its result: not every reply passes through
 * this service, some are saved by the storage's own handlers), and after the replies that do pass. At shutdown the
 * journal is emptied into the main file.
 */
export const watchStorage = <ROut, E, RIn>(storage: Layer.Layer<ROut, E, RIn>) =>
  Layer.scopedContext(Effect.gen(function*() {
    const health = yield* StateHealth
    const sql = yield* SqlClient.SqlClient
    const messages = yield* MessageStorage.MessageStorage
    const runners = yield* RunnerStorage.RunnerStorage
    yield* Effect.addFinalizer(() => Effect.ignore(sql`PRAGMA wal_checkpoint(TRUNCATE)`))
    yield* Effect.orDie(StorageOutcome.refuse)
    return Context.make(
      MessageStorage.MessageStorage,
      watched(messages, health, {
        saveReply: () => checkpoint(sql),
        // A request saved before (a step replayed on resume) adds nothing to checkpoint.
        saveRequest: (result: { readonly _tag?: unknown }) => result._tag === "Success" ? checkpoint(sql) : Effect.void
      })
    ).pipe(Context.add(RunnerStorage.RunnerStorage, watched(runners, health, {})))
  })).pipe(Layer.provide(storage))
