/**
 * The command line's help, and a first look at its arguments, from the same definitions as `@effect/cli`'s
 * parser: each command's flags and arguments are read from its `Options` and `Args` (names, values, whether
 * required), so the help cannot drift from what the parser accepts. `@effect/cli`'s own renderer pads its
 * command list to the longest usage line (hundreds of columns), prints ANSI codes into pipes and explains each
 * flag's type in boilerplate; this one wraps to the terminal, in plain text.
 */
import * as Args from "@effect/cli/Args"
import type * as HelpDoc from "@effect/cli/HelpDoc"
import type * as Span from "@effect/cli/HelpDoc/Span"
import * as Options from "@effect/cli/Options"
import type * as Usage from "@effect/cli/Usage"
import * as Option from "effect/Option"

/**
 * A command as its help describes it; `config` is the record of `Options` and `Args` given to `Command.make`.
 */
export interface Node {
  readonly name: string
  /** One line, for the list of commands. */
  readonly summary: string
  /** Whole sentences, for the command's own help (default: the summary). */
  readonly description?: string | undefined
  readonly config: Readonly<Record<string, unknown>>
  /** Groups of boolean flags (long names, without `--`) of which exactly one must be given. */
  readonly oneOf?: ReadonlyArray<ReadonlyArray<string>> | undefined
  readonly children?: ReadonlyArray<Node> | undefined
  /** Paragraphs after the flags. */
  readonly notes?: ReadonlyArray<string> | undefined
}

/**
 * A flag as the help shows it.
 */
export interface Flag {
  /** `--file` */
  readonly long: string
  /** `-f`, ... */
  readonly aliases: ReadonlyArray<string>
  /** `PATH`, `ndjson|csv`; none for a boolean flag. */
  readonly value: string | undefined
  readonly required: boolean
  /** May be given more than once (`Options.repeated`). */
  readonly repeatable: boolean
  readonly description: string
  readonly defaultValue: string | undefined
}

/**
 * A positional argument as the help shows it.
 */
export interface Arg {
  /** `ID` */
  readonly name: string
  readonly required: boolean
  readonly description: string
}

// `@effect/cli` shows a default only when it is an `Option`: the one given to `withDefault` is kept here.
const defaults = new WeakMap<object, string>()

/**
 * `Options.withDefault`, with the default shown in the help.
 */
export const withDefault = <A>(options: Options.Options<A>, value: A, shown = String(value)): Options.Options<A> => {
  const defaulted = Options.withDefault(options, value)
  defaults.set(defaulted, shown)
  return defaulted
}

const spanText = (span: Span.Span): string => {
  switch (span._tag) {
    case "Text":
    case "URI":
      return span.value
    case "Sequence":
      return spanText(span.left) + spanText(span.right)
    case "Highlight":
    case "Strong":
    case "Weak":
      return spanText(span.value)
  }
}

const paragraphs = (doc: HelpDoc.HelpDoc): Array<string> => {
  switch (doc._tag) {
    case "Empty":
      return []
    case "Header":
    case "Paragraph":
      return [spanText(doc.value)]
    case "Sequence":
      return [...paragraphs(doc.left), ...paragraphs(doc.right)]
    case "Enumeration":
      return doc.elements.flatMap(paragraphs)
    case "DescriptionList":
      return doc.definitions.flatMap(([_, block]) => paragraphs(block))
  }
}

// What `@effect/cli` adds to every description: the value's type (always first) and these.
const boilerplate = new Set([
  "This setting is optional.",
  "This option can be set from environment variables.",
  "Will prompt the user for input if this option is not provided.",
  "This option may be repeated zero or more times."
])

/**
 * A help document's text, its paragraphs joined: a parse error's message.
 */
export const docText = (doc: HelpDoc.HelpDoc): string => paragraphs(doc).join(" ").trim()

const descriptionOf = (doc: HelpDoc.HelpDoc) =>
  paragraphs(doc).slice(1).filter((p) => !boilerplate.has(p) && !p.startsWith("This setting is optional.")).join(" ")

const named = (
  usage: Usage.Usage
): { readonly named: Usage.Named; readonly required: boolean; readonly repeatable: boolean } | undefined => {
  switch (usage._tag) {
    case "Named":
      return { named: usage, required: true, repeatable: false }
    case "Optional": {
      const inner = named(usage.usage)
      return inner === undefined ? undefined : { ...inner, required: false }
    }
    case "Repeated": {
      const inner = named(usage.usage)
      return inner === undefined ? undefined : { ...inner, required: false, repeatable: true }
    }
    default:
      return undefined
  }
}

/** How many times a repeatable flag must be given (`Options.atLeast`), 0 for any other. */
const minimumOf = (options: Options.Options<unknown>): number => {
  const min = (options as { readonly _tag?: string; readonly min?: Option.Option<number> }).min
  return (options as { readonly _tag?: string })._tag === "Variadic" && min !== undefined && Option.isOption(min)
    ? Option.getOrElse(min, () => 0)
    : 0
}

/**
 * A flag's help, from its `Options`.
 */
export const flagOf = (options: Options.Options<unknown>): Flag | undefined => {
  const usage = named(Options.getUsage(options))
  if (usage === undefined) return undefined
  const names = usage.named.names
  const long = names.find((name) => name.startsWith("--")) ?? names[0]
  const accepted = usage.named.acceptedValues
  return {
    long,
    aliases: names.filter((name) => name !== long),
    value: Options.isBool(options) || accepted._tag === "None" ? undefined : accepted.value.replace(/ \| /g, "|"),
    // `Options.atLeast(1)`: repeatable, and required.
    required: usage.required || minimumOf(options) > 0,
    repeatable: usage.repeatable,
    description: descriptionOf(Options.getHelp(options)),
    defaultValue: defaults.get(options)
  }
}

/**
 * A positional argument's help, from its `Args`.
 */
export const argOf = (args: Args.Args<unknown>): Arg | undefined => {
  const usage = named(Args.getUsage(args))
  if (usage === undefined) return undefined
  return {
    name: usage.named.names[0].replace(/^<|>$/g, "").toUpperCase(),
    required: usage.required,
    description: descriptionOf(Args.getHelp(args))
  }
}

/**
 * The flags of a command, in the order of its config.
 */
export const flagsOf = (node: Node): ReadonlyArray<Flag> =>
  Object.values(node.config).flatMap((value) => {
    if (!Options.isOptions(value)) return []
    const flag = flagOf(value as Options.Options<unknown>)
    return flag === undefined ? [] : [flag]
  })

/**
 * The positional arguments of a command, in the order of its config.
 */
export const argsOf = (node: Node): ReadonlyArray<Arg> =>
  Object.values(node.config).flatMap((value) => {
    if (!Args.isArgs(value)) return []
    const arg = argOf(value as Args.Args<unknown>)
    return arg === undefined ? [] : [arg]
  })

/**
 * The flags `@effect/cli` handles itself that this command line offers (`--wizard` and `--log-level` are not:
 * the one prompts, the other is overridden by `--verbose`).
 */
export const builtIns: ReadonlyArray<Flag> = [
  {
    long: "--help",
    aliases: ["-h"],
    value: undefined,
    required: false,
    repeatable: false,
    description: "Show this help",
    defaultValue: undefined
  },
  {
    long: "--version",
    aliases: [],
    value: undefined,
    required: false,
    repeatable: false,
    description: "Print the version",
    defaultValue: undefined
  },
  {
    long: "--completions",
    aliases: [],
    value: "sh|bash|fish|zsh",
    required: false,
    repeatable: false,
    description: "Print a completion script for this shell (e.g. orb-backfill --completions bash > " +
      "/etc/bash_completion.d/orb-backfill)",
    defaultValue: undefined
  }
]

// ---------------------------------------------------------------------------------------------------------
// rendering

const append = (target: Array<string>, lines: ReadonlyArray<string>) => {
  for (const line of lines) target.push(line)
}

/**
 * Words of `text` in lines of at most `width` characters (a longer word gets a line of its own, cut).
 */
export const wrap = (text: string, width: number): Array<string> => {
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(/\s+/).filter((w) => w.length > 0)) {
    if (line.length === 0) line = word
    else if (line.length + 1 + word.length <= width) line += ` ${word}`
    else {
      lines.push(line)
      line = word
    }
    while (line.length > width) {
      lines.push(line.slice(0, width))
      line = line.slice(width)
    }
  }
  if (line.length > 0) lines.push(line)
  return lines
}

// A term longer than the cap gets a line of its own, and does not widen the column for the others.
const columnOf = (rows: ReadonlyArray<readonly [string, string]>, width: number) => {
  const cap = Math.max(12, Math.floor(width * 0.36))
  return Math.max(4, ...rows.map(([term]) => term.length).filter((length) => length <= cap))
}

/** Two columns: terms on the left, their text wrapped on the right, or below the term when the terms are wide. */
const table = (
  rows: ReadonlyArray<readonly [string, string]>,
  width: number,
  column = columnOf(rows, width)
): Array<string> => {
  const textWidth = width - 2 - column - 2
  const lines: Array<string> = []
  for (const [term, text] of rows) {
    if (textWidth < 24) {
      append(lines, wrap(term, width - 2).map((l) => `  ${l}`))
      append(lines, wrap(text, width - 6).map((l) => `      ${l}`))
      continue
    }
    const wrapped = wrap(text, textWidth)
    if (term.length > column) {
      lines.push(`  ${term}`)
      append(lines, wrapped.map((l) => `  ${" ".repeat(column)}  ${l}`))
    } else {
      append(lines, wrapped.map((l, i) => `  ${(i === 0 ? term : "").padEnd(column)}  ${l}`))
      if (wrapped.length === 0) lines.push(`  ${term}`)
    }
  }
  return lines
}

const flagTerm = (flag: Flag) =>
  [...flag.aliases, flag.long].join(", ") + (flag.value === undefined ? "" : ` ${flag.value}`)

const flagText = (flag: Flag) =>
  flag.description.length === 0
    ? (flag.defaultValue === undefined ? "" : `Default: ${flag.defaultValue}`)
    : `${flag.description}${/[.!?]$/.test(flag.description) ? "" : "."}` +
      (flag.defaultValue === undefined ? "" : ` Default: ${flag.defaultValue}`)

/** The usage line, wrapped with its continuation indented; `also`: a second form, under the first (no `Usage:`). */
const usageLines = (words: ReadonlyArray<string>, width: number, also = false): Array<string> => {
  const lines: Array<string> = []
  let line = also ? "      " : "Usage:"
  for (const word of words) {
    if (line.length + 1 + word.length <= width || line.trim().length === 0) line += ` ${word}`
    else {
      lines.push(line)
      line = `       ${word}`
    }
  }
  lines.push(line)
  return lines
}

/**
 * The help of the command at `path` (its names from the program's), for a terminal `columns` wide (at most 100
 * are used: longer lines are hard to read).
 */
export const render = (program: string, path: ReadonlyArray<Node>, columns: number): string => {
  const width = Math.max(40, Math.min(100, columns > 0 ? columns : 80))
  const node = path[path.length - 1]
  const isRoot = path.length === 1
  const command = [program, ...path.slice(1).map((n) => n.name)].join(" ")
  const flags = flagsOf(node)
  const args = argsOf(node)
  const grouped = new Set((node.oneOf ?? []).flat().map((name) => `--${name}`))
  const required = flags.filter((flag) => flag.required)
  const others = flags.filter((flag) => !flag.required && !grouped.has(flag.long))
  const children = node.children ?? []
  const out: Array<string> = []

  // Usage
  if (isRoot) {
    append(out, usageLines([program, "<command>", "[flags]"], width))
  } else {
    append(
      out,
      usageLines(
        [
          command,
          ...required.map((flag) => flagTerm({ ...flag, aliases: [] })),
          ...(node.oneOf ?? []).map((group) => `(${group.map((name) => `--${name}`).join(" | ")})`),
          ...args.map((arg) => (arg.required ? arg.name : `[${arg.name}]`)),
          ...(others.length > 0 ? ["[flags]"] : [])
        ],
        width
      )
    )
    if (children.length > 0) append(out, usageLines([command, "<command>", "[flags]"], width, true))
  }
  out.push("")
  append(out, wrap(node.description ?? node.summary, width))

  if (children.length > 0) {
    out.push("", "Commands:")
    const rows: Array<[string, string]> = []
    const walk = (nodes: ReadonlyArray<Node>, prefix: string) => {
      for (const child of nodes) {
        rows.push([`${prefix}${child.name}`, child.summary])
        if (isRoot) walk(child.children ?? [], `${prefix}${child.name} `)
      }
    }
    walk(children, "")
    append(out, table(rows, width))
  }
  if (args.length > 0) {
    out.push("", "Arguments:")
    append(out, table(args.map((arg) => [arg.name, arg.description + (arg.required ? "" : " (optional)")]), width))
  }
  if (required.length > 0 || (node.oneOf ?? []).length > 0) {
    out.push("", "Required flags:")
    // One table, so that the groups' flags line up with the others; a group's heading goes before its rows.
    const rows: Array<readonly [string, string]> = required.map((flag) => [flagTerm(flag), flagText(flag)])
    const headings = new Map<number, string>()
    for (const group of node.oneOf ?? []) {
      headings.set(rows.length, "  One of these is required:")
      for (const flag of group.flatMap((name) => flags.filter((f) => f.long === `--${name}`))) {
        rows.push([flagTerm(flag), flagText(flag)])
      }
    }
    rows.forEach((row, i) => {
      const heading = headings.get(i)
      if (heading !== undefined) out.push(heading)
      append(out, table([row], width, columnOf(rows, width)))
    })
  }
  const shownBuiltIns = isRoot ? builtIns : builtIns.slice(0, 1)
  out.push("", required.length > 0 || (node.oneOf ?? []).length > 0 ? "Other flags:" : "Flags:")
  append(out, table([...others, ...shownBuiltIns].map((flag) => [flagTerm(flag), flagText(flag)]), width))
  for (const note of node.notes ?? []) append(out, ["", ...wrap(note, width)])
  if (children.length > 0) {
    append(out, ["", ...wrap(`Run '${command} <command> --help' for a command's flags.`, width)])
  }
  return out.join("\n")
}

// ---------------------------------------------------------------------------------------------------------
// a first look at the arguments

/**
 * What the arguments ask for, as far as their shape tells: which command, whether help was asked for, whether
 * `--json` was given, and the first problem a parser would find (an unknown flag or command, a flag given twice
 * or without its value, a missing required flag or argument), in words that name the flags.
 */
export interface Scan {
  readonly path: ReadonlyArray<Node>
  readonly help: boolean
  /** `--version` was given. */
  readonly version: boolean
  readonly json: boolean
  /** The problem, as the sentence the error shows (without `Error: `). */
  readonly problem: string | undefined
}

const distance = (a: string, b: string): number => {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1))
      previous = current
    }
  }
  return row[b.length]
}

const suggestion = (given: string, names: ReadonlyArray<string>) => {
  const close = names.filter((name) => distance(given, name) <= 2)
  return close.length === 1 ? ` (did you mean ${close[0]}?)` : ""
}

/**
 * A list in words: `--file`, `--file and --end`, `--file, --start and --end`.
 */
export const andList = (items: ReadonlyArray<string>): string =>
  items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`

/**
 * Looks at the arguments (without the program's name) against the command tree rooted at `root`.
 */
export const scan = (program: string, root: Node, argv: ReadonlyArray<string>): Scan => {
  const path: Array<Node> = [root]
  let node = root
  let flags = flagsOf(node)
  let args = argsOf(node)
  let positionals = 0
  let help = false
  let version = false
  let json = false
  let problem: string | undefined
  const seen = new Set<string>()
  const command = () => [program, ...path.slice(1).map((n) => n.name)].join(" ")
  const see = () => `see ${command()} --help`
  const fail = (text: string) => {
    problem ??= text
  }
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]
    if (token === "--") {
      positionals += argv.length - i - 1
      break
    }
    if (token === "--help" || token === "-h") {
      help = true
      continue
    }
    if (token.startsWith("-") && token.length > 1 && !/^-\d/.test(token)) {
      const eq = token.indexOf("=")
      const name = eq === -1 ? token : token.slice(0, eq)
      const flag = flags.find((f) => f.long === name || f.aliases.includes(name)) ??
        builtIns.find((f) => f.long === name)
      if (flag === undefined) {
        const known = [...flags, ...builtIns].flatMap((f) => [f.long, ...f.aliases])
        fail(`unknown flag ${name} for ${command()}${suggestion(name, known)}; ${see()}`)
        continue
      }
      if (flag.long === "--version") version = true
      if (flag.long === "--json") json = true
      if (seen.has(flag.long) && !flag.repeatable) fail(`${flag.long} is given twice`)
      seen.add(flag.long)
      if (flag.value !== undefined && eq === -1) {
        const value = argv[i + 1]
        if (
          value === undefined || value === "--help" || value === "-h" || (value.startsWith("--") && value.length > 2)
        ) {
          fail(`${flag.long} needs a value (${flag.value})`)
        } else {
          i++
        }
      }
      continue
    }
    const child = positionals === 0 ? (node.children ?? []).find((c) => c.name === token) : undefined
    if (child !== undefined) {
      path.push(child)
      node = child
      flags = flagsOf(node)
      args = argsOf(node)
      seen.clear()
      continue
    }
    if (args.length === 0 && (node.children ?? []).length > 0 && positionals === 0) {
      fail(
        `unknown command '${token}' for ${command()}: use one of ${
          andList((node.children ?? []).map((c) => c.name)).replace(/ and /, " or ")
        }; ${see()}`
      )
    } else if (positionals >= args.length) {
      fail(
        args.length === 0
          ? `${command()} takes no argument, got '${token}'; ${see()}`
          : `unexpected argument '${token}' (${command()} takes ${
            args.map((a) => a.required ? a.name : `[${a.name}]`).join(" ")
          })`
      )
    }
    positionals++
  }
  if (problem === undefined && !help && !version) {
    const missing = flags.filter((flag) => flag.required && !seen.has(flag.long)).map((flag) => flag.long)
    const missingArgs = args.slice(positionals).filter((arg) => arg.required).map((arg) => arg.name)
    if (missing.length > 0) {
      fail(`${command()} needs ${andList(missing)}; ${see()}`)
    } else if (missingArgs.length > 0) {
      fail(
        `${command()} needs ${andList(missingArgs)} (${command()} ${
          args.map((a) => a.required ? a.name : `[${a.name}]`).join(" ")
        })`
      )
    }
  }
  return { path, help, version, json, problem }
}
