/**
 * The local checks of an ingest event, in either of its forms (the decoded `IngestEvent`, or Orb's wire form),
 * and the wire object that is sent for a valid one. One set of rules serves both forms, so that both refuse
 * the same events with the same messages, and both send the same wire events with the same keys.
 */
import * as DateTime from "effect/DateTime"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Backfill from "../Backfill.js"
import * as OrbClient from "../OrbClient.js"
import { keyContent, keyOf, parseCanonicalTimestamp, parseTimestamp } from "./eventKey.js"

/** An event in Orb's wire form. */
export type Wire = typeof Backfill.IngestEvent.Encoded

/** A wire event being built. */
interface MutableWire {
  event_name: string
  timestamp: string
  properties: Wire["properties"]
  idempotency_key?: string
  customer_id?: string
  external_customer_id?: string
}

/**
 * Why an event is refused: the field, named as in `IngestEvent` (camelCase) and relative to the event, and the
 * reason. A class, so that a check can return either a `Wire` or a `Problem` without wrapping the (common)
 * valid case in an `Either` per event.
 */
export class Problem {
  constructor(readonly field: string, readonly reason: string) {}
}

const isFlatValue = (value: unknown) =>
  Predicate.isString(value) || Predicate.isBoolean(value) || (typeof value === "number" && Number.isFinite(value))

const iso = (millis: number) => new Date(millis).toISOString()

/**
 * The checks Orb makes on one event that can be made locally (see `Backfills.validateEvent`), on the event's
 * fields whatever its form. `millis` is `NaN` when the timestamp is not a valid instant.
 */
export const checkRules = (
  eventName: unknown,
  customerId: unknown,
  externalCustomerId: unknown,
  millis: number,
  properties: unknown,
  idempotencyKey: unknown,
  backfill: Backfill.Backfill | undefined
): Problem | undefined => {
  if (!Predicate.isString(eventName) || eventName.length === 0) {
    return new Problem("eventName", "must be a non-empty string")
  }
  const hasCustomer = Predicate.isString(customerId) && customerId.length > 0
  const hasExternal = Predicate.isString(externalCustomerId) && externalCustomerId.length > 0
  if (hasCustomer === hasExternal) {
    return new Problem(
      "customerId",
      hasCustomer
        ? "give only one of customerId and externalCustomerId"
        : "give one of customerId and externalCustomerId"
    )
  }
  if (Number.isNaN(millis)) return new Problem("timestamp", "must be a valid DateTime")
  if (!Predicate.isRecord(properties)) return new Problem("properties", "must be an object")
  for (const key in properties) {
    if (!isFlatValue(properties[key])) {
      return new Problem(`properties.${key}`, "must be a string, a finite number or a boolean (no nesting)")
    }
  }
  if (idempotencyKey !== undefined) {
    const problem = OrbClient.checkIdempotencyKey(idempotencyKey as string)
    if (Either.isLeft(problem)) return new Problem("idempotencyKey", problem.left.reason)
  }
  if (backfill !== undefined) {
    if (millis < backfill.timeframeStart.epochMillis || millis >= backfill.timeframeEnd.epochMillis) {
      return new Problem(
        "timestamp",
        `${iso(millis)} is outside the backfill's timeframe [${iso(backfill.timeframeStart.epochMillis)}, ${
          iso(backfill.timeframeEnd.epochMillis)
        })`
      )
    }
    if (hasCustomer && Option.isSome(backfill.customerId) && backfill.customerId.value !== customerId) {
      return new Problem("customerId", `${customerId} is not the backfill's customer (${backfill.customerId.value})`)
    }
  }
  return undefined
}

/** The rules on a decoded event. */
export const checkEvent = (event: Backfill.IngestEvent, backfill: Backfill.Backfill | undefined): Problem | undefined =>
  checkRules(
    event.eventName,
    event.customerId,
    event.externalCustomerId,
    DateTime.isDateTime(event.timestamp) ? event.timestamp.epochMillis : NaN,
    event.properties,
    event.idempotencyKey,
    backfill
  )

/**
 * A valid decoded event's wire form, as `Schema.encodeSync(Backfill.IngestEvent)` would give it, written out by
 * hand: the Schema encoder costs several times `JSON.stringify` itself. Without a key, the key is left out, to
 * be derived.
 */
export const encodeEvent = (event: Backfill.IngestEvent, idempotencyKey: string | undefined): Wire => {
  const wire: MutableWire = {
    event_name: event.eventName,
    timestamp: iso(event.timestamp.epochMillis),
    properties: event.properties
  }
  if (idempotencyKey !== undefined) wire.idempotency_key = idempotencyKey
  if (event.customerId !== undefined) wire.customer_id = event.customerId
  if (event.externalCustomerId !== undefined) wire.external_customer_id = event.externalCustomerId
  return wire
}

/**
 * A valid wire event as the decoded path would send it: the timestamp written by `toISOString`, no `null`
 * customer key, the keys in the same order. Only for events that are not in that form already.
 */
const normalize = (value: Wire, millis: number, idempotencyKey: string | undefined): Wire => {
  const wire: MutableWire = { event_name: value.event_name, timestamp: iso(millis), properties: value.properties }
  if (idempotencyKey !== undefined) wire.idempotency_key = idempotencyKey
  if (value.customer_id != null) wire.customer_id = value.customer_id
  if (value.external_customer_id != null) wire.external_customer_id = value.external_customer_id
  return wire
}

/** The same event with its derived key. */
export const withKey = (wire: Wire, idempotencyKey: string): Wire =>
  normalize(wire, parseTimestamp(wire.timestamp), idempotencyKey)

/** The event as sent: as it is when it carries a key, else with the key derived from its content. */
export const withSettledKey = (wire: Wire): Wire =>
  wire.idempotency_key !== undefined ? wire : withKey(wire, keyOf(wireKeyContent(wire)))

/** What the derived key of a valid wire event is a digest of. */
export const wireKeyContent = (wire: Wire): string =>
  keyContent(
    wire.event_name,
    wire.customer_id,
    wire.external_customer_id,
    parseTimestamp(wire.timestamp),
    wire.properties
  )

const isPlainObject = (value: unknown): value is object => {
  if (typeof value !== "object" || value === null) return false
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

const decodeBySchema = Schema.decodeUnknownEither(Backfill.IngestEvent, { onExcessProperty: "error" })

const camelFields: Readonly<Record<string, string>> = {
  event_name: "eventName",
  idempotency_key: "idempotencyKey",
  customer_id: "customerId",
  external_customer_id: "externalCustomerId"
}

/** The first issue of a decoding failure, its path named as in `IngestEvent`. */
const problemOf = (error: ParseResult.ParseError): Problem => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  if (issue === undefined) return new Problem("", error.message)
  const path = issue.path.map(String)
  if (path.length > 0) path[0] = camelFields[path[0]] ?? path[0]
  return new Problem(path.join("."), issue._tag === "Unexpected" ? "is not an Orb event field" : issue.message)
}

/**
 * Checks an event in wire form, with the strictness of `Backfill.decodeIngestEvent` (unknown keys refused) and
 * then the rules of {@link checkRules}, and returns the wire event to send: the value itself when it is already
 * in the form the decoded path sends (the common case: no copy), else a normalized copy. An event that is
 * plainly well formed is checked by hand; anything else goes through the Schema, which then names the problem
 * or, when the hand check was only unsure, decodes it.
 */
export const checkWire = (value: unknown, backfill: Backfill.Backfill | undefined): Wire | Problem => {
  checks: {
    // Plain objects only (what `JSON.parse` makes): an object that inherits keys would be read here with them,
    // and sent without them, as `JSON.stringify` writes own keys only.
    if (!isPlainObject(value)) break checks
    const wire = value as Record<string, unknown>
    for (const key in wire) if (!Backfill.wireEventKeys.has(key)) break checks
    const { customer_id, event_name, external_customer_id, idempotency_key, properties, timestamp } = wire
    if (typeof event_name !== "string" || typeof timestamp !== "string") break checks
    if (!isPlainObject(properties)) break checks
    for (const key in properties) {
      const v = (properties as Record<string, unknown>)[key]
      if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") break checks
    }
    if (idempotency_key !== undefined && typeof idempotency_key !== "string") break checks
    if (customer_id != null && typeof customer_id !== "string") break checks
    if (external_customer_id != null && typeof external_customer_id !== "string") break checks
    let millis = parseCanonicalTimestamp(timestamp)
    const canonical = !Number.isNaN(millis)
    if (!canonical) millis = parseTimestamp(timestamp)
    if (Number.isNaN(millis)) break checks
    const problem = checkRules(
      event_name,
      customer_id,
      external_customer_id,
      millis,
      properties,
      idempotency_key,
      backfill
    )
    if (problem !== undefined) return problem
    return canonical && customer_id !== null && external_customer_id !== null
      ? wire as Wire
      : normalize(wire as Wire, millis, idempotency_key as string | undefined)
  }
  const decoded = decodeBySchema(value)
  if (Either.isLeft(decoded)) return problemOf(decoded.left)
  return checkEvent(decoded.right, backfill) ?? encodeEvent(decoded.right, decoded.right.idempotencyKey)
}

/** The idempotency key an event carries, in either form, for reporting it when it is refused. */
export const givenKey = (event: unknown, field: "idempotencyKey" | "idempotency_key"): string | undefined => {
  const key = Predicate.isRecord(event) ? event[field] : undefined
  return typeof key === "string" ? key : undefined
}
