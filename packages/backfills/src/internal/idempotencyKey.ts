/**
 * Every idempotency key the library and its durable runs send, and how each is made, in one place (see
 * docs/errors-and-retries.md, "Idempotency keys"): a request's ({@link forRequest}), an ingest batch's
 * ({@link forBatch}), an event's ({@link forEvent}, from {@link keyContent}), a run's creates ({@link forRun},
 * {@link forWindow}), a create sent again after an overlap ({@link overlapRetry}) and a durable run's create
 * ({@link durableCreate}). A leaf module: it imports nothing of the library, so `Backfill` can use it without an
 * import cycle; `Backfill`, `OrbClient`, the ingestion and the public `IdempotencyKey` module read it.
 */
import * as Effect from "effect/Effect"
import * as Encoding from "effect/Encoding"
import { sha256 } from "./sha256.js"

/**
 * What a derived idempotency key is a digest of: name, customer keys, timestamp to the millisecond, and
 * properties in key order. Changing it changes every derived key, so that a re-run of the same input would no
 * longer be recognised: never change it without a new version prefix.
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
 */
export const forEvent = (content: string): string =>
  `eo1-${Encoding.encodeBase64Url(sha256(textEncoder.encode(content)))}`

/**
 * {@link forEvent} as an Effect, for the public `Backfill.deriveIdempotencyKey`.
 */
export const deriveKey = (content: string): Effect.Effect<string> => Effect.sync(() => forEvent(content))

/** The longest `Idempotency-Key` header Orb accepts (`Backfill.maxIdempotencyKeyLength`). */
export const maxLength = 64

/** A POST's key when its caller gave none: a new one per request, kept across the request's retries. */
export const forRequest = (): string => `effect-orb-${globalThis.crypto.randomUUID()}`

/** A run's key when its spec gave none: the base of its creates' keys. */
export const forRun = (): string => `effect-orb-run-${globalThis.crypto.randomUUID()}`

/** What a window's create key adds to the run's key: nothing for a run of one window, else `-w<index>`. */
export const windowSuffix = (index: number, count: number): string => count === 1 ? "" : `-w${index}`

/** The create key of window `index` of `count`. */
export const forWindow = (runKey: string, index: number, count: number): string => runKey + windowSuffix(index, count)

/**
 * The key of attempt `attempt` of window `index`'s create, of a run cut into `count` windows: the window's key, and
 * for a create sent again after an overlap refusal its own ({@link overlapRetry}): Orb keeps the key's refusal.
 */
export const forCreate = (runKey: string, index: number, count: number, attempt: number): string =>
  attempt === 0 ? forWindow(runKey, index, count) : overlapRetry(forWindow(runKey, index, count), attempt)

/**
 * The key of a create sent again after Orb refused it for an overlap (`attempt` 1, 2, ...): Orb keeps a key's first
 * answer, the refusal, so a create sent once the overlap is gone needs a key of its own. It is `key` with
 * `-o<attempt>`, or, when that would be longer than Orb allows, a digest of `key` with it (never a cut `key`, which
 * another run's key could share).
 */
export const overlapRetry = (key: string, attempt: number): string => {
  const suffix = `-o${attempt}`
  if (key.length + suffix.length <= maxLength) return key + suffix
  const digest = Array.from(sha256(textEncoder.encode(key)), (byte) => byte.toString(16).padStart(2, "0"))
  return `eo-${digest.join("").slice(0, 48)}${suffix}`
}

/**
 * A request's `Idempotency-Key`, derived from the backfill and the keys of its events: the same batch sent again to
 * the same backfill (a retry, a resumed run) carries the same key, so Orb replays its answer; the same events sent
 * to another backfill (a re-run of the same file) make another request, with another key (Orb refuses a key reused
 * for another request, another `backfill_id` included, for 48 hours); a batch with events set aside gets a new one.
 */
export const forBatch = (
  backfillId: string,
  events: ReadonlyArray<{ readonly idempotency_key?: string | undefined }>
): string => {
  let content = backfillId
  for (let i = 0; i < events.length; i++) content += "\n" + events[i].idempotency_key!
  return `eob-${Encoding.encodeBase64Url(sha256(textEncoder.encode(content)))}`
}

/**
 * A durable run's create key: the execution's, and the submission's, so that the same run key submitted again to
 * another engine database (another machine, a state file deleted) is a new request rather than Orb's replay of an
 * earlier run's backfill; an attach uses the stored payload, so its key stays the same. At most 64 characters.
 */
export const durableCreate = (executionId: string, submission: string): string =>
  `eorun-${executionId.slice(0, 32)}-${submission}`.slice(0, 64)
