/**
 * The durable runs' state file from the command line: a full or read-only disk ends `resume` at once with one
 * `Error:` line (real processes, on a small tmpfs: as root only), the files are private, and `runs cancel` reaches a
 * run that another process is running.
 */
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import Database from "better-sqlite3"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as child from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { cliAt, ndjson, slowPace, tempFile, timeframe, until } from "./support.js"

const apiKey = "sk-state-cli"
const packageDir = fileURLToPath(new URL("..", import.meta.url))

/** A served simulator, and the CLI pointed at it in-process and as a real process. */
const served = (dir: string) =>
  Effect.gen(function*() {
    const server = yield* OrbSimulator.serve({ apiKey, reflectionDelay: "1 second", revertDelay: "300 millis" })
    const commands = yield* cliAt(server.url, apiKey)
    /** `orb-backfill` as a process of its own: exit code, output, and how long it took. */
    const spawn = (args: ReadonlyArray<string>) =>
      Effect.async<{ code: number | null; stdout: string; stderr: string; millis: number }>((resume) => {
        const started = Date.now()
        const proc = child.spawn(process.execPath, ["--import", "tsx", "src/bin.ts", ...args], {
          cwd: packageDir,
          env: { ...process.env, ORB_API_KEY: apiKey, ORB_BASE_URL: server.url },
          stdio: ["ignore", "pipe", "pipe"]
        })
        let stdout = ""
        let stderr = ""
        proc.stdout.on("data", (chunk) => stdout += chunk)
        proc.stderr.on("data", (chunk) => stderr += chunk)
        proc.on("exit", (code) => resume(Effect.succeed({ code, stdout, stderr, millis: Date.now() - started })))
        return Effect.sync(() => proc.kill("SIGKILL"))
      })
    return {
      simulator: server.simulator,
      state: path.join(dir, "runs.sqlite"),
      ...commands,
      spawn
    }
  })

const folder = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "orb-backfill-state-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const ingests = (simulator: OrbSimulator.OrbSimulator) =>
  Effect.map(simulator.requests, (requests) => requests.filter((r) => r.url.startsWith("/v1/ingest")).length)

const reverts = (simulator: OrbSimulator.OrbSimulator) =>
  Effect.map(simulator.requests, (requests) => requests.filter((r) => r.url.endsWith("/revert")).length)

const runKeyIn = (text: string) => /[Dd]urable run (run-[0-9a-f]{20})/.exec(text)![1]

/** A run started, stopped mid-ingestion as Ctrl-C would (suspended, its backfill open). */
const suspended = (
  cli: Effect.Effect.Success<ReturnType<typeof served>>,
  file: string
) =>
  Effect.gen(function*() {
    const started = yield* cli.fork(["run", "--file", file, ...timeframe, "--add", "--state", cli.state, ...slowPace])
    yield* until(
      Effect.map(cli.simulator.backfills, (all) => (all[0]?.eventsIngested ?? 0) >= 300),
      "some events in",
      started.stderr
    )
    yield* Fiber.interrupt(started.fiber)
    // A request cut short may still reach the server.
    yield* Effect.sleep("300 millis")
    return runKeyIn(started.stderr())
  })

/** A 4 MiB tmpfs, unmounted afterwards; only root may mount one. */
const tmpfs = Effect.gen(function*() {
  const dir = yield* folder
  child.execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", dir])
  yield* Effect.addFinalizer(() => Effect.sync(() => child.spawnSync("umount", ["-l", dir])))
  return dir
})

const isRoot = process.getuid?.() === 0

const mode = (file: string) => fs.statSync(file).mode & 0o777

/**
 * Every command on the state file `file` (`run` with `events`) ends with one sentence, that it cannot be read and
 * why (`said`), exit code 1.
 */
const refusedByEvery = (
  orb: Effect.Effect.Success<ReturnType<typeof served>>,
  file: string,
  events: string,
  said: string
) =>
  Effect.gen(function*() {
    for (
      const args of [
        ["runs"],
        ["resume"],
        ["runs", "cancel", "run-0"],
        ["runs", "prune", "--older-than", "1"],
        ["run", "--file", events, ...timeframe, "--add"]
      ]
    ) {
      const result = yield* orb.run([...args, "--state", file])
      const what = `${file}, ${args[0]} ${args[1] ?? ""}: ${result.stderr}`
      assert.strictEqual(result.code, 1, what)
      assert.include(result.stderr, `Error: The state file ${file} cannot be read: ${said}`, what)
      assert.include(result.stderr, "Give the right file with --state PATH, or restore it from a backup", what)
      assert.notInclude(result.stderr, "Unexpected error", what)
    }
  })

/** A durable run of 3,000 events in this process (`--replace`, at about 1,000 a second), once 200 are in. */
const runningHere = (orb: Effect.Effect.Success<ReturnType<typeof served>>, name: string) =>
  Effect.gen(function*() {
    const started = yield* orb.fork([
      "run",
      "--file",
      tempFile(name, ndjson(3_000)),
      ...timeframe,
      "--replace",
      "--state",
      orb.state,
      ...slowPace
    ])
    yield* until(
      Effect.map(orb.simulator.backfills, (all) => (all[0]?.eventsIngested ?? 0) >= 200),
      "some events in",
      started.stderr
    )
    return { started, runKey: runKeyIn(started.stderr()) }
  })

describe("the state file from the command line", () => {
  it.scopedLive.skipIf(!isRoot)(
    "a full disk, then a read-only one: resume ends at once with one Error line, nothing sent; with room it resumes",
    () =>
      Effect.gen(function*() {
        const dir = yield* tmpfs
        const orb = yield* served(dir)
        const runKey = yield* suspended(orb, tempFile("full.ndjson", ndjson(2_000)))
        const sent = yield* ingests(orb.simulator)
        // The disk filled to its last byte.
        const filler = path.join(dir, "filler")
        const block = Buffer.alloc(64 * 1024)
        const fd = fs.openSync(filler, "w")
        try {
          for (let size = block.length; size > 0;) {
            try {
              fs.writeSync(fd, block, 0, size)
            } catch {
              size = Math.floor(size / 2)
            }
          }
        } finally {
          fs.closeSync(fd)
        }

        const full = yield* orb.spawn(["resume", "--state", orb.state])
        assert.strictEqual(full.code, 1, full.stderr)
        assert.isBelow(full.millis, 20_000)
        const errors = full.stderr.split("\n").filter((line) => line.startsWith("Error:"))
        assert.strictEqual(errors.length, 1, full.stderr)
        // SQLite says SQLITE_FULL, or an I/O error of its shared memory that could not grow.
        assert.match(
          errors[0],
          new RegExp(
            `^Error: The state file ${orb.state} cannot be written: the disk is full \\(SQLITE_[A-Z_]+\\); its runs ` +
              "stop where their journal is, nothing reverted, until it can be written again\\.$"
          )
        )
        assert.notInclude(full.stderr, "    at ", "no stack trace")
        assert.strictEqual(yield* ingests(orb.simulator), sent, "nothing sent")

        fs.rmSync(filler)
        // As the last process on it leaves it: checkpointed, its `-wal` and `-shm` gone.
        const db = new Database(orb.state)
        db.pragma("wal_checkpoint(TRUNCATE)")
        db.close()
        assert.deepStrictEqual(
          [
            fs.existsSync(`${orb.state}-wal`) && fs.statSync(`${orb.state}-wal`).size,
            fs.existsSync(`${orb.state}-shm`)
          ],
          [false, false]
        )
        child.execFileSync("mount", ["-o", "remount,ro", dir])
        const readOnly = yield* orb.spawn(["resume", "--state", orb.state])
        assert.strictEqual(readOnly.code, 1, readOnly.stderr)
        assert.match(readOnly.stderr, /^Error: The state file \S+ cannot be written: it is read-only \(/m)
        assert.strictEqual(yield* ingests(orb.simulator), sent, "nothing sent")
        // `runs` only reads: it lists the run from a read-only disk (it ended with "unable to open database file":
        // SQLite makes a file beside a state file to read it).
        const listed = yield* orb.spawn(["runs", "--state", orb.state])
        assert.strictEqual(listed.code, 0, listed.stderr)
        assert.include(listed.stdout, runKey, listed.stdout)
        child.execFileSync("mount", ["-o", "remount,rw", dir])

        const resumed = yield* orb.run(["resume", runKey, "--state", orb.state])
        assert.strictEqual(resumed.code, 0, resumed.stderr)
        assert.match(resumed.stdout, /is reflected: 2,000 events/)
        assert.strictEqual(yield* reverts(orb.simulator), 0)
      }),
    90_000
  )

  it.scopedLive(
    "the state folder it makes is 0700, the state files 0600 whatever the umask; looser ones are tightened",
    () =>
      Effect.gen(function*() {
        const dir = yield* folder
        const orb = yield* served(dir)
        const state = path.join(dir, "made", "here", "runs.sqlite")
        const umask = process.umask(0o002)
        yield* Effect.addFinalizer(() => Effect.sync(() => process.umask(umask)))
        const started = yield* orb.fork([
          "run",
          "--file",
          tempFile("private.ndjson", ndjson(2_000)),
          ...timeframe,
          "--add",
          "--state",
          state,
          ...slowPace
        ])
        yield* until(
          Effect.map(orb.simulator.backfills, (all) => (all[0]?.eventsIngested ?? 0) >= 100),
          "some events in",
          started.stderr
        )
        const files = ["", "-wal", "-shm", ".lock", ".owner"].map((suffix) => state + suffix)
        assert.deepStrictEqual(files.map(mode), files.map(() => 0o600), "every state file is its owner's only")
        assert.strictEqual(mode(path.join(dir, "made", "here")), 0o700)
        assert.strictEqual(mode(path.join(dir, "made")), 0o700)
        yield* Fiber.interrupt(started.fiber)

        // Made readable by others since: the next command makes them private again.
        for (const file of [state, `${state}.lock`, `${state}.owner`]) fs.chmodSync(file, 0o644)
        const resumed = yield* orb.run(["resume", "--state", state])
        assert.strictEqual(resumed.code, 0, resumed.stderr)
        for (const file of [state, `${state}.lock`, `${state}.owner`]) assert.strictEqual(mode(file), 0o600, file)
      }),
    40_000
  )

  it.scopedLive(
    "runs cancel reaches a run another process is running; the lock's message names it and --state",
    () =>
      Effect.gen(function*() {
        const dir = yield* folder
        const orb = yield* served(dir)
        const { runKey, started } = yield* runningHere(orb, "beside.ndjson")

        const refused = yield* orb.run(["resume", "--state", orb.state])
        assert.strictEqual(refused.code, 1)
        assert.include(
          refused.stderr,
          `Error: The state file ${orb.state} is in use by another process (process ${process.pid} on ${os.hostname()}`
        )
        assert.include(refused.stderr, "or give this command another state file with --state PATH.")

        const cancelled = yield* orb.run(["runs", "cancel", runKey, "--state", orb.state])
        assert.strictEqual(cancelled.code, 0, cancelled.stderr)
        assert.include(cancelled.stderr, "which another process is running")
        const [backfill] = yield* orb.simulator.backfills
        assert.include(cancelled.stdout, `Cancelled durable run ${runKey}: backfill ${backfill.id} was reverted`)
        assert.strictEqual(backfill.status, "reverted")
        const ran = yield* Fiber.join(started.fiber)
        assert.strictEqual(ran, 1, "the run ended, failed at cancel")
        assert.include(started.stderr(), "failed at cancel: the run was cancelled")
        assert.strictEqual((yield* orb.simulator.requests).filter((r) => r.url.endsWith("/close")).length, 0)
      }),
    40_000
  )

  it.scopedLive(
    "runs cancel interrupted once asked says the cancel stands; the process running the run reverts it",
    () =>
      Effect.gen(function*() {
        const dir = yield* folder
        const orb = yield* served(dir)
        const { runKey, started } = yield* runningHere(orb, "stands.ndjson")
        const cancelling = yield* orb.fork(["runs", "cancel", runKey, "--state", orb.state])
        yield* until(
          Effect.sync(() => cancelling.stderr().includes("which another process is running")),
          "the cancel to be asked",
          cancelling.stderr
        )
        // Ctrl-C: it said nothing, and exited 130.
        yield* Fiber.interrupt(cancelling.fiber)
        assert.include(
          cancelling.stderr(),
          `Interrupted: the cancel of durable run ${runKey} stands. The process running it reverts its backfill and ` +
            `ends it before its next step (follow it with: orb-backfill runs --state ${orb.state}).`
        )
        assert.strictEqual(yield* Fiber.join(started.fiber), 1, "the run ended, failed at cancel")
        const [backfill] = yield* orb.simulator.backfills
        assert.strictEqual(backfill.status, "reverted")
      }),
    40_000
  )

  it.scopedLive(
    "runs cancel beside a run whose process stops before it sees the cancel takes the run up, and reverts",
    () =>
      Effect.gen(function*() {
        const dir = yield* folder
        const orb = yield* served(dir)
        const { runKey, started } = yield* runningHere(orb, "taken-up.ndjson")
        const cancelling = yield* orb.fork(["runs", "cancel", runKey, "--state", orb.state])
        yield* until(
          Effect.sync(() => cancelling.stderr().includes("which another process is running")),
          "the request",
          cancelling.stderr
        )
        // Ctrl-C in the other terminal, within its segment: the run suspends before its next look for a cancel.
        yield* Fiber.interrupt(started.fiber)
        assert.include(started.stderr(), "is suspended")
        const code = yield* Fiber.join(cancelling.fiber)
        assert.strictEqual(code, 0, cancelling.stderr())
        const [backfill] = yield* orb.simulator.backfills
        assert.include(cancelling.stdout(), `Cancelled durable run ${runKey}: backfill ${backfill.id} was reverted`)
        assert.strictEqual(backfill.status, "reverted")
      }),
    40_000
  )

  it.scopedLive(
    "a state file that is no database, cut short or damaged: every command says so in one sentence, exit code 1",
    () =>
      Effect.gen(function*() {
        const dir = yield* folder
        const orb = yield* served(dir)
        const events = tempFile("damaged.ndjson", ndjson(3_000))
        // A real state file with a finished run, of a few hundred kilobytes.
        const made = yield* orb.run(["run", "--file", events, ...timeframe, "--add", "--state", orb.state])
        assert.strictEqual(made.code, 0, made.stderr)
        const size = fs.statSync(orb.state).size
        const damaged = {
          // The events file given for the state file: the likeliest slip.
          notADatabase: tempFile("given-by-mistake.ndjson", ndjson(10)),
          cutShort: path.join(dir, "cut.sqlite"),
          pagesOverwritten: path.join(dir, "overwritten.sqlite")
        }
        fs.chmodSync(damaged.notADatabase, 0o644)
        fs.writeFileSync(damaged.cutShort, fs.readFileSync(orb.state).subarray(0, Math.floor(size / 2)))
        const copy = fs.readFileSync(orb.state)
        // Its pages after the schema's first two overwritten: the runs' tables are among them.
        copy.fill(0xff, 8_192)
        fs.writeFileSync(damaged.pagesOverwritten, copy)
        for (const [kind, file] of Object.entries(damaged)) {
          const said = kind === "notADatabase"
            ? "it is not a SQLite database (SQLITE_NOTADB)"
            : "it is damaged (SQLITE_CORRUPT"
          // Before: `Unexpected error: file is not a database.`, or `Error: Failed to execute statement.`
          yield* refusedByEvery(orb, file, events, said)
        }
        // The file given by mistake is left as it was: its mode, and no lock or owner file beside it.
        assert.strictEqual(mode(damaged.notADatabase), 0o644)
        assert.isFalse(fs.existsSync(`${damaged.notADatabase}.lock`))
        assert.isFalse(fs.existsSync(`${damaged.notADatabase}.owner`))
      }),
    120_000
  )

  it.scopedLive(
    "another application's SQLite database given for the state file: every command refuses it in one sentence and " +
      "leaves it as it was; an empty file holds no runs",
    () =>
      Effect.gen(function*() {
        const dir = yield* folder
        const orb = yield* served(dir)
        const events = tempFile("foreign.ndjson", ndjson(10))
        const foreign = path.join(dir, "app.sqlite")
        const db = new Database(foreign)
        // In WAL mode, as applications often leave theirs: a read-only open makes its `-wal` and `-shm` beside it.
        db.pragma("journal_mode = WAL")
        db.exec(
          "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers (name) VALUES ('acme')"
        )
        db.close()
        fs.chmodSync(foreign, 0o644)
        const before = fs.readFileSync(foreign)
        // Before: `runs` ended with `Unexpected error: attempt to write a readonly database.`; `resume` and `runs prune`
        // added the engine's tables to the file and made it private.
        yield* refusedByEvery(
          orb,
          foreign,
          events,
          "it is a SQLite database of something else (its tables: customers), not a state file of durable runs"
        )
        assert.isTrue(fs.readFileSync(foreign).equals(before), "the file was changed")
        assert.strictEqual(mode(foreign), 0o644)
        assert.isFalse(fs.existsSync(`${foreign}.lock`))
        assert.isFalse(fs.existsSync(`${foreign}-wal`))
        assert.isFalse(fs.existsSync(`${foreign}-shm`))

        const empty = path.join(dir, "empty.sqlite")
        fs.writeFileSync(empty, "")
        const listed = yield* orb.run(["runs", "--state", empty])
        assert.strictEqual(listed.code, 0, listed.stderr)
        assert.include(listed.stdout, `No durable runs in ${empty}.`)
        const json = yield* orb.run(["runs", "--state", empty, "--json"])
        assert.strictEqual(json.code, 0, json.stderr)
        assert.deepStrictEqual(JSON.parse(json.stdout), [])
      }),
    60_000
  )

  it.scopedLive(
    "a folder given for the state file, or a file where its folder should be: refused before anything, exit code 2",
    () =>
      Effect.gen(function*() {
        const dir = yield* folder
        const orb = yield* served(dir)
        const events = tempFile("where.ndjson", ndjson(20))
        const inAFile = path.join(events, "runs.sqlite")
        for (
          const [state, said] of [
            [
              dir,
              `Error: --state: ${dir} is a folder: give the state file's path, such as ${
                path.join(dir, "runs.sqlite")
              }.`
            ],
            [inAFile, `Error: --state: ${events} is a file, not a folder: the state file cannot be made in it.`]
          ]
        ) {
          for (
            const args of [
              ["runs"],
              ["resume"],
              ["runs", "cancel", "run-0"],
              ["run", "--file", events, ...timeframe, "--add"]
            ]
          ) {
            // Before: `Unexpected error: disk I/O error.`, `... EISDIR ...`, or `... its folder cannot be made (EEXIST)`.
            const result = yield* orb.run([...args, "--state", state])
            assert.strictEqual(result.code, 2, `${args.join(" ")} --state ${state}: ${result.stderr}`)
            assert.include(result.stderr, said)
          }
        }
        assert.deepStrictEqual(yield* orb.simulator.backfills, [], "nothing was created")
        assert.isTrue(fs.statSync(events).isFile(), "the file is left as it was")
      }),
    60_000
  )
})
