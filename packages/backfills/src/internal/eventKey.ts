/**
 * What an event's derived idempotency key is made of, shared by `Backfill` (the decoded form) and the wire-form
 * checks, so that both forms derive the same key (both read the instant through `isoDateTime.ts`). A leaf module:
 * it imports nothing of the library, so `Backfill` can use it without an import cycle.
 */
import * as Effect from "effect/Effect"
import * as Encoding from "effect/Encoding"
import { sha256 } from "./sha256.js"

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
