/**
 * The configured transport to Orb: the only module that touches HTTP. It adds the base URL, bearer auth and
 * an idempotency key, retries what is safe to retry, and turns every response into a decoded value or a
 * typed error from `OrbError`.
 *
 * @since 0.1.0
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import { maxIdempotencyKeyLength } from "./Backfill.js"
import { decoderFor } from "./internal/decode.js"
import { truncate } from "./internal/excerpt.js"
import * as Exchange from "./internal/exchange.js"
import * as IdempotencyKey from "./internal/idempotencyKey.js"
import * as RetryPolicy from "./internal/retryPolicy.js"
import * as OrbError from "./OrbError.js"

/**
 * Orb's production API.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultBaseUrl = "https://api.withorb.com/v1"

/**
 * How the client reaches Orb.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The secret API key; it is sent as a bearer token and never logged. */
  readonly apiKey: Redacted.Redacted
  /** Default `https://api.withorb.com/v1`. */
  readonly baseUrl?: string | undefined
  /** Allow a plain `http:` base URL on a host other than loopback. Default `false`. */
  readonly allowInsecureHttp?: boolean | undefined
  /**
   * Time allowed for one attempt, response body included. Default 60 seconds. When it runs out the request is
   * aborted through its `AbortSignal` (every `@effect/platform` transport honours it). `Duration.infinity` leaves
   * it to the transport's own timeouts.
   */
  readonly timeout?: Duration.DurationInput | undefined
  /** Retries after the first attempt, with the default schedule. Default 2. */
  readonly maxRetries?: number | undefined
  /**
   * Replaces the default retry schedule (and `maxRetries`): it receives each retryable error and decides
   * whether and when to try again. A wait the server asks for still takes precedence.
   */
  readonly retrySchedule?: Schedule.Schedule<unknown, OrbError.OrbError> | undefined
  /** The longest wait honoured from `Retry-After` / `retry-after-ms`. Default 60 seconds. */
  readonly maxRetryAfter?: Duration.DurationInput | undefined
  /** Sent as `User-Agent`. */
  readonly userAgent?: string | undefined
  /**
   * A span per attempt, named and annotated as the HTTP client's own (`http.client GET`, request headers redacted),
   * and its trace headers (`traceparent`, `b3`) sent to Orb. Its exit holds no request, so the key reaches no
   * tracer. Default `false`: each operation has its span already, and these double the client's CPU per request.
   */
  readonly httpSpans?: boolean | undefined
}

/**
 * One request to Orb, relative to the base URL.
 *
 * @since 0.1.0
 * @category models
 */
export interface Request {
  readonly method: "GET" | "POST"
  /** The path under the base URL, starting with `/`, its segments already percent-encoded. */
  readonly path: string
  readonly urlParams?: ReadonlyArray<readonly [string, string]> | undefined
  /** A JSON body; `undefined` sends none. */
  readonly body?: unknown
  /** For a POST: the `Idempotency-Key` to send (default: a new one per call, reused by its retries). */
  readonly idempotencyKey?: string | undefined
  /**
   * `false`: make a single attempt, for callers that run their own retry policy (such as `ingestStream`,
   * which adapts its pace to 429s). Default `true`.
   */
  readonly retry?: boolean | undefined
}

/**
 * The transport service.
 *
 * @since 0.1.0
 * @category models
 */
export interface OrbClient {
  /** Sends a request (retrying as configured) and decodes a successful response with `success`. */
  readonly request: <A, I>(request: Request, success: Schema.Schema<A, I>) => Effect.Effect<A, OrbError.OrbError>
}

/**
 * @since 0.1.0
 * @category tags
 */
export const OrbClient: Context.Tag<OrbClient, OrbClient> = Context.GenericTag<OrbClient>(
  "@effect-orb/backfills/OrbClient"
)

const excerptLength = 200

const excerpt = (text: string) => truncate(text, excerptLength)

/**
 * The wait a response asks for: `retry-after-ms` (milliseconds), else `Retry-After` (seconds or an HTTP
 * date, relative to `now`).
 */
const retryAfterOf = (
  headers: Readonly<Record<string, string | undefined>>,
  now: number
): Option.Option<Duration.Duration> => {
  const millis = Number.parseFloat(headers["retry-after-ms"] ?? "")
  if (Number.isFinite(millis) && millis >= 0) return Option.some(Duration.millis(millis))
  const retryAfter = headers["retry-after"]
  if (retryAfter === undefined) return Option.none()
  const seconds = Number(retryAfter.trim())
  if (retryAfter.trim() !== "" && Number.isFinite(seconds) && seconds >= 0) {
    return Option.some(Duration.millis(seconds * 1000))
  }
  const date = Date.parse(retryAfter)
  return Number.isNaN(date) ? Option.none() : Option.some(Duration.millis(Math.max(0, date - now)))
}

const isLoopback = (hostname: string) =>
  hostname === "localhost" || hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(hostname)

/**
 * The base URL, checked: `https:`, or `http:` on loopback (or with `allowInsecureHttp`), without a
 * trailing slash.
 */
const checkBaseUrl = (
  baseUrl: string,
  allowInsecureHttp: boolean
): Either.Either<string, ConfigError.ConfigError> => {
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch {
    return Either.left(ConfigError.InvalidData(["baseUrl"], `${JSON.stringify(baseUrl)} is not a URL`))
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return Either.left(ConfigError.InvalidData(["baseUrl"], `expected an https: URL, got ${url.protocol}`))
  }
  if (url.protocol === "http:" && !allowInsecureHttp && !isLoopback(url.hostname)) {
    return Either.left(
      ConfigError.InvalidData(
        ["baseUrl"],
        `refusing plain http: to ${url.hostname}, which would send the API key unencrypted ` +
          "(use https:, a loopback host, or allowInsecureHttp)"
      )
    )
  }
  if (url.username !== "" || url.password !== "") {
    return Either.left(ConfigError.InvalidData(["baseUrl"], "credentials belong in apiKey, not in the URL"))
  }
  return Either.right(`${url.origin}${url.pathname.replace(/\/+$/, "")}`)
}

/**
 * The default retry schedule: exponential from 0.5 s, doubling, capped at 8 s, each wait scaled by a random
 * factor in [0.75, 1] (as the official SDK does), at most `maxRetries` times.
 *
 * @since 0.1.0
 * @category retries
 */
export const defaultRetrySchedule: (maxRetries: number) => Schedule.Schedule<unknown, unknown> = RetryPolicy.transport

const durationOption = (
  name: string,
  input: Duration.DurationInput | undefined,
  fallback: Duration.Duration
): Either.Either<Duration.Duration, ConfigError.ConfigError> =>
  input === undefined ? Either.right(fallback) : Option.match(
    Option.filter(Duration.decodeUnknown(input), (d) => Duration.greaterThan(d, Duration.zero)),
    {
      onNone: () => Either.left(ConfigError.InvalidData([name], `expected a positive duration, got ${String(input)}`)),
      onSome: Either.right
    }
  )

/**
 * Builds the client from options. Fails when the base URL is not acceptable.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options
): Effect.Effect<OrbClient, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const baseUrl = yield* checkBaseUrl(options.baseUrl ?? defaultBaseUrl, options.allowInsecureHttp ?? false)
    // The platform client's own span is always off: it ends with the request as its exit, bearer token included.
    // Without its span the platform sends no trace headers either (it propagates the span it makes). With
    // `httpSpans` the exchange makes a span per attempt of its own, with the same attributes and trace headers.
    const httpClient = HttpClient.withTracerDisabledWhen(yield* HttpClient.HttpClient, () => true)
    const timeout = yield* durationOption("timeout", options.timeout, Duration.seconds(60))
    const maxRetryAfter = yield* durationOption(
      "maxRetryAfter",
      options.maxRetryAfter,
      RetryPolicy.defaultMaxRetryAfter
    )
    const maxRetries = options.maxRetries ?? RetryPolicy.defaultMaxRetries
    if (!Number.isInteger(maxRetries) || maxRetries < 0) {
      return yield* Effect.fail(
        ConfigError.InvalidData(["maxRetries"], `expected a whole number from 0, got ${maxRetries}`)
      )
    }
    const userAgent = options.userAgent ?? "effect-orb/0.1.0"
    const baseSchedule: Schedule.Schedule<unknown, OrbError.OrbError> = options.retrySchedule ??
      defaultRetrySchedule(maxRetries)

    // Built once: what it logs comes from the error, which names the request. A wait the server asked for (already
    // capped at `maxRetryAfter`) wins over the schedule's.
    const retrySchedule = baseSchedule.pipe(
      Schedule.intersect(Schedule.identity<OrbError.OrbError>()),
      // Before the delay that logs "Retrying": an error that is not retried (a 401) logs nothing.
      Schedule.whileInput((error: OrbError.OrbError) => OrbError.isTransient(error)),
      Schedule.modifyDelayEffect(([_, error], delay) => {
        const asked = "retryAfterMillis" in error ? error.retryAfterMillis : undefined
        const wait = asked === undefined ? delay : Duration.millis(asked)
        return Effect.as(
          Effect.logDebug(`Retrying ${error.method} ${error.path} in ${Duration.format(wait)}`).pipe(
            Effect.annotateLogs({ error: error._tag, reason: error.message })
          ),
          wait
        )
      })
    )

    const exchange = Exchange.make(httpClient, timeout, { spans: options.httpSpans === true })
    // Built once: every request carries them (the platform redacts `authorization` wherever it logs headers).
    const commonHeaders = Headers.fromInput({
      authorization: `Bearer ${Redacted.value(options.apiKey)}`,
      accept: "application/json",
      "user-agent": userAgent
    })

    const request = <A, I>(req: Request, success: Schema.Schema<A, I>): Effect.Effect<A, OrbError.OrbError> => {
      const { method } = req
      const query = req.urlParams && req.urlParams.length > 0
        ? `?${new URLSearchParams(req.urlParams.map(([k, v]) => [k, v]))}`
        : ""
      const path = `${req.path}${query}`
      let httpRequest = HttpClientRequest.make(method)(`${baseUrl}${path}`, { headers: commonHeaders })
      const idempotencyKey = method === "POST" ? req.idempotencyKey ?? IdempotencyKey.forRequest() : undefined
      if (idempotencyKey !== undefined) {
        httpRequest = HttpClientRequest.setHeader(httpRequest, "idempotency-key", idempotencyKey)
      }
      if (req.body !== undefined) {
        httpRequest = HttpClientRequest.bodyText(httpRequest, JSON.stringify(req.body), "application/json")
      }
      const decodeSuccess = decoderFor(success)
      const keyField = idempotencyKey === undefined ? {} : { idempotencyKey }

      const transportFailure = (reason: "Timeout" | "Connection", description?: string) =>
        new OrbError.TransportError({ reason, method, path, ...(description ? { description } : {}), ...keyField })

      const onResponse = (
        response: HttpClientResponse.HttpClientResponse,
        text: string
      ): Effect.Effect<A, OrbError.OrbError> => {
        const status = response.status
        if (status >= 200 && status < 300) {
          const json = parseJson(text)
          // A body that is not JSON at all (a proxy's page, a cut or empty body) is no answer: whether the request
          // took effect is unknown, so it is retried as a lost response is (the idempotency key makes that safe,
          // and Orb replays its answer). JSON of the wrong shape is an answer, and a `DecodeError`.
          if (Either.isLeft(json)) {
            return Effect.fail(
              new OrbError.TransportError({
                reason: "UnreadableBody",
                method,
                path,
                status,
                description: json.left,
                excerpt: excerpt(text),
                ...keyField
              })
            )
          }
          const decoded = decodeSuccess(json.right)
          return Either.isRight(decoded) ? Effect.succeed(decoded.right) : Effect.fail(
            new OrbError.DecodeError({ status, method, path, reason: decoded.left, excerpt: excerpt(text) })
          )
        }
        const problem = parseJson(text).pipe(
          Either.flatMap((json) => decodeProblem(json).pipe(Either.mapLeft(() => "not a problem document"))),
          Either.getOrUndefined
        )
        return Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const retryAfter = Option.map(
            retryAfterOf(response.headers, now),
            (asked) => Duration.min(asked, maxRetryAfter)
          )
          return Effect.fail(OrbError.fromResponse({
            status,
            method,
            path,
            problem,
            excerpt: excerpt(text),
            retryAfterMillis: Option.getOrUndefined(Option.map(retryAfter, Duration.toMillis)),
            retryable: RetryPolicy.retryableResponse(status, response.headers["x-should-retry"]),
            ...keyField
          }))
        })
      }

      const attempt: Effect.Effect<A, OrbError.OrbError> = exchange(httpRequest).pipe(
        Effect.catchAll((error) =>
          Effect.fail(
            error === "timeout"
              ? transportFailure("Timeout", `no response within ${Duration.format(timeout)}`)
              : transportFailure("Connection", error.message)
          )
        ),
        Effect.flatMap(([response, text]) => onResponse(response, text))
      )
      if (req.retry === false) return attempt

      // A 409 that persists for one key is final (see `RetryPolicy.settleConflict`): count them across attempts.
      return Effect.suspend(() => {
        let conflictsInARow = 0
        const counted = Effect.mapError(attempt, (error) => {
          conflictsInARow = error._tag === "ResourceConflict" ? conflictsInARow + 1 : 0
          return RetryPolicy.settleConflict(error, conflictsInARow)
        })
        return Effect.retry(counted, { schedule: retrySchedule, while: OrbError.isTransient })
      })
    }

    return OrbClient.of({ request })
  })

const parseJson = (text: string): Either.Either<unknown, string> => {
  try {
    return Either.right(JSON.parse(text))
  } catch (error) {
    return Either.left(text.length === 0 ? "empty body" : `not JSON (${(error as Error).message})`)
  }
}

const decodeProblem = Schema.decodeUnknownEither(OrbError.ProblemDocument)

/**
 * The client as a layer over any `HttpClient` (`FetchHttpClient.layer`, `NodeHttpClient.layerUndici`, or a
 * test layer such as the simulator's).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<OrbClient, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.effect(OrbClient, make(options))

/**
 * Where a process finds its Orb: `ORB_API_KEY` (read as `Redacted`) and `ORB_BASE_URL` (default Orb's production
 * URL). The one reading of them, for `layerConfig` and for whatever else must know which Orb the client talks to
 * (a durable run records it).
 *
 * @since 0.2.0
 * @category configuration
 */
export const environmentConfig: {
  readonly apiKey: Config.Config<Redacted.Redacted>
  readonly baseUrl: Config.Config<string>
} = {
  apiKey: Config.redacted("ORB_API_KEY"),
  baseUrl: Config.string("ORB_BASE_URL").pipe(Config.withDefault(defaultBaseUrl))
}

/**
 * The client configured from `Config`: by default `ORB_API_KEY` (read as `Redacted`) and `ORB_BASE_URL`
 * (default Orb's production URL). Pass your own `Config` for any option to read it elsewhere.
 *
 * @example
 * ```ts
 * import { Backfills, OrbClient } from "@effect-orb/backfills"
 * import { FetchHttpClient } from "@effect/platform"
 * import { Layer } from "effect"
 *
 * // ORB_API_KEY from the environment; `NodeHttpClient.layerUndici` is the faster transport on Node.
 * export const BackfillsLive = Backfills.layer.pipe(
 *   Layer.provide(OrbClient.layerConfig()),
 *   Layer.provide(FetchHttpClient.layer)
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<Options> = environmentConfig
): Layer.Layer<OrbClient, ConfigError.ConfigError, HttpClient.HttpClient> =>
  Layer.effect(OrbClient, Effect.flatMap(Config.unwrap(config), make))

/**
 * Checks an idempotency key given by a caller: non-empty and at most 64 characters.
 *
 * @since 0.1.0
 * @category idempotency
 */
export const checkIdempotencyKey = (
  key: string | undefined,
  field = "idempotencyKey"
): Either.Either<void, OrbError.InvalidInput> =>
  key === undefined || (key.length > 0 && key.length <= maxIdempotencyKeyLength)
    ? Either.void
    : Either.left(
      new OrbError.InvalidInput({
        field,
        reason: `must be 1 to ${maxIdempotencyKeyLength} characters, got ${key.length}`
      })
    )
