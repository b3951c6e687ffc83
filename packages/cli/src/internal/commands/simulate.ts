/**
 * `orb-backfill simulate`: the Orb simulator served on loopback until stopped.
 */
import { OrbSimulator } from "@effect-orb/simulator"
import * as Options from "@effect/cli/Options"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Output from "../../Output.js"
import * as CliError from "../cliError.js"
import * as Help from "../help.js"
import { define } from "./define.js"
import * as Flags from "./flags.js"
import { parseDuration, positive, usage } from "./parse.js"

const faultKinds = OrbSimulator.faultKinds

/** The environment variable `simulate` takes its `--api-key` from when the flag is not given. */
export const simulatorApiKeyVariable = "ORB_SIMULATOR_API_KEY"

const simulateFlags = {
  port: Help.withDefault(
    Options.integer("port").pipe(Options.withPseudoName("N"), Options.withDescription("Port on 127.0.0.1 (0: any)")),
    4010
  ),
  maxWindow: Options.integer("max-window").pipe(
    Options.withPseudoName("DAYS"),
    Options.optional,
    Options.withDescription("The longest timeframe per backfill it accepts, in days (default 31, as Orb's)")
  ),
  apiKey: Options.text("api-key").pipe(
    Options.withPseudoName("KEY"),
    // From the environment too, so that the key need not be on a command line (a shell's history, `ps`, the
    // line pnpm echoes); an empty variable counts as unset.
    Options.withFallbackConfig(
      Config.string(simulatorApiKeyVariable).pipe(
        Config.mapOrFail((key) =>
          key.length > 0
            ? Either.right(key)
            : Either.left(ConfigError.MissingData([], `${simulatorApiKeyVariable} is empty`))
        )
      )
    ),
    Options.optional,
    Options.withDescription(
      `The bearer key to demand (default: $${simulatorApiKeyVariable}; without either, any key is accepted)`
    )
  ),
  reflectionDelay: Options.text("reflection-delay").pipe(
    Options.withPseudoName("D"),
    Options.optional,
    Options.withDescription("From close to reflected, e.g. 5s (default 5s)")
  ),
  revertDelay: Options.text("revert-delay").pipe(
    Options.withPseudoName("D"),
    Options.optional,
    Options.withDescription("From revert to reverted, e.g. 5s (default 5s)")
  ),
  quotas: Options.choice("quotas", ["live", "test"]).pipe(
    Options.optional,
    Options.withDescription("Enforce Orb's live- or test-mode rate limits (default: none)")
  ),
  faultRate: Options.float("fault-rate").pipe(
    Options.withPseudoName("R"),
    Options.optional,
    Options.withDescription("Share of requests to answer with a fault, 0 to 1")
  ),
  faults: Options.text("faults").pipe(
    Options.withPseudoName("KIND,..."),
    Options.optional,
    Options.withDescription(`Fault kinds, comma-separated: ${faultKinds.join(", ")} (default: all)`)
  ),
  faultTiming: Options.choice("fault-timing", ["before", "after", "random"]).pipe(
    Options.optional,
    Options.withDescription("Fault before or after the request takes effect (default random)")
  ),
  faultDelay: Options.text("fault-delay").pipe(
    Options.withPseudoName("D"),
    Options.optional,
    Options.withDescription("For delay faults (default 2m)")
  ),
  latency: Options.text("latency").pipe(
    Options.withPseudoName("D"),
    Options.optional,
    Options.withDescription("How long every answer takes to reach the client, like a network's round trip, e.g. 50ms")
  ),
  seed: Options.integer("seed").pipe(
    Options.withPseudoName("N"),
    Options.optional,
    Options.withDescription("Seeds ids and fault draws")
  ),
  customers: Options.text("customer").pipe(
    Options.withPseudoName("ID[=EXTERNAL_ID]"),
    Options.repeated,
    Options.withDescription(
      "A customer that exists besides the default ones (cus_1, acme, ...), by its Orb id and, after =, its " +
        "external id; repeat the flag for more"
    )
  ),
  verbose: Flags.verbose
}

/** The simulator's server options from `simulate`'s flags. */
export const serveOptions = (flags: {
  readonly port: number
  readonly apiKey: Option.Option<string>
  readonly reflectionDelay: Option.Option<string>
  readonly revertDelay: Option.Option<string>
  readonly quotas: Option.Option<"live" | "test">
  readonly faultRate: Option.Option<number>
  readonly faults: Option.Option<string>
  readonly faultTiming: Option.Option<"before" | "after" | "random">
  readonly faultDelay: Option.Option<string>
  readonly latency: Option.Option<string>
  readonly seed: Option.Option<number>
  readonly maxWindow?: Option.Option<number> | undefined
  /** `ID` or `ID=EXTERNAL_ID`, one a customer. */
  readonly customers?: ReadonlyArray<string> | undefined
}): Either.Either<OrbSimulator.ServeOptions, CliError.UsageError> =>
  Either.gen(function*() {
    if (!Number.isInteger(flags.port) || flags.port < 0 || flags.port > 65535) {
      return yield* Either.left(usage(`--port: expected 0 to 65535, got ${flags.port}`))
    }
    if (Option.isSome(flags.apiKey) && flags.apiKey.value.length === 0) {
      return yield* Either.left(usage("--api-key: must not be empty"))
    }
    const delay = (flag: string, value: Option.Option<string>) =>
      Option.match(value, { onNone: () => Either.right(undefined), onSome: (text) => parseDuration(flag, text) })
    const reflectionDelay = yield* delay("reflection-delay", flags.reflectionDelay)
    const revertDelay = yield* delay("revert-delay", flags.revertDelay)
    const latency = yield* delay("latency", flags.latency)
    if (Option.isSome(flags.seed) && !(Number.isInteger(flags.seed.value) && flags.seed.value >= 0)) {
      return yield* Either.left(usage(`--seed: expected a non-negative integer, got ${flags.seed.value}`))
    }
    const maxWindowDays = yield* positive("max-window", flags.maxWindow ?? Option.none(), 3_660)
    const customers: Array<OrbSimulator.Customer> = []
    for (const text of flags.customers ?? []) {
      const equals = text.indexOf("=")
      const id = equals === -1 ? text : text.slice(0, equals)
      const externalCustomerId = equals === -1 ? undefined : text.slice(equals + 1)
      if (id.trim().length === 0 || externalCustomerId?.trim().length === 0) {
        return yield* Either.left(usage(`--customer: expected ID or ID=EXTERNAL_ID, got ${JSON.stringify(text)}`))
      }
      customers.push(externalCustomerId === undefined ? { id } : { id, externalCustomerId })
    }
    let faults: OrbSimulator.Faults | undefined
    if (Option.isNone(flags.faultRate)) {
      const stray = Option.isSome(flags.faults)
        ? "faults"
        : Option.isSome(flags.faultTiming)
        ? "fault-timing"
        : Option.isSome(flags.faultDelay)
        ? "fault-delay"
        : undefined
      if (stray !== undefined) return yield* Either.left(usage(`--${stray}: needs --fault-rate`))
    } else {
      const rate = flags.faultRate.value
      if (!(rate >= 0 && rate <= 1)) {
        return yield* Either.left(usage(`--fault-rate: expected a number from 0 to 1, got ${rate}`))
      }
      let kinds: Array<OrbSimulator.FaultKind> | undefined
      if (Option.isSome(flags.faults)) {
        kinds = []
        for (const kind of flags.faults.value.split(",").map((k) => k.trim())) {
          if (!faultKinds.includes(kind as OrbSimulator.FaultKind)) {
            return yield* Either.left(
              usage(`--faults: unknown fault "${kind}" (expected some of ${faultKinds.join(", ")})`)
            )
          }
          kinds.push(kind as OrbSimulator.FaultKind)
        }
      }
      const faultDelay = yield* delay("fault-delay", flags.faultDelay)
      faults = {
        rate,
        ...(kinds !== undefined ? { kinds } : {}),
        ...(Option.isSome(flags.faultTiming) ? { timing: flags.faultTiming.value } : {}),
        ...(faultDelay !== undefined ? { delay: faultDelay } : {})
      }
    }
    return {
      port: flags.port,
      ...(Option.isSome(flags.apiKey) ? { apiKey: flags.apiKey.value } : {}),
      ...(reflectionDelay !== undefined ? { reflectionDelay } : {}),
      ...(revertDelay !== undefined ? { revertDelay } : {}),
      ...(Option.isSome(flags.quotas) ? { quotas: flags.quotas.value } : {}),
      ...(faults !== undefined ? { faults } : {}),
      ...(latency !== undefined ? { latency } : {}),
      ...(Option.isSome(flags.seed) ? { seed: flags.seed.value } : {}),
      ...(customers.length > 0 ? { customers } : {}),
      ...(maxWindowDays !== undefined ? { maxTimeframe: Duration.days(maxWindowDays) } : {})
    }
  })

export const simulate = define(
  {
    name: "simulate",
    summary: "Serve the Orb simulator on 127.0.0.1 until stopped",
    description: "Serve the Orb simulator on 127.0.0.1 until stopped (Ctrl-C). Its base URL is the only line on " +
      "standard output. Tests steer it through its control API, under /_simulator/ on the same port and key " +
      "(docs/testing.md).",
    config: simulateFlags
  },
  (flags) =>
    Effect.gen(function*() {
      const options = yield* serveOptions(flags)
      const server = yield* OrbSimulator.serve(options).pipe(
        Effect.catchAll((error) =>
          Effect.zipRight(
            Output.note(
              `Error: cannot listen on 127.0.0.1:${options.port}: ${
                error.cause instanceof Error ? error.cause.message : String(error.cause)
              }.`
            ),
            new CliError.Exit({ code: CliError.ExitCode.failure })
          )
        )
      )
      // The URL alone on the first line of standard output, for scripts; the hints go to standard error.
      yield* Output.line(server.url)
      yield* Output.note(
        `Orb simulator listening. Point the CLI at it with: ORB_API_KEY=${
          options.apiKey === undefined ? "any" : "<the simulator's key>"
        } ORB_BASE_URL=${server.url} orb-backfill list`
      )
      yield* Output.note(
        `Control API for tests (same key; docs/testing.md): http://127.0.0.1:${server.port}/_simulator/`
      )
      yield* Output.note("Stop it with Ctrl-C.")
      return yield* Effect.never
    }).pipe(Effect.scoped)
)
