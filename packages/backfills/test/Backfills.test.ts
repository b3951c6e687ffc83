import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Backfill from "../src/Backfill.js"
import * as Backfills from "../src/Backfills.js"
import { encodeEvent } from "../src/internal/events.js"
import type * as OrbError from "../src/OrbError.js"
import {
  inFixtureTime,
  makeRecordingTracer,
  problem,
  type Recorded,
  recordingBackfills,
  wireBackfill
} from "./utils.js"

const utc = (iso: string) => DateTime.unsafeMake(iso)

const week: Backfill.CreateBackfill = {
  timeframeStart: utc("2026-10-01T00:00:00Z"),
  timeframeEnd: utc("2026-10-08T00:00:00Z"),
  replaceExistingEvents: false
}

const event = (overrides: Partial<Backfill.IngestEvent> = {}): Backfill.IngestEvent => ({
  eventName: "api_call",
  timestamp: utc("2026-10-02T12:00:00Z"),
  properties: { region: "eu", units: 3, billable: true },
  externalCustomerId: "acme",
  ...overrides
})

const json = (request: Recorded) => JSON.parse(request.body ?? "null")

const invalidInput = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.flip(effect), (error) => {
    assert.strictEqual(error._tag, "InvalidInput", String(error))
    return error as unknown as OrbError.InvalidInput
  })

describe("Backfills", () => {
  describe("create", () => {
    it.effect("posts the snake_case NewBackfill body and decodes the backfill", () => {
      const { layer, requests } = recordingBackfills(() => ({ json: wireBackfill({ id: "bf_new" }) }))
      return Effect.gen(function*() {
        const backfill = yield* Backfills.create({
          ...week,
          replaceExistingEvents: true,
          externalCustomerId: "acme",
          closeTime: utc("2026-11-02T00:00:00Z"),
          deprecationFilter: "region = 'eu'"
        })
        assert.strictEqual(backfill.id, "bf_new")
        const [request] = requests
        assert.strictEqual(request.method, "POST")
        assert.strictEqual(request.url.pathname, "/v1/events/backfills")
        assert.strictEqual(request.headers["content-type"], "application/json")
        assert.deepStrictEqual(json(request), {
          timeframe_start: "2026-10-01T00:00:00.000Z",
          timeframe_end: "2026-10-08T00:00:00.000Z",
          replace_existing_events: true,
          external_customer_id: "acme",
          close_time: "2026-11-02T00:00:00.000Z",
          deprecation_filter: "region = 'eu'"
        })
      }).pipe(Effect.provide(layer))
    })

    it.effect("sends replace_existing_events: false explicitly and leaves out what was not given", () => {
      const { layer, requests } = recordingBackfills(() => ({ json: wireBackfill() }))
      return Effect.gen(function*() {
        yield* Backfills.create(week)
        assert.deepStrictEqual(json(requests[0]), {
          timeframe_start: "2026-10-01T00:00:00.000Z",
          timeframe_end: "2026-10-08T00:00:00.000Z",
          replace_existing_events: false
        })
      }).pipe(Effect.provide(layer))
    })

    describe("safety rails, checked before any request", () => {
      const refused = (input: unknown, field: string, reason: RegExp) => {
        const { layer, requests } = recordingBackfills(() => ({ json: wireBackfill() }))
        return Effect.gen(function*() {
          const error = yield* invalidInput(Backfills.create(input as Backfill.CreateBackfill))
          assert.strictEqual(error.field, field)
          assert.match(error.reason, reason)
          assert.include(error.message, field)
          assert.strictEqual(requests.length, 0, "nothing was sent")
        }).pipe(Effect.provide(layer))
      }

      it.effect("replaceExistingEvents must be given", () => {
        const { replaceExistingEvents: _, ...input } = week
        return refused(input, "replaceExistingEvents", /explicitly/)
      })

      it.effect("the end must be after the start", () =>
        refused({ ...week, timeframeEnd: week.timeframeStart }, "timeframeEnd", /after timeframeStart/))

      it.effect("the timeframe is at most 31 days", () =>
        refused(
          { ...week, timeframeEnd: utc("2026-11-01T00:00:01Z") },
          "timeframeEnd",
          /^the timeframe spans 31 days 1 second, 1 second more than the 31 days the account allows per backfill/
        ))

      it.effect("exactly 31 days is allowed", () => {
        const { layer, requests } = recordingBackfills(() => ({ json: wireBackfill() }))
        return Backfills.create({ ...week, timeframeEnd: utc("2026-11-01T00:00:00Z") }).pipe(
          Effect.map(() => assert.strictEqual(requests.length, 1)),
          Effect.provide(layer)
        )
      })

      it.effect("at most one of customerId and externalCustomerId", () =>
        refused({ ...week, customerId: "cus_1", externalCustomerId: "acme" }, "externalCustomerId", /at most one/))

      it.effect("an empty customer id", () => refused({ ...week, customerId: "" }, "customerId", /non-empty/))
    })
  })

  describe("fetch, close and revert", () => {
    it.effect("use the backfill's path, percent-encoded", () => {
      const { layer, requests } = recordingBackfills(() => ({ json: wireBackfill() }))
      return Effect.gen(function*() {
        yield* Backfills.fetch("bf/1 ?#")
        yield* Backfills.close("bf_1")
        yield* Backfills.revert("bf_1")
        assert.deepStrictEqual(requests.map((r) => `${r.method} ${r.url.pathname}${r.url.search}`), [
          "GET /v1/events/backfills/bf%2F1%20%3F%23",
          "POST /v1/events/backfills/bf_1/close",
          "POST /v1/events/backfills/bf_1/revert"
        ])
        assert.isUndefined(requests[1].body, "close sends no body")
        assert.isUndefined(requests[2].body, "revert sends no body")
      }).pipe(Effect.provide(layer))
    })

    it.effect("refuse an empty id, '.' and '..' without sending anything", () => {
      const { layer, requests } = recordingBackfills(() => ({ json: wireBackfill() }))
      return Effect.gen(function*() {
        for (const id of ["", ".", ".."]) {
          assert.strictEqual((yield* invalidInput(Backfills.fetch(id))).field, "id")
          assert.strictEqual((yield* invalidInput(Backfills.close(id))).field, "id")
          assert.strictEqual((yield* invalidInput(Backfills.revert(id))).field, "id")
        }
        assert.strictEqual(requests.length, 0)
      }).pipe(Effect.provide(layer))
    })

    it.effect("a missing backfill is a ResourceNotFound", () => {
      const { layer } = recordingBackfills(() => ({ status: 404, json: problem("404-resource-not-found", 404) }))
      return Effect.gen(function*() {
        const error = yield* Effect.flip(Backfills.fetch("bf_gone"))
        assert.strictEqual(error._tag, "ResourceNotFound")
      }).pipe(Effect.provide(layer))
    })

    it.effect("each operation is a span named after it, with the backfill id", () => {
      const { tracer, spans } = makeRecordingTracer()
      const { layer } = recordingBackfills(() => ({ json: wireBackfill({ id: "bf_9" }) }))
      return Effect.gen(function*() {
        yield* Backfills.create(week)
        yield* Backfills.fetch("bf_9")
        yield* Backfills.close("bf_9")
        yield* Backfills.revert("bf_9")
        for (const name of ["Backfills.create", "Backfills.fetch", "Backfills.close", "Backfills.revert"]) {
          const span = spans.find((s) => s.name === name)
          assert.isDefined(span, name)
          assert.strictEqual(span!.attributes.get("backfill.id"), "bf_9", name)
        }
      }).pipe(Effect.provide(layer), Effect.withTracer(tracer))
    })
  })

  describe("list", () => {
    const pages = (count: number, perPage: number) => (request: Recorded) => {
      const cursor = request.url.searchParams.get("cursor")
      const page = cursor === null ? 0 : Number(cursor.replace("c", ""))
      const data = Array.from({ length: perPage }, (_, i) => wireBackfill({ id: `bf_${page}_${i}` }))
      const last = page === count - 1
      return {
        json: { data, pagination_metadata: { has_more: !last, next_cursor: last ? null : `c${page + 1}` } }
      }
    }

    it.effect("streams every page, re-sending the limit with each cursor", () => {
      const { layer, requests } = recordingBackfills(pages(3, 2))
      return Effect.gen(function*() {
        const all = yield* Stream.runCollect(Backfills.list({ limit: 2 }))
        assert.deepStrictEqual(Chunk.toReadonlyArray(all).map((b) => b.id), [
          "bf_0_0",
          "bf_0_1",
          "bf_1_0",
          "bf_1_1",
          "bf_2_0",
          "bf_2_1"
        ])
        assert.deepStrictEqual(requests.map((r) => r.url.search), [
          "?limit=2",
          "?limit=2&cursor=c1",
          "?limit=2&cursor=c2"
        ])
      }).pipe(Effect.provide(layer))
    })

    it.effect("is lazy: nothing is fetched until pulled, and only the pages needed", () => {
      const { layer, requests } = recordingBackfills(pages(10, 5))
      return Effect.gen(function*() {
        const stream = Backfills.list({ limit: 5 })
        assert.strictEqual(requests.length, 0)
        const first = yield* Stream.runCollect(Stream.take(stream, 7))
        assert.strictEqual(first.length, 7)
        assert.strictEqual(requests.length, 2)
      }).pipe(Effect.provide(layer))
    })

    it.effect("stops on an empty page even when a cursor is given", () => {
      const { layer, requests } = recordingBackfills(() => ({
        json: { data: [], pagination_metadata: { has_more: true, next_cursor: "again" } }
      }))
      return Effect.gen(function*() {
        const all = yield* Stream.runCollect(Backfills.list())
        assert.strictEqual(all.length, 0)
        assert.strictEqual(requests.length, 1)
        assert.strictEqual(requests[0].url.search, "")
      }).pipe(Effect.provide(layer))
    })

    it.effect("fails when the server repeats a cursor, instead of looping or silently stopping", () => {
      const { layer, requests } = recordingBackfills(() => ({
        json: { data: [wireBackfill()], pagination_metadata: { has_more: true, next_cursor: "same" } }
      }))
      return Effect.gen(function*() {
        const error = yield* Effect.flip(Stream.runCollect(Backfills.list()))
        assert.strictEqual(error._tag, "DecodeError")
        assert.include((error as OrbError.DecodeError).reason, "\"same\" was already followed")
        assert.strictEqual(requests.length, 2)
      }).pipe(Effect.provide(layer))
    })

    it.effect("listPage decodes the pagination metadata and refuses a limit outside 1..100", () => {
      const { layer, requests } = recordingBackfills(pages(2, 1))
      return Effect.gen(function*() {
        const page = yield* Backfills.listPage({ limit: 1 })
        assert.strictEqual(page.paginationMetadata.nextCursor, "c1")
        assert.isTrue(page.paginationMetadata.hasMore)
        for (const limit of [0, 101, 1.5]) {
          assert.strictEqual((yield* invalidInput(Backfills.listPage({ limit }))).field, "limit")
        }
        assert.strictEqual(requests.length, 1)
      }).pipe(Effect.provide(layer))
    })

    it.effect("a failing page fails the stream with the typed error", () => {
      const { layer } = recordingBackfills((request) =>
        request.url.searchParams.has("cursor")
          ? { status: 401, json: problem("401-authentication-error", 401) }
          : pages(3, 1)(request)
      )
      return Effect.gen(function*() {
        const error = yield* Effect.flip(Stream.runCollect(Backfills.list()))
        assert.strictEqual(error._tag, "AuthenticationError")
      }).pipe(Effect.provide(layer))
    })
  })

  describe("ingest", () => {
    it.effect("posts the events in snake_case to /ingest?backfill_id=, without debug", () => {
      const { layer, requests } = recordingBackfills(() => ({ json: { validation_failed: [] } }))
      return Effect.gen(function*() {
        const result = yield* Backfills.ingest("bf 1", [
          event({ idempotencyKey: "k1" }),
          event({ idempotencyKey: "k2", externalCustomerId: undefined, customerId: "cus_1", properties: {} })
        ])
        assert.deepStrictEqual(result.validationFailed, [])
        const [request] = requests
        assert.strictEqual(request.method, "POST")
        assert.strictEqual(request.url.pathname, "/v1/ingest")
        assert.deepStrictEqual([...request.url.searchParams], [["backfill_id", "bf 1"]])
        assert.isString(request.headers["idempotency-key"])
        assert.deepStrictEqual(json(request), {
          events: [
            {
              event_name: "api_call",
              timestamp: "2026-10-02T12:00:00.000Z",
              properties: { region: "eu", units: 3, billable: true },
              idempotency_key: "k1",
              external_customer_id: "acme"
            },
            {
              event_name: "api_call",
              timestamp: "2026-10-02T12:00:00.000Z",
              properties: {},
              idempotency_key: "k2",
              customer_id: "cus_1"
            }
          ]
        })
      }).pipe(Effect.provide(layer), inFixtureTime)
    })

    it.effect("derives a stable key from the content of an event that has none", () => {
      const { layer, requests } = recordingBackfills(() => ({ json: { validation_failed: [] } }))
      return Effect.gen(function*() {
        yield* Backfills.ingest("bf_1", [event(), event({ properties: { units: 3, billable: true, region: "eu" } })])
        yield* Backfills.ingest("bf_1", [event({ properties: { region: "eu", units: 4, billable: true } })])
        const [first, reordered] = json(requests[0]).events.map((e: { idempotency_key: string }) => e.idempotency_key)
        const [other] = json(requests[1]).events.map((e: { idempotency_key: string }) => e.idempotency_key)
        assert.strictEqual(first, reordered, "property order does not matter")
        assert.notStrictEqual(first, other, "a different value gives a different key")
        assert.match(first, /^eo1-[A-Za-z0-9_-]{43}$/)
        assert.strictEqual(first, yield* Backfill.deriveIdempotencyKey(event()))
      }).pipe(Effect.provide(layer), inFixtureTime)
    })

    it("writes events on the wire exactly as the IngestEvent Schema encodes them", () => {
      const encode = Schema.encodeSync(Backfill.IngestEvent)
      const cases: Array<Backfill.IngestEvent> = [
        event({ idempotencyKey: "k1" }),
        event({ idempotencyKey: "k2", externalCustomerId: undefined, customerId: "cus_1", properties: {} }),
        event({ idempotencyKey: "k3", timestamp: utc("2026-10-02T12:00:00.123Z"), properties: { a: 0, b: false } })
      ]
      for (const e of cases) {
        assert.strictEqual(JSON.stringify(encodeEvent(e, e.idempotencyKey)), JSON.stringify(encode(e)))
      }
    })

    it.effect("refuses invalid events by position, sending nothing", () => {
      const { layer, requests } = recordingBackfills(() => ({ json: { validation_failed: [] } }))
      const cases: Array<[Backfill.IngestEvent, string, RegExp]> = [
        [event({ externalCustomerId: undefined }), "events[1].customerId", /give one of/],
        [event({ customerId: "cus_1" }), "events[1].customerId", /only one/],
        [event({ properties: { nested: { a: 1 } as never } }), "events[1].properties.nested", /no nesting/],
        [event({ properties: { n: Number.NaN } }), "events[1].properties.n", /finite number/],
        [event({ eventName: "" }), "events[1].eventName", /non-empty/],
        [event({ idempotencyKey: "" }), "events[1].idempotencyKey", /^must be a non-empty string$/]
      ]
      return Effect.gen(function*() {
        for (const [bad, field, reason] of cases) {
          const error = yield* invalidInput(Backfills.ingest("bf_1", [event(), bad]))
          assert.strictEqual(error.field, field)
          assert.match(error.reason, reason)
        }
        assert.strictEqual(requests.length, 0)
      }).pipe(Effect.provide(layer), inFixtureTime)
    })

    it.effect("refuses more than 500 events, and none", () => {
      const { layer, requests } = recordingBackfills(() => ({ json: { validation_failed: [] } }))
      return Effect.gen(function*() {
        const many = Array.from({ length: 501 }, (_, i) => event({ idempotencyKey: `k${i}` }))
        assert.match((yield* invalidInput(Backfills.ingest("bf_1", many))).reason, /at most 500/)
        assert.strictEqual((yield* invalidInput(Backfills.ingest("bf_1", []))).field, "events")
        yield* Backfills.ingest("bf_1", many.slice(0, 500))
        assert.strictEqual(requests.length, 1)
        assert.strictEqual(json(requests[0]).events.length, 500)
      }).pipe(Effect.provide(layer), inFixtureTime)
    })

    it.effect("a batch Orb refuses fails with its per-event reasons", () => {
      const { layer } = recordingBackfills(() => ({
        status: 400,
        json: problem("400-request-validation-errors", 400, {
          validation_errors: [{ idempotency_key: "k2", validation_errors: ["timestamp is outside the timeframe"] }]
        })
      }))
      return Effect.gen(function*() {
        const error = yield* Effect.flip(
          Backfills.ingest("bf_1", [event({ idempotencyKey: "k1" }), event({ idempotencyKey: "k2" })])
        )
        assert.strictEqual(error._tag, "RequestValidationError")
      }).pipe(Effect.provide(layer), inFixtureTime)
    })
  })

  describe("awaitStatus", () => {
    const statuses = (...sequence: Array<string>) => (_: Recorded, index: number) => ({
      json: wireBackfill({ status: sequence[Math.min(index, sequence.length - 1)] })
    })

    it.effect("polls until the target status and returns that backfill", () => {
      const { layer, requests } = recordingBackfills(statuses("pending", "pending", "reflected"))
      return Effect.gen(function*() {
        const fiber = yield* Effect.fork(Backfills.awaitStatus("bf_1", "reflected"))
        // waits of 1 s then 2 s, each jittered by up to 20 %
        yield* TestClock.adjust("1200 millis")
        yield* TestClock.adjust("2400 millis")
        const backfill = yield* Fiber.join(fiber)
        assert.strictEqual(backfill.status, "reflected")
        assert.strictEqual(requests.length, 3)
      }).pipe(Effect.provide(layer))
    })

    it.effect("returns at once when the backfill is already in the target status", () => {
      const { layer, requests } = recordingBackfills(statuses("reverted"))
      return Effect.gen(function*() {
        const backfill = yield* Backfills.awaitStatus("bf_1", "reverted")
        assert.strictEqual(backfill.status, "reverted")
        assert.strictEqual(requests.length, 1)
      }).pipe(Effect.provide(layer))
    })

    it.effect("fails at once with StatusUnreachable when the target can no longer come", () => {
      const { layer, requests } = recordingBackfills(statuses("pending", "reverted"))
      return Effect.gen(function*() {
        const fiber = yield* Effect.fork(Effect.flip(Backfills.awaitStatus("bf_1", "reflected")))
        yield* TestClock.adjust("1200 millis")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "StatusUnreachable")
        const unreachable = error as OrbError.StatusUnreachable
        assert.strictEqual(unreachable.status, "reverted")
        assert.strictEqual(unreachable.target, "reflected")
        assert.strictEqual(unreachable.message, "Backfill bf_1 is reverted and can no longer become reflected")
        assert.strictEqual(requests.length, 2)
      }).pipe(Effect.provide(layer))
    })

    it.effect("gives up with AwaitTimeout after the timeout, naming the last status", () => {
      const { layer, requests } = recordingBackfills(statuses("pending"))
      return Effect.gen(function*() {
        const fiber = yield* Effect.fork(
          Effect.flip(Backfills.awaitStatus("bf_1", "reflected", { timeout: "5 minutes" }))
        )
        yield* TestClock.adjust("5 minutes")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "AwaitTimeout")
        const timeout = error as OrbError.AwaitTimeout
        assert.strictEqual(timeout.lastStatus, "pending")
        assert.strictEqual(timeout.waitedMillis, 300_000)
        // 1 + 2 + 4 + 8 + 16 + 30 + 30 ... seconds, jittered: several polls, far fewer than one a second
        assert.isAbove(requests.length, 5)
        assert.isBelow(requests.length, 20)
      }).pipe(Effect.provide(layer))
    })

    it.effect("the default gives up after one hour, polling at most every 30 seconds", () => {
      const { layer, requests } = recordingBackfills(statuses("pending"))
      return Effect.gen(function*() {
        const fiber = yield* Effect.fork(Effect.flip(Backfills.awaitStatus("bf_1", "reflected")))
        yield* TestClock.adjust("59 minutes")
        assert.isNull(fiber.unsafePoll())
        yield* TestClock.adjust("1 minute")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "AwaitTimeout")
        // at least 3600 / (30 * 1.2) polls once the delay is capped
        assert.isAbove(requests.length, 95)
      }).pipe(Effect.provide(layer))
    })

    it.effect("follows a custom schedule, and a schedule that ends is a timeout", () => {
      const { layer, requests } = recordingBackfills(statuses("pending"))
      return Effect.gen(function*() {
        const fiber = yield* Effect.fork(Effect.flip(
          Backfills.awaitStatus("bf_1", "reflected", {
            schedule: Schedule.spaced("10 seconds").pipe(Schedule.upTo("30 seconds"))
          })
        ))
        yield* TestClock.adjust("10 seconds")
        assert.strictEqual(requests.length, 2)
        yield* TestClock.adjust("30 seconds")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "AwaitTimeout")
        assert.strictEqual(requests.length, 4)
      }).pipe(Effect.provide(layer))
    })

    it.effect("keeps polling through transient failures that outlast the transport's retries", () => {
      const { layer, requests } = recordingBackfills((_, index) =>
        index < 6 ? { status: 503, text: "" } : { json: wireBackfill({ status: "reflected" }) }
      )
      return Effect.gen(function*() {
        const fiber = yield* Effect.fork(Backfills.awaitStatus("bf_1", "reflected"))
        yield* TestClock.adjust("2 minutes")
        const backfill = yield* Fiber.join(fiber)
        assert.strictEqual(backfill.status, "reflected")
        assert.strictEqual(requests.length, 7)
      }).pipe(Effect.provide(layer))
    })

    it.effect("a fetch error that will not pass ends the wait with that error", () => {
      const { layer } = recordingBackfills(() => ({ status: 404, json: problem("404-resource-not-found", 404) }))
      return Effect.gen(function*() {
        const error = yield* Effect.flip(Backfills.awaitStatus("bf_1", "reflected"))
        assert.strictEqual(error._tag, "ResourceNotFound")
      }).pipe(Effect.provide(layer))
    })
  })

  it("reachability follows Orb's lifecycle", () => {
    assert.isTrue(Backfill.canReach("pending", "reverted"))
    assert.isTrue(Backfill.canReach("reflected", "pending_revert"))
    assert.isFalse(Backfill.canReach("reflected", "pending"))
    assert.isFalse(Backfill.canReach("pending_revert", "reflected"))
    assert.isFalse(Backfill.canReach("reverted", "reflected"))
  })
})
