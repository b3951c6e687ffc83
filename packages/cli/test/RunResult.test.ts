/**
 * A run's result is printed by one printer whichever executor ran it: the in-memory run (`--ephemeral`) and the
 * durable one print the same table of windows, the same "Sent" line (each with what it knows: the in-memory run its
 * duration, the durable one its run key), and, under `--json`, windows of one shape.
 */
import { OrbSimulator } from "@effect-orb/simulator"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Backend from "../src/Backend.js"
import { cli, tempFile } from "./support.js"

const start = Date.parse("2026-07-01T00:00:00Z")
// 40 days: two windows of the account's 31 days.
const forty = ["--start", "2026-07-01", "--end", "2026-08-10", "--add"] as const

/** `count` events over the 40 days, in Orb's wire form, one per line. */
const events = (count: number, tag: string) =>
  Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      event_name: "api_call",
      timestamp: new Date(start + Math.floor((i * 40 * 86_400_000) / count)).toISOString(),
      external_customer_id: "acme",
      idempotency_key: `${tag}-${i}`,
      properties: { units: 1 }
    })).join("\n") + "\n"

interface WindowJson {
  readonly timeframe_start: string
  readonly timeframe_end: string
  readonly backfill_id: string | null
  readonly status: string | null
  readonly accepted: number
  readonly backfill: { readonly id: string; readonly status: string; readonly events_ingested: number }
}

describe("a run's result, either executor", () => {
  it.scopedLive(
    "the same table, the same Sent line and, under --json, windows of one shape",
    () =>
      Effect.gen(function*() {
        const apiKey = "sk-result-test"
        const server = yield* OrbSimulator.serve({ apiKey, reflectionDelay: "200 millis" })
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "orb-backfill-result-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
        const env = Layer.mergeAll(Backend.layerOrb, NodeContext.layer).pipe(
          Layer.provide(Layer.setConfigProvider(
            ConfigProvider.fromMap(new Map([["ORB_API_KEY", apiKey], ["ORB_BASE_URL", server.url]]))
          )),
          Layer.orDie
        )
        const run = (args: ReadonlyArray<string>) =>
          Effect.tap(cli(args).pipe(Effect.provide(env)), (ran) => assert.strictEqual(ran.code, 0, ran.stderr))
        const state = ["--state", path.join(dir, "runs.sqlite"), "--no-verify"]

        const inMemory = yield* run(["run", "--file", tempFile("m.ndjson", events(400, "m")), ...forty, "--ephemeral"])
        const durable = yield* run(["run", "--file", tempFile("d.ndjson", events(400, "d")), ...forty, ...state])
        for (const ran of [inMemory, durable]) {
          const lines = ran.stdout.split("\n")
          assert.strictEqual(lines[0], "2 backfills, one per window, are reflected:")
          assert.match(lines[1], /^ {2}WINDOW +START +END +BACKFILL +STATUS +EVENTS$/)
          assert.match(lines[2], /^ {2}1\/2 +2026-07-01 00:00:00Z +2026-08-01 00:00:00Z +\S+ +reflected +310$/)
          assert.match(lines[3], /^ {2}2\/2 +2026-08-01 00:00:00Z +2026-08-10 00:00:00Z +\S+ +reflected +90$/)
        }
        assert.match(inMemory.stdout, /^Sent 400 events in \d+(\.\d+)?m?s\.$/m)
        assert.match(durable.stdout, /^Sent 400 events \(durable run run-[0-9a-f]+\)\.$/m)

        const inMemoryJson = yield* run([
          "run",
          "--file",
          tempFile("mj.ndjson", events(400, "mj")),
          ...forty,
          "--ephemeral",
          "--json"
        ])
        const durableJson = yield* run([
          "run",
          "--file",
          tempFile("dj.ndjson", events(400, "dj")),
          ...forty,
          ...state,
          "--json"
        ])
        const documents = [inMemoryJson, durableJson].map((ran) => JSON.parse(ran.stdout))
        for (const document of documents) {
          const windows = document.windows as ReadonlyArray<WindowJson>
          assert.deepStrictEqual(
            windows.map((window) => Object.keys(window).sort()),
            Array(2).fill(["accepted", "backfill", "backfill_id", "status", "timeframe_end", "timeframe_start"])
          )
          assert.deepStrictEqual(windows.map((window) => window.accepted), [310, 90])
          assert.deepStrictEqual(windows.map((window) => window.status), ["reflected", "reflected"])
          for (const window of windows) {
            assert.strictEqual(window.backfill.id, window.backfill_id)
            assert.strictEqual(window.backfill.events_ingested, window.accepted)
          }
          assert.strictEqual(document.backfill.id, windows[0].backfill_id)
          assert.strictEqual(document.ingestion.accepted, 400)
          assert.strictEqual(document.validation.events, 400)
        }
        // The durable run says which it is; the in-memory one is no durable run.
        assert.isUndefined(documents[0].run)
        assert.match(documents[1].run.run_key, /^run-/)
      }),
    60_000
  )
})
