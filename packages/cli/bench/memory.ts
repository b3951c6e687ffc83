/**
 * Peak memory of `orb-backfill run` over a file of a million lines (or `--lines N`): the CLI reads its input in
 * constant memory, so the peak resident set size should not grow with the file.
 *
 *   npx tsx packages/cli/bench/memory.ts                  # validation pass only (--dry-run), 1,000,000 lines
 *   npx tsx packages/cli/bench/memory.ts --full           # the whole run, against `orb-backfill simulate` in a
 *                                                         # child process (so its stored events do not count)
 *   npx tsx packages/cli/bench/memory.ts --lines 100000   # any size, to compare peaks
 *
 * Not part of the test suite: it takes from a few seconds (dry run) to minutes (full run).
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { parseArgs } from "node:util"
import * as Backend from "../src/Backend.js"
import * as Cli from "../src/Cli.js"
import * as Output from "../src/Output.js"

const { values } = parseArgs({
  options: { lines: { type: "string", default: "1000000" }, full: { type: "boolean", default: false } }
})
const lines = Number(values.lines)
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`

const write = async (file: string) => {
  const out = fs.createWriteStream(file)
  const start = Date.parse("2026-10-01T00:00:00Z")
  for (let i = 0; i < lines; i++) {
    const line = JSON.stringify({
      event_name: "api_call",
      timestamp: new Date(start + (i % 600_000) * 1000).toISOString(),
      external_customer_id: `customer-${i % 25}`,
      idempotency_key: `bench-${i}`,
      properties: { units: i % 7, region: i % 2 === 0 ? "eu" : "us", endpoint: "/v1/search" }
    })
    if (!out.write(`${line}\n`)) await new Promise<void>((resolve) => out.once("drain", () => resolve()))
  }
  await new Promise<void>((resolve) => out.end(() => resolve()))
}

const startSimulator = () =>
  new Promise<{ url: string; stop: () => void }>((resolve, reject) => {
    const bin = path.join(import.meta.dirname, "../src/bin.ts")
    const child = spawn(process.execPath, ["--import", "tsx", bin, "simulate", "--port", "0", "--api-key", "bench"], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (chunk) => {
      out += String(chunk)
      const match = /^(http:\/\/127\.0\.0\.1:\d+\/v1)$/m.exec(out)
      if (match) resolve({ url: match[1], stop: () => child.kill("SIGINT") })
    })
    child.on("exit", (code) => reject(new Error(`the simulator exited with ${code}`)))
  })

const main = async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "orb-backfill-bench-"))
  const file = path.join(dir, "events.ndjson")
  let written = Date.now()
  await write(file)
  written = Date.now() - written
  console.log(`wrote ${lines.toLocaleString("en-US")} lines (${mb(fs.statSync(file).size)}) in ${written} ms`)

  const simulator = values.full ? await startSimulator() : undefined
  if (simulator) {
    process.env.ORB_API_KEY = "bench"
    process.env.ORB_BASE_URL = simulator.url
  }
  globalThis.gc?.()
  const baseline = process.memoryUsage().rss
  let peak = baseline
  let peakHeap = 0
  const sampler = setInterval(() => {
    const usage = process.memoryUsage()
    peak = Math.max(peak, usage.rss)
    peakHeap = Math.max(peakHeap, usage.heapUsed)
  }, 50)

  const memory = Output.memory()
  const args = [
    "run",
    "--file",
    file,
    "--start",
    "2026-10-01T00:00:00Z",
    "--end",
    "2026-10-08T00:00:00Z",
    "--add",
    ...(values.full
      ? ["--no-wait", "--events-per-minute", "100000000", "--requests-per-second", "100000"]
      : ["--dry-run"])
  ]
  const started = Date.now()
  const backend = values.full ? Backend.layerOrb : Backend.layerSimulator()
  const code = await Effect.runPromise(
    Cli.run(args).pipe(
      Effect.provide(Layer.mergeAll(backend, NodeContext.layer, Layer.succeed(Output.Output, memory.output))),
      Effect.orDie
    )
  )
  const elapsed = Date.now() - started
  clearInterval(sampler)
  simulator?.stop()
  fs.rmSync(dir, { recursive: true, force: true })

  console.log(memory.stdout().trim())
  if (code !== 0) console.log(memory.stderr().trim())
  console.log(
    `${values.full ? "full run" : "dry run"}: exit ${code} in ${(elapsed / 1000).toFixed(1)} s ` +
      `(${Math.round(lines / (elapsed / 1000)).toLocaleString("en-US")} lines/s)`
  )
  console.log(
    `rss: baseline ${mb(baseline)}, peak ${mb(peak)} (+${mb(peak - baseline)}); peak heap used ${mb(peakHeap)}`
  )
  process.exit(code)
}

main()
