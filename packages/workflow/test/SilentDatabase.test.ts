/**
 * A Postgres address that takes the connection and never answers (a firewall that drops packets, a hung server, a
 * wrong port on a host that accepts anything): the cluster engine's layer must fail with a `SqlError` once its
 * connect timeout has passed, not wait for ever. It waited for ever: `@effect/sql-pg`'s own 5 s timeout on its first
 * query cannot interrupt that query (an uninterruptible acquisition), and `pg` waits for a server's first answer
 * without end unless told how long.
 *
 * And a Postgres that stops answering on a connection already open (a failover that leaves the old server's
 * connections hanging, a network cut, a hung server): a query there fails once its query timeout has passed, its
 * connection is dropped, and the next query gets a new one. It waited for the system's TCP timeout (about 15
 * minutes), or for ever when the other end still takes the bytes.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { DurableEngine } from "../src/index.js"
import { freezingProxy } from "./support/freezingProxy.js"
import { postgres } from "./support/postgres.js"
import { silentServer } from "./support/silentServer.js"

describe("a Postgres that never answers", () => {
  it.scopedLive("the engine's layer fails with a SqlError after its connect timeout", () =>
    Effect.gen(function*() {
      const { port } = yield* silentServer
      const started = Date.now()
      const exit = yield* Effect.exit(
        Layer.build(DurableEngine.layerPostgres({
          postgres: { url: Redacted.make(`postgres://someone:secret@127.0.0.1:${port}/runs`) },
          clientOnly: true,
          connectTimeout: "1 second"
        })).pipe(Effect.scoped, Effect.timeout("20 seconds"))
      )
      const waited = Date.now() - started
      assert.isTrue(Exit.isFailure(exit), "the layer was built against a server that never answered")
      const error = Exit.isFailure(exit) ? exit.cause.toJSON() : undefined
      assert.include(JSON.stringify(error), "SqlError", `not a SqlError: ${JSON.stringify(error)}`)
      assert.isAtLeast(waited, 900)
      assert.isBelow(waited, 10_000, `it failed only after ${waited} ms`)
    }), 30_000)

  it.scopedLive(
    "a query on an open connection that gets no answer fails after the query timeout; the next is answered",
    () =>
      Effect.gen(function*() {
        const database = yield* postgres()
        // Everything sent after the marked query is held: the server stops answering on the open connections.
        const proxy = yield* freezingProxy(database.port, "last answered")
        const context = yield* Layer.build(DurableEngine.layerPostgres({
          postgres: { url: Redacted.make(database.url.replace(`:${database.port}/`, `:${proxy.port}/`)) },
          clientOnly: true,
          queryTimeout: "2 seconds"
        }))
        const sql = Context.get(context, SqlClient.SqlClient)
        assert.deepStrictEqual(yield* sql`SELECT 'last answered' AS said`, [{ said: "last answered" }])
        assert.isTrue(proxy.holding())
        const started = Date.now()
        const exit = yield* Effect.exit(sql`SELECT 1 AS one`.pipe(Effect.timeout("20 seconds")))
        const waited = Date.now() - started
        assert.isTrue(Exit.isFailure(exit), "a query got an answer through a proxy that held it")
        const error = Exit.isFailure(exit) ? JSON.stringify(exit.cause.toJSON()) : ""
        assert.include(error, "SqlError", `not a SqlError after ${waited} ms: ${error}`)
        const reason = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
        assert.include(
          String((reason as { cause?: { message?: unknown } } | undefined)?.cause?.message),
          "no answer within 2 seconds on an open connection"
        )
        assert.isAtLeast(waited, 1_900)
        assert.isBelow(waited, 10_000, `it failed only after ${waited} ms`)
        // The server answers again: the next query, on a new connection, is answered.
        yield* proxy.resume
        assert.deepStrictEqual(yield* sql`SELECT 2 AS two`.pipe(Effect.timeout("20 seconds")), [{ two: 2 }])
      }),
    120_000
  )
})
