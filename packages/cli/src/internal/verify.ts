/**
 * Verifying backfills against a file from the command line, one code path for `verify ID` and `run --verify`: the
 * file read as `run` reads it, the report in words or as JSON, and the sentence and exit code when Orb does not
 * hold the file.
 */
import { type Backfills, Events, Verify } from "@effect-orb/backfills"
// The module, not the package's index: in the bundle, the index would bring the durable engine into startup.
import * as EventFile from "@effect-orb/workflow/EventFile"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as Backend from "../Backend.js"
import * as Output from "../Output.js"
import * as CliError from "./cliError.js"
import * as Progress from "./progress.js"
import * as Render from "./render.js"

/**
 * The file to verify against, read as `run` read it, and the verification's pace.
 *
 * @category models
 */
export interface Settings {
  /** The files, in order, each with its format: read one after the other, as `run` read them. */
  readonly files: ReadonlyArray<{ readonly file: string; readonly format: EventFile.Format }>
  /** Types for some of a CSV file's property columns (`--csv-type`). */
  readonly csvTypes?: EventFile.CsvTypes | undefined
  readonly maxDifferences?: number | undefined
  /** Searches per second, `false` for no pace (the in-process simulator). */
  readonly searchesPerSecond: number | false
  /** The external id of the backfills' customer, when they are scoped by it: Orb's backfill does not say it. */
  readonly externalCustomerId?: string | undefined
}

/**
 * What a verification found: the report when Orb holds the file, the failure (carrying it) when it does not.
 *
 * @category models
 */
export type Verified = Either.Either<Verify.VerifyReport, Verify.VerifyFailed>

/**
 * Verifies the backfills against the file: every line read (a line that does not parse counts invalid, as `run`
 * refused it; lines outside the backfills' timeframes or customer are not looked for).
 *
 * @category verifying
 */
export const check = (
  settings: Settings,
  backfills: ReadonlyArray<string>
): Effect.Effect<
  Verified,
  Verify.NotReflected | Backfills.Error | EventFile.InputError | EventFile.UnsupportedFormat,
  Backend.Backend | Backfills.Backfills | FileSystem.FileSystem
> =>
  Effect.gen(function*() {
    const backend = yield* Backend.Backend
    const events = yield* (backend.events ?? Effect.dieMessage("this backend has no event queries"))
    const source = Stream.flatMap(
      Stream.fromIterable(settings.files),
      ({ file, format }) => EventFile.read(file, format, { csvTypes: settings.csvTypes })
    ).pipe(
      Stream.map((line) => Either.getOrElse(line.event, () => undefined))
    )
    return yield* Verify.verifyEncoded(source, {
      backfills,
      maxDifferences: settings.maxDifferences,
      searchesPerSecond: settings.searchesPerSecond,
      externalCustomerId: settings.externalCustomerId
    }).pipe(
      Effect.provideService(Events.Events, events),
      Effect.map(Either.right),
      Effect.catchTag("VerifyFailed", (failed) => Effect.succeed(Either.left(failed)))
    )
  })

/**
 * The report of a verification, held or not.
 *
 * @category formatting
 */
export const reportOf = (verified: Verified): Verify.VerifyReport =>
  Either.isRight(verified) ? verified.right : verified.left.report

/**
 * The report as JSON: `holds`, then `VerifyReport`'s fields in snake_case.
 *
 * @category formatting
 */
export const json = (verified: Verified): Record<string, unknown> => {
  const report = reportOf(verified)
  return { holds: report.holds, ...Verify.encodeReport(report) }
}

const outcomesLine = (o: Verify.Outcomes) =>
  `${Progress.plural(o.found, "event")} found as sent, ${o.missing.toLocaleString("en-US")} missing, ` +
  `${o.different.toLocaleString("en-US")} different, ${o.deprecated.toLocaleString("en-US")} deprecated`

/**
 * The report in words: the outcome, the hourly volume, then the first differences.
 *
 * @category formatting
 */
export const text = (report: Verify.VerifyReport): string => {
  const lines = [
    `Backfill ${report.backfillIds.join(", ")}: ${outcomesLine(report)}` +
    ` (${Progress.plural(report.read, "line")} read, ${report.invalid.toLocaleString("en-US")} invalid, ` +
    `${report.outside.toLocaleString("en-US")} outside its timeframe or customer).`,
    report.volume === "checked"
      ? `Hourly volume: ${Progress.plural(report.hoursChecked, "hour")} checked, ` +
        `${report.hoursDiffering.toLocaleString("en-US")} counted otherwise than the file.`
      : "Hourly volume: not checked (the backfill is scoped to one customer; Orb's volume counts every customer)."
  ]
  for (const d of report.differences) {
    const fields = d.fields.map((f) => `${f.field} sent ${f.sent}, found ${f.found}`).join("; ")
    lines.push(`  ${CliError.printable(d.idempotencyKey)}: ${d.outcome}${fields === "" ? "" : ` (${fields})`}`)
  }
  for (const h of report.hourDifferences) {
    lines.push(
      `  hour ${Render.time(h.hour)}: the file has ${h.sent.toLocaleString("en-US")}, Orb counts ` +
        `${h.counted.toLocaleString("en-US")} (${h.rule === "exact" ? "must be equal" : "must be at least"})`
    )
  }
  return lines.join("\n")
}

/**
 * The sentence for a verification that does not hold; after a run, with the commands that revert its backfills
 * (a verification reverts nothing).
 *
 * @category formatting
 */
export const failureMessage = (failed: Verify.VerifyFailed, ranBackfills?: ReadonlyArray<string>): string =>
  CliError.messageOf(failed) +
  (ranBackfills === undefined ?
    "" :
    ` The run leaves ${ranBackfills.length === 1 ? "its backfill" : "its backfills"} as ${
      ranBackfills.length === 1 ? "it is" : "they are"
    } (verifying never reverts); to revert: ${ranBackfills.map((id) => `orb-backfill revert ${id}`).join("; ")}`)

/**
 * The `error` member of a JSON document whose verification did not hold, `{}` when it held.
 *
 * @category formatting
 */
export const errorJson = (verified: Verified, ranBackfills?: ReadonlyArray<string>): Record<string, unknown> =>
  Either.isLeft(verified)
    ? {
      error: {
        tag: "VerifyFailed",
        message: failureMessage(verified.left, ranBackfills),
        exitCode: CliError.ExitCode.failure
      }
    }
    : {}

/**
 * Ends a command whose verification did not hold: its sentence on standard error and exit code 1. Nothing when it
 * held.
 *
 * @category verifying
 */
export const conclude = (
  verified: Verified,
  ranBackfills?: ReadonlyArray<string>
): Effect.Effect<void, CliError.Exit, Output.Output> =>
  Either.isRight(verified) ? Effect.void : Effect.zipRight(
    Output.note(`Error: ${failureMessage(verified.left, ranBackfills)}`),
    new CliError.Exit({ code: CliError.ExitCode.failure })
  )

/**
 * `--format` when the files were all read as one format; files of several formats were each read by its own name,
 * as `verify` reads them without it.
 */
const formatFlag = (settings: Settings) => {
  const formats = new Set(settings.files.map(({ format }) => format))
  return formats.size === 1 ? ` --format ${settings.files[0].format}` : ""
}

/** The `verify` command line that does what `settings` do for one backfill. */
const commandFor = (settings: Settings, id: string) =>
  `orb-backfill verify ${id}` + settings.files.map(({ file }) => ` --file ${file}`).join("") + formatFlag(settings) +
  (settings.csvTypes === undefined
    ? ""
    : ` --csv-type ${Object.entries(settings.csvTypes).map(([column, type]) => `${column}=${type}`).join(",")}`) +
  (settings.externalCustomerId === undefined ? "" : ` --external-customer-id ${settings.externalCustomerId}`)

/**
 * Prints a run's result and, when asked (`settings`), verifies the run's backfills against its file: in words
 * after the result (a note says it is being verified), or under `--json` as the result's `verification` member
 * (verified first: one document). Fails with exit code 1 when Orb does not hold the file, naming the commands that
 * revert the backfills.
 *
 * @category verifying
 */
export const afterRun = <E, R>(
  settings: Settings | undefined,
  backfills: ReadonlyArray<string>,
  asJson: boolean,
  printResult: (extra: Record<string, unknown>) => Effect.Effect<void, E, R>
): Effect.Effect<
  void,
  E | CliError.Exit | Verify.NotReflected | Backfills.Error | EventFile.InputError | EventFile.UnsupportedFormat,
  R | Output.Output | Backend.Backend | Backfills.Backfills | FileSystem.FileSystem
> =>
  Effect.gen(function*() {
    if (settings === undefined) return yield* printResult({})
    // Ctrl-C while verifying changes nothing in Orb: the backfills stay reflected.
    const verifying = check(settings, backfills).pipe(
      Effect.onInterrupt(() =>
        Output.note(
          `\nInterrupted while verifying: nothing changed, the run is done. Verify with: ${
            backfills.map((id) => commandFor(settings, id)).join("; ")
          }`
        )
      )
    )
    if (asJson) {
      const verified = yield* Effect.either(verifying)
      if (Either.isLeft(verified)) {
        // The result is printed all the same, with the error that stopped the verification: one document.
        const error = verified.left
        const code = CliError.exitCodeOf(error)
        const message = CliError.messageOf(error)
        yield* printResult({ verification: null, error: { tag: error._tag, message, exitCode: code } })
        yield* Output.note(`Error: ${message}`)
        return yield* new CliError.Exit({ code })
      }
      yield* printResult({ verification: json(verified.right), ...errorJson(verified.right, backfills) })
      return yield* conclude(verified.right, backfills)
    }
    yield* printResult({})
    yield* Output.note(
      `Verifying ${backfills.length === 1 ? "the backfill" : `the ${backfills.length} backfills`} against ` +
        `${settings.files.length === 1 ? settings.files[0].file : `${settings.files.length} files`}…`
    )
    const verified = yield* verifying
    yield* Output.line(text(reportOf(verified)))
    return yield* conclude(verified, backfills)
  })
