/**
 * The cluster engine's Postgres connections: `pg`'s pool as `@effect/sql-pg` makes it (`PgClient.make`), and one
 * thing more: a connection whose query goes unanswered for the query timeout is dropped, so that the query fails and
 * the next one gets a new connection.
 *
 * Without it, a server that stops answering on a connection already open (a failover that leaves the old server's
 * connections hanging, a network cut, a hung server) holds the query for the system's TCP timeout (about 15 minutes),
 * or for ever when the other end still takes the bytes: the runs' steps wait that long, even once the database answers
 * again on new connections. `pg`'s own `query_timeout` fails the query but keeps the connection busy behind it, and the
 * pool then hands that connection out again. Bytes are not watched on the socket: with TLS, `pg` reads and writes
 * through a TLS socket over it.
 */
import * as PgClient from "@effect/sql-pg/PgClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import Pg from "pg"
import type * as DurableEngine from "../DurableEngine.js"

/** The pool's settings: the connection, its name to Postgres, and its two timeouts. */
export interface PoolSettings {
  readonly connection: DurableEngine.PostgresConnection
  readonly applicationName: string
  readonly connectTimeout: Duration.Duration
  readonly queryTimeout: Duration.Duration
}

/**
 * Arms each query a connection runs with a callback (every statement `@effect/sql-pg` runs has one; a `LISTEN`
 * connection waiting for notifications has no query in flight) with the timeout: unanswered by then, the connection's
 * socket is destroyed, which fails the query with that reason and makes the pool drop the connection.
 */
const droppedWhenUnanswered = (timeout: Duration.Duration) => (client: Pg.PoolClient) => {
  const millis = Duration.toMillis(timeout)
  const query = client.query.bind(client) as (...args: Array<unknown>) => unknown
  const armed = (...args: Array<unknown>) => {
    const callback = args[args.length - 1]
    if (typeof callback !== "function") return query(...args)
    const timer = setTimeout(() => {
      client.connection.stream.destroy(
        new Error(`no answer within ${Duration.toSeconds(timeout)} seconds on an open connection: it was dropped`)
      )
    }, millis)
    return query(...args.slice(0, -1), (...results: Array<unknown>) => {
      clearTimeout(timer)
      return (callback as (...results: Array<unknown>) => unknown)(...results)
    })
  }
  client.query = armed as typeof client.query
}

/**
 * The pool, checked with a first query within the connect timeout, with the same failures as `PgClient.make`'s (the
 * command line reads their words), and ended with its scope.
 */
const acquire = (settings: PoolSettings) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const connection = settings.connection
        const pool = new Pg.Pool({
          ...("url" in connection
            ? { connectionString: Redacted.value(connection.url) }
            : {
              host: connection.host,
              port: connection.port,
              database: connection.database,
              user: connection.username,
              password: connection.password === undefined ? undefined : Redacted.value(connection.password),
              ssl: connection.ssl
            }),
          connectionTimeoutMillis: Duration.toMillis(settings.connectTimeout),
          application_name: settings.applicationName
        })
        // A connection lost while idle is the pool's to drop, not the process's to crash on.
        pool.on("error", () => {})
        pool.on("connect", droppedWhenUnanswered(settings.queryTimeout))
        try {
          await pool.query("SELECT 1")
        } catch (error) {
          await pool.end().catch(() => {})
          throw error
        }
        return pool
      },
      catch: (cause) => new SqlError({ cause, message: "PgClient: Failed to connect" })
    }),
    (pool) => Effect.promise(() => pool.end()).pipe(Effect.interruptible, Effect.timeoutOption(1000))
  ).pipe(
    Effect.timeoutFail({
      duration: settings.connectTimeout,
      onTimeout: () =>
        new SqlError({ cause: new Error("Connection timed out"), message: "PgClient: Connection timed out" })
    })
  )

/**
 * The engine's `SqlClient` (and `PgClient`) on such a pool.
 */
export const layer = (settings: PoolSettings): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlError> =>
  PgClient.layerFromPool({ acquire: acquire(settings), applicationName: settings.applicationName })
