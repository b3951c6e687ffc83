/**
 * The `orb-backfill` command: `run`, `list`, `show`, `close`, `revert`, `watch`, `verify`, `simulate` and `demo`, built
 * with `@effect/cli`. {@link run} takes the arguments and answers the exit code, with the backend and the
 * output as services, so that tests run commands in-process against a simulator and read what they print.
 *
 * @since 0.1.0
 */
import { Backfill, Backfills, Verify } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
// The module, not the package's index: in the bundle, the index would bring the durable engine into startup.
import * as Input from "@effect-orb/workflow/EventFile"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import type * as Terminal from "@effect/platform/Terminal"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as Backend from "./Backend.js"
import * as CliError from "./internal/cliError.js"
import * as Demo from "./internal/demo.js"
import * as Help from "./internal/help.js"
import * as Inputs from "./internal/inputs.js"
import * as Lazy from "./internal/lazy.js"
import * as Progress from "./internal/progress.js"
import * as Render from "./internal/render.js"
import * as VerifyCli from "./internal/verify.js"
import * as Workflow from "./internal/workflow.js"
import * as Output from "./Output.js"

// ---------------------------------------------------------------------------------------------------------
// parsing helpers

const usage = (reason: string) => new CliError.UsageError({ reason })

/**
 * A `--start`/`--end`/`--close-time` value: an ISO 8601 date-time (without a zone: UTC), or a date (midnight UTC).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseTime = (flag: string, text: string): Either.Either<DateTime.Utc, CliError.UsageError> =>
  // The library's one strict parser: `2026-11-31` is refused, not read as December 1.
  Either.mapLeft(Backfill.parseTimestamp(text.trim(), { date: true }), (reason) => usage(`--${flag}: ${reason}`))

/**
 * A duration flag: a number with a unit (`ms`, `s`, `m`, `h`), e.g. `500ms` or `2s`, as the simulator's own
 * command line reads it.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseDuration = (flag: string, text: string): Either.Either<Duration.Duration, CliError.UsageError> => {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim())
  if (match === null) {
    return Either.left(usage(`--${flag}: expected a duration such as 500ms, 2s, 1m or 1h, got "${text}"`))
  }
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

const positive = (flag: string, value: Option.Option<number>, max = Number.MAX_SAFE_INTEGER) =>
  Option.match(value, {
    onNone: () => Either.right(undefined),
    onSome: (n) =>
      Number.isInteger(n) && n >= 1 && n <= max
        ? Either.right(n)
        : Either.left(usage(`--${flag}: expected an integer from 1 to ${max.toLocaleString("en-US")}, got ${n}`))
  })

// ---------------------------------------------------------------------------------------------------------
// shared options

const verbose = Options.boolean("verbose").pipe(
  Options.withDescription("On failure, print the error's details after its one-line message")
)
const json = Options.boolean("json").pipe(Options.withDescription("Print one JSON document on standard output"))
const idArg = Args.text({ name: "id" }).pipe(Args.withDescription("The backfill's id"))
const state = Options.text("state").pipe(
  Options.withPseudoName("PATH"),
  Options.optional,
  Options.withDescription(
    "The durable runs' state file (default: $XDG_STATE_HOME/orb-backfill/runs.sqlite, else ~/.local/state/...)"
  )
)
const database = Options.text("database").pipe(
  Options.withPseudoName("URL"),
  Options.optional,
  Options.withDescription(
    "The durable runs' Postgres database (postgres://USER:PASSWORD@HOST:PORT/DB), shared with orb-backfill worker " +
      "processes on any machine, instead of a state file (default: $ORB_BACKFILL_DATABASE_URL, unless --state)"
  )
)
const wait = (target: string) =>
  Options.boolean("wait").pipe(Options.withDescription(`Wait until the backfill is ${target}`))

/**
 * Runs a command body with its errors reported (one sentence, an exit code) and the library's logs shown only
 * with `--verbose`.
 *
 * @since 0.1.0
 * @category internals
 */
const handler = <A extends { readonly verbose: boolean; readonly json?: boolean }, E, R>(
  body: (args: A) => Effect.Effect<void, E, R>
) =>
(args: A) =>
  body(args).pipe(
    CliError.report(args),
    Logger.withMinimumLogLevel(args.verbose ? LogLevel.Debug : LogLevel.None)
  )

const announce = Backend.announce(Output.note)

// ---------------------------------------------------------------------------------------------------------
// run

const runFlags = {
  file: Options.text("file").pipe(
    Options.withAlias("f"),
    Options.withPseudoName("PATH"),
    Options.atLeast(1),
    Options.withDescription(
      "The events: NDJSON (one Orb ingest event per line), CSV (a header row), a JSON array (optionally gzip) or Parquet. " +
        "Repeat it for several files; a folder reads its event files by name, a quoted glob ('exports/part-*.csv') " +
        "its matches, - standard input: one run over all of them"
    )
  ),
  format: Options.choice("format", ["ndjson", "csv", "parquet"]).pipe(
    Options.optional,
    Options.withDescription("The file's format (default: Parquet by its content, else from its extension)")
  ),
  csvType: Options.text("csv-type").pipe(
    Options.withPseudoName("COLUMN=TYPE"),
    Options.repeated,
    Options.withDescription(
      "Give a CSV property column a type instead of its cells' own: string (ids, zip codes such as 007), number " +
        "or boolean; repeat it, or list them: zip=string,units=number"
    )
  ),
  start: Options.text("start").pipe(
    Options.withPseudoName("ISO"),
    Options.withDescription("Start of the timeframe, inclusive (ISO 8601, UTC without a zone, or a date: midnight UTC)")
  ),
  end: Options.text("end").pipe(
    Options.withPseudoName("ISO"),
    Options.withDescription(
      "End of the timeframe, exclusive; a timeframe longer than the account's maximum (--max-window) is run as " +
        "windows, one backfill each, all or nothing"
    )
  ),
  maxWindow: Options.integer("max-window").pipe(
    Options.withPseudoName("DAYS"),
    Options.optional,
    Options.withDescription(
      "The account's longest timeframe per backfill, in days (default 31: Orb's, unless raised)"
    )
  ),
  replace: Options.boolean("replace").pipe(
    Options.withDescription("The file's events replace every existing event in the timeframe")
  ),
  add: Options.boolean("add").pipe(Options.withDescription("The file's events are added to the existing ones")),
  addAgain: Options.boolean("add-again").pipe(
    Options.withDescription("With --add: add the file's events even though an earlier durable run added them")
  ),
  customerId: Options.text("customer-id").pipe(
    Options.withPseudoName("ID"),
    Options.optional,
    Options.withDescription("Scope the backfill to one customer (Orb id)")
  ),
  externalCustomerId: Options.text("external-customer-id").pipe(
    Options.withPseudoName("ID"),
    Options.optional,
    Options.withDescription("Scope the backfill to one customer (your id)")
  ),
  onlyCustomer: Options.text("only-customer").pipe(
    Options.withPseudoName("ID"),
    Options.optional,
    Options.withDescription(
      "Scope the backfill to one customer (Orb id) and leave the file's other customers' events out, counted"
    )
  ),
  onlyExternalCustomer: Options.text("only-external-customer").pipe(
    Options.withPseudoName("ID"),
    Options.optional,
    Options.withDescription(
      "Scope the backfill to one customer (your id) and leave the file's other customers' events out, counted"
    )
  ),
  closeTime: Options.text("close-time").pipe(
    Options.withPseudoName("ISO"),
    Options.optional,
    Options.withDescription("When Orb closes the backfill by itself (default: estimated from the file's size)")
  ),
  deprecationFilter: Options.text("deprecation-filter").pipe(
    Options.withPseudoName("EXPR"),
    Options.optional,
    Options.withDescription("With --replace: deprecate only the existing events matching this expression")
  ),
  batchSize: Options.integer("batch-size").pipe(
    Options.withPseudoName("N"),
    Options.optional,
    Options.withDescription("Events per request (1-500)")
  ),
  concurrency: Options.integer("concurrency").pipe(
    Options.withPseudoName("N"),
    Options.optional,
    Options.withDescription("Requests in flight at once (default 4)")
  ),
  eventsPerMinute: Options.integer("events-per-minute").pipe(
    Options.withPseudoName("N"),
    Options.optional,
    Options.withDescription("Ingest pace, events per minute (default: Orb's live-mode quota, 10,000)")
  ),
  requestsPerSecond: Options.integer("requests-per-second").pipe(
    Options.withPseudoName("N"),
    Options.optional,
    Options.withDescription("Ingest pace, requests per second (default: Orb's live-mode quota, 100)")
  ),
  testMode: Options.boolean("test-mode").pipe(
    Options.withDescription("Pace within Orb's test-mode quota (2,000 events per minute, 10 requests per second)")
  ),
  noWait: Options.boolean("no-wait").pipe(Options.withDescription("Stop once the backfill is closed")),
  overlapWait: Options.text("overlap-wait").pipe(
    Options.withPseudoName("DURATION"),
    Options.optional,
    Options.withDescription(
      "How long the create waits for a pending backfill whose timeframe overlaps this run's (30s, 10m, 2h; default " +
        "1h in memory, 12h durably; 0: fail at once)"
    )
  ),
  verify: Options.boolean("verify").pipe(
    Options.withDescription(
      "Once reflected, check that Orb holds the file's events, as orb-backfill verify does. On by default when it " +
        "costs under a tenth of the run's time: against Orb (about 1%), not the in-process simulator"
    )
  ),
  noVerify: Options.boolean("no-verify").pipe(Options.withDescription("Do not verify the reflected backfill")),
  skipInvalid: Options.boolean("skip-invalid").pipe(
    Options.withDescription("Leave invalid lines out (and events Orb refuses) instead of stopping")
  ),
  dryRun: Options.boolean("dry-run").pipe(
    Options.withDescription(
      "Only check the file and say what would be sent (the type each property got; per customer, the events, first and last timestamp and sums); create nothing"
    )
  ),
  ephemeral: Options.boolean("ephemeral").pipe(
    Options.withDescription("Run in memory, not durably: Ctrl-C or a crash reverts or abandons the run")
  ),
  state,
  database,
  submit: Options.boolean("submit").pipe(
    Options.withDescription(
      "With --database: submit the run to the workers and return at once, without following it"
    )
  ),
  runKey: Options.text("run-key").pipe(
    Options.withPseudoName("KEY"),
    Options.optional,
    Options.withDescription("The durable run's key (default: from the file's SHA-256 and the backfill's flags)")
  ),
  json,
  verbose
}

const runHelp: Help.Node = {
  name: "run",
  summary: "Run a whole backfill from an NDJSON, CSV or Parquet file, from the check to Orb's reflection",
  description:
    "Run a whole backfill from an NDJSON, CSV or Parquet file: check every line (nothing is created if one is " +
    "invalid), create the backfill, send the events, close it, and wait until Orb reflects it. If it fails or is " +
    "interrupted before the close, the backfill is reverted. Against Orb (ORB_API_KEY set) the run is durable: " +
    "after a crash or Ctrl-C, orb-backfill resume continues it.",
  config: runFlags,
  oneOf: [["replace", "add"]],
  notes: [
    "Times are ISO 8601 (2026-10-01T00:00:00Z; without a zone, UTC) or a date (2026-10-01: midnight UTC). " +
    "Example: orb-backfill run --file usage.ndjson --start 2026-10-01 --end 2026-10-08 --add",
    "Several files: --file a.ndjson --file b.csv, a folder (its .ndjson/.jsonl/.json/.csv files, optionally .gz, by " +
    "name; hidden and _-prefixed files skipped), a quoted glob ('exports/part-*.ndjson.gz'), or - to read standard " +
    "input once (spooled to a private file)."
  ]
}

/**
 * The flags of `run`, as the parser gives them.
 *
 * @since 0.1.0
 * @category parsing
 */
export type RunFlags = Command.Command.ParseConfig<typeof runFlags>

/**
 * What `run`'s flags ask for, checked before anything is read or sent: the run's settings, and for a durable run
 * (against an Orb that outlives the process, unless `--ephemeral`) the state file's flag and the run key. `now`
 * decides whether `--close-time` is in the future; the backend whether the run is durable and the default pace.
 *
 * @since 0.1.0
 * @category parsing
 */
export const runOptions = (
  flags: RunFlags,
  context: {
    readonly now: DateTime.Utc
    readonly backend: Backend.Backend["kind"]
    readonly defaultQuota: Backfills.IngestQuota | false
  }
): Either.Either<
  {
    /** The run's settings; its files are `inputs` (`--file`'s values) until `Inputs.expand` reads them. */
    readonly options: Omit<Workflow.RunOptions, "durable" | "files"> & {
      readonly inputs: ReadonlyArray<string>
      /** `--format`: every file read as it, else each by its own name. */
      readonly format: Input.Format | undefined
    }
    readonly durable:
      | {
        readonly state: string | undefined
        readonly database: string | undefined
        readonly submit: boolean
        readonly runKey: string | undefined
        readonly addAgain: boolean
      }
      | undefined
  },
  CliError.UsageError | Input.InputError
> =>
  Either.gen(function*() {
    if (flags.replace === flags.add) {
      return yield* Either.left(usage(
        flags.replace
          ? "give only one of --replace and --add"
          : "give --replace (the file's events replace the timeframe's existing events) or --add (they are added " +
            "to them): Orb would otherwise replace"
      ))
    }
    const customerFlags = [flags.customerId, flags.externalCustomerId, flags.onlyCustomer, flags.onlyExternalCustomer]
    if (customerFlags.filter(Option.isSome).length > 1) {
      return yield* Either.left(usage(
        "give at most one of --customer-id, --external-customer-id, --only-customer and --only-external-customer"
      ))
    }
    const customerId = Option.orElse(flags.customerId, () => flags.onlyCustomer)
    const externalCustomerId = Option.orElse(flags.externalCustomerId, () => flags.onlyExternalCustomer)
    if (Option.isSome(flags.deprecationFilter) && !flags.replace) {
      return yield* Either.left(usage("--deprecation-filter only applies with --replace"))
    }
    const start = yield* parseTime("start", flags.start)
    const end = yield* parseTime("end", flags.end)
    const closeTime = Option.isSome(flags.closeTime) ? yield* parseTime("close-time", flags.closeTime.value) : undefined
    const maxWindowDays = yield* positive("max-window", flags.maxWindow, 3_660)
    // A bare 0 is the one duration that needs no unit: refuse at once.
    const overlapWait = Option.isNone(flags.overlapWait)
      ? undefined
      : flags.overlapWait.value.trim() === "0"
      ? Duration.zero
      : yield* parseDuration("overlap-wait", flags.overlapWait.value)
    const batchSize = yield* positive("batch-size", flags.batchSize, 500)
    const concurrency = yield* positive("concurrency", flags.concurrency, 64)
    const eventsPerMinute = yield* positive("events-per-minute", flags.eventsPerMinute)
    const requestsPerSecond = yield* positive("requests-per-second", flags.requestsPerSecond)
    const base = flags.testMode ? Backfills.testModeQuota : Backfills.liveModeQuota
    const paced = flags.testMode || eventsPerMinute !== undefined || requestsPerSecond !== undefined
    const quota: Backfills.IngestQuota | false = paced
      ? {
        eventsPerMinute: eventsPerMinute ?? base.eventsPerMinute,
        requestsPerSecond: requestsPerSecond ?? base.requestsPerSecond
      }
      : context.defaultQuota
    const format = Option.getOrUndefined(flags.format)
    const csvTypes = yield* csvTypesOf(flags.csvType)
    // A single file that names its format says here, before anything is read, that it is not CSV; the others
    // (folders, globs, stdin, a name that tells nothing, Parquet by its content) when expanded.
    if (flags.file.length === 1 && flags.file[0] !== "-" && csvTypes !== undefined) {
      const named = Input.formatOf(flags.file[0], format)
      if (Either.isRight(named) && named.right !== "csv" && !Inputs.isFolder(flags.file[0])) {
        return yield* Either.left(
          usage(`--csv-type is for CSV files; ${flags.file[0]} is read as ${formatName[named.right]}`)
        )
      }
    }
    if (csvTypes !== undefined && format === "ndjson") {
      return yield* Either.left(usage(`--csv-type is for CSV files; --format ndjson reads every file as NDJSON`))
    }
    if (flags.verify && flags.noVerify) return yield* Either.left(usage("give only one of --verify and --no-verify"))
    if (flags.verify && flags.noWait) {
      return yield* Either.left(usage(
        "--verify needs the run to wait until Orb reflects the backfill, and --no-wait stops once it is closed: " +
          "drop one of them, or verify once it is reflected with orb-backfill verify ID --file " +
          flags.file.join(" --file ")
      ))
    }
    if (flags.verify && flags.dryRun) {
      return yield* Either.left(usage("--verify: a dry run creates no backfill to verify"))
    }
    // The rule: verify by default when it costs under a tenth of the run. Against Orb it costs about 1% (a search
    // of 500 events at 50 searches a second, against 500 events sent in 3 seconds at the live ingest quota); the
    // in-process simulator answers both at once, so the share would be larger, and it proves nothing about Orb.
    const verify = !flags.dryRun && !flags.noWait && (flags.verify || (!flags.noVerify && context.backend === "orb"))
    if (closeTime !== undefined && closeTime.epochMillis <= context.now.epochMillis) {
      return yield* Either.left(usage(`--close-time: ${DateTime.formatIso(closeTime)} is not in the future`))
    }
    // Durable against anything that outlives the process; the in-process simulator's backfills vanish with it,
    // so a run there has nothing to resume.
    const durable = context.backend === "orb" && !flags.ephemeral
    if (!durable) {
      const stray = Option.isSome(flags.state)
        ? "state"
        : Option.isSome(flags.database)
        ? "database"
        : flags.submit
        ? "submit"
        : Option.isSome(flags.runKey)
        ? "run-key"
        : undefined
      if (stray !== undefined) {
        return yield* Either.left(usage(
          flags.ephemeral
            ? `--${stray} is for durable runs; it cannot go with --ephemeral`
            : `--${stray} is for durable runs, and the in-process simulator's runs are not durable (set ORB_API_KEY)`
        ))
      }
    }
    if (Option.isSome(flags.runKey) && flags.runKey.value.trim().length === 0) {
      return yield* Either.left(usage("--run-key: must not be empty"))
    }
    const backfill: Backfill.CreateBackfill = {
      timeframeStart: start,
      timeframeEnd: end,
      replaceExistingEvents: flags.replace,
      ...(Option.isSome(customerId) ? { customerId: customerId.value } : {}),
      ...(Option.isSome(externalCustomerId) ? { externalCustomerId: externalCustomerId.value } : {}),
      ...(closeTime !== undefined ? { closeTime } : {}),
      ...(Option.isSome(flags.deprecationFilter) ? { deprecationFilter: flags.deprecationFilter.value } : {})
    }
    return {
      options: {
        inputs: flags.file,
        format,
        ...(csvTypes !== undefined ? { csvTypes } : {}),
        backfill,
        skipInvalid: flags.skipInvalid,
        only: Option.isSome(flags.onlyCustomer) || Option.isSome(flags.onlyExternalCustomer),
        dryRun: flags.dryRun,
        wait: !flags.noWait,
        verify: verify
          ? {
            searchesPerSecond: context.backend === "orb"
              ? (flags.testMode ? testModeSearchesPerSecond : Verify.defaultSearchesPerSecond)
              : false
          }
          : undefined,
        json: flags.json,
        batchSize,
        concurrency,
        quota,
        ...(overlapWait !== undefined ? { overlapWait } : {}),
        ...(maxWindowDays !== undefined ? { account: { maxTimeframe: Duration.days(maxWindowDays) } } : {})
      },
      durable: durable
        ? {
          state: Option.getOrUndefined(flags.state),
          database: Option.getOrUndefined(flags.database),
          submit: flags.submit,
          runKey: Option.getOrUndefined(flags.runKey),
          addAgain: flags.addAgain
        }
        : undefined
    }
  })

const formatName: Readonly<Record<Input.Format, string>> = { ndjson: "NDJSON", csv: "CSV", parquet: "Parquet" }

// Orb counts an event search as a write: 5 a second with a test-mode key.
const testModeSearchesPerSecond = 5

const csvTypeNames: ReadonlyArray<string> = ["string", "number", "boolean"]

/**
 * The `--csv-type` values (`zip=string`, or several separated by commas) as column types, `undefined` if none.
 *
 * @since 0.2.0
 * @category parsing
 */
export const csvTypesOf = (
  values: ReadonlyArray<string>
): Either.Either<Input.CsvTypes | undefined, CliError.UsageError> => {
  const types: Record<string, Input.CsvType> = {}
  for (const value of values.flatMap((value) => value.split(","))) {
    const at = value.lastIndexOf("=")
    const column = value.slice(0, at).trim()
    const type = value.slice(at + 1).trim()
    if (at <= 0 || column.length === 0 || !csvTypeNames.includes(type)) {
      return Either.left(usage(`--csv-type: expected COLUMN=string|number|boolean, got ${JSON.stringify(value)}`))
    }
    if (types[column] !== undefined && types[column] !== type) {
      return Either.left(usage(`--csv-type: column "${column}" is given two types, ${types[column]} and ${type}`))
    }
    types[column] = type as Input.CsvType
  }
  return Either.right(Object.keys(types).length > 0 ? types : undefined)
}

const runCommand = Command.make(
  runHelp.name,
  runFlags,
  handler((flags) =>
    Effect.gen(function*() {
      yield* announce
      const backend = yield* Backend.Backend
      const { durable, options } = yield* runOptions(flags, {
        now: yield* DateTime.now,
        backend: backend.kind,
        defaultQuota: backend.defaultQuota
      }).pipe(
        // A name that tells no format (`events.ndjson.gz`, `events.parquet`): what the file is says more.
        Effect.catchTag("InputError", (error) =>
          Input.recognise(flags.file[0]).pipe(
            // Unreadable too: the name's error stands.
            Effect.catchTag("InputError", () => Effect.void),
            Effect.zipRight(Effect.fail(error))
          ))
      )
      const stateFile = durable !== undefined ? yield* (yield* Lazy.durable).locate(durable) : undefined
      if (durable?.submit === true && stateFile?.database === undefined) {
        return yield* usage(
          "--submit hands the run to the workers of a database: give --database URL (or set " +
            "ORB_BACKFILL_DATABASE_URL)"
        )
      }
      if (stateFile?.database !== undefined && options.inputs.includes("-") && !flags.dryRun) {
        // The workers read the run's files where they run: a pipe into this process is not there.
        return yield* usage(
          "--file - (standard input) cannot be handed to the workers of a database: write it to a file they can read"
        )
      }
      // Standard input, read once into a file: the check pass and the send read that (a durable run's resumes too).
      const stdin = !options.inputs.includes("-")
        ? undefined
        : stateFile !== undefined && !flags.dryRun
        ? yield* Inputs.spoolDurable(process.stdin, stateFile.path)
        : yield* Inputs.spoolTemporary(process.stdin)
      const files = yield* Inputs.expand(options.inputs, options.format, stdin)
      if (options.csvTypes !== undefined && !files.some((input) => input.format === "csv")) {
        return yield* usage(
          `--csv-type is for CSV files; ${Inputs.label(files)} ${files.length === 1 ? "is" : "are"} read as NDJSON`
        )
      }
      if (stdin !== undefined && !flags.json) yield* Output.note(`Read standard input into ${stdin}.`)
      if (stateFile !== undefined && !flags.dryRun && !flags.json) {
        yield* Output.note(`${stateFile.database !== undefined ? "Database" : "State"}: ${stateFile.path}`)
      }
      const { format: _, inputs: __, ...settings } = options
      yield* Workflow.run({
        ...settings,
        files,
        durable: stateFile === undefined
          ? undefined
          : { state: stateFile, runKey: durable!.runKey, addAgain: durable!.addAgain, submit: durable!.submit }
      })
    }).pipe(Effect.scoped)
  )
).pipe(Command.withDescription(runHelp.summary))

// ---------------------------------------------------------------------------------------------------------
// list, show, close, revert, watch

const listFlags = {
  limit: Help.withDefault(
    Options.integer("limit").pipe(Options.withPseudoName("N"), Options.withDescription("How many backfills to show")),
    20
  ),
  json,
  verbose
}

const listHelp: Help.Node = {
  name: "list",
  summary: "List backfills, newest first: open (and when each closes by itself) or closed",
  config: listFlags
}

const listCommand = Command.make(
  listHelp.name,
  listFlags,
  handler((flags) =>
    Effect.gen(function*() {
      yield* announce
      const limit = yield* positive("limit", Option.some(flags.limit))
      const backfills = yield* Backfills.list({ limit: Math.min(limit ?? 20, 100) }).pipe(
        Stream.take(limit ?? 20),
        Stream.runCollect
      )
      const all = Array.from(backfills)
      if (flags.json) return yield* Output.line(JSON.stringify(all.map(Render.backfillJson)))
      if (all.length === 0) {
        const backend = yield* Backend.Backend
        return yield* Output.line(
          backend.kind === "simulator" ? "No backfills (the in-process simulator starts empty)." : "No backfills."
        )
      }
      const now = yield* Clock.currentTimeMillis
      yield* Output.line(Render.backfillTable(all, now))
      // On standard error: the table stays a table for scripts.
      for (const line of Render.closingSoon(all, now)) yield* Output.note(line)
    })
  )
).pipe(Command.withDescription(listHelp.summary))

const showFlags = { id: idArg, json, verbose }

const showHelp: Help.Node = {
  name: "show",
  summary: "Show one backfill",
  config: showFlags
}

const showCommand = Command.make(
  showHelp.name,
  showFlags,
  handler((flags) =>
    Effect.gen(function*() {
      yield* announce
      const backfill = yield* Backfills.fetch(flags.id)
      yield* Output.line(
        flags.json
          ? JSON.stringify(Render.backfillJson(backfill))
          : Render.backfillDetails(backfill, yield* Clock.currentTimeMillis)
      )
    })
  )
).pipe(Command.withDescription(showHelp.summary))

const awaitWithProgress = (id: string, target: Backfill.BackfillStatus, quiet: boolean) =>
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

const closeFlags = { id: idArg, wait: wait("reflected"), json, verbose }

const closeHelp: Help.Node = {
  name: "close",
  summary: "Close an open backfill: Orb starts reflecting its events",
  description: "Close an open backfill: Orb starts reflecting its events (it stays pending until reflected).",
  config: closeFlags
}

const closeCommand = Command.make(
  closeHelp.name,
  closeFlags,
  handler((flags) =>
    Effect.gen(function*() {
      yield* announce
      let backfill = yield* Backfills.close(flags.id)
      if (!flags.json) yield* Output.note(`Closed backfill ${backfill.id}; Orb is reflecting it.`)
      if (flags.wait) backfill = yield* awaitWithProgress(flags.id, "reflected", flags.json)
      yield* Output.line(flags.json ? JSON.stringify(Render.backfillJson(backfill)) : Render.backfillSummary(backfill))
    })
  )
).pipe(Command.withDescription(closeHelp.summary))

const revertFlags = { id: idArg, wait: wait("reverted"), json, verbose }

const revertHelp: Help.Node = {
  name: "revert",
  summary: "Revert a backfill: its events stop counting",
  description: "Revert a backfill: its events stop counting (an open one at once, a reflected one through " +
    "pending_revert).",
  config: revertFlags
}

const revertCommand = Command.make(
  revertHelp.name,
  revertFlags,
  handler((flags) =>
    Effect.gen(function*() {
      yield* announce
      let backfill = yield* Backfills.revert(flags.id)
      if (!flags.json) {
        yield* Output.note(
          backfill.status === "reverted"
            ? `Reverted backfill ${backfill.id}.`
            : `Reverting backfill ${backfill.id} (${backfill.status}).`
        )
      }
      if (flags.wait && backfill.status !== "reverted") {
        backfill = yield* awaitWithProgress(flags.id, "reverted", flags.json)
      }
      yield* Output.line(flags.json ? JSON.stringify(Render.backfillJson(backfill)) : Render.backfillSummary(backfill))
    })
  )
).pipe(Command.withDescription(revertHelp.summary))

const verifyFlags = {
  id: idArg,
  file: runFlags.file,
  format: runFlags.format,
  csvType: runFlags.csvType,
  externalCustomerId: Options.text("external-customer-id").pipe(
    Options.withPseudoName("ID"),
    Options.optional,
    Options.withDescription(
      "For a backfill created with --external-customer-id or --only-external-customer: that id (Orb's backfill " +
        "names its customer by Orb id only), so that the file's other customers' events are not looked for"
    )
  ),
  maxDifferences: Options.integer("max-differences").pipe(
    Options.withPseudoName("N"),
    Options.optional,
    Options.withDescription(`How many differences to show (default ${Verify.defaultMaxDifferences})`)
  ),
  searchesPerSecond: Options.integer("searches-per-second").pipe(
    Options.withPseudoName("N"),
    Options.optional,
    Options.withDescription(
      "Pace of the event searches (Orb counts them as writes; default against Orb: " +
        `${Verify.defaultSearchesPerSecond}, its live-mode limit; give 5 with a test-mode key)`
    )
  ),
  json,
  verbose
}

const verifyHelp: Help.Node = {
  name: "verify",
  summary: "Check that Orb holds a reflected backfill's events as the file has them",
  description: "Check that Orb holds the events of a file in a reflected backfill: each found under its " +
    "idempotency key, not deprecated, with its event name, properties, timestamp and customer as in the file; and, " +
    "for a backfill of all customers, every hour's count as the file's (exactly in replace mode, at least in add " +
    "mode). Exit 1 when it does not hold, with the first differences.",
  config: verifyFlags,
  notes: [
    "Lines of the file outside the backfill's timeframe are not looked for: verify each window of a long run " +
    "with the same file. Example: orb-backfill verify bf_123 --file usage.ndjson"
  ]
}

const verifyCommand = Command.make(
  verifyHelp.name,
  verifyFlags,
  handler((flags) =>
    Effect.gen(function*() {
      yield* announce
      const backend = yield* Backend.Backend
      const maxDifferences = yield* positive("max-differences", flags.maxDifferences, 10_000)
      const perSecond = yield* positive("searches-per-second", flags.searchesPerSecond, 1_000)
      const format = Option.getOrUndefined(flags.format)
      const csvTypes = yield* csvTypesOf(flags.csvType)
      const files = yield* Inputs.expand(flags.file, format)
      if (csvTypes !== undefined && !files.some((input) => input.format === "csv")) {
        return yield* usage(
          `--csv-type is for CSV files; ${Inputs.label(files)} ${files.length === 1 ? "is" : "are"} not CSV`
        )
      }
      const verified = yield* VerifyCli.check({
        files,
        csvTypes,
        maxDifferences,
        searchesPerSecond: perSecond ?? (backend.kind === "orb" ? Verify.defaultSearchesPerSecond : false),
        externalCustomerId: Option.getOrUndefined(flags.externalCustomerId)
      }, [flags.id])
      yield* Output.line(
        flags.json
          ? JSON.stringify({ ...VerifyCli.json(verified), ...VerifyCli.errorJson(verified) })
          : VerifyCli.text(VerifyCli.reportOf(verified))
      )
      yield* VerifyCli.conclude(verified)
    })
  )
).pipe(Command.withDescription(verifyHelp.summary))

const finalStatuses: ReadonlyArray<Backfill.BackfillStatus> = ["reflected", "reverted"]

const watchFlags = { id: idArg, json, verbose }

const watchHelp: Help.Node = {
  name: "watch",
  summary: "Follow a backfill's status until it is reflected or reverted",
  description: "Follow a backfill's status until it is reflected or reverted, a line at each change. Stopping it " +
    "changes nothing.",
  config: watchFlags
}

const watchCommand = Command.make(
  watchHelp.name,
  watchFlags,
  handler((flags) =>
    Effect.gen(function*() {
      yield* announce
      const backend = yield* Backend.Backend
      let last = ""
      const observe = Effect.gen(function*() {
        const backfill = yield* Backfills.fetch(flags.id)
        const line = `${backfill.status}, ${Progress.plural(backfill.eventsIngested, "event")}` +
          Option.match(backfill.closeTime, {
            onNone: () => "",
            onSome: (t) => (backfill.status === "pending" ? `, close time ${Render.time(t)}` : "")
          })
        if (line !== last && !flags.json) {
          last = line
          yield* Output.line(`${Render.time(yield* DateTime.now)}  ${backfill.id}  ${line}`)
        }
        return backfill
      })
      const final = yield* observe.pipe(
        Effect.repeat({
          schedule: Schedule.passthrough(Schedule.spaced(backend.watchInterval)) as Schedule.Schedule<
            Backfill.Backfill,
            Backfill.Backfill
          >,
          until: (backfill) => finalStatuses.includes(backfill.status)
        })
      )
      if (flags.json) yield* Output.line(JSON.stringify(Render.backfillJson(final)))
    })
  )
).pipe(Command.withDescription(watchHelp.summary))

// ---------------------------------------------------------------------------------------------------------
// runs, runs cancel, resume

// Resuming or cancelling sends requests to the backfills of the runs: an in-process simulator has none of them.
const needsDurableBackend = Effect.flatMap(Backend.Backend, (backend) =>
  backend.kind === "orb"
    ? Effect.void
    : usage(
      "durable runs are against an Orb that outlives this process: set ORB_API_KEY (and ORB_BASE_URL for a " +
        "served simulator) as when the run was started"
    ))

const runKeyArg = Args.text({ name: "run" }).pipe(Args.withDescription("The durable run's key (see orb-backfill runs)"))

const runsCancelFlags = { run: runKeyArg, state, database, json, verbose }

/** Where a command's runs are, from its `--state` and `--database`. */
const where = (flags: { readonly state: Option.Option<string>; readonly database: Option.Option<string> }) =>
  Effect.flatMap(
    Lazy.durable,
    (Durable) =>
      Durable.locate({ state: Option.getOrUndefined(flags.state), database: Option.getOrUndefined(flags.database) })
  )

const runsCancelHelp: Help.Node = {
  name: "cancel",
  summary: "Revert a durable run's backfill and end the run",
  config: runsCancelFlags
}

const runsCancelCommand = Command.make(
  runsCancelHelp.name,
  runsCancelFlags,
  handler((flags) =>
    Effect.gen(function*() {
      yield* announce
      yield* needsDurableBackend
      const Durable = yield* Lazy.durable
      yield* Durable.cancel(yield* where(flags), flags.run, flags.json)
    })
  )
).pipe(Command.withDescription(runsCancelHelp.summary))

const runsPruneFlags = {
  olderThan: Options.integer("older-than").pipe(
    Options.withPseudoName("DAYS"),
    Options.withDescription("Forget the runs that finished more than this many days ago (0: every finished run)")
  ),
  state,
  database,
  json,
  verbose
}

const runsPruneHelp: Help.Node = {
  name: "prune",
  summary: "Forget durable runs that finished long ago",
  description: "Forget the durable runs that finished long ago. Unfinished runs, and failed ones that may have " +
    "left a backfill open, are kept.",
  config: runsPruneFlags
}

const runsPruneCommand = Command.make(
  runsPruneHelp.name,
  runsPruneFlags,
  handler((flags) =>
    Effect.gen(function*() {
      if (!(Number.isInteger(flags.olderThan) && flags.olderThan >= 0 && flags.olderThan <= 36_500)) {
        return yield* usage(`--older-than: expected a number of days from 0 to 36,500, got ${flags.olderThan}`)
      }
      const Durable = yield* Lazy.durable
      yield* Durable.prune(yield* where(flags), flags.olderThan, flags.json)
    })
  )
).pipe(Command.withDescription(runsPruneHelp.summary))

const runsFlags = { state, database, json, verbose }

const runsHelp: Help.Node = {
  name: "runs",
  summary: "List the durable runs of the state file (or database) and their progress",
  description: "List the durable runs of the state file, or of the database with --database, and their progress: " +
    "stage, events accepted, share of the file done, and on a database the worker that holds each unfinished run.",
  config: runsFlags,
  children: [runsCancelHelp, runsPruneHelp]
}

const runsCommand = Command.make(
  runsHelp.name,
  runsFlags,
  handler((flags) =>
    Effect.gen(function*() {
      const Durable = yield* Lazy.durable
      yield* Durable.list(yield* where(flags), flags.json)
    })
  )
).pipe(
  Command.withDescription(runsHelp.summary),
  Command.withSubcommands([runsCancelCommand, runsPruneCommand])
)

const resumeFlags = {
  run: runKeyArg.pipe(Args.optional),
  state,
  database,
  json,
  verbose
}

const resumeHelp: Help.Node = {
  name: "resume",
  summary: "Continue a durable run after a crash or Ctrl-C",
  description: "Continue a durable run after a crash, a deploy or Ctrl-C (or every unfinished run of the state " +
    "file), where it stopped, sending nothing twice.",
  config: resumeFlags
}

const resumeCommand = Command.make(
  resumeHelp.name,
  resumeFlags,
  handler((flags) =>
    Effect.gen(function*() {
      yield* announce
      yield* needsDurableBackend
      const Durable = yield* Lazy.durable
      const stateFile = yield* where(flags)
      if (!flags.json) {
        yield* Output.note(`${stateFile.database !== undefined ? "Database" : "State"}: ${stateFile.path}`)
      }
      yield* Durable.resume(stateFile, Option.getOrUndefined(flags.run), flags.json)
    })
  )
).pipe(Command.withDescription(resumeHelp.summary))

const workerFlags = {
  database,
  address: Options.text("address").pipe(
    Options.withPseudoName("HOST:PORT"),
    Options.optional,
    Options.withDescription(
      "Where the other workers reach this one (default: this machine's name and a free port)"
    )
  ),
  listen: Options.text("listen").pipe(
    Options.withPseudoName("HOST:PORT"),
    Options.optional,
    Options.withDescription("Where this worker listens, when not its --address (0.0.0.0:PORT in a container, say)")
  ),
  verbose
}

const workerHelp: Help.Node = {
  name: "worker",
  summary: "Run the durable runs of a Postgres database, submitted from any machine, until Ctrl-C",
  description: "Run the durable runs of a Postgres database (--database, or ORB_BACKFILL_DATABASE_URL) until Ctrl-C " +
    "or SIGTERM: runs submitted with orb-backfill run --database from any machine, shared between the workers up. " +
    "It prints each run it picks up and how it ends. Stopped (even by kill -9), its unfinished runs move to the " +
    "other workers, or wait for the next one, and continue where their journal is, sending nothing twice.",
  config: workerFlags
}

const workerCommand = Command.make(
  workerHelp.name,
  workerFlags,
  handler((flags) =>
    Effect.gen(function*() {
      yield* announce
      yield* needsDurableBackend
      const state = yield* where({ state: Option.none(), database: flags.database })
      const Worker = yield* Lazy.worker
      yield* Worker.worker({
        state,
        address: Option.getOrUndefined(flags.address),
        listen: Option.getOrUndefined(flags.listen)
      })
    })
  )
).pipe(Command.withDescription(workerHelp.summary))

// ---------------------------------------------------------------------------------------------------------
// simulate, demo

const faultKinds = OrbSimulator.faultKinds

/**
 * The environment variable `simulate` takes its `--api-key` from when the flag is not given.
 *
 * @since 0.1.0
 * @category constants
 */
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
  verbose
}

/**
 * The simulator's server options from `simulate`'s flags.
 *
 * @since 0.1.0
 * @category parsing
 */
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

const simulateHelp: Help.Node = {
  name: "simulate",
  summary: "Serve the Orb simulator on 127.0.0.1 until stopped",
  description: "Serve the Orb simulator on 127.0.0.1 until stopped (Ctrl-C). Its base URL is the only line on " +
    "standard output. Tests steer it through its control API, under /_simulator/ on the same port and key " +
    "(docs/testing.md).",
  config: simulateFlags
}

const simulateCommand = Command.make(
  simulateHelp.name,
  simulateFlags,
  handler((flags) =>
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
).pipe(Command.withDescription(simulateHelp.summary))

const demoFlags = {
  events: Help.withDefault(
    Options.integer("events").pipe(
      Options.withPseudoName("N"),
      Options.withDescription("About how many events to generate")
    ),
    40_000,
    "40,000"
  ),
  verbose
}

const demoHelp: Help.Node = {
  name: "demo",
  summary: "A whole backfill of generated events against the in-process simulator",
  description: "A whole backfill of a week of generated usage against the in-process simulator (never Orb), " +
    "shown and then reverted.",
  config: demoFlags
}

const demoCommand = Command.make(
  demoHelp.name,
  demoFlags,
  handler((flags) =>
    Effect.gen(function*() {
      const events = yield* positive("events", Option.some(flags.events), 1_000_000)
      // The demo always runs in-process, ORB_API_KEY or not: it must never touch a real account.
      yield* Demo.demo({ events }).pipe(Effect.provide(Backend.layerSimulator()))
    })
  )
).pipe(Command.withDescription(demoHelp.summary))

// ---------------------------------------------------------------------------------------------------------
// the command

/**
 * The whole command tree.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make(
  "orb-backfill",
  { verbose },
  handler(() =>
    usage(
      "give a command: run, runs, resume, worker, list, show, close, revert, watch, verify, simulate or demo " +
        "(see orb-backfill --help)"
    )
  )
).pipe(
  Command.withDescription(
    "Run, list, show, close, revert and watch Orb event backfills. Without ORB_API_KEY, every command runs " +
      "against an in-process Orb simulator."
  ),
  Command.withSubcommands([
    runCommand,
    runsCommand,
    resumeCommand,
    workerCommand,
    listCommand,
    showCommand,
    closeCommand,
    revertCommand,
    watchCommand,
    verifyCommand,
    simulateCommand,
    demoCommand
  ])
)

// The command tree as its help describes it: the same flags and arguments as `command`, which the help reads from
// their definitions (a test checks that both trees name the same commands).
const version = "0.1.0"

const helpTree: Help.Node = {
  name: "orb-backfill",
  summary: "Run, list, show, close, revert and watch Orb event backfills",
  description: `orb-backfill ${version}: run, list, show, close, revert and watch Orb event backfills. Against Orb ` +
    "with ORB_API_KEY (and ORB_BASE_URL for another Orb, such as orb-backfill simulate); without ORB_API_KEY, " +
    "every command runs against an in-process Orb simulator that vanishes when the command ends.",
  config: { verbose },
  children: [
    runHelp,
    runsHelp,
    resumeHelp,
    workerHelp,
    listHelp,
    showHelp,
    closeHelp,
    revertHelp,
    watchHelp,
    verifyHelp,
    simulateHelp,
    demoHelp
  ],
  notes: [
    "Results go to standard output, progress and errors to standard error. Exit codes: 0 done, 1 the work " +
    "failed, 2 bad usage or input (nothing was sent), 130 interrupted. More in docs/cli.md."
  ]
}

const cli = Command.run(command, { name: "orb-backfill", version, executable: "orb-backfill" })

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
export const run = (args: ReadonlyArray<string>): Effect.Effect<number, never, Environment> =>
  Effect.gen(function*() {
    const output = yield* Output.Output
    const scanned = Help.scan("orb-backfill", helpTree, args)
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
    const expected = Help.andList(choices).replace(/ and (?=[^ ]+$)/, " or ")
    return flag === undefined
      ? `expected ${expected}`
      : `${flag.long}: expected ${expected}, got '${valueOf(flag, args) ?? ""}'`
  }
  return text
}
