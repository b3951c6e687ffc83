/**
 * `pnpm simulate`: serves the simulator on 127.0.0.1 until stopped.
 *
 * ```
 * pnpm simulate --port 4010 --api-key KEY --reflection-delay 2s --revert-delay 2s \
 *   --quotas live --fault-rate 0.1 --faults internal-error,drop --fault-timing after --seed 7
 * ```
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { parseArgs } from "node:util"
import * as OrbSimulator from "./OrbSimulator.js"

const usage = "usage: pnpm simulate [--port 4010] [--api-key KEY] [--reflection-delay 5s] [--revert-delay 5s] " +
  "[--quotas live|test] [--fault-rate 0..1] [--faults kind,...] [--fault-timing before|after|random] " +
  "[--fault-delay 2m] [--seed N]"

const faultKinds: ReadonlyArray<OrbSimulator.FaultKind> = [
  "internal-error",
  "unavailable",
  "too-many-requests",
  "conflict",
  "drop",
  "delay"
]

/**
 * A duration flag: a number with a unit (`ms`, `s`, `m`, `h`), e.g. `500ms` or `2s`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseDuration = (flag: string, text: string): Either.Either<Duration.Duration, string> => {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim())
  if (match === null) return Either.left(`--${flag}: expected a duration such as 500ms, 2s, 1m or 1h, got "${text}"`)
  const value = Number(match[1])
  const unit = match[2]
  return Either.right(
    unit === "ms"
      ? Duration.millis(value)
      : unit === "s"
      ? Duration.seconds(value)
      : unit === "m"
      ? Duration.minutes(value)
      : Duration.hours(value)
  )
}

/**
 * The server options from the command line, or a one-line reason they are invalid.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseFlags = (args: ReadonlyArray<string>): Either.Either<OrbSimulator.ServeOptions, string> => {
  let values: Record<string, string | undefined>
  try {
    values = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: "string" },
        "api-key": { type: "string" },
        "reflection-delay": { type: "string" },
        "revert-delay": { type: "string" },
        quotas: { type: "string" },
        "fault-rate": { type: "string" },
        faults: { type: "string" },
        "fault-timing": { type: "string" },
        "fault-delay": { type: "string" },
        seed: { type: "string" }
      }
    }).values as Record<string, string | undefined>
  } catch (error) {
    return Either.left((error as Error).message.split("\n")[0])
  }
  const options: { -readonly [K in keyof OrbSimulator.ServeOptions]: OrbSimulator.ServeOptions[K] } = {}
  const port = values.port ?? "4010"
  if (!/^\d+$/.test(port) || Number(port) > 65535) return Either.left(`--port: expected 0 to 65535, got "${port}"`)
  options.port = Number(port)
  if (values["api-key"] !== undefined) {
    if (values["api-key"].length === 0) return Either.left("--api-key: must not be empty")
    options.apiKey = values["api-key"]
  }
  for (const flag of ["reflection-delay", "revert-delay"] as const) {
    const text = values[flag]
    if (text === undefined) continue
    const parsed = parseDuration(flag, text)
    if (Either.isLeft(parsed)) return Either.left(parsed.left)
    if (flag === "reflection-delay") options.reflectionDelay = parsed.right
    else options.revertDelay = parsed.right
  }
  if (values.quotas !== undefined) {
    if (values.quotas !== "live" && values.quotas !== "test") {
      return Either.left(`--quotas: expected live or test, got "${values.quotas}"`)
    }
    options.quotas = values.quotas
  }
  if (values.seed !== undefined) {
    if (!/^\d+$/.test(values.seed)) return Either.left(`--seed: expected a non-negative integer, got "${values.seed}"`)
    options.seed = Number(values.seed)
  }
  const rateText = values["fault-rate"]
  const faultFlags = ["faults", "fault-timing", "fault-delay"] as const
  if (rateText === undefined) {
    const stray = faultFlags.find((flag) => values[flag] !== undefined)
    return stray === undefined ? Either.right(options) : Either.left(`--${stray}: needs --fault-rate`)
  }
  const rate = Number(rateText)
  if (rateText.trim() === "" || !(rate >= 0 && rate <= 1)) {
    return Either.left(`--fault-rate: expected a number from 0 to 1, got "${rateText}"`)
  }
  let kinds: Array<OrbSimulator.FaultKind> | undefined
  if (values.faults !== undefined) {
    kinds = []
    for (const kind of values.faults.split(",").map((k) => k.trim())) {
      if (!faultKinds.includes(kind as OrbSimulator.FaultKind)) {
        return Either.left(`--faults: unknown fault "${kind}" (expected some of ${faultKinds.join(", ")})`)
      }
      kinds.push(kind as OrbSimulator.FaultKind)
    }
  }
  const timing = values["fault-timing"]
  if (timing !== undefined && timing !== "before" && timing !== "after" && timing !== "random") {
    return Either.left(`--fault-timing: expected before, after or random, got "${timing}"`)
  }
  let delay: Duration.Duration | undefined
  if (values["fault-delay"] !== undefined) {
    const parsed = parseDuration("fault-delay", values["fault-delay"])
    if (Either.isLeft(parsed)) return Either.left(parsed.left)
    delay = parsed.right
  }
  options.faults = { rate, kinds, timing, delay }
  return Either.right(options)
}

const main = Effect.gen(function*() {
  const parsed = parseFlags(process.argv.slice(2))
  if (Either.isLeft(parsed)) {
    yield* Console.error(`simulate: ${parsed.left}`)
    yield* Console.error(usage)
    return yield* Effect.sync(() => process.exit(2))
  }
  const server = yield* OrbSimulator.serve(parsed.right).pipe(
    Effect.catchAll((error) =>
      Effect.zipRight(
        Console.error(
          `simulate: cannot listen on 127.0.0.1:${parsed.right.port}: ${
            error.cause instanceof Error ? error.cause.message : String(error.cause)
          }`
        ),
        Effect.sync(() => process.exit(1))
      )
    )
  )
  yield* Console.log(server.url)
  return yield* Effect.never
}).pipe(Effect.scoped)

if (import.meta.url === `file://${process.argv[1]}`) {
  NodeRuntime.runMain(main, { disablePrettyLogger: true })
}
