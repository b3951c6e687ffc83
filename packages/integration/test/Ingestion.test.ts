import type { OrbError } from "@effect-orb/backfills"
import { Backfills } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { driveClock, sampleEvent, setNow, timeframe, withSimulator } from "./simulator.js"

const createOpen = (overrides: Partial<Parameters<typeof Backfills.create>[0]> = {}) =>
  Backfills.create({ ...timeframe, replaceExistingEvents: false, ...overrides })

const events = (count: number, from = 0) => Stream.range(from, from + count - 1).pipe(Stream.map((i) => sampleEvent(i)))

describe("Backfills.ingestStream", () => {
  it.effect("sends every event in batches and reports what it did", () =>
    Effect.gen(function*() {
      yield* setNow
      const backfill = yield* createOpen()
      const progress: Array<Backfills.IngestProgress> = []
      const summary = yield* driveClock(Backfills.ingestStream(backfill.id, events(1_234), {
        quota: false,
        onProgress: (p) => Effect.sync(() => progress.push(p))
      }))
      assert.strictEqual(summary.read, 1_234)
      assert.strictEqual(summary.sent, 1_234)
      assert.strictEqual(summary.accepted, 1_234)
      assert.strictEqual(summary.failed, 0)
      assert.strictEqual(summary.duplicates, 0)
      assert.strictEqual(summary.batches, 3)
      assert.strictEqual(summary.retries, 0)
      assert.strictEqual(summary.backfill.eventsIngested, 1_234)
      assert.isAtLeast(progress.length, 3)
      assert.strictEqual(progress[progress.length - 1].accepted, 1_234)
      const sim = yield* OrbSimulator.OrbSimulator
      const ingests = (yield* sim.requests).filter((r) => r.url.startsWith("/v1/ingest"))
      assert.deepStrictEqual(ingests.map((r) => JSON.parse(r.body).events.length).sort(), [234, 500, 500])
    }).pipe(Effect.provide(withSimulator())))

  it.effect("counts events Orb already had as duplicates when the same input is sent again", () =>
    Effect.gen(function*() {
      yield* setNow
      const backfill = yield* createOpen()
      yield* driveClock(Backfills.ingestStream(backfill.id, events(600), { quota: false }))
      const again = yield* driveClock(Backfills.ingestStream(backfill.id, events(800), { quota: false }))
      assert.strictEqual(again.accepted, 800)
      assert.strictEqual(again.duplicates, 600)
      assert.strictEqual(again.backfill.eventsIngested, 800)
    }).pipe(Effect.provide(withSimulator())))

  it.effect("derives keys for events without one, so a re-run adds nothing", () =>
    Effect.gen(function*() {
      yield* setNow
      const backfill = yield* createOpen()
      const keyless = Stream.range(0, 99).pipe(Stream.map((i) => sampleEvent(i, { idempotencyKey: undefined })))
      yield* driveClock(Backfills.ingestStream(backfill.id, keyless, { quota: false }))
      const again = yield* driveClock(Backfills.ingestStream(backfill.id, keyless, { quota: false }))
      assert.strictEqual(again.duplicates, 100)
      assert.strictEqual(again.backfill.eventsIngested, 100)
    }).pipe(Effect.provide(withSimulator())))

  it.effect("sets invalid events aside with their position, and sends the rest", () =>
    Effect.gen(function*() {
      yield* setNow
      const backfill = yield* createOpen()
      const input = Stream.range(0, 9).pipe(Stream.map((i) => {
        if (i === 3) return sampleEvent(i, { timestamp: DateTime.unsafeMake("2026-10-09T00:00:00Z") })
        if (i === 7) return sampleEvent(i, { externalCustomerId: undefined })
        return sampleEvent(i)
      }))
      const summary = yield* driveClock(Backfills.ingestStream(backfill.id, input, { quota: false }))
      assert.strictEqual(summary.read, 10)
      assert.strictEqual(summary.accepted, 8)
      assert.strictEqual(summary.failed, 2)
      assert.deepStrictEqual(summary.failures.map((f) => [f.position, f.refusedBy, f.idempotencyKey]), [
        [3, "local", "event-3"],
        [7, "local", "event-7"]
      ])
      assert.match(summary.failures[0].reasons[0], /events\[3\]\.timestamp: .* outside the backfill's timeframe/)
      assert.match(summary.failures[1].reasons[0], /events\[7\]\.customerId/)
      assert.strictEqual(summary.backfill.eventsIngested, 8)
    }).pipe(Effect.provide(withSimulator())))

  it.effect("sets aside the events Orb refuses, with Orb's reasons, and sends the rest of their batch again", () =>
    Effect.gen(function*() {
      yield* setNow
      // Scoped by external id: the library cannot check the customer of an event locally, Orb does.
      const backfill = yield* createOpen({ externalCustomerId: "customer-0" })
      const input = Stream.range(0, 29).pipe(Stream.map((i) => sampleEvent(i * 3 + (i === 5 || i === 20 ? 1 : 0))))
      const summary = yield* driveClock(Backfills.ingestStream(backfill.id, input, { quota: false }))
      assert.strictEqual(summary.sent, 30)
      assert.strictEqual(summary.accepted, 28)
      assert.deepStrictEqual(summary.failures.map((f) => [f.position, f.refusedBy]), [[5, "orb"], [20, "orb"]])
      assert.isAbove(summary.failures[0].reasons.length, 0)
      assert.strictEqual(summary.backfill.eventsIngested, 28)
    }).pipe(Effect.provide(withSimulator())))

  it.effect("onInvalid: fail stops at the first invalid event with InvalidEvent", () =>
    Effect.gen(function*() {
      yield* setNow
      const backfill = yield* createOpen()
      const input = Stream.range(0, 9).pipe(
        Stream.map((i) => i === 4 ? sampleEvent(i, { properties: { nested: { no: 1 } as never } }) : sampleEvent(i))
      )
      const error = yield* Effect.flip(driveClock(Backfills.ingestStream(backfill.id, input, {
        quota: false,
        onInvalid: "fail"
      })))
      assert.strictEqual(error._tag, "InvalidEvent")
      const invalid = error as OrbError.InvalidEvent
      assert.strictEqual(invalid.position, 4)
      assert.strictEqual(invalid.refusedBy, "local")
      assert.match(invalid.message, /^Event at position 4 \(key event-4\) refused: events\[4\]\.properties\.nested/)
    }).pipe(Effect.provide(withSimulator())))

  it.effect("refuses a backfill that is not open, before reading the stream", () =>
    Effect.gen(function*() {
      yield* setNow
      const backfill = yield* createOpen()
      yield* Backfills.close(backfill.id)
      let pulled = 0
      const input = events(10).pipe(Stream.tap(() => Effect.sync(() => pulled++)))
      const error = yield* Effect.flip(Backfills.ingestStream(backfill.id, input, { quota: false }))
      assert.strictEqual(error._tag, "InvalidInput")
      assert.match((error as OrbError.InvalidInput).reason, /is closed; only an open backfill accepts events/)
      assert.strictEqual(pulled, 0)
    }).pipe(Effect.provide(withSimulator())))

  it.effect("refuses bad options", () =>
    Effect.gen(function*() {
      yield* setNow
      const backfill = yield* createOpen()
      for (const options of [{ batchSize: 501 }, { batchSize: 0 }, { concurrency: 0 }, { maxAttempts: 0 }]) {
        const error = yield* Effect.flip(Backfills.ingestStream(backfill.id, events(1), options))
        assert.strictEqual(error._tag, "InvalidInput")
        assert.strictEqual((error as OrbError.InvalidInput).field, Object.keys(options)[0])
      }
    }).pipe(Effect.provide(withSimulator())))

  it.effect("keeps within the quota it is given: no 429 from an Orb with the same limits", () =>
    Effect.gen(function*() {
      yield* setNow
      const backfill = yield* createOpen()
      const sim = yield* OrbSimulator.OrbSimulator
      const summary = yield* driveClock(
        Backfills.ingestStream(backfill.id, events(30_000), { quota: Backfills.liveModeQuota }),
        "500 millis"
      )
      assert.strictEqual(summary.accepted, 30_000)
      assert.strictEqual(summary.rateLimited, 0)
      const statuses = (yield* sim.requests).map((r) => r.status)
      assert.notInclude(statuses, 429)
      // 30,000 events at 10,000 a minute: about three minutes of (virtual) time, and not much more
      assert.isAtLeast(summary.elapsedMillis, 170_000)
      assert.isAtMost(summary.elapsedMillis, 190_000)
    }).pipe(Effect.provide(withSimulator({ quotas: "live" }))))

  for (const shared of [true, false]) {
    it.effect(
      shared
        ? "two ingestions sharing one pace stay within the account's quota together: no 429"
        : "two ingestions each with a pace of its own exceed the account's quota together: 429s",
      () =>
        Effect.gen(function*() {
          yield* setNow
          const first = yield* createOpen()
          const second = yield* createOpen({
            timeframeStart: DateTime.unsafeMake("2026-10-10T00:00:00Z"),
            timeframeEnd: DateTime.unsafeMake("2026-10-17T00:00:00Z")
          })
          const pace = yield* Backfills.makeIngestPace(Backfills.liveModeQuota)
          const options = shared ? { pace } : { quota: Backfills.liveModeQuota }
          const later = (i: number) =>
            sampleEvent(i, { timestamp: DateTime.unsafeMake(Date.parse("2026-10-10T00:00:00Z") + i * 1000) })
          const [a, b] = yield* driveClock(
            Effect.all([
              Backfills.ingestStream(first.id, events(10_000), options),
              Backfills.ingestStream(second.id, Stream.range(0, 9_999).pipe(Stream.map(later)), options)
            ], { concurrency: 2 }),
            "500 millis"
          )
          assert.strictEqual(a.accepted + b.accepted, 20_000)
          const sim = yield* OrbSimulator.OrbSimulator
          const limited = (yield* sim.requests).filter((r) => r.status === 429).length
          if (shared) assert.strictEqual(limited, 0)
          else assert.isAbove(limited, 0)
        }).pipe(Effect.provide(withSimulator({ quotas: "live" }))),
      60_000
    )
  }

  it.effect("slows down when Orb's quota is lower than configured, and still finishes", () =>
    Effect.gen(function*() {
      yield* setNow
      const backfill = yield* createOpen()
      const summary = yield* driveClock(
        Backfills.ingestStream(backfill.id, events(10_000), { quota: Backfills.liveModeQuota }),
        "500 millis"
      )
      assert.strictEqual(summary.accepted, 10_000)
      assert.strictEqual(summary.backfill.eventsIngested, 10_000)
      assert.isAbove(summary.rateLimited, 0)
      assert.isBelow(summary.rateLimited, summary.batches)
      // Orb allows 2,000 a minute here, in windows of a calendar minute: five windows at best
      assert.isAtMost(summary.elapsedMillis, 6 * 60_000)
    }).pipe(Effect.provide(withSimulator({ quotas: "test" }))), 60_000)
})
