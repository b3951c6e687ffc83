/**
 * `orb-backfill worker`: the durable runs of a Postgres database, run until stopped.
 */
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Lazy from "../lazy.js"
import { announce, needsDurableBackend } from "./backend.js"
import { define } from "./define.js"
import * as Flags from "./flags.js"

export const worker = define(
  {
    name: "worker",
    summary: "Run the durable runs of a Postgres database, submitted from any machine, until Ctrl-C",
    description: "Run the durable runs of a Postgres database (--database, or ORB_BACKFILL_DATABASE_URL) until " +
      "Ctrl-C or SIGTERM: runs submitted with orb-backfill run --database from any machine, shared between the " +
      "workers up. It prints each run it picks up and how it ends. Stopped (even by kill -9), its unfinished runs " +
      "move to the other workers, or wait for the next one, and continue where their journal is, sending nothing " +
      "twice.",
    config: {
      database: Flags.database,
      address: Options.text("address").pipe(
        Options.withPseudoName("HOST:PORT"),
        Options.optional,
        Options.withDescription(
          "Where the other workers reach this one (default: this machine's name and a free port)"
        )
      ),
      listen: Options.text("listen").pipe(
        Options.withPseudoName("HOST:PORT"),
        Options.optional,
        Options.withDescription(
          "Where this worker listens, when not its --address (0.0.0.0:PORT in a container, say)"
        )
      ),
      verbose: Flags.verbose
    }
  },
  (flags) =>
    Effect.gen(function*() {
      yield* announce
      yield* needsDurableBackend
      const state = yield* Flags.where({ state: Option.none(), database: flags.database })
      const Worker = yield* Lazy.worker
      yield* Worker.worker({
        state,
        address: Option.getOrUndefined(flags.address),
        listen: Option.getOrUndefined(flags.listen)
      })
    })
)
