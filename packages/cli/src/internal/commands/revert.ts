/**
 * `orb-backfill revert`: a backfill's events stop counting.
 */
import { Backfills } from "@effect-orb/backfills"
import * as Effect from "effect/Effect"
import * as Output from "../../Output.js"
import * as Render from "../render.js"
import { announce } from "./backend.js"
import { define } from "./define.js"
import * as Flags from "./flags.js"

export const revert = define(
  {
    name: "revert",
    summary: "Revert a backfill: its events stop counting",
    description: "Revert a backfill: its events stop counting (an open one at once, a reflected one through " +
      "pending_revert).",
    config: { id: Flags.id, wait: Flags.wait("reverted"), json: Flags.json, verbose: Flags.verbose }
  },
  (flags) =>
    Effect.gen(function*() {
      yield* announce
      let backfill = yield* Backfills.revert(flags.id)
      if (!flags.json) {
        yield* Output.note(
          backfill.status === "reverted"
            ? `Reverted backfill ${backfill.id}.`
            : `Reverting backfill ${backfill.id} (${backfill.status}).`
        )
      }
      if (flags.wait && backfill.status !== "reverted") {
        backfill = yield* Flags.awaitWithProgress(flags.id, "reverted", flags.json)
      }
      yield* Output.line(flags.json ? JSON.stringify(Render.backfillJson(backfill)) : Render.backfillSummary(backfill))
    })
)
