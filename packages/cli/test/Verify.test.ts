/**
 * `orb-backfill verify` against an Orb that outlives the process (the simulator's real server), over real files.
 */
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { cliAt, tempFile, timeframe, wireEvent } from "./support.js"

const apiKey = "sk-verify-cli"

const served = Effect.gen(function*() {
  const server = yield* OrbSimulator.serve({ apiKey, reflectionDelay: "200 millis", revertDelay: "200 millis" })
  const commands = yield* cliAt(server.url, apiKey)
  return {
    simulator: server.simulator,
    ...commands
  }
})

const ndjson = (lines: ReadonlyArray<unknown>) => lines.map((line) => JSON.stringify(line)).join("\n") + "\n"

const events = Array.from({ length: 30 }, (_, i) => wireEvent(i))

describe("orb-backfill verify", () => {
  it.scopedLive("exits 0 when Orb holds the file, 1 naming the key and property that differ, with --json", () =>
    Effect.gen(function*() {
      const { run, simulator } = yield* served
      const file = tempFile("verify.ndjson", ndjson(events))
      const ran = yield* run(["run", "--file", file, ...timeframe, "--replace", "--ephemeral"])
      assert.strictEqual(ran.code, 0, ran.stderr)
      const [backfill] = yield* simulator.backfills
      assert.strictEqual(backfill.status, "reflected")

      const holds = yield* run(["verify", backfill.id, "--file", file])
      assert.strictEqual(holds.code, 0, holds.stderr)
      assert.include(holds.stdout, `Backfill ${backfill.id}: 30 events found as sent, 0 missing, 0 different`)
      assert.include(holds.stdout, "168 hours checked, 0 counted otherwise")

      const changed = tempFile(
        "changed.ndjson",
        ndjson(events.map((e, i) => i === 5 ? { ...e, properties: { ...e.properties, units: 42 } } : e))
      )
      const differs = yield* run(["verify", backfill.id, "--file", changed])
      assert.strictEqual(differs.code, 1)
      assert.include(differs.stdout, "event-5: different (properties.units sent 42, found 5)")
      assert.match(differs.stderr, /^Error: Orb does not hold what was sent to .*1 event held with other content/m)
      assert.include(differs.stderr, "revert the backfill")

      const json = yield* run(["verify", backfill.id, "--file", changed, "--json"])
      assert.strictEqual(json.code, 1)
      const document = JSON.parse(json.stdout)
      assert.strictEqual(document.holds, false)
      assert.strictEqual(document.found, 29)
      assert.strictEqual(document.differences[0].idempotency_key, "event-5")
      assert.strictEqual(document.hours_checked, 168)
      assert.deepStrictEqual(document.differences[0].fields, [{ field: "properties.units", sent: "42", found: "5" }])
      assert.strictEqual(document.error.tag, "VerifyFailed")
    }))

  it.scopedLive("a reverted backfill: exit 1 naming it and its status", () =>
    Effect.gen(function*() {
      const { run, simulator } = yield* served
      const file = tempFile("reverted.ndjson", ndjson(events))
      assert.strictEqual((yield* run(["run", "--file", file, ...timeframe, "--add", "--ephemeral"])).code, 0)
      const [backfill] = yield* simulator.backfills
      assert.strictEqual((yield* run(["revert", backfill.id, "--wait"])).code, 0)
      const ran = yield* run(["verify", backfill.id, "--file", file])
      assert.strictEqual(ran.code, 1)
      assert.include(ran.stderr, `Error: Backfill ${backfill.id} is reverted, not reflected`)
    }))

  it.scopedLive("a backfill of one customer by external id: --external-customer-id leaves the others out", () =>
    Effect.gen(function*() {
      const { run, simulator } = yield* served
      const file = tempFile("only-external.ndjson", ndjson(events))
      const ran = yield* run([
        "run",
        "--file",
        file,
        ...timeframe,
        "--replace",
        "--only-external-customer",
        "customer-2",
        "--ephemeral",
        "--no-verify"
      ])
      assert.strictEqual(ran.code, 0, ran.stderr)
      const [backfill] = yield* simulator.backfills
      // Orb's backfill says cus_..., never customer-2: without the flag, the other customers' events are looked for.
      const unscoped = yield* run(["verify", backfill.id, "--file", file])
      assert.strictEqual(unscoped.code, 1)
      assert.include(unscoped.stdout, "10 events found as sent, 20 missing")
      const scoped = yield* run(["verify", backfill.id, "--file", file, "--external-customer-id", "customer-2"])
      assert.strictEqual(scoped.code, 0, scoped.stderr)
      assert.include(
        scoped.stdout,
        `Backfill ${backfill.id}: 10 events found as sent, 0 missing, 0 different, 0 deprecated (30 lines read, 0 ` +
          "invalid, 20 outside its timeframe or customer)."
      )
    }))
})
