/**
 * Where the command line writes: standard output for results, standard error for progress, notices and
 * errors. A service, so that tests capture both and decide whether "the terminal" is a TTY.
 *
 * @since 0.1.0
 */
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * @since 0.1.0
 * @category models
 */
export interface Output {
  /** Whether standard error is a terminal: progress is then drawn as a bar that redraws itself. */
  readonly isTTY: boolean
  /** The terminal's width in columns (80 when unknown). */
  readonly columns: number
  readonly stdout: (text: string) => Effect.Effect<void>
  readonly stderr: (text: string) => Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export const Output: Context.Tag<Output, Output> = Context.GenericTag<Output>("@effect-orb/cli/Output")

/**
 * The process's own standard output and error.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerProcess: Layer.Layer<Output> = Layer.sync(Output, () => ({
  isTTY: process.stderr.isTTY === true,
  // A terminal's own width; else `COLUMNS` (a script, `script -c`, an editor's terminal that reports none).
  columns: (process.stderr.columns ?? 0) > 0
    ? process.stderr.columns
    : Number.parseInt(process.env.COLUMNS ?? "", 10) > 0
    ? Number.parseInt(process.env.COLUMNS!, 10)
    : 80,
  stdout: (text) => Effect.sync(() => void process.stdout.write(text)),
  stderr: (text) => Effect.sync(() => void process.stderr.write(text))
}))

/**
 * An output held in memory, for tests.
 *
 * @since 0.1.0
 * @category constructors
 */
export const memory = (options: { readonly isTTY?: boolean; readonly columns?: number } = {}): {
  readonly output: Output
  readonly stdout: () => string
  readonly stderr: () => string
} => {
  let out = ""
  let err = ""
  return {
    output: {
      isTTY: options.isTTY ?? false,
      columns: options.columns ?? 80,
      stdout: (text) => Effect.sync(() => void (out += text)),
      stderr: (text) => Effect.sync(() => void (err += text))
    },
    stdout: () => out,
    stderr: () => err
  }
}

/**
 * Writes a line to standard output.
 *
 * @since 0.1.0
 * @category accessors
 */
export const line = (text: string): Effect.Effect<void, never, Output> =>
  Effect.flatMap(Output, (o) => o.stdout(`${text}\n`))

/**
 * Writes a line to standard error.
 *
 * @since 0.1.0
 * @category accessors
 */
export const note = (text: string): Effect.Effect<void, never, Output> =>
  Effect.flatMap(Output, (o) => o.stderr(`${text}\n`))

/**
 * A `Console` writing to an {@link Output}: `@effect/cli` prints its help and its usage errors through
 * `Console`, and they must land where the rest of the output goes (captured in tests). With `errors: false`, what
 * is written to the console's error stream is dropped (the command line tells `@effect/cli`'s errors itself).
 *
 * @since 0.1.0
 * @category constructors
 */
export const toConsole = (output: Output, options: { readonly errors?: boolean } = {}): Console.Console => {
  const format = (args: ReadonlyArray<unknown>) => args.map((a) => (typeof a === "string" ? a : String(a))).join(" ")
  const out = (...args: ReadonlyArray<unknown>) => output.stdout(`${format(args)}\n`)
  const err = options.errors === false
    ? () => Effect.void
    : (...args: ReadonlyArray<unknown>) => output.stderr(`${format(args)}\n`)
  const unsafeOut = (...args: ReadonlyArray<unknown>) => Effect.runSync(out(...args))
  const unsafeErr = (...args: ReadonlyArray<unknown>) => Effect.runSync(err(...args))
  const noop = () => {}
  return {
    [Console.TypeId]: Console.TypeId,
    assert: (condition, ...args) => (condition ? Effect.void : err(...args)),
    clear: Effect.void,
    count: () => Effect.void,
    countReset: () => Effect.void,
    debug: out,
    dir: (item) => out(item),
    dirxml: out,
    error: err,
    group: () => Effect.void,
    groupEnd: Effect.void,
    info: out,
    log: out,
    table: (data) => out(data),
    time: () => Effect.void,
    timeEnd: () => Effect.void,
    timeLog: () => Effect.void,
    trace: err,
    warn: err,
    unsafe: {
      assert: (condition: unknown, ...args: ReadonlyArray<unknown>) => (condition ? undefined : unsafeErr(...args)),
      clear: noop,
      count: noop,
      countReset: noop,
      debug: unsafeOut,
      dir: unsafeOut,
      dirxml: unsafeOut,
      error: unsafeErr,
      group: noop,
      groupCollapsed: noop,
      groupEnd: noop,
      info: unsafeOut,
      log: unsafeOut,
      table: unsafeOut,
      time: noop,
      timeEnd: noop,
      timeLog: noop,
      trace: unsafeErr,
      warn: unsafeErr
    }
  }
}
