/**
 * The simulator over HTTP on the loopback interface: a server for tests of clients in other processes and
 * languages, and an HTTP app for a server of your own. The one module of the package that imports Node's HTTP server
 * (`node:http`, `@effect/platform-node`); `OrbSimulator.serve` loads it when it is used.
 *
 * @since 0.1.0
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Http from "node:http"
import * as OrbSimulator from "./OrbSimulator.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface ServeOptions extends OrbSimulator.Options {
  /** Default 0: any free port. */
  readonly port?: number | undefined
}

/**
 * A running server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Server {
  /** The base URL to give clients, e.g. `http://127.0.0.1:4010/v1`. */
  readonly url: string
  readonly port: number
  readonly simulator: OrbSimulator.OrbSimulator
}

/**
 * An HTTP app serving a simulator, for a server of your own. Every response comes after the simulator's
 * `latency` option, if it has one.
 *
 * @since 0.1.0
 * @category constructors
 */
export const httpApp = (
  simulator: OrbSimulator.OrbSimulator
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const body = yield* Effect.orElseSucceed(request.text, () => "")
    const outcome = yield* simulator.handle({
      method: request.method,
      url: request.url,
      headers: request.headers,
      body
    })
    if (outcome._tag === "Drop") {
      // Destroying the socket is what a client sees as a dropped connection (no status, no body).
      yield* Effect.sync(() => NodeHttpServerRequest.toServerResponse(request).destroy())
      return yield* Effect.interrupt
    }
    const { "content-type": contentType, ...headers } = outcome.headers
    return HttpServerResponse.text(outcome.body, {
      status: outcome.status,
      headers,
      contentType: contentType ?? "application/json"
    })
  })

/**
 * Serves a new simulator over HTTP on `127.0.0.1` until the scope closes. With a `latency`, every
 * response comes that long after its request took effect, on Effect's `Clock`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const serve = (
  options: ServeOptions = {}
): Effect.Effect<Server, HttpServerError.ServeError, Scope.Scope> =>
  Effect.gen(function*() {
    const simulator = yield* OrbSimulator.make(options)
    const httpServer = Http.createServer()
    const server = yield* NodeHttpServer.make(() => httpServer, { port: options.port ?? 0, host: "127.0.0.1" })
    // Closing a Node server waits for every open connection to end, and a client's keep-alive connection may
    // never end: drop them first (this finaliser runs before the server's own).
    yield* Effect.addFinalizer(() => Effect.sync(() => httpServer.closeAllConnections()))
    yield* server.serve(httpApp(simulator))
    const port = server.address._tag === "TcpAddress" ? server.address.port : 0
    return { url: `http://127.0.0.1:${port}/v1`, port, simulator }
  })
