/**
 * `Backfill.splitTimeframe`: consecutive windows that never overlap, cover the timeframe exactly, are at most the
 * maximum long, and fall at whole UTC days where the maximum allows.
 */
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import { Backfill } from "../src/index.js"

const day = 86_400_000
const iso = (millis: number) => new Date(millis).toISOString()
const split = (start: string, end: string, max?: number) =>
  Backfill.splitTimeframe({ timeframeStart: DateTime.unsafeMake(start), timeframeEnd: DateTime.unsafeMake(end) }, max)
    .map((w) => [iso(w.timeframeStart.epochMillis), iso(w.timeframeEnd.epochMillis)])

describe("Backfill.splitTimeframe", () => {
  it("a timeframe within the maximum is its one window; one millisecond more is two", () => {
    assert.deepStrictEqual(split("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"), [
      ["2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z"]
    ])
    assert.deepStrictEqual(split("2026-01-01T00:00:00Z", "2026-02-01T00:00:00.001Z"), [
      ["2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z"],
      ["2026-02-01T00:00:00.000Z", "2026-02-01T00:00:00.001Z"]
    ])
  })

  it("a start within a day: the first window ends at the last midnight in reach, the others run midnight to midnight", () => {
    assert.deepStrictEqual(split("2026-01-01T15:30:00Z", "2026-03-10T06:00:00Z"), [
      ["2026-01-01T15:30:00.000Z", "2026-02-01T00:00:00.000Z"],
      ["2026-02-01T00:00:00.000Z", "2026-03-04T00:00:00.000Z"],
      ["2026-03-04T00:00:00.000Z", "2026-03-10T06:00:00.000Z"]
    ])
  })

  it("half a year in windows of 31 days: six, each at most 31 days, end to end", () => {
    const windows = Backfill.splitTimeframe({
      timeframeStart: DateTime.unsafeMake("2026-01-01T00:00:00Z"),
      timeframeEnd: DateTime.unsafeMake("2026-07-01T00:00:00Z")
    })
    assert.strictEqual(windows.length, 6)
    for (let i = 0; i < windows.length; i++) {
      const span = windows[i].timeframeEnd.epochMillis - windows[i].timeframeStart.epochMillis
      assert.isAtMost(span, Backfill.maxTimeframeMillis)
      assert.strictEqual(windows[i].timeframeStart.epochMillis % day, 0)
      if (i > 0) assert.strictEqual(windows[i].timeframeStart.epochMillis, windows[i - 1].timeframeEnd.epochMillis)
    }
    assert.strictEqual(windows[5].timeframeEnd.epochMillis, Date.parse("2026-07-01T00:00:00Z"))
  })

  it("a maximum under a day cuts at the maximum itself", () => {
    assert.deepStrictEqual(split("2026-01-01T00:00:00Z", "2026-01-01T20:00:00Z", 8 * 3_600_000), [
      ["2026-01-01T00:00:00.000Z", "2026-01-01T08:00:00.000Z"],
      ["2026-01-01T08:00:00.000Z", "2026-01-01T16:00:00.000Z"],
      ["2026-01-01T16:00:00.000Z", "2026-01-01T20:00:00.000Z"]
    ])
  })
})

describe("Backfill.windowOf", () => {
  it("the window holding an instant: a start is its window's, an end the next's; outside, the nearest", () => {
    const windows = Backfill.splitTimeframe({
      timeframeStart: DateTime.unsafeMake("2026-07-01T00:00:00Z"),
      timeframeEnd: DateTime.unsafeMake("2026-10-04T00:00:00Z")
    })
    const at = (text: string) => Backfill.windowOf(windows, Date.parse(text))
    assert.strictEqual(at("2026-07-01T00:00:00Z"), 0)
    assert.strictEqual(at("2026-07-31T23:59:59.999Z"), 0)
    assert.strictEqual(at("2026-08-01T00:00:00Z"), 1)
    assert.strictEqual(at("2026-10-03T23:59:59Z"), 3)
    assert.strictEqual(at("2026-06-30T00:00:00Z"), 0)
    assert.strictEqual(at("2026-12-01T00:00:00Z"), 3)
  })
})
