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
import { forEvent, keyContent } from "./idempotencyKey.js"
import * as IsoDateTime from "./isoDateTime.js"
import * as WireEvent from "./wireEvent.js"

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

const iso = IsoDateTime.format

const maxBytes = Backfill.maxEventBytes
const count = (n: number) => n.toLocaleString("en-US")

// The JSON text of an event as sent, less its punctuation by field: `{"event_name":…,"timestamp":"<24>",
// "properties":{…}}`, then `,"idempotency_key":`, `,"customer_id":`, `,"external_customer_id":` when present.
const baseBytes = 70
const keyBytes = 19
const customerBytes = 15
const externalBytes = 24
// `JSON.stringify` of a finite number is 1 to 25 characters (`-0.0000012345678901234567`).
const maxNumberBytes = 25

/** The UTF-8 length of a string (JSON text has no lone surrogate: `JSON.stringify` escapes them). */
const utf8Bytes = (text: string): number => {
  let bytes = text.length
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code >= 0x80) bytes += code < 0x800 || (code >= 0xd800 && code <= 0xdfff) ? 1 : 2
  }
  return bytes
}

/** The exact size of an event's JSON as sent: only for the few events whose cheap bounds straddle the limit. */
const exactBytes = (
  eventName: string,
  customerId: unknown,
  externalCustomerId: unknown,
  properties: object,
  idempotencyKey: unknown
): number => {
  const wire: Record<string, unknown> = { event_name: eventName, timestamp: "", properties }
  if (idempotencyKey !== undefined) wire.idempotency_key = idempotencyKey
  if (customerId != null) wire.customer_id = customerId
  if (externalCustomerId != null) wire.external_customer_id = externalCustomerId
  return utf8Bytes(JSON.stringify(wire)) + 24
}

/**
 * The checks Orb makes on one event that can be made locally (see `Backfills.validateEvent`), on the event's
 * fields whatever its form. `millis` is `NaN` when the timestamp is not a valid instant; `now` (epoch
 * milliseconds), when given, bounds how far in the future it may be.
 *
 * The size of the event (see `Backfill.maxEventBytes`) is bounded from below and above by the lengths of its
 * strings, which the loop over the properties reads anyway (a UTF-16 unit is 1 to 6 bytes of JSON); only an event
 * whose bounds straddle the limit is written out to be measured exactly.
 */
export const checkRules = (
  eventName: unknown,
  customerId: unknown,
  externalCustomerId: unknown,
  millis: number,
  properties: unknown,
  idempotencyKey: unknown,
  backfill: Backfill.Backfill | undefined,
  now: number | undefined
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
  // Characters of the strings, and the most and least bytes the other values take.
  let units = eventName.length
  let low = baseBytes + 2
  let high = baseBytes + 2
  let entries = 0
  for (const key in properties) {
    const value = properties[key]
    if (!isFlatValue(value)) {
      return new Problem(`properties.${key}`, "must be a string, a finite number or a boolean (no nesting)")
    }
    units += key.length
    entries++
    if (typeof value === "string") {
      units += value.length
      low += 2
      high += 2
    } else if (typeof value === "number") {
      low += 1
      high += maxNumberBytes
    } else {
      low += value ? 4 : 5
      high += value ? 4 : 5
    }
  }
  if (entries > 0) {
    // Quotes and a colon per key, commas between entries.
    low += entries * 4 - 1
    high += entries * 4 - 1
  }
  if (idempotencyKey !== undefined) {
    // An event's key has no documented length limit (the 64 characters are the `Idempotency-Key` header's).
    if (!Predicate.isString(idempotencyKey) || idempotencyKey.length === 0) {
      return new Problem("idempotencyKey", "must be a non-empty string")
    }
    units += idempotencyKey.length
    low += keyBytes + 2
    high += keyBytes + 2
  }
  if (Predicate.isString(customerId)) {
    units += customerId.length
    low += customerBytes + 2
    high += customerBytes + 2
  }
  if (Predicate.isString(externalCustomerId)) {
    units += externalCustomerId.length
    low += externalBytes + 2
    high += externalBytes + 2
  }
  low += units
  high += units * 6
  if (high > maxBytes) {
    if (low > maxBytes) {
      return new Problem(
        "",
        `the event is at least ${count(low)} bytes of JSON; at most ${count(maxBytes)} are allowed`
      )
    }
    const exact = exactBytes(eventName, customerId, externalCustomerId, properties, idempotencyKey)
    if (exact > maxBytes) {
      return new Problem("", `the event is ${count(exact)} bytes of JSON; at most ${count(maxBytes)} are allowed`)
    }
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
  if (now !== undefined && millis - now > Backfill.maxFutureMillis) {
    return new Problem(
      "timestamp",
      `${iso(millis)} is more than ${Backfill.maxFutureMillis / 60_000} minutes after now (${iso(now)}); Orb refuses it`
    )
  }
  return undefined
}

/** The rules on a decoded event. */
export const checkEvent = (
  event: Backfill.IngestEvent,
  backfill: Backfill.Backfill | undefined,
  now: number | undefined
): Problem | undefined =>
  checkRules(
    event.eventName,
    event.customerId,
    event.externalCustomerId,
    DateTime.isDateTime(event.timestamp) ? event.timestamp.epochMillis : NaN,
    event.properties,
    event.idempotencyKey,
    backfill,
    now
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
  normalize(wire, IsoDateTime.parse(wire.timestamp), idempotencyKey)

/** The event as sent: as it is when it carries a key, else with the key derived from its content. */
export const withSettledKey = (wire: Wire): Wire =>
  wire.idempotency_key !== undefined ? wire : withKey(wire, forEvent(wireKeyContent(wire)))

/** What the derived key of a valid wire event is a digest of. */
export const wireKeyContent = (wire: Wire): string =>
  keyContent(
    wire.event_name,
    wire.customer_id,
    wire.external_customer_id,
    IsoDateTime.parse(wire.timestamp),
    wire.properties
  )

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
 * in the form the decoded path sends (the common case: no copy), else a normalized copy. An event that the one wire
 * reader (`wireEvent.ts`, also behind `Backfill.decodeIngestEvent`) finds plainly well formed is checked as it is;
 * anything else goes through the Schema, which then names the problem or, when the reader was only unsure, decodes
 * it.
 */
export const checkWire = (
  value: unknown,
  backfill: Backfill.Backfill | undefined,
  now: number | undefined
): Wire | Problem => {
  const millis = WireEvent.read(value)
  if (!Number.isNaN(millis)) {
    const wire = value as Wire
    const problem = checkRules(
      wire.event_name,
      wire.customer_id,
      wire.external_customer_id,
      millis,
      wire.properties,
      wire.idempotency_key,
      backfill,
      now
    )
    if (problem !== undefined) return problem
    return IsoDateTime.isCanonical(wire.timestamp) && wire.customer_id !== null && wire.external_customer_id !== null
      ? wire
      : normalize(wire, millis, wire.idempotency_key)
  }
  const decoded = decodeBySchema(value)
  if (Either.isLeft(decoded)) return problemOf(decoded.left)
  return checkEvent(decoded.right, backfill, now) ?? encodeEvent(decoded.right, decoded.right.idempotencyKey)
}

/** The idempotency key an event carries, in either form, for reporting it when it is refused. */
export const givenKey = (event: unknown, field: "idempotencyKey" | "idempotency_key"): string | undefined => {
  const key = Predicate.isRecord(event) ? event[field] : undefined
  return typeof key === "string" ? key : undefined
}
