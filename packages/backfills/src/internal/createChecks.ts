/**
 * The safety rails of a create request, checked before anything is sent: by the service's `create`, and by a run's
 * plan for each of its windows. A module of its own so that the plan and the service share it without a cycle.
 */
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Predicate from "effect/Predicate"
import * as Backfill from "../Backfill.js"
import type * as Backfills from "../Backfills.js"
import * as OrbError from "../OrbError.js"

const invalid = (field: string, reason: string) => Either.left(new OrbError.InvalidInput({ field, reason }))

/** The safety rails of a create request (`Backfills.validateCreate`). */
export const validateCreate = (
  input: Backfill.CreateBackfill,
  account?: Backfills.AccountOptions | undefined
): Either.Either<void, OrbError.InvalidInput> => {
  if (!Predicate.isBoolean(input.replaceExistingEvents)) {
    return invalid(
      "replaceExistingEvents",
      "must be given explicitly: true replaces every existing event in the timeframe, false adds to them " +
        "(Orb would default to true)"
    )
  }
  for (const field of ["timeframeStart", "timeframeEnd"] as const) {
    if (!DateTime.isDateTime(input[field])) return invalid(field, "must be a DateTime")
  }
  const span = input.timeframeEnd.epochMillis - input.timeframeStart.epochMillis
  if (span <= 0) {
    return invalid(
      "timeframeEnd",
      `must be after timeframeStart (${DateTime.formatIso(input.timeframeStart)}), got ${
        DateTime.formatIso(input.timeframeEnd)
      }`
    )
  }
  const max = maxTimeframeMillisOf(account)
  if (span > max) {
    return invalid(
      "timeframeEnd",
      `the timeframe spans ${spanText(span)}, ${spanText(span - max)} more than the ${
        spanText(max)
      } the account allows per backfill (Backfills.run cuts a longer timeframe into windows)`
    )
  }
  if (input.customerId !== undefined && input.externalCustomerId !== undefined) {
    return invalid("externalCustomerId", "give at most one of customerId and externalCustomerId")
  }
  for (const field of ["customerId", "externalCustomerId", "deprecationFilter"] as const) {
    const value = input[field]
    if (value !== undefined && (!Predicate.isString(value) || value.length === 0)) {
      return invalid(field, "must be a non-empty string when given")
    }
  }
  if (input.closeTime !== undefined && !DateTime.isDateTime(input.closeTime)) {
    return invalid("closeTime", "must be a DateTime")
  }
  return Either.void
}

/** The account's maximum timeframe, in milliseconds. */
export const maxTimeframeMillisOf = (account: Backfills.AccountOptions | undefined) =>
  account?.maxTimeframe === undefined
    ? Backfill.maxTimeframeMillis
    : Duration.toMillis(Duration.decode(account.maxTimeframe))

/** A span in words: `31 days`, `1 second`, `2 days 3 hours`. */
const spanText = (millis: number) => {
  const units: ReadonlyArray<readonly [string, number]> = [
    ["day", 86_400_000],
    ["hour", 3_600_000],
    ["minute", 60_000],
    ["second", 1_000],
    ["millisecond", 1]
  ]
  const parts: Array<string> = []
  let rest = Math.round(millis)
  for (const [name, size] of units) {
    const count = Math.floor(rest / size)
    rest -= count * size
    // The two largest units that are not zero: `31 days 1 second`, `2 days 3 hours`.
    if (count > 0 && parts.length < 2) parts.push(`${count} ${name}${count === 1 ? "" : "s"}`)
  }
  return parts.length === 0 ? "0 seconds" : parts.join(" ")
}
