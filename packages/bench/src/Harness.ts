/**
 * The harness: builds the client programs, starts the simulator server in a process of its own, runs every
 * client in a process of its own, in alternation over several rounds, and collects what they measured. This
 * module is the run's order; each scenario is in `scenarios/`, what they share in `harness/`.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import type { Client } from "./harness/clients.js"
import type { Context } from "./harness/context.js"
import { timeframe } from "./harness/data.js"
import type { RunningServer } from "./harness/processes.js"
import { buildWorkers, packageDir, startServer } from "./harness/processes.js"
import type {
  BudgetResult,
  DurableResult,
  QuotaResult,
  Results,
  ScenarioResult,
  StartupResult
} from "./harness/results.js"
import type { Options, Scenario } from "./harness/settings.js"
import { apiKey, sizes } from "./harness/settings.js"
import type { ServerConfig } from "./Protocol.js"
import { budgetScenario } from "./scenarios/budget.js"
import { decodeScenario } from "./scenarios/decode.js"
import { durableScenario } from "./scenarios/durable.js"
import { ingestScenario } from "./scenarios/ingest.js"
import type { InputsResult } from "./scenarios/inputs.js"
import { inputsScenario } from "./scenarios/inputs.js"
import { overheadScenario } from "./scenarios/overhead.js"
import { quotaScenario } from "./scenarios/quota.js"
import { requestScenario } from "./scenarios/requests.js"
import { startupScenario } from "./scenarios/startup.js"

export type { ClientResult, DurableResult, Results, ScenarioResult } from "./harness/results.js"
export type { Mode, Options, Scenario } from "./harness/settings.js"
export { scenarios } from "./harness/settings.js"
export type { InputsResult } from "./scenarios/inputs.js"

/** A dependency's installed version, for the results' header (`unknown` where it is not installed). */
const packageVersion = (name: string): string => {
  try {
    const file = Path.join(packageDir, "node_modules", name, "package.json")
    return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version
  } catch {
    return "unknown"
  }
}

/** Runs the selected scenarios and returns what was measured. */
export const run = async (options: Options): Promise<Results> => {
  const began = performance.now()
  const size = sizes[options.mode]
  const rounds = options.rounds ?? size.rounds
  const selected = (scenario: Scenario) => options.only === undefined || options.only.has(scenario)
  const log = options.log
  const tmp = mkdtempSync(Path.join(Os.tmpdir(), "effect-orb-bench-"))
  const profileDir = Path.join(options.outDir, "profiles")
  const profileFor = (client: Client, scenario: string) => {
    if (options.profile === undefined || !options.profile.has(client.id)) return undefined
    const dir = Path.join(profileDir, `${scenario}-${client.id}`)
    mkdirSync(dir, { recursive: true })
    return dir
  }
  const results: Array<ScenarioResult> = []
  let quota: QuotaResult | undefined
  let startup: ReadonlyArray<StartupResult> | undefined
  let durable: DurableResult | undefined
  let inputs: InputsResult | undefined
  let budget: BudgetResult | undefined
  // Every server a scenario starts, until it stops it: a failing scenario's are stopped below.
  const servers: Array<RunningServer> = []
  const serve = async (config: ServerConfig) => {
    const server = await startServer(bundles.server, config)
    servers.push(server)
    return server
  }
  const stopServer = async (server: RunningServer) => {
    servers.splice(servers.indexOf(server), 1)
    await server.stop()
  }

  // Each run has its programs of its own (a run in CI cannot rebuild them under another); profiled runs keep
  // theirs beside the profiles, which name lines in them.
  const bundleDir = options.profile === undefined ? Path.join(tmp, "bundles") : Path.join(profileDir, "bundles")
  log(`building the client programs into ${bundleDir}`)
  const bundles = await buildWorkers(bundleDir)
  const context: Context = {
    bundles,
    bundleDir,
    tmp,
    size,
    rounds: (own) => options.rounds ?? own,
    range: timeframe(),
    serve,
    stopServer,
    log,
    profileFor
  }

  try {
    // The quota scenario spends most of its time waiting for the quota: it runs alongside the others (one
    // request every three seconds, a negligible load), on a server of its own.
    const quotaRun = selected("quota") ? quotaScenario(context) : undefined
    // Failures surface when awaited below; do not let one go unhandled meanwhile.
    quotaRun?.catch(() => undefined)

    // fetch, list and startup share one server, seeded with the backfills list pages through.
    if (selected("fetch") || selected("list") || selected("startup")) {
      log(`starting the simulator with ${size.listBackfills} backfills`)
      const server = await serve({ apiKey, quotas: "none", seedBackfills: size.listBackfills, latencyMs: 0 })
      if (selected("fetch")) results.push(await requestScenario(context, server, "fetch"))
      if (selected("list")) results.push(await requestScenario(context, server, "list"))
      if (selected("startup")) startup = await startupScenario(context, server)
      await stopServer(server)
    }

    if (selected("ingest")) {
      for (const result of await ingestScenario(context)) results.push(result)
    }
    if (selected("decode")) results.push(await decodeScenario(context))
    if (selected("overhead")) results.push(await overheadScenario(context))
    if (selected("durable")) durable = await durableScenario(context)
    if (selected("inputs")) inputs = await inputsScenario(context)
    if (selected("budget")) budget = await budgetScenario(context)

    if (quotaRun !== undefined) {
      log("quota: waiting for the run to end")
      quota = await quotaRun
    }
  } finally {
    for (const server of [...servers]) await server.stop()
    rmSync(tmp, { recursive: true, force: true })
  }

  const cpus = Os.cpus()
  return {
    mode: options.mode,
    date: new Date().toISOString(),
    rounds,
    machine: {
      cpu: cpus[0]?.model ?? "unknown",
      cores: cpus.length,
      memoryGiB: Math.round(Os.totalmem() / 2 ** 30),
      platform: Os.platform(),
      release: Os.release(),
      arch: Os.arch()
    },
    node: process.version,
    versions: Object.fromEntries(
      ["effect", "@effect/platform", "@effect/platform-node", "orb-billing", "undici", "esbuild"].map((
        name
      ) => [name, packageVersion(name)])
    ),
    scenarios: results,
    quota,
    startup,
    durable,
    inputs,
    budget,
    durationMs: performance.now() - began
  }
}
