/**
 * Runs whose timeframes overlap: Orb refuses a create that overlaps a pending backfill (of any customer), so the
 * later run waits until the one it overlaps is reflected or reverted, then creates; bounded by `overlapWait`.
 */
import type { Backfill, OrbError } from "@effect-orb/backfills"
import { Backfills } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { driveClock, sampleEvent, setNow, timeframe, withSimulator } from "./simulator.js"

/** Events a minute apart from the start of `within`, keyed by `prefix`. */
const events = (count: number, prefix: string, within: Backfill.Timeframe = later) =>
  Stream.range(0, count - 1).pipe(Stream.map((i) =>
    sampleEvent(i, {
      idempotencyKey: `${prefix}-${i}`,
      timestamp: DateTime.unsafeMake(within.timeframeStart.epochMillis + i * 60_000)
    })
  ))

/** The second run's timeframe: it overlaps the first's by four days. */
const later = {
  timeframeStart: DateTime.unsafeMake("2026-10-04T00:00:00Z"),
  timeframeEnd: DateTime.unsafeMake("2026-10-11T00:00:00Z")
}

/** A backfill over the tests' timeframe that stays pending (open) for a week. */
const blocker = Effect.flatMap(DateTime.now, (now) =>
  Backfills.create({
    ...timeframe,
    replaceExistingEvents: false,
    closeTime: DateTime.add(now, { days: 7 })
  }))

describe("Backfills.run over a timeframe that overlaps a pending backfill", () => {
  it.effect("waits for it to be reflected, then creates; every event once", () =>
    Effect.gen(function*() {
      yield* setNow
      const firstCreated = yield* Deferred.make<Backfill.Backfill>()
      const waitedFor: Array<{ id: string; status: string; start: number; end: number }> = []
      const blockerAtCreate: Array<string> = []
      const [first, second] = yield* driveClock(Effect.gen(function*() {
        const first = yield* Backfills.run({
          ...timeframe,
          replaceExistingEvents: false,
          events: events(1_000, "first", timeframe),
          ingest: { quota: false },
          onProgress: (p) => p.stage === "created" ? Deferred.succeed(firstCreated, p.backfill) : Effect.void
        }).pipe(Effect.fork)
        const blocking = yield* Deferred.await(firstCreated)
        const service = yield* Backfills.Backfills
        const second = yield* Backfills.run({
          ...later,
          replaceExistingEvents: false,
          events: events(500, "second"),
          ingest: { quota: false },
          onProgress: (p) =>
            p.stage === "waiting"
              ? Effect.sync(() =>
                waitedFor.push({
                  id: p.blocker.id,
                  status: p.blocker.status,
                  start: p.blocker.timeframeStart.epochMillis,
                  end: p.blocker.timeframeEnd.epochMillis
                })
              )
              : p.stage === "created"
              ? service.fetch(blocking.id).pipe(
                Effect.flatMap((b) => Effect.sync(() => void blockerAtCreate.push(b.status))),
                Effect.orDie
              )
              : Effect.void
        })
        return [yield* Fiber.join(first), second] as const
      }))
      assert.isAbove(waitedFor.length, 0, "the second run said what it waits for")
      assert.deepStrictEqual(waitedFor[0], {
        id: first.backfill.id,
        status: "pending",
        start: timeframe.timeframeStart.epochMillis,
        end: timeframe.timeframeEnd.epochMillis
      })
      assert.deepStrictEqual(blockerAtCreate, ["reflected"], "the second created once the first was reflected")
      assert.strictEqual(first.backfill.status, "reflected")
      assert.strictEqual(second.backfill.status, "reflected")
      assert.strictEqual(first.backfill.eventsIngested, 1_000)
      assert.strictEqual(second.backfill.eventsIngested, 500)
      const sim = yield* OrbSimulator.OrbSimulator
      assert.strictEqual((yield* sim.backfills).length, 2, "one backfill each, no create lost or doubled")
      const active = (yield* sim.events).filter((e) => e.status === "active")
      assert.strictEqual(active.length, 1_500)
      assert.strictEqual(new Set(active.map((e) => e.idempotencyKey)).size, 1_500, "every event once")
    }).pipe(Effect.provide(withSimulator())), 60_000)

  it.effect("fails with OverlapWaitTimeout naming the blocker once overlapWait has passed; nothing created", () =>
    Effect.gen(function*() {
      yield* setNow
      const open = yield* blocker
      const error = yield* driveClock(
        Backfills.run({
          ...later,
          replaceExistingEvents: false,
          events: events(10, "second"),
          ingest: { quota: false },
          overlapWait: "10 minutes"
        }).pipe(Effect.flip),
        "30 seconds"
      )
      assert.strictEqual(error._tag, "OverlapWaitTimeout")
      const timeout = error as OrbError.OverlapWaitTimeout
      assert.strictEqual(timeout.backfillId, open.id)
      assert.strictEqual(timeout.status, "pending")
      assert.include(timeout.message, open.id)
      assert.include(timeout.message, "2026-10-01T00:00:00.000Z")
      assert.include(timeout.message, "10m")
      const sim = yield* OrbSimulator.OrbSimulator
      assert.deepStrictEqual((yield* sim.backfills).map((b) => b.id), [open.id], "nothing created")
    }).pipe(Effect.provide(withSimulator())))

  it.effect("overlapWait 0 keeps Orb's refusal", () =>
    Effect.gen(function*() {
      yield* setNow
      yield* blocker
      const error = yield* Backfills.run({
        ...later,
        replaceExistingEvents: false,
        events: events(10, "second"),
        ingest: { quota: false },
        overlapWait: 0
      }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "ConstraintViolation")
    }).pipe(Effect.provide(withSimulator())))

  it.effect("waits for a blocker that is reverted, then creates", () =>
    Effect.gen(function*() {
      yield* setNow
      const open = yield* blocker
      const waiting = yield* Deferred.make<void>()
      const fiber = yield* Backfills.run({
        ...later,
        replaceExistingEvents: false,
        events: events(10, "second"),
        ingest: { quota: false },
        until: "closed",
        onProgress: (p) => p.stage === "waiting" ? Deferred.succeed(waiting, undefined) : Effect.void
      }).pipe(Effect.fork)
      yield* Deferred.await(waiting)
      yield* Backfills.revert(open.id)
      const result = yield* driveClock(Fiber.join(fiber))
      assert.notStrictEqual(result.backfill.id, open.id)
      assert.strictEqual(result.backfill.eventsIngested, 10)
    }).pipe(Effect.provide(withSimulator())))

  it.effect("interrupted while waiting: nothing created, nothing to revert", () =>
    Effect.gen(function*() {
      yield* setNow
      const open = yield* blocker
      const waiting = yield* Deferred.make<void>()
      const fiber = yield* Backfills.run({
        ...later,
        replaceExistingEvents: false,
        events: events(10, "second"),
        ingest: { quota: false },
        onProgress: (p) => p.stage === "waiting" ? Deferred.succeed(waiting, undefined) : Effect.void
      }).pipe(Effect.fork)
      yield* Deferred.await(waiting)
      yield* TestClock.adjust("5 minutes")
      yield* Fiber.interrupt(fiber)
      const sim = yield* OrbSimulator.OrbSimulator
      const all = yield* sim.backfills
      assert.deepStrictEqual(all.map((b) => [b.id, b.status]), [[open.id, "pending"]], "nothing created")
      const requests = (yield* sim.requests).filter((r) => r.method === "POST" && r.url.includes("/revert"))
      assert.strictEqual(requests.length, 0, "nothing to revert")
    }).pipe(Effect.provide(withSimulator())))
})
