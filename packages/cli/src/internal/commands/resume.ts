/**
 * `orb-backfill resume`: a durable run continued where it stopped.
 */
import * as Args from "@effect/cli/Args"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Output from "../../Output.js"
import * as Lazy from "../lazy.js"
import { announce, needsDurableBackend } from "./backend.js"
import { define } from "./define.js"
import * as Flags from "./flags.js"

export const resume = define(
  {
    name: "resume",
    summary: "Continue a durable run after a crash or Ctrl-C",
    description: "Continue a durable run after a crash, a deploy or Ctrl-C (or every unfinished run of the state " +
      "file), where it stopped, sending nothing twice.",
    config: {
      run: Flags.runKey.pipe(Args.optional),
      state: Flags.state,
      database: Flags.database,
      json: Flags.json,
      verbose: Flags.verbose
    }
  },
  (flags) =>
    Effect.gen(function*() {
      yield* announce
      yield* needsDurableBackend
      const Durable = yield* Lazy.durable
      const stateFile = yield* Flags.where(flags)
      if (!flags.json) {
        yield* Output.note(`${stateFile.database !== undefined ? "Database" : "State"}: ${stateFile.path}`)
      }
      yield* Durable.resume(stateFile, Option.getOrUndefined(flags.run), flags.json)
    })
)
