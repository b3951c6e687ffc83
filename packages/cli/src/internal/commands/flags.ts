/**
 * The flags and arguments several commands share, and what they do: `--verbose`, `--json`, a backfill's id,
 * `--wait`, and the durable runs' `--state`, `--database` and run key.
 */
import { Backfills } from "@effect-orb/backfills"
import type { Backfill } from "@effect-orb/backfills"
import * as Args from "@effect/cli/Args"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Backend from "../../Backend.js"
import * as Output from "../../Output.js"
import * as Lazy from "../lazy.js"
import * as Progress from "../progress.js"

export const verbose = Options.boolean("verbose").pipe(
  Options.withDescription("On failure, print the error's details after its one-line message")
)

export const json = Options.boolean("json").pipe(Options.withDescription("Print one JSON document on standard output"))

export const id = Args.text({ name: "id" }).pipe(Args.withDescription("The backfill's id"))

export const state = Options.text("state").pipe(
  Options.withPseudoName("PATH"),
  Options.optional,
  Options.withDescription(
    "The durable runs' state file (default: $XDG_STATE_HOME/orb-backfill/runs.sqlite, else ~/.local/state/...)"
  )
)

export const database = Options.text("database").pipe(
  Options.withPseudoName("URL"),
  Options.optional,
  Options.withDescription(
    "The durable runs' Postgres database (postgres://USER:PASSWORD@HOST:PORT/DB), shared with orb-backfill worker " +
      "processes on any machine, instead of a state file (default: $ORB_BACKFILL_DATABASE_URL, unless --state)"
  )
)

export const runKey = Args.text({ name: "run" }).pipe(
  Args.withDescription("The durable run's key (see orb-backfill runs)")
)

/** `--wait` until the backfill is `target`. */
export const wait = (target: string) =>
  Options.boolean("wait").pipe(Options.withDescription(`Wait until the backfill is ${target}`))

/** What `--wait` does: follows the backfill until `target`, with the progress on standard error. */
export const awaitWithProgress = (id: string, target: Backfill.BackfillStatus, quiet: boolean) =>
  Effect.scoped(Effect.gen(function*() {
    const backend = yield* Backend.Backend
    const output = yield* Output.Output
    const reporter = yield* Progress.reporter(quiet ? "json" : output.isTTY ? "tty" : "plain", undefined, {
      traffic: backend.traffic
    })
    yield* reporter.waiting(`backfill ${id}`, target)
    return yield* Backfills.awaitStatus(id, target, { schedule: backend.awaitSchedule }).pipe(
      Effect.ensuring(reporter.stopWaiting)
    )
  }))

/** Where a command's runs are, from its `--state` and `--database`. */
export const where = (flags: { readonly state: Option.Option<string>; readonly database: Option.Option<string> }) =>
  Effect.flatMap(
    Lazy.durable,
    (Durable) =>
      Durable.locate({ state: Option.getOrUndefined(flags.state), database: Option.getOrUndefined(flags.database) })
  )
