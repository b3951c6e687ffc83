/**
 * `orb-backfill run`: a whole backfill from event files, from the check to Orb's reflection, in memory or durably.
 */
import type { Backfill } from "@effect-orb/backfills"
import { Backfills, Verify } from "@effect-orb/backfills"
// The module, not the package's index: in the bundle, the index would bring the durable engine into startup.
import * as EventFile from "@effect-orb/workflow/EventFile"
import type * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Backend from "../../Backend.js"
import * as Output from "../../Output.js"
import type * as CliError from "../cliError.js"
import * as InMemoryRun from "../inMemoryRun.js"
import * as Inputs from "../inputs.js"
import * as Lazy from "../lazy.js"
import { announce } from "./backend.js"
import { define } from "./define.js"
import * as Flags from "./flags.js"
import { csvTypesOf, parseDuration, parseTime, positive, usage } from "./parse.js"

export const runFlags = {
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
  state: Flags.state,
  database: Flags.database,
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
  json: Flags.json,
  verbose: Flags.verbose
}

/** The flags of `run`, as the parser gives them. */
export type RunFlags = Command.Command.ParseConfig<typeof runFlags>

/**
 * What `run`'s flags ask for, checked before anything is read or sent: the run's settings, and for a durable run
 * (against an Orb that outlives the process, unless `--ephemeral`) the state file's flag and the run key. `now`
 * decides whether `--close-time` is in the future; the backend whether the run is durable and the default pace.
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
    readonly options: Omit<InMemoryRun.RunOptions, "durable" | "files"> & {
      readonly inputs: ReadonlyArray<string>
      /** `--format`: every file read as it, else each by its own name. */
      readonly format: EventFile.Format | undefined
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
  CliError.UsageError | EventFile.InputError
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
    // A single file tells its format here, before anything is read (by its name, else Parquet by its first bytes);
    // folders, globs and stdin when expanded.
    const single = flags.file.length === 1 && flags.file[0] !== "-" && !/[*?[]/.test(flags.file[0])
      ? flags.file[0]
      : undefined
    if (single !== undefined && !Inputs.isFolder(single)) {
      const named = EventFile.formatOf(single, format)
      const known = Either.isRight(named) ? named.right : Inputs.isParquetSync(single) ? "parquet" : yield* named
      if (known !== "csv" && csvTypes !== undefined) {
        return yield* Either.left(usage(`--csv-type is for CSV files; ${single} is read as ${formatName[known]}`))
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

const formatName: Readonly<Record<EventFile.Format, string>> = { ndjson: "NDJSON", csv: "CSV", parquet: "Parquet" }

// Orb counts an event search as a write: 5 a second with a test-mode key.
const testModeSearchesPerSecond = 5

export const run = define(
  {
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
  },
  (flags) =>
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
          EventFile.recognise(flags.file[0]).pipe(
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
      yield* InMemoryRun.run({
        ...settings,
        files,
        durable: stateFile === undefined
          ? undefined
          : { state: stateFile, runKey: durable!.runKey, addAgain: durable!.addAgain, submit: durable!.submit }
      })
    }).pipe(Effect.scoped)
)
