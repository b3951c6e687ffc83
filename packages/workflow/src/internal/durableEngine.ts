/**
 * The engine's layers, and the lock that keeps one process per state file.
 */
import * as ClusterWorkflowEngine from "@effect/cluster/ClusterWorkflowEngine"
import * as SingleRunner from "@effect/cluster/SingleRunner"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import Database from "better-sqlite3"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as os from "node:os"
import type * as DurableEngine from "../DurableEngine.js"

/**
 * The engine's timings for a run's needs: durable sleeps (the polls for reflection) and delayed messages are looked
 * for every second, not every 10; a shutdown waits 3 seconds for the activity in flight, not 15 (one cut short is
 * run again on resume, and its requests are replays).
 */
const shardingConfig = { entityMessagePollInterval: "1 second", entityTerminationTimeout: "3 seconds" } as const

/**
 * One process per state file: an exclusive SQLite lock on `<state>.lock` (the operating system drops it when the
 * process dies, even by kill -9, so it is never left stale), and `<state>.owner` naming the holder.
 */
const lock = (filename: string, StateLocked: typeof DurableEngine.StateLocked) =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const db = new Database(`${filename}.lock`, { timeout: 0 })
      try {
        db.pragma("locking_mode = EXCLUSIVE")
        db.exec("BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS lock (x); COMMIT")
      } catch (error) {
        db.close()
        if ((error as { code?: unknown }).code !== "SQLITE_BUSY") return Effect.die(error)
        let owner = "unknown"
        try {
          owner = fs.readFileSync(`${filename}.owner`, "utf8").trim()
        } catch {
          // The holder has not written it yet.
        }
        return Effect.fail(new StateLocked({ path: filename, owner }))
      }
      fs.writeFileSync(
        `${filename}.owner`,
        JSON.stringify({
          pid: process.pid,
          host: os.hostname(),
          startedAt: new Date().toISOString(),
          argv: process.argv.slice(1)
        })
      )
      return Effect.succeed(db)
    }),
    (db) => Effect.sync(() => db.close())
  )

/** @internal */
export const layerSqlite = (options: DurableEngine.SqliteOptions, StateLocked: typeof DurableEngine.StateLocked) =>
  ClusterWorkflowEngine.layer.pipe(
    Layer.provide(SingleRunner.layer({ runnerStorage: "sql", shardingConfig })),
    Layer.provideMerge(SqliteClient.layer({ filename: options.filename })),
    Layer.provide(Layer.scopedDiscard(lock(options.filename, StateLocked)))
  )

/** @internal */
export const layerSqliteReader = (options: DurableEngine.SqliteOptions) =>
  SqliteClient.layer({ filename: options.filename, readonly: true })
