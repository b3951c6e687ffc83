/**
 * `orb-backfill verify`: whether Orb holds a reflected backfill's events as the file has them.
 */
import { Verify } from "@effect-orb/backfills"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Backend from "../../Backend.js"
import * as Output from "../../Output.js"
import * as Inputs from "../inputs.js"
import * as VerifyCli from "../verify.js"
import { announce } from "./backend.js"
import { define } from "./define.js"
import * as Flags from "./flags.js"
import { csvTypesOf, positive, usage } from "./parse.js"
import { runFlags } from "./run.js"

export const verify = define(
  {
    name: "verify",
    summary: "Check that Orb holds a reflected backfill's events as the file has them",
    description: "Check that Orb holds the events of a file in a reflected backfill: each found under its " +
      "idempotency key, not deprecated, with its event name, properties, timestamp and customer as in the file; " +
      "and, for a backfill of all customers, every hour's count as the file's (exactly in replace mode, at least in " +
      "add mode). Exit 1 when it does not hold, with the first differences.",
    config: {
      id: Flags.id,
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
      json: Flags.json,
      verbose: Flags.verbose
    },
    notes: [
      "Lines of the file outside the backfill's timeframe are not looked for: verify each window of a long run " +
      "with the same file. Example: orb-backfill verify bf_123 --file usage.ndjson"
    ]
  },
  (flags) =>
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
