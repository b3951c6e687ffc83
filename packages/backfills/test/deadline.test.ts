/**
 * The per-attempt deadline with the live clock, over real sockets: the timer aborts the request through its
 * `AbortSignal`, so these run against a real HTTP server that stalls, with both transports.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as Backfills from "../src/Backfills.js"
import * as OrbClient from "../src/OrbClient.js"
import type * as OrbError from "../src/OrbError.js"
import { wireBackfill } from "./utils.js"

type Behaviour = "silent" | "stall-body" | "slow-ok"

/** A loopback server that answers every request as `behaviour` says, counting requests and aborted ones. */
const stallingServer = (behaviour: Behaviour) =>
  Effect.acquireRelease(
    Effect.async<
      { readonly url: string; readonly requests: () => number; readonly aborted: () => number; close: () => void }
    >(
      (resume) => {
        let requests = 0
        let aborted = 0
        const server = Http.createServer((_request, response) => {
          requests++
          response.on("close", () => {
            if (!response.writableFinished) aborted++
          })
          if (behaviour === "silent") return
          const body = JSON.stringify(wireBackfill())
          if (behaviour === "stall-body") {
            response.writeHead(200, { "content-type": "application/json", "content-length": String(body.length) })
            response.write(body.slice(0, 10))
            return
          }
          setTimeout(() => {
            response.writeHead(200, { "content-type": "application/json" })
            response.end(body)
          }, 100)
        })
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as AddressInfo
          resume(Effect.succeed({
            url: `http://127.0.0.1:${port}/v1`,
            requests: () => requests,
            aborted: () => aborted,
            close: () => {
              server.closeAllConnections()
              server.close()
            }
          }))
        })
      }
    ),
    (server) => Effect.sync(server.close)
  )

const transports: ReadonlyArray<readonly [string, Layer.Layer<HttpClient.HttpClient>]> = [
  ["undici", NodeHttpClient.layerUndici],
  ["fetch", FetchHttpClient.layer]
]

const clientFor = (url: string, transport: Layer.Layer<HttpClient.HttpClient>, timeout: Duration.DurationInput) =>
  Backfills.layer.pipe(
    Layer.provide(OrbClient.layer({ apiKey: Redacted.make("test-key"), baseUrl: url, timeout, maxRetries: 1 })),
    Layer.provide(transport),
    Layer.orDie
  )

describe("per-attempt deadline with the live clock", () => {
  for (const [name, transport] of transports) {
    it.live(`${name}: a server that never answers times out each attempt and aborts it`, () =>
      Effect.gen(function*() {
        const server = yield* stallingServer("silent")
        const started = Date.now()
        const error = yield* Effect.flip(
          Backfills.fetch("bf_1").pipe(
            Effect.provide(clientFor(server.url, transport, "200 millis"))
          )
        )
        const elapsed = Date.now() - started
        assert.strictEqual(error._tag, "TransportError")
        assert.strictEqual((error as OrbError.TransportError).reason, "Timeout")
        assert.strictEqual(server.requests(), 2, "the first attempt and one retry")
        // Two deadlines and one retry wait (0.375 to 0.5 s); without the abort it would hang until vitest's limit.
        assert.isAtLeast(elapsed, 400)
        assert.isBelow(elapsed, 4_000)
        yield* Effect.sleep("50 millis")
        assert.strictEqual(server.aborted(), 2, "both requests were aborted, not left open")
      }).pipe(Effect.scoped), 10_000)

    it.live(`${name}: a body that stalls after the headers times out too`, () =>
      Effect.gen(function*() {
        const server = yield* stallingServer("stall-body")
        const error = yield* Effect.flip(
          Backfills.fetch("bf_1").pipe(
            Effect.provide(clientFor(server.url, transport, "200 millis"))
          )
        )
        assert.strictEqual(error._tag, "TransportError")
        assert.strictEqual((error as OrbError.TransportError).reason, "Timeout")
        assert.strictEqual(server.requests(), 2)
      }).pipe(Effect.scoped), 10_000)

    it.live(
      `${name}: a slow answer within the deadline succeeds, and nothing is aborted afterwards`,
      () =>
        Effect.gen(function*() {
          const server = yield* stallingServer("slow-ok")
          const backfill = yield* Backfills.fetch("bf_1").pipe(
            Effect.provide(clientFor(server.url, transport, "400 millis"))
          )
          assert.strictEqual(backfill.id, "bf_1")
          // Past the deadline: a timer left armed would abort (and count) the finished exchange.
          yield* Effect.sleep("500 millis")
          assert.strictEqual(server.requests(), 1)
          assert.strictEqual(server.aborted(), 0)
        }).pipe(Effect.scoped),
      10_000
    )
  }
})
