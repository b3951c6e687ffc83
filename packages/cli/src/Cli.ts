/**
 * The `orb-backfill` command: `run`, `list`, `show`, `close`, `revert`, `watch`, `verify`, `simulate` and `demo`, built
 * with `@effect/cli`. {@link run} takes the arguments and answers the exit code, with the backend and the
 * output as services, so that tests run commands in-process against a simulator and read what they print.
 *
 * Each command is declared once, in a module of its own under `internal/commands/`: its flags, its help and what it
 * does; this module gives the command line's public face.
 *
 * @since 0.1.0
 */
import type { Backfills } from "@effect-orb/backfills"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type * as Terminal from "@effect/platform/Terminal"
import type * as Effect from "effect/Effect"
import type * as Backend from "./Backend.js"
import * as Parse from "./internal/commands/parse.js"
import * as Program from "./internal/commands/program.js"
import * as RunCommand from "./internal/commands/run.js"
import * as Simulate from "./internal/commands/simulate.js"
import type * as Output from "./Output.js"

/**
 * A `--start`/`--end`/`--close-time` value: an ISO 8601 date-time (without a zone: UTC), or a date (midnight UTC).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseTime = Parse.parseTime

/**
 * A duration flag: a number with a unit (`ms`, `s`, `m`, `h`), e.g. `500ms` or `2s`, as the simulator's own
 * command line reads it.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseDuration = Parse.parseDuration

/**
 * The flags of `run`, as the parser gives them.
 *
 * @since 0.1.0
 * @category parsing
 */
export type RunFlags = RunCommand.RunFlags

/**
 * What `run`'s flags ask for, checked before anything is read or sent: the run's settings, and for a durable run
 * (against an Orb that outlives the process, unless `--ephemeral`) the state file's flag and the run key. `now`
 * decides whether `--close-time` is in the future; the backend whether the run is durable and the default pace.
 *
 * @since 0.1.0
 * @category parsing
 */
export const runOptions = RunCommand.runOptions

/**
 * The `--csv-type` values (`zip=string`, or several separated by commas) as column types, `undefined` if none.
 *
 * @since 0.2.0
 * @category parsing
 */
export const csvTypesOf = Parse.csvTypesOf

/**
 * The environment variable `simulate` takes its `--api-key` from when the flag is not given.
 *
 * @since 0.1.0
 * @category constants
 */
export const simulatorApiKeyVariable = Simulate.simulatorApiKeyVariable

/**
 * The simulator's server options from `simulate`'s flags.
 *
 * @since 0.1.0
 * @category parsing
 */
export const serveOptions = Simulate.serveOptions

/**
 * The whole command tree.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Program.command

/**
 * What the commands need: the backend (the backfill service and its settings), the output, and the platform
 * services of `@effect/cli` (`NodeContext.layer`).
 *
 * @since 0.1.0
 * @category models
 */
export type Environment =
  | Backfills.Backfills
  | Backend.Backend
  | Output.Output
  | FileSystem.FileSystem
  | Path.Path
  | Terminal.Terminal

/**
 * Runs the command line (`args` without the `node` and script paths) and answers its exit code: 0 success,
 * 1 the work failed, 2 bad usage or input. An interruption (Ctrl-C) interrupts the returned effect after
 * the command said what became of its backfill; `bin.ts` exits with 130 then.
 *
 * @since 0.1.0
 * @category running
 */
export const run: (args: ReadonlyArray<string>) => Effect.Effect<number, never, Environment> = Program.run
