/**
 * Decoding of response bodies, with a fast path for the objects every operation returns.
 *
 * The Schemas in `Backfill` are the contract; decoding a backfill through them costs about ten times the
 * `JSON.parse` of it, which decides the CPU cost of `fetch` and of listing thousands of backfills. So a
 * well-formed backfill is decoded by hand here, and anything the hand-written check is not sure of (a missing
 * key, a wrong type, a date it cannot read) goes through the Schema, which then gives the precise error. A test
 * checks that both paths agree.
 */
import * as DateTime from "effect/DateTime"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Backfill from "../Backfill.js"
import { excerptOf, truncate } from "./excerpt.js"
import * as IsoDateTime from "./isoDateTime.js"

/** A decoder of a parsed JSON body: the value, or what is wrong with it. */
export type Decoder<A> = (json: unknown) => Either.Either<A, string>

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * A date-time through the one strict parser behind `Backfill.Timestamp`, so that both paths accept the same strings
 * and read the same instants under any `TZ`; `undefined` sends the object to the Schema, which names the problem.
 */
const dateTime = (u: unknown): DateTime.Utc | undefined => {
  if (typeof u !== "string") return undefined
  const millis = IsoDateTime.parse(u)
  return Number.isNaN(millis) ? undefined : DateTime.unsafeMake(millis)
}

const statuses: ReadonlySet<unknown> = new Set(Backfill.BackfillStatus.literals)

/**
 * A backfill decoded by hand, or `undefined` when the Schema must decide.
 */
export const fastBackfill = (u: unknown): Backfill.Backfill | undefined => {
  if (!isRecord(u)) return undefined
  const { id, status } = u
  const eventsIngested = u.events_ingested
  const replaceExistingEvents = u.replace_existing_events
  const customerId = u.customer_id
  const deprecationFilter = u.deprecation_filter
  if (
    typeof id !== "string" || id.length === 0 || !statuses.has(status) ||
    typeof eventsIngested !== "number" || !Number.isSafeInteger(eventsIngested) || eventsIngested < 0 ||
    typeof replaceExistingEvents !== "boolean" ||
    (customerId !== null && typeof customerId !== "string") ||
    (deprecationFilter !== undefined && deprecationFilter !== null && typeof deprecationFilter !== "string")
  ) return undefined
  const createdAt = dateTime(u.created_at)
  const timeframeStart = dateTime(u.timeframe_start)
  const timeframeEnd = dateTime(u.timeframe_end)
  const closeTime = u.close_time === null ? null : dateTime(u.close_time)
  const revertedAt = u.reverted_at === null ? null : dateTime(u.reverted_at)
  if (
    createdAt === undefined || timeframeStart === undefined || timeframeEnd === undefined ||
    closeTime === undefined || revertedAt === undefined
  ) return undefined
  return new Backfill.Backfill({
    id: id as Backfill.BackfillId,
    status: status as Backfill.BackfillStatus,
    createdAt,
    timeframeStart,
    timeframeEnd,
    eventsIngested,
    closeTime: Option.fromNullable(closeTime),
    revertedAt: Option.fromNullable(revertedAt),
    customerId: Option.fromNullable(customerId),
    replaceExistingEvents,
    deprecationFilter: Option.fromNullable(deprecationFilter)
  }, true)
}

/**
 * A page of backfills decoded by hand, or `undefined` when the Schema must decide.
 */
export const fastBackfillPage = (u: unknown): Backfill.BackfillPage | undefined => {
  if (!isRecord(u) || !Array.isArray(u.data) || !isRecord(u.pagination_metadata)) return undefined
  const { has_more, next_cursor } = u.pagination_metadata
  if (typeof has_more !== "boolean" || (next_cursor !== null && typeof next_cursor !== "string")) return undefined
  const data: Array<Backfill.Backfill> = []
  for (const item of u.data) {
    const backfill = fastBackfill(item)
    if (backfill === undefined) return undefined
    data.push(backfill)
  }
  return new Backfill.BackfillPage({ data, paginationMetadata: { hasMore: has_more, nextCursor: next_cursor } }, true)
}

const fastPaths = new Map<Schema.Schema.Any, (u: unknown) => unknown>([
  [Backfill.Backfill, fastBackfill],
  [Backfill.BackfillPage, fastBackfillPage]
])

const cache = new WeakMap<Schema.Schema.Any, Decoder<unknown>>()

// The reason ends up in a `DecodeError`, which is printed and logged: a schema's message quotes the value it
// refused, which can be the size of the body.
const maxReasonLength = 1_000

/**
 * What is wrong with a body, in at most `maxReasonLength` characters. The Schema's own message quotes the
 * refused value with a recursive printer, which overflows the stack on a value nested a few thousand deep; then
 * the message says where and what was expected, without the value.
 */
const describe = (error: ParseResult.ParseError): string => {
  let message: string
  try {
    message = ParseResult.TreeFormatter.formatErrorSync(error)
  } catch {
    message = describeWithoutValue(error.issue)
  }
  return truncate(message, maxReasonLength)
}

/** The first problem of an issue tree, by path, without quoting the value (the tree is as deep as the Schema). */
const describeWithoutValue = (root: ParseResult.ParseIssue): string => {
  const path: Array<PropertyKey> = []
  let issue = root
  for (;;) {
    switch (issue._tag) {
      case "Pointer":
        for (const key of Array.isArray(issue.path) ? issue.path : [issue.path]) path.push(key)
        issue = issue.issue
        continue
      case "Composite":
        issue = Array.isArray(issue.issues) ? issue.issues[0] : issue.issues
        continue
      case "Refinement":
      case "Transformation":
        issue = issue.issue
        continue
    }
    break
  }
  const at = path.length === 0 ? "" : `at ${path.map((key) => `[${excerptOf(key, 100)}]`).join("")}: `
  const what = issue._tag === "Type"
    ? `expected ${truncate(String(issue.ast), 200)}, got a value too deeply nested to quote`
    : issue._tag === "Missing"
    ? "is missing"
    : issue.message ?? (issue._tag === "Forbidden" ? "is forbidden" : "is unexpected")
  return at + what
}

/**
 * The decoder for a success Schema, built once per Schema: the fast path where there is one, the Schema
 * otherwise and whenever the fast path declines.
 */
export const decoderFor = <A, I>(schema: Schema.Schema<A, I>): Decoder<A> => {
  const cached = cache.get(schema)
  if (cached !== undefined) return cached as Decoder<A>
  const bySchema = Schema.decodeUnknownEither(schema)
  const slow: Decoder<A> = (json) => {
    try {
      return Either.mapLeft(bySchema(json), describe)
    } catch {
      // Whatever the body, the answer is a typed failure, never a defect.
      return Either.left("could not be checked against its schema")
    }
  }
  const fast = fastPaths.get(schema) as ((u: unknown) => A | undefined) | undefined
  const decoder: Decoder<A> = fast === undefined ? slow : (json) => {
    const value = fast(json)
    return value === undefined ? slow(json) : Either.right(value)
  }
  cache.set(schema, decoder as Decoder<unknown>)
  return decoder
}
