/**
 * A durable run whose create Orb refuses because its timeframe overlaps a pending backfill (in-process: the engine
 * on a real SQLite file, the simulator's test layer, the live clock): it waits, between durable sleeps, for that
 * backfill to be reflected, then creates; or fails naming it once its overlap wait has passed.
 */
import { Backfills, OrbClient } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { DurableEngine, DurableRun, RunSource } from "../src/index.js"
import { runFailure } from "./support/inProcess.js"

const lines = Array.from({ length: 200 }, (_, i) =>
  JSON.stringify({
    event_name: "api_call",
    timestamp: new Date(Date.parse("2026-10-04T00:00:00Z") + i * 60_000).toISOString(),
    external_customer_id: "acme",
    idempotency_key: `overlap-${i}`,
    properties: { units: 1 }
  }))

const library = Backfills.layer.pipe(
  Layer.provideMerge(OrbClient.layer({ apiKey: Redacted.make("sk-sim"), baseUrl: "http://127.0.0.1/v1" })),
  Layer.provideMerge(OrbSimulator.layer({ apiKey: "sk-sim", reflectionDelay: "1 second" })),
  Layer.orDie
)

const engine = (file: string) =>
  DurableRun.layer.pipe(Layer.provideMerge(DurableEngine.layerSqlite({ filename: file })), Layer.orDie)

const spec = (dir: string, overlapWait?: Duration.DurationInput) =>
  Effect.gen(function*() {
    const file = path.join(dir, "events.ndjson")
    fs.writeFileSync(file, lines.join("\n") + "\n")
    return {
      runKey: "overlapping",
      source: yield* RunSource.fromFile(file),
      timeframeStart: DateTime.unsafeMake("2026-10-04T00:00:00Z"),
      timeframeEnd: DateTime.unsafeMake("2026-10-11T00:00:00Z"),
      replaceExistingEvents: false,
      quota: false as const,
      ...(overlapWait !== undefined ? { overlapWait } : {})
    }
  })

/** A pending backfill over 2026-10-01 to 2026-10-08 that closes by itself after `closesIn` milliseconds. */
const blocker = (closesIn: number) =>
  Effect.flatMap(DateTime.now, (now) =>
    Backfills.create({
      timeframeStart: DateTime.unsafeMake("2026-10-01T00:00:00Z"),
      timeframeEnd: DateTime.unsafeMake("2026-10-08T00:00:00Z"),
      replaceExistingEvents: false,
      closeTime: DateTime.add(now, { millis: closesIn })
    }))

const withDir = <A, E, R>(use: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-orb-overlap-"))),
    use,
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )

const creates = Effect.map(
  Effect.flatMap(OrbSimulator.OrbSimulator, (sim) => sim.requests),
  (requests) => requests.filter((r) => r.method === "POST" && r.url === "/v1/events/backfills").map((r) => r.status)
)

describe("a durable run's create over a timeframe that overlaps a pending backfill", () => {
  it.live(
    "waits for it to be reflected, then creates, every event once",
    () =>
      withDir((dir) =>
        Effect.gen(function*() {
          const open = yield* blocker(2_000)
          const payload = yield* DurableRun.payload(yield* spec(dir))
          const started = Date.now()
          const result = yield* DurableRun.execute(payload)
          assert.isAtLeast(Date.now() - started, 3_000, "it waited for the blocker's close and reflection")
          assert.strictEqual(result.status, "reflected")
          assert.strictEqual(result.accepted, 200)
          const sim = yield* OrbSimulator.OrbSimulator
          const all = yield* sim.backfills
          assert.deepStrictEqual(all.map((b) => `${b.id === open.id ? "blocker" : "run"} ${b.status}`).sort(), [
            "blocker reflected",
            "run reflected"
          ])
          const statuses = yield* creates
          // The blocker's create, then the run's: refused, then made once the blocker was reflected.
          assert.strictEqual(statuses[1], 400, "the run's first create was refused")
          assert.strictEqual(statuses[statuses.length - 1], 200)
          assert.strictEqual(statuses.filter((s) => s === 200).length, 2, "one backfill created by the run")
        }).pipe(Effect.provide(engine(path.join(dir, "state.sqlite"))), Effect.provide(library))
      ),
    60_000
  )

  it.live(
    "reports its progress as it goes: the backfill it waits for, the events per request, the reflection",
    () =>
      withDir((dir) =>
        Effect.gen(function*() {
          const open = yield* blocker(2_000)
          // 200 events in requests of 20: the journal has one segment, the progress ten steps.
          const payload = yield* DurableRun.payload({ ...(yield* spec(dir)), batchSize: 20, concurrency: 1 })
          const seen: Array<DurableRun.RunProgress> = []
          const watching = yield* DurableRun.progress(payload.runKey).pipe(
            Stream.runForEach((progress) => Effect.sync(() => seen.push(progress))),
            Effect.fork
          )
          const result = yield* DurableRun.execute(payload)
          yield* Effect.sleep("50 millis")
          yield* Fiber.interrupt(watching)
          const waits = seen.flatMap((progress) => progress.waiting === undefined ? [] : [progress.waiting])
          const overlap = waits.find((wait) => wait._tag === "Overlap")
          assert.deepInclude(overlap, { _tag: "Overlap", backfillId: open.id, window: 0 })
          // A wait is reported while its backfill is in the way, not once it is reflected (it said "waiting for ...
          // (reflected) to be reflected or reverted").
          for (const wait of waits) {
            if (wait._tag === "Overlap") assert.oneOf(wait.status, ["pending", "pending_revert"], JSON.stringify(wait))
          }
          const sending = new Set(
            seen.filter((progress) => progress.stage === "ingesting").map((progress) => progress.accepted)
          )
          assert.isAtLeast(sending.size, 10, `accepted as it went: ${[...sending].join(", ")}`)
          assert.isDefined(seen.find((progress) => progress.sending !== undefined)?.sending)
          assert.isTrue(waits.some((wait) => wait._tag === "Reflection" && wait.backfillIds[0] === result.backfillId))
          const last = seen[seen.length - 1]
          assert.deepInclude(last, { stage: "done", accepted: 200, failed: 0, waiting: undefined })
          assert.strictEqual(last.windows[0].backfillId, result.backfillId)
          assert.strictEqual(last.windows[0].status, "reflected")
        }).pipe(
          Effect.provide(
            DurableRun.layer.pipe(
              Layer.provideMerge(
                Layer.merge(
                  DurableEngine.layerSqlite({ filename: path.join(dir, "state.sqlite") }),
                  DurableRun.layerProgress
                )
              ),
              Layer.orDie
            )
          ),
          Effect.provide(library)
        )
      ),
    60_000
  )

  it.live(
    "fails naming the blocker once the overlap wait has passed; nothing created",
    () =>
      withDir((dir) =>
        Effect.gen(function*() {
          const open = yield* blocker(3_600_000)
          const payload = yield* DurableRun.payload(yield* spec(dir, "3 seconds"))
          const failure = yield* runFailure(payload)
          assert.strictEqual(failure.stage, "create")
          assert.include(failure.reason, `backfill ${open.id} (2026-10-01T00:00:00.000Z to 2026-10-08T00:00:00.000Z`)
          assert.include(failure.message, "no backfill was created")
          const sim = yield* OrbSimulator.OrbSimulator
          assert.deepStrictEqual((yield* sim.backfills).map((b) => b.id), [open.id])
        }).pipe(Effect.provide(engine(path.join(dir, "state.sqlite"))), Effect.provide(library))
      ),
    60_000
  )

  it.live("runs of one engine that overlap create in submission order", () =>
    withDir((dir) =>
      Effect.gen(function*() {
        const backfillOver = (start: string, end: string, closesIn: number) =>
          Effect.flatMap(DateTime.now, (now) =>
            Backfills.create({
              timeframeStart: DateTime.unsafeMake(start),
              timeframeEnd: DateTime.unsafeMake(end),
              replaceExistingEvents: false,
              closeTime: DateTime.add(now, { millis: closesIn })
            }))
        // The earlier run waits for a backfill that is reflected late; the later one, for one reflected early.
        yield* backfillOver("2026-10-01T00:00:00Z", "2026-10-03T00:00:00Z", 5_000)
        yield* backfillOver("2026-10-09T00:00:00Z", "2026-10-11T00:00:00Z", 500)
        const runOver = (runKey: string, start: string, end: string) =>
          Effect.gen(function*() {
            const file = path.join(dir, `${runKey}.ndjson`)
            fs.writeFileSync(
              file,
              Array.from({ length: 50 }, (_, i) =>
                JSON.stringify({
                  event_name: "api_call",
                  timestamp: new Date(Date.parse(start) + i * 60_000).toISOString(),
                  external_customer_id: "acme",
                  idempotency_key: `${runKey}-${i}`,
                  properties: { units: 1 }
                })).join("\n") + "\n"
            )
            return yield* DurableRun.payload({
              runKey,
              source: yield* RunSource.fromFile(file),
              timeframeStart: DateTime.unsafeMake(start),
              timeframeEnd: DateTime.unsafeMake(end),
              replaceExistingEvents: false,
              quota: false
            })
          })
        const earlier = yield* runOver("earlier", "2026-10-02T00:00:00Z", "2026-10-06T00:00:00Z")
        const later = yield* runOver("later", "2026-10-05T00:00:00Z", "2026-10-10T00:00:00Z")
        const first = yield* Effect.fork(DurableRun.execute(earlier))
        yield* Effect.sleep("300 millis")
        const second = yield* DurableRun.execute(later)
        const one = yield* Fiber.join(first)
        const sim = yield* OrbSimulator.OrbSimulator
        const all = yield* sim.backfills
        const createdAt = (id: string) => all.find((b) => b.id === id)!.createdAt.epochMillis
        assert.strictEqual(one.status, "reflected")
        assert.strictEqual(second.status, "reflected")
        assert.isBelow(createdAt(one.backfillId), createdAt(second.backfillId), "the earlier run created first")
      }).pipe(Effect.provide(engine(path.join(dir, "state.sqlite"))), Effect.provide(library))
    ), 60_000)
})
