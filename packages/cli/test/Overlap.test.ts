/**
 * Two `orb-backfill run`s over overlapping timeframes against a served simulator: Orb refuses the second's create
 * while the first's backfill is pending, so the second says what it waits for, and creates once it is reflected.
 */
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { cliAt, fastPace, ndjson, slowPace, tempFile, timeframe, wireEvent } from "./support.js"

const apiKey = "sk-overlap-cli"

const served = Effect.gen(function*() {
  const server = yield* OrbSimulator.serve({ apiKey, reflectionDelay: "1 second", revertDelay: "500 millis" })
  const commands = yield* cliAt(server.url, apiKey)
  return {
    simulator: server.simulator,
    ...commands
  }
})

/** The first run (in memory), once its backfill over 2026-10-01 to 2026-10-08 is created and pending. */
const firstRun = (context: Effect.Effect.Success<typeof served>) =>
  Effect.gen(function*() {
    const first = yield* context.fork([
      "run",
      "--file",
      tempFile("overlap-first.ndjson", ndjson(3_000)),
      ...timeframe,
      "--add",
      "--ephemeral",
      ...slowPace
    ])
    const started = Date.now()
    while ((yield* context.simulator.backfills).length === 0) {
      if (Date.now() - started > 30_000) {
        return yield* Effect.dieMessage(`the first run created nothing: ${first.stderr()}`)
      }
      yield* Effect.sleep("20 millis")
    }
    return { first, blocker: (yield* context.simulator.backfills)[0] }
  })

/** The second run's file and timeframe (2026-10-04 to 2026-10-11): it overlaps the first's by four days. */
const secondRun = () => [
  "run",
  "--file",
  tempFile(
    "overlap-second.ndjson",
    Array.from({ length: 100 }, (_, i) =>
      JSON.stringify(wireEvent(i, {
        idempotency_key: `later-${i}`,
        timestamp: new Date(Date.parse("2026-10-04T00:00:00Z") + i * 60_000).toISOString()
      }))).join("\n") + "\n"
  ),
  "--start",
  "2026-10-04T00:00:00Z",
  "--end",
  "2026-10-11T00:00:00Z",
  "--add",
  ...fastPace
]

describe("orb-backfill run over a timeframe that overlaps a pending backfill", () => {
  it.scopedLive(
    "says which backfill it waits for, then creates once that one is reflected",
    () =>
      Effect.gen(function*() {
        const context = yield* served
        const { blocker, first } = yield* firstRun(context)
        const second = yield* context.run([...secondRun(), "--ephemeral"])
        assert.strictEqual(second.code, 0, second.stderr)
        assert.match(
          second.stderr,
          new RegExp(
            `^Waiting for backfill ${blocker.id} \\(2026-10-01 to 2026-10-08, pending\\) to be reflected or reverted: ` +
              "it overlaps this run's timeframe…$",
            "m"
          )
        )
        assert.match(second.stderr, /^Created backfill \S+; sending events…$/m)
        assert.strictEqual(yield* Fiber.join(first.fiber), 0, first.stderr())
        const backfills = yield* context.simulator.backfills
        assert.deepStrictEqual(backfills.map((b) => [b.status, b.eventsIngested]).sort(), [
          ["reflected", 100],
          ["reflected", 3_000]
        ])
      }),
    60_000
  )

  it.scopedLive(
    "durable: the same line says which backfill it waits for, then the run completes",
    () =>
      Effect.gen(function*() {
        const context = yield* served
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "orb-backfill-overlap-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
        const { blocker, first } = yield* firstRun(context)
        const second = yield* context.run([...secondRun(), "--state", path.join(dir, "runs.sqlite")])
        assert.strictEqual(second.code, 0, second.stderr)
        assert.match(
          second.stderr,
          new RegExp(
            `^Waiting for backfill ${blocker.id} \\(2026-10-01 to 2026-10-08, pending\\) to be reflected or ` +
              "reverted: it overlaps this run's timeframe…$",
            "m"
          )
        )
        assert.strictEqual(yield* Fiber.join(first.fiber), 0, first.stderr())
        const backfills = yield* context.simulator.backfills
        assert.deepStrictEqual(backfills.map((b) => [b.status, b.eventsIngested]).sort(), [
          ["reflected", 100],
          ["reflected", 3_000]
        ])
      }),
    60_000
  )

  it.scopedLive(
    "--overlap-wait 0 refuses at once, in memory and durably; --overlap-wait is checked",
    () =>
      Effect.gen(function*() {
        const context = yield* served
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "orb-backfill-overlap-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
        const bad = yield* context.run([...secondRun(), "--ephemeral", "--overlap-wait", "soon"])
        assert.strictEqual(bad.code, 2, bad.stderr)
        assert.include(bad.stderr, `--overlap-wait: expected a duration such as 500ms, 2s, 1m or 1h, got "soon"`)
        const { blocker, first } = yield* firstRun(context)
        const started = Date.now()
        const ephemeral = yield* context.run([...secondRun(), "--ephemeral", "--overlap-wait", "0"])
        assert.strictEqual(ephemeral.code, 1, ephemeral.stderr)
        assert.notInclude(ephemeral.stderr, "Waiting for backfill")
        assert.include(ephemeral.stderr, blocker.id)
        const durable = yield* context.run([
          ...secondRun(),
          "--state",
          path.join(dir, "runs.sqlite"),
          "--overlap-wait",
          "0s"
        ])
        assert.strictEqual(durable.code, 1, durable.stderr)
        assert.notInclude(durable.stderr, "waiting for backfill")
        assert.match(durable.stderr, /failed at create/)
        // Both refused while the first run still sends: neither waited for it.
        assert.isTrue(
          Option.isNone(yield* Fiber.poll(first.fiber)),
          `the first run ended first, after ${Date.now() - started}ms`
        )
        assert.strictEqual(yield* Fiber.join(first.fiber), 0, first.stderr())
        assert.strictEqual((yield* context.simulator.backfills).length, 1, "nothing else created")
      }),
    60_000
  )
})
