/**
 * The command line's own errors, and how every error becomes one sentence on standard error and an exit
 * code: 0 success, 1 the work failed, 2 bad usage or input (nothing was sent), 130 interrupted.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Output from "./Output.js"

/**
 * A flag or argument the command cannot use.
 *
 * @since 0.1.0
 * @category errors
 */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

/**
 * The validation pass found invalid lines and `--skip-invalid` was not given: nothing was created.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidLines extends Schema.TaggedError<InvalidLines>()("InvalidLines", {
  file: Schema.String,
  invalid: Schema.Number,
  /** The first problem, as `file:line: reason`. */
  first: Schema.String
}) {
  override get message() {
    return `${this.invalid === 1 ? "1 invalid line" : `${this.invalid.toLocaleString("en-US")} invalid lines`} in ` +
      `${this.file} (first: ${this.first}); nothing was created. Fix ${
        this.invalid === 1 ? "it" : "them"
      }, or pass --skip-invalid to leave ${this.invalid === 1 ? "it" : "them"} out.`
  }
}

/**
 * A command ended with this exit code, its message already printed.
 *
 * @since 0.1.0
 * @category errors
 */
export class Exit extends Schema.TaggedError<Exit>()("Exit", { code: Schema.Number }) {}

/**
 * Exit codes.
 *
 * @since 0.1.0
 * @category constants
 */
export const ExitCode = {
  success: 0,
  failure: 1,
  usage: 2,
  interrupted: 130
} as const

// Refused before anything was sent: the input is at fault, not the work.
const usageTags = new Set(["UsageError", "InvalidLines", "InputError", "InvalidInput"])

const tagOf = (error: unknown): string | undefined =>
  Predicate.hasProperty(error, "_tag") && typeof error._tag === "string" ? error._tag : undefined

/**
 * The exit code for a failure.
 *
 * @since 0.1.0
 * @category errors
 */
export const exitCodeOf = (error: unknown): number => {
  const tag = tagOf(error)
  if (tag === "Exit") return (error as Exit).code
  return tag !== undefined && usageTags.has(tag) ? ExitCode.usage : ExitCode.failure
}

/**
 * The one sentence shown for a failure.
 *
 * @since 0.1.0
 * @category errors
 */
export const messageOf = (error: unknown): string => {
  const text = error instanceof Error || Predicate.hasProperty(error, "message")
    ? String((error as { message: unknown }).message)
    : String(error)
  const sentence = text.trim().length > 0 ? text.trim() : String(tagOf(error) ?? "unknown error")
  return /[.!?)]$/.test(sentence) ? sentence : `${sentence}.`
}

const detailOf = (error: unknown): string => {
  try {
    return JSON.stringify(
      error,
      (
        key,
        value
      ) => (key === "stack" ? undefined : value instanceof Error ? { ...value, message: value.message } : value),
      2
    )
  } catch {
    return String(error)
  }
}

/**
 * Turns a command's failure into its one sentence on standard error (with details under `--verbose`, and a
 * JSON document on standard output under `--json`) and an {@link Exit}. An interruption passes through.
 *
 * @since 0.1.0
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
          yield* Output.line(JSON.stringify({ error: { tag: tagOf(error) ?? "Defect", message, exitCode: code } }))
        }
        return yield* new Exit({ code })
      })
    })
