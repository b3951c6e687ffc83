/**
 * Orb's backfill resource over the in-memory {@link State.State}: `POST /events/backfills` (create),
 * `GET /events/backfills` (list), `GET /events/backfills/{id}` (fetch), `POST .../{id}/close` and
 * `POST .../{id}/revert`, each a synchronous function from the request and the current time to the answer; and what
 * a backfill looks like at a given time, in the library's model and on the wire. `router.ts` routes to them;
 * authentication, quotas, idempotency and faults wrap them (`pipeline.ts`).
 */
import { Backfill } from "@effect-orb/backfills"
import * as DateTime from "effect/DateTime"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Customers from "./customers.js"
import * as DeprecationFilter from "./deprecationFilter.js"
import type * as State from "./state.js"
import * as Wire from "./wire.js"

/** The 404 of a backfill id that names none (here, and for ingest's `backfill_id`). */
export const notFound = (id: string) =>
  Wire.problem("ResourceNotFound", "Resource not found", `No backfill with id ${JSON.stringify(id)}`)

const iso = (millis: number) => DateTime.unsafeMake(millis)

/**
 * A backfill as the API shows it at a given time, in plain values: the one source of both the library's model
 * ({@link toBackfill}) and the wire body ({@link backfillJson}).
 */
export interface BackfillFields {
  readonly id: string
  readonly status: Backfill.BackfillStatus
  readonly createdAt: number
  readonly timeframeStart: number
  readonly timeframeEnd: number
  readonly eventsIngested: number
  readonly closeTime: number | null
  readonly revertedAt: number | null
  readonly customerId: string | null
  readonly replaceExistingEvents: boolean
  readonly deprecationFilter: string | null
}

/** What the API shows of a backfill at `now`. */
export const backfillFields = (state: State.State, record: State.BackfillRecord, now: number): BackfillFields => {
  const view = state.view(record, now)
  return {
    id: record.id,
    status: view.status,
    createdAt: record.createdAt,
    timeframeStart: record.timeframeStart,
    timeframeEnd: record.timeframeEnd,
    eventsIngested: record.events.size,
    closeTime: view.closeAt,
    revertedAt: view.revertedAt ?? null,
    customerId: record.customerId,
    replaceExistingEvents: record.replaceExistingEvents,
    deprecationFilter: record.deprecationFilter
  }
}

/** The library's model of a backfill. */
export const backfillModel = (fields: BackfillFields): Backfill.Backfill =>
  new Backfill.Backfill({
    id: Backfill.BackfillId.make(fields.id),
    status: fields.status,
    createdAt: iso(fields.createdAt),
    timeframeStart: iso(fields.timeframeStart),
    timeframeEnd: iso(fields.timeframeEnd),
    eventsIngested: fields.eventsIngested,
    closeTime: fields.closeTime === null ? Option.none() : Option.some(iso(fields.closeTime)),
    revertedAt: fields.revertedAt === null ? Option.none() : Option.some(iso(fields.revertedAt)),
    customerId: Option.fromNullable(fields.customerId),
    replaceExistingEvents: fields.replaceExistingEvents,
    deprecationFilter: Option.fromNullable(fields.deprecationFilter)
  })

/** A backfill as the API shows it at `now`, through the library's model. */
export const toBackfill = (state: State.State, record: State.BackfillRecord, now: number): Backfill.Backfill =>
  backfillModel(backfillFields(state, record, now))

/**
 * A backfill's wire body, written by hand: the same values as `Schema.encodeSync(Backfill.Backfill)` on its
 * model (a test holds them equal), without the model's construction and the Schema's walk, which were most of a
 * list page's CPU in the simulator's profile. The Schema leaves out an absent `deprecation_filter`; Orb's
 * backfills carry it as `null`, which clients must accept, so the simulator sends it that way (first, as it
 * always has).
 */
export const backfillJson = (fields: BackfillFields) => ({
  deprecation_filter: fields.deprecationFilter,
  id: fields.id,
  status: fields.status,
  // `DateTime.formatIso`, as the Schema encodes a `DateTime.Utc`: always with milliseconds, ending in Z.
  created_at: new Date(fields.createdAt).toISOString(),
  timeframe_start: new Date(fields.timeframeStart).toISOString(),
  timeframe_end: new Date(fields.timeframeEnd).toISOString(),
  events_ingested: fields.eventsIngested,
  close_time: fields.closeTime === null ? null : new Date(fields.closeTime).toISOString(),
  reverted_at: fields.revertedAt === null ? null : new Date(fields.revertedAt).toISOString(),
  customer_id: fields.customerId,
  replace_existing_events: fields.replaceExistingEvents
})

const backfillResponse = (state: State.State, record: State.BackfillRecord, now: number) =>
  Wire.json(200, backfillJson(backfillFields(state, record, now)))

// ---------------------------------------------------------------------------------------------------------
// create

// Date-times are read by the library's one strict parser (`Backfill.Timestamp`, `Backfill.timestampMillis`), here
// and for ingested events: an impossible date is refused, never moved; an offset names its instant, and no zone at
// all is UTC (as Orb reads an event's timestamp, "an ISO 8601 format date with no timezone offset (i.e. UTC)", and
// its Python SDK sends one).

const nullable = <S extends Schema.Schema.Any>(schema: S, key: string) =>
  Schema.optional(Schema.NullOr(schema)).pipe(Schema.fromKey(key))

// The wire `NewBackfill`: the library's `CreateBackfill` timeframe fields, with the server's leniency
// where the library is strict (`replace_existing_events` defaults to true, nullable optional fields).
const NewBackfill = Schema.Struct({
  timeframeStart: Backfill.CreateBackfill.fields.timeframeStart,
  timeframeEnd: Backfill.CreateBackfill.fields.timeframeEnd,
  replaceExistingEvents: Schema.optional(Schema.Boolean).pipe(Schema.fromKey("replace_existing_events")),
  customerId: nullable(Schema.String, "customer_id"),
  externalCustomerId: nullable(Schema.String, "external_customer_id"),
  closeTime: nullable(Backfill.Timestamp, "close_time"),
  deprecationFilter: nullable(Schema.String, "deprecation_filter")
})

const decodeNewBackfill = Schema.decodeUnknownEither(NewBackfill, { onExcessProperty: "error", errors: "all" })

/** `POST /events/backfills`. */
export const create = (state: State.State, body: Wire.Body, now: number): Wire.Response => {
  const json = body.json()
  if (Either.isLeft(json)) return Wire.validationError(json.left, [json.left])
  if (!Wire.isRecord(json.right)) {
    return Wire.validationError("The body must be a JSON object", ["body: expected an object"])
  }
  const raw = json.right
  const decoded = decodeNewBackfill(raw)
  if (Either.isLeft(decoded)) return Wire.validationError("Invalid backfill", Wire.formatIssues(decoded.left))
  const input = decoded.right
  const errors: Array<string> = []
  const start = input.timeframeStart.epochMillis
  const end = input.timeframeEnd.epochMillis
  if (end <= start) errors.push("timeframe_end: must be after timeframe_start")
  else if (end - start > state.config.maxTimeframeMillis) {
    errors.push(
      `timeframe_end: the timeframe spans ${((end - start) / 86_400_000).toFixed(2)} days, more than the ` +
        `${(state.config.maxTimeframeMillis / 86_400_000).toFixed(0)} days allowed`
    )
  }
  const customerId = input.customerId ?? null
  const externalCustomerId = input.externalCustomerId ?? null
  if (customerId !== null && externalCustomerId !== null) {
    errors.push("customer_id, external_customer_id: give at most one of them")
  }
  const deprecationFilter = input.deprecationFilter ?? null
  let filter = DeprecationFilter.all
  if (deprecationFilter !== null) {
    const parsed = DeprecationFilter.parse(deprecationFilter)
    if (Either.isLeft(parsed)) errors.push(parsed.left)
    else filter = parsed.right
  }
  if (errors.length > 0) return Wire.validationError("Invalid backfill", errors)
  const scope = Customers.backfillScope(state, customerId, externalCustomerId)
  if ("refused" in scope) return scope.refused

  // Newest first, so that of several overlapping backfills the error names the latest. An index loop rather than
  // `newestFirst()`: this walks every backfill on every create, and a generator step costs about 30 ns.
  const backfills = state.oldestFirst()
  for (let index = backfills.length - 1; index >= 0; index--) {
    const other = backfills[index]
    const status = state.view(other, now).status
    if (status !== "pending" && status !== "pending_revert") continue
    if (start < other.timeframeEnd && other.timeframeStart < end) {
      return Wire.problem(
        "ConstraintViolation",
        "Overlapping backfill",
        `The timeframe overlaps backfill ${other.id} (${status}, ${
          iso(other.timeframeStart).pipe(DateTime.formatIso)
        } to ${
          iso(other.timeframeEnd).pipe(DateTime.formatIso)
        }); backfills in pending or pending_revert may not overlap`
      )
    }
  }

  const record: State.BackfillRecord = {
    seq: state.nextSeq(),
    id: state.newBackfillId(),
    createdAt: now,
    timeframeStart: start,
    timeframeEnd: end,
    closeTime: input.closeTime?.epochMillis ?? now + state.config.defaultCloseAfterMillis,
    closedAt: undefined,
    revert: undefined,
    customerId: scope.scopedTo,
    replaceExistingEvents: input.replaceExistingEvents ?? true,
    deprecationFilter,
    filter,
    events: new Map()
  }
  state.addBackfill(record)
  return backfillResponse(state, record, now)
}

// ---------------------------------------------------------------------------------------------------------
// list

const encodeCursor = (seq: number) => Encoding.encodeBase64Url(`backfills:${seq}`)

const decodeCursor = (cursor: string): number | undefined => {
  const text = Either.getOrUndefined(Encoding.decodeBase64UrlString(cursor))
  const match = text === undefined ? null : /^backfills:(\d+)$/.exec(text)
  return match === null ? undefined : Number(match[1])
}

/** `GET /events/backfills`: newest first, `limit` a page, with Orb's `pagination_metadata`. */
export const list = (state: State.State, params: URLSearchParams, now: number): Wire.Response => {
  const limitText = params.get("limit")
  let limit = 20
  if (limitText !== null) {
    limit = /^\d+$/.test(limitText) ? Number(limitText) : Number.NaN
    if (!(limit >= 1 && limit <= 100)) {
      return Wire.validationError("Invalid query", [
        `limit: expected an integer from 1 to 100, got ${JSON.stringify(limitText)}`
      ])
    }
  }
  const cursorText = params.get("cursor")
  let after = Number.POSITIVE_INFINITY
  if (cursorText !== null && cursorText !== "") {
    const seq = decodeCursor(cursorText)
    if (seq === undefined) return Wire.validationError("Invalid query", ["cursor: not a cursor this API returned"])
    after = seq
  }
  // One record beyond the page says whether there is more, without walking the rest.
  const page: Array<State.BackfillRecord> = []
  let hasMore = false
  for (const record of state.newestFirst(after)) {
    if (page.length === limit) {
      hasMore = true
      break
    }
    page.push(record)
  }
  return Wire.json(200, {
    data: page.map((record) => backfillJson(backfillFields(state, record, now))),
    pagination_metadata: { has_more: hasMore, next_cursor: hasMore ? encodeCursor(page[page.length - 1].seq) : null }
  })
}

// ---------------------------------------------------------------------------------------------------------
// one backfill: fetch, close and revert

const withBackfill = (state: State.State, id: string, f: (record: State.BackfillRecord) => Wire.Response) => {
  const record = state.backfills.get(id)
  return record === undefined ? notFound(id) : f(record)
}

/** `GET /events/backfills/{id}`. */
export const fetch = (state: State.State, id: string, now: number): Wire.Response =>
  withBackfill(state, id, (record) => backfillResponse(state, record, now))

/** `POST /events/backfills/{id}/close`: only an open backfill. */
export const close = (state: State.State, id: string, now: number): Wire.Response =>
  withBackfill(state, id, (record) => {
    const view = state.view(record, now)
    if (!view.open) {
      return Wire.problem(
        "ConstraintViolation",
        "Backfill is not open",
        `Backfill ${record.id} is ${view.status}${
          view.status === "pending" ? " and already closed" : ""
        }; only an open backfill can be closed`
      )
    }
    record.closedAt = now
    return backfillResponse(state, record, now)
  })

/** `POST /events/backfills/{id}/revert`: any backfill not reverted or being reverted. */
export const revert = (state: State.State, id: string, now: number): Wire.Response =>
  withBackfill(state, id, (record) => {
    const view = state.view(record, now)
    if (view.status === "pending_revert" || view.status === "reverted") {
      return Wire.problem(
        "ConstraintViolation",
        "Backfill cannot be reverted",
        `Backfill ${record.id} is already ${view.status}`
      )
    }
    // Before reflection nothing of the backfill counts yet, so there is nothing to undo asynchronously.
    record.revert = { at: now, immediate: view.status === "pending" }
    // Reverting an open backfill ends it: its close_time ("in the past, the time at which the backfill was
    // closed") becomes now, rather than the future time at which it would have closed by itself.
    if (view.open) record.closedAt = now
    return backfillResponse(state, record, now)
  })
