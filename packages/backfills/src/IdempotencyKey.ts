/**
 * Every idempotency key the library and its durable runs send, and how each is made, in one place. Orb applies a
 * POST once per key (for 48 hours) and replays its first answer to the same key; it refuses the key for any other
 * request.
 *
 * @since 0.2.0
 */
import * as internal from "./internal/idempotencyKey.js"

/**
 * A POST's key when its caller gave none: a new one per request, kept across the request's retries.
 *
 * @since 0.2.0
 * @category keys
 */
export const forRequest: () => string = internal.forRequest

/**
 * A run's key when its spec gave none (`Backfills.run`): the base of its creates' keys.
 *
 * @since 0.2.0
 * @category keys
 */
export const forRun: () => string = internal.forRun

/**
 * The create key of window `index` of a run cut into `count` windows: the run's key, with `-w<index>` when there
 * are several.
 *
 * @since 0.2.0
 * @category keys
 */
export const forWindow: (runKey: string, index: number, count: number) => string = internal.forWindow

/**
 * The key of attempt `attempt` of window `index`'s create, of a run cut into `count` windows: {@link forWindow} for
 * the first, {@link overlapRetry} of it for one sent again after Orb refused it for an overlap (Orb keeps the key's
 * refusal). Both executors' creates take their keys from it.
 *
 * @since 0.2.0
 * @category keys
 */
export const forCreate: (runKey: string, index: number, count: number, attempt: number) => string = internal.forCreate

/**
 * The key of a create sent again after Orb refused it for an overlap (`attempt` 1, 2, ...): `key` with
 * `-o<attempt>`, or a digest of `key` with it when that would be too long (`Backfill.overlapRetryKey`).
 *
 * @since 0.2.0
 * @category keys
 */
export const overlapRetry: (key: string, attempt: number) => string = internal.overlapRetry

/**
 * An ingest request's key, from the backfill and its events' keys: the same batch sent again to the same backfill
 * carries the same key, so Orb replays its answer.
 *
 * @since 0.2.0
 * @category keys
 */
export const forBatch: (
  backfillId: string,
  events: ReadonlyArray<{ readonly idempotency_key?: string | undefined }>
) => string = internal.forBatch

/**
 * A durable run's create key, from its execution id and its submission (at most 64 characters).
 *
 * @since 0.2.0
 * @category keys
 */
export const durableCreate: (executionId: string, submission: string) => string = internal.durableCreate
