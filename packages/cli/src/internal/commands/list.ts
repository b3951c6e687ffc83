/**
 * `orb-backfill list`: the newest backfills.
 */
import { Backfills } from "@effect-orb/backfills"
import * as Options from "@effect/cli/Options"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Backend from "../../Backend.js"
import * as Output from "../../Output.js"
import * as Help from "../help.js"
import * as Render from "../render.js"
import { announce } from "./backend.js"
import { define } from "./define.js"
import * as Flags from "./flags.js"
import { positive } from "./parse.js"

export const list = define(
  {
    name: "list",
    summary: "List backfills, newest first: open (and when each closes by itself) or closed",
    config: {
      limit: Help.withDefault(
        Options.integer("limit").pipe(
          Options.withPseudoName("N"),
          Options.withDescription("How many backfills to show")
        ),
        20
      ),
      json: Flags.json,
      verbose: Flags.verbose
    }
  },
  (flags) =>
    Effect.gen(function*() {
      yield* announce
      const limit = yield* positive("limit", Option.some(flags.limit))
      const backfills = yield* Backfills.list({ limit: Math.min(limit ?? 20, 100) }).pipe(
        Stream.take(limit ?? 20),
        Stream.runCollect
      )
      const all = Array.from(backfills)
      if (flags.json) return yield* Output.line(JSON.stringify(all.map(Render.backfillJson)))
      if (all.length === 0) {
        const backend = yield* Backend.Backend
        return yield* Output.line(
          backend.kind === "simulator" ? "No backfills (the in-process simulator starts empty)." : "No backfills."
        )
      }
      const now = yield* Clock.currentTimeMillis
      yield* Output.line(Render.backfillTable(all, now))
      // On standard error: the table stays a table for scripts.
      for (const line of Render.closingSoon(all, now)) yield* Output.note(line)
    })
)
