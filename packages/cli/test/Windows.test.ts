/**
 * `orb-backfill run` over a timeframe longer than the account's maximum: the dry run's windows and their counts, the
 * run's windows in its progress and its final table, an interruption that reverts them all, and `--max-window` for a
 * raised limit (against a served simulator that accepts it, durably).
 */
import { OrbSimulator } from "@effect-orb/simulator"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Backend from "../src/Backend.js"
import { cli, cliForked, simulator, tempFile } from "./support.js"

const day = 86_400_000
const start = Date.parse("2026-07-01T00:00:00Z")
const quarter = ["--start", "2026-07-01", "--end", "2026-10-04"] as const

/** `count` events over 95 days from the start, unsorted, in Orb's wire form, one per line. */
const scattered = (count: number) =>
  Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      event_name: "api_call",
      timestamp: new Date(start + Math.floor((((i * 7_919) % count) * 95 * day) / count)).toISOString(),
      external_customer_id: "acme",
      idempotency_key: `q-${i}`,
      properties: { units: 1 }
    })).join("\n") + "\n"

describe("orb-backfill run over windows", () => {
  it.live("--dry-run prints what it understood, the windows and the events of each, and creates nothing", () =>
    Effect.gen(function*() {
      const file = tempFile("quarter.ndjson", scattered(3_000))
      const ran = yield* cli(["run", "--file", file, ...quarter, "--replace", "--dry-run"])
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.strictEqual(
        ran.stdout,
        "Dry run: 2026-07-01 00:00:00Z to 2026-10-04 00:00:00Z (end excluded), replace mode, all customers.\n" +
          "It is longer than the account's 31 days per backfill: 4 windows, one backfill each,\n" +
          "created together and closed only once every window's events are in:\n" +
          "  WINDOW  START                 END                   EVENTS\n" +
          "  1/4     2026-07-01 00:00:00Z  2026-08-01 00:00:00Z     979\n" +
          "  2/4     2026-08-01 00:00:00Z  2026-09-01 00:00:00Z     979\n" +
          "  3/4     2026-09-01 00:00:00Z  2026-10-02 00:00:00Z     979\n" +
          "  4/4     2026-10-02 00:00:00Z  2026-10-04 00:00:00Z      63\n" +
          "Properties of the 3,000 events:\n" +
          "  units  number\n" +
          "By customer (1 customer; sums are exact):\n" +
          "  CUSTOMER         EVENTS  FIRST                 LAST                  SUMS\n" +
          "  acme (external)   3,000  2026-07-01 00:00:00Z  2026-10-03 23:14:24Z  units 3,000\n" +
          `3,000 events in ${file} would be sent; nothing was created.\n`
      )
      const json = yield* cli(["run", "--file", file, ...quarter, "--replace", "--dry-run", "--json"])
      const parsed = JSON.parse(json.stdout)
      assert.strictEqual(parsed.max_window_days, 31)
      assert.deepStrictEqual(parsed.windows.map((w: { events: number }) => w.events), [979, 979, 979, 63])
      const sim = yield* OrbSimulator.OrbSimulator
      assert.strictEqual((yield* sim.requests).length, 0, "nothing was sent")
    }).pipe(Effect.provide(simulator)))

  it.live("a run: each window created and closed in the progress, and the final table lists every window", () =>
    Effect.gen(function*() {
      const file = tempFile("quarter-run.ndjson", scattered(3_000))
      const ran = yield* cli(["run", "--file", file, ...quarter, "--replace"])
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.match(ran.stderr, /^Created backfill \S+ \(window 1 of 4: 2026-07-01 to 2026-08-01\)$/m)
      assert.match(ran.stderr, /^Created backfill \S+ \(window 4 of 4: 2026-10-02 to 2026-10-04\); sending events…$/m)
      assert.match(ran.stderr, /^Closed backfill \S+ \(window 3 of 4: 2026-09-01 to 2026-10-02\)\.$/m)
      assert.match(ran.stderr, /^Waiting for Orb to mark backfills \S+, \S+, \S+, \S+ reflected…$/m)
      const sim = yield* OrbSimulator.OrbSimulator
      const backfills = yield* sim.backfills
      assert.strictEqual(backfills.length, 4)
      const lines = ran.stdout.split("\n")
      assert.strictEqual(lines[0], "4 backfills, one per window, are reflected:")
      assert.match(lines[1], /^ {2}WINDOW +START +END +BACKFILL +STATUS +EVENTS$/)
      for (const [i, events] of [979, 979, 979, 63].entries()) {
        const row = lines[2 + i]
        assert.include(row, `${i + 1}/4`)
        assert.match(row, new RegExp(`reflected +${events}$`))
      }
      const json = JSON.parse((yield* cli(["list", "--json"])).stdout) as Array<{ events_ingested: number }>
      assert.strictEqual(json.reduce((sum, b) => sum + b.events_ingested, 0), 3_000)
    }).pipe(Effect.provide(simulator)))

  it.live("Ctrl-C during ingestion reverts every window and says so", () =>
    Effect.gen(function*() {
      const file = tempFile("quarter-slow.ndjson", scattered(1_000))
      const started = yield* cliForked([
        "run",
        "--file",
        file,
        ...quarter,
        "--add",
        "--batch-size",
        "10",
        "--events-per-minute",
        "600"
      ])
      const sim = yield* OrbSimulator.OrbSimulator
      while (((yield* sim.backfills).reduce((sum, b) => sum + b.eventsIngested, 0)) < 10) {
        yield* Effect.sleep("50 millis")
      }
      yield* Fiber.interrupt(started.fiber)
      const all = yield* sim.backfills
      assert.strictEqual(all.length, 4)
      assert.deepStrictEqual(all.map((b) => b.status), Array(4).fill("reverted"))
      assert.include(
        started.stderr(),
        `Interrupted: the 4 backfills ${
          [...all].reverse().map((b) => b.id).join(", ")
        } were reverted, so no usage changed.`
      )
    }).pipe(Effect.provide(simulator)), 20_000)
})

describe("--max-window", () => {
  it.scopedLive(
    "a raised limit, durably against a served simulator that accepts it: 95 days in three windows",
    () =>
      Effect.gen(function*() {
        const apiKey = "sk-window-test"
        const server = yield* OrbSimulator.serve({ apiKey, reflectionDelay: "500 millis", maxTimeframe: "45 days" })
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "orb-backfill-window-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
        const env = Layer.mergeAll(Backend.layerOrb, NodeContext.layer).pipe(
          Layer.provide(Layer.setConfigProvider(
            ConfigProvider.fromMap(new Map([["ORB_API_KEY", apiKey], ["ORB_BASE_URL", server.url]]))
          )),
          Layer.orDie
        )
        const file = tempFile("quarter-raised.ndjson", scattered(900))
        const args = ["run", "--file", file, ...quarter, "--add", "--state", path.join(dir, "runs.sqlite")]
        // Without the flag the windows are Orb's default, 31 days: four.
        const dry = yield* cli([...args, "--dry-run", "--json"]).pipe(Effect.provide(env))
        assert.strictEqual(JSON.parse(dry.stdout).windows.length, 4)
        const ran = yield* cli([...args, "--max-window", "45", "--events-per-minute", "6000000"]).pipe(
          Effect.provide(env)
        )
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.match(ran.stdout, /^3 backfills, one per window, are reflected:$/m)
        // Verified by default against Orb: every window, one report.
        assert.match(
          ran.stdout,
          /^Backfill \S+, \S+, \S+: 900 events found as sent, 0 missing, 0 different, 0 deprecated/m
        )
        const backfills = yield* server.simulator.backfills
        assert.deepStrictEqual(
          backfills.map((b) => (b.timeframeEnd.epochMillis - b.timeframeStart.epochMillis) / day).sort(),
          [45, 45, 5]
        )
        assert.strictEqual(backfills.reduce((sum, b) => sum + b.eventsIngested, 0), 900)
      }),
    60_000
  )
})
