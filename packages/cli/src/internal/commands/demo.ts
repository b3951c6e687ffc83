/**
 * `orb-backfill demo`: a whole backfill of generated events against the in-process simulator.
 */
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Backend from "../../Backend.js"
import * as Demo from "../demo.js"
import * as Help from "../help.js"
import { define } from "./define.js"
import * as Flags from "./flags.js"
import { positive } from "./parse.js"

export const demo = define(
  {
    name: "demo",
    summary: "A whole backfill of generated events against the in-process simulator",
    description: "A whole backfill of a week of generated usage against the in-process simulator (never Orb), " +
      "shown and then reverted.",
    config: {
      events: Help.withDefault(
        Options.integer("events").pipe(
          Options.withPseudoName("N"),
          Options.withDescription("About how many events to generate")
        ),
        40_000,
        "40,000"
      ),
      verbose: Flags.verbose
    }
  },
  (flags) =>
    Effect.gen(function*() {
      const events = yield* positive("events", Option.some(flags.events), 1_000_000)
      // The demo always runs in-process, ORB_API_KEY or not: it must never touch a real account.
      yield* Demo.demo({ events }).pipe(Effect.provide(Backend.layerSimulator()))
    })
)
