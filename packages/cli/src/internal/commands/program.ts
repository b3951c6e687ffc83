/**
 * The command line as a whole: `orb-backfill` over its commands, each declared once (this list's order is the
 * parser's, the help's and the usage sentence's), and the arguments run to an exit code: the help and the version,
 * bad usage told in one sentence naming the flag, the library's logs on standard error.
 */
import * as Command from "@effect/cli/Command"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Option from "effect/Option"
import * as Output from "../../Output.js"
import * as CliError from "../cliError.js"
import * as Help from "../help.js"
import { close } from "./close.js"
import { define, withChildren } from "./define.js"
import { demo } from "./demo.js"
import * as Flags from "./flags.js"
import { list } from "./list.js"
import { usage } from "./parse.js"
import { resume } from "./resume.js"
import { revert } from "./revert.js"
import { run as runCommand } from "./run.js"
import { runs } from "./runs.js"
import { show } from "./show.js"
import { simulate } from "./simulate.js"
import { verify } from "./verify.js"
import { watch } from "./watch.js"
import { worker } from "./worker.js"

/** Every command, in the order the help lists them. */
const commands = [runCommand, runs, resume, worker, list, show, close, revert, watch, verify, simulate, demo] as const

const version = "0.1.0"

/** `a, b or c` */
const orList = (items: ReadonlyArray<string>) => Help.andList(items).replace(/ and (?=[^ ]+$)/, " or ")

const root = withChildren(
  define(
    {
      name: "orb-backfill",
      summary: "Run, list, show, close, revert and watch Orb event backfills",
      description: `orb-backfill ${version}: run, list, show, close, revert and watch Orb event backfills. Against ` +
        "Orb with ORB_API_KEY (and ORB_BASE_URL for another Orb, such as orb-backfill simulate); without " +
        "ORB_API_KEY, every command runs against an in-process Orb simulator that vanishes when the command ends.",
      config: { verbose: Flags.verbose },
      notes: [
        "Results go to standard output, progress and errors to standard error. Exit codes: 0 done, 1 the work " +
        "failed, 2 bad usage or input (nothing was sent), 130 interrupted. More in docs/cli.md."
      ]
    },
    () => usage(`give a command: ${orList(commands.map((c) => c.help.name))} (see orb-backfill --help)`)
  ),
  commands
)

/** The whole command tree, as `@effect/cli` parses it. */
export const command = root.command

const cli = Command.run(command, { name: "orb-backfill", version, executable: "orb-backfill" })

/** Runs the command line (`args` without the `node` and script paths) and answers its exit code. */
export const run = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const output = yield* Output.Output
    const scanned = Help.scan("orb-backfill", root.help, args)
    // The help is rendered here, from the same definitions: @effect/cli's pads its command list to hundreds of
    // columns and prints colour codes into pipes.
    if (scanned.help) {
      yield* Output.line(Help.render("orb-backfill", scanned.path, output.columns))
      return CliError.ExitCode.success
    }
    if (scanned.version && scanned.problem === undefined) {
      yield* Output.line(`orb-backfill ${version}`)
      return CliError.ExitCode.success
    }
    // Bad usage is told as every other error is: one sentence naming the flags, and the JSON error with --json.
    const refuse = (reason: string) =>
      CliError.report({ verbose: false, json: scanned.json })(usage(reason)).pipe(
        Effect.catchAll((exit) => Effect.succeed(exit.code))
      )
    if (scanned.problem !== undefined) return yield* refuse(scanned.problem)
    const logger = Logger.make(({ logLevel, message }) => {
      const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
      Effect.runSync(output.stderr(`[${logLevel.label.toLowerCase()}] ${CliError.printable(text)}\n`))
    })
    return yield* cli(["orb-backfill", "orb-backfill", ...args]).pipe(
      Effect.as(CliError.ExitCode.success),
      Effect.catchAll((error) =>
        ValidationError.isValidationError(error)
          ? refuse(parseProblem(error, scanned.path[scanned.path.length - 1], args))
          : Effect.succeed(error._tag === "Exit" ? error.code : CliError.ExitCode.failure)
      ),
      // @effect/cli prints its parse errors through the console's `error`, in its own words and colours: they are
      // told above instead.
      Effect.withConsole(Output.toConsole(output, { errors: false })),
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      // A fiber of a stream or a race that fails logs "Fiber terminated with an unhandled error" at debug level;
      // its error is the command's, reported once.
      Effect.withUnhandledErrorLogLevel(Option.none())
    )
  })

const articles: Readonly<Record<string, string>> = {
  integer: "an integer",
  float: "a number",
  date: "a date",
  boolean: "true or false"
}

/** The value `flag` was given in `args` (`--flag value` or `--flag=value`). */
const valueOf = (flag: Help.Flag, args: ReadonlyArray<string>): string | undefined => {
  for (let i = 0; i < args.length; i++) {
    const name = args[i].split("=")[0]
    if (name === flag.long || flag.aliases.includes(name)) {
      return args[i].includes("=") ? args[i].slice(args[i].indexOf("=") + 1) : args[i + 1]
    }
  }
  return undefined
}

/**
 * What `@effect/cli`'s parser refused, as one sentence naming the flag: its own words (`'abc' is not a integer`)
 * name the value only. The shape of the arguments was checked before (`Help.scan`): what is left are values.
 */
const parseProblem = (error: ValidationError.ValidationError, node: Help.Node, args: ReadonlyArray<string>) => {
  const text = Help.docText(error.error)
  const flags = Help.flagsOf(node)
  const notA = /^'(.*)' is not an? (\w+)$/s.exec(text)
  if (notA !== null) {
    const flag = flags.find((f) => f.value !== undefined && valueOf(f, args) === notA[1])
    const expected = articles[notA[2]] ?? `a ${notA[2]}`
    return flag === undefined
      ? `expected ${expected}, got '${notA[1]}'`
      : `${flag.long}: expected ${expected}, got '${notA[1]}'`
  }
  const cases = /^Expected one of the following cases: (.*)$/s.exec(text)
  if (cases !== null) {
    const choices = cases[1].split(", ")
    const flag = flags.find((f) => f.value === choices.join("|"))
    const expected = orList(choices)
    return flag === undefined
      ? `expected ${expected}`
      : `${flag.long}: expected ${expected}, got '${valueOf(flag, args) ?? ""}'`
  }
  return text
}
