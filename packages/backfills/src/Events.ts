/**
 * What Orb holds: the events it has under given ids (`POST /events/search`), each with whether it is deprecated,
 * and how many events count in each hour (`GET /events/volume`). Read-only operations over the same `OrbClient`
 * as `Backfills` (the same retries, errors and decoding), each checking its input before sending anything.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import type * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Backfill from "./Backfill.js"
import type * as Backfills from "./Backfills.js"
import * as internal from "./internal/eventQueries.js"
import type * as OrbClient from "./OrbClient.js"

const wireKey = <S extends Schema.Schema.All, K extends string>(schema: S, key: K) =>
  Schema.propertySignature(schema).pipe(Schema.fromKey(key))

/**
 * The most event ids one search may name (Orb's limit).
 *
 * @since 0.2.0
 * @category limits
 */
export const maxSearchEventIds: number = internal.maxSearchEventIds

/**
 * The input of {@link search}. Its encoded side is Orb's `EventSearchCriteria` body.
 *
 * @since 0.2.0
 * @category models
 */
export const EventSearch = Schema.Struct({
  /**
   * The ids of the events to find, 1 to {@link maxSearchEventIds}: an event's id is the `idempotency_key` it was
   * ingested with (matched case-sensitively). An amended event is not found by its id.
   */
  eventIds: wireKey(Schema.Array(Schema.String), "event_ids"),
  /** Inclusive start of the timeframe of the events' timestamps. Orb's default: one week before now. */
  timeframeStart: Schema.optional(Backfill.Timestamp).pipe(Schema.fromKey("timeframe_start")),
  /** Exclusive end of the timeframe. Orb's default: now. */
  timeframeEnd: Schema.optional(Backfill.Timestamp).pipe(Schema.fromKey("timeframe_end"))
})

/**
 * @since 0.2.0
 * @category models
 */
export type EventSearch = typeof EventSearch.Type

/**
 * An event as Orb holds it. `deprecated`: it no longer counts in usage (replaced by a replace-mode backfill, or its
 * backfill reverted); Orb keeps it for audit.
 *
 * @since 0.2.0
 * @category models
 */
export class Event extends Schema.Class<Event>("@effect-orb/backfills/Events/Event")({
  /** The `idempotency_key` it was ingested with. */
  id: Schema.String,
  customerId: wireKey(Schema.OptionFromNullOr(Schema.String), "customer_id"),
  externalCustomerId: wireKey(Schema.OptionFromNullOr(Schema.String), "external_customer_id"),
  eventName: wireKey(Schema.String, "event_name"),
  properties: Schema.Record({ key: Schema.String, value: Backfill.PropertyValue }),
  timestamp: Backfill.Timestamp,
  deprecated: Schema.Boolean
}) {}

/**
 * The answer of `POST /events/search`: the events found (none is no error).
 *
 * @since 0.2.0
 * @category models
 */
export class EventSearchResult
  extends Schema.Class<EventSearchResult>("@effect-orb/backfills/Events/EventSearchResult")({
    data: Schema.Array(Event)
  })
{}

/**
 * How many events count in one hour, by their `timestamp` (a late event counts in the hour of its timestamp).
 *
 * @since 0.2.0
 * @category models
 */
export class EventVolume extends Schema.Class<EventVolume>("@effect-orb/backfills/Events/EventVolume")({
  /** The start of the hour, in UTC. */
  timeframeStart: wireKey(Backfill.Timestamp, "timeframe_start"),
  /** The end of the hour (exclusive). */
  timeframeEnd: wireKey(Backfill.Timestamp, "timeframe_end"),
  count: Schema.NonNegativeInt
}) {}

/**
 * One page of `GET /events/volume`. Orb's published schema has `data` only; its answers carry the
 * `pagination_metadata` of every paginated list, which the next page's cursor comes from, and which is `None`
 * when an answer has none.
 *
 * @since 0.2.0
 * @category models
 */
export class EventVolumePage extends Schema.Class<EventVolumePage>("@effect-orb/backfills/Events/EventVolumePage")({
  data: Schema.Array(EventVolume),
  paginationMetadata: Schema.optionalWith(Backfill.PaginationMetadata, { as: "Option", nullable: true }).pipe(
    Schema.fromKey("pagination_metadata")
  )
}) {}

/**
 * @since 0.2.0
 * @category models
 */
export interface VolumeOptions {
  /**
   * Inclusive start of the timeframe. Orb answers whole UTC hours: an instant inside an hour includes that hour.
   */
  readonly timeframeStart: DateTime.Utc
  /** Exclusive end of the timeframe, included the same way. Orb's default: now. */
  readonly timeframeEnd?: DateTime.Utc | undefined
  /** Hours per page, 1 to 100 (Orb's default: 20). */
  readonly limit?: number | undefined
}

/**
 * @since 0.2.0
 * @category models
 */
export interface VolumePageOptions extends VolumeOptions {
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string | undefined
}

/**
 * The events service.
 *
 * @since 0.2.0
 * @category models
 */
export interface Events {
  /**
   * The events Orb holds under up to 500 ids (`POST /events/search`), with a timestamp in the timeframe (Orb's
   * default: the past week). Ids it does not hold are left out of the answer.
   */
  readonly search: (input: EventSearch) => Effect.Effect<EventSearchResult, Backfills.Error>
  /** One page of hourly event counts (`GET /events/volume`). */
  readonly volumePage: (options: VolumePageOptions) => Effect.Effect<EventVolumePage, Backfills.Error>
  /**
   * Every hourly count of the timeframe, following Orb's cursor, fetching pages lazily as the stream is pulled. An
   * answer without `pagination_metadata` ends the stream when it holds fewer hours than the page size, and fails
   * with `DecodeError` when it is full: the rest of the timeframe could not be asked for.
   */
  readonly volume: (options: VolumeOptions) => Stream.Stream<EventVolume, Backfills.Error>
}

/**
 * @since 0.2.0
 * @category tags
 */
export const Events: Context.Tag<Events, Events> = Context.GenericTag<Events>("@effect-orb/backfills/Events")

/**
 * Builds the service over an `OrbClient`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make: Effect.Effect<Events, never, OrbClient.OrbClient> = internal.make({
  EventSearch,
  EventSearchResult,
  EventVolumePage
})

/**
 * The service over the `OrbClient` in context.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<Events, never, OrbClient.OrbClient> = Layer.effect(Events, make)

/**
 * Searches events by id with the service in context.
 *
 * @example
 * ```ts
 * import { Events } from "@effect-orb/backfills"
 * import { DateTime, Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const found = yield* Events.search({
 *     eventIds: ["order-1001", "order-1002"],
 *     timeframeStart: DateTime.unsafeMake("2026-10-01T00:00:00Z"),
 *     timeframeEnd: DateTime.unsafeMake("2026-10-08T00:00:00Z")
 *   })
 *   for (const event of found.data) yield* Effect.log(`${event.id}: deprecated ${event.deprecated}`)
 * })
 * ```
 *
 * @since 0.2.0
 * @category accessors
 */
export const search = (input: EventSearch): Effect.Effect<EventSearchResult, Backfills.Error, Events> =>
  Effect.flatMap(Events, (s) => s.search(input))

/**
 * One page of hourly event counts with the service in context.
 *
 * @since 0.2.0
 * @category accessors
 */
export const volumePage = (
  options: VolumePageOptions
): Effect.Effect<EventVolumePage, Backfills.Error, Events> => Effect.flatMap(Events, (s) => s.volumePage(options))

/**
 * Every hourly event count of a timeframe, as a lazy stream, with the service in context.
 *
 * @since 0.2.0
 * @category accessors
 */
export const volume = (options: VolumeOptions): Stream.Stream<EventVolume, Backfills.Error, Events> =>
  Stream.unwrap(Effect.map(Events, (s) => s.volume(options)))
