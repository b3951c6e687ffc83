/**
 * The ingest scenario: events from an NDJSON file into one backfill, every ingest client of `ingestClients`, at
 * each of the mode's sizes (peak RSS is compared across them), then once more with a delay added to every
 * response, as a network between client and Orb adds. Each run meets a fresh, empty server.
 */
import { existsSync } from "node:fs"
import * as Path from "node:path"
import { ingestClients } from "../harness/clients.js"
import type { Context } from "../harness/context.js"
import { createBackfill, writeEvents } from "../harness/data.js"
import { runClient, serverCpuMicros } from "../harness/processes.js"
import type { ScenarioResult } from "../harness/results.js"
import { summarise } from "../harness/results.js"
import { inRounds } from "../harness/rounds.js"
import { apiKey, baseJob } from "../harness/settings.js"

/** One table per size, in the mode's order, the one with latency last. */
export const ingestScenario = async (context: Context): Promise<ReadonlyArray<ScenarioResult>> => {
  const { size } = context
  const results: Array<ScenarioResult> = []
  for (const [i, count] of size.ingest.entries()) {
    results.push(await ingestOnce(context, count, context.rounds(size.ingestRounds[i]), 0))
  }
  const latency = size.ingestLatency
  results.push(await ingestOnce(context, latency.events, context.rounds(latency.rounds), latency.latencyMs))
  return results
}

const ingestOnce = async (
  context: Context,
  count: number,
  rounds: number,
  latencyMs: number
): Promise<ScenarioResult> => {
  const { bundles, log, profileFor, range, serve, stopServer, tmp } = context
  // The sizes with and without latency may be the same: their file is written once.
  const file = Path.join(tmp, `events-${count}.ndjson`)
  if (!existsSync(file)) {
    log(`ingest: writing ${count} events`)
    await writeEvents(file, count, range.start)
  }
  const name = latencyMs > 0 ? `ingest ${count} +${latencyMs} ms` : `ingest ${count}`
  const serverCpu = new Map<string, Array<number>>(ingestClients.map((c) => [c.id, []]))
  const runs = await inRounds(ingestClients, rounds, name, log, async (client) => {
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
    serverCpu.get(client.id)!.push(serverCpuMicros(before, after) / count)
    return measurement
  })
  return {
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
  }
}
