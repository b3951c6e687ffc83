import type { OrbError } from "@effect-orb/backfills"
import { Backfill, Backfills } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { driveClock, maxReadAhead, sampleEvent, setNow, timeframe, trackPulls, withSimulator } from "./simulator.js"

type Wire = typeof Backfill.IngestEvent.Encoded

/**
 * The n-th sample event as a line of an NDJSON file holds it, parsed: snake_case, an ISO timestamp (every third
 * with an offset), every fourth without a key (derived), every fifth with an explicit null customer key.
 */
const wireEvent = (i: number): Wire => {
  const event = sampleEvent(i)
  const at = new Date(event.timestamp.epochMillis).toISOString()
  return JSON.parse(JSON.stringify({
    event_name: event.eventName,
    timestamp: i % 3 === 0 ? at.replace("Z", "+00:00") : at,
    properties: event.properties,
    ...(i % 4 === 0 ? {} : { idempotency_key: event.idempotencyKey }),
    ...(i % 5 === 0 ? { customer_id: null } : {}),
    external_customer_id: event.externalCustomerId
  }))
}

const wireEvents = (count: number) => Stream.range(0, count - 1).pipe(Stream.map(wireEvent))

/** The same events, decoded, as users of `ingestStream` hold them. */
const decodedEvents = (count: number) =>
  wireEvents(count).pipe(Stream.map((w) => Either.getOrThrow(Backfill.decodeIngestEvent(w))))

const createOpen = (overrides: Partial<Backfill.CreateBackfill> = {}) =>
  Backfills.create({ ...timeframe, replaceExistingEvents: false, ...overrides })

const recordedIn = (backfillId: string) =>
  Effect.gen(function*() {
    const sim = yield* OrbSimulator.OrbSimulator
    return (yield* sim.events).filter((e) => Option.contains(e.backfillId, backfillId))
  })

describe("Backfills.ingestEncodedStream", () => {
  it.effect("ingests exactly N distinct events from wire form, and a re-run, in either form, adds none", () =>
    Effect.gen(function*() {
      yield* setNow
      const backfill = yield* createOpen()
      const summary = yield* driveClock(Backfills.ingestEncodedStream(backfill.id, wireEvents(1_234), { quota: false }))
      assert.strictEqual(summary.read, 1_234)
      assert.strictEqual(summary.accepted, 1_234)
      assert.strictEqual(summary.failed, 0)
      assert.strictEqual(summary.duplicates, 0)
      assert.strictEqual(summary.backfill.eventsIngested, 1_234)
      const recorded = yield* recordedIn(backfill.id)
      assert.strictEqual(recorded.length, 1_234)
      assert.strictEqual(new Set(recorded.map((e) => e.idempotencyKey)).size, 1_234)

      // The same input again, and then decoded through ingestStream: the same keys, so nothing is added.
      const again = yield* driveClock(Backfills.ingestEncodedStream(backfill.id, wireEvents(1_234), { quota: false }))
      assert.strictEqual(again.duplicates, 1_234)
      const decoded = yield* driveClock(Backfills.ingestStream(backfill.id, decodedEvents(1_234), { quota: false }))
      assert.strictEqual(decoded.accepted, 1_234)
      assert.strictEqual(decoded.duplicates, 1_234)
      assert.strictEqual(decoded.backfill.eventsIngested, 1_234)
      assert.strictEqual((yield* recordedIn(backfill.id)).length, 1_234)
    }).pipe(Effect.provide(withSimulator())))

  it.effect("sets events aside with their position and key, refused locally or by Orb, and sends the rest", () =>
    Effect.gen(function*() {
      yield* setNow
      // Scoped by external id: the library cannot check the customer of an event locally, Orb does.
      const backfill = yield* createOpen({ externalCustomerId: "customer-0" })
      const input = Stream.range(0, 29).pipe(Stream.map((i): Wire => {
        const event = wireEvent(i * 3)
        if (i === 4) return { ...event, idempotency_key: "late", timestamp: "2026-10-09T00:00:00.000Z" }
        if (i === 9) return { ...event, idempotency_key: "typo", propertes: {} } as Wire
        if (i === 17) return { ...event, idempotency_key: "other", external_customer_id: "customer-1" }
        return event
      }))
      const summary = yield* driveClock(Backfills.ingestEncodedStream(backfill.id, input, { quota: false }))
      assert.strictEqual(summary.read, 30)
      assert.strictEqual(summary.accepted, 27)
      assert.deepStrictEqual(summary.failures.map((f) => [f.position, f.idempotencyKey, f.refusedBy]), [
        [4, "late", "local"],
        [9, "typo", "local"],
        [17, "other", "orb"]
      ])
      assert.match(summary.failures[0].reasons[0], /^events\[4\]\.timestamp: .* outside the backfill's timeframe/)
      assert.strictEqual(summary.failures[1].reasons[0], "events[9].propertes: is not an Orb event field")
      assert.isAbove(summary.failures[2].reasons.length, 0)
      assert.strictEqual((yield* recordedIn(backfill.id)).length, 27)
    }).pipe(Effect.provide(withSimulator())))
})

// The one pipeline behind both entry points, in either form: the input is pulled only as fast as batches leave.
const tracked = {
  ingestStream: (id: string) => {
    const { stream, tracker } = trackPulls(decodedEvents(20_000))
    return { tracker, ingest: (options: Backfills.IngestStreamOptions) => Backfills.ingestStream(id, stream, options) }
  },
  ingestEncodedStream: (id: string) => {
    const { stream, tracker } = trackPulls(wireEvents(20_000))
    return {
      tracker,
      ingest: (options: Backfills.IngestStreamOptions) => Backfills.ingestEncodedStream(id, stream, options)
    }
  }
}

describe.each(Object.keys(tracked) as Array<keyof typeof tracked>)("Backfills.%s", (entry) => {
  it.effect("pulls the stream lazily: never more than a few batches ahead of what Orb accepted", () =>
    Effect.gen(function*() {
      yield* setNow
      const backfill = yield* createOpen()
      const { ingest, tracker } = tracked[entry](backfill.id)
      const summary = yield* driveClock(ingest({
        quota: false,
        concurrency: 4,
        onProgress: (p) => Effect.sync(() => void (tracker.accepted = p.accepted))
      }))
      assert.strictEqual(summary.accepted, 20_000)
      assert.isAtMost(tracker.maxAhead, maxReadAhead(4))
    }).pipe(Effect.provide(withSimulator())))
})

describe("Backfills.run with encodedEvents", () => {
  it.effect("runs a whole backfill from wire events: reflected, each event counted once", () =>
    Effect.gen(function*() {
      yield* setNow
      const result = yield* driveClock(Backfills.run({
        ...timeframe,
        replaceExistingEvents: false,
        encodedEvents: wireEvents(5_000),
        ingest: { quota: false }
      }))
      assert.strictEqual(result.backfill.status, "reflected")
      assert.strictEqual(result.backfill.eventsIngested, 5_000)
      assert.strictEqual(result.ingestion.accepted, 5_000)
      const recorded = yield* recordedIn(result.backfill.id)
      assert.strictEqual(new Set(recorded.map((e) => e.idempotencyKey)).size, 5_000)
    }).pipe(Effect.provide(withSimulator())))

  it.effect("an invalid wire event fails the run, which reverts, naming its position and key", () =>
    Effect.gen(function*() {
      yield* setNow
      const input = wireEvents(1_000).pipe(
        Stream.map((e) => e.idempotency_key === "event-777" ? { ...e, event_name: "" } : e)
      )
      const error = yield* Effect.flip(driveClock(Backfills.run({
        ...timeframe,
        replaceExistingEvents: false,
        encodedEvents: input,
        ingest: { quota: false }
      })))
      assert.strictEqual(error._tag, "RunFailed")
      const failed = error as OrbError.RunFailed
      assert.isTrue(failed.reverted)
      assert.match(String((failed.cause as OrbError.InvalidEvent).message), /^Event at position 777 \(key event-777\)/)
    }).pipe(Effect.provide(withSimulator())))

  it.effect("refuses a spec with both events and encodedEvents, or neither, before creating anything", () =>
    Effect.gen(function*() {
      yield* setNow
      const specs = [
        { events: decodedEvents(1), encodedEvents: wireEvents(1) },
        {}
      ]
      for (const events of specs) {
        const spec = { ...timeframe, replaceExistingEvents: false, ...events } as unknown as Backfills.RunSpec
        const error = yield* Effect.flip(Backfills.run(spec))
        assert.strictEqual(error._tag, "InvalidInput")
        assert.strictEqual((error as OrbError.InvalidInput).field, "events")
      }
      const sim = yield* OrbSimulator.OrbSimulator
      assert.strictEqual((yield* sim.requests).length, 0)
    }).pipe(Effect.provide(withSimulator())))
})
