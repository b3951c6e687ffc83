/**
 * A durable run journals its windows as the library's one window-outcome model, `OrbError.RunWindowOutcome`, the one
 * `Backfills.run`'s failures carry too. The results and failures stored by 0.1.0 (each window then a
 * `@effect-orb/workflow/RunWindow`: timeframe, backfill id, accepted, closed, reverted, status) still decode, into
 * that model.
 */
import { OrbError } from "@effect-orb/backfills"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Schema from "effect/Schema"
import { DurableRun } from "../src/index.js"

// As 0.1.0's engine stored them: the encoded side of its RunResult and RunFailed (see git show 945befe).
const windows = [
  {
    timeframeStart: "2026-01-01T00:00:00.000Z",
    timeframeEnd: "2026-02-01T00:00:00.000Z",
    backfillId: "bf_1",
    accepted: 40,
    closed: true,
    reverted: false,
    status: "reflected"
  },
  {
    timeframeStart: "2026-02-01T00:00:00.000Z",
    timeframeEnd: "2026-02-15T00:00:00.000Z",
    backfillId: "bf_2",
    accepted: 2,
    closed: true,
    reverted: false,
    status: "reflected"
  }
]
const storedResult = {
  backfillId: "bf_1",
  status: "reflected",
  read: 43,
  accepted: 42,
  failed: 1,
  segments: 1,
  windows
}
const storedFailure = {
  _tag: "RunFailed",
  runKey: "run-1",
  backfillId: "bf_1",
  stage: "ingest",
  reason: "the source broke",
  reverted: true,
  windows: [
    { ...windows[0], closed: false, reverted: true, status: "reverted" },
    {
      timeframeStart: windows[1].timeframeStart,
      timeframeEnd: windows[1].timeframeEnd,
      accepted: 0,
      closed: false,
      reverted: false
    }
  ]
}

describe("a durable run's windows", () => {
  it("are the library's window outcome", () => {
    assert.strictEqual(DurableRun.RunWindow, OrbError.RunWindowOutcome)
  })

  it("a result stored by 0.1.0 decodes into the one model", () => {
    const result = Schema.decodeUnknownSync(DurableRun.BackfillRun.successSchema)(storedResult)
    assert.instanceOf(result, DurableRun.RunResult)
    assert.strictEqual(result.windows.length, 2)
    for (const window of result.windows) assert.instanceOf(window, OrbError.RunWindowOutcome)
    const [first, second] = result.windows
    assert.strictEqual(DateTime.formatIso(first.timeframeStart), "2026-01-01T00:00:00.000Z")
    assert.strictEqual(first.backfillId, "bf_1")
    assert.strictEqual(first.accepted, 40)
    assert.isTrue(first.closed)
    assert.isFalse(first.reverted)
    assert.strictEqual(first.status, "reflected")
    assert.isUndefined(first.revertFailure)
    assert.strictEqual(second.accepted, 2)
    // Encoded again, it is the shape it was stored in.
    assert.deepStrictEqual<unknown>(Schema.encodeSync(DurableRun.BackfillRun.successSchema)(result), storedResult)
  })

  it("a failure stored by 0.1.0 decodes into the one model, and says what became of each window", () => {
    const failure = Schema.decodeUnknownSync(DurableRun.BackfillRun.errorSchema)(storedFailure)
    assert.instanceOf(failure, DurableRun.RunFailed)
    const each = failure.windows ?? []
    assert.strictEqual(each.length, 2)
    for (const window of each) assert.instanceOf(window, OrbError.RunWindowOutcome)
    assert.isTrue(each[0].reverted)
    assert.isUndefined(each[1].backfillId)
    assert.include(failure.message, "2026-01-01T00:00:00.000Z to 2026-02-01T00:00:00.000Z: backfill bf_1 reverted")
    assert.include(failure.message, "2026-02-01T00:00:00.000Z to 2026-02-15T00:00:00.000Z: no backfill")
  })
})
