/**
 * A durable run over several files, in-process (the engine on a real SQLite file, the library over the simulator's
 * test layer): every event once across files of different formats, the run's state listing them; a line refused in
 * the second file named `file:line`, the backfill reverted. The real-process crash test over three shards is the
 * command line's (packages/cli/test/InputPipes.test.ts).
 */
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { DurableRun, RunSource } from "../src/index.js"
import { runFailure, withEngine } from "./support/inProcess.js"

const start = Date.parse("2026-07-01T00:00:00Z")
const line = (i: number) =>
  JSON.stringify({
    event_name: "api_call",
    timestamp: new Date(start + i * 60_000).toISOString(),
    external_customer_id: "acme",
    idempotency_key: `f-${i}`,
    properties: { units: 1 }
  })
const lines = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => line(from + i)).join("\n") + "\n"

const submit = (files: ReadonlyArray<string | { path: string; format: "ndjson" | "csv" }>) =>
  Effect.gen(function*() {
    return yield* DurableRun.payload({
      runKey: "files",
      source: yield* RunSource.fromFiles(files),
      timeframeStart: DateTime.unsafeMake(start),
      timeframeEnd: DateTime.unsafeMake(start + 7 * 86_400_000),
      replaceExistingEvents: false,
      segmentEvents: 250,
      quota: false
    })
  })

describe("a durable run over several files", () => {
  it.live(
    "NDJSON, gzip and CSV: every event once, in segments within each file; the state lists the files",
    () =>
      withEngine((dir) =>
        Effect.gen(function*() {
          const a = path.join(dir, "a.ndjson")
          const b = path.join(dir, "b.ndjson.gz")
          const c = path.join(dir, "c.csv")
          fs.writeFileSync(a, lines(0, 400))
          fs.writeFileSync(b, zlib.gzipSync(lines(400, 700)))
          fs.writeFileSync(
            c,
            "event_name,timestamp,external_customer_id,idempotency_key\n" +
              Array.from({ length: 100 }, (_, i) => {
                const at = new Date(start + (700 + i) * 60_000).toISOString()
                return `api_call,${at},acme,f-${700 + i}`
              }).join("\n") + "\n"
          )
          const result = yield* DurableRun.execute(yield* submit([a, b, { path: c, format: "csv" }]))
          assert.strictEqual(result.accepted, 800)
          // 400 = 250 + 150, 300 = 250 + 50, 100: segments never span two files.
          assert.strictEqual(result.segments, 5)
          const sim = yield* OrbSimulator.OrbSimulator
          const events = yield* sim.events
          assert.strictEqual(new Set(events.map((e) => e.idempotencyKey)).size, 800)
          assert.strictEqual(events.length, 800)
          const [state] = yield* DurableRun.list
          assert.deepStrictEqual(state.files, [a, b, c])
          assert.strictEqual(state.source, `${a} and 2 more files`)
          assert.strictEqual(state.position, state.size)
        })
      ),
    60_000
  )

  it.live(
    "a line refused in the second file is named file:line, and the backfill reverted",
    () =>
      withEngine((dir) =>
        Effect.gen(function*() {
          const a = path.join(dir, "a.ndjson")
          const b = path.join(dir, "b.ndjson")
          fs.writeFileSync(a, lines(0, 300))
          fs.writeFileSync(b, lines(300, 350) + "{oops\n")
          const failure = yield* runFailure(yield* submit([a, b]))
          assert.strictEqual(failure.stage, `ingest (segment 2, from ${b}:1)`)
          assert.match(failure.reason, new RegExp(`^${b.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:51: `))
          assert.isTrue(failure.reverted, failure.message)
        })
      ),
    60_000
  )
})
