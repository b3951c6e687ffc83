import type { Backfill } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import type { DurableRun } from "@effect-orb/workflow"
import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import type * as Backend from "../src/Backend.js"
import * as Progress from "../src/internal/progress.js"
import * as Output from "../src/Output.js"
import { cliForked, ndjson, simulator, tempFile, timeframe } from "./support.js"

describe("Progress", () => {
  it("formats counts and durations", () => {
    assert.strictEqual(Progress.count(1234567), "1,234,567")
    assert.strictEqual(Progress.duration(850), "850ms")
    assert.strictEqual(Progress.duration(12_400), "12s")
    assert.strictEqual(Progress.duration(185_000), "3m 05s")
    assert.strictEqual(Progress.duration(3_720_000), "1h 02m")
    assert.strictEqual(Progress.duration(Number.NaN), "?")
  })

  it("draws a bar with events, rate and ETA that fits the terminal", () => {
    const view = { accepted: 45_000, failed: 0, total: 100_000, elapsedMillis: 4_500 }
    const line = Progress.ingestBar(view, 100)
    assert.match(line, /^Sending {2}\[█+░+\] {3}45% {2}45,000\/100,000 events {2}10,000\/s {2}ETA 6s$/)
    assert.isAtMost(line.length, 99)
    assert.strictEqual(Progress.bar(0.5, 10), "█████░░░░░")
    assert.strictEqual(Progress.bar(2, 4), "████")
    assert.isAtMost(Progress.ingestBar(view, 40).length, 39)
  })

  it("writes plain lines for logs", () => {
    assert.strictEqual(
      Progress.ingestLine({ accepted: 45_000, failed: 3, total: 100_000, elapsedMillis: 4_500 }),
      "sent 45,000 of 100,000 events (45%), 10,000 events/s, ETA 5s, 3 skipped"
    )
    assert.strictEqual(
      Progress.ingestLine({ accepted: 10, failed: 0, total: undefined, elapsedMillis: 0 }),
      "sent 10 events, 0 events/s"
    )
    assert.strictEqual(
      Progress.waitingLine("backfill bf_1", 3_000),
      "Waiting for Orb to mark backfill bf_1 reflected… 3s"
    )
  })
})

// The reporter under the TestClock: what it prints while nothing moves, and the rate and ETA from a recent window.
describe("Progress.reporter never goes silent", () => {
  type Snapshot = Backend.TrafficSnapshot
  const quiet: Snapshot = { inFlight: 0, oldestSentAt: undefined, lastTrouble: undefined, lastSuccessAt: undefined }

  const setup = (mode: Progress.Mode, options: Partial<Parameters<typeof Progress.reporter>[2]> = {}) =>
    Effect.gen(function*() {
      const memory = Output.memory({ isTTY: mode === "tty", columns: 100 })
      let snapshot: Snapshot = quiet
      const traffic: Backend.Traffic = { current: Effect.sync(() => snapshot) }
      const reporter = yield* Progress.reporter(mode, 3_000, { traffic, ...options }).pipe(
        Effect.provideService(Output.Output, memory.output)
      )
      const ingest = (accepted: number) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          reporter.onProgress({
            stage: "ingesting",
            backfillId: "bf_1" as Backfill.BackfillId,
            ingest: {
              read: accepted,
              accepted,
              failed: 0,
              batches: accepted / 500,
              retries: 0,
              rateLimited: 0,
              elapsedMillis: now
            },
            windows: []
          }))
      return { memory, reporter, ingest, set: (next: Partial<Snapshot>) => void (snapshot = { ...snapshot, ...next }) }
    })

  it.scoped("piped: a plain line every 10 s while a batch waits on a 429, saying so and for how long", () =>
    Effect.gen(function*() {
      const { ingest, memory, set } = yield* setup("plain")
      yield* ingest(500)
      const before = memory.stderr()
      set({
        lastSuccessAt: 0,
        lastTrouble: { at: 1_000, status: 429, retryAfterMillis: 30_000, method: "POST", path: "/v1/ingest" }
      })
      yield* TestClock.adjust("9 seconds")
      assert.strictEqual(memory.stderr(), before)
      yield* TestClock.adjust("1 second")
      const lines = memory.stderr().slice(before.length).trimEnd().split("\n")
      assert.strictEqual(lines.length, 1)
      assert.match(
        lines[0],
        /^sent 500 of 3,000 events \(16%\).*; no progress for 10s: rate limited by Orb \(HTTP 429\), holding back 21s more$/
      )
      yield* TestClock.adjust("10 seconds")
      const more = memory.stderr().slice(before.length).trimEnd().split("\n")
      assert.strictEqual(more.length, 2)
      assert.match(more[1], /no progress for 20s: rate limited by Orb \(HTTP 429\), holding back 11s more$/)
    }))

  it.scoped("names a retry after a 5xx or a 409, a slow answer, and the pace", () =>
    Effect.gen(function*() {
      const { ingest, memory, set } = yield* setup("plain", {
        quota: { eventsPerMinute: 2_000, requestsPerSecond: 10 },
        batchSize: 500
      })
      yield* ingest(500)
      yield* TestClock.adjust("10 seconds")
      assert.match(memory.stderr(), /no progress for 10s: held back by the pace \(2,000 events a minute\)\n$/)
      set({ lastTrouble: { at: 10_000, status: 409, retryAfterMillis: undefined, method: "POST", path: "/v1/ingest" } })
      yield* TestClock.adjust("10 seconds")
      assert.match(memory.stderr(), /no progress for 20s: Orb answered HTTP 409 \(a conflict\) 10s ago; retrying\n$/)
      set({ lastTrouble: { at: 25_000, status: 503, retryAfterMillis: undefined, method: "POST", path: "/v1/ingest" } })
      yield* TestClock.adjust("10 seconds")
      assert.match(memory.stderr(), /no progress for 30s: Orb answered HTTP 503 5s ago; retrying\n$/)
      set({ lastSuccessAt: 31_000, inFlight: 2, oldestSentAt: 32_000 })
      yield* TestClock.adjust("10 seconds")
      assert.match(memory.stderr(), /no progress for 40s: waiting for Orb's answer \(8s so far\)\n$/)
    }))

  it.scoped("on a terminal the bar keeps redrawing, with the wait, and its rate and ETA come from a recent window", () =>
    Effect.gen(function*() {
      // Orb's test-mode quota: 500 events leave at once, then a batch every 15 s.
      const { ingest, memory, set } = yield* setup("tty", {
        quota: { eventsPerMinute: 2_000, requestsPerSecond: 10 },
        batchSize: 500
      })
      yield* TestClock.adjust("300 millis")
      yield* ingest(500)
      const first = memory.stderr().split("\r\x1b[2K").pop()!
      assert.match(first, /16%/)
      // Never the burst's rate: the ETA is at least what the pace allows (2,500 events at 33 a second).
      const eta = /ETA (\d+)m (\d+)s/.exec(first)
      assert.isNotNull(eta, first)
      assert.isAtLeast(Number(eta![1]) * 60 + Number(eta![2]), 74)
      set({ lastTrouble: { at: 5_000, status: 429, retryAfterMillis: 20_000, method: "POST", path: "/v1/ingest" } })
      yield* TestClock.adjust("14 seconds")
      const stalled = memory.stderr().split("\r\x1b[2K").pop()!
      assert.match(stalled, /16%/)
      assert.match(stalled, /rate limited \(429\), 11s more/)
      // 500 events in 14.3 s: the rate is the recent one, not the first batch's.
      const rate = Number(/ (\d+)\/s/.exec(stalled)![1])
      assert.isAtMost(rate, 40)
      // And the ETA counts down while the paced batch is on its way: 75 s less the 14 s since.
      const later = /ETA (\d+)m (\d+)s/.exec(stalled)!
      assert.approximately(Number(later[1]) * 60 + Number(later[2]), 61, 2)
      for (const line of memory.stderr().split("\r\x1b[2K")) assert.isAtMost(line.length, 99)
    }))

  it.scoped("while awaiting reflection, piped: a line every 10 s", () =>
    Effect.gen(function*() {
      const { memory, reporter } = yield* setup("plain")
      yield* reporter.waiting("backfill bf_1", "reflected")
      assert.strictEqual(memory.stderr(), "Waiting for Orb to mark backfill bf_1 reflected…\n")
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(
        memory.stderr(),
        "Waiting for Orb to mark backfill bf_1 reflected…\nStill waiting for Orb to mark backfill bf_1 reflected… 10s\n"
      )
      yield* reporter.stopWaiting
      yield* TestClock.adjust("30 seconds")
      assert.strictEqual(memory.stderr().split("\n").length, 3)
    }))
})

describe("a resumed durable run's progress", () => {
  /**
   * A plain reporter's lines for a run resumed with backfill `id` over October's first week: the journaled steps its
   * workflow replays (created, its backfill made), then `report`.
   */
  const reported = (id: string, report: Omit<DurableRun.RunProgress, "runKey" | "windows" | "quota" | "batchSize">) =>
    Effect.gen(function*() {
      const memory = Output.memory({ isTTY: false, columns: 100 })
      const traffic: Backend.Traffic = {
        current: Effect.succeed({
          inFlight: 0,
          oldestSentAt: undefined,
          lastTrouble: undefined,
          lastSuccessAt: undefined
        })
      }
      const timeframe = {
        timeframeStart: DateTime.unsafeMake("2026-10-01T00:00:00Z"),
        timeframeEnd: DateTime.unsafeMake("2026-10-08T00:00:00Z")
      }
      const base = { runKey: "run-resumed", quota: false as const, batchSize: 500, position: 0, size: report.size }
      const counts = { read: 0, accepted: 0, failed: 0 }
      yield* Effect.gen(function*() {
        const reporter = yield* Progress.reporter("plain", undefined, { traffic, resumed: true })
        yield* reporter.onRun({ ...base, ...counts, stage: "creating", windows: [timeframe] })
        yield* reporter.onRun({
          ...base,
          ...counts,
          stage: "creating",
          windows: [{ ...timeframe, backfillId: id, status: "pending" }]
        })
        yield* reporter.onRun({
          ...base,
          windows: [{ ...timeframe, backfillId: id, status: "pending" }],
          ...report
        })
      }).pipe(Effect.provideService(Output.Output, memory.output))
      return memory.stderr()
    })

  it.scoped("its total is estimated from its finished segments, not from the events of the segments in flight", () =>
    Effect.gen(function*() {
      // A file of 1,200,000 bytes (12,000 events): the finished segments read 5,000 events, 500,000 bytes; with the
      // two segments in flight, 9,000 events are done.
      const said = yield* reported("bf_1", {
        stage: "ingesting",
        read: 5_000,
        accepted: 9_000,
        failed: 0,
        position: 500_000,
        size: 1_200_000,
        sending: { since: 0, from: 3_000 }
      })
      // It said 21,600 (9,000 done over 500,000 bytes), then less as the segments finished.
      assert.match(said, /sent 9,000 of 12,000 events \(75%\)/, said)
      // Its backfill was made before this process followed it: named, not said created.
      assert.match(said, /^Backfill bf_1; sending events…$/m, said)
      assert.notInclude(said, "Created backfill")
    }))

  it.scoped("resumed once closed, it says neither that it made its backfill nor that it closed it", () =>
    Effect.gen(function*() {
      const said = yield* reported("bf_2", {
        stage: "awaiting reflection",
        read: 4_000,
        accepted: 4_000,
        failed: 0,
        position: 400_000,
        size: 400_000,
        waiting: { _tag: "Reflection", backfillIds: ["bf_2"] }
      })
      // It said `Created backfill bf_2; sending events…` and `Sent 4,000 events; closed backfill bf_2.`
      assert.notInclude(said, "Created backfill", said)
      assert.notInclude(said, "closed backfill", said)
      assert.include(said, "Waiting for Orb to mark backfill bf_2 reflected", said)
    }))
})

describe("orb-backfill run says what it waits for", () => {
  // Under the TestClock, with the file read for real: small real pauses let the reads go on between the steps.
  const breathe = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 2)))

  it.effect(
    "piped, at --test-mode: a line at least every 10 s, naming the pace, then Orb's 500s",
    () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(Date.parse("2026-10-10T00:00:00Z"))
        const sim = yield* OrbSimulator.OrbSimulator
        const file = tempFile("paced.ndjson", ndjson(1_500))
        const started = yield* cliForked(["run", "--file", file, ...timeframe, "--add", "--test-mode"])
        while (!started.stderr().includes("Created backfill")) {
          yield* TestClock.adjust("100 millis")
          yield* breathe
        }
        for (let i = 0; i < 12; i++) {
          yield* TestClock.adjust("1 second")
          yield* breathe
        }
        assert.match(started.stderr(), /; no progress for 1\ds: held back by the pace \(2,000 events a minute\)$/m)
        // Every request fails from now on: the batch is retried, and the lines say so.
        yield* sim.setFaults({ rate: 1, kinds: ["internal-error"], timing: "before" })
        for (let i = 0; i < 40; i++) {
          yield* TestClock.adjust("1 second")
          yield* breathe
        }
        assert.match(started.stderr(), /; no progress for \d+s: Orb answered HTTP 500 \d+s ago; retrying$/m)
        yield* sim.setFaults(undefined)
        while (Option.isNone(yield* Fiber.poll(started.fiber))) {
          yield* TestClock.adjust("1 second")
          yield* breathe
        }
        assert.strictEqual(yield* Fiber.join(started.fiber), 0, started.stderr())
        // Never 10 s of silence while sending.
        const sending = started.stderr().slice(
          started.stderr().indexOf("Created backfill"),
          started.stderr().indexOf("Sent ")
        )
        assert.isAtLeast(sending.split("\n").length, 4)
      }).pipe(Effect.provide(simulator)),
    30_000
  )
})
