/**
 * The flags' values the parser reads as text: times, durations, bounded integers and `--csv-type`, each refused in
 * one sentence naming its flag.
 */
import { Backfill } from "@effect-orb/backfills"
import type * as EventFile from "@effect-orb/workflow/EventFile"
import type * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as CliError from "../cliError.js"

/** Bad usage: the sentence says what, and names the flag. */
export const usage = (reason: string) => new CliError.UsageError({ reason })

/** A `--start`/`--end`/`--close-time` value: an ISO 8601 date-time (without a zone: UTC), or a date (midnight UTC). */
export const parseTime = (flag: string, text: string): Either.Either<DateTime.Utc, CliError.UsageError> =>
  // The library's one strict parser: `2026-11-31` is refused, not read as December 1.
  Either.mapLeft(Backfill.parseTimestamp(text.trim(), { date: true }), (reason) => usage(`--${flag}: ${reason}`))

/**
 * A duration flag: a number with a unit (`ms`, `s`, `m`, `h`), e.g. `500ms` or `2s`, as the simulator's own
 * command line reads it.
 */
export const parseDuration = (flag: string, text: string): Either.Either<Duration.Duration, CliError.UsageError> => {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim())
  if (match === null) {
    return Either.left(usage(`--${flag}: expected a duration such as 500ms, 2s, 1m or 1h, got "${text}"`))
  }
  const value = Number(match[1])
  const unit = match[2]
  return Either.right(
    unit === "ms"
      ? Duration.millis(value)
      : unit === "s"
      ? Duration.seconds(value)
      : unit === "m"
      ? Duration.minutes(value)
      : Duration.hours(value)
  )
}

/** An optional integer flag from 1 to `max`: `undefined` when not given. */
export const positive = (flag: string, value: Option.Option<number>, max = Number.MAX_SAFE_INTEGER) =>
  Option.match(value, {
    onNone: () => Either.right(undefined),
    onSome: (n) =>
      Number.isInteger(n) && n >= 1 && n <= max
        ? Either.right(n)
        : Either.left(usage(`--${flag}: expected an integer from 1 to ${max.toLocaleString("en-US")}, got ${n}`))
  })

const csvTypeNames: ReadonlyArray<string> = ["string", "number", "boolean"]

/** The `--csv-type` values (`zip=string`, or several separated by commas) as column types, `undefined` if none. */
export const csvTypesOf = (
  values: ReadonlyArray<string>
): Either.Either<EventFile.CsvTypes | undefined, CliError.UsageError> => {
  const types: Record<string, EventFile.CsvType> = {}
  for (const value of values.flatMap((value) => value.split(","))) {
    const at = value.lastIndexOf("=")
    const column = value.slice(0, at).trim()
    const type = value.slice(at + 1).trim()
    if (at <= 0 || column.length === 0 || !csvTypeNames.includes(type)) {
      return Either.left(usage(`--csv-type: expected COLUMN=string|number|boolean, got ${JSON.stringify(value)}`))
    }
    if (types[column] !== undefined && types[column] !== type) {
      return Either.left(usage(`--csv-type: column "${column}" is given two types, ${types[column]} and ${type}`))
    }
    types[column] = type as EventFile.CsvType
  }
  return Either.right(Object.keys(types).length > 0 ? types : undefined)
}
