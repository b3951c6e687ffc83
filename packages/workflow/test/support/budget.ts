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
 * The ingest requests the simulator received: how many, how many it answered 429, the most it admitted in one of its
 * one-second windows, and the rate of admitted requests from the first to the last (per second).
 */
export const ingestTraffic = (requests: ReadonlyArray<OrbSimulator.RequestRecord>) => {
  const ingests = requests.filter((r) => r.method === "POST" && r.url.startsWith("/v1/ingest"))
  const admitted = ingests.filter((r) => r.status !== 429)
  const perSecond = new Map<number, number>()
  for (const r of admitted) {
    const second = Math.floor(DateTime.toEpochMillis(r.at) / 1000)
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1)
  }
  const first = admitted.length > 0 ? DateTime.toEpochMillis(admitted[0].at) : 0
  const last = admitted.length > 0 ? DateTime.toEpochMillis(admitted[admitted.length - 1].at) : 0
  return {
    requests: ingests.length,
    answered429: ingests.length - admitted.length,
    mostInOneSecond: Math.max(0, ...perSecond.values()),
    /** Admitted requests a second, between the first and the last (the last not counted: it ends the span). */
    perSecond: last > first ? ((admitted.length - 1) / (last - first)) * 1000 : Number.NaN
  }
}
