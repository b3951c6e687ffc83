/**
 * `orb-backfill show`: one backfill.
 */
import { Backfills } from "@effect-orb/backfills"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Output from "../../Output.js"
import * as Render from "../render.js"
import { announce } from "./backend.js"
import { define } from "./define.js"
import * as Flags from "./flags.js"

export const show = define(
  {
    name: "show",
    summary: "Show one backfill",
    config: { id: Flags.id, json: Flags.json, verbose: Flags.verbose }
  },
  (flags) =>
    Effect.gen(function*() {
      yield* announce
      const backfill = yield* Backfills.fetch(flags.id)
      yield* Output.line(
        flags.json
          ? JSON.stringify(Render.backfillJson(backfill))
          : Render.backfillDetails(backfill, yield* Clock.currentTimeMillis)
      )
    })
)
