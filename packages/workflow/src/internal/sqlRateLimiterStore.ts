/**
 * `@effect/experimental`'s `RateLimiterStore` on `@effect/sql`: the memory store's counters, as rows of a table of
 * ours in the engine's database (SQLite or Postgres), so that processes sharing the database share the limits.
 *
 * Each take is one statement, an upsert that reads the row, refills and takes in the same write and returns the
 * outcome: atomic on both databases (a Postgres row lock for the statement; SQLite's write lock), with no
 * transaction held across a round trip. The time is the taker's `Clock` (a `TestClock` drives it in tests);
 * machines sharing a database are expected to keep their clocks in step (NTP), and a clock behind the row's is
 * taken as no time passed rather than as a refill.
 */
import * as RateLimiter from "@effect/experimental/RateLimiter"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as OwnTables from "./ownTables.js"

export const table = "effect_orb_rate_limits"

const storeError = (cause: unknown) =>
  new RateLimiter.RateLimitStoreError({
    message: `the rate limits in table ${table} could not be read or written`,
    cause
  })

/**
 * A number as a statement parameter of a known type: Postgres cannot infer the type of a bare parameter in
 * `GREATEST(...)` or arithmetic.
 */
const num = (sql: SqlClient.SqlClient, value: number) => sql`CAST(${value} AS DOUBLE PRECISION)`

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* OwnTables.create((sql) =>
    sql`CREATE TABLE IF NOT EXISTS ${sql(table)} (
      limiter_key VARCHAR(255) PRIMARY KEY,
      tokens DOUBLE PRECISION NOT NULL,
      stamp DOUBLE PRECISION NOT NULL,
      answer DOUBLE PRECISION NOT NULL
    )`
  )
  // The few functions whose names differ: SQLite has no FLOOR (without its math extension) and spells GREATEST and
  // LEAST as the two-argument MAX and MIN. Every value floored here is non-negative, where a cast truncates to it.
  const dialect = sql.onDialectOrElse({
    pg: () => ({
      floor: (e: Statement.Fragment) => sql`FLOOR(${e})`,
      greatest: (a: Statement.Fragment, b: Statement.Fragment) => sql`GREATEST(${a}, ${b})`,
      least: (a: Statement.Fragment, b: Statement.Fragment) => sql`LEAST(${a}, ${b})`
    }),
    orElse: () => ({
      floor: (e: Statement.Fragment) => sql`CAST(${e} AS INTEGER)`,
      greatest: (a: Statement.Fragment, b: Statement.Fragment) => sql`MAX(${a}, ${b})`,
      least: (a: Statement.Fragment, b: Statement.Fragment) => sql`MIN(${a}, ${b})`
    })
  })
  const t = sql(table)
  const column = (name: string) => sql`${t}.${sql(name)}`

  return RateLimiter.RateLimiterStore.of({
    fixedWindow: (options) =>
      Effect.flatMap(Clock.currentTimeMillis, (millis) => {
        const now = num(sql, millis)
        const taken = num(sql, options.tokens)
        const rate = num(sql, Duration.toMillis(options.refillRate))
        // No limit: every take counts. The memory store reads a limit of 0 as none too.
        const limit = num(sql, options.limit === undefined || options.limit <= 0 ? -1 : options.limit)
        const expired = sql`${column("stamp")} <= ${now}`
        const count = sql`(CASE WHEN ${expired} THEN 0 ELSE ${column("tokens")} END)`
        const expiresAt = sql`(CASE WHEN ${expired} THEN ${now} ELSE ${column("stamp")} END)`
        const over = sql`(${limit} >= 0 AND ${count} + ${taken} > ${limit})`
        return sql<{ readonly answer: number; readonly stamp: number }>`
          INSERT INTO ${t} (limiter_key, tokens, stamp, answer)
          VALUES (
            ${`fw:${options.key}`},
            CASE WHEN ${limit} >= 0 AND ${taken} > ${limit} THEN 0 ELSE ${taken} END,
            CASE WHEN ${limit} >= 0 AND ${taken} > ${limit} THEN ${now} ELSE ${now} + ${rate} * ${taken} END,
            ${taken}
          )
          ON CONFLICT (limiter_key) DO UPDATE SET
            tokens = CASE WHEN ${over} THEN ${count} ELSE ${count} + ${taken} END,
            stamp = CASE WHEN ${over} THEN ${expiresAt} ELSE ${expiresAt} + ${rate} * ${taken} END,
            answer = ${count} + ${taken}
          RETURNING answer, stamp`.pipe(
          Effect.map(([row]) => [Number(row.answer), Number(row.stamp) - millis] as const)
        )
      }).pipe(Effect.mapError(storeError)),

    tokenBucket: (options) =>
      Effect.flatMap(Clock.currentTimeMillis, (millis) => {
        const now = num(sql, millis)
        const taken = num(sql, options.tokens)
        const limit = num(sql, options.limit)
        const rate = num(sql, Duration.toMillis(options.refillRate))
        const overflow = options.allowOverflow ? 1 : 0
        // Whole tokens refilled since the row's stamp, which moves on by just those (as the memory store's does).
        const refills = dialect.floor(sql`${dialect.greatest(sql`0`, sql`${now} - ${column("stamp")}`)} / ${rate}`)
        const refilled = dialect.least(limit, sql`${column("tokens")} + ${refills}`)
        const after = sql`(${refilled} - ${taken})`
        return sql<{ readonly answer: number }>`
          INSERT INTO ${t} (limiter_key, tokens, stamp, answer)
          VALUES (
            ${`tb:${options.key}`},
            CASE WHEN ${overflow} = 1 OR ${limit} - ${taken} >= 0 THEN ${limit} - ${taken} ELSE ${limit} END,
            ${now},
            ${limit} - ${taken}
          )
          ON CONFLICT (limiter_key) DO UPDATE SET
            tokens = CASE WHEN ${overflow} = 1 OR ${after} >= 0 THEN ${after} ELSE ${refilled} END,
            stamp = ${column("stamp")} + ${refills} * ${rate},
            answer = ${after}
          RETURNING answer`.pipe(
          Effect.map(([row]) => Number(row.answer))
        )
      }).pipe(Effect.mapError(storeError))
  })
})

export const layer: Layer.Layer<RateLimiter.RateLimiterStore, SqlError.SqlError, SqlClient.SqlClient> = Layer.effect(
  RateLimiter.RateLimiterStore,
  make
)
