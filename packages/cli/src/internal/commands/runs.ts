/**
 * `orb-backfill runs`: the durable runs of a state file or database, and `runs cancel`, `runs prune`.
 */
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Lazy from "../lazy.js"
import { announce, needsDurableBackend } from "./backend.js"
import { define, withChildren } from "./define.js"
import * as Flags from "./flags.js"
import { usage } from "./parse.js"

const cancel = define(
  {
    name: "cancel",
    summary: "Revert a durable run's backfill and end the run",
    config: {
      run: Flags.runKey,
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
      yield* Durable.cancel(yield* Flags.where(flags), flags.run, flags.json)
    })
)

const prune = define(
  {
    name: "prune",
    summary: "Forget durable runs that finished long ago",
    description: "Forget the durable runs that finished long ago. Unfinished runs, and failed ones that may have " +
      "left a backfill open, are kept.",
    config: {
      olderThan: Options.integer("older-than").pipe(
        Options.withPseudoName("DAYS"),
        Options.withDescription("Forget the runs that finished more than this many days ago (0: every finished run)")
      ),
      state: Flags.state,
      database: Flags.database,
      json: Flags.json,
      verbose: Flags.verbose
    }
  },
  (flags) =>
    Effect.gen(function*() {
      if (!(Number.isInteger(flags.olderThan) && flags.olderThan >= 0 && flags.olderThan <= 36_500)) {
        return yield* usage(`--older-than: expected a number of days from 0 to 36,500, got ${flags.olderThan}`)
      }
      const Durable = yield* Lazy.durable
      yield* Durable.prune(yield* Flags.where(flags), flags.olderThan, flags.json)
    })
)

export const runs = withChildren(
  define(
    {
      name: "runs",
      summary: "List the durable runs of the state file (or database) and their progress",
      description: "List the durable runs of the state file, or of the database with --database, and their " +
        "progress: stage, events accepted, share of the file done, and on a database the worker that holds each " +
        "unfinished run.",
      config: { state: Flags.state, database: Flags.database, json: Flags.json, verbose: Flags.verbose }
    },
    (flags) =>
      Effect.gen(function*() {
        const Durable = yield* Lazy.durable
        yield* Durable.list(yield* Flags.where(flags), flags.json)
      })
  ),
  [cancel, prune]
)
