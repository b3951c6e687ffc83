/**
 * `orb-backfill close`: Orb starts reflecting an open backfill.
 */
import { Backfills } from "@effect-orb/backfills"
import * as Effect from "effect/Effect"
import * as Output from "../../Output.js"
import * as Render from "../render.js"
import { announce } from "./backend.js"
import { define } from "./define.js"
import * as Flags from "./flags.js"

export const close = define(
  {
    name: "close",
    summary: "Close an open backfill: Orb starts reflecting its events",
    description: "Close an open backfill: Orb starts reflecting its events (it stays pending until reflected).",
    config: { id: Flags.id, wait: Flags.wait("reflected"), json: Flags.json, verbose: Flags.verbose }
  },
  (flags) =>
    Effect.gen(function*() {
      yield* announce
      let backfill = yield* Backfills.close(flags.id)
      if (!flags.json) yield* Output.note(`Closed backfill ${backfill.id}; Orb is reflecting it.`)
      if (flags.wait) backfill = yield* Flags.awaitWithProgress(flags.id, "reflected", flags.json)
      yield* Output.line(flags.json ? JSON.stringify(Render.backfillJson(backfill)) : Render.backfillSummary(backfill))
    })
)
