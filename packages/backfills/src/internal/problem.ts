/**
 * How an error response becomes one of `OrbError`'s classes: which class (by the problem document's `type` when
 * its status is the one Orb declares for that type, else by the status alone, else none), and the bounded fields it
 * is built with. `OrbError` declares the classes and their table (`wire`); this module only reads that table, so a
 * rule about a type or a status is written once, in the class that it is about.
 */
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as OrbError from "../OrbError.js"
import { excerptOf, truncate } from "./excerpt.js"

/**
 * Statuses that may pass by themselves, as Orb's official SDK retries them (and that do not say a request was
 * refused: a run takes a create answered so as one whose outcome is unknown). The documented errors retried are
 * those Orb declares with one of these statuses.
 */
export const retryableStatus = (status: number): boolean =>
  status === 408 || status === 409 || status === 429 || status >= 500

/**
 * A row of `OrbError`'s table: a documented error's tag, its type URI's fragment, the status Orb declares for it,
 * and whether the status alone selects it when the body names no type (5xx counting as 500).
 */
export interface Documented {
  readonly _tag: string
  readonly wire: { readonly fragment: string; readonly status: number; readonly byStatus?: boolean }
}

/**
 * The class for a response: by its problem document's `type` when the response's status is the one Orb declares
 * for that type (as the official SDK does), otherwise by the status alone (when the body is not one of Orb's
 * documents: a proxy's page, an empty body), otherwise `undefined` (the caller's unknown error).
 */
export const classifier = <const E extends Documented>(
  documented: ReadonlyArray<E>,
  typePrefix: string
): (status: number, type: string | undefined) => E | undefined => {
  const byUri = new Map(documented.map((error) => [typePrefix + error.wire.fragment, error] as const))
  const byStatus = new Map(
    documented.filter((error) => error.wire.byStatus === true).map((error) => [error.wire.status, error] as const)
  )
  return (status, type) => {
    const byType = type === undefined ? undefined : byUri.get(type)
    if (byType !== undefined && byType.wire.status === status) return byType
    return byStatus.get(status >= 500 ? 500 : status)
  }
}

// An error is printed, logged and kept: it holds a bounded part of what Orb (or anything in front of it) sent.
// The bounds leave Orb's real answers whole: a type URI, a sentence of title or detail, and for an ingest
// request of at most 500 events one entry per refused event, each a key and a few short messages.
const maxTextLength = 1_000
const maxEntries = 1_000
const maxEntryMessages = 20
const maxKeyLength = 1_000
const maxMessageLength = 500
const maxExcerptLength = 200
// All entries together: far above 500 refused events with their messages, far below a body of megabytes.
const maxEntriesLength = 256_000

/** What `OrbError.fromResponse` is given. */
type Response = Parameters<typeof OrbError.fromResponse>[0]

/** The fields of the error for a response, each bounded. */
export const fieldsOf = (response: Response) => {
  const { excerpt, idempotencyKey, method, path, problem, retryable, retryAfterMillis, status } = response
  const detail = problem ? problem.detail : excerpt
  return {
    status,
    type: truncate(problem?.type ?? "", maxTextLength),
    method,
    path,
    ...(retryAfterMillis !== undefined ? { retryAfterMillis } : {}),
    ...(retryable !== undefined ? { retryable } : {}),
    ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
    ...(problem?.title ? { title: truncate(problem.title, maxTextLength) } : {}),
    ...(detail ? { detail: truncate(detail, maxTextLength) } : {})
  }
}

/**
 * Orb's `validation_errors`, bounded: entries of the documented `{ idempotency_key, validation_errors }` shape
 * are kept (with those two keys only, and their messages cut to length); anything else becomes a short excerpt
 * of itself (a string, its start), as does an entry whose key is too long to be one sent. Past `maxEntries`, or
 * `maxEntriesLength` characters in all, the rest is left out: an ingestion sends the events of entries left
 * out again, and Orb names them again.
 */
export const boundedValidationErrors = (entries: ReadonlyArray<unknown>): Array<unknown> => {
  const kept: Array<unknown> = []
  let length = 0
  for (const entry of entries) {
    if (kept.length >= maxEntries || length >= maxEntriesLength) break
    const bounded = boundedEntry(entry)
    kept.push(bounded)
    length += typeof bounded === "string"
      ? bounded.length
      : bounded.idempotency_key.length + bounded.validation_errors.reduce((n, m) => n + m.length, 0)
  }
  return kept
}

const boundedEntry = (
  entry: unknown
): { readonly idempotency_key: string; readonly validation_errors: ReadonlyArray<string> } | string => {
  if (typeof entry === "object" && entry !== null && !Array.isArray(entry)) {
    const { idempotency_key, validation_errors } = entry as Record<string, unknown>
    if (
      typeof idempotency_key === "string" && idempotency_key.length <= maxKeyLength &&
      Array.isArray(validation_errors) && validation_errors.every(Predicate.isString)
    ) {
      return {
        idempotency_key,
        validation_errors: validation_errors.slice(0, maxEntryMessages).map((m) => truncate(m, maxMessageLength))
      }
    }
  }
  return typeof entry === "string" ? truncate(entry, maxExcerptLength) : excerptOf(entry, maxExcerptLength)
}

/** The per-event failures of an ingest request's `validationErrors` (entries of other shapes are left out). */
export const eventFailures = (
  validationErrors: ReadonlyArray<unknown>
): ReadonlyArray<{ readonly idempotencyKey: string; readonly validationErrors: ReadonlyArray<string> }> =>
  validationErrors.flatMap((entry) =>
    Option.match(decodeEventFailure(entry), {
      onNone: () => [],
      onSome: (failure) => [failure]
    })
  )

const decodeEventFailure = Schema.decodeUnknownOption(
  Schema.Struct({
    idempotencyKey: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("idempotency_key")),
    validationErrors: Schema.propertySignature(Schema.Array(Schema.String)).pipe(Schema.fromKey("validation_errors"))
  })
)
