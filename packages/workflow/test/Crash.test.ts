/**
 * Durable runs over real processes: a runner process (the library over undici, the engine on a real SQLite file)
 * against the simulator's real server in this process, killed with kill -9 or stopped with SIGTERM at the points
 * that matter, then a new process on the same state file. Every run must end reflected, with exactly one backfill
 * holding every event exactly once.
 */
import type { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { apiKey, eventCount, finish, line, outcome, setup, start, until } from "./support/processes.js"

/** Exactly one backfill, reflected, holding every event of the file exactly once. */
const assertExactlyOnce = (simulator: OrbSimulator.OrbSimulator) =>
  Effect.gen(function*() {
    const backfills = yield* simulator.backfills
    assert.strictEqual(backfills.length, 1, "exactly one backfill was created")
    assert.strictEqual(backfills[0].status, "reflected")
    assert.strictEqual(backfills[0].eventsIngested, eventCount)
    const events = (yield* simulator.events).filter((e) => e.backfillId._tag === "Some")
    assert.strictEqual(events.length, eventCount, "every event recorded once")
    assert.strictEqual(new Set(events.map((e) => e.idempotencyKey)).size, eventCount)
    const requests = yield* simulator.requests
    assert.isFalse(requests.some((r) => r.url.endsWith("/revert")), "nothing was reverted")
  })

const firstBackfill = (simulator: OrbSimulator.OrbSimulator) => Effect.map(simulator.backfills, (all) => all[0])

describe("durable runs over real processes", () => {
  const points: Array<[string, (simulator: OrbSimulator.OrbSimulator) => Effect.Effect<boolean>]> = [
    ["right after the create", (simulator) => Effect.map(firstBackfill(simulator), (b) => b !== undefined)],
    ["mid-segment", (simulator) => Effect.map(firstBackfill(simulator), (b) => (b?.eventsIngested ?? 0) >= 1_200)],
    [
      "after the close, while awaiting reflection",
      (simulator) =>
        Effect.map(simulator.requests, (requests) => requests.some((r) => r.url.endsWith("/close") && r.status === 200))
    ]
  ]
  for (const [point, reached] of points) {
    it.scopedLive(`kill -9 ${point}, then a new process: reflected, one backfill, every event once`, () =>
      Effect.gen(function*() {
        const { env, simulator } = yield* setup
        const first = start({ ...env, MODE: "submit" })
        yield* until(reached(simulator), point)
        first.process.kill("SIGKILL")
        const killed = yield* finish(first)
        assert.strictEqual(killed.signal, "SIGKILL")
        const second = start({ ...env, MODE: "resume" })
        yield* finish(second)
        const result = outcome(second)
        assert.strictEqual(result.outcome, "success", result.error)
        assert.strictEqual(result.result!.status, "reflected")
        assert.strictEqual(result.result!.accepted, eventCount)
        yield* assertExactlyOnce(simulator)
      }))
  }

  it.scopedLive("a gzip file (two members): kill -9 mid-segment, then a new process: every event once", () =>
    Effect.gen(function*() {
      const { dir, env, file, simulator } = yield* setup
      // Its offsets are in the decompressed bytes: the new process decompresses from the start to the journaled one.
      const text = fs.readFileSync(file, "utf8")
      const half = text.indexOf("\n", text.length / 2) + 1
      const gz = path.join(dir, "events.ndjson.gz")
      fs.writeFileSync(gz, Buffer.concat([zlib.gzipSync(text.slice(0, half)), zlib.gzipSync(text.slice(half))]))
      const first = start({ ...env, FILE: gz, MODE: "submit" })
      yield* until(points[1][1](simulator), "mid-segment")
      first.process.kill("SIGKILL")
      assert.strictEqual((yield* finish(first)).signal, "SIGKILL")
      const second = start({ ...env, FILE: gz, MODE: "resume" })
      yield* finish(second)
      const result = outcome(second)
      assert.strictEqual(result.outcome, "success", result.error)
      assert.strictEqual(result.result!.accepted, eventCount)
      yield* assertExactlyOnce(simulator)
    }))

  it.scopedLive(
    "kill -9 while the create waits out an overlap, then a new process: the wait resumes, then creates",
    () =>
      Effect.gen(function*() {
        const { env, simulator } = yield* setup
        // A pending backfill over the run's first days that closes by itself in 20 seconds (a runner takes a few to start).
        const blocker = yield* Effect.promise(() =>
          fetch(`${env.ORB_URL}/events/backfills`, {
            method: "POST",
            headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
            body: JSON.stringify({
              timeframe_start: "2026-09-28T00:00:00Z",
              timeframe_end: "2026-10-02T00:00:00Z",
              replace_existing_events: false,
              close_time: new Date(Date.now() + 20_000).toISOString()
            })
          }).then((response) => response.json() as Promise<{ readonly id: string }>)
        )
        const first = start({ ...env, MODE: "submit" })
        const refused = Effect.map(
          simulator.requests,
          (requests) => requests.some((r) => r.url === "/v1/events/backfills" && r.status === 400)
        )
        yield* until(refused, "the run's create refused")
        yield* Effect.sleep("1 second")
        first.process.kill("SIGKILL")
        assert.strictEqual((yield* finish(first)).signal, "SIGKILL")
        assert.strictEqual((yield* simulator.backfills).length, 1, "nothing created while waiting")
        const second = start({ ...env, MODE: "resume" })
        yield* finish(second)
        const result = outcome(second)
        assert.strictEqual(result.outcome, "success", result.error)
        assert.strictEqual(result.result!.accepted, eventCount)
        const backfills = yield* simulator.backfills
        assert.strictEqual(backfills.length, 2, "the blocker and one backfill of the run")
        const own = backfills.find((b) => b.id !== blocker.id)!
        assert.strictEqual(own.status, "reflected")
        assert.strictEqual(own.eventsIngested, eventCount)
        assert.strictEqual(backfills.find((b) => b.id === blocker.id)!.status, "reflected")
      }),
    120_000
  )

  it.scopedLive("SIGTERM suspends within a few seconds, nothing is reverted, and the run resumes later", () =>
    Effect.gen(function*() {
      const { env, simulator } = yield* setup
      const first = start({ ...env, MODE: "submit" })
      yield* until(points[1][1](simulator), "mid-segment")
      const stopping = Date.now()
      first.process.kill("SIGTERM")
      yield* finish(first)
      const stoppedMillis = Date.now() - stopping
      assert.isBelow(stoppedMillis, 8_000, "stops within a few seconds")
      const second = start({ ...env, MODE: "resume" })
      yield* finish(second)
      assert.strictEqual(outcome(second).outcome, "success", outcome(second).error)
      yield* assertExactlyOnce(simulator)
    }))

  it.scopedLive("a file changed between a crash and the resume is refused, nothing of it sent, the backfill reverted", () =>
    Effect.gen(function*() {
      const { env, file, simulator } = yield* setup
      const first = start({ ...env, MODE: "submit" })
      yield* until(points[1][1](simulator), "mid-segment")
      first.process.kill("SIGKILL")
      yield* finish(first)
      fs.appendFileSync(file, line(eventCount) + "\n")
      const ingestsBefore = (yield* simulator.requests).filter((r) => r.url.startsWith("/v1/ingest")).length
      const second = start({ ...env, MODE: "resume" })
      yield* finish(second)
      const result = outcome(second)
      assert.strictEqual(result.outcome, "failure")
      assert.include(result.error, "changed since the run was submitted")
      assert.include(result.error, "was reverted, so no usage changed")
      const ingestsAfter = (yield* simulator.requests).filter((r) => r.url.startsWith("/v1/ingest")).length
      assert.strictEqual(ingestsAfter, ingestsBefore, "nothing of the changed file was sent")
      assert.strictEqual((yield* firstBackfill(simulator)).status, "reverted")
    }))

  it.scopedLive("a second process on the same state file is refused, naming the first", () =>
    Effect.gen(function*() {
      const { env, simulator } = yield* setup
      // Slow enough (about 10 seconds of ingestion) to be running still when the second process, slow to start on
      // a busy machine, reaches the state file.
      const first = start({ ...env, MODE: "submit", EVENTS_PER_MINUTE: "18000" })
      yield* until(Effect.map(firstBackfill(simulator), (b) => b !== undefined), "the create")
      const second = start({ ...env, MODE: "resume" })
      const refused = yield* finish(second)
      assert.notStrictEqual(refused.code, 0)
      assert.include(second.stderr() + second.stdout(), "is in use by another process")
      assert.include(second.stderr() + second.stdout(), `(process ${first.process.pid} on `)
      yield* finish(first)
      assert.strictEqual(outcome(first).outcome, "success", outcome(first).error)
      yield* assertExactlyOnce(simulator)
    }))
})

describe("a durable run over windows, over real processes", () => {
  const quarterStart = Date.parse("2026-07-01T00:00:00Z")
  const day = 86_400_000
  /** 95 days, unsorted: event i at a slot drawn by a stride coprime with the count. */
  const windowLine = (i: number) =>
    JSON.stringify({
      event_name: "api_call",
      timestamp: new Date(quarterStart + Math.floor((((i * 7_919) % eventCount) * 95 * day) / eventCount))
        .toISOString(),
      external_customer_id: `customer-${i % 3}`,
      idempotency_key: `window-${i}`,
      properties: { units: 1 }
    })

  const setupWindows = Effect.gen(function*() {
    const { dir, env, file, simulator } = yield* setup
    fs.writeFileSync(file, Array.from({ length: eventCount }, (_, i) => windowLine(i)).join("\n") + "\n")
    return { dir, file, simulator, env: { ...env, START: new Date(quarterStart).toISOString(), DAYS: "95" } }
  })

  /** Four backfills, reflected, each event once and in the window that holds it, nothing reverted. */
  const assertWindowsOnce = (simulator: OrbSimulator.OrbSimulator) =>
    Effect.gen(function*() {
      const backfills = yield* simulator.backfills
      assert.strictEqual(backfills.length, 4, "one backfill per window, no other")
      assert.deepStrictEqual(backfills.map((b) => b.status), Array(4).fill("reflected"))
      const byId = new Map(backfills.map((b) => [b.id as string, b]))
      const events = (yield* simulator.events).filter((e) => e.backfillId._tag === "Some")
      assert.strictEqual(events.length, eventCount, "every event recorded once")
      assert.strictEqual(new Set(events.map((e) => e.idempotencyKey)).size, eventCount)
      for (const event of events) {
        const backfill = byId.get(event.backfillId._tag === "Some" ? event.backfillId.value : "")!
        assert.isTrue(
          event.timestamp.epochMillis >= backfill.timeframeStart.epochMillis &&
            event.timestamp.epochMillis < backfill.timeframeEnd.epochMillis
        )
      }
      const requests = yield* simulator.requests
      assert.isFalse(requests.some((r) => r.url.endsWith("/revert")), "nothing was reverted")
    })

  const points: Array<[string, (simulator: OrbSimulator.OrbSimulator) => Effect.Effect<boolean>]> = [
    [
      "mid-segment",
      (simulator) =>
        Effect.map(simulator.backfills, (all) => all.reduce((sum, b) => sum + b.eventsIngested, 0) >= 1_200)
    ],
    [
      "once the first window's close is answered",
      (simulator) =>
        Effect.map(simulator.requests, (requests) => requests.some((r) => r.url.endsWith("/close") && r.status === 200))
    ]
  ]
  for (const [point, reached] of points) {
    it.scopedLive(`kill -9 ${point}, then a new process: four windows reflected, every event once`, () =>
      Effect.gen(function*() {
        const { env, simulator } = yield* setupWindows
        const first = start({ ...env, MODE: "submit" })
        yield* until(reached(simulator), point)
        first.process.kill("SIGKILL")
        assert.strictEqual((yield* finish(first)).signal, "SIGKILL")
        const second = start({ ...env, MODE: "resume" })
        yield* finish(second)
        const result = outcome(second)
        assert.strictEqual(result.outcome, "success", result.error)
        assert.strictEqual(result.result!.accepted, eventCount)
        yield* assertWindowsOnce(simulator)
      }))
  }
})
