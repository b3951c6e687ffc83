/**
 * The request scenarios on one seeded server: fetch (one backfill, sequentially) and list (every seeded backfill,
 * 100 a page), every request client of `requestClients`, with the server's CPU per operation beside each.
 */
import { requestClients } from "../harness/clients.js"
import type { Context } from "../harness/context.js"
import type { RunningServer } from "../harness/processes.js"
import { runClient, serverCpuMicros } from "../harness/processes.js"
import type { ScenarioResult } from "../harness/results.js"
import { summarise } from "../harness/results.js"
import { inRounds } from "../harness/rounds.js"
import { baseJob } from "../harness/settings.js"

/** `server` holds `size.listBackfills` seeded backfills; fetch asks for the first of them. */
export const requestScenario = async (
  context: Context,
  server: RunningServer,
  scenario: "fetch" | "list"
): Promise<ScenarioResult> => {
  const { bundles, log, profileFor, size } = context
  const backfillId = server.seededIds[0]
  const count = scenario === "fetch" ? size.fetch : size.listBackfills
  // List: one untimed pass first: a pass is only `listBackfills / 100` requests, too few for the JIT to warm up, and
  // the steady cost per backfill is what a client costs; startup has a scenario of its own.
  const warmup = scenario === "fetch" ? size.fetchWarmup : 1
  const serverCpu = new Map<string, Array<number>>(requestClients.map((c) => [c.id, []]))
  const runs = await inRounds(requestClients, context.rounds(size.rounds), scenario, log, async (client) => {
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
    // The server served the untimed warm-up too: requests for fetch, whole passes for list.
    serverCpu.get(client.id)!.push(
      serverCpuMicros(before, after) / (measurement.ops * (scenario === "fetch" ? 1 + warmup / count : 1 + warmup))
    )
    return measurement
  })
  return {
    scenario,
    title: scenario === "fetch"
      ? `${count.toLocaleString("en-US")} sequential fetches of one backfill`
      : `${count.toLocaleString("en-US")} backfills listed at limit 100`,
    unit: scenario === "fetch" ? "request" : "backfill",
    ops: count,
    clients: requestClients.map((c) => summarise(c, runs.get(c.id)!, serverCpu.get(c.id)!)),
    rawId: "raw-undici",
    orbId: "orb-billing"
  }
}
