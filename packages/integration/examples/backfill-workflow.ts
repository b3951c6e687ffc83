/**
 * A whole backfill against the in-process Orb simulator: create, stream 20,000 events, close, await
 * reflection, then revert. Run it with `npx -y pnpm@10.34.9 example`.
 */
import { Backfill, Backfills, OrbClient } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"

const start = Backfill.unsafeTimestamp("2026-10-01T00:00:00Z")
const customers = ["acme", "globex", "initech"]

// A week of API calls for three customers, one every 30 seconds each.
const events: Stream.Stream<Backfill.IngestEvent> = Stream.range(0, 20_000 - 1).pipe(
  Stream.map((i) => ({
    eventName: "api_call",
    timestamp: DateTime.add(start, { seconds: 30 * Math.floor(i / customers.length) }),
    properties: { units: 1 + (i % 5), region: i % 2 === 0 ? "eu" : "us" },
    externalCustomerId: customers[i % customers.length],
    idempotencyKey: `example-${i}`
  }))
)

const program = Effect.gen(function*() {
  const result = yield* Backfills.run({
    timeframeStart: start,
    timeframeEnd: DateTime.add(start, { days: 7 }),
    replaceExistingEvents: false,
    events,
    expectedEvents: 20_000,
    ingest: { quota: false }, // the simulator runs without Orb's quotas
    onProgress: (progress) => {
      switch (progress.stage) {
        case "waiting":
          return Effect.log(`waiting for overlapping backfill ${progress.blocker.id} to be reflected or reverted`)
        case "created":
          return Effect.log(`created backfill ${progress.backfill.id}`)
        case "ingesting":
          return progress.ingest.batches % 10 === 0
            ? Effect.log(`${progress.ingest.accepted} events accepted`)
            : Effect.void
        case "closed":
          return Effect.log(`closed after ${progress.ingest.accepted} events; waiting for reflection`)
        case "done":
          return Effect.log(`reflected: ${progress.backfill.eventsIngested} events count in usage`)
      }
    }
  })
  const reverted = yield* Backfills.revert(result.backfill.id).pipe(
    Effect.zipRight(Backfills.awaitStatus(result.backfill.id, "reverted"))
  )
  yield* Effect.log(`reverted: backfill ${reverted.id} is ${reverted.status}`)
})

const OrbInProcess = Backfills.layer.pipe(
  Layer.provide(OrbClient.layer({ apiKey: Redacted.make("sk-example") })),
  Layer.provide(OrbSimulator.layer({ apiKey: "sk-example", reflectionDelay: "2 seconds", revertDelay: "1 second" }))
)

Effect.runPromise(program.pipe(Effect.provide(OrbInProcess))).catch((error) => {
  console.error(String(error))
  process.exitCode = 1
})
