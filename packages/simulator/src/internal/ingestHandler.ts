/**
 * Orb's `POST /ingest` over the in-memory {@link State.State}, into a backfill (`?backfill_id=`) or not: the checks of
 * each event (a hand-written fast path and the Schema's, held to the same answers by a test), the rules of the
 * request as a whole (its size, a key twice, a deprecated key), and the recording, all or nothing. Timestamps are
 * read as `backfillsHandler.ts` says.
 */
import { Backfill } from "@effect-orb/backfills"
import * as DateTime from "effect/DateTime"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as BackfillsHandler from "./backfillsHandler.js"
import * as Customers from "./customers.js"
import * as DeprecatedKeys from "./deprecatedKeys.js"
import type * as DeprecationFilter from "./deprecationFilter.js"
import type * as State from "./state.js"
import * as Wire from "./wire.js"

const encodeIngestResult = Schema.encodeSync(Backfill.IngestResult)
const encodeFailure = Schema.encodeSync(Backfill.EventValidationFailure)

const iso = (millis: number) => DateTime.unsafeMake(millis)

const decodeEvent = Schema.decodeUnknownEither(Backfill.IngestEvent, { onExcessProperty: "error", errors: "all" })

/** An event as decoded, before the checks that depend on the backfill and the time. */
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
  if (!Wire.isRecord(properties)) return undefined
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
  JSON.stringify(
    value,
    (_, v) => Wire.isRecord(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v
  )

const canonicalOf = (checked: CheckedEvent): string => checked.canonical ??= canonicalJson(checked.raw)

/** Checks one event of an ingest request. `fast: false` takes the Schema path for every event (for tests). */
export const checkEvent = (
  state: State.State,
  raw: unknown,
  index: number,
  backfill: State.BackfillRecord | undefined,
  now: number,
  fast = true
): Either.Either<CheckedEvent, Backfill.EventValidationFailure> => {
  const keyOf = Wire.isRecord(raw) && typeof raw.idempotency_key === "string" ? raw.idempotency_key : ""
  const fail = (errors: ReadonlyArray<string>) =>
    Either.left(new Backfill.EventValidationFailure({ idempotencyKey: keyOf, validationErrors: errors }))
  if (!Wire.isRecord(raw)) return fail([`events[${index}]: expected an object`])
  const errors: Array<string> = []
  let event = fast ? decodeEventFast(raw) : undefined
  if (event === undefined) {
    const decoded = decodeEvent(raw)
    if (Either.isLeft(decoded)) { for (const issue of Wire.formatIssues(decoded.left)) errors.push(issue) }
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
  const namesOneCustomer = (event.customerId !== undefined) !== (event.externalCustomerId !== undefined)
  const customerId = Customers.ofEvent(state, event.customerId, event.externalCustomerId, errors)
  const timestamp = event.timestamp
  if (backfill !== undefined) {
    if (timestamp < backfill.timeframeStart || timestamp >= backfill.timeframeEnd) {
      errors.push(
        `timestamp: ${DateTime.formatIso(iso(timestamp))} is outside the backfill's timeframe ` +
          `[${DateTime.formatIso(iso(backfill.timeframeStart))}, ${DateTime.formatIso(iso(backfill.timeframeEnd))})`
      )
    }
    if (backfill.customerId !== null && namesOneCustomer && customerId !== backfill.customerId) {
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

/** `POST /ingest`: every event recorded, or, when any fails its checks, none. */
export const ingest = (state: State.State, params: URLSearchParams, body: Wire.Body, now: number): Wire.Response => {
  const backfillId = params.get("backfill_id")
  let backfill: State.BackfillRecord | undefined
  if (backfillId !== null && backfillId !== "") {
    backfill = state.backfills.get(backfillId)
    if (backfill === undefined) return BackfillsHandler.notFound(backfillId)
    const view = state.view(backfill, now)
    if (!view.open) {
      return Wire.problem(
        "ConstraintViolation",
        "Backfill is closed",
        `Backfill ${backfill.id} is ${view.status}${
          view.status === "pending" ? " and closed" : ""
        }; events can only be ingested into an open backfill`
      )
    }
  }
  const parsed = body.json()
  if (Either.isLeft(parsed)) return Wire.validationError(parsed.left, [parsed.left])
  const raw = parsed.right
  if (!Wire.isRecord(raw) || !Array.isArray(raw.events)) {
    return Wire.validationError("Invalid ingest request", ["events: is required and must be an array"])
  }
  const extra = Object.keys(raw).filter((key) => key !== "events")
  if (extra.length > 0) {
    return Wire.validationError("Invalid ingest request", extra.map((key) => `${key}: is unexpected`))
  }
  if (raw.events.length > state.config.maxEventsPerRequest) {
    return Wire.problem(
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
    return Wire.validationError(
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
  return Wire.json(200, encodeIngestResult(new Backfill.IngestResult({ validationFailed: [] })))
}

/** How many events an ingest request carries (0 when the body is not an ingest body), for the events quota. */
export const eventCount = (request: Wire.Request): number => {
  const parsed = Either.getOrUndefined(request.body.json())
  return Wire.isRecord(parsed) && Array.isArray(parsed.events) ? parsed.events.length : 0
}
