// The library @effect-orb/backfills against the simulator's test layer: what users of both get.
import type { Backfill } from "@effect-orb/backfills"
import { Backfills, OrbClient } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import { describe, expect, it } from "@effect/vitest"
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
    expect(request.headers["authorization"]).toBe("Bearer <redacted>")
    expect(request.status).not.toBe(401)
    if (request.method === "POST") {
      expect(request.headers["idempotency-key"]?.length).toBeLessThanOrEqual(64)
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
      expect(created.status).toBe("pending")
      expect(created.customerId).toEqual(Option.some("cus_1"))
      yield* backfills.ingest(created.id, events(3))
      yield* backfills.ingest(created.id, events(5))
      const closed = yield* backfills.close(created.id)
      expect(closed.status).toBe("pending")

      const reflected = yield* drive(backfills.awaitStatus(created.id, "reflected"))
      expect(reflected.status).toBe("reflected")
      expect(reflected.eventsIngested).toBe(5)

      const reverting = yield* backfills.revert(created.id)
      expect(reverting.status).toBe("pending_revert")
      const requests = yield* checkRequests
      expect(requests.every((r) => r.status === 200)).toBe(true)
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
      expect((yield* sim.backfills).map((b) => b.id)).toEqual([created.id])
      const requests = yield* checkRequests
      expect(requests.map((r) => [r.status, r.replayed])).toEqual([[500, false], [200, true]])
      expect(requests[0].headers["idempotency-key"]).toBe(requests[1].headers["idempotency-key"])
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
      expect(closed.status).toBe("pending")
      const requests = (yield* checkRequests).slice(1)
      // Timed out (the close took effect), dropped before reaching Orb, then replayed from the first attempt.
      expect(requests.map((r) => [r.fault, r.replayed])).toEqual([["delay", false], ["drop", false], [undefined, true]])
      expect(new Set(requests.map((r) => r.headers["idempotency-key"])).size).toBe(1)
    }).pipe(Effect.provide(library)))

  it.effect("Orb's errors arrive as the library's typed errors", () =>
    Effect.gen(function*() {
      const backfills = yield* Backfills.Backfills
      const missing = yield* Effect.flip(backfills.fetch("nope"))
      expect(missing._tag).toBe("ResourceNotFound")
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
      expect(overlap._tag).toBe("ConstraintViolation")
      expect(overlap._tag === "ConstraintViolation" && overlap.detail).toContain(created.id)
      yield* backfills.revert(created.id)
      const closeReverted = yield* Effect.flip(backfills.close(created.id))
      expect(closeReverted._tag).toBe("ConstraintViolation")
      yield* checkRequests
    }).pipe(Effect.provide(library)))
})
