/**
 * Rate limits (fixed windows on the clock) and fault decisions (a seeded draw per request), kept apart from
 * the handler so that they apply the same way to every endpoint.
 */
import type * as OrbSimulator from "../OrbSimulator.js"
import * as Random from "./random.js"

export type Category = "read" | "write" | "ingest"

interface Window {
  start: number
  count: number
}

/**
 * Admits a request or says how many seconds to wait (the `Retry-After`). A refused request does not
 * count against the limits.
 */
export class Limiter {
  private readonly windows = new Map<string, Window>()

  constructor(public quotas: OrbSimulator.Quotas | undefined) {}

  /** `events` counts an ingest request's events, asked only when an events quota applies (it parses the body). */
  admit(category: Category, events: () => number, now: number): number | undefined {
    const quotas = this.quotas
    if (quotas === undefined) return undefined
    const checks: Array<{ name: string; limit: number | undefined; length: number; cost: number }> = [
      {
        name: category,
        limit: category === "read"
          ? quotas.readsPerSecond
          : category === "write"
          ? quotas.writesPerSecond
          : quotas.ingestRequestsPerSecond,
        length: 1000,
        cost: 1
      }
    ]
    if (category === "ingest" && quotas.ingestEventsPerMinute !== undefined) {
      checks.push({ name: "ingest-events", limit: quotas.ingestEventsPerMinute, length: 60_000, cost: events() })
    }
    let wait: number | undefined
    for (const check of checks) {
      if (check.limit === undefined) continue
      const window = this.window(check.name, check.length, now)
      if (window.count + check.cost > check.limit) {
        const seconds = Math.max(1, Math.ceil((window.start + check.length - now) / 1000))
        wait = Math.max(wait ?? 0, seconds)
      }
    }
    if (wait !== undefined) return wait
    for (const check of checks) {
      if (check.limit !== undefined) this.window(check.name, check.length, now).count += check.cost
    }
    return undefined
  }

  reset(): void {
    this.windows.clear()
  }

  private window(name: string, length: number, now: number): Window {
    const start = now - (now % length)
    let window = this.windows.get(name)
    if (window === undefined || window.start !== start) {
      window = { start, count: 0 }
      this.windows.set(name, window)
    }
    return window
  }
}

export const faultKinds: ReadonlyArray<OrbSimulator.FaultKind> = [
  "internal-error",
  "unavailable",
  "too-many-requests",
  "conflict",
  "drop",
  "delay"
]

/**
 * Picks the fault (if any) for each request: scripted faults first, in order, then a seeded draw.
 */
export class Faults {
  private random: Random.Random
  private readonly scripted: Array<OrbSimulator.Fault> = []

  constructor(public faults: OrbSimulator.Faults | undefined, private readonly seed: number) {
    this.random = Random.make(seed ^ 0x5bd1e995)
  }

  inject(faults: ReadonlyArray<OrbSimulator.Fault>): void {
    for (const fault of faults) this.scripted.push(fault)
  }

  /** No random faults, and none queued. */
  clear(): void {
    this.faults = undefined
    this.scripted.length = 0
  }

  next(): OrbSimulator.Fault | undefined {
    const scripted = this.scripted.shift()
    if (scripted !== undefined) return scripted
    const faults = this.faults
    if (faults === undefined || faults.rate <= 0) return undefined
    // Draw the same number of values per request whatever the outcome, so one seed gives one sequence.
    const hit = this.random.next() < faults.rate
    const kindDraw = this.random.next()
    const timingDraw = this.random.next()
    if (!hit) return undefined
    const kinds = faults.kinds !== undefined && faults.kinds.length > 0 ? faults.kinds : faultKinds
    const kind = kinds[Math.floor(kindDraw * kinds.length)]
    const timing = faults.timing === "before" || faults.timing === "after"
      ? faults.timing
      : timingDraw < 0.5
      ? "before"
      : "after"
    return faults.delay === undefined ? { kind, timing } : { kind, timing, delay: faults.delay }
  }

  reset(faults: OrbSimulator.Faults | undefined): void {
    this.faults = faults
    this.scripted.length = 0
    this.random = Random.make(this.seed ^ 0x5bd1e995)
  }
}
