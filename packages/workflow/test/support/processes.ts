/**
 * A durable run's processes for the tests over real processes: a runner process (`fixtures/runner.ts`: the library
 * over undici, the engine on a real SQLite file) against the simulator's real server in the test's process, the
 * events file, and waits.
 */
import { OrbSimulator } from "@effect-orb/simulator"
import * as Effect from "effect/Effect"
import * as child from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const packageDir = fileURLToPath(new URL("../..", import.meta.url))
const runnerFile = fileURLToPath(new URL("../fixtures/runner.ts", import.meta.url))
export const apiKey = "sk-durable-test"
export const eventCount = 3_000

export interface Runner {
  readonly process: child.ChildProcess
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
  readonly stdout: () => string
  readonly stderr: () => string
}

export const start = (env: Record<string, string>): Runner => {
  const proc = child.spawn(process.execPath, ["--import", "tsx", runnerFile], {
    cwd: packageDir,
    env: { ...process.env, ORB_KEY: apiKey, ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let out = ""
  let err = ""
  proc.stdout.on("data", (chunk) => (out += chunk))
  proc.stderr.on("data", (chunk) => (err += chunk))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on("exit", (code, signal) => resolve({ code, signal }))
  )
  return { process: proc, exited, stdout: () => out, stderr: () => err }
}

/** The runner's last line: its outcome. */
export const outcome = (runner: Runner) => {
  const lines = runner.stdout().trim().split("\n").filter((line) => line.startsWith("{"))
  if (lines.length === 0) throw new Error(`no outcome; stderr: ${runner.stderr().slice(-2_000)}`)
  return JSON.parse(lines[lines.length - 1]) as {
    readonly outcome: "success" | "failure"
    readonly result?: { readonly status: string; readonly accepted: number; readonly backfillId: string }
    readonly error?: string
  }
}

export const line = (i: number) =>
  JSON.stringify({
    event_name: "api_call",
    timestamp: new Date(Date.parse("2026-10-01T00:00:00Z") + i * 60_000).toISOString(),
    external_customer_id: `customer-${i % 3}`,
    idempotency_key: `durable-${i}`,
    properties: { units: i % 7 }
  })

/** A fresh folder with an events file, and the simulator's real server (its state outlives the runners). */
export const setup = Effect.gen(function*() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-orb-durable-"))
  yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
  const file = path.join(dir, "events.ndjson")
  fs.writeFileSync(file, Array.from({ length: eventCount }, (_, i) => line(i)).join("\n") + "\n")
  const server = yield* OrbSimulator.serve({ apiKey, reflectionDelay: "2 seconds", revertDelay: "1 second" })
  const env = { STATE: path.join(dir, "state.sqlite"), ORB_URL: server.url, FILE: file, RUN_KEY: "october-fix" }
  return { dir, file, env, simulator: server.simulator }
})

export const until = <E, R>(condition: Effect.Effect<boolean, E, R>, what: string, timeoutMillis = 60_000) =>
  Effect.gen(function*() {
    const started = Date.now()
    while (!(yield* condition)) {
      if (Date.now() - started > timeoutMillis) return yield* Effect.dieMessage(`timed out waiting for ${what}`)
      yield* Effect.sleep("20 millis")
    }
  })

export const finish = (runner: Runner) => Effect.promise(() => runner.exited)
