/**
 * `orb-backfill watch`: a backfill's status, a line at each change, until it is reflected or reverted.
 */
import { Backfills } from "@effect-orb/backfills"
import type { Backfill } from "@effect-orb/backfills"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Backend from "../../Backend.js"
import * as Output from "../../Output.js"
import * as Progress from "../progress.js"
import * as Render from "../render.js"
import { announce } from "./backend.js"
import { define } from "./define.js"
import * as Flags from "./flags.js"

const finalStatuses: ReadonlyArray<Backfill.BackfillStatus> = ["reflected", "reverted"]

export const watch = define(
  {
    name: "watch",
    summary: "Follow a backfill's status until it is reflected or reverted",
    description: "Follow a backfill's status until it is reflected or reverted, a line at each change. Stopping " +
      "it changes nothing.",
    config: { id: Flags.id, json: Flags.json, verbose: Flags.verbose }
  },
  (flags) =>
    Effect.gen(function*() {
      yield* announce
      const backend = yield* Backend.Backend
      let last = ""
      const observe = Effect.gen(function*() {
        const backfill = yield* Backfills.fetch(flags.id)
        const line = `${backfill.status}, ${Progress.plural(backfill.eventsIngested, "event")}` +
          Option.match(backfill.closeTime, {
            onNone: () => "",
            onSome: (t) => (backfill.status === "pending" ? `, close time ${Render.time(t)}` : "")
          })
        if (line !== last && !flags.json) {
          last = line
          yield* Output.line(`${Render.time(yield* DateTime.now)}  ${backfill.id}  ${line}`)
        }
        return backfill
      })
      const final = yield* observe.pipe(
        Effect.repeat({
          schedule: Schedule.passthrough(Schedule.spaced(backend.watchInterval)) as Schedule.Schedule<
            Backfill.Backfill,
            Backfill.Backfill
          >,
          until: (backfill) => finalStatuses.includes(backfill.status)
        })
      )
      if (flags.json) yield* Output.line(JSON.stringify(Render.backfillJson(final)))
    })
)
