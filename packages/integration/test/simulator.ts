import type { Backfill } from "@effect-orb/backfills"
import { Backfills, OrbClient } from "@effect-orb/backfills"
/**
 * The library over the simulator's test layer, as users test their own code, with helpers to drive the
 * TestClock until a forked program ends.
 */
import { OrbSimulator } from "@effect-orb/simulator"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"

/** The tests' "now": 2026-11-01T00:00:00Z, a month after the timeframe below. */
export const now = Date.parse("2026-11-01T00:00:00Z")

export const timeframe = {
  timeframeStart: DateTime.unsafeMake("2026-10-01T00:00:00Z"),
  timeframeEnd: DateTime.unsafeMake("2026-10-08T00:00:00Z")
}

export const withSimulator = (options: OrbSimulator.Options = {}) =>
  Backfills.layer.pipe(
    Layer.provideMerge(OrbClient.layer({ apiKey: Redacted.make("sk-sim"), baseUrl: "http://127.0.0.1/v1" })),
    Layer.provideMerge(OrbSimulator.layer({ apiKey: "sk-sim", reflectionDelay: "30 seconds", ...options })),
    Layer.orDie
  )

/** The n-th event of a deterministic sample: a minute apart, spread over three customers. */
export const sampleEvent = (i: number, overrides: Partial<Backfill.IngestEvent> = {}): Backfill.IngestEvent => ({
  eventName: "api_call",
  timestamp: DateTime.unsafeMake(timeframe.timeframeStart.epochMillis + (i % 10_000) * 60_000 + Math.floor(i / 10_000)),
  properties: { units: i % 7, region: i % 2 === 0 ? "eu" : "us" },
  externalCustomerId: `customer-${i % 3}`,
  idempotencyKey: `event-${i}`,
  ...overrides
})

export const driveClock = OrbSimulator.drive

export const setNow = TestClock.setTime(now)

/**
 * Wraps a stream to measure how far ahead of what Orb accepted it is pulled: `maxAhead` after the run is
 * the most events read but not yet accepted at any time. Feed `accepted` from the progress callback.
 */
export const trackPulls = <A, E, R>(stream: Stream.Stream<A, E, R>) => {
  const tracker = { pulled: 0, accepted: 0, maxAhead: 0 }
  const tracked = stream.pipe(Stream.tap(() =>
    Effect.sync(() => {
      tracker.pulled++
      tracker.maxAhead = Math.max(tracker.maxAhead, tracker.pulled - tracker.accepted)
    })
  ))
  return { tracker, stream: tracked }
}

/** The most events a run may have read ahead: `concurrency` batches in flight, one filling, and a chunk. */
export const maxReadAhead = (concurrency: number, batchSize = 500) => (concurrency + 2) * batchSize + 4_096
