import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it, vi } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { errorType, event, get, layer, newBackfill, post } from "./support.js"

describe("quotas", () => {
  it.effect("are off by default", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 200; i++) assert.strictEqual((yield* get("/events/backfills")).status, 200)
    }).pipe(Effect.provide(layer())))

  it.effect("test mode: 5 writes per second, then 429 with Retry-After", () =>
    Effect.gen(function*() {
      yield* TestClock.adjust("300 millis")
      for (let i = 0; i < 5; i++) {
        assert.strictEqual((yield* post("/events/backfills/none/close")).status, 404)
      }
      const limited = yield* post("/events/backfills", newBackfill())
      assert.strictEqual(limited.status, 429)
      assert.strictEqual(limited.body.type, errorType("429-too-many-requests"))
      assert.strictEqual(limited.headers["retry-after"], "1")
      // Reads have their own budget.
      assert.strictEqual((yield* get("/events/backfills")).status, 200)
      yield* TestClock.adjust("700 millis")
      assert.strictEqual((yield* post("/events/backfills", newBackfill())).status, 200)
    }).pipe(Effect.provide(layer({ quotas: "test" }))))

  it.effect("ingest events per minute, with Retry-After until the window ends", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      yield* simulator.setQuotas({ ingestEventsPerMinute: 10 })
      const created = yield* post("/events/backfills", newBackfill())
      const path = `/ingest?backfill_id=${created.body.id}`
      const batch = (from: number) => ({
        events: Array.from({ length: 6 }, (_, i) => event(`k${from + i}`))
      })
      assert.strictEqual((yield* post(path, batch(0))).status, 200)
      yield* TestClock.adjust("15 seconds")
      const limited = yield* post(path, batch(6))
      assert.strictEqual(limited.status, 429)
      assert.strictEqual(limited.headers["retry-after"], "45")
      yield* TestClock.adjust("45 seconds")
      assert.strictEqual((yield* post(path, batch(6))).status, 200)
      yield* simulator.setQuotas(undefined)
      assert.strictEqual((yield* post(path, batch(12))).status, 200)
    }).pipe(Effect.provide(layer())))

  it.effect("an ingest body is parsed once, for the events quota and the handler alike", () =>
    Effect.gen(function*() {
      // The layer's own client checks bodies against the spec (parsing them): call the handler directly.
      const simulator = yield* OrbSimulator.OrbSimulator
      const created = yield* post("/events/backfills", newBackfill())
      const ingest = (keys: ReadonlyArray<string>) =>
        simulator.handle({
          method: "POST",
          url: `/v1/ingest?backfill_id=${created.body.id}`,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ events: keys.map((key) => event(key)) })
        })
      const parse = vi.spyOn(JSON, "parse")
      try {
        const accepted = yield* ingest(["a", "b", "c", "d", "e", "f"])
        assert.strictEqual(accepted._tag === "Respond" && accepted.status, 200)
        assert.strictEqual(parse.mock.calls.length, 1)
        // The events were counted against the quota: 6 of 10 spent, so 6 more are too many.
        parse.mockClear()
        const limited = yield* ingest(["g", "h", "i", "j", "k", "l"])
        assert.strictEqual(limited._tag === "Respond" && limited.status, 429)
        assert.strictEqual(parse.mock.calls.length, 1)
      } finally {
        parse.mockRestore()
      }
      assert.strictEqual((yield* get(`/events/backfills/${created.body.id}`)).body.events_ingested, 6)
    }).pipe(Effect.provide(layer({ quotas: { ingestEventsPerMinute: 10 } }))))

  it.effect("live mode: 100 reads per second", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 100; i++) assert.strictEqual((yield* get("/events/backfills")).status, 200)
      assert.strictEqual((yield* get("/events/backfills")).status, 429)
    }).pipe(Effect.provide(layer({ quotas: "live" }))))
})
