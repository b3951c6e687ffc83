/**
 * The state file as storage, over real processes: a store that stops taking writes ends the run within seconds with
 * `StateUnwritable` (nothing reverted, the run resumable); the main file alone holds the run after a kill -9; a state
 * file older than the truth never undoes finished work.
 */
import type { OrbSimulator } from "@effect-orb/simulator"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { DurableRun } from "../src/index.js"
import { eventCount, finish, outcome, setup, start, until } from "./support/processes.js"

const reverts = (simulator: OrbSimulator.OrbSimulator) =>
  Effect.map(simulator.requests, (all) => all.filter((r) => r.url.endsWith("/revert")).length)

describe("the state file as storage", () => {
  it.scopedLive(
    "a state file that fills up mid-run ends the run within seconds, StateUnwritable, nothing reverted; it resumes",
    () =>
      Effect.gen(function*() {
        const { env, simulator } = yield* setup
        const first = start({ ...env, MODE: "submit", FILL_AT: "1000" })
        yield* until(Effect.sync(() => first.stderr().includes("filled the state file")), "the fill", 30_000)
        const filled = Date.now()
        yield* finish(first)
        assert.isBelow(Date.now() - filled, 15_000, "ends within seconds")
        const result = outcome(first)
        assert.strictEqual(result.outcome, "failure")
        assert.include(result.error, `The state file ${env.STATE} cannot be written: the disk is full (SQLITE_FULL)`)
        assert.strictEqual(yield* reverts(simulator), 0, "nothing reverted")
        const [backfill] = yield* simulator.backfills
        assert.notStrictEqual(backfill.status, "reverted")

        const second = start({ ...env, MODE: "resume" })
        yield* finish(second)
        assert.strictEqual(outcome(second).outcome, "success", outcome(second).error)
        const [done] = yield* simulator.backfills
        assert.strictEqual(done.status, "reflected")
        assert.strictEqual(done.eventsIngested, eventCount)
        assert.strictEqual(yield* reverts(simulator), 0)
      }),
    60_000
  )

  it.scopedLive(
    "after a kill -9, the main file alone holds the run, its segments up to a second behind: a copy of it resumes",
    () =>
      Effect.gen(function*() {
        const { dir, env, simulator } = yield* setup
        const first = start({ ...env, MODE: "submit" })
        // Segments of 500 at 1,000 events a second: the second segment's row is written at about 1 s, and is in the
        // main file a second later at the latest (the checkpoints of segments' rows, at most once a second).
        yield* until(
          Effect.map(simulator.backfills, (all) => (all[0]?.eventsIngested ?? 0) >= 2_200),
          "two segments in, and a second"
        )
        first.process.kill("SIGKILL")
        yield* finish(first)
        // A backup of "the state file", as one would make it: the main file, not the journal beside it.
        const copy = path.join(dir, "copy.sqlite")
        fs.copyFileSync(env.STATE, copy)
        fs.copyFileSync(`${env.STATE}.payload.json`, `${copy}.payload.json`)
        const runs = yield* runsOf(copy)
        assert.strictEqual(runs.length, 1, "the run is in the main file")
        assert.strictEqual(runs[0].stage, "ingesting")
        assert.isAtLeast(runs[0].accepted, 1_000, "with its finished segments")

        const resumed = start({ ...env, STATE: copy, MODE: "resume" })
        yield* finish(resumed)
        assert.strictEqual(outcome(resumed).outcome, "success", outcome(resumed).error)
        const backfills = yield* simulator.backfills
        assert.strictEqual(backfills.length, 1, "the same backfill, no other")
        assert.strictEqual(backfills[0].status, "reflected")
        assert.strictEqual(backfills[0].eventsIngested, eventCount)
        assert.strictEqual(yield* reverts(simulator), 0)
      }),
    60_000
  )

  it.scopedLive(
    "a state file older than the truth fails the run, saying so, and never reverts the finished backfill",
    () =>
      Effect.gen(function*() {
        const { dir, env, simulator } = yield* setup
        const first = start({ ...env, MODE: "submit" })
        yield* until(
          Effect.map(simulator.backfills, (all) => (all[0]?.eventsIngested ?? 0) >= 1_200),
          "two segments in"
        )
        first.process.kill("SIGKILL")
        yield* finish(first)
        // A backup taken then, restored after the run went on to its end.
        const stale = path.join(dir, "stale.sqlite")
        fs.copyFileSync(env.STATE, stale)
        fs.copyFileSync(`${env.STATE}.payload.json`, `${stale}.payload.json`)
        const second = start({ ...env, MODE: "resume" })
        yield* finish(second)
        assert.strictEqual(outcome(second).outcome, "success", outcome(second).error)
        const sent = yield* ingests(simulator)

        const late = start({ ...env, STATE: stale, MODE: "resume" })
        yield* finish(late)
        const result = outcome(late)
        assert.strictEqual(result.outcome, "failure")
        const [backfill] = yield* simulator.backfills
        assert.include(
          result.error,
          `failed at journal: Orb is ahead of this run's journal: backfill ${backfill.id} is closed (reflected) while ` +
            "the journal has it open"
        )
        assert.include(result.error, `backfill ${backfill.id} was not reverted`)
        assert.strictEqual(backfill.status, "reflected", "the finished backfill stays reflected")
        assert.strictEqual(backfill.eventsIngested, eventCount)
        assert.strictEqual(yield* reverts(simulator), 0, "nothing reverted")
        assert.strictEqual(yield* ingests(simulator), sent, "nothing sent")
      }),
    60_000
  )
})

const ingests = (simulator: OrbSimulator.OrbSimulator) =>
  Effect.map(simulator.requests, (all) => all.filter((r) => r.url.startsWith("/v1/ingest")).length)

/** The runs of a state file, read as `orb-backfill runs` reads them (read-only, no engine). */
const runsOf = (filename: string) =>
  DurableRun.list.pipe(Effect.provide(SqliteClient.layer({ filename, readonly: true })), Effect.orDie, Effect.scoped)
