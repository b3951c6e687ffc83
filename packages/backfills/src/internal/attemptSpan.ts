/**
 * A span per HTTP attempt (`OrbClient`'s `httpSpans: true`) that holds nothing of the API key.
 *
 * The platform client's own span would do, but a span ends with the exit of what it wraps, and there that is
 * the response (or an `HttpClientError`), which holds the request with its `authorization` header: any tracer
 * that records exits (as an exporter that reports failures does) would get the bearer token. So the platform's
 * span stays off, and this one gives what it gave (its name, kind and attributes, request headers redacted,
 * `traceparent` and `b3` sent to Orb) but ends with an exit that holds no request: `void` on success, the
 * failure as a sentence.
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpTraceContext from "@effect/platform/HttpTraceContext"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import type * as Tracer from "effect/Tracer"
import { truncate } from "./excerpt.js"
import type { Exchange } from "./exchange.js"

// Redacted whatever the fiber's list of redacted header names says: a user may shorten it.
const alwaysRedacted = ["authorization"]

/** What a span's exit says of a failure: a sentence, never the error (which holds the request). */
const describe = (error: HttpClientError.HttpClientError | "timeout"): string =>
  error === "timeout" ? "timeout" : truncate(`${error._tag}: ${error.message}`, 1_000)

const redactCause = (cause: Cause.Cause<HttpClientError.HttpClientError | "timeout">): Cause.Cause<string> =>
  Cause.match(cause, {
    onEmpty: Cause.empty,
    onFail: (error) => Cause.fail(describe(error)),
    onDie: (defect) =>
      Cause.die(defect instanceof Error ? truncate(`${defect.name}: ${defect.message}`, 1_000) : "a defect"),
    onInterrupt: Cause.interrupt,
    onSequential: Cause.sequential,
    onParallel: Cause.parallel
  })

const setRequestAttributes = (
  span: Tracer.Span,
  request: HttpClientRequest.HttpClientRequest,
  url: URL,
  redactedNames: ReadonlyArray<string | RegExp>
) => {
  span.attribute("http.request.method", request.method)
  span.attribute("server.address", url.origin)
  if (url.port !== "") span.attribute("server.port", +url.port)
  span.attribute("url.full", url.toString())
  span.attribute("url.path", url.pathname)
  span.attribute("url.scheme", url.protocol.slice(0, -1))
  const query = url.search.slice(1)
  if (query !== "") span.attribute("url.query", query)
  const headers = Headers.redact(request.headers, redactedNames)
  for (const name in headers) span.attribute(`http.request.header.${name}`, String(headers[name]))
}

/**
 * `attempt` in a span of its own, as the platform client would make it (and where it would not: with the tracer
 * disabled, or `HttpClient.currentTracerDisabledWhen` true for the request, there is none).
 */
export const traced = (attempt: Exchange): Exchange => (request) =>
  Effect.withFiberRuntime((fiber) => {
    if (
      !fiber.getFiberRef(FiberRef.currentTracerEnabled) ||
      fiber.getFiberRef(HttpClient.currentTracerDisabledWhen)(request)
    ) return attempt(request)
    const url = UrlParams.makeUrl(request.url, request.urlParams, request.hash)
    if (url._tag === "Left") return attempt(request)
    const redactedNames = [...fiber.getFiberRef(Headers.currentRedactedNames), ...alwaysRedacted]
    const name = Context.get(fiber.currentContext, HttpClient.SpanNameGenerator)(request)
    let outcome:
      | Exit.Exit<Effect.Effect.Success<ReturnType<Exchange>>, HttpClientError.HttpClientError | "timeout">
      | undefined
    const inSpan = Effect.useSpan(name, { kind: "client", captureStackTrace: false }, (span) => {
      setRequestAttributes(span, request, url.right, redactedNames)
      const sent = fiber.getFiberRef(HttpClient.currentTracerPropagation)
        ? HttpClientRequest.setHeaders(request, HttpTraceContext.toHeaders(span))
        : request
      return attempt(sent).pipe(
        Effect.withParentSpan(span),
        Effect.exit,
        Effect.flatMap((exit) => {
          outcome = exit
          if (Exit.isFailure(exit)) return Exit.failCause(redactCause(exit.cause))
          const [response] = exit.value
          span.attribute("http.response.status_code", response.status)
          const headers = Headers.redact(response.headers, redactedNames)
          for (const name in headers) span.attribute(`http.response.header.${name}`, String(headers[name]))
          return Exit.void
        })
      )
    })
    // The span has ended with its redacted exit; the caller gets the real one.
    // (Without an outcome, the span itself was interrupted before the attempt began.)
    return Effect.flatMap(Effect.exit(inSpan), (exit) => outcome ?? (exit as Exit.Exit<never>))
  })
