/**
 * The models of Orb's backfill API, as Schemas.
 *
 * Each Schema's `Type` is what users work with (camelCase fields, `DateTime.Utc`, `Option` for nullable
 * values) and its `Encoded` side is Orb's wire format (snake_case keys, ISO 8601 strings, `null`), so one
 * Schema both decodes Orb's responses and encodes requests, for the library and the simulator alike.
 *
 * @since 0.1.0
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as IdempotencyKey from "./internal/idempotencyKey.js"
import { InvalidInput } from "./internal/invalidInput.js"
import * as IsoDateTime from "./internal/isoDateTime.js"
import * as WireEvent from "./internal/wireEvent.js"

/**
 * The id Orb gives a backfill.
 *
 * @since 0.1.0
 * @category models
 */
export const BackfillId = Schema.String.pipe(Schema.minLength(1), Schema.brand("BackfillId"))

/**
 * @since 0.1.0
 * @category models
 */
export type BackfillId = typeof BackfillId.Type

/**
 * Where a backfill is in its lifecycle:
 *
 * - `pending`: open (accepting events) or closed and not yet reflected in usage,
 * - `reflected`: closed and reflected in usage and draft invoices,
 * - `pending_revert`: a revert of a reflected backfill is under way,
 * - `reverted`: its events no longer count.
 *
 * @since 0.1.0
 * @category models
 */
export const BackfillStatus = Schema.Literal("pending", "reflected", "pending_revert", "reverted")

/**
 * @since 0.1.0
 * @category models
 */
export type BackfillStatus = typeof BackfillStatus.Type

/**
 * A date-time on the wire: an ISO 8601 string, decoded to `DateTime.Utc` and encoded as `toISOString` writes it
 * (`2026-10-01T12:00:00.000Z`).
 *
 * Strict, so that a date is refused rather than moved: the form is `YYYY-MM-DDTHH:mm[:ss[.fraction]]` followed by
 * `Z`, an offset `±hh:mm` (at most ±23:59), or nothing, which means UTC as Orb reads it (never the machine's zone;
 * `T` and `Z` may be lower case, as RFC 3339 allows; digits below the millisecond are dropped), a date on the
 * calendar, in the years 0000 to 9999 in UTC. Refused, with the reason: a date that is not on the calendar
 * (`2026-11-31`, `2026-02-29`), hour 24, a leap second, a space for `T`, and any other form (`Date.parse`'s
 * `Thu, 01 Oct 2026 00:00:00 GMT`, say). Every Schema of this module, the fast decoders and the event checks read
 * date-times through this one parser, whatever the machine's time zone.
 *
 * @since 0.1.0
 * @category models
 */
export const Timestamp: Schema.Schema<DateTime.Utc, string> = Schema.transformOrFail(
  Schema.String,
  Schema.DateTimeUtcFromSelf,
  {
    strict: true,
    decode: (text, _, ast) => {
      const read = IsoDateTime.read(text)
      return typeof read === "number"
        ? ParseResult.succeed(DateTime.unsafeMake(read))
        : ParseResult.fail(new ParseResult.Type(ast, text, IsoDateTime.explain(text, read)))
    },
    encode: (utc) => ParseResult.succeed(DateTime.formatIso(utc))
  }
).annotations({ identifier: "Timestamp" })

/**
 * Reads a date-time as {@link Timestamp} does, for a value from a flag or a setting: the instant, or a sentence
 * that quotes the text and says why it is refused. With `date: true`, a date alone (`2026-10-01`) is also
 * accepted, as midnight UTC, and as strictly (`2026-11-31` is refused).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseTimestamp = (
  text: string,
  options?: { readonly date?: boolean | undefined }
): Either.Either<DateTime.Utc, string> => {
  const read = IsoDateTime.read(text, options?.date === true)
  return typeof read === "number"
    ? Either.right(DateTime.unsafeMake(read))
    : Either.left(IsoDateTime.explain(text, read))
}

/**
 * A date-time from its ISO 8601 text, read as {@link Timestamp} reads it, for a timeframe or an event's time in
 * code: strict where `DateTime.make` is lenient (it turns `2026-11-31` into December 1), it fails with an
 * `OrbError.InvalidInput` (`field`: `timestamp`) whose reason quotes the text and says what is wrong with it.
 *
 * @example
 * ```ts
 * import { Backfill } from "@effect-orb/backfills"
 * import { Effect } from "effect"
 *
 * export const start = Backfill.timestamp("2026-10-01T00:00:00Z")
 * // Fails: Invalid timestamp: "2026-11-31T00:00:00Z" is not a calendar date (November 2026 has 30 days)
 * export const refused = Effect.flip(Backfill.timestamp("2026-11-31T00:00:00Z"))
 * ```
 *
 * @since 0.2.0
 * @category parsing
 */
export const timestamp = (text: string): Effect.Effect<DateTime.Utc, InvalidInput> => {
  const read = IsoDateTime.read(text)
  return typeof read === "number"
    ? Effect.succeed(DateTime.unsafeMake(read))
    : Effect.fail(new InvalidInput({ field: "timestamp", reason: IsoDateTime.explain(text, read) }))
}

/**
 * {@link timestamp} for a literal you know to be right, as in examples and tests: the date-time, or it throws
 * the `OrbError.InvalidInput` that {@link timestamp} fails with (as `DateTime.unsafeMake` throws, but strictly).
 *
 * @example
 * ```ts
 * import { Backfill } from "@effect-orb/backfills"
 *
 * export const timeframe = {
 *   timeframeStart: Backfill.unsafeTimestamp("2026-10-01T00:00:00Z"),
 *   timeframeEnd: Backfill.unsafeTimestamp("2026-10-08T00:00:00Z")
 * }
 * ```
 *
 * @since 0.2.0
 * @category parsing
 */
export const unsafeTimestamp = (text: string): DateTime.Utc => {
  const read = IsoDateTime.read(text)
  if (typeof read === "number") return DateTime.unsafeMake(read)
  throw new InvalidInput({ field: "timestamp", reason: IsoDateTime.explain(text, read) })
}

/**
 * The instant of a date-time as {@link Timestamp} reads it, in epoch milliseconds, or `NaN` when it refuses it
 * (decode it with the Schema, or {@link parseTimestamp}, to learn why). For loops over many events: it allocates
 * nothing.
 *
 * @since 0.1.0
 * @category parsing
 */
export const timestampMillis = (text: string): number => IsoDateTime.parse(text)

// `K` keeps the key's literal type, so that each Schema's `Encoded` type names its wire keys (with `string`, they
// would collapse into an index signature).
const wireKey = <S extends Schema.Schema.All, K extends string>(schema: S, key: K) =>
  Schema.propertySignature(schema).pipe(Schema.fromKey(key))

/**
 * A backfill as Orb returns it. Unknown extra keys in a response are ignored, so new fields Orb adds do
 * not break decoding; a status outside {@link BackfillStatus} or a missing field is a decoding failure.
 *
 * @since 0.1.0
 * @category models
 */
export class Backfill extends Schema.Class<Backfill>("@effect-orb/backfills/Backfill/Backfill")({
  id: BackfillId,
  status: BackfillStatus,
  createdAt: wireKey(Timestamp, "created_at"),
  timeframeStart: wireKey(Timestamp, "timeframe_start"),
  timeframeEnd: wireKey(Timestamp, "timeframe_end"),
  eventsIngested: wireKey(Schema.NonNegativeInt, "events_ingested"),
  /** In the future: when the backfill will close by itself; in the past: when it closed. */
  closeTime: wireKey(Schema.OptionFromNullOr(Timestamp), "close_time"),
  revertedAt: wireKey(Schema.OptionFromNullOr(Timestamp), "reverted_at"),
  /** `None`: the backfill covers every customer. */
  customerId: wireKey(Schema.OptionFromNullOr(Schema.String), "customer_id"),
  replaceExistingEvents: wireKey(Schema.Boolean, "replace_existing_events"),
  deprecationFilter: Schema.optionalWith(Schema.String, { nullable: true, as: "Option" }).pipe(
    Schema.fromKey("deprecation_filter")
  )
}) {}

/**
 * The `pagination_metadata` of one of Orb's paginated lists: `nextCursor` is the `cursor` of the next page, `null`
 * on the last.
 *
 * @since 0.2.0
 * @category models
 */
export const PaginationMetadata = Schema.Struct({
  hasMore: wireKey(Schema.Boolean, "has_more"),
  nextCursor: wireKey(Schema.NullOr(Schema.String), "next_cursor")
})

/**
 * @since 0.2.0
 * @category models
 */
export type PaginationMetadata = typeof PaginationMetadata.Type

/**
 * One page of `GET /events/backfills`.
 *
 * @since 0.1.0
 * @category models
 */
export class BackfillPage extends Schema.Class<BackfillPage>("@effect-orb/backfills/Backfill/BackfillPage")({
  data: Schema.Array(Backfill),
  paginationMetadata: wireKey(PaginationMetadata, "pagination_metadata")
}) {}

/**
 * The input of `Backfills.create`. Its encoded side is Orb's `NewBackfill` body.
 *
 * `replaceExistingEvents` is required here although Orb defaults it to `true`: leaving it out would
 * silently deprecate every existing event of the timeframe, so the caller must say which mode is meant.
 *
 * @since 0.1.0
 * @category models
 */
export const CreateBackfill = Schema.Struct({
  /** Inclusive start of the timeframe. */
  timeframeStart: wireKey(Timestamp, "timeframe_start"),
  /** Exclusive end of the timeframe; at most 31 days after the start. */
  timeframeEnd: wireKey(Timestamp, "timeframe_end"),
  /** `true`: the backfill's events replace the timeframe's existing events; `false`: they are added. */
  replaceExistingEvents: wireKey(Schema.Boolean, "replace_existing_events"),
  /** Scope to one customer by Orb id (at most one of `customerId` and `externalCustomerId`). */
  customerId: Schema.optional(Schema.String).pipe(Schema.fromKey("customer_id")),
  /** Scope to one customer by your own id. */
  externalCustomerId: Schema.optional(Schema.String).pipe(Schema.fromKey("external_customer_id")),
  /** When Orb closes the backfill by itself (Orb's default: one day after creation). */
  closeTime: Schema.optional(Timestamp).pipe(Schema.fromKey("close_time")),
  /** In replace mode, only existing events matching this computed-property expression are deprecated. */
  deprecationFilter: Schema.optional(Schema.String).pipe(Schema.fromKey("deprecation_filter"))
})

/**
 * @since 0.1.0
 * @category models
 */
export type CreateBackfill = typeof CreateBackfill.Type

/**
 * The create input of anything that holds its fields (a run's spec, a durable run's payload), each optional field
 * left out when `undefined`, so that one rule builds the create request wherever a run starts.
 *
 * @since 0.1.0
 * @category constructors
 */
export const createBackfillOf = (
  spec: {
    readonly timeframeStart: DateTime.Utc
    readonly timeframeEnd: DateTime.Utc
    readonly replaceExistingEvents: boolean
    readonly customerId?: string | undefined
    readonly externalCustomerId?: string | undefined
    readonly deprecationFilter?: string | undefined
  },
  closeTime: DateTime.Utc
): CreateBackfill => ({
  timeframeStart: spec.timeframeStart,
  timeframeEnd: spec.timeframeEnd,
  replaceExistingEvents: spec.replaceExistingEvents,
  closeTime,
  ...(spec.customerId !== undefined ? { customerId: spec.customerId } : {}),
  ...(spec.externalCustomerId !== undefined ? { externalCustomerId: spec.externalCustomerId } : {}),
  ...(spec.deprecationFilter !== undefined ? { deprecationFilter: spec.deprecationFilter } : {})
})

/**
 * A property value of an event: Orb accepts strings, numbers and booleans only, no nesting.
 *
 * @since 0.1.0
 * @category models
 */
export const PropertyValue = Schema.Union(Schema.String, Schema.Number, Schema.Boolean)

/**
 * A usage event as users write it. Its encoded side is Orb's `IngestEvent` wire object.
 *
 * Exactly one of `customerId` and `externalCustomerId` must be given. `idempotencyKey` is optional here:
 * when it is missing, the library derives one from the event's content (see {@link deriveIdempotencyKey}), so
 * that sending the same events again never counts them twice.
 *
 * @since 0.1.0
 * @category models
 */
export const IngestEvent = Schema.Struct({
  eventName: wireKey(Schema.String, "event_name"),
  timestamp: Timestamp,
  properties: Schema.Record({ key: Schema.String, value: PropertyValue }),
  idempotencyKey: Schema.optional(Schema.String).pipe(Schema.fromKey("idempotency_key")),
  // Orb's schema allows an explicit null for the customer key an event does not use.
  customerId: Schema.optionalWith(Schema.String, { nullable: true }).pipe(Schema.fromKey("customer_id")),
  externalCustomerId: Schema.optionalWith(Schema.String, { nullable: true }).pipe(
    Schema.fromKey("external_customer_id")
  )
})

/**
 * @since 0.1.0
 * @category models
 */
export type IngestEvent = typeof IngestEvent.Type

/**
 * The keys an event may have in Orb's wire form: Orb refuses any other, and so do the checks of this library and
 * the simulator.
 *
 * @since 0.1.0
 * @category models
 */
export const wireEventKeys: ReadonlySet<string> = WireEvent.wireEventKeys

const decodeIngestEventBySchema = Schema.decodeUnknownEither(IngestEvent, { onExcessProperty: "error" })

/**
 * Decodes an event written in Orb's wire format (one line of an NDJSON file, say) into an {@link IngestEvent}.
 * Unknown keys are refused, as Orb refuses them: a misspelt key would otherwise be dropped without a word. The
 * error is the Schema's, naming the offending key. Much faster than `Schema.decodeUnknown(IngestEvent)` on
 * well-formed events.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeIngestEvent = (u: unknown): Either.Either<IngestEvent, ParseResult.ParseError> => {
  // The Schema decoder costs several times the `JSON.parse` of an event, which is most of the client's CPU when
  // reading a large file; an event that the wire reader finds plainly well formed is built by hand, anything else
  // goes to the Schema, which then names the problem. A test checks that both agree.
  const millis = WireEvent.read(u)
  if (Number.isNaN(millis)) return decodeIngestEventBySchema(u)
  const { customer_id, event_name, external_customer_id, idempotency_key, properties } = u as typeof IngestEvent.Encoded
  const event: { -readonly [K in keyof IngestEvent]: IngestEvent[K] } = {
    eventName: event_name,
    timestamp: DateTime.unsafeMake(millis),
    properties
  }
  if (idempotency_key !== undefined) event.idempotencyKey = idempotency_key
  if (typeof customer_id === "string") event.customerId = customer_id
  if (typeof external_customer_id === "string") event.externalCustomerId = external_customer_id
  return Either.right(event)
}

/**
 * One event that Orb refused, with Orb's reasons.
 *
 * @since 0.1.0
 * @category models
 */
export class EventValidationFailure
  extends Schema.Class<EventValidationFailure>("@effect-orb/backfills/Backfill/EventValidationFailure")({
    idempotencyKey: wireKey(Schema.String, "idempotency_key"),
    validationErrors: wireKey(Schema.Array(Schema.String), "validation_errors")
  })
{}

/**
 * The body of a successful `POST /ingest`: `validationFailed` is always empty on a 200.
 *
 * @since 0.1.0
 * @category models
 */
export class IngestResult extends Schema.Class<IngestResult>("@effect-orb/backfills/Backfill/IngestResult")({
  validationFailed: wireKey(Schema.Array(EventValidationFailure), "validation_failed")
}) {}

/**
 * Statuses a backfill can still reach from each status (itself included), following Orb's lifecycle:
 * `pending` → `reflected` → `pending_revert` → `reverted`, and `pending` → `reverted` for a revert before
 * the close.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const reachableFrom: Readonly<Record<BackfillStatus, ReadonlyArray<BackfillStatus>>> = {
  pending: ["pending", "reflected", "pending_revert", "reverted"],
  reflected: ["reflected", "pending_revert", "reverted"],
  pending_revert: ["pending_revert", "reverted"],
  reverted: ["reverted"]
}

/**
 * Whether a backfill is open at `nowMillis`: `pending`, and its close time (if any) still ahead. Only an open
 * backfill accepts events, and only one seen open is a run's own.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const isOpen = (backfill: Backfill, nowMillis: number): boolean =>
  backfill.status === "pending" &&
  (backfill.closeTime._tag === "None" || backfill.closeTime.value.epochMillis > nowMillis)

/**
 * Whether a status means reverted, or on its way there (`pending_revert`).
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const isReverted = (status: BackfillStatus): boolean => status === "reverted" || status === "pending_revert"

/**
 * Whether a backfill in `from` can still come to be in `to`.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const canReach = (from: BackfillStatus, to: BackfillStatus): boolean => reachableFrom[from].includes(to)

/**
 * The longest timeframe Orb accepts by default, in milliseconds (31 days).
 *
 * @since 0.1.0
 * @category limits
 */
export const maxTimeframeMillis = 31 * 24 * 60 * 60 * 1000

/**
 * A span of time, start inclusive, end exclusive: a backfill's timeframe, or a window of a longer one.
 *
 * @since 0.1.0
 * @category models
 */
export interface Timeframe {
  readonly timeframeStart: DateTime.Utc
  readonly timeframeEnd: DateTime.Utc
}

/**
 * Whether a backfill keeps Orb from creating one over `timeframe`: Orb allows no two backfills in `pending` or
 * `pending_revert` with overlapping timeframes (half-open: adjacent ones do not overlap), whatever their customers.
 *
 * @since 0.2.0
 * @category lifecycle
 */
export const blocks = (backfill: Backfill, timeframe: Timeframe): boolean =>
  (backfill.status === "pending" || backfill.status === "pending_revert") &&
  backfill.timeframeStart.epochMillis < timeframe.timeframeEnd.epochMillis &&
  timeframe.timeframeStart.epochMillis < backfill.timeframeEnd.epochMillis

/**
 * The idempotency key of a create sent again after Orb refused it for an overlap (`attempt` 1, 2, ...): Orb keeps a
 * key's first answer, the refusal, so a create sent once the overlap is gone needs a key of its own. It is `key`
 * with `-o<attempt>`, or, when that would be longer than Orb allows, a digest of `key` with it (never a cut `key`,
 * which another run's key could share).
 *
 * @since 0.2.0
 * @category constructors
 */
export const overlapRetryKey: (key: string, attempt: number) => string = IdempotencyKey.overlapRetry

const dayMillis = 24 * 60 * 60 * 1000

/**
 * A timeframe cut into consecutive windows of at most `maxMillis` each, one backfill each, that never overlap and
 * together cover it exactly: each window ends where the next begins (ends are exclusive). Boundaries fall at whole
 * UTC days where the maximum allows (the first window ends at the last midnight within reach, the others then run
 * from midnight to midnight); the last window is the shorter. A timeframe within the maximum is its one window.
 *
 * @since 0.1.0
 * @category constructors
 */
export const splitTimeframe = (
  timeframe: Timeframe,
  maxMillis: number = maxTimeframeMillis
): ReadonlyArray<Timeframe> => {
  const end = timeframe.timeframeEnd.epochMillis
  const windows: Array<Timeframe> = []
  let start = timeframe.timeframeStart.epochMillis
  if (!(maxMillis > 0) || !(end > start)) return [timeframe]
  while (end - start > maxMillis) {
    const reach = start + maxMillis
    const midnight = reach - (((reach % dayMillis) + dayMillis) % dayMillis)
    const cut = midnight > start ? midnight : reach
    windows.push({ timeframeStart: DateTime.unsafeMake(start), timeframeEnd: DateTime.unsafeMake(cut) })
    start = cut
  }
  windows.push({ timeframeStart: DateTime.unsafeMake(start), timeframeEnd: timeframe.timeframeEnd })
  return windows
}

/**
 * Which of consecutive windows (as {@link splitTimeframe} cuts them, in order) holds an instant, in epoch
 * milliseconds: the last one starting at or before it. An instant before the first window is the first's, one at
 * or after the last window's end is the last's: check the whole timeframe first when that matters.
 *
 * @since 0.1.0
 * @category constructors
 */
export const windowOf = (windows: ReadonlyArray<Timeframe>, millis: number): number => {
  let low = 0
  let high = windows.length - 1
  while (low < high) {
    const middle = (low + high + 1) >> 1
    if (windows[middle].timeframeStart.epochMillis <= millis) low = middle
    else high = middle - 1
  }
  return low
}

/**
 * The most events Orb accepts in one ingest request by default.
 *
 * @since 0.1.0
 * @category limits
 */
export const maxEventsPerRequest = 500

/**
 * The longest `Idempotency-Key` header Orb accepts. An event's `idempotency_key` has no documented limit (it must
 * only be a non-empty string).
 *
 * @since 0.1.0
 * @category limits
 */
export const maxIdempotencyKeyLength = IdempotencyKey.maxLength

/**
 * How far ahead of the current time an event's timestamp may be, in milliseconds (5 minutes): Orb refuses an
 * event further in the future, inside a backfill as outside, and so do the library's checks, against Effect's
 * `Clock`.
 *
 * @since 0.1.0
 * @category limits
 */
export const maxFutureMillis = 5 * 60 * 1000

/**
 * The largest event the library's checks accept: the UTF-8 bytes of its JSON as sent (before a derived key is
 * added), 32 KiB. Orb documents no limit; this one is the library's own, so that one runaway line cannot make a
 * request of hundreds of megabytes: at the bound, a request of 500 events is 16 MiB, and the default 4 requests in
 * flight stay within about 130 MB. An Orb event (a name, a timestamp, ids and a few flat properties) is typically
 * well under 1 KiB.
 *
 * @since 0.1.0
 * @category limits
 */
export const maxEventBytes = 32 * 1024

/**
 * The idempotency key of an event that has none: a SHA-256 digest of the event's content (name, customer
 * keys, timestamp to the millisecond, and properties in key order), base64url-encoded, behind a version
 * prefix (47 characters in all). The same content always gives the same key, so re-sending the same input
 * never counts an event twice; two events identical in every field are therefore one event: give them keys
 * of their own when they are really distinct. An event in wire form gets the same key as its decoded form.
 *
 * @since 0.1.0
 * @category idempotency
 */
export const deriveIdempotencyKey = (event: IngestEvent): Effect.Effect<string> =>
  IdempotencyKey.deriveKey(
    IdempotencyKey.keyContent(
      event.eventName,
      event.customerId,
      event.externalCustomerId,
      event.timestamp.epochMillis,
      event.properties
    )
  )
