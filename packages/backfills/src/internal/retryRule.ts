/**
 * When a failed request is worth another attempt: the one rule behind `OrbClient`'s retries and `ingestStream`'s
 * own (which keeps its pace through 429s), so the two cannot drift apart. `OrbClient` applies it to each response
 * and carries the verdict on the error as `retryable` (read through `OrbError.isTransient`).
 */
import * as OrbError from "../OrbError.js"
import { retryableStatus } from "./problem.js"

export {
  /**
   * Statuses that may pass by themselves (declared with the error classes' table, in `problem.ts`).
   */
  retryableStatus
} from "./problem.js"

/**
 * Whether a response with this status and `x-should-retry` header is worth another attempt: the header decides
 * when it says `true` or `false`, else the status.
 *
 * @internal
 */
export const retryableResponse = (status: number, shouldRetry: string | undefined): boolean =>
  shouldRetry === "true" || (shouldRetry !== "false" && retryableStatus(status))

/**
 * 409s in a row for one idempotency key after which the conflict is final. Orb answers 409 to a concurrent
 * duplicate (which passes once the first request ends: a retry after a timeout, say) and to a key reused for
 * another request (which never passes within the key's 48 hours). A few attempts, with the backoff between
 * them, tell one from the other without minutes of silent retries.
 *
 * @internal
 */
export const maxConflictsInARow = 4

/**
 * The error of an attempt, given how many attempts in a row with the same key were answered 409 (this one
 * included): at the limit, a 409 becomes a final `ResourceConflict` that names the key and says why.
 *
 * @internal
 */
export const settleConflict = (error: OrbError.OrbError, conflictsInARow: number): OrbError.OrbError =>
  error._tag === "ResourceConflict" && conflictsInARow >= maxConflictsInARow && error.retryable !== false
    ? new OrbError.ResourceConflict({
      status: error.status,
      type: error.type,
      title: error.title,
      detail: error.detail,
      method: error.method,
      path: error.path,
      idempotencyKey: error.idempotencyKey,
      retryable: false,
      conflictsInARow
    })
    : error
