/**
 * The inputs scenario: the check pass (`orb-backfill run --dry-run`, the command line's bundle as a real process,
 * against the in-process simulator: nothing is sent) over the same events as plain NDJSON, gzip NDJSON, CSV and
 * Parquet; wall time and the child's peak RSS for each, and the ratio to plain NDJSON. The targets (issue 19):
 * within 1.5x of plain NDJSON, under 200 MB each.
 */
import { fileWriter, ParquetWriter, schemaFromColumnData } from "hyparquet-writer"
import { spawn } from "node:child_process"
import { createReadStream, createWriteStream, statSync, writeFileSync } from "node:fs"
import * as Path from "node:path"
import * as readline from "node:readline"
import { pipeline } from "node:stream/promises"
import * as zlib from "node:zlib"
import type { Context } from "../harness/context.js"
import { writeEvents } from "../harness/data.js"
import { buildCli } from "../harness/processes.js"
import { median } from "../harness/results.js"

export interface InputsResult {
  readonly events: number
  readonly rounds: number
  readonly formats: ReadonlyArray<{
    readonly format: string
    readonly bytes: number
    /** Medians over the rounds. */
    readonly wallMs: number
    readonly maxRssMb: number
    readonly wallRatio: number
    readonly rssRatio: number
  }>
}

interface WireEvent {
  readonly event_name: string
  readonly timestamp: string
  readonly properties: { readonly region: string; readonly bytes: number; readonly cached: boolean }
  readonly idempotency_key: string
  readonly external_customer_id: string
}

/** Reads the NDJSON file's events in batches of `size`. */
async function* batches(file: string, size: number): AsyncGenerator<Array<WireEvent>> {
  let batch: Array<WireEvent> = []
  for await (const line of readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line.length === 0) continue
    batch.push(JSON.parse(line) as WireEvent)
    if (batch.length === size) {
      yield batch
      batch = []
    }
  }
  if (batch.length > 0) yield batch
}

const writeCsv = async (ndjson: string, csv: string) => {
  const out = createWriteStream(csv)
  out.write("event_name,timestamp,external_customer_id,idempotency_key,region,bytes,cached\n")
  for await (const batch of batches(ndjson, 10_000)) {
    const text = batch.map((e) =>
      `${e.event_name},${e.timestamp},${e.external_customer_id},${e.idempotency_key},${e.properties.region},${e.properties.bytes},${e.properties.cached}`
    ).join("\n") + "\n"
    if (!out.write(text)) {
      await new Promise<void>((resolve) =>
        out.once("drain", () => resolve())
      )
    }
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => error ? reject(error) : resolve()))
}

/** Parquet as a warehouse writes it: typed columns (a timestamp, an integer, a boolean), row groups of 100,000. */
const writeParquet = async (ndjson: string, parquet: string) => {
  const rowGroupSize = 100_000
  let writer: ParquetWriter | undefined
  for await (const batch of batches(ndjson, rowGroupSize)) {
    const columnData = [
      { name: "event_name", data: batch.map((e) => e.event_name), type: "STRING" as const },
      { name: "timestamp", data: batch.map((e) => new Date(e.timestamp)), type: "TIMESTAMP" as const },
      { name: "external_customer_id", data: batch.map((e) => e.external_customer_id), type: "STRING" as const },
      { name: "idempotency_key", data: batch.map((e) => e.idempotency_key), type: "STRING" as const },
      { name: "region", data: batch.map((e) => e.properties.region), type: "STRING" as const },
      { name: "bytes", data: Int32Array.from(batch.map((e) => e.properties.bytes)), type: "INT32" as const },
      { name: "cached", data: batch.map((e) => e.properties.cached), type: "BOOLEAN" as const }
    ]
    writer ??= new ParquetWriter({ writer: fileWriter(parquet), schema: schemaFromColumnData({ columnData }) })
    writer.write({ columnData: columnData.map(({ data, name }) => ({ name, data })), rowGroupSize })
  }
  writer?.finish()
}

/** Runs the command line to its exit; its wall time, and its peak RSS as the child itself reports it at exit. */
const checkPass = (cli: string, preload: string, args: ReadonlyArray<string>) =>
  new Promise<{ wallMs: number; maxRssMb: number }>((resolve, reject) => {
    const env = { ...process.env }
    delete env.ORB_API_KEY
    delete env.ORB_BASE_URL
    const started = performance.now()
    const child = spawn(process.execPath, ["--import", preload, cli, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env
    })
    let stderr = ""
    child.stdout.resume()
    child.stderr.on("data", (chunk) => stderr += String(chunk))
    child.once("exit", (code) => {
      const wallMs = performance.now() - started
      const rss = stderr.match(/bench-max-rss-kb (\d+)/)
      if (code !== 0 || rss === null) {
        return reject(new Error(`orb-backfill ${args.join(" ")}: exit ${code}\n${stderr.slice(-2_000)}`))
      }
      resolve({ wallMs, maxRssMb: Number(rss[1]) / 1024 })
    })
  })

export const inputsScenario = async (context: Context): Promise<InputsResult> => {
  const { events, rounds: ownRounds } = context.size.inputs
  const rounds = context.rounds(ownRounds)
  const dir = context.tmp
  const ndjson = Path.join(dir, "inputs.ndjson")
  const files: ReadonlyArray<readonly [format: string, file: string]> = [
    ["ndjson", ndjson],
    ["ndjson.gz", Path.join(dir, "inputs.ndjson.gz")],
    ["csv", Path.join(dir, "inputs.csv")],
    ["parquet", Path.join(dir, "inputs.parquet")]
  ]
  context.log(`inputs: writing ${events.toLocaleString("en-US")} events as NDJSON, gzip NDJSON, CSV and Parquet`)
  await writeEvents(ndjson, events, context.range.start)
  await pipeline(createReadStream(ndjson), zlib.createGzip(), createWriteStream(files[1][1]))
  await writeCsv(ndjson, files[2][1])
  await writeParquet(ndjson, files[3][1])
  const cli = await buildCli(context.bundleDir)
  // The child reports its own peak RSS as it exits (getrusage's ru_maxrss, in KiB on Linux).
  const preload = Path.join(dir, "max-rss.mjs")
  writeFileSync(
    preload,
    "import { writeSync } from \"node:fs\"\n" +
      "process.on(\"exit\", () => writeSync(2, `bench-max-rss-kb ${process.resourceUsage().maxRSS}\\n`))\n"
  )
  const timeframe = [
    "--start",
    new Date(context.range.start).toISOString(),
    "--end",
    new Date(context.range.end).toISOString()
  ]
  const runs = new Map<string, Array<{ wallMs: number; maxRssMb: number }>>(files.map(([format]) => [format, []]))
  // Formats in alternation, round after round: a slow minute on the shared machine falls on all of them.
  for (let round = 0; round < rounds; round++) {
    for (const [format, file] of files) {
      const run = await checkPass(cli.file, preload, ["run", "--file", file, ...timeframe, "--add", "--dry-run"])
      context.log(
        `inputs ${format} round ${round + 1}: ${(run.wallMs / 1000).toFixed(2)} s, ${run.maxRssMb.toFixed(0)} MB`
      )
      runs.get(format)!.push(run)
    }
  }
  const medians = files.map(([format, file]) => ({
    format,
    bytes: statSync(file).size,
    wallMs: median(runs.get(format)!.map((r) => r.wallMs)),
    maxRssMb: median(runs.get(format)!.map((r) => r.maxRssMb))
  }))
  const base = medians[0]
  return {
    events,
    rounds,
    formats: medians.map((m) => ({ ...m, wallRatio: m.wallMs / base.wallMs, rssRatio: m.maxRssMb / base.maxRssMb }))
  }
}
