/**
 * `bin/orb-backfill`, the launcher from a checkout, over real processes: it builds the bundle
 * (`packages/cli/dist/orb-backfill.mjs`) when its sources changed and runs it as the installed command would, so
 * standard output holds only what the command prints, a relative `--file` is read from the caller's folder,
 * Ctrl-C reaches the command, and the bundle's startup leaves the durable machinery unloaded.
 */
import { Backfill } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { ndjson, tempFile, timeframe, wireEvent } from "./support.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..")
const launcher = path.join(root, "bin", "orb-backfill")
const bundle = path.join(root, "packages", "cli", "dist", "orb-backfill.mjs")

interface Launched {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  /** The exit code, or 128 + the signal's number for a process a signal ended. */
  readonly exit: Promise<number>
}

/**
 * The launcher's environment: this process's, without what would change its behaviour (the Orb it talks to, the
 * simulator's key, the pnpm script it might seem to run under), plus `env`.
 */
const environment = (env: Record<string, string>) => {
  const base = { ...process.env }
  for (const key of Object.keys(base)) {
    if (/^(ORB_|npm_|INIT_CWD$)/.test(key)) delete base[key]
  }
  return { ...base, ...env }
}

/** Starts the launcher (or, with `node`, node itself) with `args`. */
const launch = (
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly env?: Record<string, string>; readonly node?: boolean } = {}
): Launched => {
  const child = spawn(options.node === true ? process.execPath : launcher, args, {
    cwd: options.cwd ?? root,
    env: environment(options.env ?? {}),
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (chunk) => stdout += String(chunk))
  child.stderr!.on("data", (chunk) => stderr += String(chunk))
  const exit = new Promise<number>((resolve, reject) => {
    child.once("error", reject)
    child.once("close", (code, signal) => resolve(code ?? 128 + (signal === null ? 0 : os.constants.signals[signal])))
  })
  return { child, stdout: () => stdout, stderr: () => stderr, exit }
}

const ran = (launched: Launched) =>
  Effect.promise(() => launched.exit).pipe(
    Effect.map((code) => ({ code, stdout: launched.stdout(), stderr: launched.stderr() }))
  )

const until = (condition: Effect.Effect<boolean>, what: string, output: () => string) =>
  Effect.gen(function*() {
    const started = Date.now()
    while (!(yield* condition)) {
      if (Date.now() - started > 20_000) return yield* Effect.dieMessage(`timed out waiting for ${what}: ${output()}`)
      yield* Effect.sleep("50 millis")
    }
  })

const folder = (prefix: string) =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), prefix))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

// The first use builds the bundle if the sources are newer (on a fresh clone: always), as a user's first command
// would; every test below then runs the same bundle.
beforeAll(async () => {
  const built = launch(["--version"])
  const code = await built.exit
  if (code !== 0) throw new Error(`bin/orb-backfill --version: exit ${code}\n${built.stderr()}`)
}, 180_000)

describe("bin/orb-backfill", () => {
  it.live("list --json: standard output is the JSON document and nothing else", () =>
    Effect.gen(function*() {
      const listed = yield* ran(launch(["list", "--json"]))
      assert.strictEqual(listed.code, 0, listed.stderr)
      assert.strictEqual(listed.stdout, "[]\n")
      assert.deepStrictEqual(JSON.parse(listed.stdout), [])
      // The notice goes where notices go.
      assert.include(listed.stderr, "ORB_API_KEY is not set")
    }), 30_000)

  it.scopedLive(
    "a relative --file is read from the caller's folder, also when run by the root pnpm script",
    () =>
      Effect.gen(function*() {
        const dir = yield* folder("orb-backfill-launcher-")
        fs.writeFileSync(path.join(dir, "events.ndjson"), ndjson(25))
        const args = ["run", "--file", "events.ndjson", ...timeframe, "--add", "--dry-run", "--json"]

        const fromThere = yield* ran(launch(args, { cwd: dir }))
        assert.strictEqual(fromThere.code, 0, fromThere.stderr)
        assert.deepInclude(JSON.parse(fromThere.stdout), { dry_run: true, file: "events.ndjson" })
        assert.strictEqual(JSON.parse(fromThere.stdout).validation.events, 25)

        // `pnpm orb-backfill ...` starts the script in the checkout's root; INIT_CWD says where pnpm was run.
        const byScript = yield* ran(launch(args, {
          cwd: root,
          env: { npm_lifecycle_event: "orb-backfill", npm_lifecycle_script: "bin/orb-backfill", INIT_CWD: dir }
        }))
        assert.strictEqual(byScript.code, 0, byScript.stderr)
        assert.strictEqual(JSON.parse(byScript.stdout).validation.events, 25)

        // Not from the root: the file is not there.
        const fromRoot = yield* ran(launch(args, { cwd: root }))
        assert.strictEqual(fromRoot.code, 2)
        assert.include(fromRoot.stderr, "events.ndjson")
      }),
    60_000
  )

  it.scopedLive(
    "Ctrl-C reaches the command: the backfill is reverted, it says so, and the exit code is 130",
    () =>
      Effect.gen(function*() {
        const apiKey = "sk-launcher-sigint"
        const server = yield* OrbSimulator.serve({ apiKey, revertDelay: "100 millis" })
        const dir = yield* folder("orb-backfill-sigint-")
        fs.writeFileSync(path.join(dir, "slow.ndjson"), ndjson(1_000))
        // 10 events a request, 5 requests a second: a run of 20 seconds, struck early.
        const started = launch(
          [
            "run",
            "--file",
            "slow.ndjson",
            ...timeframe,
            "--add",
            "--ephemeral",
            "--batch-size",
            "10",
            "--concurrency",
            "1",
            "--requests-per-second",
            "5"
          ],
          { cwd: dir, env: { ORB_API_KEY: apiKey, ORB_BASE_URL: server.url } }
        )
        yield* until(
          Effect.map(server.simulator.backfills, (all) => (all[0]?.eventsIngested ?? 0) >= 20),
          "some events in",
          started.stderr
        )
        started.child.kill("SIGINT")
        const interrupted = yield* ran(started)
        const [backfill] = yield* server.simulator.backfills
        assert.strictEqual(backfill.status, "reverted")
        assert.include(interrupted.stderr, `Interrupted: backfill ${backfill.id} was reverted, so no usage changed.`)
        assert.strictEqual(interrupted.code, 130, interrupted.stderr)
      }),
    60_000
  )

  it.scopedLive(
    "a run whose output's reader goes away (| head, a closed terminal) goes on to its end; SIGHUP stops it as " +
      "SIGTERM does",
    () =>
      Effect.gen(function*() {
        const apiKey = "sk-launcher-closed-output"
        const server = yield* OrbSimulator.serve({ apiKey, revertDelay: "100 millis" })
        const dir = yield* folder("orb-backfill-launcher-")
        // Each run its own events (Orb would count the same keys once).
        const slowRun = (mode: string) =>
          launch(
            [
              "run",
              "--file",
              tempFile(
                `${mode}.ndjson`,
                ndjson(300, (i) => JSON.stringify(wireEvent(i, { idempotency_key: `${mode}-${i}` })))
              ),
              ...timeframe,
              "--add",
              ...(mode === "durable" ? ["--state", path.join(dir, "state.sqlite")] : ["--ephemeral"]),
              "--no-wait",
              "--no-verify",
              "--batch-size",
              "10",
              "--concurrency",
              "1",
              "--requests-per-second",
              "20"
            ],
            { cwd: dir, env: { ORB_API_KEY: apiKey, ORB_BASE_URL: server.url } }
          )
        // The simulator lists the newest first.
        const ingested = (index: number) => Effect.map(server.simulator.backfills, (all) => [...all].reverse()[index])

        for (const [index, mode] of ["ephemeral", "durable"].entries()) {
          const started = slowRun(mode)
          yield* until(
            Effect.map(ingested(index), (backfill) => (backfill?.eventsIngested ?? 0) >= 20),
            `some events in (${mode})`,
            started.stderr
          )
          // Its reader goes away: every write from now on fails (EPIPE).
          started.child.stdout!.destroy()
          started.child.stderr!.destroy()
          const code = yield* Effect.promise(() => started.exit)
          const backfill = yield* ingested(index)
          assert.strictEqual(code, 0, `${mode}: exit ${code}`)
          assert.strictEqual(backfill.eventsIngested, 300, mode)
          assert.isFalse(Backfill.isOpen(backfill, Date.now()), `${mode}: the backfill was left open`)
        }

        const hungUp = slowRun("hung-up")
        yield* until(
          Effect.map(ingested(2), (backfill) => (backfill?.eventsIngested ?? 0) >= 20),
          "some events in (SIGHUP)",
          hungUp.stderr
        )
        // Twice, as a closed terminal often sends it (the shell, then the kernel): the second one is not the end.
        hungUp.child.kill("SIGHUP")
        yield* Effect.sleep("50 millis")
        hungUp.child.kill("SIGHUP")
        const stopped = yield* ran(hungUp)
        const reverted = yield* ingested(2)
        assert.strictEqual(reverted.status, "reverted", stopped.stderr)
        assert.include(stopped.stderr, `Interrupted: backfill ${reverted.id} was reverted, so no usage changed.`)
        assert.strictEqual(stopped.code, 130, stopped.stderr)
      }),
    90_000
  )

  it.live("a result that cannot be written (a full disk under > out.json) fails the command, saying so", () =>
    Effect.sync(() => {
      const full = fs.openSync("/dev/full", "w")
      try {
        const result = spawnSync(launcher, ["--version"], {
          cwd: root,
          env: environment({}),
          stdio: ["ignore", full, "pipe"]
        })
        assert.strictEqual(result.status, 1, String(result.stderr))
        assert.include(String(result.stderr), "Error: standard output cannot be written: ENOSPC")
      } finally {
        fs.closeSync(full)
      }
    }))

  it.scopedLive("simulate takes its key from ORB_SIMULATOR_API_KEY and never prints it", () =>
    Effect.gen(function*() {
      const key = "sk-from-the-environment"
      const served = launch(["simulate", "--port", "0"], { env: { ORB_SIMULATOR_API_KEY: key } })
      yield* Effect.addFinalizer(() => Effect.sync(() => served.child.kill("SIGKILL")))
      let url: string | undefined
      yield* until(
        Effect.sync(() => (url = /^(http:\/\/127\.0\.0\.1:\d+\/v1)$/m.exec(served.stdout())?.[1]) !== undefined),
        "the simulator's URL",
        served.stderr
      )
      const list = (apiKey: string) =>
        ran(launch(["list", "--json"], { env: { ORB_API_KEY: apiKey, ORB_BASE_URL: url! } }))
      const allowed = yield* list(key)
      assert.strictEqual(allowed.code, 0, allowed.stderr)
      assert.strictEqual(allowed.stdout, "[]\n")
      const refused = yield* list("sk-some-other-key")
      assert.strictEqual(refused.code, 1)
      assert.include(refused.stderr, "AuthenticationError")
      served.child.kill("SIGINT")
      const stopped = yield* ran(served)
      assert.strictEqual(stopped.code, 130)
      assert.notInclude(stopped.stdout + stopped.stderr, key)
    }), 60_000)

  it.live("--help and list load neither the durable runs nor undici; runs does", () =>
    Effect.gen(function*() {
      // Node's module hooks say every module the bundle imports.
      const hooks = "data:text/javascript," + encodeURIComponent(
        "export const resolve = async (specifier, context, next) => { const resolved = await next(specifier, context); " +
          "process.stderr.write(`loaded ${resolved.url}\\n`); return resolved }"
      )
      const register = "data:text/javascript," +
        encodeURIComponent(`import { register } from "node:module"; register(${JSON.stringify(hooks)})`)
      const loaded = (args: ReadonlyArray<string>) =>
        Effect.map(
          ran(launch(["--import", register, bundle, ...args], { node: true })),
          (result) => ({ ...result, modules: result.stderr.match(/^loaded .*$/gm) ?? [] })
        )
      const heavy = /durable-|better-sqlite3|NodeHttpClient-|NodeHttpServer-|SimulatorServer-/i
      for (const args of [["--help"], ["list"]]) {
        const result = yield* loaded(args)
        assert.strictEqual(result.code, 0, result.stderr)
        assert.isAbove(result.modules.length, 1, result.stderr)
        assert.deepStrictEqual(result.modules.filter((m) => heavy.test(m)), [], args.join(" "))
      }
      // The check can see them: `runs` loads the durable chunk (and better-sqlite3 from node_modules).
      const dir = yield* Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "orb-backfill-runs-")))
      const runs = yield* loaded(["runs", "--state", path.join(dir, "runs.sqlite")])
      fs.rmSync(dir, { recursive: true, force: true })
      assert.strictEqual(runs.code, 0, runs.stderr)
      assert.isTrue(runs.modules.some((m) => /durable-/i.test(m)), runs.stderr)
    }), 60_000)

  it.scopedLive(
    "a durable run from the bundle: its state in SQLite, better-sqlite3 found outside the bundle",
    () =>
      Effect.gen(function*() {
        const apiKey = "sk-launcher-durable"
        const server = yield* OrbSimulator.serve({ apiKey, reflectionDelay: "200 millis" })
        const dir = yield* folder("orb-backfill-durable-")
        fs.writeFileSync(path.join(dir, "events.ndjson"), ndjson(300))
        const env = { ORB_API_KEY: apiKey, ORB_BASE_URL: server.url }
        const state = path.join(dir, "runs.sqlite")
        const done = yield* ran(launch(
          ["run", "--file", "events.ndjson", ...timeframe, "--add", "--state", state, "--requests-per-second", "1000"],
          { cwd: dir, env }
        ))
        assert.strictEqual(done.code, 0, done.stderr)
        assert.match(done.stdout, /is reflected: 300 events/)
        assert.include(done.stderr, `State: ${state}`)
        const runs = yield* ran(launch(["runs", "--state", state, "--json"], { cwd: dir, env }))
        assert.strictEqual(runs.code, 0, runs.stderr)
        const [run] = JSON.parse(runs.stdout)
        assert.deepInclude(run, { stage: "done", accepted: 300 })
      }),
    60_000
  )
})
