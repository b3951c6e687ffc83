/**
 * A batch that fails for good fails the whole ingestion, whichever batch it is and however many are in flight:
 * nothing may be reported as sent that Orb did not accept.
 */
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as Backfill from "../src/Backfill.js"
import * as Backfills from "../src/Backfills.js"
import { inFixtureTime, problem, type Recorded, recordingBackfills, wireBackfill } from "./utils.js"

const batchSize = 10
const batches = 7

const events: Array<Backfill.IngestEvent> = Array.from({ length: batchSize * batches }, (_, i) => ({
  eventName: "api_call",
  timestamp: DateTime.unsafeMake(Date.UTC(2026, 9, 1) + i * 60_000),
  properties: { n: i },
  externalCustomerId: "customer-1",
  idempotencyKey: `event-${i}`
}))

/** Orb as the recording client plays it: the backfill is open; the `failing`-th ingest request is refused. */
const orb = (failing: number) => {
  let posts = 0
  return (request: Recorded) => {
    if (request.method === "GET") return { json: wireBackfill({ close_time: null }) }
    return posts++ === failing
      ? { status: 401, json: problem("401-authentication-error", 401) }
      : { json: { validation_failed: [] } }
  }
}

describe("ingestion when a batch fails for good", () => {
  for (const concurrency of [1, 4]) {
    for (let failing = 0; failing < batches; failing++) {
      it.effect(`concurrency ${concurrency}: request ${failing + 1} of ${batches} refused fails the ingestion`, () =>
        Effect.gen(function*() {
          const { layer, requests } = recordingBackfills(orb(failing))
          const error = yield* Effect.flip(
            Backfills.ingestStream("bf_1", Stream.fromIterable(events), { quota: false, batchSize, concurrency })
          ).pipe(Effect.provide(layer), inFixtureTime)
          assert.strictEqual(error._tag, "AuthenticationError")
          assert.isAtLeast(requests.filter((r) => r.method === "POST").length, failing + 1)
        }))
    }
  }

  it.effect("the encoded form too: the last request refused fails the ingestion", () =>
    Effect.gen(function*() {
      const { layer } = recordingBackfills(orb(batches - 1))
      const wires = events.map((event) => ({
        event_name: event.eventName,
        timestamp: DateTime.formatIso(event.timestamp),
        properties: event.properties,
        external_customer_id: event.externalCustomerId!,
        idempotency_key: event.idempotencyKey!
      }))
      const error = yield* Effect.flip(
        Backfills.ingestEncodedStream("bf_1", Stream.fromIterable(wires), { quota: false, batchSize, concurrency: 4 })
      ).pipe(Effect.provide(layer), inFixtureTime)
      assert.strictEqual(error._tag, "AuthenticationError")
    }))

  it.effect(
    "a refused batch gives back the slot it shared: another ingestion on the same slots still sends",
    () =>
      Effect.gen(function*() {
        const { layer, requests } = recordingBackfills(orb(0))
        // One slot between them: had the refused batch kept it, the second ingestion would wait for ever.
        const slots = yield* Effect.makeSemaphore(1)
        const error = yield* Effect.flip(
          Backfills.ingestStream("bf_1", Stream.fromIterable(events), {
            quota: false,
            batchSize,
            concurrency: 4,
            slots
          })
        ).pipe(Effect.provide(layer), inFixtureTime)
        assert.strictEqual(error._tag, "AuthenticationError")
        const before = requests.filter((r) => r.method === "POST").length
        const summary = yield* Backfills.ingestStream("bf_1", Stream.fromIterable(events), {
          quota: false,
          batchSize,
          concurrency: 4,
          slots
        }).pipe(Effect.provide(layer), inFixtureTime)
        assert.strictEqual(summary.accepted, events.length)
        assert.strictEqual(requests.filter((r) => r.method === "POST").length - before, batches)
      }),
    10_000
  )
})
