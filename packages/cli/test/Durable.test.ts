/**
 * `orb-backfill run` durable against an Orb that outlives the process (the simulator's real server here), with its
 * state in a real SQLite file; `runs`, `resume`, `runs cancel`; and `--ephemeral`.
 */
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as zlib from "node:zlib"
import * as Durable from "../src/internal/durable.js"
import { cliAt, fastPace, ndjson, slowPace, tempFile, timeframe, until, wireEvent } from "./support.js"

const apiKey = "sk-durable-cli"

/** A served simulator, a state file in a fresh folder, and the CLI pointed at the server as ORB_API_KEY would. */
const served = Effect.gen(function*() {
  const server = yield* OrbSimulator.serve({ apiKey, reflectionDelay: "1 second", revertDelay: "500 millis" })
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "orb-backfill-durable-"))
  yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
  const commands = yield* cliAt(server.url, apiKey)
  const state = path.join(dir, "runs.sqlite")
  return {
    simulator: server.simulator,
    state,
    ...commands
  }
})

const ingests = (simulator: OrbSimulator.OrbSimulator) =>
  Effect.map(simulator.requests, (requests) => requests.filter((r) => r.url.startsWith("/v1/ingest")).length)

const reverts = (simulator: OrbSimulator.OrbSimulator) =>
  Effect.map(simulator.requests, (requests) => requests.filter((r) => r.url.endsWith("/revert")).length)

/** One backfill, reflected, holding each of `count` events once. */
const assertOnce = (simulator: OrbSimulator.OrbSimulator, count: number) =>
  Effect.gen(function*() {
    const backfills = yield* simulator.backfills
    assert.strictEqual(backfills.length, 1, "exactly one backfill")
    assert.strictEqual(backfills[0].status, "reflected")
    assert.strictEqual(backfills[0].eventsIngested, count)
    const events = (yield* simulator.events).filter((e) => e.backfillId._tag === "Some")
    assert.strictEqual(events.length, count, "every event recorded once")
    assert.strictEqual(yield* reverts(simulator), 0, "nothing reverted")
  })

const runKeyIn = (text: string) => /[Dd]urable run (run-[0-9a-f]{20})/.exec(text)![1]

/** A durable run started with `args` in this process, interrupted (suspended) once 200 of its events are in: its key. */
const suspendedAfter = (
  orb: Pick<Effect.Effect.Success<typeof served>, "fork" | "simulator">,
  args: ReadonlyArray<string>
) =>
  Effect.gen(function*() {
    const started = yield* orb.fork(args)
    yield* until(
      Effect.map(orb.simulator.backfills, (all) => (all[0]?.eventsIngested ?? 0) >= 200),
      "some events in",
      started.stderr
    )
    yield* Fiber.interrupt(started.fiber)
    return runKeyIn(started.stderr())
  })

describe("orb-backfill run, durable", () => {
  it("the state file is under the user's state directory", () => {
    assert.strictEqual(
      Durable.defaultStatePath({ XDG_STATE_HOME: "/x/state" }, "/home/u"),
      "/x/state/orb-backfill/runs.sqlite"
    )
    assert.strictEqual(Durable.defaultStatePath({}, "/home/u"), "/home/u/.local/state/orb-backfill/runs.sqlite")
    // XDG: a relative path is to be ignored.
    assert.strictEqual(
      Durable.defaultStatePath({ XDG_STATE_HOME: "state" }, "/home/u"),
      "/home/u/.local/state/orb-backfill/runs.sqlite"
    )
  })

  it.scopedLive(
    "ends reflected; the same command again attaches and adds nothing; runs lists it",
    () =>
      Effect.gen(function*() {
        const { run, simulator, state } = yield* served
        const file = tempFile("durable.ndjson", ndjson(1_000))
        const args = ["run", "--file", file, ...timeframe, "--add", "--state", state, ...fastPace]
        const first = yield* run(args)
        assert.strictEqual(first.code, 0, first.stderr)
        assert.include(first.stderr, `State: ${state}`)
        assert.match(first.stdout, /Backfill \S+ is reflected: 1,000 events/)
        yield* assertOnce(simulator, 1_000)
        const runKey = runKeyIn(first.stderr)
        const sent = yield* ingests(simulator)

        const again = yield* run(args)
        assert.strictEqual(again.code, 0, again.stderr)
        assert.include(again.stderr, `Attaching to durable run ${runKey} (done)`)
        assert.match(again.stdout, /is reflected: 1,000 events/)
        assert.strictEqual(yield* ingests(simulator), sent, "nothing sent again")
        yield* assertOnce(simulator, 1_000)

        // Another timeframe is another run: its key differs.
        const other = Durable.runKeyOf("0".repeat(64), {
          timeframeStart: (yield* simulator.backfills)[0].timeframeStart,
          timeframeEnd: (yield* simulator.backfills)[0].timeframeEnd,
          replaceExistingEvents: true
        })
        assert.notStrictEqual(other, runKey)
        // Column types shape the events sent: another run; none given, the key is what it always was.
        const backfill = {
          timeframeStart: (yield* simulator.backfills)[0].timeframeStart,
          timeframeEnd: (yield* simulator.backfills)[0].timeframeEnd,
          replaceExistingEvents: false
        }
        const plain = Durable.runKeyOf("0".repeat(64), backfill)
        assert.strictEqual(Durable.runKeyOf("0".repeat(64), backfill, {}), plain)
        assert.notStrictEqual(Durable.runKeyOf("0".repeat(64), backfill, { zip: "string" }), plain)

        const listed = yield* run(["runs", "--state", state])
        assert.strictEqual(listed.code, 0, listed.stderr)
        const [header, row] = listed.stdout.trimEnd().split("\n")
        assert.match(header, /^RUN KEY\s+BACKFILL\s+STAGE\s+ACCEPTED\s+DONE\s+ORB\s+LAST ERROR$/)
        assert.match(
          row,
          new RegExp(
            `^${runKey}\\s+${(yield* simulator.backfills)[0].id}\\s+done\\s+1,000\\s+100%\\s+\\S+ \\(this Orb\\)\\s+-$`
          )
        )
        const json = JSON.parse((yield* run(["runs", "--state", state, "--json"])).stdout)
        assert.deepInclude(json[0], { run_key: runKey, stage: "done", accepted: 1_000, done: 1 })

        // Pruned, it is forgotten: the same command is then a new run, with a new backfill.
        const kept = yield* run(["runs", "prune", "--older-than", "1", "--state", state])
        assert.match(kept.stdout, /nothing was pruned/)
        const pruned = yield* run(["runs", "prune", "--older-than", "0", "--state", state])
        assert.strictEqual(pruned.code, 0, pruned.stderr)
        assert.include(pruned.stdout, `Pruned 1 durable run that finished before `)
        assert.include(pruned.stdout, `: ${runKey}. Their run keys would now start new runs.`)
        assert.strictEqual((yield* run(["runs", "--state", state])).stdout, `No durable runs in ${state}.\n`)
        const anew = yield* run(args)
        assert.strictEqual(anew.code, 0, anew.stderr)
        assert.strictEqual((yield* simulator.backfills).length, 2, "a new run, a new backfill")
      }),
    30_000
  )

  it.scopedLive(
    "Ctrl-C suspends the run (nothing reverted); a second process is refused; resume finishes it once",
    () =>
      Effect.gen(function*() {
        const { fork, run, simulator, state } = yield* served
        const file = tempFile("suspend.ndjson", ndjson(2_000))
        const started = yield* fork(["run", "--file", file, ...timeframe, "--add", "--state", state, ...slowPace])
        yield* until(
          Effect.map(simulator.backfills, (all) => (all[0]?.eventsIngested ?? 0) >= 400),
          "some events in",
          started.stderr
        )
        // Beside it: `runs` reads the state file, `resume` would run its engine and is refused.
        const listed = yield* run(["runs", "--state", state])
        assert.match(listed.stdout, /ingesting/)
        const refused = yield* run(["resume", "--state", state])
        assert.strictEqual(refused.code, 1)
        assert.match(
          refused.stderr,
          new RegExp(`Error: The state file ${state} is in use by another process \\(process ${process.pid} on `)
        )

        yield* Fiber.interrupt(started.fiber)
        const runKey = runKeyIn(started.stderr())
        assert.include(started.stderr(), `Interrupted: durable run ${runKey} is suspended (backfill`)
        assert.include(started.stderr(), `Continue it with: orb-backfill resume ${runKey} --state ${state}`)
        const [backfill] = yield* simulator.backfills
        assert.strictEqual(backfill.status, "pending", "still open")
        assert.strictEqual(yield* reverts(simulator), 0)

        const resumed = yield* run(["resume", runKey, "--state", state])
        assert.strictEqual(resumed.code, 0, resumed.stderr)
        assert.match(resumed.stdout, /is reflected: 2,000 events/)
        yield* assertOnce(simulator, 2_000)
        const nothingLeft = yield* run(["resume", "--state", state])
        assert.include(nothingLeft.stdout, "No unfinished durable runs")
      }),
    40_000
  )

  it.scopedLive(
    "resume --json of every unfinished run prints one document: an array of their results",
    () =>
      Effect.gen(function*() {
        const { fork, run, simulator, state } = yield* served
        // Nothing to resume yet (no state file): an empty array, not a sentence.
        const none = yield* run(["resume", "--state", state, "--json"])
        assert.strictEqual(none.code, 0, none.stderr)
        assert.deepStrictEqual(JSON.parse(none.stdout), [])
        const file = tempFile("resume-json.ndjson", ndjson(1_000))
        const runKey = yield* suspendedAfter(
          { fork, simulator },
          ["run", "--file", file, ...timeframe, "--add", "--state", state, ...slowPace]
        )
        const resumed = yield* run(["resume", "--state", state, "--json"])
        assert.strictEqual(resumed.code, 0, resumed.stderr)
        const documents = JSON.parse(resumed.stdout)
        assert.isArray(documents, resumed.stdout)
        assert.strictEqual(documents.length, 1, resumed.stdout)
        assert.strictEqual(documents[0].run.run_key, runKey)
        assert.strictEqual(documents[0].ingestion.accepted, 1_000)
        // Nothing left: an empty array again.
        const nothingLeft = yield* run(["resume", "--state", state, "--json"])
        assert.deepStrictEqual(JSON.parse(nothingLeft.stdout), [])
      }),
    40_000
  )

  it.scopedLive(
    "resume --json of a run that fails: the array holds its error's document, exit code 1",
    () =>
      Effect.gen(function*() {
        const { fork, run, simulator, state } = yield* served
        const file = tempFile("resume-json-fails.ndjson", ndjson(6_000))
        const runKey = yield* suspendedAfter(
          { fork, simulator },
          ["run", "--file", file, ...timeframe, "--add", "--state", state, ...slowPace]
        )
        // The file changed while the run was suspended: the run fails, and reverts.
        fs.appendFileSync(file, JSON.stringify(wireEvent(9_000)) + "\n")
        const resumed = yield* run(["resume", "--state", state, "--json"])
        assert.strictEqual(resumed.code, 1, resumed.stderr)
        const documents = JSON.parse(resumed.stdout)
        assert.lengthOf(documents, 1, resumed.stdout)
        assert.strictEqual(documents[0].run.run_key, runKey)
        assert.strictEqual(documents[0].error.tag, "DurableRunFailed", resumed.stdout)
        assert.include(documents[0].error.message, "changed", resumed.stdout)
      }),
    40_000
  )

  it.scopedLive("runs cancel reverts a suspended run's backfill and ends the run", () =>
    Effect.gen(function*() {
      const { fork, run, simulator, state } = yield* served
      const file = tempFile("cancel.ndjson", ndjson(2_000))
      const runKey = yield* suspendedAfter(
        { fork, simulator },
        ["run", "--file", file, ...timeframe, "--replace", "--state", state, ...slowPace]
      )

      const cancelled = yield* run(["runs", "cancel", runKey, "--state", state])
      assert.strictEqual(cancelled.code, 0, cancelled.stderr)
      const [backfill] = yield* simulator.backfills
      assert.include(
        cancelled.stdout,
        `Cancelled durable run ${runKey}: backfill ${backfill.id} was reverted`,
        cancelled.stdout
      )
      assert.strictEqual(backfill.status, "reverted")
      assert.strictEqual((yield* simulator.requests).filter((r) => r.url.endsWith("/close")).length, 0, "never closed")

      const listed = JSON.parse((yield* run(["runs", "--state", state, "--json"])).stdout)
      assert.strictEqual(listed[0].stage, "failed")
      assert.include(listed[0].last_error, "cancel")
      const again = yield* run(["runs", "cancel", runKey, "--state", state])
      assert.strictEqual(again.code, 2)
      assert.include(again.stderr, "has already ended")
      // Not `revert` it: Orb would refuse that (it is reverted already).
      assert.include(again.stderr, "nothing to cancel, and its backfill is reverted", again.stderr)
      assert.notInclude(again.stderr, "orb-backfill revert", again.stderr)
      assert.include((yield* run(["resume", "--state", state])).stdout, "No unfinished durable runs")
    }), 40_000)

  it.scopedLive("a CSV file works durably, its events given the backfill's customer", () =>
    Effect.gen(function*() {
      const { run, simulator, state } = yield* served
      const rows = Array.from({ length: 300 }, (_, i) => {
        const e = wireEvent(i + 1)
        return `${e.event_name},${e.timestamp},,${e.idempotency_key},${i % 7},"${10_000 + i}"`
      })
      const file = tempFile(
        "durable.csv",
        ["event_name,timestamp,external_customer_id,idempotency_key,units,zip", ...rows].join("\n")
      )
      const ran = yield* run([
        "run",
        "--file",
        file,
        ...timeframe,
        "--add",
        "--external-customer-id",
        "acme",
        "--csv-type",
        "zip=string",
        "--state",
        state,
        ...fastPace
      ])
      assert.strictEqual(ran.code, 0, ran.stderr)
      yield* assertOnce(simulator, 300)
      const events = (yield* simulator.events).filter((e) => e.backfillId._tag === "Some")
      assert.isTrue(events.every((e) => e.externalCustomerId._tag === "Some" && e.externalCustomerId.value === "acme"))
      const fifth = events.find((e) => e.idempotencyKey === "event-5")!
      // The durable source reads the file with the run's --csv-type: the zip codes stay strings.
      assert.deepStrictEqual(fifth.properties, { units: 4, zip: "10004" })
    }), 30_000)

  it.scopedLive(
    "a gzip JSON array export, durably, one customer of it (--only-external-customer)",
    () =>
      Effect.gen(function*() {
        const { run, simulator, state } = yield* served
        const events = Array.from({ length: 600 }, (_, i) => wireEvent(i + 1))
        const file = tempFile("export.json.gz", "")
        fs.writeFileSync(file, zlib.gzipSync(JSON.stringify(events, null, 2)))
        const ran = yield* run([
          "run",
          "--file",
          file,
          ...timeframe,
          "--replace",
          "--only-external-customer",
          "customer-2",
          "--state",
          state,
          ...fastPace
        ])
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.include(
          ran.stderr,
          "Kept 200 events of external customer customer-2; left out 400 events of 2 other customers " +
            "(customer-0 200, customer-1 200)."
        )
        yield* assertOnce(simulator, 200)
        // Verified by default: the other customers' events, left out, are not looked for.
        assert.include(
          ran.stdout,
          "200 events found as sent, 0 missing, 0 different, 0 deprecated (600 lines read, 0 invalid, 400 outside"
        )
        const sent = (yield* simulator.events).filter((e) => e.backfillId._tag === "Some")
        assert.isTrue(
          sent.every((e) => e.externalCustomerId._tag === "Some" && e.externalCustomerId.value === "customer-2")
        )
      }),
    30_000
  )

  it.scopedLive(
    "--ephemeral runs in memory as before; an invalid file creates nothing, not even the state file",
    () =>
      Effect.gen(function*() {
        const { run, simulator, state } = yield* served
        const bad = tempFile("bad-durable.ndjson", ndjson(10, (i) => (i === 7 ? "{oops" : undefined)))
        const refused = yield* run(["run", "--file", bad, ...timeframe, "--add", "--state", state, ...fastPace])
        assert.strictEqual(refused.code, 2)
        assert.include(refused.stderr, "nothing was created")
        assert.isFalse(fs.existsSync(state), "no state file")

        const file = tempFile("ephemeral.ndjson", ndjson(100))
        const ran = yield* run(["run", "--file", file, ...timeframe, "--add", "--ephemeral", ...fastPace])
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.notInclude(ran.stderr, "State:")
        assert.notInclude(ran.stderr, "durable run")
        assert.match(ran.stdout, /is reflected: 100 events/)
        assert.match(ran.stdout, /^Sent 100 events in /m)
        assert.isFalse(fs.existsSync(state))
        assert.strictEqual((yield* simulator.backfills).length, 1)

        const mixed = yield* run(["run", "--file", file, ...timeframe, "--add", "--ephemeral", "--state", state])
        assert.strictEqual(mixed.code, 2)
        assert.include(mixed.stderr, "--state is for durable runs")
      }),
    30_000
  )
})
