/**
 * A durable `orb-backfill run` against the simulator's real server shows its progress as an in-memory run does: the
 * same lines when piped, the same bar and ETA on a terminal, and every wait named, from the workflow's own reports
 * (not a line per journaled segment of 5,000 events).
 */
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { cliAt, ndjson, slowPace, tempFile, timeframe, wireEvent } from "./support.js"

const apiKey = "sk-durable-progress"

const served = Effect.gen(function*() {
  const server = yield* OrbSimulator.serve({ apiKey, reflectionDelay: "1 second", revertDelay: "500 millis" })
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "orb-backfill-durable-progress-"))
  yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
  return { simulator: server.simulator, state: path.join(dir, "runs.sqlite"), ...(yield* cliAt(server.url, apiKey)) }
})

/** The lines from the create to the reflection, their figures (counts, rates, durations, ids) blanked out. */
const shapes = (stderr: string) =>
  new Set(
    stderr.slice(stderr.indexOf("Created backfill")).trimEnd().split("\n").map((line) =>
      line.replace(/\S+\.ndjson/g, "FILE").replace(/(backfill) \w+/g, "$1 ID").replace(/\d[\d,.]*(ms|s|m)?/g, "#")
        .replace(/ETA #( #)?/, "ETA #")
    )
  )

describe("a durable run's progress, as an in-memory run's", () => {
  it.scopedLive(
    "piped: the in-memory run's lines, a line each tenth of the way, within the first segment",
    () =>
      Effect.gen(function*() {
        const { run, state } = yield* served
        // 3,000 events: one segment, which the journal reports only once it is done.
        const file = tempFile("durable-progress.ndjson", ndjson(3_000))
        const durable = yield* run(["run", "--file", file, ...timeframe, "--add", "--state", state, ...slowPace])
        assert.strictEqual(durable.code, 0, durable.stderr)
        const sending = durable.stderr.match(/^sent [\d,]+ of 3,000 events \(\d+%\), [\d,]+ events\/s, ETA \S+$/gm) ??
          []
        assert.isAtLeast(sending.length, 5, durable.stderr)
        assert.match(durable.stderr, /^Created backfill \S+; sending events…$/m)
        assert.match(durable.stderr, /^Sent 3,000 events in \d+s; closed backfill \S+\.$/m)
        assert.match(durable.stderr, /^Waiting for Orb to mark backfill \S+ reflected…$/m)
        assert.notMatch(durable.stderr, /no change for|^Run run-/m)

        const memory = yield* run([
          "run",
          "--file",
          tempFile(
            "memory-progress.ndjson",
            ndjson(3_000, (i) =>
              JSON.stringify(wireEvent(i, {
                idempotency_key: `memory-${i}`,
                timestamp: new Date(Date.parse("2026-10-08T00:00:00Z") + i * 60_000).toISOString()
              })))
          ),
          "--start",
          "2026-10-08T00:00:00Z",
          "--end",
          "2026-10-15T00:00:00Z",
          "--add",
          "--ephemeral",
          ...slowPace
        ])
        assert.strictEqual(memory.code, 0, memory.stderr)
        assert.deepStrictEqual(shapes(durable.stderr), shapes(memory.stderr))
      }),
    60_000
  )

  it.scopedLive(
    "on a terminal: the bar with its rate and ETA, redrawn as the events go; a retry after Orb's 500s is named",
    () =>
      Effect.gen(function*() {
        const { run, simulator, state } = yield* served
        const file = tempFile("durable-progress-tty.ndjson", ndjson(4_000))
        // Orb answers 500 to everything for 3 seconds, once the run sends.
        yield* Effect.gen(function*() {
          while ((yield* simulator.backfills).length === 0) yield* Effect.sleep("20 millis")
          yield* Effect.sleep("1 second")
          yield* simulator.setFaults({ rate: 1, kinds: ["internal-error"], timing: "before" })
          yield* Effect.sleep("3500 millis")
          yield* simulator.setFaults(undefined)
        }).pipe(Effect.forkScoped)
        const ran = yield* run(
          ["run", "--file", file, ...timeframe, "--add", "--state", state, ...slowPace],
          { isTTY: true, columns: 120 }
        )
        assert.strictEqual(ran.code, 0, ran.stderr)
        const frames = ran.stderr.split("\r\x1b[2K").map((frame) => frame.split("\n")[0])
        const bars = frames.filter((frame) => frame.startsWith("Sending "))
        const shown = new Set(bars.map((bar) => /(\d+)%/.exec(bar)![1]))
        assert.isAtLeast(shown.size, 5, "the bar moves within the segment")
        for (const bar of bars.slice(1, -1)) {
          assert.match(bar, /^Sending {2}\[[█░]+\] +\d+% {2}[\d,]+\/4,000 events {2}[\d,]+\/s/)
        }
        assert.isTrue(bars.some((bar) => /ETA \d+s/.test(bar)), "an ETA")
        assert.isTrue(bars.some((bar) => /HTTP 500/.test(bar)), `the stall says why: ${bars.join("\n")}`)
        assert.match(ran.stderr, /Sent 4,000 events in \d+s; closed backfill \S+\./)
        assert.match(ran.stderr, /Waiting for Orb to mark backfill \S+ reflected… \d/)
        for (const frame of frames) assert.isAtMost(frame.length, 119)
      }),
    60_000
  )
})
