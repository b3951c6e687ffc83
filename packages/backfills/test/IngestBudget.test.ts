/**
 * An ingestion with an account's budget (`IngestBudget`) in context takes each request's share from it and waits as
 * long as it says, on top of its own pace; a 429 makes its requests take more of the budget; without a budget, or
 * with an explicit shared pace, nothing is taken.
 */
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type * as Backfill from "../src/Backfill.js"
import * as Backfills from "../src/Backfills.js"
import * as IngestBudget from "../src/IngestBudget.js"
import { problem, type Recorded, recordingBackfills, wireBackfill } from "./utils.js"

const events: Array<Backfill.IngestEvent> = Array.from({ length: 30 }, (_, i) => ({
  eventName: "api_call",
  timestamp: DateTime.unsafeMake(Date.UTC(2026, 9, 1) + i * 60_000),
  properties: { n: i },
  externalCustomerId: "customer-1",
  idempotencyKey: `event-${i}`
}))

const quota = { requestsPerSecond: 100, eventsPerMinute: 1_000_000 }

/** A budget that records what each request reserves (and when), and holds each one `wait` back. */
const recordingBudget = (wait: Duration.Duration) => {
  const reserved: Array<IngestBudget.Reservation> = []
  const budget = IngestBudget.IngestBudget.of({
    reserve: (reservation) =>
      Effect.sync(() => {
        reserved.push(reservation)
        return wait
      })
  })
  return { budget, reserved }
}

/** An open backfill for every GET; each POST answered by `ingest`. */
const orb = (ingest: (post: number) => { status: number; json: unknown; headers?: Record<string, string> }) => {
  let posts = 0
  return (request: Recorded) =>
    request.method === "GET"
      ? { json: wireBackfill({ id: request.url.pathname.split("/").pop(), close_time: null }) }
      : ingest(posts++)
}

const drive = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(Date.UTC(2026, 10, 1))
    const fiber = yield* Effect.fork(effect)
    for (let i = 0; i < 200; i++) yield* TestClock.adjust("100 millis")
    return yield* Fiber.join(fiber)
  })

describe("ingestion with an account's budget", () => {
  it.effect("each request takes its share and waits as long as the budget says", () => {
    const { layer } = recordingBackfills(orb(() => ({ status: 200, json: { debug: null, validation_failed: [] } })))
    const { budget, reserved } = recordingBudget(Duration.seconds(1))
    return Effect.gen(function*() {
      const [elapsed, summary] = yield* drive(
        Effect.timed(
          Backfills.ingestStream("bf_1", Stream.fromIterable(events), { batchSize: 10, concurrency: 1, quota }).pipe(
            Effect.provideService(IngestBudget.IngestBudget, budget)
          )
        )
      )
      assert.strictEqual(summary.accepted, 30)
      // The run's own margin, passed on: the budget keeps the same pace below the quota.
      assert.deepStrictEqual(
        reserved.map((r) => [r.requests, r.events, r.quota.requestsPerSecond, r.quota.eventsPerMinute]),
        [[1, 10, 99, 990_000], [1, 10, 99, 990_000], [1, 10, 99, 990_000]]
      )
      // Each request waited the budget's second, one after another.
      assert.isAtLeast(Duration.toMillis(elapsed), 3_000)
    }).pipe(Effect.provide(layer))
  })

  it.effect("after a 429 the pace halves, and each request takes twice its share of the budget", () => {
    const { layer } = recordingBackfills(orb((post) =>
      post === 0
        ? { status: 429, json: problem("429-too-many-requests", 429), headers: { "retry-after": "1" } }
        : { status: 200, json: { debug: null, validation_failed: [] } }
    ))
    const { budget, reserved } = recordingBudget(Duration.zero)
    return Effect.gen(function*() {
      yield* drive(
        Backfills.ingestStream("bf_1", Stream.fromIterable(events.slice(0, 10)), {
          batchSize: 10,
          concurrency: 1,
          quota
        }).pipe(Effect.provideService(IngestBudget.IngestBudget, budget))
      )
      assert.deepStrictEqual(reserved.map((r) => [r.requests, r.events]), [[1, 10], [2, 20]])
    }).pipe(Effect.provide(layer))
  })

  it.effect("an explicit shared pace is used as it is: nothing is taken from the budget", () => {
    const { layer } = recordingBackfills(orb(() => ({ status: 200, json: { debug: null, validation_failed: [] } })))
    const { budget, reserved } = recordingBudget(Duration.zero)
    return Effect.gen(function*() {
      const pace = yield* Backfills.makeIngestPace(quota)
      yield* drive(
        Backfills.ingestStream("bf_1", Stream.fromIterable(events), { batchSize: 10, pace }).pipe(
          Effect.provideService(IngestBudget.IngestBudget, budget)
        )
      )
      assert.strictEqual(reserved.length, 0)
    }).pipe(Effect.provide(layer))
  })
})
