/**
 * A Postgres address that takes the connection and never answers (a firewall that drops packets, a hung server, a
 * wrong port on a host that accepts anything): the cluster engine's layer must fail with a `SqlError` once its
 * connect timeout has passed, not wait for ever. It waited for ever: `@effect/sql-pg`'s own 5 s timeout on its first
 * query cannot interrupt that query (an uninterruptible acquisition), and `pg` waits for a server's first answer
 * without end unless told how long.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { DurableEngine } from "../src/index.js"
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
})
