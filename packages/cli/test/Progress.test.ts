import { assert, describe, it } from "@effect/vitest"
import * as Progress from "../src/Progress.js"

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
