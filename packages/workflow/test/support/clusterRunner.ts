/**
 * A runner process of the cluster (`fixtures/clusterRunner.ts`) on a free port, killed (if still alive) when the
 * scope closes: the cluster tests and the budget's test across runners start theirs the same way.
 */
import * as Effect from "effect/Effect"
import * as child from "node:child_process"
import { fileURLToPath } from "node:url"
import { freePort } from "./postgres.js"

const packageDir = fileURLToPath(new URL("../..", import.meta.url))
const runnerFile = fileURLToPath(new URL("../fixtures/clusterRunner.ts", import.meta.url))

/** A started runner: its process, its exit, and what it printed so far. */
export interface Runner {
  readonly name: string
  readonly process: child.ChildProcess
  readonly exited: Promise<unknown>
  readonly output: () => string
}

/** A runner process named `name` with `env` on top of this process's environment. */
export const runner = (name: string, env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const port = yield* freePort
      const proc = child.spawn(process.execPath, ["--import", "tsx", runnerFile], {
        cwd: packageDir,
        env: { ...process.env, ...env, NAME: name, RUNNER_PORT: String(port) },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      proc.stdout.on("data", (chunk) => (output += chunk))
      proc.stderr.on("data", (chunk) => (output += chunk))
      const exited = new Promise((resolve) => proc.on("exit", resolve))
      return { name, process: proc, exited, output: () => output } satisfies Runner
    }),
    (r) =>
      Effect.promise(() => {
        if (r.process.exitCode === null && r.process.signalCode === null) r.process.kill("SIGKILL")
        return r.exited
      })
  )
