/**
 * What the budget tests share: events of a run (each run in a week of its own, as Orb refuses overlapping pending
 * backfills), and the account's ingest traffic as the simulator's request log shows it.
 */
import type { OrbSimulator } from "@effect-orb/simulator"
import * as DateTime from "effect/DateTime"

export const apiKey = "sk-budget-test"
const day = 86_400_000
const october = Date.parse("2026-10-01T00:00:00Z")

/** The week of run `run`. */
export const weekOf = (run: number) => ({
  timeframeStart: DateTime.unsafeMake(october + run * 7 * day),
  timeframeEnd: DateTime.unsafeMake(october + (run + 1) * 7 * day)
})

export const eventOf = (run: number, i: number) => ({
  event_name: "api_call",
  timestamp: new Date(october + run * 7 * day + i * 60_000).toISOString(),
  external_customer_id: `customer-${i % 3}`,
  idempotency_key: `budget-${run}-${i}`,
  properties: { units: i % 7 }
})

export const linesOf = (run: number, count: number) =>
  Array.from({ length: count }, (_, i) => JSON.stringify(eventOf(run, i))).join("\n") + "\n"

/**
 * The ingest requests the simulator received: how many, how many it answered 429, and the rate of admitted requests from the first to the last (per second).
 */
export const ingestTraffic = (requests: ReadonlyArray<OrbSimulator.RequestRecord>) => {
  const ingests = requests.filter((r) => r.method === "POST" && r.url.startsWith("/v1/ingest"))
  const admitted = ingests.filter((r) => r.status !== 429)
  const first = admitted.length > 0 ? DateTime.toEpochMillis(admitted[0].at) : 0
  const last = admitted.length > 0 ? DateTime.toEpochMillis(admitted[admitted.length - 1].at) : 0
  return {
    requests: ingests.length,
    answered429: ingests.length - admitted.length,
    /** Admitted requests a second, between the first and the last (the last not counted: it ends the span). */
    perSecond: last > first ? ((admitted.length - 1) / (last - first)) * 1000 : Number.NaN
  }
}

/**
 * The runs' requests per second, against the simulator's 10: its windows are of one second, of which the pace's
 * margin (1%) leaves 10 ms to the jitter of requests' arrival on a loaded machine. These tests are of the sharing,
 * not of that margin: without the budget, runs at 9 each still go well over 10 together (seen: 14 of 74 requests
 * answered 429 in one process, 7 of 67 across two on one SQLite file, against at most 1 with it), and a straggler
 * of a busy machine may still meet a 429 or two with it.
 */
export const runRps = 9
