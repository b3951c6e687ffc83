/**
 * The cluster engine's Postgres connections: `pg`'s pool as `@effect/sql-pg` makes it (`PgClient.make`), and one
 * thing more: a connection that waits for an answer and hears nothing from the server for the query timeout is
 * dropped, so that its queries fail and the next ones get a new connection.
 *
 * Without it, a server that stops answering on a connection already open (a failover that leaves the old server's
 * connections hanging, a network cut, a hung server) holds the query for the system's TCP timeout (about 15 minutes),
 * or for ever when the other end still takes the bytes: the runs' steps wait that long, even once the database answers
 * again on new connections. `pg`'s own `query_timeout` fails the query but keeps the connection busy behind it, and the
 * pool then hands that connection out again.
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

/** The longest delay a Node timer takes (a longer one, infinity included, fires at once). */
const longestTimer = 2 ** 31 - 1

/** A timeout in milliseconds for a timer, or `undefined` for none: an infinite one, or one of zero, is off. */
const timerMillis = (timeout: Duration.Duration): number | undefined =>
  Duration.isFinite(timeout) && Duration.toMillis(timeout) > 0
    ? Math.min(Duration.toMillis(timeout), longestTimer)
    : undefined

/**
 * Watches a connection: while it has a query with a callback in flight (every statement `@effect/sql-pg` runs with
 * its `execute` methods; not a stream's cursor), a stretch of `millis()` without a message from the server destroys
 * its socket (under TLS, the TLS socket, which ends the one below), which fails its queries with that reason and makes
 * the pool drop it. Every message heard starts the stretch again: queries queued behind others on the connection (the
 * cluster's shard locks) wait on a server that answers, not on the clock.
 */
const watched = (millis: () => number | undefined) => (client: Pg.PoolClient) => {
  let inFlight = 0
  let heardAt = Date.now()
  let timer: ReturnType<typeof setTimeout> | undefined
  const arm = () => {
    clearTimeout(timer)
    const wait = millis()
    timer = inFlight > 0 && wait !== undefined ? setTimeout(() => expire(wait), wait) : undefined
  }
  // Looked at again once the socket's pending reads are in (the timer may fire first after the process was busy).
  const expire = (wait: number) =>
    setImmediate(() => {
      if (inFlight === 0) return
      if (Date.now() - heardAt < wait) return arm()
      client.connection.stream.destroy(
        new Error(`no answer within ${wait / 1000} seconds on an open connection: it was dropped`)
      )
    })
  client.connection.on("message", () => {
    heardAt = Date.now()
    if (inFlight > 0) arm()
  })
  const query = client.query.bind(client) as (...args: Array<unknown>) => unknown
  const watchedQuery = (...args: Array<unknown>) => {
    const callback = args[args.length - 1]
    const first = args[0] as { readonly submit?: unknown; readonly callback?: unknown } | null | undefined
    // A cursor, or a query object that brings its own callback (`pg` then ignores the last argument), is not watched.
    if (typeof callback !== "function" || (typeof first === "object" && first !== null && "submit" in first)) {
      return query(...args)
    }
    if (typeof first === "object" && first !== null && typeof first.callback === "function") return query(...args)
    let done = false
    const settle = () => {
      if (done) return
      done = true
      inFlight--
      arm()
    }
    if (inFlight++ === 0) {
      heardAt = Date.now()
      arm()
    }
    try {
      return query(...args.slice(0, -1), (...results: Array<unknown>) => {
        settle()
        return (callback as (...results: Array<unknown>) => unknown)(...results)
      })
    } catch (error) {
      settle()
      throw error
    }
  }
  client.query = watchedQuery as typeof client.query
}

/**
 * The pool, checked with a first query within the connect timeout (its connection's handshake, and its answer), with
 * the same failures as `PgClient.make`'s (the command line reads their words), and ended with its scope.
 */
const acquire = (settings: PoolSettings) => {
  const connectMillis = timerMillis(settings.connectTimeout)
  const queryMillis = timerMillis(settings.queryTimeout)
  // The first check's answer is waited for no longer than the connect timeout (a server that takes the connection
  // and then says nothing); every query after it, the query timeout.
  let watchMillis = connectMillis === undefined ? queryMillis : Math.min(connectMillis, queryMillis ?? connectMillis)
  const pooled = Effect.acquireRelease(
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
          // `pg`'s 0 is no timeout.
          connectionTimeoutMillis: connectMillis ?? 0,
          application_name: settings.applicationName
        })
        // A connection lost while idle is the pool's to drop, not the process's to crash on.
        pool.on("error", () => {})
        pool.on("connect", watched(() => watchMillis))
        try {
          await pool.query("SELECT 1")
        } catch (error) {
          await pool.end().catch(() => {})
          throw error
        }
        watchMillis = queryMillis
        return pool
      },
      catch: (cause) => new SqlError({ cause, message: "PgClient: Failed to connect" })
    }),
    (pool) => Effect.promise(() => pool.end()).pipe(Effect.interruptible, Effect.timeoutOption(1000))
  )
  return connectMillis === undefined ? pooled : pooled.pipe(
    Effect.timeoutFail({
      duration: settings.connectTimeout,
      onTimeout: () =>
        new SqlError({ cause: new Error("Connection timed out"), message: "PgClient: Connection timed out" })
    })
  )
}

/**
 * The engine's `SqlClient` (and `PgClient`) on such a pool.
 */
export const layer = (settings: PoolSettings): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlError> =>
  PgClient.layerFromPool({ acquire: acquire(settings), applicationName: settings.applicationName })
