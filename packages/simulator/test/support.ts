// Shared test helpers: a simulator layer whose every response (and every accepted request body) is
// checked against Orb's OpenAPI document, and a small JSON caller over its HttpClient.
import { OrbSimulator } from "@effect-orb/simulator"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as TestClock from "effect/TestClock"
import { checkResponse, validateRequest } from "./openapi.js"

/** The tests' "now": 2025-03-10T00:00:00Z. */
export const T0 = Date.parse("2025-03-10T00:00:00Z")

export const atT0 = TestClock.setTime(T0)

/**
 * Waits (in real time) until some fiber sleeps on the TestClock, so that a forked request has reached its
 * injected delay before the test moves the clock.
 */
export const whenSleeping = Effect.gen(function*() {
  while ((yield* TestClock.sleeps()).length === 0) {
    yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 1)))
  }
})

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

const zoneless = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?$/

/**
 * A request body with `Z` added to every date-time that has no zone. The one leniency the simulator has over the
 * schema's `date-time` (RFC 3339, which wants a zone): Orb's prose asks for "no timezone offset (i.e. UTC)" and
 * its Python SDK sends a naive `datetime` without one, so a date-time without a zone is read as UTC
 * (`docs/orb-api.md`, "Decided here").
 */
const withZones = (value: unknown): unknown =>
  typeof value === "string"
    ? zoneless.test(value) ? `${value}Z` : value
    : Array.isArray(value)
    ? value.map(withZones)
    : typeof value === "object" && value !== null
    ? Object.fromEntries(Object.entries(value).map(([key, v]) => [key, withZones(v)]))
    : value

/**
 * Checks one exchange against the spec: the response body always, the request body when the simulator
 * accepted it (the simulator must never be more lenient than Orb's schema, but for {@link withZones}).
 */
export const checkExchange = (request: OrbSimulator.Request, outcome: OrbSimulator.Outcome): void => {
  if (outcome._tag === "Drop") return
  checkResponse(request.method, request.url, outcome.status, outcome.headers["content-type"], outcome.body)
  if (outcome.status === 200 && request.body.length > 0) {
    validateRequest(request.method, request.url, withZones(parse(request.body)))
  }
}

/** The simulator with a spec-checking in-process HttpClient. */
export const layer = (options?: OrbSimulator.Options): Layer.Layer<OrbSimulator.OrbSimulator | HttpClient.HttpClient> =>
  Layer.effectContext(
    Effect.map(OrbSimulator.make(options), (simulator) => {
      const checked: OrbSimulator.OrbSimulator = {
        ...simulator,
        handle: (request) =>
          Effect.tap(simulator.handle(request), (outcome) => Effect.sync(() => checkExchange(request, outcome)))
      }
      return Context.make(OrbSimulator.OrbSimulator, simulator).pipe(
        Context.add(HttpClient.HttpClient, OrbSimulator.httpClient(checked))
      )
    })
  ).pipe(Layer.provideMerge(Layer.effectDiscard(atT0)))

export interface Reply {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: any
}

export interface CallOptions {
  readonly body?: unknown
  readonly rawBody?: string
  readonly headers?: Record<string, string>
}

/** Sends one request to `/v1{path}` through the HttpClient in context. */
export const call = (
  method: "GET" | "POST" | "DELETE",
  path: string,
  options: CallOptions = {}
): Effect.Effect<Reply, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    let request = HttpClientRequest.make(method)(`https://api.withorb.com/v1${path}`).pipe(
      HttpClientRequest.setHeaders(options.headers ?? {})
    )
    const text = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body))
    if (text !== undefined) request = HttpClientRequest.bodyText(request, text, "application/json")
    const response = yield* client.execute(request)
    const body = yield* response.text
    return { status: response.status, headers: response.headers, body: parse(body) }
  }).pipe(Effect.orDie)

export const post = (path: string, body?: unknown, headers?: Record<string, string>) =>
  call("POST", path, {
    ...(body === undefined ? {} : { body }),
    ...(headers === undefined ? {} : { headers })
  })

export const get = (path: string, headers?: Record<string, string>) =>
  call("GET", path, headers === undefined ? {} : { headers })

export const newBackfill = (overrides: Record<string, unknown> = {}) => ({
  timeframe_start: "2025-03-01T00:00:00Z",
  timeframe_end: "2025-03-02T00:00:00Z",
  replace_existing_events: false,
  ...overrides
})

export const event = (key: string, overrides: Record<string, unknown> = {}) => ({
  event_name: "api_call",
  timestamp: "2025-03-01T12:00:00Z",
  properties: { units: 1 },
  idempotency_key: key,
  customer_id: "cus_1",
  ...overrides
})

export const errorType = (fragment: string) => `https://docs.withorb.com/reference/error-responses#${fragment}`

/** Creates a backfill and returns its wire body (fails the test on anything but 200). */
export const createBackfill = (overrides: Record<string, unknown> = {}) =>
  Effect.flatMap(post("/events/backfills", newBackfill(overrides)), (reply) =>
    reply.status === 200
      ? Effect.succeed(reply.body)
      : Effect.dieMessage(`create failed: ${reply.status} ${JSON.stringify(reply.body)}`))
