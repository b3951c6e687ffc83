/**
 * Proves what Orb holds after a backfill: every event of the source found under its idempotency key (Orb's event
 * id), not deprecated, with the event name, properties, timestamp and customer it was sent with; and, where the
 * backfill covers every customer, the hourly counts of its timeframe against the source's (equal in replace mode,
 * at least in add mode). A run proves that it sent every event once and that Orb reflected the backfill; Orb
 * deduplicates keys within the grace period and refuses a deprecated event's key, so a reflected backfill can
 * still not hold what was sent: this is the check of the outcome.
 *
 * @since 0.2.0
 */
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import * as Backfill from "./Backfill.js"
import type * as Backfills from "./Backfills.js"
import type * as Events from "./Events.js"
import * as internal from "./internal/verify.js"

const Count = Schema.NonNegativeInt

// The encoded side is snake_case, as Orb's own JSON and the command line's `--json` documents are.
const wireKey = <S extends Schema.Schema.All, K extends string>(schema: S, key: K) =>
  Schema.propertySignature(schema).pipe(Schema.fromKey(key))

/**
 * The counts of one part of the source (a window, a customer): `found` with the content sent, `missing` (no event
 * under the key), `different` (found, counting, with another content), `deprecated` (found, but no longer counting).
 *
 * @since 0.2.0
 * @category models
 */
export const Outcomes = Schema.Struct({ found: Count, missing: Count, different: Count, deprecated: Count })

/**
 * @since 0.2.0
 * @category models
 */
export type Outcomes = typeof Outcomes.Type

/**
 * One backfill (window) of the verified run, and the outcome of its events.
 *
 * @since 0.2.0
 * @category models
 */
export class WindowReport extends Schema.Class<WindowReport>("@effect-orb/backfills/Verify/WindowReport")({
  backfillId: wireKey(Schema.String, "backfill_id"),
  timeframeStart: wireKey(Backfill.Timestamp, "timeframe_start"),
  timeframeEnd: wireKey(Backfill.Timestamp, "timeframe_end"),
  ...Outcomes.fields
}) {}

/**
 * The outcome of one customer's events (as the source names the customer: its external id, else its Orb id).
 *
 * @since 0.2.0
 * @category models
 */
export class CustomerReport extends Schema.Class<CustomerReport>("@effect-orb/backfills/Verify/CustomerReport")({
  customer: Schema.String,
  ...Outcomes.fields
}) {}

/**
 * One field of an event that Orb holds otherwise than it was sent: `eventName`, `timestamp`, `customerId`,
 * `externalCustomerId` or `properties.<name>`, with both values as JSON text (`undefined` when absent).
 *
 * @since 0.2.0
 * @category models
 */
export class FieldDifference extends Schema.Class<FieldDifference>("@effect-orb/backfills/Verify/FieldDifference")({
  field: Schema.String,
  sent: Schema.String,
  found: Schema.String
}) {}

/**
 * One event of the source that Orb does not hold as sent.
 *
 * @since 0.2.0
 * @category models
 */
export class Difference extends Schema.Class<Difference>("@effect-orb/backfills/Verify/Difference")({
  /** The event's idempotency key: Orb's event id. */
  idempotencyKey: wireKey(Schema.String, "idempotency_key"),
  backfillId: wireKey(Schema.String, "backfill_id"),
  outcome: Schema.Literal("missing", "different", "deprecated"),
  /** For `different`: what differs. */
  fields: Schema.Array(FieldDifference)
}) {}

/**
 * One hour whose count in Orb does not agree with the source: `sent` events of the source have a timestamp in it,
 * Orb counts `counted`.
 *
 * @since 0.2.0
 * @category models
 */
export class HourDifference extends Schema.Class<HourDifference>("@effect-orb/backfills/Verify/HourDifference")({
  backfillId: wireKey(Schema.String, "backfill_id"),
  hour: Backfill.Timestamp,
  sent: Count,
  counted: Count,
  /** `exact`: Orb must count exactly the source's events; `at-least`: at least them. */
  rule: Schema.Literal("exact", "at-least")
}) {}

/**
 * What a verification found. Memory stays constant whatever the source's size: counts, and the first
 * differences only (`maxDifferences`).
 *
 * @since 0.2.0
 * @category models
 */
export class VerifyReport extends Schema.Class<VerifyReport>("@effect-orb/backfills/Verify/VerifyReport")({
  backfillIds: wireKey(Schema.Array(Schema.String), "backfill_ids"),
  /** Source events read. */
  read: Count,
  /** Source events refused by the library's own checks: never sent, so not looked for. */
  invalid: Count,
  /** Valid source events outside every window's timeframe or customer: never sent, so not looked for. */
  outside: Count,
  ...Outcomes.fields,
  windows: Schema.Array(WindowReport),
  customers: Schema.Array(CustomerReport),
  /** The first differences, in the order of the source. */
  differences: Schema.Array(Difference),
  /**
   * The hourly volume check: `checked` when every window covers all customers (Orb's volume counts every
   * customer's events, so a customer-scoped backfill cannot be compared with it), `skipped` otherwise.
   */
  volume: Schema.Literal("checked", "skipped"),
  hoursChecked: wireKey(Count, "hours_checked"),
  /** Every hour that did not agree, up to `maxDifferences`. */
  hourDifferences: wireKey(Schema.Array(HourDifference), "hour_differences"),
  hoursDiffering: wireKey(Count, "hours_differing")
}) {
  /** Whether Orb holds exactly what was sent: nothing missing, different or deprecated, every hour agreeing. */
  get holds(): boolean {
    return this.missing === 0 && this.different === 0 && this.deprecated === 0 && this.hoursDiffering === 0
  }
}

/**
 * A report as JSON (timestamps in ISO 8601), for a program's output.
 *
 * @since 0.2.0
 * @category encoding
 */
export const encodeReport: (report: VerifyReport) => typeof VerifyReport.Encoded = Schema.encodeSync(VerifyReport)

/**
 * Orb does not hold what the source says was sent. `report` says what differs; the message says what to do.
 *
 * @since 0.2.0
 * @category errors
 */
export class VerifyFailed extends Schema.TaggedError<VerifyFailed>("@effect-orb/backfills/Verify/VerifyFailed")(
  "VerifyFailed",
  { report: VerifyReport }
) {
  override get message() {
    return internal.failureMessage(this.report)
  }
}

/**
 * A backfill that is not `reflected` cannot be verified: its events do not count (pending), or no longer count
 * (reverted, pending_revert).
 *
 * @since 0.2.0
 * @category errors
 */
export class NotReflected extends Schema.TaggedError<NotReflected>("@effect-orb/backfills/Verify/NotReflected")(
  "NotReflected",
  { backfillId: Schema.String, status: Backfill.BackfillStatus }
) {
  override get message() {
    return internal.notReflectedMessage(this.backfillId, this.status)
  }
}

// Built on first use: the classes above are declared by then.
let built: ReturnType<typeof internal.verifyWith> | undefined
const entryPoints = () =>
  built ??= internal.verifyWith({
    VerifyReport,
    WindowReport,
    CustomerReport,
    Difference,
    FieldDifference,
    HourDifference,
    VerifyFailed,
    NotReflected
  })

/**
 * The default of {@link VerifyOptions.maxDifferences}.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultMaxDifferences: number = 20

/**
 * Searches per second by default: Orb counts `POST /events/search` as a write, 50 a second in live mode (test
 * mode: 5; give `searchesPerSecond: 5` there).
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultSearchesPerSecond: number = 50

/**
 * @since 0.2.0
 * @category models
 */
export interface VerifyOptions {
  /**
   * The backfills the source was sent to: their ids, the backfills, or a run's result (each of its windows).
   * Each is fetched again, and must be `reflected`.
   */
  readonly backfills: ReadonlyArray<string | Backfill.Backfill> | Backfills.RunResult
  /** How many differences (events, and hours) the report keeps. Default {@link defaultMaxDifferences}. */
  readonly maxDifferences?: number | undefined
  /** The pace of searches, `false` for none. Default {@link defaultSearchesPerSecond}. */
  readonly searchesPerSecond?: number | false | undefined
  /**
   * The external id of the customer the backfills were created for (`externalCustomerId` of their create). Orb's
   * backfill names its customer by Orb id only, so without it a source event naming another customer by external
   * id (left out of the run, as `--only-external-customer` does) is looked for, and found missing; with it, it is
   * counted `outside`.
   *
   * @since 0.2.0
   */
  readonly externalCustomerId?: string | undefined
}

/**
 * Everything a verification may fail with: the source's own error `E` besides.
 *
 * @since 0.2.0
 * @category errors
 */
export type Error = VerifyFailed | NotReflected | Backfills.Error

/**
 * Verifies that Orb holds the events of a source (as `Backfills.ingestStream` takes them) in the given reflected
 * backfills. Reads the source once, in chunks of at most `Events.maxSearchEventIds` ids, one search per chunk and
 * window. An event without a key is looked for under the key the library derives for it, as `ingestStream` does.
 * Succeeds with the report when everything holds, else fails with {@link VerifyFailed} carrying it.
 *
 * @example
 * ```ts
 * import type { Backfill } from "@effect-orb/backfills"
 * import { Backfills, Verify } from "@effect-orb/backfills"
 * import { DateTime, Effect, Stream } from "effect"
 *
 * declare const events: ReadonlyArray<Backfill.IngestEvent>
 *
 * const program = Effect.gen(function*() {
 *   const result = yield* Backfills.run({
 *     timeframeStart: DateTime.unsafeMake("2026-10-01T00:00:00Z"),
 *     timeframeEnd: DateTime.unsafeMake("2026-10-02T00:00:00Z"),
 *     replaceExistingEvents: true,
 *     events: Stream.fromIterable(events)
 *   })
 *   const report = yield* Verify.verify(Stream.fromIterable(events), { backfills: result })
 *   yield* Effect.log(`${report.found} events found as sent`)
 * })
 * ```
 *
 * @since 0.2.0
 * @category verifying
 */
export const verify: <E, R>(
  events: Stream.Stream<Backfill.IngestEvent, E, R>,
  options: VerifyOptions
) => Effect.Effect<VerifyReport, Error | E, R | Backfills.Backfills | Events.Events> = (events, options) =>
  entryPoints().decoded(events, options)

/**
 * {@link verify} for events in Orb's wire form, as `Backfills.ingestEncodedStream` takes them (the parsed lines of
 * an NDJSON file, say).
 *
 * @since 0.2.0
 * @category verifying
 */
export const verifyEncoded: <E, R>(
  events: Stream.Stream<unknown, E, R>,
  options: VerifyOptions
) => Effect.Effect<VerifyReport, Error | E, R | Backfills.Backfills | Events.Events> = (events, options) =>
  entryPoints().encoded(events, options)
