/**
 * The durable run's failure has a tag of its own, not the library's `RunFailed`: a `catchTag` names one or the other.
 * A journal written before (its failures tagged `RunFailed`) still decodes.
 */
import { OrbError } from "@effect-orb/backfills"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { DurableRun } from "../src/index.js"

const fields = { runKey: "r", stage: "ingest", reason: "the source broke", reverted: true }

describe("DurableRun.RunFailed", () => {
  it.effect("is tagged DurableRunFailed, apart from the library's RunFailed", () =>
    Effect.gen(function*() {
      const failure = new DurableRun.RunFailed(fields)
      assert.strictEqual(failure._tag, "DurableRunFailed")
      const library = new OrbError.RunFailed({ stage: "ingest", reverted: true, cause: "x" })
      assert.notStrictEqual(failure._tag as string, library._tag)
      const caught = yield* Effect.fail(failure).pipe(
        Effect.catchTag("DurableRunFailed", (error) => Effect.succeed(error.runKey))
      )
      assert.strictEqual(caught, "r")
    }))

  it("a failure journaled under the former tag decodes, and encodes under the new one", () => {
    const decode = Schema.decodeUnknownSync(DurableRun.BackfillRun.errorSchema)
    const old = decode({ _tag: "RunFailed", ...fields })
    assert.instanceOf(old, DurableRun.RunFailed)
    assert.strictEqual(old._tag, "DurableRunFailed")
    assert.strictEqual(old.reason, "the source broke")
    const encoded = Schema.encodeSync(DurableRun.BackfillRun.errorSchema)(old) as { readonly _tag: string }
    assert.strictEqual(encoded._tag, "DurableRunFailed")
    assert.instanceOf(decode(encoded), DurableRun.RunFailed)
  })
})
