/**
 * The durable run's models, in one module that \`DurableRun\` (which re-exports them) and the workflow's
 * implementation both import at runtime: the payload, a window, the result, the typed failures and the workflow
 * itself.
 *
 * @since 0.2.0
 */
import { Backfill, OrbError } from "@effect-orb/backfills"
import * as Workflow from "@effect/workflow/Workflow"
import * as Schema from "effect/Schema"
import * as RunSource from "./RunSource.js"

/**
 * An ingest pace, as `Backfills.IngestQuota`.
 *
 * @since 0.2.0
 * @category models
 */
export const Quota = Schema.Struct({ requestsPerSecond: Schema.Positive, eventsPerMinute: Schema.Positive })

/**
 * The Orb a run belongs to: its base URL, and its account as the API key's fingerprint (a salted SHA-256, never the
 * key; Orb has no endpoint that names the account of a key). Once the run's backfill exists, that backfill is the
 * proof of the account instead: a key that finds it is of the run's account, as after a key rotation.
 *
 * @since 0.2.0
 * @category models
 */
export const RunOrb = Schema.Struct({ baseUrl: Schema.String, keyFingerprint: Schema.String })

/**
 * @since 0.2.0
 * @category models
 */
export type RunOrb = typeof RunOrb.Type

/**
 * A run was to act through a connection to another Orb, or another account of its Orb, than its own: nothing was sent.
 *
 * @since 0.2.0
 * @category errors
 */
export class OtherOrb extends Schema.TaggedError<OtherOrb>("@effect-orb/workflow/OtherOrb")("OtherOrb", {
  runKey: Schema.String,
  /** The run's Orb (absent for a run submitted before runs recorded it), and the connection's. */
  runBaseUrl: Schema.optional(Schema.String),
  baseUrl: Schema.String,
  /** With the same base URL: why the account is another (or not known to be the run's). */
  account: Schema.optional(Schema.String)
}) {
  override get message() {
    return this.account === undefined
      ? `durable run ${this.runKey} belongs to the Orb at ${this.runBaseUrl}, not to the one at ${this.baseUrl}; ` +
        `nothing was sent or reverted: continue it against ${this.runBaseUrl}`
      : this.runBaseUrl === undefined
      ? `durable run ${this.runKey} belongs to another Orb or account than the Orb at ${this.baseUrl} with this ` +
        `API key (${this.account}); nothing was sent or reverted: continue it against the Orb it was started on`
      : `durable run ${this.runKey} belongs to another account of the Orb at ${this.runBaseUrl} than this API ` +
        `key's (${this.account}); nothing was sent or reverted: continue it with the API key it was started with`
  }
}

/**
 * What a durable run is: everything `Backfills.run` takes but its events, a replayable source instead, and the run
 * key from which its execution id derives (submitting the same run key again attaches to the same execution). Its
 * close time is fixed at submission, so that every attempt of the create sends the same request.
 *
 * @since 0.2.0
 * @category models
 */
export const RunPayload = Schema.Struct({
  runKey: Schema.NonEmptyString,
  /**
   * Random, made by `payload` once per submission: the create's idempotency key includes it, so that the same run
   * key submitted again to another engine database is a new run, never Orb's replay of an earlier one's backfill.
   */
  submission: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{16}$/)),
  /** Absent in runs submitted before runs recorded their Orb, or without an `OrbConnection`. */
  orb: Schema.optional(RunOrb),
  timeframeStart: Backfill.Timestamp,
  timeframeEnd: Backfill.Timestamp,
  replaceExistingEvents: Schema.Boolean,
  customerId: Schema.optional(Schema.String),
  externalCustomerId: Schema.optional(Schema.String),
  deprecationFilter: Schema.optional(Schema.String),
  closeTime: Backfill.Timestamp,
  /**
   * The windows of a timeframe longer than the account's maximum, one backfill each, fixed at submission
   * (`Backfill.splitTimeframe`); absent, the timeframe is the one window.
   */
  windows: Schema.optional(Schema.Array(Schema.Struct({
    timeframeStart: Backfill.Timestamp,
    timeframeEnd: Backfill.Timestamp
  }))),
  source: RunSource.RunSource,
  /** Events per segment (one journal entry): a few thousand, so that a crash costs at most that much sent again. */
  segmentEvents: Schema.Int.pipe(Schema.between(1, 1_000_000)),
  /**
   * Where the run journals its segments: `table`, a row each in the segments' table of the engine's database;
   * absent in runs submitted before, whose segments are the engine's activities (and are resumed as such).
   */
  segmentJournal: Schema.optional(Schema.Literal("table")),
  batchSize: Schema.Int.pipe(Schema.between(1, Backfill.maxEventsPerRequest)),
  concurrency: Schema.Int.pipe(Schema.between(1, 64)),
  quota: Schema.Union(Schema.Literal(false), Quota),
  invalidEvents: Schema.Literal("fail", "skip"),
  until: Schema.Literal("reflected", "closed"),
  /**
   * How long a create Orb refuses for an overlapping pending backfill waits for it, in milliseconds (see
   * {@link RunSpec}); absent in runs submitted before, which wait the default.
   */
  overlapWaitMillis: Schema.optional(Schema.NonNegativeInt)
})

/**
 * @since 0.2.0
 * @category models
 */
export type RunPayload = typeof RunPayload.Type

/**
 * One window of a run over a timeframe longer than the account's maximum (or the one window of a shorter run): the
 * library's one window model, `OrbError.RunWindowOutcome`, which the result and the failures journal. Journals of
 * 0.1.0, whose windows were a class of this module with the same fields, decode into it.
 *
 * @since 0.2.0
 * @category models
 */
export const RunWindow: typeof OrbError.RunWindowOutcome = OrbError.RunWindowOutcome

/**
 * @since 0.2.0
 * @category models
 */
export type RunWindow = OrbError.RunWindowOutcome

/**
 * What a finished run did.
 *
 * @since 0.2.0
 * @category models
 */
export class RunResult extends Schema.Class<RunResult>("@effect-orb/workflow/RunResult")({
  /** The backfill (with several windows, the first window's: see `windows`). */
  backfillId: Schema.String,
  /** `reflected`, or `pending` (closed) when the run stopped after the close. */
  status: Backfill.BackfillStatus,
  /** Events read from the source. */
  read: Schema.NonNegativeInt,
  /** Events Orb accepted (a segment sent again after a crash counts its events once). */
  accepted: Schema.NonNegativeInt,
  /** Events set aside as invalid (under `invalidEvents: "skip"`). */
  failed: Schema.NonNegativeInt,
  segments: Schema.NonNegativeInt,
  /** Every window, in order. */
  windows: Schema.Array(RunWindow)
}) {}

/**
 * A durable run failed for good. Before the close, the backfill was reverted (`reverted`), so usage is as it was;
 * after the close it never is. Tagged `DurableRunFailed`, apart from `Backfills.run`'s `OrbError.RunFailed`.
 *
 * @since 0.2.0
 * @category errors
 */
export class RunFailed extends Schema.TaggedError<RunFailed>("@effect-orb/workflow/RunFailed")("DurableRunFailed", {
  runKey: Schema.String,
  /** The backfill, when one was created. */
  backfillId: Schema.optional(Schema.String),
  /** The step that failed: `create`, `ingest` (with the segment), `close`, `await`, or `cancel` when cancelled. */
  stage: Schema.String,
  /** What went wrong, as the failing error said it. */
  reason: Schema.String,
  reverted: Schema.Boolean,
  /** The backfill's last known status. */
  status: Schema.optional(Backfill.BackfillStatus),
  /** A run over several windows: what became of each (before the last close, every window is reverted). */
  windows: Schema.optional(Schema.Array(RunWindow))
}) {
  override get message() {
    if (this.windows !== undefined && this.windows.length > 1) {
      const each = this.windows.map((window) => window.description).join("; ")
      return `Durable run ${this.runKey} failed at ${this.stage}: ${this.reason}; ${
        this.reverted ? "every window's backfill was reverted, so no usage changed" : "NOT every window was reverted"
      }: ${each}`
    }
    const outcome = this.backfillId === undefined
      ? "no backfill was created"
      : this.reverted
      ? `backfill ${this.backfillId} was reverted, so no usage changed`
      : `backfill ${this.backfillId} was not reverted${this.status ? ` (last seen ${this.status})` : ""}`
    return `Durable run ${this.runKey} failed at ${this.stage}: ${this.reason}; ${outcome}`
  }
}

// A run failure journaled before the tag was `DurableRunFailed` (it was `RunFailed`): decoded as one.
const { _tag: _, ...runFailedFields } = RunFailed.fields
const FormerRunFailed = Schema.transform(
  Schema.Struct({ ...runFailedFields, _tag: Schema.Literal("RunFailed") }),
  Schema.typeSchema(RunFailed),
  {
    strict: true,
    decode: ({ _tag: _, ...fields }) => new RunFailed(fields),
    encode: (failure) => ({ ...failure, _tag: "RunFailed" as const })
  }
)

/**
 * A run's failure as the engine journals it: under its tag, or under the former one.
 *
 * @since 0.2.0
 * @category errors
 */
export const JournaledRunFailed: Schema.Schema<RunFailed, typeof RunFailed.Encoded | typeof FormerRunFailed.Encoded> =
  Schema.Union(RunFailed, FormerRunFailed)

/**
 * The workflow. Its execution id derives from the payload's `runKey`.
 *
 * @since 0.2.0
 * @category workflows
 */
export const BackfillRun = Workflow.make({
  name: "effect-orb/BackfillRun",
  payload: RunPayload,
  success: RunResult,
  error: JournaledRunFailed,
  idempotencyKey: (payload) => payload.runKey
})
