/**
 * Running the same file again, as an operator does after a success, after a Ctrl-C, or with a corrected file that
 * keeps its events' keys: each run is a backfill of its own, whose requests never reuse the keys of another's.
 */
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { cli, cliForked, ndjson, simulator, tempFile, timeframe, wireEvent } from "./support.js"

const sim = OrbSimulator.OrbSimulator

/** The events that count now, by key, with their `units`. */
const counted = Effect.gen(function*() {
  const events = yield* Effect.flatMap(sim, (s) => s.events)
  const active = events.filter((e) => e.status === "active")
  return new Map(active.map((e) => [e.idempotencyKey, e.properties.units]))
})

const conflicts = Effect.gen(function*() {
  const requests = yield* Effect.flatMap(sim, (s) => s.requests)
  return requests.filter((r) => r.status === 409).length
})

const run = (file: string, batchSize = 100) =>
  cli(["run", "--file", file, ...timeframe, "--replace", "--batch-size", String(batchSize)])

describe("orb-backfill run, run again", () => {
  it.live(
    "the same file twice: the second run succeeds at once, and every event counts once",
    () =>
      Effect.gen(function*() {
        const file = tempFile("again.ndjson", ndjson(1_000))
        const first = yield* run(file)
        assert.strictEqual(first.code, 0, first.stderr)
        const second = yield* run(file)
        assert.strictEqual(second.code, 0, second.stderr)
        assert.match(second.stdout, /is reflected: 1,000 events, replace mode/)
        assert.strictEqual(yield* conflicts, 0)
        const all = yield* Effect.flatMap(sim, (s) => s.backfills)
        assert.deepStrictEqual(all.map((b) => b.status).sort(), ["reflected", "reflected"])
        assert.strictEqual((yield* counted).size, 1_000)
      }).pipe(Effect.provide(simulator)),
    30_000
  )

  it.live("after a Ctrl-C revert, a re-run sends every event again", () =>
    Effect.gen(function*() {
      const file = tempFile("interrupted.ndjson", ndjson(1_000))
      const simulation = yield* sim
      const started = yield* cliForked([
        "run",
        "--file",
        file,
        ...timeframe,
        "--replace",
        "--batch-size",
        "10",
        "--events-per-minute",
        "600"
      ])
      let ingested = 0
      while (ingested < 20) {
        yield* Effect.sleep("50 millis")
        ingested = (yield* simulation.backfills)[0]?.eventsIngested ?? 0
      }
      yield* Fiber.interrupt(started.fiber)
      assert.strictEqual((yield* simulation.backfills)[0].status, "reverted")
      // The same batches as the interrupted run sent, now to another backfill.
      const again = yield* run(file, 10)
      assert.strictEqual(again.code, 0, again.stderr)
      assert.match(again.stdout, /is reflected: 1,000 events/)
      assert.match(again.stdout, /Sent 1,000 events/)
      assert.strictEqual(yield* conflicts, 0)
      assert.strictEqual((yield* counted).size, 1_000)
    }).pipe(Effect.provide(simulator)), 30_000)

  it.live(
    "a corrected file that keeps its keys replaces the first run's events with the corrected ones",
    () =>
      Effect.gen(function*() {
        const original = tempFile("original.ndjson", ndjson(600))
        const corrected = tempFile(
          "corrected.ndjson",
          ndjson(600, (i) => i % 3 === 0 ? JSON.stringify(wireEvent(i, { properties: { units: 100 } })) : undefined)
        )
        assert.strictEqual((yield* run(original)).code, 0)
        const fixed = yield* run(corrected)
        assert.strictEqual(fixed.code, 0, fixed.stderr)
        assert.strictEqual(yield* conflicts, 0)
        const now = yield* counted
        assert.strictEqual(now.size, 600)
        assert.strictEqual([...now.values()].filter((units) => units === 100).length, 200)
      }).pipe(Effect.provide(simulator)),
    30_000
  )
})
