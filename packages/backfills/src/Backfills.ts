/**
 * The backfill operations: create, fetch, list, close, revert, ingest and await a status, each a traced
 * Effect that checks its input before sending anything.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Backfill from "./Backfill.js"
import * as OrbClient from "./OrbClient.js"
import * as OrbError from "./OrbError.js"

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
export const Backfills: Context.Tag<Backfills, Backfills> = Context.GenericTag<Backfills>("@effect-orb/Backfills")

const invalid = (field: string, reason: string) => Effect.fail(new OrbError.InvalidInput({ field, reason }))

/**
 * A backfill id as a path segment: non-empty, not `.` or `..` (which a URL would resolve away), and
 * percent-encoded.
 */
const pathSegment = (id: string): Effect.Effect<string, OrbError.InvalidInput> => {
  if (typeof id !== "string" || id.length === 0) return invalid("id", "a backfill id must not be empty")
  if (id === "." || id === "..") return invalid("id", `${JSON.stringify(id)} is not a backfill id`)
  return Effect.succeed(encodeURIComponent(id))
}

/**
 * The safety rails of a create request, checked before anything is sent.
 *
 * @since 0.1.0
 * @category validation
 */
export const validateCreate = (input: Backfill.CreateBackfill): Effect.Effect<void, OrbError.InvalidInput> => {
  if (!Predicate.isBoolean(input.replaceExistingEvents)) {
    return invalid(
      "replaceExistingEvents",
      "must be given explicitly: true replaces every existing event in the timeframe, false adds to them " +
        "(Orb would default to true)"
    )
  }
  for (const field of ["timeframeStart", "timeframeEnd"] as const) {
    if (!DateTime.isDateTime(input[field])) return invalid(field, "must be a DateTime")
  }
  const span = input.timeframeEnd.epochMillis - input.timeframeStart.epochMillis
  if (span <= 0) {
    return invalid(
      "timeframeEnd",
      `must be after timeframeStart (${DateTime.formatIso(input.timeframeStart)}), got ${
        DateTime.formatIso(input.timeframeEnd)
      }`
    )
  }
  if (span > Backfill.maxTimeframeMillis) {
    return invalid(
      "timeframeEnd",
      `the timeframe spans ${(span / 86_400_000).toFixed(2)} days; Orb allows at most 31 days per backfill`
    )
  }
  if (input.customerId !== undefined && input.externalCustomerId !== undefined) {
    return invalid("externalCustomerId", "give at most one of customerId and externalCustomerId")
  }
  for (const field of ["customerId", "externalCustomerId", "deprecationFilter"] as const) {
    const value = input[field]
    if (value !== undefined && (!Predicate.isString(value) || value.length === 0)) {
      return invalid(field, "must be a non-empty string when given")
    }
  }
  if (input.closeTime !== undefined && !DateTime.isDateTime(input.closeTime)) {
    return invalid("closeTime", "must be a DateTime")
  }
  return Effect.void
}

const isFlatValue = (value: unknown) =>
  Predicate.isString(value) || Predicate.isBoolean(value) || (typeof value === "number" && Number.isFinite(value))

/**
 * The checks Orb makes on one event that can be made locally: exactly one customer key, a flat
 * `properties` object of strings, finite numbers and booleans, a valid timestamp and a key of at most 64
 * characters. `field` prefixes the names in the error (for example `events[3]`).
 *
 * @since 0.1.0
 * @category validation
 */
export const validateEvent = (
  event: Backfill.IngestEvent,
  field: string
): Effect.Effect<void, OrbError.InvalidInput> => {
  if (!Predicate.isString(event.eventName) || event.eventName.length === 0) {
    return invalid(`${field}.eventName`, "must be a non-empty string")
  }
  const hasCustomer = Predicate.isString(event.customerId) && event.customerId.length > 0
  const hasExternal = Predicate.isString(event.externalCustomerId) && event.externalCustomerId.length > 0
  if (hasCustomer === hasExternal) {
    return invalid(
      `${field}.customerId`,
      hasCustomer
        ? "give only one of customerId and externalCustomerId"
        : "give one of customerId and externalCustomerId"
    )
  }
  if (!DateTime.isDateTime(event.timestamp) || Number.isNaN(event.timestamp.epochMillis)) {
    return invalid(`${field}.timestamp`, "must be a valid DateTime")
  }
  if (!Predicate.isRecord(event.properties)) return invalid(`${field}.properties`, "must be an object")
  for (const [key, value] of Object.entries(event.properties)) {
    if (!isFlatValue(value)) {
      return invalid(`${field}.properties.${key}`, "must be a string, a finite number or a boolean (no nesting)")
    }
  }
  if (event.idempotencyKey !== undefined) {
    return OrbClient.checkIdempotencyKey(event.idempotencyKey, `${field}.idempotencyKey`)
  }
  return Effect.void
}

const encodeCreate = Schema.encodeSync(Backfill.CreateBackfill)
const encodeEvent = Schema.encodeSync(Backfill.IngestEvent)

/**
 * Builds the service over an `OrbClient`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Backfills, never, OrbClient.OrbClient> = Effect.gen(function*() {
  const client = yield* OrbClient.OrbClient

  const create = Effect.fn("Backfills.create")(function*(input: Backfill.CreateBackfill, options?: WriteOptions) {
    yield* validateCreate(input)
    yield* OrbClient.checkIdempotencyKey(options?.idempotencyKey)
    const backfill = yield* client.request({
      method: "POST",
      path: "/events/backfills",
      body: encodeCreate(input),
      idempotencyKey: options?.idempotencyKey
    }, Backfill.Backfill)
    yield* Effect.annotateCurrentSpan("backfill.id", backfill.id)
    return backfill
  })

  const fetch = Effect.fn("Backfills.fetch")(function*(id: string) {
    yield* Effect.annotateCurrentSpan("backfill.id", id)
    const segment = yield* pathSegment(id)
    return yield* client.request({ method: "GET", path: `/events/backfills/${segment}` }, Backfill.Backfill)
  })

  const transition = (action: "close" | "revert") =>
    Effect.fn(`Backfills.${action}`)(function*(id: string, options?: WriteOptions) {
      yield* Effect.annotateCurrentSpan("backfill.id", id)
      const segment = yield* pathSegment(id)
      yield* OrbClient.checkIdempotencyKey(options?.idempotencyKey)
      return yield* client.request({
        method: "POST",
        path: `/events/backfills/${segment}/${action}`,
        idempotencyKey: options?.idempotencyKey
      }, Backfill.Backfill)
    })

  const listPage = Effect.fn("Backfills.listPage")(function*(options?: ListPageOptions) {
    const limit = options?.limit
    if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 100)) {
      return yield* invalid("limit", `must be an integer from 1 to 100, got ${limit}`)
    }
    const urlParams: Array<[string, string]> = []
    if (limit !== undefined) urlParams.push(["limit", String(limit)])
    if (options?.cursor !== undefined) urlParams.push(["cursor", options.cursor])
    return yield* client.request({ method: "GET", path: "/events/backfills", urlParams }, Backfill.BackfillPage)
  })

  const list = (options?: ListOptions): Stream.Stream<Backfill.Backfill, Error> =>
    Stream.paginateChunkEffect(
      undefined as string | undefined,
      (cursor) =>
        listPage({ limit: options?.limit, cursor }).pipe(
          Effect.map((page) => {
            const next = page.paginationMetadata.nextCursor
            // Orb's own SDK stops on an empty page or a null cursor; a cursor that repeats would loop forever.
            const more = page.data.length > 0 && next !== null && next !== cursor
            return [Chunk.unsafeFromArray(page.data), more ? Option.some(next) : Option.none()] as const
          })
        )
    ).pipe(Stream.withSpan("Backfills.list"))

  const ingest = Effect.fn("Backfills.ingest")(
    function*(id: string, events: Iterable<Backfill.IngestEvent>, options?: WriteOptions) {
      yield* Effect.annotateCurrentSpan("backfill.id", id)
      yield* pathSegment(id)
      yield* OrbClient.checkIdempotencyKey(options?.idempotencyKey)
      const batch = Array.from(events)
      if (batch.length === 0) return yield* invalid("events", "give at least one event")
      if (batch.length > Backfill.maxEventsPerRequest) {
        return yield* invalid(
          "events",
          `${batch.length} events in one request; Orb accepts at most ${Backfill.maxEventsPerRequest}`
        )
      }
      yield* Effect.annotateCurrentSpan("events", batch.length)
      const wire = yield* Effect.forEach(batch, (event, index) =>
        validateEvent(event, `events[${index}]`).pipe(
          Effect.zipRight(
            event.idempotencyKey === undefined
              ? Effect.map(
                Backfill.deriveIdempotencyKey(event),
                (key) => encodeEvent({ ...event, idempotencyKey: key })
              )
              : Effect.succeed(encodeEvent(event))
          )
        ))
      return yield* client.request({
        method: "POST",
        path: "/ingest",
        urlParams: [["backfill_id", id]],
        body: { events: wire },
        idempotencyKey: options?.idempotencyKey
      }, Backfill.IngestResult)
    }
  )

  const awaitStatus = Effect.fn("Backfills.awaitStatus")(
    function*(id: string, target: Backfill.BackfillStatus, options?: AwaitStatusOptions) {
      yield* Effect.annotateCurrentSpan("backfill.id", id)
      yield* Effect.annotateCurrentSpan("backfill.target", target)
      yield* pathSegment(id)
      const timeout = Duration.decode(options?.timeout ?? Duration.hours(1))
      const schedule: Schedule.Schedule<unknown> = options?.schedule ?? defaultAwaitSchedule
      const started = yield* Clock.currentTimeMillis
      const lastStatus = yield* Ref.make(Option.none<Backfill.BackfillStatus>())
      const poll = fetch(id).pipe(
        Effect.tap((backfill) => Ref.set(lastStatus, Option.some(backfill.status))),
        Effect.flatMap((backfill) => {
          if (backfill.status === target) return Effect.succeed(Option.some(backfill))
          if (!Backfill.canReach(backfill.status, target)) {
            return Effect.fail(new OrbError.StatusUnreachable({ backfillId: id, target, status: backfill.status }))
          }
          return Effect.succeed(Option.none<Backfill.Backfill>())
        }),
        // A wait can last an hour: an outage that outlasts the transport's retries is no reason to give up.
        Effect.catchIf(OrbError.isTransient, (error) =>
          Effect.as(
            Effect.logDebug(`Still waiting for backfill ${id} to be ${target}: ${error.message}`),
            Option.none<Backfill.Backfill>()
          ))
      )
      const timedOut = Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const last = yield* Ref.get(lastStatus)
        return yield* new OrbError.AwaitTimeout({
          backfillId: id,
          target,
          waitedMillis: now - started,
          ...(Option.isSome(last) ? { lastStatus: last.value } : {})
        })
      })
      const found = yield* poll.pipe(
        Effect.repeat({
          schedule: Schedule.passthrough(schedule as Schedule.Schedule<unknown, Option.Option<Backfill.Backfill>>),
          until: Option.isSome
        }),
        Effect.timeoutFail({ duration: timeout, onTimeout: () => "timeout" as const }),
        Effect.catchIf((error) => error === "timeout", () => timedOut)
      )
      // The schedule ended before the status came: that is a timeout too.
      return Option.isSome(found) ? found.value : yield* timedOut
    }
  )

  return Backfills.of({
    create,
    fetch,
    close: transition("close"),
    revert: transition("revert"),
    listPage,
    list,
    ingest,
    awaitStatus
  })
})

/**
 * The default polling schedule of `awaitStatus`: exponential from 1 second, doubling, capped at 30 seconds,
 * each wait jittered.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultAwaitSchedule: Schedule.Schedule<unknown> = Schedule.exponential(Duration.seconds(1), 2).pipe(
  Schedule.modifyDelay((_, delay) => Duration.min(delay, Duration.seconds(30))),
  Schedule.jittered
)

/**
 * The service over the `OrbClient` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Backfills, never, OrbClient.OrbClient> = Layer.effect(Backfills, make)

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
