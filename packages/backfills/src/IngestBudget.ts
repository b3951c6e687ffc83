/**
 * One ingest budget per Orb account, shared by every ingestion that has it in context: Orb's quota (10,000 events a
 * minute live, and requests per second) is the account's, not a run's. An ingestion with a budget takes each
 * request's share from it before sending, on top of its own pace; one without paces alone at the whole quota, as
 * before. The budget lives where its holders can all reach it: in memory for one process, in a database for several
 * (`@effect-orb/workflow`'s `AccountBudget`, on the durable engine's SQLite file or Postgres database).
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Backfills from "./Backfills.js"

/**
 * What one request takes from the budget: `requests` request slots and `events` events of `quota`, the pace to keep
 * (already a little below Orb's quota, as an ingestion's own pace is). A slowed pace (after a 429) takes more of both
 * per request, so that every holder of the budget slows with it.
 *
 * @since 0.2.0
 * @category models
 */
export interface Reservation {
  readonly quota: Backfills.IngestQuota
  readonly requests: number
  readonly events: number
}

/**
 * The account's budget. `reserve` takes a request's share and answers how long the request must wait before it
 * leaves (zero: at once). It never fails: a budget that cannot be reached answers zero, and the ingestion's own pace
 * (at the whole quota) holds alone until it can.
 *
 * @since 0.2.0
 * @category models
 */
export interface IngestBudget {
  readonly reserve: (reservation: Reservation) => Effect.Effect<Duration.Duration>
}

/**
 * @since 0.2.0
 * @category tags
 */
export const IngestBudget: Context.Tag<IngestBudget, IngestBudget> = Context.GenericTag<IngestBudget>(
  "@effect-orb/backfills/IngestBudget"
)
