import { OrbSimulator } from "@effect-orb/simulator"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { validateResponse } from "./openapi.js"
import { call, createBackfill, errorType, event, get, layer, newBackfill, post, T0 } from "./support.js"

const iso = (millis: number) => new Date(millis).toISOString()
const validation = errorType("400-request-validation-errors")
const constraint = errorType("400-constraint-violation")

describe("the spec check itself", () => {
  it("refuses a body that does not match the documented schema", () => {
    expect(() => validateResponse("GET", "/v1/events/backfills/abc", 200, { id: 1 })).toThrow(/does not match/)
    expect(() => validateResponse("POST", "/v1/ingest", 400, { type: "x", status: 400 })).toThrow(/does not match/)
    expect(validateResponse("POST", "/v1/ingest", 200, { validation_failed: [] })).toBe(true)
  })
})

describe("create", () => {
  it.effect("rejects missing fields, unknown keys and malformed bodies", () =>
    Effect.gen(function*() {
      const cases: Array<[string, unknown]> = [
        ["missing start", { timeframe_end: "2025-03-02T00:00:00Z" }],
        ["unknown key", newBackfill({ colour: "blue" })],
        ["wrong type", newBackfill({ replace_existing_events: "yes" })],
        ["not a date", newBackfill({ timeframe_start: "March 1, 2025" })],
        ["array body", []]
      ]
      for (const [name, body] of cases) {
        const reply = yield* post("/events/backfills", body)
        expect(reply.status, name).toBe(400)
        expect(reply.body.type, name).toBe(validation)
        expect(reply.body.validation_errors.length, name).toBeGreaterThan(0)
      }
      const notJson = yield* call("POST", "/events/backfills", { rawBody: "{nope" })
      expect(notJson.status).toBe(400)
      expect(notJson.body.type).toBe(validation)
      const simulator = yield* OrbSimulator.OrbSimulator
      expect(yield* simulator.backfills).toHaveLength(0)
    }).pipe(Effect.provide(layer())))

  it.effect("checks the timeframe: end after start, at most 31 days", () =>
    Effect.gen(function*() {
      const same = yield* post("/events/backfills", newBackfill({ timeframe_end: "2025-03-01T00:00:00Z" }))
      expect(same.status).toBe(400)
      expect(same.body.validation_errors).toEqual(["timeframe_end: must be after timeframe_start"])
      const tooLong = yield* post(
        "/events/backfills",
        newBackfill({ timeframe_start: "2025-01-01T00:00:00Z", timeframe_end: "2025-02-01T00:00:00.001Z" })
      )
      expect(tooLong.status).toBe(400)
      expect(tooLong.body.type).toBe(validation)
      const longest = yield* post(
        "/events/backfills",
        newBackfill({ timeframe_start: "2025-01-01T00:00:00Z", timeframe_end: "2025-02-01T00:00:00Z" })
      )
      expect(longest.status).toBe(200)
    }).pipe(Effect.provide(layer())))

  it.effect("refuses both customer keys, and maps an external id to a customer id", () =>
    Effect.gen(function*() {
      const both = yield* post("/events/backfills", newBackfill({ customer_id: "c", external_customer_id: "e" }))
      expect(both.status).toBe(400)
      expect(both.body.type).toBe(validation)
      const simulator = yield* OrbSimulator.OrbSimulator
      const created = yield* createBackfill({ external_customer_id: "acme", customer_id: null })
      expect(created.customer_id).toBe(yield* simulator.customerIdFor("acme"))
    }).pipe(Effect.provide(layer())))

  it.effect("defaults replace_existing_events to true, as Orb does", () =>
    Effect.gen(function*() {
      const { replace_existing_events: _, ...body } = newBackfill()
      const reply = yield* post("/events/backfills", body)
      expect(reply.body.replace_existing_events).toBe(true)
    }).pipe(Effect.provide(layer())))

  it.effect("refuses a deprecation_filter it cannot evaluate", () =>
    Effect.gen(function*() {
      for (const filter of ["a = 1 OR b = 2", "(a = 1)", "lower(a) = 'x'", "a > 'x'", "a ="]) {
        const reply = yield* post(
          "/events/backfills",
          newBackfill({ replace_existing_events: true, deprecation_filter: filter })
        )
        expect(reply.status, filter).toBe(400)
        expect(reply.body.type).toBe(validation)
        expect(reply.body.validation_errors[0]).toContain("deprecation_filter")
      }
      const ok = yield* post(
        "/events/backfills",
        newBackfill({ replace_existing_events: true, deprecation_filter: "name = 'salt AND pepper' and n >= 2" })
      )
      expect(ok.status).toBe(200)
    }).pipe(Effect.provide(layer())))

  it.effect("refuses a timeframe overlapping a pending or pending_revert backfill, naming it", () =>
    Effect.gen(function*() {
      const first = yield* createBackfill()
      const overlapping = newBackfill({
        timeframe_start: "2025-03-01T12:00:00Z",
        timeframe_end: "2025-03-03T00:00:00Z"
      })
      const refused = yield* post("/events/backfills", overlapping)
      expect(refused.status).toBe(400)
      expect(refused.body.type).toBe(constraint)
      expect(refused.body.detail).toContain(first.id)
      // Adjacent timeframes do not overlap: the end is exclusive.
      const adjacent = yield* post(
        "/events/backfills",
        newBackfill({ timeframe_start: "2025-03-02T00:00:00Z", timeframe_end: "2025-03-02T06:00:00Z" })
      )
      expect(adjacent.status).toBe(200)

      yield* post(`/events/backfills/${first.id}/close`)
      yield* TestClock.adjust("5 seconds")
      yield* post(`/events/backfills/${first.id}/revert`)
      const whileReverting = yield* post("/events/backfills", newBackfill({ timeframe_end: "2025-03-01T06:00:00Z" }))
      expect(whileReverting.status).toBe(400)
      expect(whileReverting.body.detail).toContain(first.id)
      yield* TestClock.adjust("5 seconds")
      const afterRevert = yield* post("/events/backfills", newBackfill({ timeframe_end: "2025-03-01T06:00:00Z" }))
      expect(afterRevert.status).toBe(200)
    }).pipe(Effect.provide(layer())))

  it.effect("of several overlapping backfills, the refusal names the newest", () =>
    Effect.gen(function*() {
      const older = yield* createBackfill()
      const newer = yield* createBackfill({
        timeframe_start: "2025-03-02T00:00:00Z",
        timeframe_end: "2025-03-03T00:00:00Z"
      })
      const spanningBoth = newBackfill({
        timeframe_start: "2025-03-01T12:00:00Z",
        timeframe_end: "2025-03-02T12:00:00Z"
      })
      const refused = yield* post("/events/backfills", spanningBoth)
      expect(refused.status).toBe(400)
      expect(refused.body.detail).toContain(newer.id)
      expect(refused.body.detail).not.toContain(older.id)
    }).pipe(Effect.provide(layer())))
})

describe("not found and auth", () => {
  it.effect("unknown ids are 404 resource-not-found; unknown paths 404 url-not-found", () =>
    Effect.gen(function*() {
      for (
        const reply of [
          yield* get("/events/backfills/nope"),
          yield* post("/events/backfills/nope/close"),
          yield* post("/events/backfills/nope/revert"),
          yield* post("/ingest?backfill_id=nope", { events: [] })
        ]
      ) {
        expect(reply.status).toBe(404)
        expect(reply.body.type).toBe(errorType("404-resource-not-found"))
        expect(typeof reply.body.title).toBe("string")
      }
      for (
        const reply of [
          yield* get("/nope"),
          yield* get("/events/backfills/x/y/z"),
          yield* get("/ingest"),
          yield* call("DELETE", "/events/backfills/x")
        ]
      ) {
        expect(reply.status).toBe(404)
        expect(reply.body.type).toBe(errorType("404-url-not-found"))
      }
    }).pipe(Effect.provide(layer())))

  it.effect("demands the configured bearer key", () =>
    Effect.gen(function*() {
      const missing = yield* get("/events/backfills")
      expect(missing.status).toBe(401)
      expect(missing.body.type).toBe(errorType("401-authentication-error"))
      const wrong = yield* get("/events/backfills", { authorization: "Bearer other" })
      expect(wrong.status).toBe(401)
      const right = yield* get("/events/backfills", { authorization: "Bearer secret" })
      expect(right.status).toBe(200)
    }).pipe(Effect.provide(layer({ apiKey: "secret" }))))
})

describe("ingest", () => {
  it.effect("validates each event and records nothing of a request with a failing event", () =>
    Effect.gen(function*() {
      const created = yield* createBackfill({ customer_id: "cus_1" })
      const events = [
        event("ok"),
        event("outside", { timestamp: "2025-03-02T00:00:00Z" }),
        event("other-customer", { customer_id: "cus_2" }),
        event("both-keys", { external_customer_id: "e" }),
        event("no-key", { customer_id: null }),
        event("nested", { properties: { a: { b: 1 } } }),
        event("extra", { debug: true }),
        event("offset", { timestamp: "2025-03-01T12:00:00+02:00" }),
        { event_name: "x", timestamp: "2025-03-01T12:00:00Z", properties: {}, customer_id: "cus_1" }
      ]
      const reply = yield* post(`/ingest?backfill_id=${created.id}`, { events })
      expect(reply.status).toBe(400)
      expect(reply.body.type).toBe(validation)
      const failed = reply.body.validation_errors.map((entry: any) => entry.idempotency_key)
      expect(failed).toEqual(["outside", "other-customer", "both-keys", "no-key", "nested", "extra", "offset", ""])
      for (const entry of reply.body.validation_errors) expect(entry.validation_errors.length).toBeGreaterThan(0)
      expect((yield* get(`/events/backfills/${created.id}`)).body.events_ingested).toBe(0)
    }).pipe(Effect.provide(layer())))

  it.effect("answers 413 over 500 events and accepts 500", () =>
    Effect.gen(function*() {
      const created = yield* createBackfill()
      const events = Array.from({ length: 501 }, (_, i) => event(`k${i}`, { customer_id: "cus_1" }))
      const tooMany = yield* post(`/ingest?backfill_id=${created.id}`, { events })
      expect(tooMany.status).toBe(413)
      expect(tooMany.body.type).toBe(errorType("413-request-too-large"))
      const ok = yield* post(`/ingest?backfill_id=${created.id}`, { events: events.slice(0, 500) })
      expect(ok.status).toBe(200)
      expect(ok.body).toEqual({ validation_failed: [] })
      expect((yield* get(`/events/backfills/${created.id}`)).body.events_ingested).toBe(500)
    }).pipe(Effect.provide(layer())))

  it.effect("dedups by idempotency key within a backfill; one key with two bodies in a batch is refused", () =>
    Effect.gen(function*() {
      const created = yield* createBackfill()
      const path = `/ingest?backfill_id=${created.id}`
      expect((yield* post(path, { events: [event("a"), event("a"), event("b")] })).status).toBe(200)
      expect((yield* post(path, { events: [event("a", { properties: { units: 9 } })] })).status).toBe(200)
      expect((yield* get(`/events/backfills/${created.id}`)).body.events_ingested).toBe(2)
      const conflicting = yield* post(path, {
        events: [event("c"), event("c", { properties: { units: 2 } }), event("d")]
      })
      expect(conflicting.status).toBe(400)
      expect(conflicting.body.validation_errors).toEqual([
        { idempotency_key: "c", validation_errors: [expect.stringContaining("more than once")] }
      ])
      expect((yield* get(`/events/backfills/${created.id}`)).body.events_ingested).toBe(2)
      // Dedup is per backfill: another backfill takes the same key.
      const other = yield* createBackfill({
        timeframe_start: "2025-02-01T00:00:00Z",
        timeframe_end: "2025-02-02T00:00:00Z"
      })
      const again = yield* post(`/ingest?backfill_id=${other.id}`, {
        events: [event("a", { timestamp: "2025-02-01T01:00:00Z" })]
      })
      expect(again.status).toBe(200)
      expect((yield* get(`/events/backfills/${other.id}`)).body.events_ingested).toBe(1)
    }).pipe(Effect.provide(layer())))

  it.effect("outside a backfill: 12 hour grace period, at most 5 minutes ahead, dedup by key", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      const ok = yield* post("/ingest", {
        events: [
          event("recent", { timestamp: iso(T0 - 11 * 3_600_000) }),
          event("soon", { timestamp: iso(T0 + 4 * 60_000), external_customer_id: "acme", customer_id: null })
        ]
      })
      expect(ok.status).toBe(200)
      const old = yield* post("/ingest", { events: [event("old", { timestamp: iso(T0 - 13 * 3_600_000) })] })
      expect(old.status).toBe(400)
      expect(old.body.validation_errors[0].validation_errors[0]).toContain("grace period")
      const future = yield* post("/ingest", { events: [event("future", { timestamp: iso(T0 + 6 * 60_000) })] })
      expect(future.status).toBe(400)
      yield* post("/ingest", { events: [event("recent", { timestamp: iso(T0 - 3_600_000) })] })
      const events = yield* simulator.events
      expect(events.map((e) => e.idempotencyKey)).toEqual(["recent", "soon"])
      expect(events[1].customerId).toBe(yield* simulator.customerIdFor("acme"))
    }).pipe(Effect.provide(layer())))

  it.effect("outside a backfill: a key is deduped for the grace period after its event was ingested", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      const keys = Effect.map(simulator.events, (events) => events.map((e) => e.idempotencyKey))
      const ingest = (...keys: ReadonlyArray<string>) =>
        Effect.flatMap(
          TestClock.currentTimeMillis,
          (now) => post("/ingest", { events: keys.map((key) => event(key, { timestamp: iso(now - 60_000) })) })
        )
      expect((yield* ingest("a", "b", "a")).status).toBe(200)
      expect(yield* keys).toEqual(["a", "b"])
      yield* TestClock.adjust(12 * 3_600_000 - 1)
      expect((yield* ingest("a", "c", "b")).status).toBe(200)
      expect(yield* keys).toEqual(["a", "b", "c"])
      // Twelve hours after "a" and "b" were ingested they are forgotten; "c" is still remembered.
      yield* TestClock.adjust("1 millis")
      expect((yield* ingest("c", "b", "a")).status).toBe(200)
      expect(yield* keys).toEqual(["a", "b", "c", "b", "a"])
      // The dedup window runs from the latest ingestion of a key.
      yield* TestClock.adjust("11 hours")
      expect((yield* ingest("a", "b")).status).toBe(200)
      expect(yield* keys).toEqual(["a", "b", "c", "b", "a"])
      // A key used in a backfill does not count outside it, nor the other way round.
      const created = yield* createBackfill({
        timeframe_start: "2025-03-05T00:00:00Z",
        timeframe_end: "2025-03-06T00:00:00Z"
      })
      const inBackfill = yield* post(`/ingest?backfill_id=${created.id}`, {
        events: [event("d", { timestamp: "2025-03-05T01:00:00Z" }), event("a", { timestamp: "2025-03-05T02:00:00Z" })]
      })
      expect(inBackfill.status).toBe(200)
      expect((yield* ingest("d")).status).toBe(200)
      expect((yield* keys).filter((key) => key === "d")).toHaveLength(2)
      // A reset forgets every key.
      yield* simulator.reset
      expect((yield* ingest("a")).status).toBe(200)
      expect(yield* keys).toEqual(["a"])
    }).pipe(Effect.provide(layer())))

  it.effect("refuses bodies that are not { events: [...] }", () =>
    Effect.gen(function*() {
      for (const body of [{}, { events: {} }, { events: [], debug: true }, []]) {
        const reply = yield* post("/ingest", body)
        expect(reply.status).toBe(400)
        expect(reply.body.type).toBe(validation)
      }
    }).pipe(Effect.provide(layer())))

  it.effect("limits follow the options", () =>
    Effect.gen(function*() {
      const created = yield* createBackfill()
      const tooMany = yield* post(`/ingest?backfill_id=${created.id}`, { events: [event("a"), event("b"), event("c")] })
      expect(tooMany.status).toBe(413)
      const long = yield* post("/events/backfills", newBackfill({ timeframe_end: "2025-03-03T00:00:00.001Z" }))
      expect(long.status).toBe(400)
    }).pipe(Effect.provide(layer({ maxEventsPerRequest: 2, maxTimeframe: "2 days" }))))
})
