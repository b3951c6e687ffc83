/**
 * A command declared once: its name, its words and its flags (`Help.Node`), and what it does. The parser
 * (`@effect/cli`'s `Command`), the help (`Help.render`, `Help.scan`) and the root's usage sentence are all read from
 * the one declaration, so that a command cannot be parsed without being described, or described under another name.
 */
import * as Command from "@effect/cli/Command"
import type * as Options from "@effect/cli/Options"
import type * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import type * as Types from "effect/Types"
import * as CliError from "../cliError.js"
import type * as Help from "../help.js"

/** What a command says of itself: `Help.Node` without its children, which `withChildren` adds. */
export interface Declaration<Name extends string, Config> extends Omit<Help.Node, "children" | "config"> {
  readonly name: Name
  readonly config: Config
}

/** A declared command: its parser and its help. */
export interface Defined<Name extends string, R, E, A> {
  readonly help: Help.Node
  readonly command: Command.Command<Name, R, E, A>
}

/** Any declared command, for lists of them. */
export type Any = Defined<any, any, any, any>

/** The parser of a declared command. */
type CommandOf<D> = D extends Defined<infer Name, infer R, infer E, infer A> ? Command.Command<Name, R, E, A> : never

/** Every command takes `--verbose`: the errors' details and the library's logs. */
type Flagged = Command.Command.Config & { readonly verbose: Options.Options<boolean> }

/**
 * Declares a command: `body` gets the parsed flags; its errors are reported (one sentence, an exit code, the JSON
 * error with `--json`) and the library's logs are shown only with `--verbose`.
 */
export const define = <const Name extends string, const Config extends Flagged, E, R>(
  help: Declaration<Name, Config>,
  body: (flags: Types.Simplify<Command.Command.ParseConfig<Config>>) => Effect.Effect<void, E, R>
) => ({
  help,
  command: Command.make(
    help.name,
    help.config,
    (flags) => {
      const shared = flags as { readonly verbose: boolean; readonly json?: boolean }
      return body(flags).pipe(
        CliError.report(shared),
        Logger.withMinimumLogLevel(shared.verbose ? LogLevel.Debug : LogLevel.None)
      )
    }
  ).pipe(Command.withDescription(help.summary))
})

/** A command with subcommands: the parser's and the help's, in the same order. */
export const withChildren = <
  Name extends string,
  R,
  E,
  A,
  const Children extends readonly [Any, ...Array<Any>]
>(parent: Defined<Name, R, E, A>, children: Children) => ({
  help: { ...parent.help, children: children.map((child) => child.help) } satisfies Help.Node,
  command: parent.command.pipe(
    Command.withSubcommands(
      children.map((child) => child.command) as unknown as { readonly [K in keyof Children]: CommandOf<Children[K]> }
    )
  )
})
