/**
 * An A/B of the durable scenario's client across builds, for changes smaller than the VM's swings between `bench`
 * runs (three rounds of `bench --only durable` minutes apart gave 1.14x, 1.36x and 1.53x on 2026-12-07).
 *
 * - `npx tsx packages/bench/src/durableAb.ts build DIR`: this checkout's worker programs, bundled into DIR (run it in
 *   each checkout to compare, a `git worktree` of the commit before, say).
 * - `npx tsx packages/bench/src/durableAb.ts run ROUNDS LABEL=DIR:VARIANT ...`: the clients in alternation, ROUNDS
 *   times (the order turned each round), each round a fresh simulator (from the first DIR) and a fresh client process
 *   with the durable scenario's settings (100,000 events, segments of 5,000, batches of 500, concurrency 4, no quota);
 *   VARIANT is `memory`, `durable`, or `engine-up` (a durable run timed on an engine built before it). Prints each
 *   client's median wall and CPU, and the median of its rounds' ratios to the first client's in the same round. With
 *   `AB_EVENTS=N` set, N events instead of 100,000; with `AB_SEGMENT=N`, segments of N events instead of 5,000 (to
 *   tell a segment's cost from an event's); with `AB_PROFILE=DIR` set, each client process writes a CPU profile into
 *   `DIR/LABEL`.
 */
import { mkdirSync, rmSync } from "node:fs"
import * as Path from "node:path"
import { timeframe, writeEvents } from "./harness/data.js"
import { buildWorkers, runClient, startServer } from "./harness/processes.js"
import { rotate } from "./harness/rounds.js"
import { apiKey } from "./harness/settings.js"
import type { Job } from "./Protocol.js"

/** The durable scenario's 100,000, or `AB_EVENTS`. */
const events = Number(process.env.AB_EVENTS ?? 100_000)

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

const usage = () => {
  console.error(
    "usage: durableAb.ts build DIR | durableAb.ts run ROUNDS LABEL=DIR:memory|durable|engine-up [LABEL=DIR:VARIANT ...]"
  )
  process.exit(2)
}

const run = async (rounds: number, specs: ReadonlyArray<string>) => {
  const clients = specs.map((spec) => {
    const match = /^([^=]+)=(.+):(memory|durable|engine-up)$/.exec(spec)
    if (match === null) return usage()
    return { label: match[1], dir: Path.resolve(match[2]), variant: match[3] }
  })
  const tmp = Path.join(process.env.TMPDIR ?? "/tmp", `effect-orb-durable-ab-${process.pid}`)
  mkdirSync(tmp, { recursive: true })
  const range = timeframe()
  const file = Path.join(tmp, "events.ndjson")
  await writeEvents(file, events, range.start)
  const walls = clients.map(() => [] as Array<number>)
  const cpus = clients.map(() => [] as Array<number>)
  for (let round = 0; round < rounds; round++) {
    // In a turning order, as the bench's rounds go: the first client of a round ran about 4% slower than the same
    // client after it (10 rounds of one client twice: 0.958x), which a fixed order charges to the first client alone.
    for (const i of rotate(clients.map((_, i) => i), round)) {
      const client = clients[i]
      const server = await startServer(Path.join(clients[0].dir, "server.mjs"), {
        apiKey,
        quotas: "none",
        seedBackfills: 0,
        latencyMs: 0
      })
      const state = Path.join(tmp, `state-${round}-${i}`, "state.sqlite")
      mkdirSync(Path.dirname(state), { recursive: true })
      const job: Job = {
        apiKey,
        warmup: 0,
        backfillId: "",
        scenario: "durable",
        concurrency: 4,
        baseUrl: server.url,
        count: events,
        file,
        variant: client.variant,
        durable: {
          state,
          runKey: `ab-${round}-${i}`,
          timeframeStart: new Date(range.start).toISOString(),
          timeframeEnd: new Date(range.end).toISOString(),
          segmentEvents: Number(process.env.AB_SEGMENT ?? 5_000),
          batchSize: 500
        }
      }
      const profiles = process.env.AB_PROFILE === undefined
        ? undefined
        : Path.join(process.env.AB_PROFILE, client.label)
      const measured = await runClient(
        Path.join(client.dir, "durable.mjs"),
        job,
        Math.max(120_000, events * 3),
        profiles
      )
      await server.stop()
      rmSync(Path.dirname(state), { recursive: true, force: true })
      walls[i].push(Math.round(measured.wallMs))
      cpus[i].push(Math.round((measured.cpuUserMicros + measured.cpuSystemMicros) / 1000))
      console.error(`round ${round + 1}/${rounds} ${client.label}: ${walls[i][round]} ms`)
    }
  }
  rmSync(tmp, { recursive: true, force: true })
  console.log(
    `| client | wall ms (median of ${rounds}) | client CPU ms | paired ratio to ${clients[0].label} | rounds |`
  )
  console.log("|---|---:|---:|---:|---|")
  for (const [i, client] of clients.entries()) {
    const ratio = median(walls[i].map((wall, round) => wall / walls[0][round]))
    console.log(
      `| ${client.label} | ${median(walls[i])} | ${median(cpus[i])} | ${ratio.toFixed(3)}x | ${walls[i].join(", ")} |`
    )
  }
}

const [command, ...rest] = process.argv.slice(2)
if (command === "build" && rest.length === 1) {
  await buildWorkers(Path.resolve(rest[0]))
} else if (command === "run" && rest.length >= 2 && Number(rest[0]) > 0) {
  await run(Number(rest[0]), rest.slice(1))
} else {
  usage()
}
process.exit(0)
