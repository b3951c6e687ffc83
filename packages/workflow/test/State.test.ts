/**
 * The state file as storage, over real processes: a store that stops taking writes ends the run within seconds with
 * `StateUnwritable` (nothing reverted, the run resumable).
 */
import type { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
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
})
