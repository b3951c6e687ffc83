// Customers: Orb refuses a backfill for a customer that does not exist and an event whose `customer_id` names none,
// and accepts an event for an external id no customer has yet, attributing it once that customer is created.
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { createBackfill, errorType, event, layer, newBackfill, post } from "./support.js"

const notFound = errorType("404-resource-not-found")
const validation = errorType("400-request-validation-errors")

describe("customers", () => {
  it.effect("a backfill for a customer that does not exist is refused, by either id, naming it", () =>
    Effect.gen(function*() {
      const byId = yield* post("/events/backfills", newBackfill({ customer_id: "cus_nobody" }))
      assert.strictEqual(byId.status, 404)
      assert.strictEqual(byId.body.type, notFound)
      assert.include(byId.body.detail, `"cus_nobody"`)
      const byExternal = yield* post("/events/backfills", newBackfill({ external_customer_id: "nobody" }))
      assert.strictEqual(byExternal.status, 404)
      assert.strictEqual(byExternal.body.type, notFound)
      assert.include(byExternal.body.detail, `external id "nobody"`)
      const simulator = yield* OrbSimulator.OrbSimulator
      assert.lengthOf(yield* simulator.backfills, 0)
    }).pipe(Effect.provide(layer())))

  it.effect("an event whose customer_id names no customer fails validation; an unknown external id is accepted", () =>
    Effect.gen(function*() {
      const { id } = yield* createBackfill()
      const unknown = yield* post(`/ingest?backfill_id=${id}`, { events: [event("k1", { customer_id: "cus_nobody" })] })
      assert.strictEqual(unknown.status, 400)
      assert.strictEqual(unknown.body.type, validation)
      assert.deepStrictEqual(unknown.body.validation_errors, [
        { idempotency_key: "k1", validation_errors: [`customer_id: no customer with id "cus_nobody"`] }
      ])
      const future = yield* post(`/ingest?backfill_id=${id}`, {
        events: [event("k2", { customer_id: null, external_customer_id: "not-yet" })]
      })
      assert.strictEqual(future.status, 200)
      const simulator = yield* OrbSimulator.OrbSimulator
      const events = yield* simulator.events
      assert.deepStrictEqual(events.map((e) => e.idempotencyKey), ["k2"])
    }).pipe(Effect.provide(layer())))

  it.effect("the default customers are the ones the tests, guides and demo use", () =>
    Effect.gen(function*() {
      for (const id of ["cus_1", "cus_2"]) {
        assert.strictEqual((yield* createBackfill({ customer_id: id })).customer_id, id)
        const simulator = yield* OrbSimulator.OrbSimulator
        yield* simulator.reset
      }
      for (const external of ["acme", "globex", "customer-0", "acme-corp", "umbrella"]) {
        const created = yield* createBackfill({ external_customer_id: external })
        const simulator = yield* OrbSimulator.OrbSimulator
        assert.strictEqual(created.customer_id, yield* simulator.customerIdFor(external))
        yield* simulator.reset
      }
    }).pipe(Effect.provide(layer())))

  it.effect("more customers by option, and at run time, where earlier events become theirs", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      assert.strictEqual((yield* createBackfill({ external_customer_id: "hooli" })).customer_id, "cus_hooli")
      yield* simulator.reset
      // The option's customers survive a reset.
      assert.strictEqual((yield* createBackfill({ customer_id: "cus_hooli" })).customer_id, "cus_hooli")
      yield* simulator.reset

      const open = yield* createBackfill({
        timeframe_start: "2025-02-01T00:00:00Z",
        timeframe_end: "2025-02-02T00:00:00Z"
      })
      const early = yield* post(`/ingest?backfill_id=${open.id}`, {
        events: [
          event("early", { timestamp: "2025-02-01T12:00:00Z", customer_id: null, external_customer_id: "pied-piper" })
        ]
      })
      assert.strictEqual(early.status, 200)
      const refused = yield* post("/events/backfills", newBackfill({ external_customer_id: "pied-piper" }))
      assert.strictEqual(refused.status, 404)
      yield* simulator.addCustomers({ id: "cus_pp", externalCustomerId: "pied-piper" })
      assert.strictEqual(yield* simulator.customerIdFor("pied-piper"), "cus_pp")
      const [recorded] = yield* simulator.events
      assert.strictEqual(recorded.customerId, "cus_pp")
      assert.deepStrictEqual(recorded.externalCustomerId, Option.some("pied-piper"))
      assert.strictEqual((yield* createBackfill({ external_customer_id: "pied-piper" })).customer_id, "cus_pp")
      const ingested = yield* post(`/ingest?backfill_id=${open.id}`, {
        events: [event("by-id", { timestamp: "2025-02-01T13:00:00Z", customer_id: "cus_pp" })]
      })
      assert.strictEqual(ingested.status, 200)

      // A reset forgets customers added at run time.
      yield* simulator.reset
      assert.strictEqual((yield* post("/events/backfills", newBackfill({ customer_id: "cus_pp" }))).status, 404)
    }).pipe(Effect.provide(layer({ customers: [{ id: "cus_hooli", externalCustomerId: "hooli" }] }))))
})
