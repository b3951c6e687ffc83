/**
 * The request handler: Orb's backfill and ingest endpoints over the in-memory {@link State.State}, one
 * synchronous function from a request and the current time to a response. Authentication, quotas,
 * idempotency and faults wrap it (see `OrbSimulator.ts`).
 *
 * @internal
 */
import { Backfill, OrbError } from "@effect-orb/backfills"
import * as DateTime from "effect/DateTime"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as DeprecatedKeys from "./deprecatedKeys.js"
import * as DeprecationFilter from "./deprecationFilter.js"
import type * as State from "./state.js"

/** @internal */
export interface Request {
  readonly method: string
  /** The path with its query string (a full URL is accepted too; its host is ignored). */
  readonly url: string
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: Body
}

/**
 * A request body, parsed as JSON on first use and kept: an ingest body is read both by the events quota
 * (how many events) and by the handler, which need not parse its 500 events (about 100 kB) twice.
 *
 * @internal
 */
export class Body {
  private parsed: Either.Either<unknown, string> | undefined
  constructor(readonly text: string) {}

  /** The parsed body, or why it is not JSON. */
  json(): Either.Either<unknown, string> {
    if (this.parsed === undefined) this.parsed = parseJson(this.text)
    return this.parsed
  }
}

/** @internal */
export type Response = State.StoredResponse

const jsonHeaders = { "content-type": "application/json" }

/** @internal */
export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response => ({
  status,
  headers: { ...jsonHeaders, ...headers },
  body: JSON.stringify(body)
})

/**
 * An RFC 7807 problem document of one of Orb's error types.
 *
 * @internal
 */
export const problem = (
  type: OrbError.ErrorType,
  title: string,
  detail?: string,
  extra: { readonly validation_errors?: ReadonlyArray<unknown>; readonly status?: number } = {}
): Response => {
  const status = extra.status ?? OrbError.errorTypes[type].status
  const body: Record<string, unknown> = { type: OrbError.typeUri(type), status, title }
  if (detail !== undefined) body.detail = detail
  if (extra.validation_errors !== undefined) body.validation_errors = extra.validation_errors
  else if (type === "RequestValidationError") body.validation_errors = []
  return json(status, body)
}

/** @internal */
export const validationError = (detail: string, errors: ReadonlyArray<unknown>): Response =>
  problem("RequestValidationError", "Request validation failed", detail, { validation_errors: errors })

const notFound = (id: string) =>
  problem("ResourceNotFound", "Resource not found", `No backfill with id ${JSON.stringify(id)}`)

const customerNotFound = (key: "customer_id" | "external_customer_id", id: string) =>
  problem(
    "ResourceNotFound",
    "Resource not found",
    `No customer with ${key === "customer_id" ? "id" : "external id"} ${JSON.stringify(id)}`
  )

// Date-times are read by the library's one strict parser (`Backfill.Timestamp`, `Backfill.timestampMillis`): an
// impossible date is refused, never moved; an offset names its instant, and no zone at all is UTC (as Orb reads an
// event's timestamp, "an ISO 8601 format date with no timezone offset (i.e. UTC)", and its Python SDK sends one).

/** @internal */
export const formatIssues = (error: ParseResult.ParseError): Array<string> =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) =>
    issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`
  )

const parseJson = (text: string): Either.Either<unknown, string> => {
  try {
    return Either.right(JSON.parse(text))
  } catch {
    return Either.left(text.length === 0 ? "the body is empty" : "the body is not valid JSON")
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const iso = (millis: number) => DateTime.unsafeMake(millis)

/**
 * A backfill as the API shows it at a given time, in plain values: the one source of both the library's model
 * ({@link toBackfill}) and the wire body ({@link backfillJson}).
 *
 * @internal
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

/**
 * What the API shows of a backfill at `now`.
 *
 * @internal
 */
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

/**
 * The library's model of a backfill.
 *
 * @internal
 */
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

/**
 * A backfill as the API shows it at `now`, through the library's model.
 *
 * @internal
 */
export const toBackfill = (state: State.State, record: State.BackfillRecord, now: number): Backfill.Backfill =>
  backfillModel(backfillFields(state, record, now))

/**
 * A backfill's wire body, written by hand: the same values as `Schema.encodeSync(Backfill.Backfill)` on its
 * model (a test holds them equal), without the model's construction and the Schema's walk, which were most of a
 * list page's CPU in the simulator's profile. The Schema leaves out an absent `deprecation_filter`; Orb's
 * backfills carry it as `null`, which clients must accept, so the simulator sends it that way (first, as it
 * always has).
 *
 * @internal
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

const encodeIngestResult = Schema.encodeSync(Backfill.IngestResult)
const encodeFailure = Schema.encodeSync(Backfill.EventValidationFailure)

const backfillResponse = (state: State.State, record: State.BackfillRecord, now: number) =>
  json(200, backfillJson(backfillFields(state, record, now)))

// ---------------------------------------------------------------------------------------------------------
// create

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

const create = (state: State.State, body: Body, now: number): Response => {
  const json = body.json()
  if (Either.isLeft(json)) return validationError(json.left, [json.left])
  if (!isRecord(json.right)) return validationError("The body must be a JSON object", ["body: expected an object"])
  const raw = json.right
  const decoded = decodeNewBackfill(raw)
  if (Either.isLeft(decoded)) return validationError("Invalid backfill", formatIssues(decoded.left))
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
  if (errors.length > 0) return validationError("Invalid backfill", errors)
  // A backfill is scoped to a customer that exists (its body shows the customer's Orb id), whichever id names it.
  let scopedTo: string | null = null
  if (customerId !== null) {
    if (!state.hasCustomer(customerId)) return customerNotFound("customer_id", customerId)
    scopedTo = customerId
  } else if (externalCustomerId !== null) {
    const id = state.existingCustomerIdFor(externalCustomerId)
    if (id === undefined) return customerNotFound("external_customer_id", externalCustomerId)
    scopedTo = id
  }

  // Newest first, so that of several overlapping backfills the error names the latest. An index loop rather than
  // `newestFirst()`: this walks every backfill on every create, and a generator step costs about 30 ns.
  const backfills = state.oldestFirst()
  for (let index = backfills.length - 1; index >= 0; index--) {
    const other = backfills[index]
    const status = state.view(other, now).status
    if (status !== "pending" && status !== "pending_revert") continue
    if (start < other.timeframeEnd && other.timeframeStart < end) {
      return problem(
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
    customerId: scopedTo,
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

const list = (state: State.State, params: URLSearchParams, now: number): Response => {
  const limitText = params.get("limit")
  let limit = 20
  if (limitText !== null) {
    limit = /^\d+$/.test(limitText) ? Number(limitText) : Number.NaN
    if (!(limit >= 1 && limit <= 100)) {
      return validationError("Invalid query", [
        `limit: expected an integer from 1 to 100, got ${JSON.stringify(limitText)}`
      ])
    }
  }
  const cursorText = params.get("cursor")
  let after = Number.POSITIVE_INFINITY
  if (cursorText !== null && cursorText !== "") {
    const seq = decodeCursor(cursorText)
    if (seq === undefined) return validationError("Invalid query", ["cursor: not a cursor this API returned"])
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
  return json(200, {
    data: page.map((record) => backfillJson(backfillFields(state, record, now))),
    pagination_metadata: { has_more: hasMore, next_cursor: hasMore ? encodeCursor(page[page.length - 1].seq) : null }
  })
}

// ---------------------------------------------------------------------------------------------------------
// close and revert

const close = (state: State.State, record: State.BackfillRecord, now: number): Response => {
  const view = state.view(record, now)
  if (!view.open) {
    return problem(
      "ConstraintViolation",
      "Backfill is not open",
      `Backfill ${record.id} is ${view.status}${
        view.status === "pending" ? " and already closed" : ""
      }; only an open backfill can be closed`
    )
  }
  record.closedAt = now
  return backfillResponse(state, record, now)
}

const revert = (state: State.State, record: State.BackfillRecord, now: number): Response => {
  const view = state.view(record, now)
  if (view.status === "pending_revert" || view.status === "reverted") {
    return problem(
      "ConstraintViolation",
      "Backfill cannot be reverted",
      `Backfill ${record.id} is already ${view.status}`
    )
  }
  // Before reflection nothing of the backfill counts yet, so there is nothing to undo asynchronously.
  record.revert = { at: now, immediate: view.status === "pending" }
  // Reverting an open backfill ends it: its close_time ("in the past, the time at which the backfill was closed")
  // becomes now, rather than the future time at which it would have closed by itself.
  if (view.open) record.closedAt = now
  return backfillResponse(state, record, now)
}

// ---------------------------------------------------------------------------------------------------------
// ingest

const decodeEvent = Schema.decodeUnknownEither(Backfill.IngestEvent, { onExcessProperty: "error", errors: "all" })

/**
 * An event as decoded, before the checks that depend on the backfill and the time.
 *
 * @internal
 */
export interface DecodedEvent {
  readonly eventName: string
  readonly timestamp: number
  readonly properties: DeprecationFilter.Properties
  readonly customerId: string | undefined
  readonly externalCustomerId: string | undefined
}

/**
 * The fast path of {@link checkEvent}: decodes an event by hand when it passes every check that does not depend
 * on the backfill or the time (the `IngestEvent` Schema with no excess key, a non-empty idempotency key (of any
 * length: Orb documents none), a readable timestamp), to the very values the Schema would give, and answers `undefined` for
 * anything else, which then goes through the Schema so that its errors read as they always have. The Schema
 * costs several microseconds an event, most of an ingest request's CPU. A test holds both paths to the same
 * answers.
 *
 * @internal
 */
export const decodeEventFast = (raw: Readonly<Record<string, unknown>>): DecodedEvent | undefined => {
  for (const key in raw) if (!Backfill.wireEventKeys.has(key)) return undefined
  const { customer_id, event_name, external_customer_id, idempotency_key, properties, timestamp } = raw
  if (typeof event_name !== "string" || typeof timestamp !== "string") return undefined
  if (typeof idempotency_key !== "string" || idempotency_key.length === 0) return undefined
  if (customer_id !== undefined && customer_id !== null && typeof customer_id !== "string") return undefined
  if (
    external_customer_id !== undefined && external_customer_id !== null && typeof external_customer_id !== "string"
  ) return undefined
  if (!isRecord(properties)) return undefined
  for (const key in properties) {
    // The Schema's decoded record cannot hold an own `__proto__` (its assignment sets no key), so leave that to it.
    if (key === "__proto__") return undefined
    const value = properties[key]
    if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") return undefined
  }
  const millis = Backfill.timestampMillis(timestamp)
  if (Number.isNaN(millis)) return undefined
  return {
    eventName: event_name,
    timestamp: millis,
    properties: properties as DeprecationFilter.Properties,
    customerId: customer_id ?? undefined,
    externalCustomerId: external_customer_id ?? undefined
  }
}

interface CheckedEvent {
  readonly key: string
  /** The event as sent, for {@link canonicalOf}. */
  readonly raw: unknown
  /** Its canonical JSON, computed only when its key comes again in the same request. */
  canonical: string | undefined
  readonly event: Omit<State.StoredEvent, "seq" | "ingestedAt">
}

const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_, v) => isRecord(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v)

const canonicalOf = (checked: CheckedEvent): string => checked.canonical ??= canonicalJson(checked.raw)

/**
 * Checks one event of an ingest request. `fast: false` takes the Schema path for every event (for tests).
 *
 * @internal
 */
export const checkEvent = (
  state: State.State,
  raw: unknown,
  index: number,
  backfill: State.BackfillRecord | undefined,
  now: number,
  fast = true
): Either.Either<CheckedEvent, Backfill.EventValidationFailure> => {
  const keyOf = isRecord(raw) && typeof raw.idempotency_key === "string" ? raw.idempotency_key : ""
  const fail = (errors: ReadonlyArray<string>) =>
    Either.left(new Backfill.EventValidationFailure({ idempotencyKey: keyOf, validationErrors: errors }))
  if (!isRecord(raw)) return fail([`events[${index}]: expected an object`])
  const errors: Array<string> = []
  let event = fast ? decodeEventFast(raw) : undefined
  if (event === undefined) {
    const decoded = decodeEvent(raw)
    if (Either.isLeft(decoded)) { for (const issue of formatIssues(decoded.left)) errors.push(issue) }
    if (typeof raw.idempotency_key !== "string" || raw.idempotency_key.length === 0) {
      errors.push("idempotency_key: is required and must be a non-empty string")
    }
    if (Either.isLeft(decoded)) return fail(errors)
    event = {
      eventName: decoded.right.eventName,
      timestamp: decoded.right.timestamp.epochMillis,
      properties: decoded.right.properties,
      customerId: decoded.right.customerId,
      externalCustomerId: decoded.right.externalCustomerId
    }
  }
  const hasCustomer = event.customerId !== undefined
  const hasExternal = event.externalCustomerId !== undefined
  if (hasCustomer === hasExternal) errors.push("exactly one of customer_id and external_customer_id is required")
  // Orb: a `customer_id` must name a customer that exists; an `external_customer_id` need not (the events go to the
  // customer created later with it).
  else if (event.customerId !== undefined && !state.hasCustomer(event.customerId)) {
    errors.push(`customer_id: no customer with id ${JSON.stringify(event.customerId)}`)
  }
  const timestamp = event.timestamp
  const customerId = event.customerId ??
    (event.externalCustomerId === undefined ? "" : state.customerIdFor(event.externalCustomerId))
  if (backfill !== undefined) {
    if (timestamp < backfill.timeframeStart || timestamp >= backfill.timeframeEnd) {
      errors.push(
        `timestamp: ${DateTime.formatIso(iso(timestamp))} is outside the backfill's timeframe ` +
          `[${DateTime.formatIso(iso(backfill.timeframeStart))}, ${DateTime.formatIso(iso(backfill.timeframeEnd))})`
      )
    }
    if (backfill.customerId !== null && hasCustomer !== hasExternal && customerId !== backfill.customerId) {
      errors.push(`customer: the backfill is scoped to customer ${backfill.customerId}`)
    }
  } else {
    if (timestamp < now - state.config.gracePeriodMillis) {
      errors.push("timestamp: older than the grace period; use a backfill to ingest historical events")
    }
  }
  if (timestamp > now + state.config.maxFutureMillis) {
    errors.push("timestamp: more than 5 minutes in the future")
  }
  if (errors.length > 0) return fail(errors)
  return Either.right({
    key: keyOf,
    raw,
    canonical: undefined,
    event: {
      eventName: event.eventName,
      timestamp,
      properties: event.properties,
      idempotencyKey: keyOf,
      customerId,
      externalCustomerId: event.externalCustomerId,
      backfillId: backfill?.id
    }
  })
}

const ingest = (state: State.State, params: URLSearchParams, body: Body, now: number): Response => {
  const backfillId = params.get("backfill_id")
  let backfill: State.BackfillRecord | undefined
  if (backfillId !== null && backfillId !== "") {
    backfill = state.backfills.get(backfillId)
    if (backfill === undefined) return notFound(backfillId)
    const view = state.view(backfill, now)
    if (!view.open) {
      return problem(
        "ConstraintViolation",
        "Backfill is closed",
        `Backfill ${backfill.id} is ${view.status}${
          view.status === "pending" ? " and closed" : ""
        }; events can only be ingested into an open backfill`
      )
    }
  }
  const parsed = body.json()
  if (Either.isLeft(parsed)) return validationError(parsed.left, [parsed.left])
  const raw = parsed.right
  if (!isRecord(raw) || !Array.isArray(raw.events)) {
    return validationError("Invalid ingest request", ["events: is required and must be an array"])
  }
  const extra = Object.keys(raw).filter((key) => key !== "events")
  if (extra.length > 0) return validationError("Invalid ingest request", extra.map((key) => `${key}: is unexpected`))
  if (raw.events.length > state.config.maxEventsPerRequest) {
    return problem(
      "RequestTooLarge",
      "Request too large",
      `${raw.events.length} events in one request; at most ${state.config.maxEventsPerRequest} are accepted`
    )
  }
  const failures: Array<Backfill.EventValidationFailure> = []
  const batch = new Map<string, CheckedEvent>()
  const conflicting = new Set<string>()
  raw.events.forEach((item, index) => {
    const checked = checkEvent(state, item, index, backfill, now)
    if (Either.isLeft(checked)) {
      failures.push(checked.left)
      return
    }
    const previous = batch.get(checked.right.key)
    if (previous === undefined) batch.set(checked.right.key, checked.right)
    else if (canonicalOf(previous) !== canonicalOf(checked.right)) conflicting.add(checked.right.key)
  })
  for (const key of conflicting) {
    failures.push(
      new Backfill.EventValidationFailure({
        idempotencyKey: key,
        validationErrors: ["idempotency_key: appears more than once in this request with different contents"]
      })
    )
  }
  for (const key of DeprecatedKeys.among(state, batch.keys(), now)) {
    failures.push(
      new Backfill.EventValidationFailure({
        idempotencyKey: key,
        validationErrors: [
          "idempotency_key: the event with this key was deprecated (replaced by a replace-mode backfill); " +
          "Orb does not ingest a deprecated event's key again: send it under a new key"
        ]
      })
    )
  }
  if (failures.length > 0) {
    return validationError(
      `${failures.length} event${
        failures.length === 1 ? "" : "s"
      } failed validation; no event of this request was recorded`,
      failures.map((failure) => encodeFailure(failure))
    )
  }
  for (const { event, key } of batch.values()) {
    if (backfill !== undefined) {
      if (!backfill.events.has(key)) backfill.events.set(key, { ...event, seq: state.nextSeq(), ingestedAt: now })
    } else {
      if (!state.ingestedSince(key, now - state.config.gracePeriodMillis)) {
        state.addEvent({ ...event, seq: state.nextSeq(), ingestedAt: now })
      }
    }
  }
  return json(200, encodeIngestResult(new Backfill.IngestResult({ validationFailed: [] })))
}

// ---------------------------------------------------------------------------------------------------------
// routing

const urlNotFound = (method: string, path: string) =>
  problem("UrlNotFound", "URL not found", `No endpoint ${method} ${path}`)

/**
 * Answers one request at `now`. Authentication, quotas and idempotency are the caller's.
 *
 * @internal
 */
export const handle = (state: State.State, request: Request, now: number): Response => {
  const url = new URL(request.url, "http://simulator.invalid")
  const method = request.method.toUpperCase()
  const fullPath = url.pathname.length > 1 ? url.pathname.replace(/\/$/, "") : url.pathname
  if (!fullPath.startsWith("/v1/")) return urlNotFound(method, fullPath)
  let segments: Array<string>
  try {
    segments = fullPath.slice("/v1/".length).split("/").map(decodeURIComponent)
  } catch {
    return urlNotFound(method, fullPath)
  }
  const params = url.searchParams
  if (segments.length === 1 && segments[0] === "ingest" && method === "POST") {
    return ingest(state, params, request.body, now)
  }
  if (segments[0] !== "events" || segments[1] !== "backfills") return urlNotFound(method, fullPath)
  if (segments.length === 2) {
    if (method === "GET") return list(state, params, now)
    if (method === "POST") return create(state, request.body, now)
    return urlNotFound(method, fullPath)
  }
  const id = segments[2]
  const action = segments.length === 3 ? "fetch" : segments.length === 4 ? segments[3] : undefined
  const route = action === "fetch" && method === "GET"
    ? "fetch"
    : (action === "close" || action === "revert") && method === "POST"
    ? action
    : undefined
  if (route === undefined || id.length === 0) return urlNotFound(method, fullPath)
  const record = state.backfills.get(id)
  if (record === undefined) return notFound(id)
  switch (route) {
    case "fetch":
      return backfillResponse(state, record, now)
    case "close":
      return close(state, record, now)
    case "revert":
      return revert(state, record, now)
  }
}

/**
 * The rate-limit category of a request, as Orb counts them.
 *
 * @internal
 */
export const category = (request: Request): "read" | "write" | "ingest" => {
  const method = request.method.toUpperCase()
  if (method === "GET" || method === "HEAD") return "read"
  const path = new URL(request.url, "http://simulator.invalid").pathname.replace(/\/$/, "")
  return path === "/v1/ingest" ? "ingest" : "write"
}

/**
 * How many events an ingest request carries (0 when the body is not an ingest body).
 *
 * @internal
 */
export const eventCount = (request: Request): number => {
  const parsed = Either.getOrUndefined(request.body.json())
  return isRecord(parsed) && Array.isArray(parsed.events) ? parsed.events.length : 0
}
