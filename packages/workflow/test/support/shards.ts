/**
 * Which runner of a Postgres cluster holds which run: read from the database the way `@effect/cluster` keeps it.
 * Three runs on two runners may otherwise all hash to one runner's shards (about one time in four), and a test or
 * a benchmark of runs "across runners" would then measure one runner. The budget's test across runners and the
 * bench's budget scenario on Postgres choose their run keys with it.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Hash from "effect/Hash"

/** `@effect/cluster`'s default number of shards. */
const shards = 300

/**
 * Waits until `runners` connections each hold at least 100 shard locks (a runner takes its share of the 300 within
 * seconds of starting), or fails with `notReady()` after `timeoutMs`.
 */
export const runnersReady = (runners: number, timeoutMs: number, notReady: () => string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const started = Date.now()
    while (true) {
      const rows = yield* sql<{ readonly n: number }>`
        SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted GROUP BY pid`
      if (rows.length === runners && rows.every((row) => row.n >= 100)) return
      if (Date.now() - started > timeoutMs) return yield* Effect.dieMessage(notReady())
      yield* Effect.sleep("100 millis")
    }
  })

/**
 * The runner (its connection's pid) holding the shard of a workflow execution id, as things stand: a shard's lock
 * is 1,000,000 + its number (as `@effect/cluster`'s SQL shard storage takes them), and a workflow's entity is its
 * execution id, whose shard is `Sharding.getShardId`'s (`Hash.string` is the same hash).
 */
export const shardHolders = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const holders = new Map(
    (yield* sql<{ readonly pid: number; readonly lock: number }>`
      SELECT pid, objid::int AS lock FROM pg_locks WHERE locktype = 'advisory' AND granted`)
      .map((row) => [row.lock - 1_000_000, row.pid] as const)
  )
  return (executionId: string): number | undefined => holders.get(Math.abs(Hash.string(executionId) % shards) + 1)
})
