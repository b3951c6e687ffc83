/**
 * A durable run over a timeframe longer than the account's maximum, in-process (the engine on a real SQLite file, the
 * library over the simulator's test layer, the live clock): its windows fixed in the payload, and a failure in a late
 * segment reverting every window. The crash tests (Crash.test.ts) kill a windowed run's process and resume it.
 */
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { DurableRun, RunSource } from "../src/index.js"
import { runFailure, withEngine } from "./support/inProcess.js"

const day = 86_400_000
const start = Date.parse("2026-07-01T00:00:00Z")

const line = (i: number, at: number) =>
  JSON.stringify({
    event_name: "api_call",
    timestamp: new Date(at).toISOString(),
    external_customer_id: "acme",
    idempotency_key: `w-${i}`,
    properties: { units: 1 }
  })

const submit = (dir: string, lines: ReadonlyArray<string>, maxTimeframe?: Duration.DurationInput) =>
  Effect.gen(function*() {
    const file = path.join(dir, "events.ndjson")
    fs.writeFileSync(file, lines.join("\n") + "\n")
    return yield* DurableRun.payload({
      runKey: "quarter",
      source: yield* RunSource.fromFile(file),
      timeframeStart: DateTime.unsafeMake(start),
      timeframeEnd: DateTime.unsafeMake(start + 95 * day),
      replaceExistingEvents: true,
      segmentEvents: 300,
      quota: false,
      ...(maxTimeframe !== undefined ? { maxTimeframe } : {})
    })
  })

describe("a durable run over windows", () => {
  it.live(
    "95 days: four windows fixed in the payload, each event in its window, the run's windows listed",
    () =>
      withEngine((dir) =>
        Effect.gen(function*() {
          // Unsorted: each segment holds events of every window.
          const lines = Array.from(
            { length: 1_200 },
            (_, i) => line(i, start + ((i * 7_919) % 1_200) * (95 * day / 1_200))
          )
          const payload = yield* submit(dir, lines)
          assert.deepStrictEqual(
            payload.windows!.map((w) => (w.timeframeEnd.epochMillis - w.timeframeStart.epochMillis) / day),
            [31, 31, 31, 2]
          )
          const result = yield* DurableRun.execute(payload)
          assert.strictEqual(result.accepted, 1_200)
          assert.deepStrictEqual(result.windows.map((w) => w.status), Array(4).fill("reflected"))
          const sim = yield* OrbSimulator.OrbSimulator
          const backfills = yield* sim.backfills
          assert.strictEqual(backfills.length, 4)
          const byId = new Map(backfills.map((b) => [b.id as string, b]))
          assert.deepStrictEqual(
            result.windows.map((w) => w.accepted),
            result.windows.map((w) => byId.get(w.backfillId!)!.eventsIngested)
          )
          const [state] = yield* DurableRun.list
          assert.deepStrictEqual(state.backfillIds, result.windows.map((w) => w.backfillId!))
          assert.strictEqual(state.stage, "done")
        })
      ),
    60_000
  )

  it.live(
    "an event refused in a late segment reverts every window, and the failure names each",
    () =>
      withEngine((dir) =>
        Effect.gen(function*() {
          const lines = Array.from({ length: 900 }, (_, i) => line(i, start + ((i * 7_919) % 900) * (95 * day / 900)))
          // Line 800 (the third segment) is outside the timeframe.
          lines[799] = line(799, start + 96 * day)
          const failure = yield* runFailure(yield* submit(dir, lines))
          assert.strictEqual(failure.stage, "ingest (segment 2, from line 601)")
          assert.match(failure.reason, /^line 800: /)
          assert.isTrue(failure.reverted, failure.message)
          assert.strictEqual(failure.windows?.length, 4)
          assert.isTrue(failure.windows!.every((w) => w.reverted))
          assert.match(
            failure.message,
            /every window's backfill was reverted, so no usage changed: 2026-07-01T00:00:00\.000Z to 2026-08-01T00:00:00\.000Z: backfill \S+ reverted/
          )
          const sim = yield* OrbSimulator.OrbSimulator
          assert.deepStrictEqual((yield* sim.backfills).map((b) => b.status), Array(4).fill("reverted"))
        })
      ),
    60_000
  )

  it.live(
    "a raised maximum is the account's: 95 days in windows of at most 62 days",
    () =>
      withEngine((dir) =>
        Effect.gen(function*() {
          const payload = yield* submit(dir, [line(0, start)], "62 days")
          assert.deepStrictEqual(
            payload.windows!.map((w) => (w.timeframeEnd.epochMillis - w.timeframeStart.epochMillis) / day),
            [62, 33]
          )
        })
      ),
    60_000
  )
})
