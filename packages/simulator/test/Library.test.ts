// The library @effect-orb/backfills against the simulator's test layer: what users of both get.
import type { Backfill } from "@effect-orb/backfills"
import { Backfills, OrbClient } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { validateRequest } from "./openapi.js"
import { layer } from "./support.js"

const simulator = layer({ apiKey: "k", reflectionDelay: "30 seconds" })
const library = Backfills.layer.pipe(
  Layer.provide(OrbClient.layer({ apiKey: Redacted.make("k") })),
  Layer.provideMerge(simulator)
)

const events = (count: number): Array<Backfill.IngestEvent> =>
  Array.from({ length: count }, (_, i) => ({
    eventName: "api_call",
    timestamp: DateTime.unsafeMake(Date.parse("2025-03-01T00:00:00Z") + i * 60_000),
    properties: { units: i },
    idempotencyKey: `event-${i}`,
    customerId: "cus_1"
  }))

const drive = OrbSimulator.drive

/** Every request the library sent, checked against the spec's request schemas. */
const checkRequests = Effect.gen(function*() {
  const sim = yield* OrbSimulator.OrbSimulator
  const requests = yield* sim.requests
  for (const request of requests) {
    // The simulator demands the key (401 otherwise) and masks it in its log.
    assert.strictEqual(request.headers["authorization"], "Bearer <redacted>")
    assert.notStrictEqual(request.status, 401)
    if (request.method === "POST") {
      assert.isAtMost(request.headers["idempotency-key"]?.length ?? Infinity, 64)
      if (request.body.length > 0) validateRequest(request.method, request.url, JSON.parse(request.body))
    }
  }
  return requests
})

describe("@effect-orb/backfills over OrbSimulator.layer", () => {
  it.effect("create, ingest, close, await reflected", () =>
    Effect.gen(function*() {
      const backfills = yield* Backfills.Backfills
      const created = yield* backfills.create({
        timeframeStart: DateTime.unsafeMake("2025-03-01T00:00:00Z"),
        timeframeEnd: DateTime.unsafeMake("2025-03-02T00:00:00Z"),
        replaceExistingEvents: false,
        customerId: "cus_1"
      })
      assert.strictEqual(created.status, "pending")
      assert.deepStrictEqual(created.customerId, Option.some("cus_1"))
      yield* backfills.ingest(created.id, events(3))
      yield* backfills.ingest(created.id, events(5))
      const closed = yield* backfills.close(created.id)
      assert.strictEqual(closed.status, "pending")

      const reflected = yield* drive(backfills.awaitStatus(created.id, "reflected"))
      assert.strictEqual(reflected.status, "reflected")
      assert.strictEqual(reflected.eventsIngested, 5)

      const reverting = yield* backfills.revert(created.id)
      assert.strictEqual(reverting.status, "pending_revert")
      const requests = yield* checkRequests
      assert.strictEqual(requests.every((r) => r.status === 200), true)
    }).pipe(Effect.provide(library)))

  it.effect("a response lost after the create took effect is retried with the same key and replayed", () =>
    Effect.gen(function*() {
      const sim = yield* OrbSimulator.OrbSimulator
      const backfills = yield* Backfills.Backfills
      yield* sim.injectFaults({ kind: "internal-error", timing: "after" })
      const created = yield* drive(backfills.create({
        timeframeStart: DateTime.unsafeMake("2025-03-01T00:00:00Z"),
        timeframeEnd: DateTime.unsafeMake("2025-03-02T00:00:00Z"),
        replaceExistingEvents: true
      }))
      assert.deepStrictEqual((yield* sim.backfills).map((b) => b.id), [created.id])
      const requests = yield* checkRequests
      assert.deepStrictEqual(requests.map((r) => [r.status, r.replayed]), [[500, false], [200, true]])
      assert.strictEqual(requests[0].headers["idempotency-key"], requests[1].headers["idempotency-key"])
    }).pipe(Effect.provide(library)))

  it.effect("a response delayed beyond the client's timeout after the close took effect: the retry is replayed", () =>
    Effect.gen(function*() {
      const sim = yield* OrbSimulator.OrbSimulator
      const backfills = yield* Backfills.Backfills
      const created = yield* backfills.create({
        timeframeStart: DateTime.unsafeMake("2025-03-01T00:00:00Z"),
        timeframeEnd: DateTime.unsafeMake("2025-03-02T00:00:00Z"),
        replaceExistingEvents: false
      })
      yield* sim.injectFaults({ kind: "delay", timing: "after", delay: "5 minutes" }, {
        kind: "drop",
        timing: "before"
      })
      const closed = yield* drive(backfills.close(created.id))
      assert.strictEqual(closed.status, "pending")
      const requests = (yield* checkRequests).slice(1)
      // Timed out (the close took effect), dropped before reaching Orb, then replayed from the first attempt.
      assert.deepStrictEqual(requests.map((r) => [r.fault, r.replayed]), [["delay", false], ["drop", false], [
        undefined,
        true
      ]])
      assert.strictEqual(new Set(requests.map((r) => r.headers["idempotency-key"])).size, 1)
    }).pipe(Effect.provide(library)))

  it.effect("Orb's errors arrive as the library's typed errors", () =>
    Effect.gen(function*() {
      const backfills = yield* Backfills.Backfills
      const missing = yield* Effect.flip(backfills.fetch("nope"))
      assert.strictEqual(missing._tag, "ResourceNotFound")
      const created = yield* backfills.create({
        timeframeStart: DateTime.unsafeMake("2025-03-01T00:00:00Z"),
        timeframeEnd: DateTime.unsafeMake("2025-03-02T00:00:00Z"),
        replaceExistingEvents: false
      })
      const overlap = yield* Effect.flip(backfills.create({
        timeframeStart: DateTime.unsafeMake("2025-03-01T12:00:00Z"),
        timeframeEnd: DateTime.unsafeMake("2025-03-02T12:00:00Z"),
        replaceExistingEvents: false
      }))
      assert.strictEqual(overlap._tag, "ConstraintViolation")
      assert.include(overlap._tag === "ConstraintViolation" && overlap.detail, created.id)
      yield* backfills.revert(created.id)
      const closeReverted = yield* Effect.flip(backfills.close(created.id))
      assert.strictEqual(closeReverted._tag, "ConstraintViolation")
      yield* checkRequests
    }).pipe(Effect.provide(library)))
})
