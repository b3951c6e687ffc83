/**
 * Where runs are, read from the engine's own records, in-process: the engine on a real SQLite file, the library over
 * the simulator's test layer, on the live clock (the engine keeps real time).
 */
import { Backfills, OrbClient } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { DurableEngine, DurableRun, RunSource } from "../src/index.js"
import { runFailure } from "./support/inProcess.js"

const line = (i: number, overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    event_name: "api_call",
    timestamp: new Date(Date.parse("2026-10-01T00:00:00Z") + i * 60_000).toISOString(),
    external_customer_id: "acme",
    idempotency_key: `state-${i}`,
    properties: { units: 1 },
    ...overrides
  })

const withEngine = (reflectionDelay: Duration.DurationInput) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-orb-states-"))
  const library = Backfills.layer.pipe(
    Layer.provideMerge(OrbClient.layer({ apiKey: Redacted.make("sk-sim"), baseUrl: "http://127.0.0.1/v1" })),
    Layer.provideMerge(OrbSimulator.layer({ apiKey: "sk-sim", reflectionDelay })),
    Layer.orDie
  )
  const layer = DurableRun.layer.pipe(
    Layer.provideMerge(DurableEngine.layerSqlite({ filename: path.join(dir, "state.sqlite") })),
    Layer.provideMerge(library),
    Layer.orDie
  )
  return { dir, layer }
}

const submit = (dir: string, runKey: string, lines: ReadonlyArray<string>, week: number) =>
  Effect.gen(function*() {
    const file = path.join(dir, `${runKey}.ndjson`)
    fs.writeFileSync(file, lines.join("\n") + "\n")
    const start = DateTime.unsafeMake(Date.parse("2026-10-01T00:00:00Z") + week * 7 * 86_400_000)
    return yield* DurableRun.payload({
      runKey,
      source: yield* RunSource.fromFile(file),
      timeframeStart: start,
      timeframeEnd: DateTime.add(start, { days: 7 }),
      replaceExistingEvents: false,
      segmentEvents: 200,
      quota: false
    })
  })

describe("DurableRun.list", () => {
  it.live("a finished run, a failed run and a run awaiting reflection, as the engine recorded them", () => {
    const { dir, layer } = withEngine("4 seconds")
    return Effect.gen(function*() {
      const good = yield* submit(dir, "good", Array.from({ length: 500 }, (_, i) => line(i)), 0)
      const result = yield* DurableRun.execute(good)
      assert.strictEqual(result.accepted, 500)

      // Line 301 is outside its timeframe (the second week): the run fails at its second segment and reverts.
      const badLines = Array.from({ length: 500 }, (_, i) => line(i + 7 * 24 * 60, { idempotency_key: `bad-${i}` }))
      badLines[300] = line(0, { idempotency_key: "bad-300" })
      const bad = yield* submit(dir, "bad", badLines, 1)
      const failure = yield* runFailure(bad)
      assert.strictEqual(failure._tag, "DurableRunFailed")
      assert.isTrue(failure.reverted)
      assert.include(failure.message, "line 301")

      const slow = yield* submit(dir, "slow", Array.from({ length: 50 }, (_, i) => line(i + 14 * 24 * 60)), 2)
      const fiber = yield* Effect.fork(DurableRun.execute(slow))
      let states: ReadonlyArray<DurableRun.RunState> = []
      while (!states.some((s) => s.runKey === "slow" && s.stage === "awaiting reflection")) {
        yield* Effect.sleep("100 millis")
        states = yield* DurableRun.list
      }
      const [done, failed, awaiting] = states
      assert.deepInclude(done, { runKey: "good", stage: "done", read: 500, accepted: 500, failed: 0 })
      assert.strictEqual(done.position, done.size)
      assert.strictEqual(done.backfillId, result.backfillId)
      assert.strictEqual(failed.runKey, "bad")
      assert.strictEqual(failed.stage, "failed")
      assert.strictEqual(failed.accepted, 200, "the first segment was in before the second failed")
      assert.include(failed.lastError, "line 301")
      assert.strictEqual(awaiting.runKey, "slow")
      assert.strictEqual(awaiting.accepted, 50)
      assert.match(awaiting.step!, /^(poll|wait)-\d+$|^close$/)

      // What a watcher reads each time: the run still going, those finished since, and those asked for, each as
      // `list` reads it; the others not at all.
      const keys = (runs: ReadonlyArray<DurableRun.RunState>) => runs.map((run) => run.runKey)
      assert.deepStrictEqual(keys(yield* DurableRun.listCurrent({})), ["slow"])
      const asked = yield* DurableRun.listCurrent({ executionIds: [done.executionId] })
      assert.deepStrictEqual(keys(asked), ["good", "slow"])
      assert.deepStrictEqual(asked[0], done)
      assert.deepStrictEqual(
        keys(yield* DurableRun.listCurrent({ executionIds: [done.executionId], unfinished: false })),
        ["good"]
      )
      const sinceBad = yield* DurableRun.listCurrent({ finishedSince: failed.finishedAt! })
      assert.deepStrictEqual(keys(sinceBad), ["bad", "slow"])
      assert.deepStrictEqual(sinceBad[0], failed)
      assert.deepStrictEqual(
        keys(yield* DurableRun.listCurrent({ finishedSince: DateTime.add(failed.finishedAt!, { millis: 1 }) })),
        ["slow"]
      )
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(keys(yield* DurableRun.listCurrent({})), [], "every run has finished")
    }).pipe(
      Effect.provide(layer),
      Effect.ensuring(Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
    )
  }, 60_000)
})

describe("DurableRun.prune", () => {
  it.live("forgets the runs finished before the cutoff, keeps the unfinished one; a pruned run key runs anew", () => {
    const { dir, layer } = withEngine("3 seconds")
    return Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const rowsOf = (executionId: string) =>
        Effect.map(
          sql<{ n: number }>`SELECT COUNT(*) AS n FROM cluster_messages WHERE entity_id = ${executionId}`,
          ([row]) => Number(row.n)
        )
      const good = yield* submit(dir, "good", Array.from({ length: 300 }, (_, i) => line(i)), 0)
      const first = yield* DurableRun.execute(good)
      const badLines = Array.from({ length: 10 }, (_, i) => line(i + 7 * 24 * 60, { idempotency_key: `bad-${i}` }))
      badLines[5] = line(0, { idempotency_key: "bad-5" })
      yield* runFailure(yield* submit(dir, "bad", badLines, 1))
      const before = yield* DateTime.now
      const slow = yield* submit(dir, "slow", Array.from({ length: 20 }, (_, i) => line(i + 14 * 24 * 60)), 2)
      const fiber = yield* Effect.fork(DurableRun.execute(slow))
      while (!(yield* DurableRun.list).some((s) => s.runKey === "slow" && s.stage === "awaiting reflection")) {
        yield* Effect.sleep("100 millis")
      }

      const finished = (yield* DurableRun.list).filter((s) => s.finishedAt !== undefined)
      assert.deepStrictEqual(finished.map((s) => s.runKey), ["good", "bad"])
      for (const s of finished) assert.isAtMost(s.finishedAt!.epochMillis, before.epochMillis)
      const goodId = finished[0].executionId
      assert.isAbove(yield* rowsOf(goodId), 0)

      // A cutoff before they finished prunes nothing.
      assert.deepStrictEqual(yield* DurableRun.prune({ finishedBefore: DateTime.subtract(before, { hours: 1 }) }), [])
      const pruned = yield* DurableRun.prune({ finishedBefore: yield* DateTime.now })
      assert.deepStrictEqual(pruned.map((s) => s.runKey), ["good", "bad"])
      assert.strictEqual(yield* rowsOf(goodId), 0, "the engine's rows of the pruned run are gone")
      assert.deepStrictEqual((yield* DurableRun.list).map((s) => s.runKey), ["slow"])
      yield* Fiber.join(fiber)

      // Its journal gone, the same run key is a new run: a new backfill.
      const again = yield* DurableRun.execute(
        yield* submit(dir, "good", Array.from({ length: 300 }, (_, i) => line(i)), 0)
      )
      assert.notStrictEqual(again.backfillId, first.backfillId)
    }).pipe(
      Effect.provide(layer),
      Effect.ensuring(Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
    )
  }, 60_000)
})
