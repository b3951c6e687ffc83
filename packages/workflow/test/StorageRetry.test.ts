/**
 * How long a step waits out its database (`StorageOutcome.stepThroughFailures`), with the TestClock: on a server's
 * database as long as it fails (a run can neither go on nor revert without its journal; given up after the half hour of
 * an Orb outage, it hung until its process restarted), each failure told to the run; a typed failure and an
 * interruption are never waited out; a state file's failures only briefly (its health ends the run).
 */
import { PersistenceError } from "@effect/cluster/ClusterError"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { DurableEngine } from "../src/index.js"
import * as StorageOutcome from "../src/internal/storageOutcome.js"

/** A client of the dialect given, for the rule alone: it reads nothing else of it. */
const dialect = (name: "pg" | "sqlite") =>
  ({
    onDialectOrElse: (
      options: { readonly pg?: () => unknown; readonly sqlite?: () => unknown; orElse: () => unknown }
    ) => (options[name] ?? options.orElse)()
  }) as unknown as SqlClient.SqlClient

const refused = new PersistenceError({ cause: new Error("connect ECONNREFUSED 127.0.0.1:5432") })

/** A step whose storage fails `failures` times before it answers; how many times it was taken. */
const failingStep = (failures: number) => {
  const taken = { count: 0 }
  const step = Effect.suspend(() => ++taken.count <= failures ? Effect.die(refused) : Effect.succeed("done"))
  return { step, taken }
}

/** Moves the TestClock a minute at a time (the longest wait between tries) until the fiber ends, at most `minutes`. */
const runFor = <A, E>(fiber: Fiber.RuntimeFiber<A, E>, minutes: number) =>
  Effect.gen(function*() {
    for (let minute = 0; minute < minutes; minute++) {
      if ((yield* Fiber.poll(fiber))._tag === "Some") break
      yield* TestClock.adjust("1 minute")
    }
    return yield* Fiber.await(fiber)
  })

describe("a step whose database fails", () => {
  it.scoped("on a server's database, taken again as long as it fails, each failure told; then it goes on", () =>
    Effect.gen(function*() {
      // 60 failures: about 55 minutes of waits, past the 35 tries (half an hour) after which it was given up.
      const { step, taken } = failingStep(60)
      const told: Array<string> = []
      const fiber = yield* Effect.fork(
        StorageOutcome.stepThroughFailures(
          dialect("pg"),
          (error) => Effect.sync(() => told.push(StorageOutcome.storageReason(error)))
        )(step)
      )
      const start = yield* TestClock.currentTimeMillis
      const exit = yield* runFor(fiber, 120)
      assert.deepStrictEqual(exit, Exit.succeed("done"))
      assert.strictEqual(taken.count, 61)
      assert.strictEqual(told.length, 60)
      assert.strictEqual(told[0], "the run's database failed: connect ECONNREFUSED 127.0.0.1:5432")
      const waited = (yield* TestClock.currentTimeMillis) - start
      assert.isAbove(waited, Duration.toMillis("50 minutes"), "it waited past the half hour")
    }))

  it.scoped("a typed failure is the step's at once; an interruption stops the wait", () =>
    Effect.gen(function*() {
      const typed = yield* Effect.exit(
        StorageOutcome.stepThroughFailures(dialect("pg"))(Effect.fail("refused by Orb" as const))
      )
      assert.deepStrictEqual(typed, Exit.fail("refused by Orb"))

      const { step, taken } = failingStep(1_000)
      const fiber = yield* Effect.fork(StorageOutcome.stepThroughFailures(dialect("pg"))(step))
      yield* TestClock.adjust("10 minutes")
      const before = taken.count
      assert.isAbove(before, 1)
      yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust("1 hour")
      assert.strictEqual(taken.count, before, "not taken again once interrupted")
    }))

  it.scoped("a read of the runs failing with a SqlError is taken again by the same rule (the engine's SqlClient's)", () =>
    Effect.gen(function*() {
      let taken = 0
      const read = Effect.suspend(() =>
        ++taken <= 5
          ? Effect.fail(new SqlError({ cause: new Error("Connection terminated"), message: "lost" }))
          : Effect.succeed(["run"])
      )
      const told: Array<unknown> = []
      const fiber = yield* Effect.fork(
        DurableEngine.throughStorageFailures(read, (error) => Effect.sync(() => told.push(error))).pipe(
          Effect.provideService(SqlClient.SqlClient, dialect("pg"))
        )
      )
      assert.deepStrictEqual(yield* runFor(fiber, 5), Exit.succeed(["run"]))
      assert.strictEqual(told.length, 5)
      assert.strictEqual(StorageOutcome.storageReason(told[0]), "the run's database failed: Connection terminated")
    }))

  it.scoped("on a state file, three more tries 100 ms apart, then the failure stands", () =>
    Effect.gen(function*() {
      const { step, taken } = failingStep(10)
      const fiber = yield* Effect.fork(StorageOutcome.stepThroughFailures(dialect("sqlite"))(step))
      const exit = yield* runFor(fiber, 2)
      assert.isTrue(Exit.isFailure(exit) && Exit.causeOption(exit).pipe((cause) => cause._tag === "Some"))
      assert.strictEqual(taken.count, 4)
    }))
})
