import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { validateResponse } from "./openapi.js"
import { call, createBackfill, errorType, event, get, layer, newBackfill, post, T0 } from "./support.js"

const iso = (millis: number) => new Date(millis).toISOString()
const validation = errorType("400-request-validation-errors")
const constraint = errorType("400-constraint-violation")

describe("the spec check itself", () => {
  it("refuses a body that does not match the documented schema", () => {
    assert.throws(() => validateResponse("GET", "/v1/events/backfills/abc", 200, { id: 1 }), /does not match/)
    assert.throws(() => validateResponse("POST", "/v1/ingest", 400, { type: "x", status: 400 }), /does not match/)
    assert.strictEqual(validateResponse("POST", "/v1/ingest", 200, { validation_failed: [] }), true)
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
        assert.strictEqual(reply.status, 400, name)
        assert.strictEqual(reply.body.type, validation, name)
        assert.isAbove(reply.body.validation_errors.length, 0, name)
      }
      const notJson = yield* call("POST", "/events/backfills", { rawBody: "{nope" })
      assert.strictEqual(notJson.status, 400)
      assert.strictEqual(notJson.body.type, validation)
      const simulator = yield* OrbSimulator.OrbSimulator
      assert.lengthOf(yield* simulator.backfills, 0)
    }).pipe(Effect.provide(layer())))

  it.effect("checks the timeframe: end after start, at most 31 days", () =>
    Effect.gen(function*() {
      const same = yield* post("/events/backfills", newBackfill({ timeframe_end: "2025-03-01T00:00:00Z" }))
      assert.strictEqual(same.status, 400)
      assert.deepStrictEqual(same.body.validation_errors, ["timeframe_end: must be after timeframe_start"])
      const tooLong = yield* post(
        "/events/backfills",
        newBackfill({ timeframe_start: "2025-01-01T00:00:00Z", timeframe_end: "2025-02-01T00:00:00.001Z" })
      )
      assert.strictEqual(tooLong.status, 400)
      assert.strictEqual(tooLong.body.type, validation)
      const longest = yield* post(
        "/events/backfills",
        newBackfill({ timeframe_start: "2025-01-01T00:00:00Z", timeframe_end: "2025-02-01T00:00:00Z" })
      )
      assert.strictEqual(longest.status, 200)
    }).pipe(Effect.provide(layer())))

  it.effect("refuses both customer keys, and maps an external id to a customer id", () =>
    Effect.gen(function*() {
      const both = yield* post("/events/backfills", newBackfill({ customer_id: "c", external_customer_id: "e" }))
      assert.strictEqual(both.status, 400)
      assert.strictEqual(both.body.type, validation)
      const simulator = yield* OrbSimulator.OrbSimulator
      const created = yield* createBackfill({ external_customer_id: "acme", customer_id: null })
      assert.strictEqual(created.customer_id, yield* simulator.customerIdFor("acme"))
    }).pipe(Effect.provide(layer())))

  it.effect("defaults replace_existing_events to true, as Orb does", () =>
    Effect.gen(function*() {
      const { replace_existing_events: _, ...body } = newBackfill()
      const reply = yield* post("/events/backfills", body)
      assert.strictEqual(reply.body.replace_existing_events, true)
    }).pipe(Effect.provide(layer())))

  it.effect("refuses a deprecation_filter it cannot evaluate", () =>
    Effect.gen(function*() {
      for (const filter of ["a = 1 OR b = 2", "(a = 1)", "lower(a) = 'x'", "a > 'x'", "a ="]) {
        const reply = yield* post(
          "/events/backfills",
          newBackfill({ replace_existing_events: true, deprecation_filter: filter })
        )
        assert.strictEqual(reply.status, 400, filter)
        assert.strictEqual(reply.body.type, validation)
        assert.include(reply.body.validation_errors[0], "deprecation_filter")
      }
      const ok = yield* post(
        "/events/backfills",
        newBackfill({ replace_existing_events: true, deprecation_filter: "name = 'salt AND pepper' and n >= 2" })
      )
      assert.strictEqual(ok.status, 200)
    }).pipe(Effect.provide(layer())))

  it.effect("refuses a timeframe overlapping a pending or pending_revert backfill, naming it", () =>
    Effect.gen(function*() {
      const first = yield* createBackfill()
      const overlapping = newBackfill({
        timeframe_start: "2025-03-01T12:00:00Z",
        timeframe_end: "2025-03-03T00:00:00Z"
      })
      const refused = yield* post("/events/backfills", overlapping)
      assert.strictEqual(refused.status, 400)
      assert.strictEqual(refused.body.type, constraint)
      assert.include(refused.body.detail, first.id)
      // Adjacent timeframes do not overlap: the end is exclusive.
      const adjacent = yield* post(
        "/events/backfills",
        newBackfill({ timeframe_start: "2025-03-02T00:00:00Z", timeframe_end: "2025-03-02T06:00:00Z" })
      )
      assert.strictEqual(adjacent.status, 200)

      yield* post(`/events/backfills/${first.id}/close`)
      yield* TestClock.adjust("5 seconds")
      yield* post(`/events/backfills/${first.id}/revert`)
      const whileReverting = yield* post("/events/backfills", newBackfill({ timeframe_end: "2025-03-01T06:00:00Z" }))
      assert.strictEqual(whileReverting.status, 400)
      assert.include(whileReverting.body.detail, first.id)
      yield* TestClock.adjust("5 seconds")
      const afterRevert = yield* post("/events/backfills", newBackfill({ timeframe_end: "2025-03-01T06:00:00Z" }))
      assert.strictEqual(afterRevert.status, 200)
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
      assert.strictEqual(refused.status, 400)
      assert.include(refused.body.detail, newer.id)
      assert.notInclude(refused.body.detail, older.id)
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
        assert.strictEqual(reply.status, 404)
        assert.strictEqual(reply.body.type, errorType("404-resource-not-found"))
        assert.strictEqual(typeof reply.body.title, "string")
      }
      for (
        const reply of [
          yield* get("/nope"),
          yield* get("/events/backfills/x/y/z"),
          yield* get("/ingest"),
          yield* call("DELETE", "/events/backfills/x")
        ]
      ) {
        assert.strictEqual(reply.status, 404)
        assert.strictEqual(reply.body.type, errorType("404-url-not-found"))
      }
    }).pipe(Effect.provide(layer())))

  it.effect("demands the configured bearer key", () =>
    Effect.gen(function*() {
      const missing = yield* get("/events/backfills")
      assert.strictEqual(missing.status, 401)
      assert.strictEqual(missing.body.type, errorType("401-authentication-error"))
      const wrong = yield* get("/events/backfills", { authorization: "Bearer other" })
      assert.strictEqual(wrong.status, 401)
      const right = yield* get("/events/backfills", { authorization: "Bearer secret" })
      assert.strictEqual(right.status, 200)
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
        // Read as its instant, 2025-02-28T22:00:00Z: outside the timeframe.
        event("offset", { timestamp: "2025-03-01T12:00:00+14:00" }),
        { event_name: "x", timestamp: "2025-03-01T12:00:00Z", properties: {}, customer_id: "cus_1" }
      ]
      const reply = yield* post(`/ingest?backfill_id=${created.id}`, { events })
      assert.strictEqual(reply.status, 400)
      assert.strictEqual(reply.body.type, validation)
      const failed = reply.body.validation_errors.map((entry: any) => entry.idempotency_key)
      assert.deepStrictEqual(failed, [
        "outside",
        "other-customer",
        "both-keys",
        "no-key",
        "nested",
        "extra",
        "offset",
        ""
      ])
      for (const entry of reply.body.validation_errors) assert.isAbove(entry.validation_errors.length, 0)
      assert.strictEqual((yield* get(`/events/backfills/${created.id}`)).body.events_ingested, 0)
    }).pipe(Effect.provide(layer())))

  it.effect("answers 413 over 500 events and accepts 500", () =>
    Effect.gen(function*() {
      const created = yield* createBackfill()
      const events = Array.from({ length: 501 }, (_, i) => event(`k${i}`, { customer_id: "cus_1" }))
      const tooMany = yield* post(`/ingest?backfill_id=${created.id}`, { events })
      assert.strictEqual(tooMany.status, 413)
      assert.strictEqual(tooMany.body.type, errorType("413-request-too-large"))
      const ok = yield* post(`/ingest?backfill_id=${created.id}`, { events: events.slice(0, 500) })
      assert.strictEqual(ok.status, 200)
      assert.deepStrictEqual(ok.body, { validation_failed: [] })
      assert.strictEqual((yield* get(`/events/backfills/${created.id}`)).body.events_ingested, 500)
    }).pipe(Effect.provide(layer())))

  it.effect("dedups by idempotency key within a backfill; one key with two bodies in a batch is refused", () =>
    Effect.gen(function*() {
      const created = yield* createBackfill()
      const path = `/ingest?backfill_id=${created.id}`
      assert.strictEqual((yield* post(path, { events: [event("a"), event("a"), event("b")] })).status, 200)
      assert.strictEqual((yield* post(path, { events: [event("a", { properties: { units: 9 } })] })).status, 200)
      assert.strictEqual((yield* get(`/events/backfills/${created.id}`)).body.events_ingested, 2)
      const conflicting = yield* post(path, {
        events: [event("c"), event("c", { properties: { units: 2 } }), event("d")]
      })
      assert.strictEqual(conflicting.status, 400)
      const [refused, ...others] = conflicting.body.validation_errors
      assert.deepStrictEqual(others, [])
      assert.strictEqual(refused.idempotency_key, "c")
      assert.lengthOf(refused.validation_errors, 1)
      assert.include(refused.validation_errors[0], "more than once")
      assert.strictEqual((yield* get(`/events/backfills/${created.id}`)).body.events_ingested, 2)
      // Dedup is per backfill: another backfill takes the same key.
      const other = yield* createBackfill({
        timeframe_start: "2025-02-01T00:00:00Z",
        timeframe_end: "2025-02-02T00:00:00Z"
      })
      const again = yield* post(`/ingest?backfill_id=${other.id}`, {
        events: [event("a", { timestamp: "2025-02-01T01:00:00Z" })]
      })
      assert.strictEqual(again.status, 200)
      assert.strictEqual((yield* get(`/events/backfills/${other.id}`)).body.events_ingested, 1)
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
      assert.strictEqual(ok.status, 200)
      const old = yield* post("/ingest", { events: [event("old", { timestamp: iso(T0 - 13 * 3_600_000) })] })
      assert.strictEqual(old.status, 400)
      assert.include(old.body.validation_errors[0].validation_errors[0], "grace period")
      const future = yield* post("/ingest", { events: [event("future", { timestamp: iso(T0 + 6 * 60_000) })] })
      assert.strictEqual(future.status, 400)
      yield* post("/ingest", { events: [event("recent", { timestamp: iso(T0 - 3_600_000) })] })
      const events = yield* simulator.events
      assert.deepStrictEqual(events.map((e) => e.idempotencyKey), ["recent", "soon"])
      assert.strictEqual(events[1].customerId, yield* simulator.customerIdFor("acme"))
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
      assert.strictEqual((yield* ingest("a", "b", "a")).status, 200)
      assert.deepStrictEqual(yield* keys, ["a", "b"])
      yield* TestClock.adjust(12 * 3_600_000 - 1)
      assert.strictEqual((yield* ingest("a", "c", "b")).status, 200)
      assert.deepStrictEqual(yield* keys, ["a", "b", "c"])
      // Twelve hours after "a" and "b" were ingested they are forgotten; "c" is still remembered.
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* ingest("c", "b", "a")).status, 200)
      assert.deepStrictEqual(yield* keys, ["a", "b", "c", "b", "a"])
      // The dedup window runs from the latest ingestion of a key.
      yield* TestClock.adjust("11 hours")
      assert.strictEqual((yield* ingest("a", "b")).status, 200)
      assert.deepStrictEqual(yield* keys, ["a", "b", "c", "b", "a"])
      // A key used in a backfill does not count outside it, nor the other way round.
      const created = yield* createBackfill({
        timeframe_start: "2025-03-05T00:00:00Z",
        timeframe_end: "2025-03-06T00:00:00Z"
      })
      const inBackfill = yield* post(`/ingest?backfill_id=${created.id}`, {
        events: [event("d", { timestamp: "2025-03-05T01:00:00Z" }), event("a", { timestamp: "2025-03-05T02:00:00Z" })]
      })
      assert.strictEqual(inBackfill.status, 200)
      assert.strictEqual((yield* ingest("d")).status, 200)
      assert.lengthOf((yield* keys).filter((key) => key === "d"), 2)
      // A reset forgets every key.
      yield* simulator.reset
      assert.strictEqual((yield* ingest("a")).status, 200)
      assert.deepStrictEqual(yield* keys, ["a"])
    }).pipe(Effect.provide(layer())))

  it.effect("refuses bodies that are not { events: [...] }", () =>
    Effect.gen(function*() {
      for (const body of [{}, { events: {} }, { events: [], debug: true }, []]) {
        const reply = yield* post("/ingest", body)
        assert.strictEqual(reply.status, 400)
        assert.strictEqual(reply.body.type, validation)
      }
    }).pipe(Effect.provide(layer())))

  it.effect("limits follow the options", () =>
    Effect.gen(function*() {
      const created = yield* createBackfill()
      const tooMany = yield* post(`/ingest?backfill_id=${created.id}`, { events: [event("a"), event("b"), event("c")] })
      assert.strictEqual(tooMany.status, 413)
      const long = yield* post("/events/backfills", newBackfill({ timeframe_end: "2025-03-03T00:00:00.001Z" }))
      assert.strictEqual(long.status, 400)
    }).pipe(Effect.provide(layer({ maxEventsPerRequest: 2, maxTimeframe: "2 days" }))))
})
