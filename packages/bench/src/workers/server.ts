/**
 * The simulator's HTTP server in a process of its own, on loopback, with quotas and faults off (or Orb's
 * live-mode quotas for the quota scenario). Talks to the harness over IPC: `ready` once listening, `stats`
 * when asked.
 */
import { OrbSimulator } from "@effect-orb/simulator"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { ServerConfig, ServerMessage, ServerStats, StatsRequest } from "../Protocol.js"

const config = JSON.parse(process.argv[2] ?? "{}") as ServerConfig
// Under the harness, messages go over IPC; run by hand (to profile a client), the server prints them.
const send = (message: ServerMessage) =>
  process.send === undefined ? process.stdout.write(`${JSON.stringify(message)}\n`) : process.send(message)

const hour = 3_600_000

const program = Effect.gen(function*() {
  // The request log would hold every ingest body of a run (about 190 MB for a million events): keep bodies only
  // for the quota scenario, whose stats count the events of its few hundred requests.
  const options = {
    apiKey: config.apiKey,
    ...(config.quotas === "live"
      ? {
        quotas: config.quotaScale === undefined || config.quotaScale === 1
          ? "live" as const
          : Object.fromEntries(
            Object.entries(OrbSimulator.liveQuotas).map(([name, limit]) => [name, limit * config.quotaScale!])
          )
      }
      : { recordRequests: "metadata" as const })
  }
  // The simulator's own latency option delays every response (a network's round trip); 0 adds nothing.
  const server = yield* OrbSimulator.serve({ port: 0, latency: Duration.millis(config.latencyMs), ...options })
  const simulator = server.simulator
  const headers = { authorization: `Bearer ${config.apiKey}`, "content-type": "application/json" }
  // One-hour backfills, back to back, ending well before now: none overlaps another. Seeding goes through
  // `handle`, which waits the latency like any request: the harness seeds only servers without one.
  const firstStart = Math.floor(Date.now() / hour) * hour - (config.seedBackfills + 48) * hour
  const seededIds: Array<string> = []
  for (let i = 0; i < config.seedBackfills; i++) {
    const outcome = yield* simulator.handle({
      method: "POST",
      url: "/v1/events/backfills",
      headers,
      body: JSON.stringify({
        timeframe_start: new Date(firstStart + i * hour).toISOString(),
        timeframe_end: new Date(firstStart + (i + 1) * hour).toISOString(),
        replace_existing_events: false
      })
    })
    if (outcome._tag !== "Respond" || outcome.status !== 200) {
      return yield* Effect.dieMessage(`seeding failed: ${JSON.stringify(outcome)}`)
    }
    seededIds.push(JSON.parse(outcome.body).id)
  }
  process.on("message", (message: StatsRequest) => {
    if (message?.type !== "stats") return
    const cpu = process.cpuUsage()
    Effect.runPromise(simulator.requests).then((requests) => {
      const byStatus: Record<string, number> = {}
      let ingestAccepted = 0
      let ingestEventsAccepted = 0
      let ingestLastBatchEvents = 0
      let ingestRequests = 0
      let ingest429 = 0
      let ingestFirstAt = 0
      let ingestLastAt = 0
      let sinceRequests = 0
      let sinceFirstAt = 0
      for (const request of requests) {
        const status = String(request.status ?? "dropped")
        byStatus[status] = (byStatus[status] ?? 0) + 1
        if (!request.url.startsWith("/v1/ingest")) continue
        ingestRequests++
        if (message.since !== undefined && request.at.epochMillis >= message.since) {
          // The log is in order of answers; the time is each request's arrival.
          if (sinceRequests === 0 || request.at.epochMillis < sinceFirstAt) sinceFirstAt = request.at.epochMillis
          sinceRequests++
        }
        if (request.status === 429) ingest429++
        if (request.status === 200) {
          // Counting events means parsing every body: only when asked (the quota scenario's few hundred).
          const events = message.detail === true
            ? (JSON.parse(request.body) as { events: Array<unknown> }).events.length
            : 0
          const at = request.at.epochMillis
          if (ingestAccepted === 0) ingestFirstAt = at
          ingestAccepted++
          ingestEventsAccepted += events
          ingestLastBatchEvents = events
          ingestLastAt = at
        }
      }
      const stats: ServerStats = {
        requests: requests.length,
        byStatus,
        ingestRequests,
        ingest429,
        ingestAccepted,
        ingestEventsAccepted,
        ingestLastBatchEvents,
        ingestFirstAt,
        ingestLastAt,
        cpuUserMicros: cpu.user,
        cpuSystemMicros: cpu.system,
        maxRssKb: process.resourceUsage().maxRSS,
        ...(message.since !== undefined ? { ingestSince: { requests: sinceRequests, firstAt: sinceFirstAt } } : {})
      }
      send({ type: "stats", stats })
    })
  })
  process.on("disconnect", () => process.exit(0))
  if (process.send === undefined) process.on("SIGINT", () => process.exit(0))
  send({ type: "ready", url: server.url, seededIds })
  return yield* Effect.never
})

Effect.runPromise(Effect.scoped(program)).catch((error) => {
  process.stderr.write(`${String(error)}\n`)
  process.exit(1)
})
