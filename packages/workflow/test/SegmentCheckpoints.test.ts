/**
 * The checkpoints after segments' rows, on a real SQLite file with its journal (`-wal`): the main file alone, as a
 * copy without the journal would hold it, has the first row at once and every row within a second, and is not synced
 * for every row (TestClock).
 */
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import Database from "better-sqlite3"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as path from "node:path"
import * as StateStore from "../src/internal/stateStore.js"
import { tempFolder } from "./support/inProcess.js"

/** The rows the main file alone holds: a copy of it without its journal, read. */
const inMainFile = (file: string) => {
  const copy = `${file}.copy`
  fs.copyFileSync(file, copy)
  const db = new Database(copy, { readonly: true })
  try {
    return (db.prepare("SELECT id FROM rows ORDER BY id").all() as Array<{ id: number }>).map((row) => row.id)
  } finally {
    db.close()
    fs.rmSync(copy)
  }
}

describe("the checkpoints after segments' rows", () => {
  it.scoped("the first row at once, the rows after it within a second, one checkpoint for them", () =>
    Effect.gen(function*() {
      const dir = yield* tempFolder("effect-orb-checkpoints-")
      const file = path.join(dir, "state.sqlite")
      const context = yield* Layer.build(SqliteClient.layer({ filename: file }))
      const sql = Context.get(context, SqlClient.SqlClient)
      yield* sql`CREATE TABLE rows (id INTEGER PRIMARY KEY)`
      yield* sql`PRAGMA wal_checkpoint(TRUNCATE)`
      const checkpoint = yield* StateStore.segmentCheckpoints(sql)
      const row = (id: number) => Effect.zipRight(sql`INSERT INTO rows (id) VALUES (${id})`, checkpoint)

      yield* row(1)
      assert.deepStrictEqual(inMainFile(file), [1], "the first at once")
      yield* TestClock.adjust("300 millis")
      yield* row(2)
      yield* TestClock.adjust("300 millis")
      yield* row(3)
      assert.deepStrictEqual(inMainFile(file), [1], "not at every row")
      yield* TestClock.adjust("400 millis")
      assert.deepStrictEqual(inMainFile(file), [1, 2, 3], "a second after the last checkpoint")
      // A row a second or more after the last checkpoint is checkpointed at once.
      yield* TestClock.adjust("1 second")
      yield* row(4)
      assert.deepStrictEqual(inMainFile(file), [1, 2, 3, 4])
    }))
})
