/**
 * Every operation against generated malformed responses: any status, odd retry headers, bodies that are empty,
 * cut, HTML, nested deep, huge, of the wrong types, valid but for one field, not UTF-8, or that fail while being
 * read. Whatever the answers, each operation ends, in bounded (virtual) time, with a success or with one of the
 * library's typed errors, never a defect or an interruption, and every error prints short.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as HashSet from "effect/HashSet"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as util from "node:util"
import type * as Backfill from "../src/Backfill.js"
import * as Backfills from "../src/Backfills.js"
import * as Events from "../src/Events.js"
import * as OrbClient from "../src/OrbClient.js"
import * as OrbError from "../src/OrbError.js"
import { apiKey, clientOptions, problem, wireBackfill } from "./utils.js"

// ---------------------------------------------------------------------------------------------------------
// generated responses

interface Answer {
  readonly status: number
  readonly headers: Record<string, string>
  /** The body's bytes, decoded as a `Response` decodes them (invalid UTF-8 becomes U+FFFD). */
  readonly body: Uint8Array | string
  /** No response (a connection refused or reset), or a body that fails while being read (cut mid-body). */
  readonly failure: "none" | "connection" | "body"
}

const fc = FastCheck

const status = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(200, 201, 204, 400, 401, 404, 409, 413, 429, 500, 502, 503) },
  { weight: 2, arbitrary: fc.integer({ min: 100, max: 599 }) }
)

const junk = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "-1",
    "0",
    "1",
    "0.001",
    "1e308",
    "1e-7",
    "NaN",
    "Infinity",
    "-Infinity",
    "true",
    "false",
    "TRUE",
    "yes",
    "99999999999999999999",
    "Wed, 21 Oct 2015 07:28:00 GMT",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "tomorrow",
    "3 ",
    " 2",
    "0x10",
    "1,000"
  ),
  fc.string({ maxLength: 20 }).map((s) => s.replace(/[^\x20-\x7e]/g, "?"))
)

const headers = fc.dictionary(
  fc.constantFrom("retry-after", "retry-after-ms", "x-should-retry", "content-type", "transient-error"),
  junk,
  { maxKeys: 3 }
)

const deepArray = (depth: number) => "[".repeat(depth) + "]".repeat(depth)
const deepObject = (depth: number) => "{\"a\":".repeat(depth) + "null" + "}".repeat(depth)

const jsonValue = fc.jsonValue({ maxDepth: 3 })

const backfillKeys = Object.keys(wireBackfill())

/** A valid backfill with one field replaced, removed or made odd. */
const brokenBackfill = fc.tuple(fc.constantFrom(...backfillKeys), fc.oneof(jsonValue, fc.constant(undefined))).map(
  ([key, value]) => ({ ...wireBackfill(), [key]: value })
)

const validBackfill = fc.constantFrom(
  wireBackfill(),
  wireBackfill({ status: "reflected", close_time: null }),
  wireBackfill({ status: "reverted", reverted_at: "2026-11-03T00:00:00Z" }),
  wireBackfill({ status: "pending_revert" })
)

const page = fc.record({
  data: fc.array(fc.oneof(validBackfill, brokenBackfill), { maxLength: 3 }),
  pagination_metadata: fc.oneof(
    fc.record({
      has_more: fc.oneof(fc.boolean(), jsonValue),
      next_cursor: fc.oneof(fc.constantFrom(null, "", "A", "B", "c1"), fc.string({ maxLength: 8 }))
    }),
    jsonValue
  )
})

/** An event of a search answer, valid or with one field replaced, removed or made odd. */
const wireEvent = {
  id: "k0",
  customer_id: "cus_1",
  external_customer_id: null,
  event_name: "api_call",
  properties: { n: 1 },
  timestamp: "2026-10-02T00:00:00Z",
  deprecated: false
}
const searchEvent = fc.oneof(
  fc.constant(wireEvent),
  fc.tuple(fc.constantFrom(...Object.keys(wireEvent)), fc.oneof(jsonValue, fc.constant(undefined))).map((
    [key, value]
  ) => ({ ...wireEvent, [key]: value }))
)

const hour = (n: number) => ({
  timeframe_start: new Date(Date.UTC(2026, 9, 1, n)).toISOString(),
  timeframe_end: new Date(Date.UTC(2026, 9, 1, n + 1)).toISOString(),
  count: n
})
const volume = fc.oneof(
  fc.integer({ min: 0, max: 48 }).map(hour),
  fc.tuple(fc.constantFrom("timeframe_start", "timeframe_end", "count"), fc.oneof(jsonValue, fc.constant(undefined)))
    .map(([key, value]) => ({ ...hour(0), [key]: value }))
)

/** A search answer or a page of hourly counts, with or without `pagination_metadata`. */
const eventsAnswer = fc.oneof(
  fc.record({ data: fc.array(searchEvent, { maxLength: 3 }) }),
  fc.record({
    data: fc.array(volume, { maxLength: 4 }),
    pagination_metadata: fc.oneof(
      fc.record({
        has_more: fc.oneof(fc.boolean(), jsonValue),
        next_cursor: fc.oneof(fc.constantFrom(null, "", "A", "B", "c1"), fc.string({ maxLength: 8 }))
      }),
      jsonValue,
      fc.constant(undefined)
    )
  })
)

const problemDocument = fc.record({
  fragment: fc.constantFrom(
    "400-constraint-violation",
    "400-request-validation-errors",
    "401-authentication-error",
    "404-resource-not-found",
    "409-resource-conflict",
    "413-request-too-large",
    "429-too-many-requests",
    "500-internal-server-error",
    "999-made-up"
  ),
  status: fc.oneof(fc.constantFrom(400, 401, 404, 409, 413, 429, 500), jsonValue),
  title: fc.oneof(fc.string({ maxLength: 30 }), jsonValue, fc.constant(undefined)),
  detail: fc.oneof(fc.string({ maxLength: 30 }), jsonValue, fc.constant(undefined)),
  validation_errors: fc.oneof(
    fc.array(
      fc.oneof(
        fc.record({ idempotency_key: fc.constantFrom("k0", "k1", "k2"), validation_errors: fc.array(fc.string()) }),
        jsonValue
      ),
      { maxLength: 4 }
    ),
    jsonValue,
    fc.constant(undefined)
  )
}).map(({ fragment, status, ...rest }) => problem(fragment, status as number, rest))

const huge = fc.constantFrom(
  JSON.stringify(wireBackfill({ status: "x".repeat(100_000) })),
  JSON.stringify(problem("400-constraint-violation", 400, { title: "t".repeat(100_000) })),
  JSON.stringify({ validation_failed: [{ idempotency_key: "k", validation_errors: ["e".repeat(100_000)] }] }),
  "<html>" + "x".repeat(100_000)
)

const text = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom("", " ", "null", "[]", "{}", "\"\"", "0", "true") },
  { weight: 1, arbitrary: fc.constantFrom("<html><body>502 Bad Gateway</body></html>", "Service Unavailable") },
  { weight: 1, arbitrary: fc.constantFrom(deepArray(2_166), deepObject(2_166), deepArray(10_000)) },
  { weight: 1, arbitrary: huge },
  { weight: 2, arbitrary: jsonValue.map((v) => JSON.stringify(v)) },
  { weight: 3, arbitrary: fc.oneof(validBackfill, brokenBackfill).map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: page.map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: eventsAnswer.map((v) => JSON.stringify(v)) },
  { weight: 2, arbitrary: problemDocument.map((v) => JSON.stringify(v)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      JSON.stringify({ validation_failed: [] }),
      JSON.stringify({ validation_failed: [{ idempotency_key: "k0", validation_errors: ["bad"] }] }),
      JSON.stringify({ validation_failed: "no" })
    )
  },
  // Nested deep inside an otherwise valid document.
  {
    weight: 1,
    arbitrary: fc.constantFrom(...backfillKeys).map((key) =>
      JSON.stringify({ ...wireBackfill(), [key]: "@" }).replace("\"@\"", deepArray(2_166))
    )
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      JSON.stringify(problem("400-request-validation-errors", 400, { validation_errors: ["@"] })),
      JSON.stringify(problem("400-constraint-violation", 400, { detail: "@" }))
    ).map((s) => s.replace("\"@\"", deepArray(2_166)))
  }
)

/** A cut document: a prefix of a valid one. */
const truncated = fc.tuple(fc.oneof(validBackfill, page, problemDocument), fc.double({ min: 0, max: 1, noNaN: true }))
  .map(([value, at]) => {
    const whole = JSON.stringify(value)
    return whole.slice(0, Math.floor(whole.length * at))
  })

/** Bytes that are not UTF-8, around a valid document or alone. */
const notUtf8 = fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.oneof(validBackfill, page)).map(
  ([bytes, value]) => {
    const json = new TextEncoder().encode(JSON.stringify(value))
    const out = new Uint8Array(bytes.length + json.length + 2)
    out.set([0xff, 0xfe])
    out.set(bytes, 2)
    out.set(json, bytes.length + 2)
    return out
  }
)

const answer: FastCheck.Arbitrary<Answer> = fc.record({
  status,
  headers,
  body: fc.oneof({ weight: 8, arbitrary: text }, { weight: 1, arbitrary: truncated }, {
    weight: 1,
    arbitrary: notUtf8
  }),
  failure: fc.constantFrom("none", "none", "none", "none", "none", "none", "none", "none", "connection", "body")
})

/** The answers of a run, given in turn to its requests (round and round). */
const answers = fc.array(answer, { minLength: 1, maxLength: 4 })

// ---------------------------------------------------------------------------------------------------------
// an HttpClient that answers them

const decoder = new TextDecoder()

/** The answers of the run in progress (runs go one at a time), given in turn to its requests. */
const current = { script: [] as ReadonlyArray<Answer>, index: 0 }

const scripted = HttpClient.make((request) =>
  Effect.suspend(() => {
    const { body, failure, headers, status } = current.script[current.index++ % current.script.length]
    if (failure === "connection") {
      return Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", description: "ECONNRESET" }))
    }
    const text = typeof body === "string" ? body : decoder.decode(body)
    // What `fromWeb` reads of a `Response`, without the `Response` (which refuses a 1xx status, or a body on a
    // 204): the status, the headers, and the body as text.
    const source = {
      status,
      headers: new globalThis.Headers(headers),
      text: () => (failure === "body" ? Promise.reject(new TypeError("terminated")) : Promise.resolve(text))
    } as unknown as Response
    return Effect.succeed(HttpClientResponse.fromWeb(request, source))
  })
)

// Built once for all runs (building it per run would cost more than the run): nothing in it outlives a call.
const services = Effect.runSync(Effect.scoped(Layer.build(
  Layer.merge(Backfills.layer, Events.layer).pipe(
    // The default retries, timeout and waits: virtual time makes them free.
    Layer.provideMerge(OrbClient.layer(clientOptions)),
    Layer.provide(Layer.succeed(HttpClient.HttpClient, scripted)),
    Layer.orDie
  )
)))

// ---------------------------------------------------------------------------------------------------------
// the operations

const event = (i: number): Backfill.IngestEvent => ({
  eventName: "api_call",
  timestamp: DateTime.unsafeMake(Date.UTC(2026, 9, 2) + i * 60_000),
  properties: { n: i },
  externalCustomerId: "customer-1",
  idempotencyKey: `k${i}`
})

const operations: Record<string, Effect.Effect<unknown, unknown, Backfills.Backfills | Events.Events>> = {
  create: Backfills.create({
    timeframeStart: DateTime.unsafeMake("2026-10-01T00:00:00Z"),
    timeframeEnd: DateTime.unsafeMake("2026-10-08T00:00:00Z"),
    replaceExistingEvents: false
  }),
  fetch: Backfills.fetch("bf_1"),
  listPage: Backfills.listPage({ limit: 3 }),
  list: Stream.runCollect(Stream.take(Backfills.list({ limit: 3 }), 20)),
  close: Backfills.close("bf_1"),
  revert: Backfills.revert("bf_1"),
  ingest: Backfills.ingest("bf_1", [event(0), event(1)]),
  search: Events.search({ eventIds: ["k0", "k1"] }),
  volume: Stream.runCollect(
    Stream.take(Events.volume({ timeframeStart: DateTime.unsafeMake("2026-10-01T00:00:00Z"), limit: 3 }), 20)
  ),
  awaitStatus: Backfills.awaitStatus("bf_1", "reflected", { timeout: Duration.minutes(2) }),
  ingestStream: Backfills.ingestStream("bf_1", Stream.range(0, 4).pipe(Stream.map(event)), {
    quota: false,
    batchSize: 2,
    concurrency: 2,
    maxAttempts: 3
  })
}

/** Every error class of the library, by tag. */
const libraryTags = new Set(
  Object.values(OrbError).flatMap((value) =>
    typeof value === "function" && value.prototype instanceof Error
      ? [(value as { readonly _tag?: string })._tag ?? value.name]
      : []
  )
)

// ---------------------------------------------------------------------------------------------------------
// the run

/**
 * Virtual time at the pace of the CPU: a `Clock` whose sleeps end, earliest first, as soon as everything else
 * has run (one `setImmediate` per wake-up), instead of `TestClock.adjust`, which waits for real timers at each
 * step and would make a few thousand runs take minutes. Past `bound` of virtual time it wakes no one and calls
 * `onBound`: the run did not end in time.
 */
const makeVirtualClock = (start: number, bound: Duration.Duration, onBound: () => void): Clock.Clock => {
  let now = start
  let seq = 0
  let scheduled = false
  const end = start + Duration.toMillis(bound)
  const sleepers: Array<{ readonly at: number; readonly seq: number; readonly wake: () => void }> = []
  const tick = () => {
    scheduled = false
    if (sleepers.length === 0) return
    sleepers.sort((a, b) => a.at - b.at || a.seq - b.seq)
    const next = sleepers[0]
    if (next.at > end) return onBound()
    sleepers.shift()
    now = Math.max(now, next.at)
    next.wake()
    schedule()
  }
  const schedule = () => {
    if (!scheduled && sleepers.length > 0) {
      scheduled = true
      setImmediate(tick)
    }
  }
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => now,
    unsafeCurrentTimeNanos: () => BigInt(Math.floor(now * 1_000_000)),
    currentTimeMillis: Effect.sync(() => now),
    currentTimeNanos: Effect.sync(() => BigInt(Math.floor(now * 1_000_000))),
    sleep: (duration) =>
      Effect.async<void>((resume) => {
        const sleeper = { at: now + Duration.toMillis(duration), seq: seq++, wake: () => resume(Effect.void) }
        sleepers.push(sleeper)
        schedule()
        return Effect.sync(() => {
          const index = sleepers.indexOf(sleeper)
          if (index >= 0) sleepers.splice(index, 1)
        })
      })
  }
}

// Far beyond a run's retries, waits and `awaitStatus` timeout; and in real time, for a run stuck without sleeping.
const virtualBound = Duration.minutes(10)
// Per operation: with a dozen operations, a few thousand runs in all.
const runs = 250
const wallBound = Duration.seconds(10)

const runCase = (
  operation: Effect.Effect<unknown, unknown, Backfills.Backfills | Events.Events>,
  script: ReadonlyArray<Answer>
) =>
  Effect.gen(function*() {
    const stuck = yield* Deferred.make<string>()
    // Orb's now, so that the events of `ingest` are neither in the future nor long past.
    const clock = makeVirtualClock(Date.UTC(2026, 10, 5), virtualBound, () => {
      Deferred.unsafeDone(stuck, Exit.succeed(`did not end within ${Duration.format(virtualBound)} (virtual)`))
    })
    const timer = setTimeout(() => {
      Deferred.unsafeDone(stuck, Exit.succeed(`did not end within ${Duration.format(wallBound)} (real)`))
    }, Duration.toMillis(wallBound))
    current.script = script
    current.index = 0
    const fiber = yield* Effect.fork(Effect.withClock(Effect.provide(operation, services), clock))
    const ended = yield* Effect.raceFirst(
      Effect.map(Fiber.await(fiber), Either.right),
      Effect.map(Deferred.await(stuck), Either.left)
    )
    clearTimeout(timer)
    if (Either.isLeft(ended)) {
      yield* Fiber.interrupt(fiber)
      return assert.fail(ended.left)
    }
    const exit = ended.right
    if (Exit.isSuccess(exit)) return
    const { cause } = exit
    const pretty = () => Cause.pretty(cause).slice(0, 2_000)
    assert.strictEqual(Chunk.size(Cause.defects(cause)), 0, pretty())
    assert.strictEqual(HashSet.size(Cause.interruptors(cause)), 0, pretty())
    const failures = [...Cause.failures(cause)]
    assert.isAtLeast(failures.length, 1)
    for (const error of failures) {
      const tag = (error as { readonly _tag?: unknown })._tag
      assert.isTrue(typeof tag === "string" && libraryTags.has(tag), `not a library error: ${String(tag)}`)
      const message = (error as Error).message
      assert.isString(message)
      assert.isAtMost(message.length, 4_000, message.slice(0, 200))
      // Printing it neither throws nor copies the body, and the key is in none of it.
      const printed = util.inspect(error) + JSON.stringify(error) + String(error)
      assert.isAtMost(printed.length, 500_000)
      assert.notInclude(printed, apiKey)
    }
  })

describe("fuzzed responses", () => {
  it("knows the library's error tags", () => {
    for (const tag of ["DecodeError", "TransportError", "UnknownApiError", "RequestValidationError", "AwaitTimeout"]) {
      assert.isTrue(libraryTags.has(tag), tag)
    }
  })

  for (const [name, operation] of Object.entries(operations)) {
    // A plain `it`: each run keeps its own clock, and a test environment per run would cost more than the run.
    it(`${name}: a success or a typed failure, in bounded time`, () =>
      fc.assert(
        fc.asyncProperty(answers, (script) => Effect.runPromise(runCase(operation, script))),
        { numRuns: runs }
      ))
  }
})
