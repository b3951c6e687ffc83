/**
 * The command line's own errors, and how every error becomes one sentence on standard error and an exit
 * code: 0 success, 1 the work failed, 2 bad usage or input (nothing was sent), 130 interrupted.
 */
import * as OrbError from "@effect-orb/backfills/OrbError"
import * as EventFile from "@effect-orb/workflow/EventFile"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Output from "../Output.js"

/**
 * A flag or argument the command cannot use.
 *
 * @category errors
 */
export class UsageError extends Schema.TaggedError<UsageError>("@effect-orb/cli/CliError/UsageError")("UsageError", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

/**
 * The validation pass found invalid lines and `--skip-invalid` was not given: nothing was created.
 *
 * @category errors
 */
export class InvalidLines
  extends Schema.TaggedError<InvalidLines>("@effect-orb/cli/CliError/InvalidLines")("InvalidLines", {
    file: Schema.String,
    invalid: Schema.Number,
    /** The first problem, as `file:line: reason`. */
    first: Schema.String,
    /** What the files hold: a Parquet file rows, a text file lines, both events. Lines when absent. */
    unit: Schema.optional(Schema.Literal("line", "row", "event"))
  })
{
  override get message() {
    const unit = this.unit ?? "line"
    return `${
      this.invalid === 1 ? `1 invalid ${unit}` : `${this.invalid.toLocaleString("en-US")} invalid ${unit}s`
    } in ` +
      `${this.file} (first: ${this.first}); nothing was created. Fix ${
        this.invalid === 1 ? "it" : "them"
      }, or pass --skip-invalid to leave ${this.invalid === 1 ? "it" : "them"} out.`
  }
}

/**
 * A command ended with this exit code, its message already printed.
 *
 * @category errors
 */
export class Exit extends Schema.TaggedError<Exit>("@effect-orb/cli/CliError/Exit")("Exit", { code: Schema.Number }) {}

/**
 * Exit codes.
 *
 * @category constants
 */
export const ExitCode = {
  success: 0,
  failure: 1,
  usage: 2,
  interrupted: 130
} as const

// Refused before anything was sent: the input is at fault, not the work.
const usageTags: ReadonlySet<string> = new Set(
  [UsageError, InvalidLines, EventFile.InputError, EventFile.UnsupportedFormat, OrbError.InvalidInput].map((error) =>
    error._tag
  )
)

const tagOf = (error: unknown): string | undefined =>
  Predicate.hasProperty(error, "_tag") && typeof error._tag === "string" ? error._tag : undefined

/**
 * The exit code for a failure.
 *
 * @category errors
 */
export const exitCodeOf = (error: unknown): number => {
  const tag = tagOf(error)
  if (tag === "Exit") return (error as Exit).code
  return tag !== undefined && usageTags.has(tag) ? ExitCode.usage : ExitCode.failure
}

/**
 * Text from a file or a server made safe for a terminal: control characters (an escape sequence in a binary file
 * would clear the screen or change its colours), line breaks and the bidirectional overrides are written as
 * escapes (`\x1b`, `\n`, `\u{202e}`), so that what is shown is one line and what it says.
 *
 * @category errors
 */
export const printable = (text: string): string =>
  // eslint-disable-next-line no-control-regex -- the control characters are what it looks for
  text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const code = c.charCodeAt(0)
    return c === "\n" ? "\\n" : c === "\t" ? "\\t" : c === "\r" ? "\\r" : code < 0x100
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u{${code.toString(16)}}`
  })

/**
 * The flags that set the library's fields, for the command line's messages: `--end`, not `timeframeEnd`.
 *
 * @category errors
 */
export const flagOfField: Readonly<Record<string, string>> = {
  timeframeStart: "--start",
  timeframeEnd: "--end",
  replaceExistingEvents: "--replace or --add",
  customerId: "--customer-id",
  externalCustomerId: "--external-customer-id",
  closeTime: "--close-time",
  deprecationFilter: "--deprecation-filter",
  batchSize: "--batch-size",
  concurrency: "--concurrency",
  quota: "--events-per-minute and --requests-per-second",
  maxTimeframe: "--max-window",
  id: "ID"
}

const fieldNames = new RegExp(`\\b(${Object.keys(flagOfField).filter((field) => field !== "id").join("|")})\\b`, "g")

const textOf = (error: unknown): string => {
  const tag = tagOf(error)
  if (tag === "InvalidInput" && Predicate.hasProperty(error, "field") && Predicate.hasProperty(error, "reason")) {
    const field = String(error.field)
    const flag = flagOfField[field]
    const reason = String(error.reason).replace(fieldNames, (name) => flagOfField[name])
    if (flag !== undefined) return `${flag}: ${reason}`
  }
  if (tag === "DecodeError" && Predicate.hasProperty(error, "excerpt")) {
    // Its `reason` is the schema's complaint, a tree of lines: under --verbose, with the other fields.
    const { excerpt, method, path, status } = error as unknown as Record<string, unknown>
    return `Unexpected response (HTTP ${status}) to ${method} ${path}: not what Orb's API returns (the details ` +
      `with --verbose); body starts with ${JSON.stringify(excerpt)}`
  }
  if (tag === "StateLocked" && Predicate.hasProperty(error, "message")) {
    return `${String(error.message)}, or give this command another state file with --state PATH`
  }
  if (tag === "StateDamaged" && Predicate.hasProperty(error, "message")) {
    // Its runs' backfills are in Orb whatever became of the file: the operator can still find and undo them.
    return `${String(error.message)}. Give the right file with --state PATH, or restore it from a backup; the ` +
      "backfills its runs made are in Orb (orb-backfill list)"
  }
  return error instanceof Error || Predicate.hasProperty(error, "message")
    ? String((error as { message: unknown }).message)
    : String(error)
}

/**
 * The one sentence shown for a failure: one line, its flags named as on the command line, printable.
 *
 * @category errors
 */
export const messageOf = (error: unknown): string => {
  const text = textOf(error).trim()
  const sentence = printable(text.length > 0 ? text : String(tagOf(error) ?? "unknown error"))
  return /[.!?]\)?$/.test(sentence) ? sentence : `${sentence}.`
}

const detailOf = (error: unknown): string => {
  try {
    return JSON.stringify(
      error,
      // Not the stack, nor the type ids (`~@effect-orb/...`) the errors carry for `isOrbError`.
      (key, value) =>
        key === "stack" || key.startsWith("~")
          ? undefined
          : value instanceof Error
          ? { ...value, message: value.message }
          : value,
      2
    )
  } catch {
    return String(error)
  }
}

/**
 * A failure as `--json` prints it: its tag, its sentence and its exit code.
 *
 * @category errors
 */
export const json = (error: unknown, message = messageOf(error)) => ({
  error: { tag: tagOf(error) ?? "Defect", message, exitCode: exitCodeOf(error) }
})

/**
 * Turns a command's failure into its one sentence on standard error (with details under `--verbose`, and a
 * JSON document on standard output under `--json`) and an {@link Exit}. An interruption passes through.
 *
 * @category errors
 */
export const report =
  (options: { readonly verbose: boolean; readonly json?: boolean | undefined }) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, Exit, R | Output.Output> =>
    Effect.catchAllCause(effect, (cause) => {
      if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
      return Effect.gen(function*() {
        const failure = Cause.failureOption(cause)
        if (Option.isSome(failure) && tagOf(failure.value) === "Exit") return yield* (failure.value as Exit)
        const error = Option.isSome(failure) ? failure.value : Cause.squash(cause)
        const code = Option.isSome(failure) ? exitCodeOf(error) : ExitCode.failure
        const message = Option.isSome(failure) ? messageOf(error) : `Unexpected error: ${messageOf(error)}`
        yield* Output.note(`Error: ${message}`)
        if (options.verbose) {
          yield* Output.note(Option.isSome(failure) ? detailOf(error) : Cause.pretty(cause))
        } else if (Option.isNone(failure)) {
          yield* Output.note("Run again with --verbose for details.")
        }
        if (options.json) {
          const document = json(error, message)
          yield* Output.line(JSON.stringify({ error: { ...document.error, exitCode: code } }))
        }
        return yield* new Exit({ code })
      })
    })
