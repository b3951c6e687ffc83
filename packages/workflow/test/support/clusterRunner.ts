/**
 * A runner process of the cluster (`fixtures/clusterRunner.ts`) on a free port, killed (if still alive) when the
 * scope closes: the cluster tests and the budget's test across runners start theirs the same way; and what the tests
 * of a run on runners do around it (wait for its shards, write its events, poll the run to its end).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as child from "node:child_process"
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import { DurableRun } from "../../src/index.js"
import { freePort } from "./postgres.js"
import { until } from "./processes.js"

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

/** Waits until the runners on the database (the engine's `SqlClient` in context) hold `shards` shard locks. */
export const holdingShards = (runner: Runner, shards = 100) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    until(
      Effect.map(
        sql<{ readonly n: number }>`
          SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted`,
        (rows) => rows[0].n >= shards
      ),
      `the runner holding its shards\n${runner.output().slice(-3_000)}`,
      40_000
    ))

/** `count` events a minute apart from October 1st, 2026, one customer, keys `${prefix}-N`, as an NDJSON file. */
export const eventsFile = (file: string, count: number, prefix: string) => {
  fs.writeFileSync(
    file,
    Array.from({ length: count }, (_, i) =>
      JSON.stringify({
        event_name: "api_call",
        timestamp: new Date(Date.parse("2026-10-01T00:00:00Z") + i * 60_000).toISOString(),
        external_customer_id: "acme",
        idempotency_key: `${prefix}-${i}`,
        properties: { units: 1 }
      })).join("\n") + "\n"
  )
  return file
}

/**
 * The exit of a run submitted to the runners, polled from a client-only engine; after `withinMillis` the test dies,
 * saying `why` and what the runner printed.
 */
export const runEnd = (executionId: string, runner: Runner, withinMillis: number, why: Effect.Effect<string>) =>
  Effect.gen(function*() {
    const started = Date.now()
    while (true) {
      const polled = yield* DurableRun.BackfillRun.poll(executionId).pipe(Effect.exit)
      if (Exit.isFailure(polled)) return polled as Exit.Exit<unknown, unknown>
      if (polled.value?._tag === "Complete") return polled.value.exit as Exit.Exit<unknown, unknown>
      if (Date.now() - started > withinMillis) {
        return yield* Effect.dieMessage(`${yield* why}\n${runner.output().slice(-3_000)}`)
      }
      yield* Effect.sleep("200 millis")
    }
  })
