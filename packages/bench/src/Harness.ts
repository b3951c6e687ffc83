/**
 * The harness: builds the client programs, starts the simulator server in a process of its own, runs every
 * client in a process of its own, in alternation over several rounds, and collects what they measured.
 */
import * as esbuild from "esbuild"
import { fork, spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync
} from "node:fs"
import { createRequire } from "node:module"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { gzipSync } from "node:zlib"
import type { Job, Measurement, ServerConfig, ServerMessage, ServerStats, StatsRequest } from "./Protocol.js"
import { crashMarker, resultMarker } from "./Protocol.js"

// ---------------------------------------------------------------------------------------------------------
// settings

/** The scenarios, in the order they run. */
export const scenarios = ["fetch", "list", "ingest", "quota", "decode", "startup", "overhead", "durable"] as const

export type Scenario = typeof scenarios[number]

export type Mode = "full" | "quick" | "smoke"

/** How much work each scenario does in a mode. */
export interface Sizes {
  readonly rounds: number
  readonly fetch: number
  readonly fetchWarmup: number
  readonly listBackfills: number
  /** Event counts of the ingest scenario (peak RSS is compared across them), and rounds for each. */
  readonly ingest: ReadonlyArray<number>
  readonly ingestRounds: ReadonlyArray<number>
  /** The ingest scenario again with a delay added to every response, as a network between client and Orb adds. */
  readonly ingestLatency: { readonly events: number; readonly latencyMs: number; readonly rounds: number }
  readonly quota: number
  readonly decode: number
  readonly startupRounds: number
  /** Requests of the analysis scenario (no socket). */
  readonly overhead: number
  /**
   * The durable scenario: a run of `events` (segments of `segmentEvents`, batches of 500) durable and in memory,
   * `rounds` each; then a run killed with kill -9 after `resumeSegments` finished segments of `resumeSegmentEvents`
   * (and `resumeTail` events more in the file), resumed by a new process.
   */
  readonly durable: {
    readonly events: number
    readonly segmentEvents: number
    readonly rounds: number
    readonly resumeSegments: number
    readonly resumeSegmentEvents: number
    readonly resumeTail: number
  }
}

export const sizes: Record<Mode, Sizes> = {
  full: {
    rounds: 3,
    fetch: 5_000,
    fetchWarmup: 500,
    listBackfills: 10_000,
    ingest: [100_000, 1_000_000],
    ingestRounds: [3, 1],
    ingestLatency: { events: 100_000, latencyMs: 20, rounds: 3 },
    quota: 200_000,
    decode: 100_000,
    startupRounds: 7,
    overhead: 20_000,
    durable: {
      events: 100_000,
      segmentEvents: 5_000,
      rounds: 3,
      resumeSegments: 2_000,
      resumeSegmentEvents: 10,
      resumeTail: 500
    }
  },
  quick: {
    rounds: 2,
    fetch: 500,
    fetchWarmup: 100,
    listBackfills: 2_000,
    ingest: [10_000, 50_000],
    ingestRounds: [1, 1],
    ingestLatency: { events: 10_000, latencyMs: 20, rounds: 1 },
    quota: 10_000,
    decode: 20_000,
    startupRounds: 2,
    overhead: 5_000,
    durable: {
      events: 20_000,
      segmentEvents: 5_000,
      rounds: 1,
      resumeSegments: 500,
      resumeSegmentEvents: 10,
      resumeTail: 100
    }
  },
  smoke: {
    rounds: 1,
    fetch: 200,
    fetchWarmup: 20,
    listBackfills: 300,
    ingest: [1_000],
    ingestRounds: [1],
    ingestLatency: { events: 1_000, latencyMs: 20, rounds: 1 },
    quota: 1_000,
    decode: 300,
    startupRounds: 1,
    overhead: 300,
    durable: {
      events: 2_000,
      segmentEvents: 500,
      rounds: 1,
      resumeSegments: 50,
      resumeSegmentEvents: 10,
      resumeTail: 50
    }
  }
}

export interface Options {
  readonly mode: Mode
  /** Where `latest.json` goes. */
  readonly outDir: string
  readonly rounds?: number | undefined
  readonly only?: ReadonlySet<Scenario> | undefined
  /** Client ids to run under `node --cpu-prof` (profiles land in `<outDir>/profiles`). */
  readonly profile?: ReadonlySet<string> | undefined
  readonly log: (line: string) => void
}

// ---------------------------------------------------------------------------------------------------------
// clients

/** A client program and the switch it runs with. */
export interface Client {
  readonly id: string
  readonly label: string
  readonly bundle: string
  readonly variant?: string
  readonly concurrency?: number
}

const requestClients: ReadonlyArray<Client> = [
  { id: "raw-undici", label: "raw undici", bundle: "rawUndici" },
  { id: "raw-fetch", label: "global fetch", bundle: "rawFetch" },
  { id: "orb-billing", label: "orb-billing", bundle: "orbBilling" },
  { id: "effect-fetch-bare", label: "Effect FetchHttpClient alone (no library)", bundle: "oursFetch", variant: "bare" },
  {
    id: "effect-undici-bare",
    label: "Effect NodeHttpClient undici alone (no library)",
    bundle: "oursUndici",
    variant: "bare"
  },
  { id: "ours-fetch", label: "ours (FetchHttpClient)", bundle: "oursFetch" },
  { id: "ours-undici", label: "ours (NodeHttpClient undici)", bundle: "oursUndici" },
  {
    id: "ours-undici-httpspans",
    label: "ours (undici, httpSpans: true)",
    bundle: "oursUndici",
    variant: "httpspans"
  },
  { id: "ours-undici-notrace", label: "ours (undici, tracing off)", bundle: "oursUndici", variant: "notrace" }
]

/** ingestEncodedStream's default concurrency: the others send with the same. */
export const ingestConcurrency = 4

const ingestClients: ReadonlyArray<Client> = [
  { id: "raw-undici", label: `raw undici x${ingestConcurrency}`, bundle: "rawUndici", concurrency: ingestConcurrency },
  { id: "orb-billing-loop", label: "orb-billing loop (x1)", bundle: "orbBilling", concurrency: 1 },
  {
    id: "orb-billing",
    label: `orb-billing x${ingestConcurrency}`,
    bundle: "orbBilling",
    concurrency: ingestConcurrency
  },
  {
    id: "ours-undici",
    label: `ours ingestEncodedStream (undici) x${ingestConcurrency}`,
    bundle: "oursUndici",
    concurrency: ingestConcurrency
  },
  {
    id: "ours-fetch",
    label: `ours ingestEncodedStream (fetch) x${ingestConcurrency}`,
    bundle: "oursFetch",
    concurrency: ingestConcurrency
  }
]

const decodeClients: ReadonlyArray<Client> = [
  { id: "json-parse", label: "JSON.parse alone", bundle: "decode", variant: "json" },
  { id: "ours-schema", label: "JSON.parse + Schema.decodeUnknownSync(Backfill)", bundle: "decode", variant: "schema" }
]

const overheadClients: ReadonlyArray<Client> = [
  { id: "stub", label: "in-process HttpClient alone (execute, text, JSON.parse)", bundle: "overhead", variant: "stub" },
  { id: "ours", label: "ours: Backfills.fetch", bundle: "overhead", variant: "ours" },
  { id: "ours-httpspans", label: "ours, httpSpans: true", bundle: "overhead", variant: "httpspans" },
  { id: "ours-notrace", label: "ours, tracing off", bundle: "overhead", variant: "notrace" },
  {
    id: "hand",
    label: "by hand: headers, execute, text, JSON.parse, Schema decode",
    bundle: "overhead",
    variant: "hand"
  },
  { id: "hand-timeout", label: "by hand + Effect.timeoutFail", bundle: "overhead", variant: "hand-timeout" },
  { id: "hand-retry", label: "by hand + Effect.retry (default schedule)", bundle: "overhead", variant: "hand-retry" },
  { id: "hand-span", label: "by hand + Effect.withSpan", bundle: "overhead", variant: "hand-span" },
  { id: "hand-fn", label: "by hand + Effect.fn wrapper", bundle: "overhead", variant: "hand-fn" }
]

const startupPrograms = [
  { id: "baseline", label: "node, empty program", entry: "startup/baseline.ts", transport: "none" },
  { id: "ours-fetch", label: "ours (FetchHttpClient)", entry: "startup/ours.ts", transport: "fetch" },
  { id: "ours-undici", label: "ours (NodeHttpClient undici)", entry: "startup/ours.ts", transport: "undici" },
  { id: "orb-billing", label: "orb-billing", entry: "startup/orbBilling.ts", transport: "none" }
] as const

/**
 * The command line as it ships (`packages/cli`'s `build:bundle`), each row a whole command from spawn to exit:
 * `--help`, `list` against the in-process simulator (no `ORB_API_KEY`) and `list` of one backfill against the
 * bench's served simulator, the same request as the programs above.
 */
const cliPrograms = [
  { id: "cli-help", label: "orb-backfill --help (bundle)", args: ["--help"], served: false },
  {
    id: "cli-list",
    label: "orb-backfill list (bundle, in-process simulator)",
    args: ["list", "--json"],
    served: false
  },
  {
    id: "cli-list-served",
    label: "orb-backfill list --limit 1 (bundle, served simulator)",
    args: ["list", "--limit", "1", "--json"],
    served: true
  }
] as const

// ---------------------------------------------------------------------------------------------------------
// results

/** One client's runs in one scenario (or one size of it), with medians. */
export interface ClientResult {
  readonly id: string
  readonly label: string
  readonly runs: ReadonlyArray<Measurement>
  readonly median: {
    readonly wallMs: number
    readonly opsPerSecond: number
    readonly cpuMicrosPerOp: number
    readonly maxRssMb: number
  }
  /** Server CPU per operation during the client's runs (median), where measured. */
  readonly serverCpuMicrosPerOp?: number | undefined
  readonly extra?: Readonly<Record<string, number>> | undefined
}

export interface ScenarioResult {
  readonly scenario: Scenario
  /** e.g. `100000 events`. */
  readonly title: string
  readonly unit: string
  readonly ops: number
  /** ingest: the delay the server added to every response. */
  readonly latencyMs?: number | undefined
  readonly clients: ReadonlyArray<ClientResult>
  /** Ratios are taken to these clients. */
  readonly rawId: string
  readonly orbId: string
}

export interface QuotaResult {
  readonly events: number
  readonly wallMs: number
  readonly eventsPerMinute: number
  readonly quotaEventsPerMinute: number
  readonly shareOfQuota: number
  readonly ingestRequests: number
  readonly answered429: number
  readonly share429: number
  readonly clientRateLimited: number
}

export interface StartupResult {
  readonly id: string
  readonly label: string
  /** For the command line: what its startup loads (the entry file and the chunks it imports statically). */
  readonly bundleBytes: number
  readonly bundleGzipBytes: number
  readonly runs: ReadonlyArray<
    { readonly importedMs: number; readonly firstRequestMs: number; readonly wallMs: number }
  >
  readonly median: { readonly importedMs: number; readonly firstRequestMs: number; readonly wallMs: number }
}

/** The durable scenario: a durable run beside the same run in memory, its state, and a resume after kill -9. */
export interface DurableResult {
  readonly events: number
  readonly segmentEvents: number
  readonly batchSize: number
  readonly concurrency: number
  /** `memory` (Backfills.run) and `durable` (DurableRun.execute), with server CPU per event. */
  readonly clients: ReadonlyArray<ClientResult>
  readonly wallRatio: number
  readonly cpuRatio: number
  /** The SQLite state file right after the durable run (median over its rounds), and per 1,000 events. */
  readonly state: {
    readonly dbBytes: number
    readonly walBytes: number
    readonly bytesPerThousandEvents: number
    /** A copy with the write-ahead log folded in (checkpointed): what the state holds. */
    readonly checkpointedBytes: number
    readonly checkpointedBytesPerThousandEvents: number
  }
  readonly resume: {
    readonly segments: number
    readonly segmentEvents: number
    /** Events in the file: the finished segments' and the tail's. */
    readonly events: number
    /** How long the crashed process took to finish its segments (from its spawn to the marker). */
    readonly firstProcessMs: number
    /** The state file at the kill, and per 1,000 finished events. */
    readonly stateBytesAtKill: number
    readonly stateBytesPerThousandEvents: number
    readonly checkpointedBytesAtKill: number
    readonly checkpointedBytesPerThousandEvents: number
    /** From the new process's spawn to the simulator's arrival time of its first ingest request. */
    readonly spawnToFirstIngestMs: number
    /** Inside the new process: when its code began, and when the engine's layer was up (ms since its start). */
    readonly startedAtMs: number
    readonly layerUpAtMs: number
    /** Ingest requests the new process sent, and those the finished segments would not need. */
    readonly ingestRequestsAfterResume: number
    readonly ingestRequestsExpected: number
    /** The new process's spawn to the run's end (close). */
    readonly resumeWallMs: number
    /** The backfill's events after the resume: every event once. */
    readonly eventsIngested: number
  }
}

export interface Results {
  readonly mode: Mode
  readonly date: string
  readonly rounds: number
  readonly machine: {
    readonly cpu: string
    readonly cores: number
    readonly memoryGiB: number
    readonly platform: string
    readonly release: string
    readonly arch: string
  }
  readonly node: string
  readonly versions: Readonly<Record<string, string>>
  readonly scenarios: ReadonlyArray<ScenarioResult>
  readonly quota?: QuotaResult | undefined
  readonly startup?: ReadonlyArray<StartupResult> | undefined
  readonly durable?: DurableResult | undefined
  readonly durationMs: number
}

export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

const summarise = (
  client: Client,
  runs: ReadonlyArray<Measurement>,
  serverCpu: ReadonlyArray<number> = []
): ClientResult => ({
  id: client.id,
  label: client.label,
  runs,
  median: {
    wallMs: median(runs.map((r) => r.wallMs)),
    opsPerSecond: median(runs.map((r) => r.ops / (r.wallMs / 1000))),
    cpuMicrosPerOp: median(runs.map((r) => (r.cpuUserMicros + r.cpuSystemMicros) / r.ops)),
    maxRssMb: median(runs.map((r) => r.maxRssKb / 1024))
  },
  serverCpuMicrosPerOp: serverCpu.length > 0 ? median(serverCpu) : undefined
})

// ---------------------------------------------------------------------------------------------------------
// processes

const here = Path.dirname(fileURLToPath(import.meta.url))
const packageDir = Path.resolve(here, "..")

const workerEntries = [
  "rawUndici",
  "rawFetch",
  "orbBilling",
  "oursFetch",
  "oursUndici",
  "decode",
  "overhead",
  "server",
  "durable"
]

/**
 * better-sqlite3 (the durable engine's SQLite, through @effect-orb/workflow) loads a native addon: it stays out of
 * the bundle and is loaded from where the workflow package resolves it. `pg-native` is an optional module of `pg`
 * (the Postgres engine, bundled but unused here) that is not installed.
 */
const sqliteModule = () =>
  createRequire(
    Path.join(realpathSync(Path.join(packageDir, "node_modules", "@effect-orb", "workflow")), "package.json")
  ).resolve("better-sqlite3")

const nativeModules: esbuild.Plugin = {
  name: "native-modules",
  setup(build) {
    const sqlite = sqliteModule()
    build.onResolve({ filter: /^better-sqlite3$/ }, () => ({ path: sqlite, external: true }))
    build.onResolve({ filter: /^pg-native$/ }, () => ({ path: "pg-native", external: true }))
  }
}

// Some bundled CommonJS modules `require` Node's built-ins: give the ES module bundle a `require`.
const requireBanner = "import { createRequire as __benchCreateRequire } from \"node:module\";\n" +
  "const require = __benchCreateRequire(import.meta.url);"

/** Builds every worker program (not minified: readable profiles) and returns their paths. */
const buildWorkers = async (bundleDir: string): Promise<Record<string, string>> => {
  mkdirSync(bundleDir, { recursive: true })
  const out: Record<string, string> = {}
  await Promise.all(workerEntries.map(async (name) => {
    const outfile = Path.join(bundleDir, `${name}.mjs`)
    await esbuild.build({
      entryPoints: [Path.join(here, "workers", `${name}.ts`)],
      outfile,
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      banner: { js: requireBanner },
      plugins: name === "durable" ? [nativeModules] : [],
      logLevel: "error"
    })
    out[name] = outfile
  }))
  return out
}

/** A program that fetches one backfill, minified as it would ship, and its size. */
const buildStartup = async (
  bundleDir: string,
  program: typeof startupPrograms[number]
): Promise<{ readonly file: string; readonly bytes: number; readonly gzipBytes: number }> => {
  const file = Path.join(bundleDir, `startup-${program.id}.mjs`)
  await esbuild.build({
    entryPoints: [Path.join(here, program.entry)],
    outfile: file,
    bundle: true,
    minify: true,
    format: "esm",
    platform: "node",
    target: "node20",
    legalComments: "none",
    banner: { js: requireBanner },
    define: { ORB_BENCH_TRANSPORT: JSON.stringify(program.transport) },
    logLevel: "error"
  })
  const content = readFileSync(file)
  return { file, bytes: content.length, gzipBytes: gzipSync(content).length }
}

const apiKey = "bench-secret-key"

interface RunningServer {
  readonly url: string
  readonly seededIds: ReadonlyArray<string>
  readonly stats: (detail?: boolean, since?: number) => Promise<ServerStats>
  readonly stop: () => Promise<void>
}

const waitForExit = (child: ChildProcess, ms: number): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      resolve()
    }, ms)
    child.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
  })

const startServer = (bundle: string, config: ServerConfig): Promise<RunningServer> =>
  new Promise((resolve, reject) => {
    const child = fork(bundle, [JSON.stringify(config)], {
      execArgv: ["--max-old-space-size=8192"],
      stdio: ["ignore", "ignore", "pipe", "ipc"]
    })
    let stderr = ""
    child.stderr?.on("data", (chunk) => stderr += String(chunk))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`the simulator server did not start within 120 s: ${stderr}`))
    }, 120_000)
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`the simulator server exited (${code}): ${stderr}`))
    })
    const waiters: Array<(stats: ServerStats) => void> = []
    child.on("message", (message: ServerMessage) => {
      if (message.type === "stats") waiters.shift()?.(message.stats)
      else if (message.type === "ready") {
        clearTimeout(timer)
        resolve({
          url: message.url,
          seededIds: message.seededIds,
          stats: (detail = false, since?: number) =>
            new Promise((done) => {
              waiters.push(done)
              const request: StatsRequest = { type: "stats", detail, since }
              child.send(request)
            }),
          stop: () => {
            child.removeAllListeners("exit")
            if (child.connected) child.disconnect()
            return waitForExit(child, 5_000)
          }
        })
      }
    })
  })

/** Runs one client process to the end, or kills it after `timeoutMs`. */
const runClient = (
  bundle: string,
  job: Job,
  timeoutMs: number,
  profileDir: string | undefined
): Promise<Measurement> =>
  new Promise((resolve, reject) => {
    const flags = profileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`]
    const child = spawn(process.execPath, [...flags, bundle, JSON.stringify(job)], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => stdout += String(chunk))
    child.stderr.on("data", (chunk) => stderr += String(chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.once("exit", (code, signal) => {
      clearTimeout(timer)
      const line = stdout.split("\n").find((l) => l.startsWith(resultMarker))
      if (code === 0 && line !== undefined) return resolve(JSON.parse(line.slice(resultMarker.length)) as Measurement)
      reject(
        new Error(
          `${Path.basename(bundle)} ${job.scenario} ${job.variant}: ${
            signal === "SIGKILL" ? `killed after ${timeoutMs} ms` : `exit ${code ?? signal}`
          }\n${stderr.slice(-2_000)}`
        )
      )
    })
  })

/**
 * Runs a client process until it prints `marker`, then kills it with kill -9; returns the time from its spawn to
 * the marker.
 */
const runUntilMarker = (bundle: string, job: Job, marker: string, timeoutMs: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const spawned = performance.now()
    const child = spawn(process.execPath, [bundle, JSON.stringify(job)], { stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    let seenAt: number | undefined
    child.stdout.on("data", (chunk) => {
      stdout += String(chunk)
      if (seenAt === undefined && stdout.includes(marker)) {
        seenAt = performance.now() - spawned
        child.kill("SIGKILL")
      }
    })
    child.stderr.on("data", (chunk) => stderr += String(chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.once("exit", (code, signal) => {
      clearTimeout(timer)
      if (seenAt !== undefined && signal === "SIGKILL") return resolve(seenAt)
      reject(
        new Error(
          `${Path.basename(bundle)} ${job.variant}: exit ${code ?? signal} before ${marker}\n${stderr.slice(-2_000)}`
        )
      )
    })
  })

/**
 * Builds the command line with its own bundle script into `bundleDir/cli`, and answers its entry file and the size
 * of what its startup loads.
 */
const buildCli = (bundleDir: string) =>
  new Promise<{ readonly file: string; readonly bytes: number; readonly gzipBytes: number }>((resolve, reject) => {
    const script = Path.resolve(packageDir, "..", "cli", "scripts", "bundle.mjs")
    const child = spawn(process.execPath, [script, "--outdir", Path.join(bundleDir, "cli"), "--json"], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => stdout += String(chunk))
    child.stderr.on("data", (chunk) => stderr += String(chunk))
    child.once("exit", (code) => {
      if (code !== 0) return reject(new Error(`packages/cli/scripts/bundle.mjs: exit ${code}\n${stderr.slice(-2_000)}`))
      const built = JSON.parse(stdout) as { entry: string; startupFiles: Array<string> }
      const content = Buffer.concat(built.startupFiles.map((file) => readFileSync(file)))
      resolve({ file: built.entry, bytes: content.length, gzipBytes: gzipSync(content).length })
    })
  })

/** Runs a program to its exit, with a minute's limit: its output and the wall time from spawn to exit. */
const runTimed = (file: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = process.env) =>
  new Promise<{ code: number | null; stdout: string; stderr: string; wallMs: number }>((resolve) => {
    const started = performance.now()
    const child = spawn(process.execPath, [file, ...args], { stdio: ["ignore", "pipe", "pipe"], env })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => stdout += String(chunk))
    child.stderr.on("data", (chunk) => stderr += String(chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.once("exit", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, wallMs: performance.now() - started })
    })
  })

/** Runs the command line with `args` and returns the wall time from spawn to exit (a command prints no timings). */
const runCli = async (file: string, args: ReadonlyArray<string>, orb: { url: string; apiKey: string } | undefined) => {
  const env = { ...process.env }
  delete env.ORB_API_KEY
  delete env.ORB_BASE_URL
  const { code, stderr, stdout, wallMs } = await runTimed(
    file,
    args,
    orb === undefined ? env : { ...env, ORB_API_KEY: orb.apiKey, ORB_BASE_URL: orb.url }
  )
  try {
    if (code !== 0) throw new Error(`exit ${code}`)
    // `list --json` printed the backfills it was asked for: none in-process, one from the served simulator.
    if (args[0] === "list" && (JSON.parse(stdout) as Array<unknown>).length !== (orb === undefined ? 0 : 1)) {
      throw new Error(`unexpected output ${stdout.slice(0, 200)}`)
    }
    return { importedMs: Number.NaN, firstRequestMs: Number.NaN, wallMs }
  } catch (error) {
    throw new Error(`orb-backfill ${args.join(" ")}: ${String(error)}\n${stderr.slice(-2_000)}`)
  }
}

/** Runs a program and returns its one line of JSON and the wall time from spawn to exit. */
const runStartup = async (file: string, args: ReadonlyArray<string>) => {
  const { code, stderr, stdout, wallMs } = await runTimed(file, args)
  try {
    if (code !== 0) throw new Error(`exit ${code}`)
    const parsed = JSON.parse(stdout.trim()) as { importedMs: number; firstRequestMs: number }
    return { importedMs: parsed.importedMs, firstRequestMs: parsed.firstRequestMs, wallMs }
  } catch (error) {
    throw new Error(`${Path.basename(file)}: ${String(error)}\n${stderr.slice(-2_000)}`)
  }
}

// ---------------------------------------------------------------------------------------------------------
// data

const day = 86_400_000

/** The timeframe of every ingest backfill: 30 days ending today at midnight UTC. */
const timeframe = () => {
  const end = Math.floor(Date.now() / day) * day
  return { start: end - 30 * day, end }
}

/** Writes `count` events inside the timeframe as NDJSON, in Orb's wire format, each with its own key. */
const writeEvents = async (file: string, count: number, start: number): Promise<void> => {
  const spacing = Math.max(1, Math.floor((29 * day) / count))
  const out = createWriteStream(file)
  const regions = ["eu-west-1", "us-east-1", "ap-south-1"]
  for (let from = 0; from < count; from += 10_000) {
    const lines: Array<string> = []
    for (let i = from; i < Math.min(count, from + 10_000); i++) {
      lines.push(JSON.stringify({
        event_name: "api_request",
        timestamp: new Date(start + i * spacing).toISOString(),
        properties: { region: regions[i % 3], bytes: (i * 7_919) % 100_000, cached: i % 5 === 0 },
        idempotency_key: `evt-${i.toString().padStart(9, "0")}`,
        external_customer_id: `customer-${i % 100}`
      }))
    }
    if (!out.write(`${lines.join("\n")}\n`)) await new Promise<void>((resolve) => out.once("drain", () => resolve()))
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => error ? reject(error) : resolve()))
}

/** Creates the backfill events go into, over HTTP. */
const createBackfill = async (url: string, range: { start: number; end: number }): Promise<string> => {
  const response = await fetch(`${url}/events/backfills`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({
      timeframe_start: new Date(range.start).toISOString(),
      timeframe_end: new Date(range.end).toISOString(),
      replace_existing_events: false
    })
  })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`create backfill: HTTP ${response.status}: ${text}`)
  return (JSON.parse(text) as { id: string }).id
}

const rotate = <A>(items: ReadonlyArray<A>, by: number): Array<A> => items.map((_, i) => items[(i + by) % items.length])

/** Runs every client once per round, the order rotated each round, and collects each client's measurements. */
const inRounds = async <C extends { readonly id: string; readonly label: string }>(
  clients: ReadonlyArray<C>,
  rounds: number,
  name: string,
  log: (line: string) => void,
  measure: (client: C) => Promise<Measurement>
): Promise<Map<string, Array<Measurement>>> => {
  const runs = new Map<string, Array<Measurement>>(clients.map((c) => [c.id, []]))
  for (let round = 0; round < rounds; round++) {
    for (const client of rotate(clients, round)) {
      log(`${name}: round ${round + 1}/${rounds}, ${client.label}`)
      runs.get(client.id)!.push(await measure(client))
    }
  }
  return runs
}

/**
 * The bytes of a SQLite state file (with its write-ahead log), and what it holds once the log is folded in: a copy
 * is checkpointed (`wal_checkpoint(TRUNCATE)`), so the original stays as the run left it.
 */
const stateSize = (state: string): { readonly bytes: number; readonly checkpointedBytes: number } => {
  const size = (file: string) => existsSync(file) ? statSync(file).size : 0
  const bytes = size(state) + size(`${state}-wal`)
  const copy = `${state}.copy`
  copyFileSync(state, copy)
  if (existsSync(`${state}-wal`)) copyFileSync(`${state}-wal`, `${copy}-wal`)
  const Database = createRequire(import.meta.url)(sqliteModule()) as new(file: string) => {
    pragma: (source: string) => unknown
    close: () => void
  }
  const db = new Database(copy)
  db.pragma("wal_checkpoint(TRUNCATE)")
  db.close()
  const checkpointedBytes = size(copy) + size(`${copy}-wal`)
  for (const file of [copy, `${copy}-wal`, `${copy}-shm`]) rmSync(file, { force: true })
  return { bytes, checkpointedBytes }
}

/** The one backfill of a fresh server, as the simulator has it. */
const onlyBackfill = async (url: string): Promise<{ readonly id: string; readonly events_ingested: number }> => {
  const response = await fetch(`${url}/events/backfills?limit=10`, { headers: { authorization: `Bearer ${apiKey}` } })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`list backfills: HTTP ${response.status}: ${text}`)
  const data = (JSON.parse(text) as { data: Array<{ id: string; events_ingested: number }> }).data
  if (data.length !== 1) throw new Error(`expected one backfill, found ${data.length}`)
  return data[0]
}

/**
 * The durable scenario. A durable run (`DurableRun.execute` on a fresh SQLite file) beside the same events
 * through `Backfills.run` in memory, each in a fresh client process against a fresh server without quotas, in
 * alternation; the state file's size after the durable run; then a run killed with kill -9 right after its
 * `resumeSegments`-th segment, and a new process on its state file: the time from that process's spawn to the
 * simulator's arrival time of its first ingest request.
 */
const durableScenario = async (context: {
  readonly bundle: string
  readonly tmp: string
  readonly size: Sizes
  readonly rounds: number
  readonly range: { readonly start: number; readonly end: number }
  readonly serve: (config: ServerConfig) => Promise<RunningServer>
  readonly stopServer: (server: RunningServer) => Promise<void>
  readonly log: (line: string) => void
  readonly profileFor: (client: Client, scenario: string) => string | undefined
}): Promise<DurableResult> => {
  const { bundle, log, range, serve, size, stopServer, tmp } = context
  const settings = size.durable
  const batchSize = 500
  const timeframe = {
    timeframeStart: new Date(range.start).toISOString(),
    timeframeEnd: new Date(range.end).toISOString()
  }
  const noQuotas: ServerConfig = { apiKey, quotas: "none", seedBackfills: 0, latencyMs: 0 }
  const baseJob = { apiKey, warmup: 0, backfillId: "", scenario: "durable" as const, concurrency: ingestConcurrency }

  const file = Path.join(tmp, `durable-${settings.events}.ndjson`)
  log(`durable: writing ${settings.events} events`)
  await writeEvents(file, settings.events, range.start)
  const clients: ReadonlyArray<Client> = [
    { id: "memory", label: "in memory: Backfills.run (encodedEvents)", bundle: "durable", variant: "memory" },
    { id: "durable", label: "durable: DurableRun.execute (SQLite)", bundle: "durable", variant: "durable" }
  ]
  const serverCpu = new Map<string, Array<number>>(clients.map((c) => [c.id, []]))
  let runIndex = 0
  const runs = await inRounds(clients, context.rounds, "durable", log, async (client) => {
    const server = await serve(noQuotas)
    const before = await server.stats()
    const state = Path.join(tmp, `durable-state-${runIndex++}`, "state.sqlite")
    mkdirSync(Path.dirname(state), { recursive: true })
    const measurement = await runClient(
      bundle,
      {
        ...baseJob,
        baseUrl: server.url,
        count: settings.events,
        file,
        variant: client.variant ?? "",
        durable: { state, runKey: `bench-${runIndex}`, ...timeframe, segmentEvents: settings.segmentEvents, batchSize }
      },
      Math.max(120_000, settings.events * 3),
      context.profileFor(client, "durable")
    )
    const after = await server.stats()
    const backfill = await onlyBackfill(server.url)
    await stopServer(server)
    const sized = client.id === "durable" ? stateSize(state) : undefined
    rmSync(Path.dirname(state), { recursive: true, force: true })
    if (measurement.ops !== settings.events || backfill.events_ingested !== settings.events) {
      throw new Error(
        `${client.label}: ${measurement.ops} accepted, ${backfill.events_ingested} in the backfill, of ${settings.events}`
      )
    }
    serverCpu.get(client.id)!.push(
      (after.cpuUserMicros + after.cpuSystemMicros - before.cpuUserMicros - before.cpuSystemMicros) / settings.events
    )
    return sized === undefined ? measurement : {
      ...measurement,
      extra: { ...measurement.extra, stateBytes: sized.bytes, stateCheckpointedBytes: sized.checkpointedBytes }
    }
  })
  const results = clients.map((c) => summarise(c, runs.get(c.id)!, serverCpu.get(c.id)!))
  const [memory, durable] = results
  const durableRuns = runs.get("durable")!
  const dbBytes = median(durableRuns.map((r) => r.extra.stateDbBytes ?? 0))
  const walBytes = median(durableRuns.map((r) => r.extra.stateWalBytes ?? 0))
  const stateBytes = median(durableRuns.map((r) => r.extra.stateBytes ?? 0))
  const checkpointedBytes = median(durableRuns.map((r) => r.extra.stateCheckpointedBytes ?? 0))

  // Resume: `resumeSegments` segments finish, the next one's request is held and the process killed with kill -9.
  const finished = settings.resumeSegments * settings.resumeSegmentEvents
  const total = finished + settings.resumeTail
  const resumeFile = Path.join(tmp, `durable-resume-${total}.ndjson`)
  await writeEvents(resumeFile, total, range.start)
  const state = Path.join(tmp, "durable-resume", "state.sqlite")
  mkdirSync(Path.dirname(state), { recursive: true })
  const server = await serve(noQuotas)
  // One request per segment: segments of a few events, batches of 500.
  const job: Job = {
    ...baseJob,
    baseUrl: server.url,
    count: total,
    file: resumeFile,
    variant: "crash",
    durable: {
      state,
      runKey: "bench-resume",
      ...timeframe,
      segmentEvents: settings.resumeSegmentEvents,
      batchSize,
      ingestsBeforeCrash: settings.resumeSegments
    }
  }
  log(`durable: a run of ${settings.resumeSegments} segments of ${settings.resumeSegmentEvents} events, then kill -9`)
  const firstProcessMs = await runUntilMarker(bundle, job, crashMarker, 1_800_000)
  const atKill = await server.stats()
  if (atKill.ingestRequests !== settings.resumeSegments) {
    throw new Error(
      `the crashed run sent ${atKill.ingestRequests} ingest requests, expected ${settings.resumeSegments}`
    )
  }
  const atKillSize = stateSize(state)
  log("durable: resuming in a new process")
  const spawnedAt = Date.now()
  const resumed = await runClient(bundle, { ...job, variant: "resume" }, 600_000, undefined)
  const resumeWallMs = Date.now() - spawnedAt
  const afterResume = await server.stats(false, spawnedAt)
  const backfill = await onlyBackfill(server.url)
  await stopServer(server)
  rmSync(Path.dirname(state), { recursive: true, force: true })
  if (backfill.events_ingested !== total) {
    throw new Error(`after the resume the backfill holds ${backfill.events_ingested} of ${total} events`)
  }
  const since = afterResume.ingestSince ?? { requests: 0, firstAt: 0 }
  return {
    events: settings.events,
    segmentEvents: settings.segmentEvents,
    batchSize,
    concurrency: ingestConcurrency,
    clients: results,
    wallRatio: durable.median.wallMs / memory.median.wallMs,
    cpuRatio: durable.median.cpuMicrosPerOp / memory.median.cpuMicrosPerOp,
    state: {
      dbBytes,
      walBytes,
      bytesPerThousandEvents: stateBytes / (settings.events / 1_000),
      checkpointedBytes,
      checkpointedBytesPerThousandEvents: checkpointedBytes / (settings.events / 1_000)
    },
    resume: {
      segments: settings.resumeSegments,
      segmentEvents: settings.resumeSegmentEvents,
      events: total,
      firstProcessMs,
      stateBytesAtKill: atKillSize.bytes,
      stateBytesPerThousandEvents: atKillSize.bytes / (finished / 1_000),
      checkpointedBytesAtKill: atKillSize.checkpointedBytes,
      checkpointedBytesPerThousandEvents: atKillSize.checkpointedBytes / (finished / 1_000),
      spawnToFirstIngestMs: since.requests > 0 ? since.firstAt - spawnedAt : Number.NaN,
      startedAtMs: resumed.extra.startedAtMs ?? Number.NaN,
      layerUpAtMs: resumed.extra.layerUpAtMs ?? Number.NaN,
      ingestRequestsAfterResume: since.requests,
      ingestRequestsExpected: Math.ceil(settings.resumeTail / settings.resumeSegmentEvents),
      resumeWallMs,
      eventsIngested: backfill.events_ingested
    }
  }
}

const packageVersion = (name: string): string => {
  try {
    const file = Path.join(packageDir, "node_modules", name, "package.json")
    return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version
  } catch {
    return "unknown"
  }
}

// ---------------------------------------------------------------------------------------------------------
// the run

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
  let startup: Array<StartupResult> | undefined
  let durable: DurableResult | undefined
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
  const range = timeframe()
  const baseJob = { apiKey, warmup: 0, file: "", concurrency: 1, variant: "" }

  try {
    // The quota scenario spends most of its time waiting for the quota: it runs alongside the others (one
    // request every three seconds, a negligible load), on a server of its own.
    const quotaRun = selected("quota")
      ? (async (): Promise<QuotaResult> => {
        const file = Path.join(tmp, `quota-${size.quota}.ndjson`)
        await writeEvents(file, size.quota, range.start)
        const server = await serve({ apiKey, quotas: "live", seedBackfills: 0, latencyMs: 0 })
        const backfillId = await createBackfill(server.url, range)
        log(`quota: ${size.quota} events at Orb's live-mode quota (about ${Math.ceil(size.quota / 10_000)} min)`)
        const measurement = await runClient(
          bundles.oursUndici,
          { ...baseJob, scenario: "quota", baseUrl: server.url, backfillId, count: size.quota, file },
          (size.quota / 10_000) * 2 * 60_000 + 120_000,
          undefined
        )
        const stats = await server.stats(true)
        await stopServer(server)
        const quotaEventsPerMinute = 10_000
        // From the first accepted request to the last: every event but the last batch's was sent in that span.
        const span = stats.ingestLastAt - stats.ingestFirstAt
        const eventsPerMinute = span > 0
          ? ((stats.ingestEventsAccepted - stats.ingestLastBatchEvents) / span) * 60_000
          : Number.NaN
        return {
          events: measurement.ops,
          wallMs: measurement.wallMs,
          eventsPerMinute,
          quotaEventsPerMinute,
          shareOfQuota: eventsPerMinute / quotaEventsPerMinute,
          ingestRequests: stats.ingestRequests,
          answered429: stats.ingest429,
          share429: stats.ingestRequests > 0 ? stats.ingest429 / stats.ingestRequests : 0,
          clientRateLimited: measurement.extra.rateLimited ?? 0
        }
      })()
      : undefined
    // Failures surface when awaited below; do not let one go unhandled meanwhile.
    quotaRun?.catch(() => undefined)

    if (selected("fetch") || selected("list") || selected("startup")) {
      log(`starting the simulator with ${size.listBackfills} backfills`)
      const server = await serve({ apiKey, quotas: "none", seedBackfills: size.listBackfills, latencyMs: 0 })
      const backfillId = server.seededIds[0]
      const requestScenario = async (scenario: "fetch" | "list", count: number, warmup: number) => {
        const serverCpu = new Map<string, Array<number>>(requestClients.map((c) => [c.id, []]))
        const runs = await inRounds(requestClients, rounds, scenario, log, async (client) => {
          const before = await server.stats()
          const measurement = await runClient(
            bundles[client.bundle],
            {
              ...baseJob,
              scenario,
              baseUrl: server.url,
              backfillId,
              count,
              warmup,
              variant: client.variant ?? ""
            },
            600_000,
            profileFor(client, scenario)
          )
          const after = await server.stats()
          if (scenario === "list" && measurement.ops !== size.listBackfills) {
            throw new Error(`${client.label} listed ${measurement.ops} of ${size.listBackfills} backfills`)
          }
          const cpu = after.cpuUserMicros + after.cpuSystemMicros - before.cpuUserMicros - before.cpuSystemMicros
          // The server served the untimed warm-up too: requests for fetch, whole passes for list.
          serverCpu.get(client.id)!.push(
            cpu / (measurement.ops * (scenario === "fetch" ? 1 + warmup / count : 1 + warmup))
          )
          return measurement
        })
        results.push({
          scenario,
          title: scenario === "fetch"
            ? `${count.toLocaleString("en-US")} sequential fetches of one backfill`
            : `${count.toLocaleString("en-US")} backfills listed at limit 100`,
          unit: scenario === "fetch" ? "request" : "backfill",
          ops: count,
          clients: requestClients.map((c) => summarise(c, runs.get(c.id)!, serverCpu.get(c.id)!)),
          rawId: "raw-undici",
          orbId: "orb-billing"
        })
      }
      if (selected("fetch")) await requestScenario("fetch", size.fetch, size.fetchWarmup)
      // One untimed pass first: a pass is only `listBackfills / 100` requests, too few for the JIT to warm up, and the
      // steady cost per backfill is what a client costs; startup has a scenario of its own.
      if (selected("list")) await requestScenario("list", size.listBackfills, 1)

      if (selected("startup")) {
        startup = []
        const [built, cli] = await Promise.all([
          Promise.all(startupPrograms.map((program) => buildStartup(bundleDir, program))),
          buildCli(bundleDir)
        ])
        const programs = [
          ...startupPrograms.map((program, i) => ({
            ...program,
            ...built[i],
            run: () => runStartup(built[i].file, [server.url, apiKey, backfillId])
          })),
          ...cliPrograms.map((program) => ({
            ...program,
            ...cli,
            run: () => runCli(cli.file, program.args, program.served ? { url: server.url, apiKey } : undefined)
          }))
        ]
        const runsOf = programs.map(() => [] as Array<StartupResult["runs"][number]>)
        for (let round = 0; round < size.startupRounds; round++) {
          for (const i of rotate(programs.map((_, j) => j), round)) {
            log(`startup: round ${round + 1}/${size.startupRounds}, ${programs[i].label}`)
            runsOf[i].push(await programs[i].run())
          }
        }
        programs.forEach((program, i) => {
          const runs = runsOf[i]
          startup!.push({
            id: program.id,
            label: program.label,
            bundleBytes: program.bytes,
            bundleGzipBytes: program.gzipBytes,
            runs,
            median: {
              importedMs: median(runs.map((r) => r.importedMs)),
              firstRequestMs: median(runs.map((r) => r.firstRequestMs)),
              wallMs: median(runs.map((r) => r.wallMs))
            }
          })
        })
      }
      await stopServer(server)
    }

    if (selected("ingest")) {
      const ingest = async (count: number, ingestRounds: number, latencyMs: number) => {
        const file = Path.join(tmp, `events-${count}.ndjson`)
        if (!existsSync(file)) {
          log(`ingest: writing ${count} events`)
          await writeEvents(file, count, range.start)
        }
        const name = latencyMs > 0 ? `ingest ${count} +${latencyMs} ms` : `ingest ${count}`
        const serverCpu = new Map<string, Array<number>>(ingestClients.map((c) => [c.id, []]))
        const runs = await inRounds(ingestClients, ingestRounds, name, log, async (client) => {
          // A fresh server for every run: each client meets the same empty simulator.
          const server = await serve({ apiKey, quotas: "none", seedBackfills: 0, latencyMs })
          const backfillId = await createBackfill(server.url, range)
          const before = await server.stats()
          const measurement = await runClient(
            bundles[client.bundle],
            {
              ...baseJob,
              scenario: "ingest",
              baseUrl: server.url,
              backfillId,
              count,
              file,
              concurrency: client.concurrency ?? 1,
              variant: client.variant ?? ""
            },
            Math.max(120_000, count * 2),
            profileFor(client, name.replace(/[ +]+/g, "-"))
          )
          const after = await server.stats()
          await stopServer(server)
          if (measurement.ops !== count) throw new Error(`${client.label} ingested ${measurement.ops} of ${count}`)
          const cpu = after.cpuUserMicros + after.cpuSystemMicros - before.cpuUserMicros - before.cpuSystemMicros
          serverCpu.get(client.id)!.push(cpu / count)
          return measurement
        })
        results.push({
          scenario: "ingest",
          title: `${count.toLocaleString("en-US")} events from NDJSON into one backfill${
            latencyMs > 0 ? `, ${latencyMs} ms added to every response` : ""
          }`,
          unit: "event",
          ops: count,
          latencyMs,
          clients: ingestClients.map((c) => summarise(c, runs.get(c.id)!, serverCpu.get(c.id)!)),
          rawId: "raw-undici",
          orbId: "orb-billing-loop"
        })
      }
      for (const [i, count] of size.ingest.entries()) await ingest(count, options.rounds ?? size.ingestRounds[i], 0)
      await ingest(size.ingestLatency.events, options.rounds ?? size.ingestLatency.rounds, size.ingestLatency.latencyMs)
    }

    if (selected("decode")) {
      const runs = await inRounds(decodeClients, rounds, "decode", log, (client) =>
        runClient(
          bundles.decode,
          {
            ...baseJob,
            scenario: "decode",
            baseUrl: "",
            backfillId: "",
            count: size.decode,
            warmup: Math.min(size.decode, 2_000),
            variant: client.variant ?? ""
          },
          300_000,
          profileFor(client, "decode")
        ))
      results.push({
        scenario: "decode",
        title: `${size.decode.toLocaleString("en-US")} wire backfills decoded`,
        unit: "object",
        ops: size.decode,
        clients: decodeClients.map((c) => summarise(c, runs.get(c.id)!)),
        rawId: "json-parse",
        orbId: "json-parse"
      })
    }

    if (selected("overhead")) {
      const runs = await inRounds(overheadClients, rounds, "overhead", log, (client) =>
        runClient(
          bundles.overhead,
          {
            ...baseJob,
            scenario: "fetch",
            baseUrl: "",
            backfillId: "",
            count: size.overhead,
            warmup: Math.min(size.overhead, 2_000),
            variant: client.variant ?? ""
          },
          300_000,
          profileFor(client, "overhead")
        ))
      results.push({
        scenario: "overhead",
        title: `${size.overhead.toLocaleString("en-US")} fetches against an in-process HttpClient (no socket)`,
        unit: "request",
        ops: size.overhead,
        clients: overheadClients.map((c) => summarise(c, runs.get(c.id)!)),
        rawId: "stub",
        orbId: "ours"
      })
    }

    if (selected("durable")) {
      durable = await durableScenario({
        bundle: bundles.durable,
        tmp,
        size,
        rounds: options.rounds ?? size.durable.rounds,
        range,
        serve,
        stopServer,
        log,
        profileFor
      })
    }

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
    durationMs: performance.now() - began
  }
}
