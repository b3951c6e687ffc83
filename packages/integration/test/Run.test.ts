import type { OrbError } from "@effect-orb/backfills"
import { Backfills } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import {
  driveClock,
  maxReadAhead,
  now,
  sampleEvent,
  setNow,
  timeframe,
  trackPulls,
  withSimulator
} from "./simulator.js"

const spec = <E, R>(events: Stream.Stream<ReturnType<typeof sampleEvent>, E, R>): Backfills.RunSpec<E, R> => ({
  ...timeframe,
  replaceExistingEvents: false,
  events,
  ingest: { quota: false }
})

const events = (count: number) => Stream.range(0, count - 1).pipe(Stream.map((i) => sampleEvent(i)))

const onlyBackfill = Effect.gen(function*() {
  const sim = yield* OrbSimulator.OrbSimulator
  const all = yield* sim.backfills
  assert.strictEqual(all.length, 1, "exactly one backfill was created")
  return all[0]
})

describe("Backfills.run", () => {
  it.effect("creates, ingests, closes and awaits reflection, reporting each stage", () =>
    Effect.gen(function*() {
      yield* setNow
      const stages: Array<string> = []
      const result = yield* driveClock(Backfills.run({
        ...spec(events(1_500)),
        onProgress: (p) => Effect.sync(() => stages.push(p.stage))
      }))
      assert.strictEqual(result.backfill.status, "reflected")
      assert.strictEqual(result.backfill.eventsIngested, 1_500)
      assert.strictEqual(result.ingestion.accepted, 1_500)
      assert.deepStrictEqual([...new Set(stages)], ["created", "ingesting", "closed", "done"])
      const sim = yield* OrbSimulator.OrbSimulator
      const recorded = yield* sim.events
      assert.strictEqual(recorded.filter((e) => e.status === "active").length, 1_500)
    }).pipe(Effect.provide(withSimulator())))

  it.effect("100,000 events end reflected, each counted once, read lazily", () =>
    Effect.gen(function*() {
      yield* setNow
      const { stream, tracker } = trackPulls(events(100_000))
      const result = yield* driveClock(Backfills.run({
        ...spec(stream),
        onProgress: (p) => Effect.sync(() => p.stage === "ingesting" && void (tracker.accepted = p.ingest.accepted))
      }))
      assert.strictEqual(result.backfill.status, "reflected")
      assert.strictEqual(result.backfill.eventsIngested, 100_000)
      assert.strictEqual((yield* onlyBackfill).eventsIngested, 100_000)
      // the source is never read more than a few batches ahead of what Orb accepted
      assert.isAtMost(tracker.maxAhead, maxReadAhead(4))
    }).pipe(Effect.provide(withSimulator())), 120_000)

  it.effect(
    "with 20% of requests failing in every way, before and after taking effect, nothing is lost or doubled",
    () =>
      Effect.gen(function*() {
        yield* setNow
        const result = yield* driveClock(
          Backfills.run({ ...spec(events(20_000)), ingest: { quota: false, maxAttempts: 20 } }),
          "5 seconds"
        )
        assert.strictEqual(result.backfill.status, "reflected")
        assert.strictEqual(result.backfill.eventsIngested, 20_000)
        const backfill = yield* onlyBackfill
        assert.strictEqual(backfill.eventsIngested, 20_000)
        const sim = yield* OrbSimulator.OrbSimulator
        const requests = yield* sim.requests
        const faults = new Set(requests.flatMap((r) => r.fault ? [r.fault] : []))
        for (const kind of ["conflict", "drop", "internal-error", "too-many-requests", "unavailable"]) {
          assert.isTrue(faults.has(kind as OrbSimulator.FaultKind), kind)
        }
        assert.isTrue(requests.some((r) => r.replayed), "some retries were answered from the idempotency store")
        const recorded = (yield* sim.events).filter((e) => Option.contains(e.backfillId, backfill.id))
        assert.strictEqual(new Set(recorded.map((e) => e.idempotencyKey)).size, 20_000)
        assert.strictEqual(recorded.length, 20_000)
      }).pipe(Effect.provide(withSimulator({ faults: { rate: 0.2, delay: "90 seconds" }, seed: 7 }))),
    120_000
  )

  it.effect("interrupting a run mid-ingestion reverts the backfill", () =>
    Effect.gen(function*() {
      yield* setNow
      const sim = yield* OrbSimulator.OrbSimulator
      // a slow source: one event per second
      const slow = events(1_000).pipe(Stream.schedule(Schedule.spaced("1 second")))
      const fiber = yield* Effect.fork(Backfills.run({ ...spec(slow), ingest: { quota: false, batchSize: 10 } }))
      yield* TestClock.adjust("35 seconds")
      const before = yield* onlyBackfill
      assert.strictEqual(before.status, "pending")
      assert.isAbove(before.eventsIngested, 0)
      yield* Fiber.interrupt(fiber)
      const after = yield* onlyBackfill
      assert.strictEqual(after.status, "reverted")
      assert.isTrue(Option.isSome(after.revertedAt))
      const requests = yield* sim.requests
      assert.isFalse(requests.some((r) => r.url.endsWith("/close")), "never closed")
    }).pipe(Effect.provide(withSimulator())))

  it.effect("a failing stream reverts the backfill and says so", () =>
    Effect.gen(function*() {
      yield* setNow
      const failing = Stream.concat(events(700), Stream.fail("disk read error"))
      const error = yield* Effect.flip(driveClock(Backfills.run(spec(failing))))
      assert.strictEqual(error._tag, "RunFailed")
      const failed = error as OrbError.RunFailed
      assert.strictEqual(failed.stage, "ingest")
      assert.isTrue(failed.reverted)
      assert.strictEqual(failed.cause, "disk read error")
      assert.match(
        failed.message,
        /^Run failed while ingesting: disk read error; backfill .* was reverted, so no usage changed$/
      )
      assert.strictEqual((yield* onlyBackfill).status, "reverted")
    }).pipe(Effect.provide(withSimulator())))

  it.effect("invalid events fail the run by default, reverting it", () =>
    Effect.gen(function*() {
      yield* setNow
      const input = events(1_000).pipe(
        Stream.map((e) => e.idempotencyKey === "event-777" ? { ...e, timestamp: DateTime.unsafeMake(now) } : e)
      )
      const error = yield* Effect.flip(driveClock(Backfills.run(spec(input))))
      assert.strictEqual(error._tag, "RunFailed")
      const failed = error as OrbError.RunFailed
      assert.isTrue(failed.reverted)
      assert.strictEqual((failed.cause as OrbError.InvalidEvent)._tag, "InvalidEvent")
      assert.strictEqual((failed.cause as OrbError.InvalidEvent).position, 777)
      assert.include(failed.message, "Event at position 777")
      assert.strictEqual((yield* onlyBackfill).status, "reverted")
    }).pipe(Effect.provide(withSimulator())))

  it.effect("invalidEvents: skip sets them aside, reports them, and carries on", () =>
    Effect.gen(function*() {
      yield* setNow
      const input = events(1_000).pipe(
        Stream.map((e) => e.idempotencyKey === "event-777" ? { ...e, timestamp: DateTime.unsafeMake(now) } : e)
      )
      const result = yield* driveClock(Backfills.run({ ...spec(input), invalidEvents: "skip" }))
      assert.strictEqual(result.backfill.status, "reflected")
      assert.strictEqual(result.backfill.eventsIngested, 999)
      assert.strictEqual(result.ingestion.failed, 1)
      assert.strictEqual(result.ingestion.failures[0].position, 777)
    }).pipe(Effect.provide(withSimulator())))

  it.effect("stops after the close when asked", () =>
    Effect.gen(function*() {
      yield* setNow
      const result = yield* driveClock(Backfills.run({ ...spec(events(10)), until: "closed" }))
      assert.strictEqual(result.backfill.status, "pending")
      assert.isTrue(Option.exists(result.backfill.closeTime, (t) => t.epochMillis <= now + 60_000))
    }).pipe(Effect.provide(withSimulator())))

  it.effect("after the close, a failure is reported and the backfill is not reverted", () =>
    Effect.gen(function*() {
      yield* setNow
      const error = yield* Effect.flip(driveClock(
        Backfills.run({ ...spec(events(10)), await: { timeout: "10 seconds" } })
      ))
      assert.strictEqual(error._tag, "RunFailed")
      const failed = error as OrbError.RunFailed
      assert.strictEqual(failed.stage, "await")
      assert.isFalse(failed.reverted)
      assert.strictEqual(failed.status, "pending")
      assert.match(failed.message, /is closed and was not reverted \(last seen pending\)$/)
      const backfill = yield* onlyBackfill
      assert.notStrictEqual(backfill.status, "reverted")
    }).pipe(Effect.provide(withSimulator())))

  it.effect("checks the spec before creating anything", () =>
    Effect.gen(function*() {
      yield* setNow
      const cases: Array<[Partial<Backfills.RunOptions>, string]> = [
        [{ replaceExistingEvents: undefined as never }, "replaceExistingEvents"],
        // Not after the start. (A timeframe longer than the account allows is cut into windows: Windows.test.ts.)
        [{ timeframeEnd: DateTime.unsafeMake("2026-09-15T00:00:00Z") }, "timeframeEnd"],
        [{ closeTime: DateTime.unsafeMake(now - 1) }, "closeTime"],
        [{ invalidEvents: "ignore" as never }, "invalidEvents"]
      ]
      for (const [change, field] of cases) {
        const error = yield* Effect.flip(Backfills.run({ ...spec(events(1)), ...change }))
        assert.strictEqual(error._tag, "InvalidInput")
        assert.strictEqual((error as OrbError.InvalidInput).field, field)
      }
      const sim = yield* OrbSimulator.OrbSimulator
      assert.strictEqual((yield* sim.requests).length, 0)
    }).pipe(Effect.provide(withSimulator())))

  it("estimates a close time from the expected size", () => {
    const at = DateTime.unsafeMake(now)
    const hours = (t: DateTime.Utc) => (t.epochMillis - now) / 3_600_000
    assert.strictEqual(hours(Backfills.defaultCloseTime({ now: at })), 24)
    assert.strictEqual(hours(Backfills.defaultCloseTime({ now: at, expectedEvents: 1_000 })), 1)
    // 1,000,000 events at 10,000 a minute: 100 minutes, doubled, plus 30 minutes
    assert.strictEqual(hours(Backfills.defaultCloseTime({ now: at, expectedEvents: 1_000_000 })), 230 / 60)
  })
})
