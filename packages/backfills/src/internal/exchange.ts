/**
 * One HTTP exchange (request, response, whole body) under a deadline.
 *
 * The obvious `Effect.timeoutFail` races the exchange against a sleep in two forked fibers on every attempt,
 * which over real sockets cost more client CPU than the rest of a request. With the live clock the deadline
 * here is a plain timer instead, which aborts the request through the `AbortSignal` that `@effect/platform`
 * hands every transport (`HttpClient.withScope` ties that signal to a scope of ours): the exchange then fails
 * in its own fiber, with no fork. Under any other clock (`TestClock`) it keeps `Effect.timeoutFail`, so that
 * tests can move time.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as AttemptSpan from "./attemptSpan.js"

/** A response with its body read as text, or why there is none. */
export type Exchange = (
  request: HttpClientRequest.HttpClientRequest
) => Effect.Effect<
  readonly [HttpClientResponse.HttpClientResponse, string],
  HttpClientError.HttpClientError | "timeout"
>

const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)

// Beyond this a JavaScript timer fires at once; such a deadline is as good as none.
const maxTimerMillis = 2 ** 31 - 1

const readWith =
  <R>(client: HttpClient.HttpClient.With<HttpClientError.HttpClientError, R>) =>
  (request: HttpClientRequest.HttpClientRequest) =>
    Effect.flatMap(
      client.execute(request),
      (response) => Effect.map(response.text, (text) => [response, text] as const)
    )

/**
 * The exchange for a client: `timeout` covers the response and its whole body; `Duration.infinity` sets no
 * deadline of ours (the transport's own timeouts still apply). `spans`: a span per attempt (see `attemptSpan`).
 */
export const make = (
  client: HttpClient.HttpClient,
  timeout: Duration.Duration,
  options?: { readonly spans?: boolean | undefined }
): Exchange => {
  const exchange = withDeadline(client, timeout)
  // A span per attempt, of our own: the platform client's would end with the request, API key included.
  return options?.spans === true ? AttemptSpan.traced(exchange) : exchange
}

const withDeadline = (client: HttpClient.HttpClient, timeout: Duration.Duration): Exchange => {
  const read = readWith(client)
  const millis = Duration.toMillis(timeout)
  if (!Duration.isFinite(timeout) || millis > maxTimerMillis) return read

  const readScoped = readWith(HttpClient.withScope(client))
  const withTimer = (request: HttpClientRequest.HttpClientRequest) =>
    Effect.flatMap(Scope.make(), (scope) => {
      let timedOut = false
      // Closing the scope aborts the request's signal: the transport fails the exchange in its own fiber.
      const timer = setTimeout(() => {
        timedOut = true
        Effect.runSync(Scope.close(scope, Exit.void))
      }, millis)
      return readScoped(request).pipe(
        Effect.provideService(Scope.Scope, scope),
        Effect.onExit((exit) => {
          clearTimeout(timer)
          // After a whole body there is nothing to abort (and aborting builds a DOMException, with its stack);
          // the unclosed scope holds nothing else and goes with the garbage. A failure or an interruption
          // aborts the request, so that its connection is not left busy.
          return Exit.isSuccess(exit) ? Effect.void : Scope.close(scope, exit)
        }),
        Effect.catchAll((error) => Effect.fail(timedOut ? "timeout" as const : error))
      )
    })
  const withFiber = (request: HttpClientRequest.HttpClientRequest) =>
    Effect.timeoutFail(read(request), { duration: timeout, onTimeout: () => "timeout" as const })

  return (request) => Effect.clockWith((clock) => clock === liveClock ? withTimer(request) : withFiber(request))
}
