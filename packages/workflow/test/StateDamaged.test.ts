/**
 * A state file that is no database (another file given for it) or a damaged one: the engine refuses it at its start
 * with `StateDamaged`, and a read of its runs through the reader fails so under `readingState`, where both were
 * defects (`file is not a database`) or a bare `SqlError` (`Failed to execute statement`).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { DurableEngine, DurableRun } from "../src/index.js"

const folder = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-orb-damaged-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const failureOf = <A, E>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined

describe("a damaged state file", () => {
  it.scopedLive("no database: the engine fails with StateDamaged at its start, the file left as it was", () =>
    Effect.gen(function*() {
      const dir = yield* folder
      const file = path.join(dir, "events.ndjson")
      const content = "{\"event_name\":\"api_call\"}\n".repeat(200)
      fs.writeFileSync(file, content)
      fs.chmodSync(file, 0o644)
      const exit = yield* Effect.exit(Layer.build(DurableEngine.layerSqlite({ filename: file })).pipe(Effect.scoped))
      const error = failureOf(exit) as DurableEngine.StateDamaged | undefined
      assert.strictEqual(error?._tag, "StateDamaged", String(exit))
      assert.strictEqual(error?.path, file)
      assert.include(error?.message, "it is not a SQLite database (SQLITE_NOTADB)")
      assert.strictEqual(fs.readFileSync(file, "utf8"), content)
      // Refused before anything touches it: its mode as it was, no lock or owner file left beside it.
      assert.strictEqual(fs.statSync(file).mode & 0o777, 0o644)
      assert.deepStrictEqual(fs.readdirSync(dir), ["events.ndjson"])
    }))

  it.scopedLive("its pages overwritten: reading its runs under readingState fails with StateDamaged", () =>
    Effect.gen(function*() {
      const dir = yield* folder
      const file = path.join(dir, "state.sqlite")
      // A state file made by the engine (its tables), then all but its first two pages overwritten.
      yield* Layer.build(DurableEngine.layerSqlite({ filename: file })).pipe(Effect.scoped)
      const bytes = fs.readFileSync(file)
      assert.isAbove(bytes.length, 8_192)
      bytes.fill(0xff, 8_192)
      fs.writeFileSync(file, bytes)
      const read = DurableRun.list.pipe(Effect.provide(DurableEngine.layerSqliteReader({ filename: file })))
      const bare = yield* Effect.exit(read)
      assert.isTrue(Exit.isFailure(bare), "the read found nothing wrong")
      const exit = yield* Effect.exit(DurableEngine.readingState(file)(read))
      const error = failureOf(exit) as DurableEngine.StateDamaged | undefined
      assert.strictEqual(error?._tag, "StateDamaged", String(exit))
      assert.include(error?.message, `The state file ${file} cannot be read: it is damaged (SQLITE_CORRUPT`)
    }))
})
