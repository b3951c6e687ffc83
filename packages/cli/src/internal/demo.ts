/**
 * `orb-backfill demo`: the project's main job in one command, against the in-process simulator. It writes a
 * realistic sample (a few customers, a week of API calls and storage readings) to a temporary NDJSON file,
 * runs a whole backfill from it with the progress bar, shows the result, then reverts it.
 */
import { Backfills, type OrbError } from "@effect-orb/backfills"
import type * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Backend from "../Backend.js"
import * as Output from "../Output.js"
import * as InMemoryRun from "./inMemoryRun.js"
import * as Progress from "./progress.js"
import * as Render from "./render.js"

/**
 * The sample's customers: external ids and how busy each is (API calls per hour at the daily peak).
 *
 * @category constants
 */
export const customers: ReadonlyArray<{ readonly id: string; readonly callsPerPeakHour: number }> = [
  { id: "acme-corp", callsPerPeakHour: 180 },
  { id: "globex", callsPerPeakHour: 110 },
  { id: "initech", callsPerPeakHour: 60 },
  { id: "umbrella", callsPerPeakHour: 35 }
]

const endpoints = ["/v1/search", "/v1/search", "/v1/search", "/v1/documents", "/v1/documents", "/v1/embeddings"]
const regions = ["eu-west-1", "us-east-1", "us-east-1", "ap-southeast-2"]

// A small deterministic generator (mulberry32), so that the sample is the same on every run.
const random = (seed: number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * The sample as NDJSON lines (Orb's wire format), hour by hour over `days` days from `start`: API calls that
 * follow a daily curve (busy in the afternoon UTC, quiet at night, lighter at weekends), and one storage
 * reading per customer per hour. Scaled so that the whole holds about `target` events.
 *
 * @category sample
 */
export const sample = (start: DateTime.Utc, days: number, target: number): Stream.Stream<string> =>
  Stream.suspend(() => {
    const next = random(42)
    const hours = days * 24
    const shape = (hour: number, weekday: number) =>
      (0.15 + 0.85 * Math.max(0, Math.sin(((hour - 6) / 24) * 2 * Math.PI))) * (weekday === 0 || weekday === 6
        ? 0.4
        : 1)
    // Expected calls with a scale of 1, to aim the total at `target`.
    let expected = 0
    for (let h = 0; h < hours; h++) {
      const at = new Date(start.epochMillis + h * 3_600_000)
      for (const c of customers) expected += c.callsPerPeakHour * shape(at.getUTCHours(), at.getUTCDay()) + 1
    }
    const scale = Math.max(0, target - hours * customers.length) / Math.max(1, expected - hours * customers.length)
    let n = 0
    return Stream.range(0, hours - 1).pipe(
      Stream.mapConcat((h) => {
        const hourStart = start.epochMillis + h * 3_600_000
        const at = new Date(hourStart)
        const lines: Array<string> = []
        for (const c of customers) {
          const calls = Math.round(c.callsPerPeakHour * shape(at.getUTCHours(), at.getUTCDay()) * scale)
          for (let i = 0; i < calls; i++) {
            const status = next() < 0.97 ? 200 : next() < 0.5 ? 429 : 500
            lines.push(JSON.stringify({
              event_name: "api_call",
              timestamp: new Date(hourStart + Math.floor(next() * 3_600_000)).toISOString(),
              external_customer_id: c.id,
              idempotency_key: `demo-${++n}`,
              properties: {
                endpoint: endpoints[Math.floor(next() * endpoints.length)],
                region: regions[Math.floor(next() * regions.length)],
                status,
                latency_ms: Math.round(20 + next() * next() * 900),
                tokens: Math.round(100 + next() * 4_000)
              }
            }))
          }
          lines.push(JSON.stringify({
            event_name: "storage_snapshot",
            timestamp: new Date(hourStart).toISOString(),
            external_customer_id: c.id,
            idempotency_key: `demo-${++n}`,
            properties: { gigabytes: Math.round((c.callsPerPeakHour / 3 + h * 0.05) * 100) / 100 }
          }))
        }
        return lines
      })
    )
  })

/**
 * @category models
 */
export interface DemoOptions {
  /** About how many events to generate. Default 40,000. */
  readonly events?: number | undefined
}

/**
 * Runs the demo with the backfill service in context (the in-process simulator).
 *
 * @category demo
 */
export const demo = (options: DemoOptions = {}): Effect.Effect<
  void,
  | InMemoryRun.RunError
  | OrbError.StatusUnreachable
  | OrbError.AwaitTimeout
  | PlatformError.PlatformError,
  FileSystem.FileSystem | Path.Path | Backfills.Backfills | Backend.Backend | Output.Output
> =>
  Effect.scoped(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const backend = yield* Backend.Backend
    const output = yield* Output.Output
    yield* Output.note(
      "Demo: a whole backfill against the in-process Orb simulator (nothing is sent to Orb), " +
        "reflected and reverted in 2 seconds each."
    )
    const now = yield* DateTime.now
    // The last seven whole days (UTC): a week that is over, as a correction usually is.
    const end = DateTime.startOf(now, "day")
    const start = DateTime.subtract(end, { days: 7 })
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "orb-backfill-demo-" })
    const file = path.join(dir, "usage.ndjson")
    yield* sample(start, 7, options.events ?? 40_000).pipe(
      Stream.map((line) => `${line}\n`),
      Stream.encodeText,
      Stream.run(fs.sink(file))
    )
    yield* Output.note(
      `Generated a week of usage for ${customers.length} customers (${
        customers.map((c) => c.id).join(", ")
      }) in ${file}.`
    )
    yield* Output.note(
      `Running: orb-backfill run --file ${file} --start ${Render.time(start).slice(0, 10)} --end ${
        Render.time(end).slice(0, 10)
      } --add`
    )
    const outcome = yield* InMemoryRun.run({
      files: [{ file, format: "ndjson" }],
      backfill: { timeframeStart: start, timeframeEnd: end, replaceExistingEvents: false },
      skipInvalid: false,
      dryRun: false,
      wait: true,
      json: false
    })
    if (Option.isNone(outcome.result)) return
    const id = outcome.result.value.backfill.id
    yield* Output.note(`Reverting backfill ${id}, as you would a backfill that turned out wrong…`)
    yield* Backfills.revert(id)
    const reporter = yield* Progress.reporter(output.isTTY ? "tty" : "plain", undefined)
    yield* reporter.waiting(`backfill ${id}`, "reverted")
    const reverted = yield* Backfills.awaitStatus(id, "reverted", { schedule: backend.awaitSchedule }).pipe(
      Effect.ensuring(reporter.stopWaiting)
    )
    yield* Output.line(Render.backfillSummary(reverted))
    yield* Output.note(
      "Done. Set ORB_API_KEY to run the same against Orb, e.g.: " +
        "orb-backfill run --file usage.ndjson --start ... --end ... --add"
    )
  }))
