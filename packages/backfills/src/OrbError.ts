/**
 * The errors of the library, each a `Schema.TaggedError` handled with `Effect.catchTag`:
 *
 * - one class per error type Orb documents, chosen by the response body's `type` (when its status is the
 *   one Orb declares for that type), otherwise by the status alone, else {@link UnknownApiError};
 * - {@link TransportError}: no response (connection failure or the per-attempt timeout), after the retries;
 * - {@link DecodeError}: a response that does not match its schema (HTML from a proxy, truncated JSON);
 * - {@link InvalidInput}: a request refused locally, before anything was sent;
 * - {@link StatusUnreachable} and {@link AwaitTimeout}: what `Backfills.awaitStatus` fails with.
 *
 * None of them carries the API key or request headers.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import { BackfillStatus, Timestamp } from "./Backfill.js"
import { truncate } from "./internal/excerpt.js"
import * as Problem from "./internal/problem.js"

/**
 * The prefix of every Orb error type URI.
 *
 * @since 0.1.0
 * @category constants
 */
export const typePrefix = "https://docs.withorb.com/reference/error-responses#"

/**
 * Marks the errors of a request to Orb ({@link OrbError}).
 *
 * @since 0.1.0
 * @category type ids
 */
export const TypeId = "~@effect-orb/backfills/OrbError"

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * Whether a value is one of the errors of a request to Orb ({@link OrbError}).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isOrbError = (u: unknown): u is OrbError => Predicate.hasProperty(u, TypeId)

const apiErrorFields = {
  /** The HTTP status of the response. */
  status: Schema.Number,
  /** Orb's error type URI, or `""` when the body had none. */
  type: Schema.String,
  title: Schema.optional(Schema.String),
  detail: Schema.optional(Schema.String),
  /** The request's method. */
  method: Schema.String,
  /** The request's path under the base URL, with its query string. */
  path: Schema.String,
  /**
   * The wait the response asked for before a retry (`retry-after-ms` or `Retry-After`), in milliseconds, capped at
   * the client's `maxRetryAfter`.
   */
  retryAfterMillis: Schema.optional(Schema.Number),
  /**
   * Whether another attempt may succeed, as `OrbClient` decided it once from the status and `x-should-retry` (see
   * {@link isTransient}); absent on an error built elsewhere, where the error's type decides.
   */
  retryable: Schema.optional(Schema.Boolean),
  /** The `Idempotency-Key` the request carried (a POST's). */
  idempotencyKey: Schema.optional(Schema.String)
}

interface ApiErrorShape {
  readonly _tag: string
  readonly status: number
  readonly title?: string | undefined
  readonly detail?: string | undefined
  readonly method: string
  readonly path: string
}

const apiMessage = (error: ApiErrorShape): string => {
  const what = [error.title, error.detail].filter(Predicate.isString).filter((s) => s.length > 0).join(": ")
  return `${error._tag} (HTTP ${error.status}) on ${error.method} ${error.path}${what.length > 0 ? `: ${what}` : ""}`
}

/**
 * 400: the request breaks a rule of Orb's (an overlapping backfill, a close of a closed backfill, ...).
 *
 * @since 0.1.0
 * @category errors
 */
export class ConstraintViolation
  extends Schema.TaggedError<ConstraintViolation>("@effect-orb/backfills/OrbError/ConstraintViolation")(
    "ConstraintViolation",
    apiErrorFields
  )
{
  /**
   * The fragment of its type URI, and the status Orb declares for it.
   *
   * @since 0.1.0
   */
  static readonly wire = { fragment: "400-constraint-violation", status: 400 } as const
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message() {
    return apiMessage(this)
  }
}

/**
 * 400: the resource already exists.
 *
 * @since 0.1.0
 * @category errors
 */
export class DuplicateResourceCreation
  extends Schema.TaggedError<DuplicateResourceCreation>("@effect-orb/backfills/OrbError/DuplicateResourceCreation")(
    "DuplicateResourceCreation",
    apiErrorFields
  )
{
  /**
   * The fragment of its type URI, and the status Orb declares for it.
   *
   * @since 0.1.0
   */
  static readonly wire = { fragment: "400-duplicate-resource-creation", status: 400 } as const
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message() {
    return apiMessage(this)
  }
}

/**
 * 400 (with a type URI that says 404): the feature is not enabled for the account.
 *
 * @since 0.1.0
 * @category errors
 */
export class FeatureNotAvailable
  extends Schema.TaggedError<FeatureNotAvailable>("@effect-orb/backfills/OrbError/FeatureNotAvailable")(
    "FeatureNotAvailable",
    apiErrorFields
  )
{
  /**
   * The fragment of its type URI, and the status Orb declares for it.
   *
   * @since 0.1.0
   */
  static readonly wire = { fragment: "404-feature-not-available", status: 400 } as const
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message() {
    return apiMessage(this)
  }
}

/**
 * 400: the request failed validation. For an ingest request, `validationErrors` holds one
 * `{ idempotency_key, validation_errors }` entry per refused event (see {@link eventFailures}).
 *
 * @since 0.1.0
 * @category errors
 */
export class RequestValidationError
  extends Schema.TaggedError<RequestValidationError>("@effect-orb/backfills/OrbError/RequestValidationError")(
    "RequestValidationError",
    { ...apiErrorFields, validationErrors: Schema.Array(Schema.Unknown) }
  )
{
  /**
   * The fragment of its type URI, and the status Orb declares for it.
   *
   * @since 0.1.0
   */
  static readonly wire = { fragment: "400-request-validation-errors", status: 400 } as const
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message() {
    const base = apiMessage(this)
    const count = this.validationErrors.length
    if (count === 0) return base
    // Orb says what it refused in words for most requests; an ingest request's entries name events instead
    // (`eventFailures` reads those).
    const words = this.validationErrors.filter(Predicate.isString)
    const shown = words.slice(0, 2).map((text) => truncate(text, 200))
    const more = count - shown.length
    return `${base} (${count} validation error${count === 1 ? "" : "s"}${
      shown.length === 0 ? "" : `: ${shown.join("; ")}${more > 0 ? `; and ${more} more` : ""}`
    })`
  }
}

/**
 * 401: the API key is missing or wrong.
 *
 * @since 0.1.0
 * @category errors
 */
export class AuthenticationError
  extends Schema.TaggedError<AuthenticationError>("@effect-orb/backfills/OrbError/AuthenticationError")(
    "AuthenticationError",
    apiErrorFields
  )
{
  /**
   * The fragment of its type URI, the status Orb declares for it, and whether that status alone selects it
   * (`byStatus`, when the body names no type).
   *
   * @since 0.1.0
   */
  static readonly wire = { fragment: "401-authentication-error", status: 401, byStatus: true } as const
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message() {
    return apiMessage(this)
  }
}

/**
 * 404: no such resource (an unknown backfill id).
 *
 * @since 0.1.0
 * @category errors
 */
export class ResourceNotFound
  extends Schema.TaggedError<ResourceNotFound>("@effect-orb/backfills/OrbError/ResourceNotFound")(
    "ResourceNotFound",
    apiErrorFields
  )
{
  /**
   * The fragment of its type URI, the status Orb declares for it, and whether that status alone selects it
   * (`byStatus`, when the body names no type).
   *
   * @since 0.1.0
   */
  static readonly wire = { fragment: "404-resource-not-found", status: 404, byStatus: true } as const
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message() {
    return apiMessage(this)
  }
}

/**
 * 404: no such endpoint (often a wrong base URL).
 *
 * @since 0.1.0
 * @category errors
 */
export class UrlNotFound
  extends Schema.TaggedError<UrlNotFound>("@effect-orb/backfills/OrbError/UrlNotFound")("UrlNotFound", apiErrorFields)
{
  /**
   * The fragment of its type URI, and the status Orb declares for it.
   *
   * @since 0.1.0
   */
  static readonly wire = { fragment: "404-url-not-found", status: 404 } as const
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message() {
    return apiMessage(this)
  }
}

/**
 * 409: a concurrent request with the same idempotency key, or the same key with another body. Retried.
 *
 * @since 0.1.0
 * @category errors
 */
export class ResourceConflict
  extends Schema.TaggedError<ResourceConflict>("@effect-orb/backfills/OrbError/ResourceConflict")("ResourceConflict", {
    ...apiErrorFields,
    /**
     * How many attempts in a row with this `idempotencyKey` were answered 409, when that many that the conflict is
     * taken as final: the key is held for another request, not for one still in flight.
     */
    conflictsInARow: Schema.optional(Schema.Number)
  })
{
  /**
   * The fragment of its type URI, the status Orb declares for it, and whether that status alone selects it
   * (`byStatus`, when the body names no type).
   *
   * @since 0.1.0
   */
  static readonly wire = { fragment: "409-resource-conflict", status: 409, byStatus: true } as const
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message() {
    const base = apiMessage(this)
    if (this.conflictsInARow === undefined) return base
    return `${base}; the Idempotency-Key ${this.idempotencyKey ?? "(none)"} was refused ${this.conflictsInARow} ` +
      "times in a row: Orb keeps a key for 48 hours and refuses it for any other request (another body, path or " +
      "query), so waiting longer would not help: send this request with a new key"
  }
}

/**
 * 413: the request is too large (more than 500 events in one ingest request).
 *
 * @since 0.1.0
 * @category errors
 */
export class RequestTooLarge
  extends Schema.TaggedError<RequestTooLarge>("@effect-orb/backfills/OrbError/RequestTooLarge")(
    "RequestTooLarge",
    apiErrorFields
  )
{
  /**
   * The fragment of its type URI, the status Orb declares for it, and whether that status alone selects it
   * (`byStatus`, when the body names no type).
   *
   * @since 0.1.0
   */
  static readonly wire = { fragment: "413-request-too-large", status: 413, byStatus: true } as const
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message() {
    return apiMessage(this)
  }
}

/**
 * 413: the resource is too large.
 *
 * @since 0.1.0
 * @category errors
 */
export class ResourceTooLarge
  extends Schema.TaggedError<ResourceTooLarge>("@effect-orb/backfills/OrbError/ResourceTooLarge")(
    "ResourceTooLarge",
    apiErrorFields
  )
{
  /**
   * The fragment of its type URI, and the status Orb declares for it.
   *
   * @since 0.1.0
   */
  static readonly wire = { fragment: "413-resource-too-large", status: 413 } as const
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message() {
    return apiMessage(this)
  }
}

/**
 * 413: the query would return too many results.
 *
 * @since 0.1.0
 * @category errors
 */
export class TooManyResults extends Schema.TaggedError<TooManyResults>("@effect-orb/backfills/OrbError/TooManyResults")(
  "TooManyResults",
  apiErrorFields
) {
  /**
   * The fragment of its type URI, and the status Orb declares for it.
   *
   * @since 0.1.0
   */
  static readonly wire = { fragment: "413-too-many-results", status: 413 } as const
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message() {
    return apiMessage(this)
  }
}

/**
 * 429: a rate limit was hit. Retried, waiting as long as the server asks (up to `maxRetryAfter`).
 *
 * @since 0.1.0
 * @category errors
 */
export class TooManyRequests
  extends Schema.TaggedError<TooManyRequests>("@effect-orb/backfills/OrbError/TooManyRequests")(
    "TooManyRequests",
    apiErrorFields
  )
{
  /**
   * The fragment of its type URI, the status Orb declares for it, and whether that status alone selects it
   * (`byStatus`, when the body names no type).
   *
   * @since 0.1.0
   */
  static readonly wire = { fragment: "429-too-many-requests", status: 429, byStatus: true } as const
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message() {
    return apiMessage(this)
  }
}

/**
 * 5xx: Orb failed. Retried.
 *
 * @since 0.1.0
 * @category errors
 */
export class InternalServerError
  extends Schema.TaggedError<InternalServerError>("@effect-orb/backfills/OrbError/InternalServerError")(
    "InternalServerError",
    apiErrorFields
  )
{
  /**
   * The fragment of its type URI, the status Orb declares for it, and whether that status alone selects it
   * (`byStatus`, when the body names no type).
   *
   * @since 0.1.0
   */
  static readonly wire = { fragment: "500-internal-server-error", status: 500, byStatus: true } as const
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message() {
    return apiMessage(this)
  }
}

/**
 * Any other error response: a status or type this library does not know. `detail` holds an excerpt of the
 * body when it was not one of Orb's problem documents.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownApiError
  extends Schema.TaggedError<UnknownApiError>("@effect-orb/backfills/OrbError/UnknownApiError")(
    "UnknownApiError",
    apiErrorFields
  )
{
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message() {
    return apiMessage(this)
  }
}

/**
 * The errors Orb documents, each class carrying its type URI's fragment, its declared status and whether that status
 * alone selects it (`wire`): the one table (docs/errors-and-retries.md shows it) from which {@link errorTypes},
 * {@link ApiError}, the {@link OrbError} Schema, the classification of a response ({@link fromResponse}) and the
 * errors retried ({@link isTransient}) derive.
 */
const documented = [
  ConstraintViolation,
  DuplicateResourceCreation,
  FeatureNotAvailable,
  RequestValidationError,
  AuthenticationError,
  ResourceNotFound,
  UrlNotFound,
  ResourceConflict,
  RequestTooLarge,
  ResourceTooLarge,
  TooManyResults,
  TooManyRequests,
  InternalServerError
] as const

/**
 * An error answered by Orb (or by something in front of it) with an HTTP status.
 *
 * @since 0.1.0
 * @category errors
 */
export type ApiError = InstanceType<(typeof documented)[number]> | UnknownApiError

/**
 * No response came back: the connection failed or the attempt timed out, on every attempt.
 *
 * @since 0.1.0
 * @category errors
 */
export class TransportError
  extends Schema.TaggedError<TransportError>("@effect-orb/backfills/OrbError/TransportError")("TransportError", {
    /**
     * `Timeout`: no whole response within the per-attempt deadline; `Connection`: the connection failed;
     * `UnreadableBody`: a success status whose body is not JSON at all (an HTML page from a proxy, a cut or empty
     * body), which says nothing of whether the request took effect.
     */
    reason: Schema.Literal("Timeout", "Connection", "UnreadableBody"),
    method: Schema.String,
    path: Schema.String,
    /** What the HTTP client said, or what was wrong with the body. */
    description: Schema.optional(Schema.String),
    /** For `UnreadableBody`: the status of the response. */
    status: Schema.optional(Schema.Number),
    /** For `UnreadableBody`: the first characters of the body. */
    excerpt: Schema.optional(Schema.String),
    /** The `Idempotency-Key` the request carried (a POST's). */
    idempotencyKey: Schema.optional(Schema.String)
  })
{
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message() {
    if (this.reason === "UnreadableBody") {
      return `${this.method} ${this.path} answered HTTP ${this.status ?? "2xx"} with a body that is not JSON (${
        this.description ?? "unreadable"
      }); body starts with ${JSON.stringify(this.excerpt ?? "")}`
    }
    const what = this.reason === "Timeout" ? "timed out" : "failed to connect"
    return `${this.method} ${this.path} ${what}${this.description ? `: ${this.description}` : ""}`
  }
}

/**
 * A response did not match what Orb's contract promises: not JSON, truncated, or a missing or invalid
 * field. It carries the status and a short excerpt of the body.
 *
 * @since 0.1.0
 * @category errors
 */
export class DecodeError
  extends Schema.TaggedError<DecodeError>("@effect-orb/backfills/OrbError/DecodeError")("DecodeError", {
    status: Schema.Number,
    method: Schema.String,
    path: Schema.String,
    /** What was wrong with the body. */
    reason: Schema.String,
    /** The first characters of the body. */
    excerpt: Schema.String
  })
{
  /**
   * @since 0.1.0
   */
  readonly [TypeId]: TypeId = TypeId
  override get message() {
    return `Unexpected response (HTTP ${this.status}) to ${this.method} ${this.path}: ${this.reason}; body starts with ${
      JSON.stringify(this.excerpt)
    }`
  }
}

/**
 * Anything a request to Orb can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type OrbError = ApiError | TransportError | DecodeError

/**
 * The errors of a request to Orb as a Schema, to decode one that was encoded (journaled, sent between processes).
 *
 * @since 0.1.0
 * @category schemas
 */
export const OrbError = Schema.Union(...documented, UnknownApiError, TransportError, DecodeError)

/**
 * Whether another attempt of the request may succeed: no response (or an unreadable one), or an answer that
 * `OrbClient` judged retryable from its status (408, 409, 429, 5xx) and its `x-should-retry` header, which it
 * carries as `retryable`. A 409 that persisted for one idempotency key is not (see `ResourceConflict`). This is
 * the one rule: the transport's retries, `ingestStream`'s own retries and `awaitStatus`'s patience all use it.
 * An error without `retryable` (built by hand) is judged by its type alone.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isTransient = (u: unknown): u is OrbError => {
  if (!Predicate.hasProperty(u, "_tag") || typeof u._tag !== "string") return false
  if (u._tag === "TransportError") return true
  const { retryable, status } = u as { readonly retryable?: unknown; readonly status?: unknown }
  if (typeof retryable === "boolean") return retryable
  return transientTags.has(u._tag) ||
    (u._tag === "UnknownApiError" && typeof status === "number" && (status === 408 || status >= 500))
}

// The documented errors whose declared status may pass by itself (409, 429, 5xx).
const transientTags: ReadonlySet<string> = new Set(
  documented.filter((error) => Problem.retryableStatus(error.wire.status)).map((error) => error._tag)
)

export {
  /**
   * A request refused locally, before anything was sent: `field` names the offending input (for example
   * `replaceExistingEvents` or `events[3].customerId`) and `reason` says what is wrong with it. Also what
   * `Backfill.timestamp` fails with (`field`: `timestamp`).
   *
   * @since 0.1.0
   * @category errors
   */
  InvalidInput
} from "./internal/invalidInput.js"

/**
 * An event was invalid and the ingestion was asked to stop on the first one (`onInvalid: "fail"`).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidEvent
  extends Schema.TaggedError<InvalidEvent>("@effect-orb/backfills/OrbError/InvalidEvent")("InvalidEvent", {
    backfillId: Schema.String,
    /** The event's index in the stream, from 0. */
    position: Schema.Number,
    idempotencyKey: Schema.optional(Schema.String),
    refusedBy: Schema.Literal("local", "orb"),
    reasons: Schema.Array(Schema.String)
  })
{
  override get message() {
    const by = this.refusedBy === "orb" ? "Orb refused" : "refused"
    return `Event at position ${this.position}${this.idempotencyKey ? ` (key ${this.idempotencyKey})` : ""} ${by}: ${
      this.reasons.join("; ")
    }`
  }
}

/**
 * One window of a run and what became of it: its timeframe, its backfill once created, the events Orb accepted into
 * it, whether it had been closed, whether it is known to be reverted now, and its last known status. The one model of
 * a run's window for both executors: `Backfills.run`'s failures (`RunFailed.windows`), and the durable run's result
 * and failures, which journal it (as `DurableRun.RunWindow`, the same class).
 *
 * @since 0.1.0
 * @category models
 */
export class RunWindowOutcome
  extends Schema.Class<RunWindowOutcome>("@effect-orb/backfills/OrbError/RunWindowOutcome")({
    timeframeStart: Timestamp,
    timeframeEnd: Timestamp,
    /** Once created. */
    backfillId: Schema.optional(Schema.String),
    /** Events Orb accepted into it. */
    accepted: Schema.NonNegativeInt,
    /** Whether it had been closed; and, for a failed run, whether it is known to be reverted now. */
    closed: Schema.Boolean,
    reverted: Schema.Boolean,
    /** Its last known status; absent when it could not be learnt. */
    status: Schema.optional(BackfillStatus),
    /** Why its revert failed, when one was tried and did. */
    revertFailure: Schema.optional(Schema.String)
  })
{
  /** The window and its fate, in words. */
  get description(): string {
    const span = `${DateTime.formatIso(this.timeframeStart)} to ${DateTime.formatIso(this.timeframeEnd)}`
    const id = this.backfillId
    if (id === undefined) return `${span}: no backfill`
    if (this.reverted) return `${span}: backfill ${id}${this.closed ? " (closed)" : ""} reverted`
    if (this.revertFailure !== undefined) {
      return `${span}: backfill ${id} NOT reverted (${this.revertFailure}; ${
        this.status === undefined ? "status unknown" : `it is ${this.status}`
      }): revert it${this.closed ? "" : " before its close time"}`
    }
    // No revert was tried: a window left as it is (closed, after the last close), or one still to revert.
    return `${span}: backfill ${id}${this.status ? ` ${this.status}` : ""}${
      this.closed ? "" : ", not reverted: revert it before its close time"
    }`
  }
}

/**
 * `Backfills.run` failed. Before the close, the run reverts the backfill so that nothing half-done stays behind,
 * and `reverted` says whether it is known to be reverted (when a revert's own answer was lost, the run fetches the
 * backfill again and says what it saw, never a guess); after the close it never reverts on your behalf, and
 * `status` tells where the backfill was last seen. A create whose outcome is unknown (no readable answer after the
 * retries) is stage `create`: the run looks for the backfill it may have created and reverts it, and `found` says
 * how it was found, or that none was. `cause` is the error that stopped the run.
 *
 * @since 0.1.0
 * @category errors
 */
export class RunFailed extends Schema.TaggedError<RunFailed>("@effect-orb/backfills/OrbError/RunFailed")("RunFailed", {
  /** The backfill, when one is known (absent: a create whose outcome is unknown, and none was found). */
  backfillId: Schema.optional(Schema.String),
  /** What the run was doing: creating, ingesting, closing, or awaiting reflection. */
  stage: Schema.Literal("create", "ingest", "close", "await"),
  /** Whether the backfill is known to be reverted (or, reflected, on its way: `pending_revert`). */
  reverted: Schema.Boolean,
  /** Why the revert failed, when it did. */
  revertFailure: Schema.optional(Schema.String),
  /** The backfill's last known status; absent when it could not be learnt. */
  status: Schema.optional(BackfillStatus),
  /**
   * For stage `create`: how the backfill the lost create may have made was found: `listed` (the one open backfill
   * with this run's timeframe, scope, mode and close time created since the run began), `replayed` (the create sent
   * again with its idempotency key, whose answer Orb replays, or which creates it now), or `none`.
   */
  found: Schema.optional(Schema.Literal("listed", "replayed", "none")),
  /** For stage `create` with nothing found: what an operator should look for (timeframe, close time). */
  lookFor: Schema.optional(Schema.String),
  /**
   * A run over several windows: what became of each, in order. Before they were all closed, every window's backfill
   * is reverted (the closed ones too), so that usage is as it was; `reverted` then says whether all of them are.
   */
  windows: Schema.optional(Schema.Array(RunWindowOutcome)),
  cause: Schema.Defect
}) {
  override get message() {
    const what = this.cause instanceof Error ? this.cause.message : String(this.cause)
    const during = {
      create: "creating the backfill",
      ingest: "ingesting",
      close: "closing",
      await: "awaiting reflection"
    }[this.stage]
    return `Run failed while ${during}: ${what}; ${this.outcome}`
  }

  /** What became of the backfill, in words. */
  get outcome(): string {
    if (this.windows !== undefined) {
      const lost = this.found === "none" && this.lookFor !== undefined
        ? `; a window's create has an unknown outcome and nothing it could have made was found (${this.lookFor}): ` +
          "list the backfills and revert any such one before its close time"
        : ""
      const each = this.windows.map((window) => window.description).join("; ") + lost
      if (this.stage === "await") return `the ${this.windows.length} windows are closed and were not reverted: ${each}`
      return this.reverted
        ? `every window's backfill was reverted, so no usage changed: ${each}`
        : `NOT every window's backfill could be reverted: ${each}`
    }
    const id = this.backfillId
    if (id === undefined) {
      return "the create's outcome is unknown and no backfill it could have made was found" +
        `${this.lookFor ? ` (${this.lookFor})` : ""}: list the backfills and revert any such one before its close time`
    }
    const how = this.found === "listed"
      ? `found backfill ${id} among the open ones and `
      : this.found === "replayed"
      ? `sent the create again with its idempotency key, got backfill ${id}, and `
      : ""
    if (this.reverted) {
      return `${how}backfill ${id} was reverted${
        this.revertFailure ? ` (its revert's answer was lost; fetched again, it is ${this.status})` : ""
      }, so no usage changed`
    }
    if (this.stage === "await") {
      return `backfill ${id} is closed and was not reverted${this.status ? ` (last seen ${this.status})` : ""}`
    }
    return this.status === undefined
      ? `${how}whether backfill ${id} was reverted is unknown (${this.revertFailure ?? "unknown reason"}, and ` +
        "fetching it again failed too): check it, and revert it before its close time"
      : `${how}backfill ${id} could NOT be reverted (${
        this.revertFailure ?? "unknown reason"
      }); it is ${this.status}: ` +
        "revert it before its close time"
  }
}

/**
 * `Backfills.awaitStatus` saw the backfill in a status from which the awaited one can no longer come
 * (for example `reverted` while awaiting `reflected`).
 *
 * @since 0.1.0
 * @category errors
 */
export class StatusUnreachable
  extends Schema.TaggedError<StatusUnreachable>("@effect-orb/backfills/OrbError/StatusUnreachable")(
    "StatusUnreachable",
    {
      backfillId: Schema.String,
      target: BackfillStatus,
      status: BackfillStatus
    }
  )
{
  override get message() {
    return `Backfill ${this.backfillId} is ${this.status} and can no longer become ${this.target}`
  }
}

/**
 * `Backfills.awaitStatus` gave up before the backfill reached the awaited status.
 *
 * @since 0.1.0
 * @category errors
 */
export class AwaitTimeout
  extends Schema.TaggedError<AwaitTimeout>("@effect-orb/backfills/OrbError/AwaitTimeout")("AwaitTimeout", {
    backfillId: Schema.String,
    target: BackfillStatus,
    /** The last status seen, if any fetch succeeded. */
    lastStatus: Schema.optional(BackfillStatus),
    /** How long it waited, in milliseconds. */
    waitedMillis: Schema.Number
  })
{
  override get message() {
    return `Backfill ${this.backfillId} did not become ${this.target} within ${Math.round(this.waitedMillis / 1000)} s${
      this.lastStatus ? ` (last seen ${this.lastStatus})` : ""
    }`
  }
}

/**
 * A create that Orb refused because its timeframe overlaps a pending backfill (Orb allows no two backfills in
 * `pending` or `pending_revert` with overlapping timeframes, whatever their customers) waited `overlapWait` for that
 * backfill to be reflected or reverted, and it still blocks. The backfill that waited was not created (a run over
 * several windows reverts those it created before).
 *
 * @since 0.2.0
 * @category errors
 */
export class OverlapWaitTimeout
  extends Schema.TaggedError<OverlapWaitTimeout>("@effect-orb/backfills/OrbError/OverlapWaitTimeout")(
    "OverlapWaitTimeout",
    {
      /** The backfill the create waited for. */
      backfillId: Schema.String,
      /** Its timeframe, and its status when last seen. */
      timeframeStart: Timestamp,
      timeframeEnd: Timestamp,
      status: BackfillStatus,
      /** How long the create waited in all, in milliseconds. */
      waitedMillis: Schema.Number
    }
  )
{
  override get message() {
    return `Waited ${Duration.format(Duration.millis(this.waitedMillis))} for backfill ${this.backfillId} (${
      DateTime.formatIso(this.timeframeStart)
    } to ${
      DateTime.formatIso(this.timeframeEnd)
    }, ${this.status}) to be reflected or reverted: Orb refuses a backfill whose timeframe overlaps a pending ` +
      "one, and it is still pending; the backfill that waited for it was not created. Run again once it is reflected, " +
      "or give a longer overlap wait"
  }
}

/**
 * An ingest request's per-event failures, decoded from a {@link RequestValidationError}'s
 * `validationErrors` when they have Orb's `{ idempotency_key, validation_errors }` shape (entries of other
 * shapes are left out).
 *
 * @since 0.1.0
 * @category errors
 */
export const eventFailures = (
  error: RequestValidationError
): ReadonlyArray<{ readonly idempotencyKey: string; readonly validationErrors: ReadonlyArray<string> }> =>
  Problem.eventFailures(error.validationErrors)

/**
 * The shape of an Orb error body (RFC 7807 problem document). `title` and `detail` may be `null`.
 *
 * @since 0.1.0
 * @category wire
 */
export const ProblemDocument = Schema.Struct({
  type: Schema.String,
  status: Schema.Number,
  title: Schema.optional(Schema.NullOr(Schema.String)),
  detail: Schema.optional(Schema.NullOr(Schema.String)),
  validation_errors: Schema.optional(Schema.Array(Schema.Unknown))
})

/**
 * @since 0.1.0
 * @category wire
 */
export type ProblemDocument = typeof ProblemDocument.Type

/**
 * The tag of an error Orb documents.
 *
 * @since 0.1.0
 * @category wire
 */
export type ErrorType = (typeof documented)[number]["_tag"]

/**
 * Each Orb error type: its URI fragment and the status Orb declares for it.
 *
 * @since 0.1.0
 * @category wire
 */
export const errorTypes: { readonly [K in ErrorType]: { readonly fragment: string; readonly status: number } } = Object
  .fromEntries(
    documented.map((error) => [error._tag, { fragment: error.wire.fragment, status: error.wire.status }])
  ) as any

/**
 * The full type URI of an Orb error type, as it appears in a problem document.
 *
 * @since 0.1.0
 * @category wire
 */
export const typeUri = (type: ErrorType): string => typePrefix + errorTypes[type].fragment

const classify = Problem.classifier(documented, typePrefix)

/**
 * The typed error for an error response: by the problem document's `type` when its status is the one Orb
 * declares for that type, otherwise by status, otherwise {@link UnknownApiError}.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromResponse = (options: {
  readonly status: number
  readonly method: string
  readonly path: string
  /** The decoded problem document, when the body was one. */
  readonly problem: ProblemDocument | undefined
  /** An excerpt of the body, used as `detail` when it was not a problem document. */
  readonly excerpt: string
  readonly retryAfterMillis?: number | undefined
  readonly retryable?: boolean | undefined
  readonly idempotencyKey?: string | undefined
}): ApiError => {
  const fields = Problem.fieldsOf(options)
  const error = classify(options.status, options.problem?.type)
  if (error === RequestValidationError) {
    return new RequestValidationError({
      ...fields,
      validationErrors: Problem.boundedValidationErrors(options.problem?.validation_errors ?? [])
    })
  }
  return error === undefined ? new UnknownApiError(fields) : new (error as typeof ConstraintViolation)(fields)
}
