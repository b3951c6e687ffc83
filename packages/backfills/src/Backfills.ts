/**
 * The backfill operations: create, fetch, list, close, revert, ingest and await a status, each a traced
 * Effect that checks its input before sending anything.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as DateTime from "effect/DateTime"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type * as Backfill from "./Backfill.js"
import * as internal from "./internal/backfills.js"
import * as overlap from "./internal/overlap.js"
import * as quota from "./internal/quota.js"
import type * as RateLimiter from "./internal/rateLimiter.js"
import * as runPlan from "./internal/runPlan.js"
import type * as OrbClient from "./OrbClient.js"
import type * as OrbError from "./OrbError.js"

/**
 * Options of a request that changes something: the `Idempotency-Key` to send (default: a new key per
 * call, reused by that call's retries). Give your own to make a call safe to repeat across processes.
 *
 * @since 0.1.0
 * @category models
 */
export interface WriteOptions {
  readonly idempotencyKey?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ListOptions {
  /** Backfills per page, 1 to 100 (Orb's default: 20). */
  readonly limit?: number | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ListPageOptions extends ListOptions {
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string | undefined
}

/**
 * @since 0.1.0
 * @category models
 */
export interface AwaitStatusOptions {
  /**
   * When to fetch again. Default: exponential from 1 second, doubling, capped at 30 seconds, jittered.
   */
  readonly schedule?: Schedule.Schedule<unknown> | undefined
  /** How long to wait in all before failing with `AwaitTimeout`. Default 1 hour. */
  readonly timeout?: Duration.DurationInput | undefined
}

/**
 * Orb's live-mode ingest quota: 100 requests per second and 10,000 events per minute.
 *
 * @since 0.1.0
 * @category constants
 */
export const liveModeQuota: IngestQuota = quota.liveModeQuota

/**
 * Orb's test-mode ingest quota: 10 requests per second and 2,000 events per minute.
 *
 * @since 0.1.0
 * @category constants
 */
export const testModeQuota: IngestQuota = quota.testModeQuota

/**
 * A pace for ingest requests.
 *
 * @since 0.1.0
 * @category models
 */
export interface IngestQuota {
  readonly requestsPerSecond: number
  readonly eventsPerMinute: number
}

/**
 * An ingest pace that several ingestions share: each request of any of them takes its turn within the one quota,
 * and a 429 that one of them meets slows them all.
 *
 * @since 0.1.0
 * @category models
 */
export interface IngestPace {
  readonly [RateLimiter.PaceTypeId]: RateLimiter.RateLimiter
  readonly quota: IngestQuota
}

/**
 * A pace within `quota`, to give to every ingestion that must share it (`IngestStreamOptions.pace`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeIngestPace: (quota: IngestQuota) => Effect.Effect<IngestPace, OrbError.InvalidInput> =
  internal.makeIngestPace

/**
 * @since 0.1.0
 * @category models
 */
export interface IngestStreamOptions {
  /** Events per request, 1 to 500. Default 500. */
  readonly batchSize?: number | undefined
  /** Requests in flight at once. Default 4. */
  readonly concurrency?: number | undefined
  /**
   * The pace to keep: Orb's ingest quota for the account (default {@link liveModeQuota}), or `false` for none
   * (a simulator without quotas). When Orb answers 429 anyway, the pace halves and then recovers.
   */
  readonly quota?: IngestQuota | false | undefined
  /**
   * A pace shared with other ingestions (see {@link makeIngestPace}), in place of one of this ingestion's own from
   * `quota`: ingestions running at once into one account stay within its quota together.
   */
  readonly pace?: IngestPace | undefined
  /**
   * What to do with an invalid event (refused locally or by Orb): `"skip"` sets it aside, reports it in the
   * summary and carries on (the default); `"fail"` stops with `InvalidEvent`.
   */
  readonly onInvalid?: "skip" | "fail" | undefined
  /** Attempts per request through transient failures (timeouts, 5xx, 429, 409). Default 10. */
  readonly maxAttempts?: number | undefined
  /** Called with a snapshot after each request, to draw a progress bar. */
  readonly onProgress?: ((progress: IngestProgress) => Effect.Effect<void>) | undefined
  /**
   * Slots shared with other ingestions (`Effect.makeSemaphore(n)`): each request holds one while in flight, so that
   * ingestions running at once keep at most `n` requests in flight together (`concurrency` still bounds each one).
   * An ingestion can then start while another finishes its last requests, without more requests in flight.
   *
   * @since 0.2.0
   */
  readonly slots?: Effect.Semaphore | undefined
  /**
   * The backfill as the caller fetched it, for a caller that fetches it anyway (a durable run does, before the first
   * segment a process sends): the ingestion checks it (open, its timeframe, its customer) instead of fetching it
   * first, and does not fetch it after either, so the summary's `backfill` is this one and its `duplicates` 0 (not
   * counted). Its id must be the one ingested into. A backfill closed or reverted since is Orb's to refuse
   * (`ConstraintViolation`): the caller tells that refusal apart.
   *
   * @since 0.2.0
   */
  readonly backfill?: Backfill.Backfill | undefined
}

/**
 * How far an ingestion has come.
 *
 * @since 0.1.0
 * @category models
 */
export interface IngestProgress {
  /** Events pulled from the stream. */
  readonly read: number
  /** Events Orb accepted (each counted once, whatever the retries). */
  readonly accepted: number
  /** Events set aside as invalid. */
  readonly failed: number
  /** Requests Orb accepted. */
  readonly batches: number
  /** Requests sent again after a transient failure. */
  readonly retries: number
  /** Requests answered 429. */
  readonly rateLimited: number
  readonly elapsedMillis: number
}

/**
 * An event set aside, with where it was in the stream and why.
 *
 * @since 0.1.0
 * @category models
 */
export interface FailedEvent {
  /** Its index in the stream, from 0. */
  readonly position: number
  readonly idempotencyKey: string | undefined
  /** `"local"`: refused before sending; `"orb"`: Orb refused it. */
  readonly refusedBy: "local" | "orb"
  readonly reasons: ReadonlyArray<string>
}

/**
 * What an ingestion did.
 *
 * @since 0.1.0
 * @category models
 */
export interface IngestSummary extends IngestProgress {
  /** Events sent to Orb at least once (accepted, or refused by Orb), each counted once. */
  readonly sent: number
  /**
   * Accepted events that Orb already had (by idempotency key), from the backfill's `eventsIngested` before and
   * after; exact when nothing else ingests into the backfill meanwhile.
   */
  readonly duplicates: number
  /** The first 1,000 events set aside; `failed` counts them all. */
  readonly failures: ReadonlyArray<FailedEvent>
  /** The backfill after the ingestion. */
  readonly backfill: Backfill.Backfill
}

/**
 * A whole backfill: what to create, the events to send (either `events`, decoded, or `encodedEvents`, in Orb's
 * wire form, as {@link Backfills.ingestEncodedStream} takes them), and how to go about it.
 *
 * @since 0.1.0
 * @category models
 */
export type RunSpec<E = never, R = never> =
  & RunOptions
  & (
    | {
      readonly events: Stream.Stream<Backfill.IngestEvent, E, R>
      readonly encodedEvents?: undefined
    }
    | {
      /** Events in Orb's wire form: checked and sent without decoding (see `ingestEncodedStream`). */
      readonly encodedEvents: Stream.Stream<typeof Backfill.IngestEvent.Encoded, E, R>
      readonly events?: undefined
    }
  )

/**
 * Everything of a {@link RunSpec} but its events.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions extends Backfill.CreateBackfill {
  /**
   * An invalid event (refused locally or by Orb): `"fail"` stops the run and reverts the backfill (the
   * default); `"skip"` sets it aside, reports it in the summary, and carries on.
   */
  readonly invalidEvents?: "fail" | "skip" | undefined
  /** Where to stop: once Orb has `"reflected"` the backfill (the default), or right after it is `"closed"`. */
  readonly until?: "reflected" | "closed" | undefined
  /**
   * How many events the stream holds, when known: the default `closeTime` is estimated from it (see
   * {@link defaultCloseTime}).
   */
  readonly expectedEvents?: number | undefined
  /** Batching, concurrency, quota and retries of the ingestion. */
  readonly ingest?: Omit<IngestStreamOptions, "onInvalid" | "onProgress"> | undefined
  /** How to await reflection. */
  readonly await?: AwaitStatusOptions | undefined
  /** The `Idempotency-Key` of the create request. */
  readonly idempotencyKey?: string | undefined
  /** Called as the run moves on, and after each ingest request. */
  readonly onProgress?: ((progress: RunProgress) => Effect.Effect<void>) | undefined
  /**
   * How long a create that Orb refuses because its timeframe overlaps a pending backfill (of any customer: Orb
   * allows no two with overlapping timeframes) waits for that backfill to be reflected or reverted, polling it, before
   * creating; the run reports `waiting`, and fails with `OverlapWaitTimeout` naming it when the time passes. Default
   * 1 hour ({@link defaultOverlapWait}); `0` fails at once with Orb's refusal. With several windows, the wait also
   * ends 10 minutes before the close time of the windows already created.
   */
  readonly overlapWait?: Duration.DurationInput | undefined
}

/**
 * How long a run's create waits, by default, for an overlapping pending backfill to be reflected or reverted.
 *
 * @since 0.2.0
 * @category constants
 */
export const defaultOverlapWait: Duration.Duration = overlap.defaultOverlapWait

/**
 * Where a run is.
 *
 * @since 0.1.0
 * @category models
 */
export type RunProgress =
  & (
    | {
      /**
       * Orb refused the create: its timeframe overlaps `blocker`, a pending backfill (as last polled), which the
       * run waits for (reported again when it waits for another one). `window` is the window being created.
       */
      readonly stage: "waiting"
      readonly blocker: Backfill.Backfill
      readonly window: number
    }
    | { readonly stage: "created"; readonly backfill: Backfill.Backfill }
    | { readonly stage: "ingesting"; readonly backfillId: Backfill.BackfillId; readonly ingest: IngestProgress }
    | { readonly stage: "closed"; readonly backfill: Backfill.Backfill; readonly ingest: IngestSummary }
    | { readonly stage: "done"; readonly backfill: Backfill.Backfill; readonly ingest: IngestSummary }
  )
  & {
    /**
     * Every window of the run, in order: one for a timeframe within the account's maximum, several for a longer
     * one. With several, `backfill` (`backfillId`) is the window just created, closed or reflected (while ingesting,
     * the first), and `ingest` counts them all.
     */
    readonly windows: ReadonlyArray<RunWindow>
  }

/**
 * One window of a run, as it goes: its timeframe, its backfill once created, and its events.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunWindow extends Backfill.Timeframe {
  readonly backfillId?: Backfill.BackfillId | undefined
  /** Its last known status: `pending` from the create to the close (open, then closed), then as polled. */
  readonly status?: Backfill.BackfillStatus | undefined
  /** Its events so far: routed to it, accepted by Orb, refused by Orb. */
  readonly read: number
  readonly accepted: number
  readonly failed: number
}

/**
 * One window of a finished run: its backfill as last seen, and its events (`duplicates` as in `IngestSummary`).
 *
 * @since 0.1.0
 * @category models
 */
export interface RunWindowResult extends RunWindow {
  readonly backfill: Backfill.Backfill
  readonly sent: number
  readonly duplicates: number
}

/**
 * What a run did: the backfill as last seen (reflected, or just closed) and the ingestion's summary; with several
 * windows, `windows` holds each (and `backfill` is the first's, `ingestion` counts them all).
 *
 * @since 0.1.0
 * @category models
 */
export interface RunResult {
  readonly backfill: Backfill.Backfill
  readonly ingestion: IngestSummary
  readonly windows: ReadonlyArray<RunWindowResult>
}

/**
 * The `closeTime` a run gives its backfill when the spec has none. The backfill closes by itself then, so it
 * must come after the ingestion ends, however slow: with `expectedEvents`, twice the time the quota allows for
 * them plus 30 minutes, and at least 1 hour; without, 24 hours (Orb's own default). A run closes the backfill
 * itself as soon as its events are in, so a far close time costs nothing, except if the process dies
 * mid-run: then the open backfill closes half-done at that time unless someone reverts it first.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultCloseTime: (options: {
  readonly now: DateTime.Utc
  readonly expectedEvents?: number | undefined
  readonly quota?: IngestQuota | false | undefined
}) => DateTime.Utc = quota.defaultCloseTime

/**
 * What a run's plan reads of its spec: the create's fields, and what its close time, keys and overlap wait come
 * from.
 *
 * @since 0.2.0
 * @category models
 */
export interface RunPlanSpec extends Backfill.CreateBackfill {
  /** The default close time is estimated from it (see {@link defaultCloseTime}). */
  readonly expectedEvents?: number | undefined
  /** The ingestion's quota, for the same estimate. */
  readonly quota?: IngestQuota | false | undefined
  /** The base of the creates' keys; a new one when absent. */
  readonly idempotencyKey?: string | undefined
  /** How long a create refused for an overlap waits (see {@link RunOptions}). */
  readonly overlapWait?: Duration.DurationInput | undefined
}

/**
 * How an executor plans its runs: its default overlap wait ({@link defaultOverlapWait} for `run`), and how far
 * ahead a default close time is at least (a durable run, which may be resumed much later, takes a day).
 *
 * @since 0.2.0
 * @category models
 */
export interface RunPlanOptions {
  readonly defaultOverlapWait: Duration.DurationInput
  readonly closeAtLeast?: Duration.DurationInput | undefined
}

/**
 * A run's plan, the same for `run` and for a durable run: its close time, its windows (the timeframe cut at the
 * account's maximum, `Backfill.splitTimeframe`), each window's create, the base of the creates' keys
 * (`IdempotencyKey.forCreate`) and how long a create refused for an overlap waits.
 *
 * @since 0.2.0
 * @category models
 */
export interface RunPlan {
  readonly closeTime: DateTime.Utc
  readonly windows: ReadonlyArray<Backfill.Timeframe>
  readonly inputs: ReadonlyArray<Backfill.CreateBackfill>
  readonly idempotencyKey: string
  readonly overlapWaitMillis: number
}

/**
 * Plans a run at `now` for an account, checking everything before anything is sent: the close time is in the
 * future, every window's create passes {@link validateCreate}, and each window's key fits Orb's limit.
 *
 * @since 0.2.0
 * @category constructors
 */
export const plan: (
  spec: RunPlanSpec,
  account: AccountOptions | undefined,
  now: DateTime.Utc,
  options?: RunPlanOptions | undefined
) => Either.Either<RunPlan, OrbError.InvalidInput> = (spec, account, now, options) =>
  runPlan.plan(spec, account, now, options ?? { defaultOverlapWait })

/**
 * When the wait for a pending backfill overlapping window `window`, begun at `since` (epoch milliseconds), ends:
 * after the plan's overlap wait, and for a later window 10 minutes before the close time of the windows already
 * created, which close by themselves then.
 *
 * @since 0.2.0
 * @category constructors
 */
export const overlapDeadline: (
  plan: { readonly closeTime: DateTime.Utc; readonly overlapWaitMillis: number },
  window: number,
  since: number
) => number = runPlan.overlapDeadline

/**
 * The account's own limits, where Orb raised them for it.
 *
 * @since 0.1.0
 * @category models
 */
export interface AccountOptions {
  /**
   * The longest timeframe of one backfill: 31 days unless Orb raised it for the account. `create` refuses a longer
   * one; `run` cuts a longer one into windows of at most this much, one backfill each.
   */
  readonly maxTimeframe?: Duration.DurationInput | undefined
}

/**
 * The errors of an operation: Orb's, and a local refusal of the input.
 *
 * @since 0.1.0
 * @category models
 */
export type Error = OrbError.OrbError | OrbError.InvalidInput

/**
 * The backfill service.
 *
 * @since 0.1.0
 * @category models
 */
export interface Backfills {
  /** The longest timeframe of one backfill for this account (`AccountOptions.maxTimeframe`). */
  readonly maxTimeframe: Duration.Duration
  /** Creates a backfill (`POST /events/backfills`). */
  readonly create: (
    input: Backfill.CreateBackfill,
    options?: WriteOptions
  ) => Effect.Effect<Backfill.Backfill, Error>
  /** Fetches a backfill by id. */
  readonly fetch: (id: string) => Effect.Effect<Backfill.Backfill, Error>
  /** Closes an open backfill: its events start being reflected. Answers while it is still `pending`. */
  readonly close: (id: string, options?: WriteOptions) => Effect.Effect<Backfill.Backfill, Error>
  /** Reverts a backfill: at once when open, through `pending_revert` when reflected. */
  readonly revert: (id: string, options?: WriteOptions) => Effect.Effect<Backfill.Backfill, Error>
  /** One page of backfills, newest first. */
  readonly listPage: (options?: ListPageOptions) => Effect.Effect<Backfill.BackfillPage, Error>
  /** Every backfill, newest first, fetching pages lazily as the stream is pulled. */
  readonly list: (options?: ListOptions) => Stream.Stream<Backfill.Backfill, Error>
  /**
   * Sends up to 500 events to a backfill in one request (`POST /ingest?backfill_id=`). Events without an
   * idempotency key get one derived from their content. A batch with an invalid event fails as a whole
   * with `RequestValidationError` (see `OrbError.eventFailures`) and records nothing.
   */
  readonly ingest: (
    id: string,
    events: Iterable<Backfill.IngestEvent>,
    options?: WriteOptions
  ) => Effect.Effect<Backfill.IngestResult, Error>
  /**
   * Streams events into an open backfill: checks each event locally (including the backfill's timeframe),
   * derives missing idempotency keys, sends batches with bounded concurrency at a pace within Orb's quota,
   * sets aside events Orb refuses and sends the rest again, retries transient failures with the same keys,
   * and reads the stream lazily, in constant memory.
   */
  readonly ingestStream: <E, R>(
    id: string,
    events: Stream.Stream<Backfill.IngestEvent, E, R>,
    options?: IngestStreamOptions
  ) => Effect.Effect<IngestSummary, Error | OrbError.InvalidEvent | E, R>
  /**
   * {@link Backfills.ingestStream} for events already in Orb's wire form (`typeof Backfill.IngestEvent.Encoded`:
   * snake_case keys, ISO 8601 timestamps), such as the parsed lines of an NDJSON file: no decoding to
   * `DateTime` and encoding back. Each event is checked as {@link validateEncodedEvent} checks it (its shape as
   * strictly as `Backfill.decodeIngestEvent`, then the rules of {@link validateEvent}), and is sent as it is when
   * it is already in the form sent. The same events give the same keys, the same refusals and the same requests
   * as through `ingestStream`; everything after the check is the same pipeline.
   */
  readonly ingestEncodedStream: <E, R>(
    id: string,
    events: Stream.Stream<typeof Backfill.IngestEvent.Encoded, E, R>,
    options?: IngestStreamOptions
  ) => Effect.Effect<IngestSummary, Error | OrbError.InvalidEvent | E, R>
  /**
   * The whole workflow: check the spec, create the backfill, stream the events into it, close it, and await
   * `reflected` (or stop after the close). If anything fails, or the fiber is interrupted, after the create
   * and before the close, the backfill is reverted (uninterruptibly) and the run fails with `RunFailed`
   * saying so; after the close it is never reverted on your behalf.
   *
   * A timeframe longer than the account's maximum is cut into windows (`Backfill.splitTimeframe`), one backfill
   * each, all or nothing: every window is created first, each event goes to the window holding its timestamp as
   * it comes (the input is read once, in any order), and the windows are closed only once every event is in. A
   * failure or an interruption before the last close reverts every window, the closed ones too.
   */
  readonly run: <E, R>(
    spec: RunSpec<E, R>
  ) => Effect.Effect<RunResult, Error | OrbError.RunFailed | OrbError.OverlapWaitTimeout, R>
  /**
   * Polls a backfill until it is in `target`. Fails with `StatusUnreachable` as soon as it is in a status
   * from which `target` cannot come, and with `AwaitTimeout` when the time runs out.
   */
  readonly awaitStatus: (
    id: string,
    target: Backfill.BackfillStatus,
    options?: AwaitStatusOptions
  ) => Effect.Effect<Backfill.Backfill, Error | OrbError.StatusUnreachable | OrbError.AwaitTimeout>
}

/**
 * @since 0.1.0
 * @category tags
 */
export const Backfills: Context.Tag<Backfills, Backfills> = Context.GenericTag<Backfills>(
  "@effect-orb/backfills/Backfills"
)

/**
 * The safety rails of a create request, checked before anything is sent.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateCreate: (
  input: Backfill.CreateBackfill,
  account?: AccountOptions | undefined
) => Either.Either<void, OrbError.InvalidInput> = internal.validateCreate

/**
 * The checks Orb makes on one event that can be made locally: a non-empty name, exactly one customer key, a flat
 * `properties` object of strings, finite numbers and booleans, a valid timestamp, a non-empty key when one is
 * given, and at most `Backfill.maxEventBytes` of JSON; given the backfill, also a timestamp inside its timeframe
 * and, for a backfill scoped to one customer by Orb id, that customer; given `now`, a timestamp at most
 * `Backfill.maxFutureMillis` (5 minutes) after it, as Orb requires. Read `now` from Effect's `Clock` once for many
 * events (`DateTime.now`), as the ingestion does; without it, that check is left to Orb. `field` prefixes the
 * names in the error (for example `events[3]`).
 *
 * @since 0.1.0
 * @category validation
 */
export const validateEvent: (
  event: Backfill.IngestEvent,
  field: string,
  backfill?: Backfill.Backfill | undefined,
  now?: DateTime.Utc | undefined
) => Either.Either<void, OrbError.InvalidInput> = internal.validateEvent

/**
 * The checks of {@link validateEvent} on an event in Orb's wire form (`typeof Backfill.IngestEvent.Encoded`, a
 * parsed NDJSON line, say), after the checks of its shape that `Backfill.decodeIngestEvent` makes (unknown keys
 * refused, as Orb refuses them). Errors name the fields as `IngestEvent` does (`events[3].eventName`), so that
 * an event is refused with the same message in either form. `backfill` and `now` as for {@link validateEvent}.
 *
 * Succeeds with the event as it is sent: the value itself when its timestamp is written as
 * `Date.prototype.toISOString` writes it and it holds no `null` customer key (no copy), else a copy with the
 * timestamp so written and the `null` keys left out, exactly what the decoded event would be encoded to.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateEncodedEvent: (
  event: unknown,
  field: string,
  backfill?: Backfill.Backfill | undefined,
  now?: DateTime.Utc | undefined
) => Either.Either<typeof Backfill.IngestEvent.Encoded, OrbError.InvalidInput> = internal.validateEncodedEvent

/**
 * Builds the service over an `OrbClient`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Backfills, never, OrbClient.OrbClient> = internal.makeWith({})

/**
 * The service over the `OrbClient` in context, for an account whose limits Orb raised.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeWith: (account: AccountOptions) => Effect.Effect<Backfills, never, OrbClient.OrbClient> =
  internal.makeWith

/**
 * The default polling schedule of `awaitStatus`: exponential from 1 second, doubling, capped at 30 seconds,
 * each wait jittered.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultAwaitSchedule: Schedule.Schedule<unknown> = internal.defaultAwaitSchedule

/**
 * The service over the `OrbClient` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Backfills, never, OrbClient.OrbClient> = Layer.effect(Backfills, make)

/**
 * The service over the `OrbClient` in context, for an account whose limits Orb raised (`maxTimeframe`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (account: AccountOptions): Layer.Layer<Backfills, never, OrbClient.OrbClient> =>
  Layer.effect(Backfills, makeWith(account))

/**
 * Creates a backfill with the service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const create = (
  input: Backfill.CreateBackfill,
  options?: WriteOptions
): Effect.Effect<Backfill.Backfill, Error, Backfills> => Effect.flatMap(Backfills, (s) => s.create(input, options))

/**
 * Fetches a backfill with the service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const fetch = (id: string): Effect.Effect<Backfill.Backfill, Error, Backfills> =>
  Effect.flatMap(Backfills, (s) => s.fetch(id))

/**
 * Closes a backfill with the service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const close = (id: string, options?: WriteOptions): Effect.Effect<Backfill.Backfill, Error, Backfills> =>
  Effect.flatMap(Backfills, (s) => s.close(id, options))

/**
 * Reverts a backfill with the service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const revert = (id: string, options?: WriteOptions): Effect.Effect<Backfill.Backfill, Error, Backfills> =>
  Effect.flatMap(Backfills, (s) => s.revert(id, options))

/**
 * One page of backfills with the service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const listPage = (options?: ListPageOptions): Effect.Effect<Backfill.BackfillPage, Error, Backfills> =>
  Effect.flatMap(Backfills, (s) => s.listPage(options))

/**
 * Every backfill, newest first, as a lazy stream, with the service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const list = (options?: ListOptions): Stream.Stream<Backfill.Backfill, Error, Backfills> =>
  Stream.unwrap(Effect.map(Backfills, (s) => s.list(options)))

/**
 * Sends one batch of events with the service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const ingest = (
  id: string,
  events: Iterable<Backfill.IngestEvent>,
  options?: WriteOptions
): Effect.Effect<Backfill.IngestResult, Error, Backfills> =>
  Effect.flatMap(Backfills, (s) => s.ingest(id, events, options))

/**
 * Streams events into an open backfill with the service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const ingestStream = <E, R>(
  id: string,
  events: Stream.Stream<Backfill.IngestEvent, E, R>,
  options?: IngestStreamOptions
): Effect.Effect<IngestSummary, Error | OrbError.InvalidEvent | E, R | Backfills> =>
  Effect.flatMap(Backfills, (s) => s.ingestStream(id, events, options))

/**
 * Streams events in Orb's wire form into an open backfill with the service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const ingestEncodedStream = <E, R>(
  id: string,
  events: Stream.Stream<typeof Backfill.IngestEvent.Encoded, E, R>,
  options?: IngestStreamOptions
): Effect.Effect<IngestSummary, Error | OrbError.InvalidEvent | E, R | Backfills> =>
  Effect.flatMap(Backfills, (s) => s.ingestEncodedStream(id, events, options))

/**
 * Runs a whole backfill with the service in context.
 *
 * @example
 * ```ts
 * import { Backfill, Backfills } from "@effect-orb/backfills"
 * import { Effect, Stream } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const result = yield* Backfills.run({
 *     timeframeStart: Backfill.unsafeTimestamp("2026-10-01T00:00:00Z"),
 *     timeframeEnd: Backfill.unsafeTimestamp("2026-10-08T00:00:00Z"),
 *     replaceExistingEvents: true,
 *     externalCustomerId: "acme",
 *     events: Stream.make({
 *       eventName: "api_call",
 *       timestamp: Backfill.unsafeTimestamp("2026-10-02T12:00:00Z"),
 *       properties: { units: 3 },
 *       externalCustomerId: "acme"
 *     })
 *   })
 *   yield* Effect.log(`${result.backfill.id} is ${result.backfill.status}`)
 * })
 * ```
 *
 * @since 0.1.0
 * @category accessors
 */
export const run = <E, R>(
  spec: RunSpec<E, R>
): Effect.Effect<RunResult, Error | OrbError.RunFailed | OrbError.OverlapWaitTimeout, R | Backfills> =>
  Effect.flatMap(Backfills, (s) => s.run(spec))

/**
 * The newest backfill that keeps Orb from creating one over `timeframe` (see `Backfill.blocks`): in `pending` or
 * `pending_revert`, with an overlapping timeframe, whatever its customer. Lists every backfill.
 *
 * @since 0.2.0
 * @category accessors
 */
export const blockerOf = (
  timeframe: Backfill.Timeframe
): Effect.Effect<Option.Option<Backfill.Backfill>, Error, Backfills> =>
  Effect.flatMap(Backfills, (s) => overlap.blockerOf(s.list, timeframe))

/**
 * Awaits a status with the service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const awaitStatus = (
  id: string,
  target: Backfill.BackfillStatus,
  options?: AwaitStatusOptions
): Effect.Effect<
  Backfill.Backfill,
  Error | OrbError.StatusUnreachable | OrbError.AwaitTimeout,
  Backfills
> => Effect.flatMap(Backfills, (s) => s.awaitStatus(id, target, options))
