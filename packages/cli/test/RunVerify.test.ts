/**
 * `orb-backfill run --verify`: against an Orb that outlives the process (the simulator's real server) a run verifies
 * its reflected backfill by default, durable or in memory; `--no-verify` does not; a run whose backfill Orb does not
 * hold as the file has it exits 1 and leaves the backfill as it is; a run that does not await reflection cannot
 * verify.
 */
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { cli, cliAt, simulator, tempFile, timeframe, wireEvent } from "./support.js"

const apiKey = "sk-run-verify"

const served = (options: Partial<OrbSimulator.ServeOptions> = {}) =>
  Effect.gen(function*() {
    const server = yield* OrbSimulator.serve({
      apiKey,
      reflectionDelay: "200 millis",
      revertDelay: "200 millis",
      ...options
    })
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "orb-backfill-run-verify-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
    const commands = yield* cliAt(server.url, apiKey)
    return {
      simulator: server.simulator,
      state: path.join(dir, "runs.sqlite"),
      ...commands
    }
  })

const ndjson = (lines: ReadonlyArray<unknown>) => lines.map((line) => JSON.stringify(line)).join("\n") + "\n"

const events = Array.from({ length: 30 }, (_, i) => wireEvent(i))

const searches = (simulator: OrbSimulator.OrbSimulator) =>
  Effect.map(simulator.requests, (requests) => requests.filter((r) => r.url.startsWith("/v1/events/search")).length)

describe("orb-backfill run --verify", () => {
  it.scopedLive(
    "a durable run against Orb verifies by default; --no-verify does not; --json holds the report",
    () =>
      Effect.gen(function*() {
        const { run, simulator, state } = yield* served()
        const file = tempFile("run-verify.ndjson", ndjson(events))
        const args = ["run", "--file", file, ...timeframe, "--replace", "--state", state]
        const ran = yield* run(args)
        assert.strictEqual(ran.code, 0, ran.stderr)
        const [backfill] = yield* simulator.backfills
        const out = ran.stdout.trimEnd().split("\n")
        // The run's result first, then the report.
        assert.match(out[0], new RegExp(`^Backfill ${backfill.id} is reflected: 30 events`))
        assert.include(ran.stdout, `Backfill ${backfill.id}: 30 events found as sent, 0 missing, 0 different`)
        assert.include(ran.stdout, "Hourly volume: 168 hours checked, 0 counted otherwise than the file.")
        assert.include(ran.stderr, `Verifying the backfill against ${file}…`)
        assert.isAbove(yield* searches(simulator), 0)

        // The same command attaches to the finished run: without verifying, nothing is searched or reported.
        const before = yield* searches(simulator)
        const quiet = yield* run([...args, "--no-verify"])
        assert.strictEqual(quiet.code, 0, quiet.stderr)
        assert.match(quiet.stdout, /is reflected: 30 events/)
        assert.notInclude(quiet.stdout, "found as sent")
        assert.notInclude(quiet.stderr, "Verifying")
        assert.strictEqual(yield* searches(simulator), before)

        const json = yield* run([...args, "--json"])
        assert.strictEqual(json.code, 0, json.stderr)
        const document = JSON.parse(json.stdout)
        assert.strictEqual(document.backfill.id, backfill.id)
        assert.deepInclude(document.verification, { holds: true, found: 30, missing: 0, hours_checked: 168 })
        assert.deepStrictEqual(document.verification.backfill_ids, [backfill.id])
        assert.notProperty(document, "error")
      }),
    30_000
  )

  it.scopedLive(
    "exits 1 naming what Orb holds otherwise (keys deprecated before), the backfill left as it is",
    () =>
      Effect.gen(function*() {
        const { run, simulator, state } = yield* served()
        const file = tempFile("deprecated-keys.ndjson", ndjson(events))
        const first = yield* run(["run", "--file", file, ...timeframe, "--replace", "--ephemeral", "--no-verify"])
        assert.strictEqual(first.code, 0, first.stderr)
        // A correction of customer-2 under new keys deprecates its events of the first run: Orb refuses their keys
        // from then on, as its documentation says.
        const correction = tempFile(
          "correction.ndjson",
          ndjson(
            events.filter((e) => e.external_customer_id === "customer-2").map((e) => ({
              ...e,
              idempotency_key: `corrected-${e.idempotency_key}`
            }))
          )
        )
        const corrected = yield* run([
          "run",
          "--file",
          correction,
          ...timeframe,
          "--replace",
          "--external-customer-id",
          "customer-2",
          "--ephemeral",
          "--no-verify"
        ])
        assert.strictEqual(corrected.code, 0, corrected.stderr)

        // The first file again, leaving out what Orb refuses: the run ends reflected, and Orb does not hold the file.
        const again = yield* run(["run", "--file", file, ...timeframe, "--replace", "--skip-invalid", "--state", state])
        assert.strictEqual(again.code, 1, again.stdout + again.stderr)
        const all = yield* simulator.backfills
        assert.strictEqual(all.length, 3)
        const last = all.reduce((a, b) => (a.createdAt.epochMillis > b.createdAt.epochMillis ? a : b))
        assert.strictEqual(last.status, "reflected", "verifying reverts nothing")
        assert.match(again.stdout, new RegExp(`^Backfill ${last.id} is reflected: 20 events`, "m"))
        assert.include(
          again.stdout,
          `Backfill ${last.id}: 20 events found as sent, 0 missing, 0 different, 10 deprecated`
        )
        assert.include(again.stdout, "  event-2: deprecated")
        assert.match(
          again.stderr,
          new RegExp(`^Error: Orb does not hold what was sent to ${last.id}: 10 events deprecated`, "m")
        )
        assert.include(
          again.stderr,
          `The run leaves its backfill as it is (verifying never reverts); to revert: orb-backfill revert ${last.id}`
        )

        // Under --json (the same command attaches to the finished run): one document, the report and the error in it.
        const json = yield* run([
          "run",
          "--file",
          file,
          ...timeframe,
          "--replace",
          "--skip-invalid",
          "--state",
          state,
          "--json"
        ])
        assert.strictEqual(json.code, 1)
        const document = JSON.parse(json.stdout)
        assert.strictEqual(document.backfill.id, last.id)
        assert.deepInclude(document.verification, { holds: false, found: 20, deprecated: 10 })
        assert.strictEqual(document.error.tag, "VerifyFailed")
        assert.include(document.error.message, `to revert: orb-backfill revert ${last.id}`)
      }),
    30_000
  )

  it.scopedLive("Ctrl-C while verifying changes nothing and says how to verify", () =>
    Effect.gen(function*() {
      // Every answer slow: the verification lasts long enough to be interrupted.
      const { fork, simulator } = yield* served({ latency: "400 millis" })
      const file = tempFile("interrupted-verify.ndjson", ndjson(events))
      const started = yield* fork(["run", "--file", file, ...timeframe, "--add", "--ephemeral"])
      for (let waited = 0; !started.stderr().includes("Verifying the backfill"); waited += 20) {
        if (waited > 30_000) return assert.fail(`no verification: ${started.stderr()}`)
        yield* Effect.sleep("20 millis")
      }
      yield* Fiber.interrupt(started.fiber)
      const [backfill] = yield* simulator.backfills
      assert.strictEqual(backfill.status, "reflected")
      assert.include(
        started.stderr(),
        `Interrupted while verifying: nothing changed, the run is done. Verify with: orb-backfill verify ${backfill.id} ` +
          `--file ${file} --format ndjson`
      )
    }), 30_000)

  it.live(
    "off against the in-process simulator unless --verify; refused when the run does not await reflection",
    () =>
      Effect.gen(function*() {
        const file = tempFile("in-process.ndjson", ndjson(events))
        const plain = yield* cli(["run", "--file", file, ...timeframe, "--add"])
        assert.strictEqual(plain.code, 0, plain.stderr)
        assert.notInclude(plain.stdout, "found as sent")

        const forced = yield* cli(["run", "--file", file, ...timeframe, "--replace", "--verify"])
        assert.strictEqual(forced.code, 0, forced.stderr)
        assert.match(forced.stdout, /^Backfill \S+: 30 events found as sent, 0 missing, 0 different, 0 deprecated/m)

        const simulated = yield* OrbSimulator.OrbSimulator
        const made = (yield* simulated.backfills).length
        const refused = yield* cli(["run", "--file", file, ...timeframe, "--add", "--verify", "--no-wait"])
        assert.strictEqual(refused.code, 2)
        assert.match(refused.stderr, /^Error: --verify needs the run to wait until Orb reflects the backfill/m)
        assert.strictEqual((yield* simulated.backfills).length, made, "nothing created")
        const both = yield* cli(["run", "--file", file, ...timeframe, "--add", "--verify", "--no-verify"])
        assert.strictEqual(both.code, 2)
        assert.include(both.stderr, "Error: give only one of --verify and --no-verify.")
      }).pipe(Effect.provide(simulator)),
    30_000
  )
})
