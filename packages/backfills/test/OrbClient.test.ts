import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as Backfills from "../src/Backfills.js"
import * as OrbClient from "../src/OrbClient.js"
import * as OrbError from "../src/OrbError.js"
import {
  apiKey,
  clientOptions,
  makeRecording,
  makeRecordingTracer,
  problem,
  recordingBackfills,
  wireBackfill
} from "./utils.js"

const flush = Effect.repeatN(Effect.yieldNow(), 20)

describe("OrbClient", () => {
  describe("requests", () => {
    it.effect("sends bearer auth, JSON accept, a user agent and no idempotency key on GET", () => {
      const { layer, requests } = recordingBackfills(() => ({ json: wireBackfill() }))
      return Effect.gen(function*() {
        yield* Backfills.fetch("bf_1")
        assert.strictEqual(requests.length, 1)
        const [request] = requests
        assert.strictEqual(request.method, "GET")
        assert.strictEqual(request.url.href, "https://orb.test/v1/events/backfills/bf_1")
        assert.strictEqual(request.headers["authorization"], `Bearer ${apiKey}`)
        assert.strictEqual(request.headers["accept"], "application/json")
        assert.match(request.headers["user-agent"], /^effect-orb\//)
        assert.isUndefined(request.headers["idempotency-key"])
        assert.isUndefined(request.body)
      }).pipe(Effect.provide(layer))
    })

    it.effect("sends a new idempotency key of at most 64 characters on each POST call", () => {
      const { layer, requests } = recordingBackfills(() => ({ json: wireBackfill() }))
      return Effect.gen(function*() {
        yield* Backfills.close("bf_1")
        yield* Backfills.close("bf_1")
        const [first, second] = requests.map((r) => r.headers["idempotency-key"])
        assert.isString(first)
        assert.isAtMost(first.length, 64)
        assert.notStrictEqual(first, second)
      }).pipe(Effect.provide(layer))
    })

    it.effect("sends the caller's idempotency key and refuses one longer than 64 characters", () => {
      const { layer, requests } = recordingBackfills(() => ({ json: wireBackfill() }))
      return Effect.gen(function*() {
        yield* Backfills.close("bf_1", { idempotencyKey: "close-bf_1-once" })
        assert.strictEqual(requests[0].headers["idempotency-key"], "close-bf_1-once")
        const error = yield* Effect.flip(Backfills.close("bf_1", { idempotencyKey: "k".repeat(65) }))
        assert.strictEqual(error._tag, "InvalidInput")
        assert.strictEqual((error as OrbError.InvalidInput).field, "idempotencyKey")
        assert.strictEqual(requests.length, 1)
      }).pipe(Effect.provide(layer))
    })

    it.effect("joins a base URL with a trailing slash without doubling it", () => {
      const { layer, requests } = recordingBackfills(() => ({ json: wireBackfill() }), {
        baseUrl: "http://127.0.0.1:4010/v1/"
      })
      return Effect.gen(function*() {
        yield* Backfills.fetch("bf_1")
        assert.strictEqual(requests[0].url.href, "http://127.0.0.1:4010/v1/events/backfills/bf_1")
      }).pipe(Effect.provide(layer))
    })
  })

  describe("tracing", () => {
    it.effect("by default, one span per operation and no trace headers to Orb", () => {
      const { spans, tracer } = makeRecordingTracer()
      const { layer, requests } = recordingBackfills(() => ({ json: wireBackfill() }))
      return Effect.gen(function*() {
        yield* Backfills.fetch("bf_1")
        assert.deepStrictEqual(spans.map((s) => s.name), ["Backfills.fetch"])
        assert.isUndefined(requests[0].headers["traceparent"])
      }).pipe(Effect.provide(layer), Effect.withTracer(tracer))
    })

    it.effect("httpSpans: true adds the HTTP client's span and trace headers", () => {
      const { spans, tracer } = makeRecordingTracer()
      const { layer, requests } = recordingBackfills(() => ({ json: wireBackfill() }), { httpSpans: true })
      return Effect.gen(function*() {
        yield* Backfills.fetch("bf_1")
        assert.deepStrictEqual(spans.map((s) => s.name), ["Backfills.fetch", "http.client GET"])
        assert.isString(requests[0].headers["traceparent"])
      }).pipe(Effect.provide(layer), Effect.withTracer(tracer))
    })
  })

  describe("base URL", () => {
    const build = (options: Partial<OrbClient.Options>) =>
      Layer.build(
        OrbClient.layer({ ...clientOptions, ...options }).pipe(Layer.provide(makeRecording(() => "drop").layer))
      )
        .pipe(Effect.scoped, Effect.either)

    it.effect("refuses plain http to a remote host, naming the risk", () =>
      Effect.gen(function*() {
        const result = yield* build({ baseUrl: "http://orb.example.com/v1" })
        assert.isTrue(Either.isLeft(result))
        if (Either.isLeft(result)) {
          assert.include(String(result.left), "baseUrl")
          assert.include(String(result.left), "unencrypted")
        }
      }))

    it.effect("accepts http on loopback, and anywhere with allowInsecureHttp", () =>
      Effect.gen(function*() {
        for (const baseUrl of ["http://localhost:4010/v1", "http://127.0.0.1:4010/v1", "http://[::1]:4010/v1"]) {
          assert.isTrue(Either.isRight(yield* build({ baseUrl })), baseUrl)
        }
        assert.isTrue(Either.isRight(yield* build({ baseUrl: "http://orb.internal/v1", allowInsecureHttp: true })))
      }))

    it.effect("refuses options that make no sense", () =>
      Effect.gen(function*() {
        for (const options of [{ timeout: "soon" }, { maxRetryAfter: -5 }, { maxRetries: -1 }, { maxRetries: 1.5 }]) {
          const result = yield* build(options as Partial<OrbClient.Options>)
          assert.isTrue(Either.isLeft(result), JSON.stringify(options))
          if (Either.isLeft(result)) assert.include(String(result.left), Object.keys(options)[0])
        }
      }))

    it.effect("refuses a URL that is not one, or that carries credentials", () =>
      Effect.gen(function*() {
        assert.isTrue(Either.isLeft(yield* build({ baseUrl: "not a url" })))
        assert.isTrue(Either.isLeft(yield* build({ baseUrl: "ftp://orb.test/v1" })))
        assert.isTrue(Either.isLeft(yield* build({ baseUrl: "https://user:pw@orb.test/v1" })))
      }))

    it.effect("layerConfig reads ORB_API_KEY and ORB_BASE_URL", () => {
      const recording = makeRecording(() => ({ json: wireBackfill() }))
      const env = ConfigProvider.fromMap(
        new Map([["ORB_API_KEY", "sk-from-env"], ["ORB_BASE_URL", "https://eu.orb.test/v1"]])
      )
      const layer = Backfills.layer.pipe(
        Layer.provide(OrbClient.layerConfig()),
        Layer.provide(recording.layer),
        Layer.provide(Layer.setConfigProvider(env))
      )
      return Effect.gen(function*() {
        yield* Backfills.fetch("bf_1")
        assert.strictEqual(recording.requests[0].url.href, "https://eu.orb.test/v1/events/backfills/bf_1")
        assert.strictEqual(recording.requests[0].headers["authorization"], "Bearer sk-from-env")
      }).pipe(Effect.provide(layer))
    })

    it.effect("layerConfig fails with a ConfigError when ORB_API_KEY is missing", () =>
      Effect.gen(function*() {
        const layer = OrbClient.layerConfig().pipe(
          Layer.provide(makeRecording(() => "drop").layer),
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map())))
        )
        const result = yield* Layer.build(layer).pipe(Effect.scoped, Effect.either)
        assert.isTrue(Either.isLeft(result))
        if (Either.isLeft(result)) assert.include(String(result.left), "ORB_API_KEY")
      }))
  })

  describe("decoding", () => {
    const decodeWith = (reply: Parameters<typeof recordingBackfills>[0]) => {
      const { layer } = recordingBackfills(reply)
      return Backfills.fetch("bf_1").pipe(Effect.provide(layer))
    }

    it.effect("decodes snake_case into camelCase, with DateTime and Option, ignoring unknown keys", () =>
      Effect.gen(function*() {
        const backfill = yield* decodeWith(() => ({
          json: wireBackfill({ customer_id: "cus_1", events_ingested: 42, brand_new_field: { nested: true } })
        }))
        assert.strictEqual(backfill.id, "bf_1")
        assert.strictEqual(backfill.eventsIngested, 42)
        assert.deepStrictEqual(backfill.customerId, Option.some("cus_1"))
        assert.isTrue(Option.isNone(backfill.revertedAt))
        assert.isTrue(Option.isNone(backfill.deprecationFilter))
        assert.strictEqual(backfill.timeframeStart.epochMillis, Date.parse("2026-10-01T00:00:00Z"))
        assert.isFalse(backfill.replaceExistingEvents)
      }))

    it.effect("accepts a backfill without the optional deprecation_filter", () =>
      Effect.gen(function*() {
        const { deprecation_filter: _, ...rest } = wireBackfill()
        const backfill = yield* decodeWith(() => ({ json: rest }))
        assert.isTrue(Option.isNone(backfill.deprecationFilter))
      }))

    const decodeFailure = (reply: Parameters<typeof recordingBackfills>[0]) =>
      Effect.flip(decodeWith(reply)).pipe(Effect.map((error) => {
        assert.strictEqual(error._tag, "DecodeError")
        return error as OrbError.DecodeError
      }))

    it.effect("a status outside the enum is a DecodeError naming the field", () =>
      Effect.gen(function*() {
        const error = yield* decodeFailure(() => ({ json: wireBackfill({ status: "archived" }) }))
        assert.strictEqual(error.status, 200)
        assert.include(error.reason, "status")
        assert.include(error.message, "GET /events/backfills/bf_1")
      }))

    /** The failure of a fetch whose every attempt gets `reply`, with the retries' waits driven by the clock. */
    const unreadable = (reply: Parameters<typeof recordingBackfills>[0]) => {
      const { layer, requests } = recordingBackfills(reply)
      return Effect.gen(function*() {
        const fiber = yield* Effect.fork(Effect.flip(Backfills.fetch("bf_1")))
        yield* TestClock.adjust("1 minute")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "TransportError")
        return { error: error as OrbError.TransportError, requests }
      }).pipe(Effect.provide(layer))
    }

    it.effect("HTML from a proxy on a 200 is no answer: retried, then a TransportError with an excerpt", () =>
      Effect.gen(function*() {
        const html = `<html><body>${"Welcome to the captive portal ".repeat(20)}</body></html>`
        const { error, requests } = yield* unreadable(() => ({ text: html, headers: { "content-type": "text/html" } }))
        assert.strictEqual(error.reason, "UnreadableBody")
        assert.strictEqual(error.status, 200)
        assert.include(error.description, "not JSON")
        assert.isTrue(error.excerpt!.startsWith("<html><body>Welcome"))
        assert.isAtMost(error.excerpt!.length, 201)
        assert.include(error.message, "GET /events/backfills/bf_1 answered HTTP 200 with a body that is not JSON")
        assert.strictEqual(requests.length, 3)
      }))

    it.effect("truncated JSON and an empty body are unreadable; a missing field is a DecodeError", () =>
      Effect.gen(function*() {
        const truncated = JSON.stringify(wireBackfill()).slice(0, 50)
        assert.include((yield* unreadable(() => ({ text: truncated }))).error.description, "not JSON")
        assert.include((yield* unreadable(() => ({ text: "" }))).error.description, "empty body")
        const { events_ingested: _, ...missing } = wireBackfill()
        assert.include((yield* decodeFailure(() => ({ json: missing }))).reason, "events_ingested")
      }))

    it.effect("JSON of the wrong shape is an answer (a DecodeError, not retried)", () => {
      const { layer, requests } = recordingBackfills(() => ({ json: { unexpected: true } }))
      return Effect.gen(function*() {
        const error = yield* Effect.flip(Backfills.fetch("bf_1"))
        assert.strictEqual(error._tag, "DecodeError")
        assert.strictEqual(requests.length, 1)
      }).pipe(Effect.provide(layer))
    })

    it.effect("a POST whose 200 was unreadable is sent again with the same key, and the replay is the answer", () => {
      const { layer, requests } = recordingBackfills((_, index) =>
        index === 0 ? { text: "<html>502 Bad Gateway</html>" } : { json: wireBackfill({ status: "reflected" }) }
      )
      return Effect.gen(function*() {
        const fiber = yield* Effect.fork(Backfills.close("bf_1"))
        yield* TestClock.adjust("1 second")
        const backfill = yield* Fiber.join(fiber)
        assert.strictEqual(backfill.status, "reflected")
        assert.strictEqual(requests.length, 2)
        assert.strictEqual(requests[0].headers["idempotency-key"], requests[1].headers["idempotency-key"])
      }).pipe(Effect.provide(layer))
    })
  })

  describe("errors", () => {
    const cases: Array<[string, number, OrbError.ApiError["_tag"]]> = [
      ["400-constraint-violation", 400, "ConstraintViolation"],
      ["400-duplicate-resource-creation", 400, "DuplicateResourceCreation"],
      ["404-feature-not-available", 400, "FeatureNotAvailable"],
      ["400-request-validation-errors", 400, "RequestValidationError"],
      ["401-authentication-error", 401, "AuthenticationError"],
      ["404-resource-not-found", 404, "ResourceNotFound"],
      ["404-url-not-found", 404, "UrlNotFound"],
      ["413-request-too-large", 413, "RequestTooLarge"],
      ["413-resource-too-large", 413, "ResourceTooLarge"],
      ["413-too-many-results", 413, "TooManyResults"]
    ]
    for (const [fragment, status, tag] of cases) {
      it.effect(`${fragment} becomes ${tag}`, () => {
        const { layer, requests } = recordingBackfills(() => ({ status, json: problem(fragment, status) }))
        return Effect.gen(function*() {
          const error = yield* Effect.flip(Backfills.fetch("bf_1"))
          assert.strictEqual(error._tag, tag)
          const api = error as OrbError.ApiError
          assert.strictEqual(api.status, status)
          assert.strictEqual(api.type, `https://docs.withorb.com/reference/error-responses#${fragment}`)
          assert.strictEqual(api.title, "Something went wrong")
          assert.strictEqual(api.detail, "details here")
          assert.strictEqual(api.method, "GET")
          assert.strictEqual(api.path, "/events/backfills/bf_1")
          assert.strictEqual(
            api.message,
            `${tag} (HTTP ${status}) on GET /events/backfills/bf_1: Something went wrong: details here`
          )
          assert.strictEqual(requests.length, 1, "not retried")
        }).pipe(Effect.provide(layer))
      })
    }

    it.effect("a request validation error carries its validation errors", () => {
      const failures = [{ idempotency_key: "e1", validation_errors: ["timestamp outside the timeframe"] }, "odd"]
      const { layer } = recordingBackfills(() => ({
        status: 400,
        json: problem("400-request-validation-errors", 400, { validation_errors: failures })
      }))
      return Effect.gen(function*() {
        const error = yield* Effect.flip(Backfills.fetch("bf_1"))
        assert.strictEqual(error._tag, "RequestValidationError")
        const validation = error as OrbError.RequestValidationError
        assert.deepStrictEqual(validation.validationErrors, failures)
        assert.deepStrictEqual(OrbError.eventFailures(validation), [
          { idempotencyKey: "e1", validationErrors: ["timestamp outside the timeframe"] }
        ])
        assert.include(validation.message, "(2 validation errors: odd; and 1 more)")
      }).pipe(Effect.provide(layer))
    })

    it.effect("a type whose status does not match Orb's declaration falls back to the status", () => {
      const { layer } = recordingBackfills(() => ({ status: 404, json: problem("400-constraint-violation", 404) }))
      return Effect.gen(function*() {
        const error = yield* Effect.flip(Backfills.fetch("bf_1"))
        assert.strictEqual(error._tag, "ResourceNotFound")
      }).pipe(Effect.provide(layer))
    })

    it.effect("an unknown type and status is an UnknownApiError; a non-JSON error body becomes its detail", () => {
      const { layer } = recordingBackfills((_, index) =>
        index === 0
          ? { status: 418, json: { type: "https://example.com/teapot", status: 418, title: "I'm a teapot" } }
          : { status: 403, text: "<html>Forbidden by proxy</html>", headers: { "content-type": "text/html" } }
      )
      return Effect.gen(function*() {
        const first = yield* Effect.flip(Backfills.fetch("bf_1"))
        assert.strictEqual(first._tag, "UnknownApiError")
        assert.strictEqual((first as OrbError.UnknownApiError).title, "I'm a teapot")
        const second = yield* Effect.flip(Backfills.fetch("bf_1"))
        assert.strictEqual(second._tag, "UnknownApiError")
        assert.strictEqual((second as OrbError.UnknownApiError).status, 403)
        assert.strictEqual((second as OrbError.UnknownApiError).detail, "<html>Forbidden by proxy</html>")
      }).pipe(Effect.provide(layer))
    })
  })

  describe("retries", () => {
    it.effect("retries a 500 twice by default, backing off exponentially, then fails typed", () => {
      const { layer, requests } = recordingBackfills(() => ({
        status: 500,
        json: problem("500-internal-server-error", 500)
      }))
      return Effect.gen(function*() {
        const fiber = yield* Effect.fork(Effect.flip(Backfills.fetch("bf_1")))
        yield* flush
        assert.strictEqual(requests.length, 1)
        // first wait: 0.5 s scaled by a factor in [0.75, 1]
        yield* TestClock.adjust("374 millis")
        yield* flush
        assert.strictEqual(requests.length, 1)
        yield* TestClock.adjust("126 millis")
        yield* flush
        assert.strictEqual(requests.length, 2)
        // second wait: 1 s scaled
        yield* TestClock.adjust("1 second")
        yield* flush
        assert.strictEqual(requests.length, 3)
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "InternalServerError")
        assert.strictEqual(requests.length, 3)
      }).pipe(Effect.provide(layer))
    })

    it.effect("reuses one idempotency key across the retries of a POST", () => {
      const { layer, requests } = recordingBackfills((_, index) =>
        index < 2 ? "drop" : { json: wireBackfill({ status: "pending" }) }
      )
      return Effect.gen(function*() {
        const fiber = yield* Effect.fork(Backfills.close("bf_1"))
        yield* TestClock.adjust("10 seconds")
        yield* Fiber.join(fiber)
        assert.strictEqual(requests.length, 3)
        const keys = new Set(requests.map((r) => r.headers["idempotency-key"]))
        assert.strictEqual(keys.size, 1)
      }).pipe(Effect.provide(layer))
    })

    for (const status of [408, 409, 429, 502, 503]) {
      it.effect(`retries status ${status}`, () => {
        const { layer, requests } = recordingBackfills((_, index) =>
          index === 0 ? { status, json: { type: "x", status } } : { json: wireBackfill() }
        )
        return Effect.gen(function*() {
          const fiber = yield* Effect.fork(Backfills.fetch("bf_1"))
          yield* TestClock.adjust("1 second")
          yield* Fiber.join(fiber)
          assert.strictEqual(requests.length, 2)
        }).pipe(Effect.provide(layer))
      })
    }

    const waits: Array<[string, number, Record<string, string>, number]> = [
      ["Retry-After in seconds", 429, { "retry-after": "7" }, 7_000],
      ["retry-after-ms before Retry-After", 503, { "retry-after-ms": "1500", "retry-after": "30" }, 1_500],
      ["Retry-After as an HTTP date", 429, { "retry-after": new Date(20_000).toUTCString() }, 10_000]
    ]
    for (const [name, status, headers, waitMillis] of waits) {
      it.effect(`honours ${name}`, () => {
        const { layer, requests } = recordingBackfills((_, index) =>
          index === 0 ? { status, text: "", headers } : { json: wireBackfill() }
        )
        return Effect.gen(function*() {
          yield* TestClock.setTime(10_000)
          const fiber = yield* Effect.fork(Backfills.fetch("bf_1"))
          yield* flush
          yield* TestClock.adjust(waitMillis - 1)
          yield* flush
          assert.strictEqual(requests.length, 1)
          yield* TestClock.adjust(1)
          yield* Fiber.join(fiber)
          assert.strictEqual(requests.length, 2)
        }).pipe(Effect.provide(layer))
      })
    }

    it.effect("caps a requested wait at maxRetryAfter", () => {
      const { layer, requests } = recordingBackfills(
        (_, index) =>
          index === 0 ? { status: 429, text: "", headers: { "retry-after": "3600" } } : { json: wireBackfill() },
        { maxRetryAfter: Duration.seconds(5) }
      )
      return Effect.gen(function*() {
        const fiber = yield* Effect.fork(Backfills.fetch("bf_1"))
        yield* TestClock.adjust("5 seconds")
        yield* Fiber.join(fiber)
        assert.strictEqual(requests.length, 2)
      }).pipe(Effect.provide(layer))
    })

    it.effect("x-should-retry: false stops a retry; x-should-retry: true forces one", () => {
      const { layer, requests } = recordingBackfills((_, index) => {
        switch (index) {
          case 0:
            return { status: 503, text: "", headers: { "x-should-retry": "false" } }
          case 1:
            return {
              status: 400,
              json: problem("400-constraint-violation", 400),
              headers: { "x-should-retry": "true" }
            }
          default:
            return { json: wireBackfill() }
        }
      })
      return Effect.gen(function*() {
        const error = yield* Effect.flip(Backfills.fetch("bf_1"))
        assert.strictEqual(error._tag, "InternalServerError")
        assert.strictEqual(requests.length, 1)
        const fiber = yield* Effect.fork(Backfills.fetch("bf_1"))
        yield* TestClock.adjust("1 second")
        yield* Fiber.join(fiber)
        assert.strictEqual(requests.length, 3)
      }).pipe(Effect.provide(layer))
    })

    it.effect("a 409 that persists for one key fails after a few attempts, naming the key and why", () => {
      const { layer, requests } = recordingBackfills(
        () => ({ status: 409, json: problem("409-resource-conflict", 409) }),
        { maxRetries: 20 }
      )
      return Effect.gen(function*() {
        const fiber = yield* Effect.fork(Effect.flip(Backfills.close("bf_1", { idempotencyKey: "close-bf_1" })))
        yield* TestClock.adjust("1 minute")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "ResourceConflict")
        assert.strictEqual(requests.length, 4)
        assert.include(error.message, "close-bf_1 was refused 4 times in a row")
        assert.isFalse(OrbError.isTransient(error))
      }).pipe(Effect.provide(layer))
    })

    it.effect("a 409 that passes (a concurrent duplicate ending) is retried through", () => {
      const { layer, requests } = recordingBackfills(
        (_, index) =>
          index < 3 ? { status: 409, json: problem("409-resource-conflict", 409) } : { json: wireBackfill() },
        { maxRetries: 20 }
      )
      return Effect.gen(function*() {
        const fiber = yield* Effect.fork(Backfills.close("bf_1"))
        yield* TestClock.adjust("1 minute")
        yield* Fiber.join(fiber)
        assert.strictEqual(requests.length, 4)
      }).pipe(Effect.provide(layer))
    })

    it.effect("the retry verdict travels on the error: x-should-retry: false makes a 500 final", () => {
      const { layer } = recordingBackfills(() => ({
        status: 500,
        json: problem("500-internal-server-error", 500),
        headers: { "x-should-retry": "false" }
      }))
      return Effect.gen(function*() {
        const error = yield* Effect.flip(Backfills.fetch("bf_1"))
        assert.strictEqual(error._tag, "InternalServerError")
        assert.isFalse(OrbError.isTransient(error))
        const { _tag, retryable: _, ...fields } = error as OrbError.InternalServerError
        assert.isTrue(OrbError.isTransient(new OrbError.InternalServerError(fields)))
      }).pipe(Effect.provide(layer))
    })

    it.effect("a 429 that outlasts the retries carries the wait it asked for", () => {
      const { layer, requests } = recordingBackfills(() => ({
        status: 429,
        json: problem("429-too-many-requests", 429),
        headers: { "retry-after": "2" }
      }))
      return Effect.gen(function*() {
        const fiber = yield* Effect.fork(Effect.flip(Backfills.fetch("bf_1")))
        yield* TestClock.adjust("10 seconds")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "TooManyRequests")
        assert.strictEqual((error as OrbError.TooManyRequests).retryAfterMillis, 2_000)
        assert.strictEqual(requests.length, 3)
      }).pipe(Effect.provide(layer))
    })

    it.effect("maxRetries: 0 makes a single attempt", () => {
      const { layer, requests } = recordingBackfills(() => "drop", { maxRetries: 0 })
      return Effect.gen(function*() {
        const error = yield* Effect.flip(Backfills.fetch("bf_1"))
        assert.strictEqual(error._tag, "TransportError")
        assert.strictEqual((error as OrbError.TransportError).reason, "Connection")
        assert.strictEqual(requests.length, 1)
      }).pipe(Effect.provide(layer))
    })

    it.effect("a custom retrySchedule replaces the default", () => {
      const { layer, requests } = recordingBackfills(() => "drop", {
        retrySchedule: Schedule.spaced("2 seconds").pipe(Schedule.intersect(Schedule.recurs(4)))
      })
      return Effect.gen(function*() {
        const fiber = yield* Effect.fork(Effect.flip(Backfills.fetch("bf_1")))
        yield* flush
        yield* TestClock.adjust("1999 millis")
        yield* flush
        assert.strictEqual(requests.length, 1)
        yield* TestClock.adjust("1 millis")
        yield* flush
        assert.strictEqual(requests.length, 2)
        yield* TestClock.adjust("6 seconds")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "TransportError")
        assert.strictEqual(requests.length, 5)
      }).pipe(Effect.provide(layer))
    })

    it.effect("an attempt without a response times out, and the timeout is retried", () => {
      const { layer, requests } = recordingBackfills((_, index) => index === 0 ? "hang" : { json: wireBackfill() }, {
        timeout: Duration.seconds(10)
      })
      return Effect.gen(function*() {
        const fiber = yield* Effect.fork(Backfills.fetch("bf_1"))
        yield* flush
        yield* TestClock.adjust("10 seconds")
        yield* flush
        yield* TestClock.adjust("1 second")
        const backfill = yield* Fiber.join(fiber)
        assert.strictEqual(backfill.id, "bf_1")
        assert.strictEqual(requests.length, 2)
      }).pipe(Effect.provide(layer))
    })

    it.effect("every attempt timing out ends in a TransportError with reason Timeout", () => {
      const { layer, requests } = recordingBackfills(() => "hang", { timeout: Duration.seconds(1), maxRetries: 1 })
      return Effect.gen(function*() {
        const fiber = yield* Effect.fork(Effect.flip(Backfills.fetch("bf_1")))
        yield* TestClock.adjust("10 seconds")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "TransportError")
        assert.strictEqual((error as OrbError.TransportError).reason, "Timeout")
        assert.strictEqual(requests.length, 2)
      }).pipe(Effect.provide(layer))
    })

    it.effect("logs one debug line per retry", () => {
      const lines: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        if (logLevel === LogLevel.Debug) lines.push(String(message))
      })
      const { layer } = recordingBackfills((_, index) => index < 2 ? "drop" : { json: wireBackfill() })
      return Effect.gen(function*() {
        const fiber = yield* Effect.fork(Backfills.fetch("bf_1"))
        yield* TestClock.adjust("10 seconds")
        yield* Fiber.join(fiber)
        assert.strictEqual(lines.length, 2)
        assert.match(lines[0], /^Retrying GET \/events\/backfills\/bf_1 in /)
      }).pipe(
        Effect.provide(layer),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
        Logger.withMinimumLogLevel(LogLevel.Debug)
      )
    })
  })

  describe("secrets", () => {
    it.effect("the API key appears in no error, log line or span", () => {
      const seen: Array<string> = []
      const logger = Logger.make((options) => {
        seen.push(JSON.stringify({ message: options.message, annotations: [...options.annotations] }))
      })
      const { spans, tracer } = makeRecordingTracer()
      const { layer } = recordingBackfills((request, index) =>
        request.method === "POST"
          ? index % 2 === 0 ? "drop" : { status: 503, text: "" }
          : { status: 401, json: problem("401-authentication-error", 401, { detail: "bad key" }) }, { httpSpans: true })
      return Effect.gen(function*() {
        const fiber = yield* Effect.fork(Effect.all([
          Effect.flip(Backfills.fetch("bf_1")),
          Effect.flip(Backfills.close("bf_1"))
        ]))
        yield* TestClock.adjust("1 minute")
        const errors = yield* Fiber.join(fiber)
        assert.deepStrictEqual(errors.map((e) => e._tag), ["AuthenticationError", "InternalServerError"])
        for (const error of errors) seen.push(String(error), error.message, JSON.stringify(error))
        assert.isAbove(spans.length, 2)
        assert.isAbove(seen.length, 5)
        for (const text of [...seen, ...spans.map((span) => span.dump())]) {
          assert.notInclude(text, apiKey)
        }
      }).pipe(
        Effect.provide(layer),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
        Logger.withMinimumLogLevel(LogLevel.All),
        Effect.withTracer(tracer)
      )
    })
  })
})
