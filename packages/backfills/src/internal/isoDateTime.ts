/**
 * The one reader of ISO 8601 date-times, behind every place a date enters the library, the simulator and the
 * command line: `Backfill.Timestamp` (and so every Schema), the response fast path, both forms of an event's
 * checks, and `Backfill.parseTimestamp`. Strict, so that a date is refused rather than moved: `Date.parse` and
 * `DateTime.make` roll `2026-11-31` over to December 1 and read a date-time without a zone in the machine's time
 * zone (here it is UTC, whatever the machine's), and both accept forms such as `Thu, 01 Oct 2026 00:00:00 GMT`.
 *
 * The accepted form, the date-time of RFC 3339 with optional seconds and an optional zone:
 * `YYYY-MM-DDTHH:mm[:ss[.f]][Z|±hh:mm]`, where `f` is 1 to 9 digits (below the millisecond they are dropped),
 * `T` and `Z` may be lower case (as RFC 3339 allows), `-00:00` is UTC, an offset is at most ±23:59, and the
 * instant lies in the years 0000 to 9999 in UTC (so that it is written back in the same form). Without a zone the
 * time is UTC, as Orb reads it ("an ISO 8601 format date with no timezone offset (i.e. UTC)", its documentation
 * says of an event's timestamp, and its Python SDK sends a naive `datetime` so): never the machine's zone.
 * Refused: a date that is not on the calendar, hour 24, second 60 (a leap second, which no JavaScript date can
 * hold), a space for `T`, `±hhmm` and `±hh` offsets, a comma before the fraction, and anything else. A date alone
 * (`YYYY-MM-DD`, midnight UTC) is accepted only where the caller asks for it (the command line's flags).
 *
 * A leaf module: it imports nothing, so that every module can use it without a cycle. Hand-written, because it
 * runs once per event: no regular expression, no allocation when the text is accepted.
 */

/**
 * Why a text is refused: a predicate to follow the quoted text (`"2026-11-31" is not a calendar date ...`).
 */
export class Refusal {
  constructor(readonly reason: string) {}
}

const digit = (text: string, at: number): number => {
  const code = text.charCodeAt(at) - 48
  // A non-digit (or the end of the text) makes any field it is part of negative.
  return code >= 0 && code <= 9 ? code : -100_000
}
const twoDigits = (text: string, at: number): number => digit(text, at) * 10 + digit(text, at + 1)

const monthNames = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December"
]
const daysInMonth = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
const isLeap = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)

/**
 * Days since 1970-01-01 of a date in the proleptic Gregorian calendar (H. Hinnant's `days_from_civil`), in
 * integer arithmetic: cheaper than `Date.UTC`, and right for years 0 to 99, which `Date.UTC` reads as 1900 to 1999.
 */
const daysFromCivil = (year: number, month: number, day: number): number => {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yearOfEra = y - era * 400
  const dayOfYear = (((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) | 0) + day - 1
  const dayOfEra = yearOfEra * 365 + ((yearOfEra / 4) | 0) - ((yearOfEra / 100) | 0) + dayOfYear
  return era * 146_097 + dayOfEra - 719_468
}

const dayMillis = 86_400_000
/** 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the instants written as `toISOString` writes them. */
const minMillis = daysFromCivil(0, 1, 1) * dayMillis
const maxMillis = daysFromCivil(10_000, 1, 1) * dayMillis - 1

const example = "2026-10-01T12:00:00Z"
const notDateTime = new Refusal(`is not an ISO 8601 date-time (such as ${example})`)
const notDateOrDateTime = new Refusal(
  `is not an ISO 8601 date (2026-10-01, midnight UTC) or date-time (such as ${example})`
)
const space = new Refusal("separates the date and the time with a space, not T")
const hourRange = new Refusal("has an hour out of range (00 to 23)")
const minuteRange = new Refusal("has a minute out of range (00 to 59)")
const secondRange = new Refusal("has a second out of range (00 to 59; leap seconds are not accepted)")
const offsetRange = new Refusal("has an offset out of range (-23:59 to +23:59)")
const yearRange = new Refusal("is outside the years 0000 to 9999 in UTC")

/**
 * Reads a date-time (and, with `date`, a date alone as midnight UTC): its instant in epoch milliseconds, or why
 * it is refused.
 */
export const read = (text: string, date = false): number | Refusal => {
  const shape = date ? notDateOrDateTime : notDateTime
  const n = text.length
  if (n < 10 || text.charCodeAt(4) !== 45 /* - */ || text.charCodeAt(7) !== 45) return shape
  const year = twoDigits(text, 0) * 100 + twoDigits(text, 2)
  const month = twoDigits(text, 5)
  const day = twoDigits(text, 8)
  if (year < 0 || month < 0 || day < 0) return shape
  if (month < 1 || month > 12) {
    return new Refusal(`is not a calendar date (there is no month ${text.slice(5, 7)})`)
  }
  const monthDays = month === 2 && isLeap(year) ? 29 : daysInMonth[month - 1]
  if (day < 1 || day > monthDays) {
    return new Refusal(`is not a calendar date (${monthNames[month - 1]} ${text.slice(0, 4)} has ${monthDays} days)`)
  }
  const days = daysFromCivil(year, month, day)
  if (n === 10) {
    return date
      ? days * dayMillis
      : new Refusal(`is a date without a time (write ${text}T00:00:00Z for midnight UTC)`)
  }
  const t = text.charCodeAt(10)
  if (t !== 84 /* T */ && t !== 116 /* t */) return t === 32 /* space */ && n > 11 ? space : shape
  if (n < 16 || text.charCodeAt(13) !== 58 /* : */) return shape
  const hours = twoDigits(text, 11)
  const minutes = twoDigits(text, 14)
  if (hours < 0 || minutes < 0) return shape
  let i = 16
  let seconds = 0
  let millis = 0
  if (text.charCodeAt(i) === 58) {
    seconds = twoDigits(text, i + 1)
    if (seconds < 0) return shape
    i += 3
    if (text.charCodeAt(i) === 46 /* . */) {
      const start = ++i
      let scale = 100
      while (i < n) {
        const d = digit(text, i)
        if (d < 0) break
        millis += d * scale
        scale /= 10
        i++
      }
      const digits = i - start
      if (digits === 0 || digits > 9) return shape
      millis = Math.floor(millis)
    }
  }
  // No zone: UTC (offset 0).
  let offset = 0
  if (i < n) {
    const zone = text.charCodeAt(i)
    if (zone === 90 /* Z */ || zone === 122 /* z */) {
      if (i + 1 !== n) return shape
    } else if (zone === 43 /* + */ || zone === 45 /* - */) {
      if (i + 6 !== n || text.charCodeAt(i + 3) !== 58) return shape
      const offsetHours = twoDigits(text, i + 1)
      const offsetMinutes = twoDigits(text, i + 4)
      if (offsetHours < 0 || offsetMinutes < 0) return shape
      if (offsetHours > 23 || offsetMinutes > 59) return offsetRange
      offset = (zone === 43 ? 1 : -1) * (offsetHours * 60 + offsetMinutes)
    } else {
      return shape
    }
  }
  // Range errors only once the whole text has the form, so that prose is never told its hour is wrong.
  if (hours > 23) return hourRange
  if (minutes > 59) return minuteRange
  if (seconds > 59) return secondRange
  const result = days * dayMillis + ((hours * 60 + minutes - offset) * 60 + seconds) * 1000 + millis
  return result < minMillis || result > maxMillis ? yearRange : result
}

/** The instant of a date-time, or `NaN` when it is refused: for the hot paths. */
export const parse = (text: string): number => {
  const result = read(text)
  return typeof result === "number" ? result : NaN
}

/**
 * Whether an accepted text is written exactly as `Date.prototype.toISOString` writes it
 * (`YYYY-MM-DDTHH:mm:ss.sssZ`), that is, as it is sent to Orb: in the strict form, these four characters decide it.
 */
export const isCanonical = (text: string): boolean =>
  text.length === 24 && text.charCodeAt(10) === 84 && text.charCodeAt(19) === 46 && text.charCodeAt(23) === 90

/** The text as an error quotes it: in full when short, else its start. */
export const quote = (text: string): string => JSON.stringify(text.length > 64 ? `${text.slice(0, 40)}…` : text)

/** The sentence that says why a text is refused. */
export const explain = (text: string, refusal: Refusal): string => `${quote(text)} ${refusal.reason}`

/** An instant as it is written to Orb (`toISOString`). */
export const format = (millis: number): string => new Date(millis).toISOString()
