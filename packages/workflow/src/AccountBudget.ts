/**
 * One ingest budget per Orb account, in the durable engine's database: every run that ingests into the account,
 * in this process or in any other on the same SQLite file or Postgres database, takes its requests' share of Orb's
 * quota from it, so that together they stay within the quota instead of each pacing at the whole of it. The budget
 * is `@effect/experimental`'s `RateLimiter` over a `RateLimiterStore` on `@effect/sql` ({@link layerStore}: rows of
 * the table `effect_orb_rate_limits`, each take one atomic statement); the account is known by the normalized base
 * URL and a SHA-256 of the API key, never the key.
 *
 * `DurableRun.layer` uses it by itself when the process has a `DurableRun.OrbConnection`; provide
 * `IngestBudget.IngestBudget` (from `@effect-orb/backfills`) yourself to share it with in-memory runs
 * (`Backfills.run`) too, or to keep it elsewhere (`RateLimiter.layerStoreMemory` for one process).
 *
 * @since 0.2.0
 */
import type * as IngestBudget from "@effect-orb/backfills/IngestBudget"
import type * as RateLimiter from "@effect/experimental/RateLimiter"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as DurableRun from "./DurableRun.js"
import * as internal from "./internal/accountBudget.js"
import * as RunOrb from "./internal/runOrb.js"
import * as SqlStore from "./internal/sqlRateLimiterStore.js"

/**
 * `@effect/experimental`'s `RateLimiterStore` on the `SqlClient` in context (SQLite or Postgres): its counters are
 * rows of the table `effect_orb_rate_limits`, made when missing; each take is one statement that refills and takes
 * at once, so that processes sharing the database share the limits. Times are each process's clock: machines
 * sharing a database keep theirs in step (NTP).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerStore: Layer.Layer<RateLimiter.RateLimiterStore, SqlError.SqlError, SqlClient.SqlClient> =
  SqlStore.layer

/**
 * The key an account's budget is kept under: the normalized base URL and an unsalted SHA-256 of the API key (never
 * the key), the same in every process and machine with that connection.
 *
 * @since 0.2.0
 * @category constructors
 */
export const accountOf: (connection: DurableRun.OrbConnection) => string = RunOrb.account

/**
 * The budget of `account` (see {@link accountOf}) in the `RateLimiterStore` in context.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make: (
  account: string
) => Effect.Effect<IngestBudget.IngestBudget, never, RateLimiter.RateLimiterStore> = internal.make

/**
 * The budget of the account of the `DurableRun.OrbConnection` in context, in the database of the `SqlClient` in
 * context (the engine's, as `DurableEngine.layerSqlite` and `layerPostgres` provide it).
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<
  IngestBudget.IngestBudget,
  SqlError.SqlError,
  SqlClient.SqlClient | DurableRun.OrbConnection
> = internal.layer.pipe(Layer.provide(SqlStore.layer))
