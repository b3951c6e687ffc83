/**
 * A durable run's identity: the Orb it belongs to (a run is never resumed, reverted or cancelled against another),
 * what running the same command again does after the run ended reverted, and what an interruption says by stage.
 * Served simulators (real HTTP), real state files.
 */
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { cliAt, fastPace, ndjson, slowPace, tempFile, timeframe, until } from "./support.js"

const apiKey = "sk-identity"

/** A served simulator and the CLI pointed at it. */
const orb = (reflectionDelay: Duration.DurationInput = "1 second") =>
  Effect.gen(function*() {
    const server = yield* OrbSimulator.serve({ apiKey, reflectionDelay, revertDelay: "300 millis" })
    return { simulator: server.simulator, url: server.url, ...(yield* cliAt(server.url, apiKey)) }
  })

const stateFile = Effect.gen(function*() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "orb-backfill-identity-"))
  yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
  return path.join(dir, "runs.sqlite")
})

const requests = (simulator: OrbSimulator.OrbSimulator, match: (url: string) => boolean) =>
  Effect.map(simulator.requests, (all) => all.filter((r) => match(r.url)).length)

const runKeyIn = (text: string) => /[Dd]urable run (run-[0-9a-f]{20}(?:-\d+)?)/.exec(text)![1]

/** Starts a run on `at` and interrupts it once some of its events are in: a suspended run, its backfill open. */
const suspendedRun = (
  at: Effect.Effect.Success<ReturnType<typeof orb>>,
  state: string,
  name: string,
  events = 2_000
) =>
  Effect.gen(function*() {
    const file = tempFile(name, ndjson(events))
    const started = yield* at.fork(["run", "--file", file, ...timeframe, "--replace", "--state", state, ...slowPace])
    yield* until(
      Effect.map(at.simulator.backfills, (all) => (all[0]?.eventsIngested ?? 0) >= 200),
      "some events in",
      started.stderr
    )
    yield* Fiber.interrupt(started.fiber)
    return { file, runKey: runKeyIn(started.stderr()), backfillId: (yield* at.simulator.backfills)[0].id }
  })

describe("a durable run belongs to its Orb", () => {
  it.scopedLive(
    "resume, cancel and another run against another Orb touch nothing of it; against its own it finishes once",
    () =>
      Effect.gen(function*() {
        const state = yield* stateFile
        const home = yield* orb()
        const other = yield* orb()
        const { runKey } = yield* suspendedRun(home, state, "identity-home.ndjson")

        const resumed = yield* other.run(["resume", runKey, "--state", state])
        assert.strictEqual(resumed.code, 2, resumed.stderr)
        assert.include(
          resumed.stderr,
          `Error: durable run ${runKey} belongs to the Orb at ${home.url}, not to the one at ${other.url}`
        )
        assert.notInclude(resumed.stderr, apiKey)
        const cancelled = yield* other.run(["runs", "cancel", runKey, "--state", state])
        assert.strictEqual(cancelled.code, 2, cancelled.stderr)
        assert.include(cancelled.stderr, `belongs to the Orb at ${home.url}, not to the one at ${other.url}`)

        const listed = yield* other.run(["runs", "--state", state])
        assert.include(listed.stdout, `${runKey}`)
        assert.include(listed.stdout, `${home.url} (another Orb)`)
        const json = JSON.parse((yield* other.run(["runs", "--state", state, "--json"])).stdout)
        assert.deepInclude(json[0], { orb: home.url, this_orb: false })

        // The engine resumes every unfinished run of its file by itself: a run on the other Orb must not act on it.
        const file = tempFile("identity-other.ndjson", ndjson(100))
        const there = yield* other.run(["run", "--file", file, ...timeframe, "--add", "--state", state, ...fastPace])
        assert.strictEqual(there.code, 0, there.stderr)
        assert.include(
          there.stderr,
          `Durable run ${runKey} of this state file belongs to the Orb at ${home.url}: it is left as it is`
        )
        // Only the new run's requests reached the other Orb: one create, no revert, nothing refused as unknown.
        const log = yield* other.simulator.requests
        assert.deepStrictEqual(
          log.filter((r) => r.status === 404 || r.url.endsWith("/revert")).map((r) => `${r.method} ${r.url}`),
          []
        )
        assert.strictEqual((yield* other.simulator.backfills).length, 1)
        assert.strictEqual(yield* requests(home.simulator, (url) => url.endsWith("/revert")), 0, "nothing reverted")
        assert.strictEqual((yield* home.simulator.backfills)[0].status, "pending", "still open")

        // Another key on the run's own base URL: not provably the same account before the backfill is seen.
        const stranger = yield* cliAt(home.url, "sk-someone-else")
        const refused = yield* stranger.run(["resume", runKey, "--state", state])
        assert.strictEqual(refused.code, 2, refused.stderr)
        assert.include(refused.stderr, `durable run ${runKey} belongs to another account of the Orb at ${home.url}`)
        assert.notInclude(refused.stderr, "sk-someone-else")

        const home2 = yield* home.run(["resume", runKey, "--state", state])
        assert.strictEqual(home2.code, 0, home2.stderr)
        assert.match(home2.stdout, /is reflected: 2,000 events/)
        const [backfill] = yield* home.simulator.backfills
        assert.strictEqual(backfill.status, "reflected")
        assert.strictEqual(backfill.eventsIngested, 2_000)
        assert.strictEqual(yield* requests(home.simulator, (url) => url.endsWith("/revert")), 0, "nothing reverted")
      }),
    60_000
  )
})

describe("the same command after its run ended reverted", () => {
  it.scopedLive(
    "reverted by revert, or cancelled: a new run under a new run key, said in one line; reflected: attached to",
    () =>
      Effect.gen(function*() {
        const state = yield* stateFile
        const home = yield* orb("200 millis")
        const file = tempFile("rerun-reverted.ndjson", ndjson(300))
        const args = ["run", "--file", file, ...timeframe, "--replace", "--state", state, ...fastPace]
        const first = yield* home.run(args)
        assert.strictEqual(first.code, 0, first.stderr)
        const runKey = runKeyIn(first.stderr)
        const [reflected] = yield* home.simulator.backfills
        const reverted = yield* home.run(["revert", reflected.id])
        assert.strictEqual(reverted.code, 0, reverted.stderr)
        yield* until(
          Effect.map(home.simulator.backfills, (all) => all.every((b) => b.status === "reverted")),
          "the revert",
          () => reverted.stderr
        )

        const again = yield* home.run(args)
        assert.strictEqual(again.code, 0, again.stderr)
        assert.include(
          again.stderr,
          `Durable run ${runKey} ended with its backfill ${reflected.id} reverted since; starting a new run ${runKey}-2.`
        )
        assert.match(again.stdout, /is reflected: 300 events/)
        assert.match(again.stdout, /^Sent 300 events \(durable run run-[0-9a-f]{20}-2\)/m)
        const after = yield* home.simulator.backfills
        assert.deepStrictEqual(after.map((b) => b.status).sort(), ["reflected", "reverted"])
        const active = (yield* home.simulator.events).filter((e) => e.status === "active")
        assert.strictEqual(active.length, 300, "the usage is back")

        // Reflected and not reverted: the same command attaches to it, nothing sent.
        const attached = yield* home.run(args)
        assert.strictEqual(attached.code, 0, attached.stderr)
        assert.include(attached.stderr, `Attaching to durable run ${runKey}-2 (done)`)
        assert.strictEqual((yield* home.simulator.backfills).length, 2)

        // Cancelled: the same.
        const slowFile = tempFile("rerun-cancelled.ndjson", ndjson(2_000))
        const slowArgs = ["run", "--file", slowFile, ...timeframe, "--replace", "--state", state, ...slowPace]
        const started = yield* home.fork(slowArgs)
        yield* until(
          Effect.map(home.simulator.backfills, (all) =>
            all.some((b) => b.status === "pending" && b.eventsIngested >= 200)),
          "some events in",
          started.stderr
        )
        yield* Fiber.interrupt(started.fiber)
        const cancelledKey = runKeyIn(started.stderr())
        const cancelled = yield* home.run(["runs", "cancel", cancelledKey, "--state", state])
        assert.strictEqual(cancelled.code, 0, cancelled.stderr)
        const fresh = yield* home.run([
          "run",
          "--file",
          slowFile,
          ...timeframe,
          "--replace",
          "--state",
          state,
          ...fastPace
        ])
        assert.strictEqual(fresh.code, 0, fresh.stderr)
        assert.include(fresh.stderr, `Durable run ${cancelledKey} failed (cancel: the run was cancelled)`)
        assert.include(fresh.stderr, `starting a new run ${cancelledKey}-2.`)
        assert.match(fresh.stdout, /^Sent 2,000 events/m)
      }),
    60_000
  )
})

describe("Ctrl-C says where the run was", () => {
  it.scopedLive("awaiting reflection: the backfill is closed, and resume only waits", () =>
    Effect.gen(function*() {
      const state = yield* stateFile
      const home = yield* orb("4 seconds")
      const file = tempFile("suspend-reflecting.ndjson", ndjson(100))
      const started = yield* home.fork(["run", "--file", file, ...timeframe, "--add", "--state", state, ...fastPace])
      yield* until(
        Effect.map(
          home.run(["runs", "--state", state, "--json"]),
          (listed) => listed.stdout.includes(`"stage":"awaiting reflection"`)
        ),
        "the close",
        started.stderr
      )
      yield* Fiber.interrupt(started.fiber)
      const runKey = runKeyIn(started.stderr())
      const [backfill] = yield* home.simulator.backfills
      assert.include(
        started.stderr(),
        `Interrupted: durable run ${runKey} is suspended (backfill ${backfill.id} is closed and Orb is reflecting it, ` +
          `nothing reverted). orb-backfill resume ${runKey} --state ${state} only waits for the reflection.`
      )
      assert.notInclude(started.stderr(), "stays open")
      // Woken while it waits between polls, it only waits.
      const resumed = yield* home.run(["resume", runKey, "--state", state])
      assert.strictEqual(resumed.code, 0, resumed.stderr)
      assert.match(resumed.stdout, /is reflected: 100 events/)
      assert.strictEqual((yield* home.simulator.backfills).length, 1)
    }), 30_000)
})

describe("--add of a file whose events Orb already counts", () => {
  it.scopedLive(
    "is refused, naming the earlier run and its backfill, unless --add-again",
    () =>
      Effect.gen(function*() {
        const state = yield* stateFile
        const home = yield* orb("200 millis")
        const file = tempFile("add-twice.ndjson", ndjson(100))
        const first = yield* home.run(["run", "--file", file, ...timeframe, "--add", "--state", state, ...fastPace])
        assert.strictEqual(first.code, 0, first.stderr)
        const runKey = runKeyIn(first.stderr)
        const [added] = yield* home.simulator.backfills
        // Another, overlapping timeframe: another run key, the same events.
        const wider = ["--start", "2026-10-01T00:00:00Z", "--end", "2026-10-09T00:00:00Z"]
        const args = ["run", "--file", file, ...wider, "--add", "--state", state, ...fastPace]
        const refused = yield* home.run(args)
        assert.strictEqual(refused.code, 2, refused.stderr)
        assert.include(
          refused.stderr,
          `Error: the events of ${file} were already added by durable run ${runKey} (backfill ${added.id}`
        )
        assert.include(refused.stderr, "--add-again")
        assert.strictEqual((yield* home.simulator.backfills).length, 1, "nothing created")

        const again = yield* home.run([...args, "--add-again"])
        assert.strictEqual(again.code, 0, again.stderr)
        assert.include(again.stderr, `Warning: the events of ${file} were already added by durable run ${runKey}`)
        assert.strictEqual((yield* home.simulator.backfills).length, 2)
      }),
    30_000
  )
})
