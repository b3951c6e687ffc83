// `Verify` over the simulator: what Orb holds after real runs, as the operator meant it.
import type { Backfill } from "@effect-orb/backfills"
import { Backfills, Events, OrbClient, Verify } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { layer } from "./support.js"

const simulator = layer({ apiKey: "k", reflectionDelay: "30 seconds", revertDelay: "30 seconds" })
const library = Layer.mergeAll(Backfills.layer, Events.layer).pipe(
  Layer.provide(OrbClient.layer({ apiKey: Redacted.make("k") })),
  Layer.provideMerge(simulator)
)

const at = (iso: string) => DateTime.unsafeMake(iso)
const timeframe = { timeframeStart: at("2025-03-08T00:00:00Z"), timeframeEnd: at("2025-03-09T00:00:00Z") }

/** `n` events `prefix-i`, spread over the timeframe's hours. */
const events = (prefix: string, n: number): ReadonlyArray<Backfill.IngestEvent> =>
  Array.from({ length: n }, (_, i) => ({
    eventName: "api_call",
    timestamp: DateTime.add(timeframe.timeframeStart, { minutes: (i * 7) % (24 * 60) }),
    properties: { units: i % 5, region: "eu" },
    idempotencyKey: `${prefix}-${i}`,
    // The simulator's default customers are cus_1 to cus_3: an unknown customer_id is refused, as by Orb.
    customerId: `cus_${1 + (i % 3)}`
  }))

const run = (source: ReadonlyArray<Backfill.IngestEvent>) =>
  OrbSimulator.drive(
    Backfills.run({
      ...timeframe,
      replaceExistingEvents: true,
      invalidEvents: "skip",
      events: Stream.fromIterable(source)
    })
  )

const verify = (source: ReadonlyArray<Backfill.IngestEvent>, backfills: Verify.VerifyOptions["backfills"]) =>
  Verify.verify(Stream.fromIterable(source), { backfills, searchesPerSecond: false })

describe("Verify", () => {
  it.effect("an exact run verifies: every event found as sent, every hour as the source's", () =>
    Effect.gen(function*() {
      const source = events("order", 1_203)
      const result = yield* run(source)
      const report = yield* verify(source, result)
      assert.isTrue(report.holds)
      assert.deepStrictEqual(
        [report.read, report.found, report.missing, report.different, report.deprecated],
        [1_203, 1_203, 0, 0, 0]
      )
      assert.strictEqual(report.volume, "checked")
      assert.strictEqual(report.hoursChecked, 24)
      assert.strictEqual(report.hoursDiffering, 0)
      assert.deepStrictEqual(report.customers.map((c) => [c.customer, c.found]), [
        ["cus_1", 401],
        ["cus_2", 401],
        ["cus_3", 401]
      ])
      assert.strictEqual(report.windows[0].found, 1_203)
      // Chunks of at most 500 ids: 3 searches.
      const sim = yield* OrbSimulator.OrbSimulator
      const searches = (yield* sim.requests).filter((r) => r.url === "/v1/events/search")
      assert.strictEqual(searches.length, 3)
    }).pipe(Effect.provide(library)))

  it.effect("a replace run whose keys collide with deprecated ones is reflected, and caught", () =>
    Effect.gen(function*() {
      const first = events("a", 40)
      yield* run(first)
      yield* run(events("b", 40))
      // The first file again: its keys were deprecated by the second run, Orb refuses them.
      const again = yield* run(first)
      assert.strictEqual(again.backfill.status, "reflected")
      assert.strictEqual(again.ingestion.failed, 40)
      const failed = yield* Effect.either(verify(first, again))
      assert.isTrue(Either.isLeft(failed))
      const error = Either.getLeft(failed).pipe((o) => o._tag === "Some" ? o.value : undefined)
      assert.strictEqual(error?._tag, "VerifyFailed")
      const report = (error as Verify.VerifyFailed).report
      assert.deepStrictEqual([report.found, report.deprecated, report.missing], [0, 40, 0])
      assert.deepStrictEqual(report.differences[0].idempotencyKey, "a-0")
      assert.strictEqual(report.differences[0].outcome, "deprecated")
      assert.isAbove(report.hoursDiffering, 0)
      assert.include(error!.message, "40 events deprecated")
      assert.include(error!.message, "run the file again")
    }).pipe(Effect.provide(library)))

  it.effect("a verify against a reverted backfill fails naming it and its status", () =>
    Effect.gen(function*() {
      const source = events("r", 10)
      const result = yield* run(source)
      yield* Backfills.revert(result.backfill.id)
      yield* OrbSimulator.drive(Backfills.awaitStatus(result.backfill.id, "reverted"))
      const failed = yield* Effect.flip(verify(source, [result.backfill.id]))
      assert.strictEqual(failed._tag, "NotReflected")
      assert.include(failed.message, result.backfill.id)
      assert.include(failed.message, "reverted")
    }).pipe(Effect.provide(library)))

  it.effect("a changed property is reported as different, naming the key and the property", () =>
    Effect.gen(function*() {
      const sent = events("p", 12)
      const result = yield* run(sent)
      const changed = sent.map((e) =>
        e.idempotencyKey === "p-7" ? { ...e, properties: { ...e.properties, units: 99 } } : e
      )
      const failed = yield* Effect.flip(verify(changed, result))
      assert.strictEqual(failed._tag, "VerifyFailed")
      const report = (failed as Verify.VerifyFailed).report
      assert.deepStrictEqual([report.found, report.different], [11, 1])
      const [difference] = report.differences
      assert.strictEqual(difference.idempotencyKey, "p-7")
      assert.strictEqual(difference.outcome, "different")
      assert.deepStrictEqual(difference.fields.map((f) => [f.field, f.sent, f.found]), [[
        "properties.units",
        "99",
        "2"
      ]])
      assert.include(failed.message, "p-7 different in properties.units")
      // The hourly counts agree: the event is there, only its content differs.
      assert.strictEqual(report.hoursDiffering, 0)
    }).pipe(Effect.provide(library)))

  it.effect("events without keys are looked for under the keys the library derived for them", () =>
    Effect.gen(function*() {
      const keyless = events("k", 25).map(({ idempotencyKey: _, ...event }) => event)
      const result = yield* run(keyless)
      const report = yield* verify(keyless, result)
      assert.deepStrictEqual([report.found, report.missing], [25, 0])
    }).pipe(Effect.provide(library)))

  it.effect("an event of the source Orb does not hold is missing; a pending backfill is not verified", () =>
    Effect.gen(function*() {
      const sent = events("m", 10)
      const result = yield* run(sent)
      const more = [...sent, { ...sent[0], idempotencyKey: "m-never-sent" }]
      const failed = yield* Effect.flip(verify(more, result))
      assert.strictEqual(failed._tag, "VerifyFailed")
      const report = (failed as Verify.VerifyFailed).report
      assert.deepStrictEqual([report.found, report.missing], [10, 1])
      assert.deepStrictEqual(report.differences.map((d) => [d.idempotencyKey, d.outcome]), [[
        "m-never-sent",
        "missing"
      ]])
      // Its hour: the source has one more event than Orb counts, and replace mode wants them equal.
      assert.deepStrictEqual(report.hourDifferences.map((h) => [h.sent - h.counted, h.rule]), [[1, "exact"]])

      const pending = yield* Backfills.run({
        timeframeStart: at("2025-03-10T00:00:00Z"),
        timeframeEnd: at("2025-03-11T00:00:00Z"),
        replaceExistingEvents: false,
        until: "closed",
        events: Stream.empty
      })
      const notYet = yield* Effect.flip(verify(sent, [pending.backfill.id]))
      assert.strictEqual(notYet._tag, "NotReflected")
      assert.include(notYet.message, `Backfill ${pending.backfill.id} is pending, not reflected`)
    }).pipe(Effect.provide(library)))
})
