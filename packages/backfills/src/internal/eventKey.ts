/**
 * What an event's timestamp and derived idempotency key are made of, shared by `Backfill` (the decoded form) and
 * the wire-form checks, so that both forms read the same instant and derive the same key. A leaf module: it
 * imports nothing of the library, so `Backfill` can use it without an import cycle.
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Encoding from "effect/Encoding"
import * as Option from "effect/Option"
import { sha256 } from "./sha256.js"

const digit = (text: string, at: number): number => {
  const code = text.charCodeAt(at) - 48
  return code >= 0 && code <= 9 ? code : -100_000
}
const twoDigits = (text: string, at: number): number => digit(text, at) * 10 + digit(text, at + 1)
const daysInMonth = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/**
 * The instant of a timestamp written exactly as `Date.prototype.toISOString` writes it
 * (`YYYY-MM-DDTHH:mm:ss.sssZ`, years 0100 to 9999), else `NaN`. Read by hand, because this runs once per
 * event: about a fifth of `Date.parse` followed by `toISOString`, which is what it takes otherwise to know that
 * a string is already in the form sent to Orb. Out-of-range fields (February 30, 24:00) are refused here
 * although `Date.parse` rolls them over: such a string is not what `toISOString` would write.
 *
 * @internal
 */
export const parseCanonicalTimestamp = (text: string): number => {
  if (
    text.length !== 24 || text.charCodeAt(23) !== 90 /* Z */ || text.charCodeAt(4) !== 45 /* - */ ||
    text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84 /* T */ || text.charCodeAt(13) !== 58 /* : */ ||
    text.charCodeAt(16) !== 58 || text.charCodeAt(19) !== 46 /* . */
  ) return NaN
  const year = twoDigits(text, 0) * 100 + twoDigits(text, 2)
  const month = twoDigits(text, 5)
  const day = twoDigits(text, 8)
  const hours = twoDigits(text, 11)
  const minutes = twoDigits(text, 14)
  const seconds = twoDigits(text, 17)
  const millis = twoDigits(text, 20) * 10 + digit(text, 22)
  // A non-digit makes its field negative. Years 0 to 99 are left to the slow path, as `Date.UTC` reads them.
  if (year < 100 || month < 1 || month > 12 || day < 1 || hours < 0 || hours > 23) return NaN
  if (minutes < 0 || minutes > 59 || seconds < 0 || seconds > 59 || millis < 0) return NaN
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  if (day > (leap ? 29 : daysInMonth[month - 1])) return NaN
  // Days since 1970-01-01 of a date in the proleptic Gregorian calendar (H. Hinnant's `days_from_civil`), in
  // integer arithmetic: cheaper than `Date.UTC`, and the same for every year from 0100 to 9999.
  const y = month <= 2 ? year - 1 : year
  const era = (y / 400) | 0
  const yearOfEra = y - era * 400
  const dayOfYear = (((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) | 0) + day - 1
  const dayOfEra = yearOfEra * 365 + ((yearOfEra / 4) | 0) - ((yearOfEra / 100) | 0) + dayOfYear
  const days = era * 146_097 + dayOfEra - 719_468
  return ((days * 24 + hours) * 60 + minutes) * 60_000 + seconds * 1000 + millis
}

/**
 * The instant of a wire timestamp as `Schema.DateTimeUtc` decodes it (through `DateTime.make`: a date-time
 * without a zone is read as UTC), or `NaN` when it decodes none.
 *
 * @internal
 */
export const parseTimestamp = (text: string): number => {
  const millis = parseCanonicalTimestamp(text)
  if (!Number.isNaN(millis)) return millis
  return Option.match(DateTime.make(text), { onNone: () => NaN, onSome: DateTime.toEpochMillis })
}

/**
 * What a derived idempotency key is a digest of: name, customer keys, timestamp to the millisecond, and
 * properties in key order. Changing it changes every derived key, so that a re-run of the same input would no
 * longer be recognised: never change it without a new version prefix.
 *
 * @internal
 */
export const keyContent = (
  eventName: string,
  customerId: string | null | undefined,
  externalCustomerId: string | null | undefined,
  epochMillis: number,
  properties: { readonly [key: string]: unknown }
): string =>
  JSON.stringify([
    eventName,
    customerId ?? null,
    externalCustomerId ?? null,
    epochMillis,
    Object.keys(properties).sort().map((key) => [key, properties[key]])
  ])

const textEncoder = new TextEncoder()

/**
 * The derived idempotency key of the given content (see {@link keyContent}).
 *
 * @internal
 */
export const keyOf = (content: string): string => `eo1-${Encoding.encodeBase64Url(sha256(textEncoder.encode(content)))}`

/**
 * {@link keyOf} as an Effect, for the public `Backfill.deriveIdempotencyKey`.
 *
 * @internal
 */
export const deriveKey = (content: string): Effect.Effect<string> => Effect.sync(() => keyOf(content))
