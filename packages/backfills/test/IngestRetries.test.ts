/**
 * `ingestStream` retries its batches itself (to keep its pace through 429s), by the transport's one rule: what the
 * server says of retrying (`x-should-retry`, `Retry-After` capped at `maxRetryAfter`) counts, a 409 that persists
 * for one key is final, and each request's key belongs to its backfill.
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
import { problem, type Recorded, recordingBackfills, type Reply, wireBackfill } from "./utils.js"

const events: Array<Backfill.IngestEvent> = Array.from({ length: 20 }, (_, i) => ({
  eventName: "api_call",
  timestamp: DateTime.unsafeMake(Date.UTC(2026, 9, 1) + i * 60_000),
  properties: { n: i },
  externalCustomerId: "customer-1",
  idempotencyKey: `event-${i}`
}))

/** An open backfill for every GET; `ingest` answers the POSTs. */
const orb = (ingest: (request: Recorded, post: number) => Reply) => {
  let posts = 0
  return (request: Recorded) =>
    request.method === "GET"
      ? { json: wireBackfill({ id: request.url.pathname.split("/").pop(), close_time: null }) }
      : ingest(request, posts++)
}

const posts = (requests: ReadonlyArray<Recorded>) => requests.filter((r) => r.method === "POST")

const ingestAll = (id: string) => Backfills.ingestStream(id, Stream.fromIterable(events), { quota: false })

// A month after the events: they are in the past, as a backfill's are.
const setNow = TestClock.setTime(Date.UTC(2026, 10, 1))

/** Yields until `requests` holds `count` POSTs. */
const awaitPosts = (requests: ReadonlyArray<Recorded>, count: number) =>
  Effect.yieldNow().pipe(Effect.repeat({ until: () => posts(requests).length >= count }))

/** Runs `effect` with the clock moved on far enough for every retry wait. */
const drive = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    for (let i = 0; i < 60; i++) yield* TestClock.adjust("10 seconds")
    return yield* Fiber.join(fiber)
  })

describe("ingestStream's retries", () => {
  it.effect("x-should-retry: false makes a 500 final: the batch is sent once", () => {
    const { layer, requests } = recordingBackfills(orb(() => ({
      status: 500,
      json: problem("500-internal-server-error", 500),
      headers: { "x-should-retry": "false" }
    })))
    return Effect.gen(function*() {
      yield* setNow
      const error = yield* Effect.flip(drive(ingestAll("bf_1")))
      assert.strictEqual(error._tag, "InternalServerError")
      assert.strictEqual(posts(requests).length, 1)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a Retry-After beyond maxRetryAfter waits only maxRetryAfter", () => {
    const { layer, requests } = recordingBackfills(
      orb((_, post) =>
        post === 0
          ? { status: 503, json: problem("500-internal-server-error", 503), headers: { "retry-after": "3600" } }
          : { json: { validation_failed: [] } }
      ),
      { maxRetryAfter: Duration.seconds(5) }
    )
    return Effect.gen(function*() {
      yield* setNow
      const fiber = yield* Effect.fork(ingestAll("bf_1"))
      yield* awaitPosts(requests, 1)
      yield* TestClock.adjust("4999 millis")
      assert.strictEqual(posts(requests).length, 1)
      yield* TestClock.adjust("1 millis")
      const summary = yield* Fiber.join(fiber)
      assert.strictEqual(summary.accepted, 20)
      assert.strictEqual(posts(requests).length, 2)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a 409 that persists for one key fails after a few attempts, naming the key, not after minutes", () => {
    const { layer, requests } = recordingBackfills(orb(() => ({
      status: 409,
      json: problem("409-resource-conflict", 409, { title: "Idempotency key reused" })
    })))
    return Effect.gen(function*() {
      yield* setNow
      const fiber = yield* Effect.fork(Effect.flip(ingestAll("bf_1")))
      yield* awaitPosts(requests, 1)
      const started = yield* TestClock.currentTimeMillis
      let error: unknown = undefined
      while (error === undefined) {
        yield* TestClock.adjust("1 second")
        const poll = yield* Fiber.poll(fiber)
        if (poll._tag === "Some") error = yield* poll.value
      }
      const waited = (yield* TestClock.currentTimeMillis) - started
      const failure = error as { _tag: string; message: string }
      assert.strictEqual(failure._tag, "ResourceConflict")
      assert.strictEqual(posts(requests).length, 4)
      const key = posts(requests)[0].headers["idempotency-key"]
      assert.include(failure.message, `Idempotency-Key ${key} was refused 4 times in a row`)
      assert.isAtMost(waited, 15_000)
    }).pipe(Effect.provide(layer))
  })

  it.effect("the same events sent to two backfills make two requests with two keys; a resend to one keeps its key", () => {
    let failedOnce = false
    const { layer, requests } = recordingBackfills(orb(() => {
      if (!failedOnce) {
        failedOnce = true
        return "drop"
      }
      return { json: { validation_failed: [] } }
    }))
    return Effect.gen(function*() {
      yield* setNow
      yield* drive(ingestAll("bf_1"))
      yield* drive(ingestAll("bf_2"))
      const [first, resent, other] = posts(requests)
      assert.strictEqual(first.headers["idempotency-key"], resent.headers["idempotency-key"])
      assert.notStrictEqual(first.headers["idempotency-key"], other.headers["idempotency-key"])
      assert.strictEqual(first.body, other.body)
      assert.isAtMost(other.headers["idempotency-key"].length, 64)
    }).pipe(Effect.provide(layer))
  })
})
