/**
 * Orb's read-only event endpoints over the simulator's recorded events: `POST /events/search` (events by id, each
 * with whether it is deprecated) and `GET /events/volume` (the events that count, per hour). What each event is at
 * a given time, and so what both endpoints and `OrbSimulator.events` show, is decided here once.
 *
 * Decided here, where Orb's documentation is silent (docs/orb-api.md says the same):
 *
 * - An event comes to be in Orb's store when it is ingested outside a backfill, or when its backfill is reflected;
 *   the events of an open backfill, or of a closed one not reflected yet, are in neither answer, and neither are
 *   those of a backfill reverted before it was reflected.
 * - Once there, an event is never taken out (Orb keeps every event for audit): one replaced by a reflected
 *   replace-mode backfill, or whose reflected backfill was reverted, is found with `deprecated: true`.
 * - The volume counts the events that count in usage: found, and not deprecated.
 */
import { Backfill } from "@effect-orb/backfills"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Schema from "effect/Schema"
import type * as State from "./state.js"
import * as Wire from "./wire.js"

/**
 * What an event is at a given time:
 *
 * - `active`: counts in usage,
 * - `pending`: ingested into a backfill that is not reflected yet,
 * - `deprecated`: replaced by a reflected replace-mode backfill,
 * - `reverted`: ingested into a backfill that was reverted.
 */
export type EventStatus = "active" | "pending" | "deprecated" | "reverted"

export interface Classified {
  readonly event: State.StoredEvent
  readonly status: EventStatus
  /** Whether Orb's store holds it, so that search finds it (see the module's decisions). */
  readonly stored: boolean
}

/**
 * Every recorded event (outside backfills first, in arrival order, then per backfill, oldest backfill first), as it
 * stands at `now`.
 */
export const classify = (state: State.State, now: number): Array<Classified> => {
  const out: Array<Classified> = []
  const push = (event: State.StoredEvent, countsFrom: number | undefined, base: "active" | "pending" | "reverted") => {
    const deprecated = base === "active" && countsFrom !== undefined && state.isDeprecated(event, countsFrom, now)
    out.push({ event, status: deprecated ? "deprecated" : base, stored: countsFrom !== undefined })
  }
  for (const event of state.events) push(event, event.ingestedAt, "active")
  for (const record of state.oldestFirst()) {
    const view = state.view(record, now)
    const base = view.status === "reverted"
      ? "reverted"
      : view.status === "reflected" || view.status === "pending_revert"
      ? "active"
      : "pending"
    // `reflectedAt` is set once the backfill was reflected, reverted since or not; never for one reverted before.
    for (const event of record.events.values()) push(event, view.reflectedAt, base)
  }
  return out
}

const isoOf = (millis: number) => new Date(millis).toISOString()

// ---------------------------------------------------------------------------------------------------------
// search

const weekMillis = 7 * 24 * 60 * 60 * 1000

/** The most ids of one search, as Orb's `EventSearchCriteria` says (`maxItems`). */
const maxSearchIds = 500

const nullableTimestamp = (key: string) => Schema.optional(Schema.NullOr(Backfill.Timestamp)).pipe(Schema.fromKey(key))

// Orb's `EventSearchCriteria`: unknown keys refused, the timeframe's ends nullable.
const SearchCriteria = Schema.Struct({
  eventIds: Schema.Array(Schema.String).pipe(
    Schema.minItems(1),
    Schema.maxItems(maxSearchIds),
    Schema.propertySignature,
    Schema.fromKey("event_ids")
  ),
  timeframeStart: nullableTimestamp("timeframe_start"),
  timeframeEnd: nullableTimestamp("timeframe_end")
})

const decodeCriteria = Schema.decodeUnknownEither(SearchCriteria, { onExcessProperty: "error", errors: "all" })

/** An event as `POST /events/search` shows it (Orb's `Event`). */
const eventJson = (event: State.StoredEvent, deprecated: boolean) => ({
  id: event.idempotencyKey,
  customer_id: event.customerId,
  external_customer_id: event.externalCustomerId ?? null,
  event_name: event.eventName,
  properties: event.properties,
  timestamp: isoOf(event.timestamp),
  deprecated
})

/**
 * `POST /events/search`: the stored events under the ids, with a timestamp in `[timeframe_start, timeframe_end)`
 * (default: the week before `now`), in the order of the ids, and for one id in the order Orb came to hold them.
 */
export const search = (state: State.State, body: Wire.Body, now: number): Wire.Response => {
  const json = body.json()
  if (Either.isLeft(json)) return Wire.validationError(json.left, [json.left])
  if (!Wire.isRecord(json.right)) {
    return Wire.validationError("The body must be a JSON object", ["body: expected an object"])
  }
  const decoded = decodeCriteria(json.right)
  if (Either.isLeft(decoded)) return Wire.validationError("Invalid search", Wire.formatIssues(decoded.left))
  const criteria = decoded.right
  const end = criteria.timeframeEnd?.epochMillis ?? now
  const start = criteria.timeframeStart?.epochMillis ?? end - weekMillis
  if (end <= start) return Wire.validationError("Invalid search", ["timeframe_end: must be after timeframe_start"])
  const wanted = new Map<string, Array<Classified>>()
  for (const id of criteria.eventIds) wanted.set(id, [])
  for (const classified of classify(state, now)) {
    const { event } = classified
    if (!classified.stored || event.timestamp < start || event.timestamp >= end) continue
    wanted.get(event.idempotencyKey)?.push(classified)
  }
  const data: Array<ReturnType<typeof eventJson>> = []
  for (const found of wanted.values()) {
    for (const { event, status } of found) data.push(eventJson(event, status !== "active"))
  }
  return Wire.json(200, { data })
}

// ---------------------------------------------------------------------------------------------------------
// volume

const hourMillis = 60 * 60 * 1000

/** Orb's bounds of `limit` (its document: 1 to 100, default 20). */
const maxVolumeLimit = 100
const defaultVolumeLimit = 20

const encodeCursor = (hour: number) => Encoding.encodeBase64Url(`volume:${hour}`)

const decodeCursor = (cursor: string): number | undefined => {
  const text = Either.getOrUndefined(Encoding.decodeBase64UrlString(cursor))
  const match = text === undefined ? null : /^volume:(\d+)$/.exec(text)
  return match === null ? undefined : Number(match[1])
}

const timestampParam = (
  params: URLSearchParams,
  name: string,
  errors: Array<string>
): number | undefined => {
  const text = params.get(name)
  if (text === null) return undefined
  const read = Backfill.parseTimestamp(text)
  if (Either.isLeft(read)) {
    errors.push(`${name}: ${read.left}`)
    return undefined
  }
  return read.right.epochMillis
}

/**
 * `GET /events/volume`: one count per UTC hour from the hour of `timeframe_start` to the hour `timeframe_end`
 * (default `now`) falls in, oldest first, hours without events included (count 0), `limit` hours a page, with the
 * `pagination_metadata` of Orb's paginated lists (the cursor holds the next page's hour).
 */
export const volume = (state: State.State, params: URLSearchParams, now: number): Wire.Response => {
  const errors: Array<string> = []
  const start = timestampParam(params, "timeframe_start", errors)
  if (start === undefined && params.get("timeframe_start") === null) {
    errors.push("timeframe_start: is required")
  }
  const end = timestampParam(params, "timeframe_end", errors) ?? now
  const limitText = params.get("limit")
  let limit = defaultVolumeLimit
  if (limitText !== null) {
    limit = /^\d+$/.test(limitText) ? Number(limitText) : Number.NaN
    if (!(limit >= 1 && limit <= maxVolumeLimit)) {
      errors.push(`limit: expected an integer from 1 to ${maxVolumeLimit}, got ${JSON.stringify(limitText)}`)
    }
  }
  const firstHour = start === undefined ? 0 : Math.floor(start / hourMillis) * hourMillis
  const endHour = Math.ceil(end / hourMillis) * hourMillis
  let from = firstHour
  const cursorText = params.get("cursor")
  if (cursorText !== null && cursorText !== "") {
    const hour = decodeCursor(cursorText)
    if (hour === undefined || hour % hourMillis !== 0) errors.push("cursor: not a cursor this API returned")
    else from = Math.max(firstHour, hour)
  }
  if (errors.length === 0 && start !== undefined && end <= start) {
    errors.push("timeframe_end: must be after timeframe_start")
  }
  if (errors.length > 0) return Wire.validationError("Invalid query", errors)

  const to = Math.min(endHour, from + limit * hourMillis)
  const counts = new Map<number, number>()
  for (const { event, status } of classify(state, now)) {
    if (status !== "active" || event.timestamp < from || event.timestamp >= to) continue
    const hour = Math.floor(event.timestamp / hourMillis) * hourMillis
    counts.set(hour, (counts.get(hour) ?? 0) + 1)
  }
  const data: Array<{ timeframe_start: string; timeframe_end: string; count: number }> = []
  for (let hour = from; hour < to; hour += hourMillis) {
    data.push({ timeframe_start: isoOf(hour), timeframe_end: isoOf(hour + hourMillis), count: counts.get(hour) ?? 0 })
  }
  const hasMore = to < endHour
  return Wire.json(200, {
    data,
    pagination_metadata: { has_more: hasMore, next_cursor: hasMore ? encodeCursor(to) : null }
  })
}
