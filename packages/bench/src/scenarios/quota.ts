/**
 * The quota scenario: ours ingesting at Orb's live-mode quota (10,000 events a minute), on a server of its own
 * that enforces it: how close to the quota the events go in, and how many requests were answered 429.
 */
import * as Path from "node:path"
import type { Context } from "../harness/context.js"
import { createBackfill, writeEvents } from "../harness/data.js"
import { runClient } from "../harness/processes.js"
import type { QuotaResult } from "../harness/results.js"
import { apiKey, baseJob } from "../harness/settings.js"

export const quotaScenario = async (context: Context): Promise<QuotaResult> => {
  const { bundles, log, range, serve, size, stopServer, tmp } = context
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
}
