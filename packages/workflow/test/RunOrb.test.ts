/**
 * Which Orb a run belongs to (`DurableRun.checkOrb`), over the simulator's test layer: the recorded base URL and key
 * fingerprint, and the run's backfill as the proof of the account once it exists.
 */
import { Backfills, OrbClient } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { DurableRun, RunSource } from "../src/index.js"

const baseUrl = "http://127.0.0.1/v1"

const library = Backfills.layer.pipe(
  Layer.provideMerge(OrbClient.layer({ apiKey: Redacted.make("sk-sim"), baseUrl })),
  Layer.provideMerge(OrbSimulator.layer({ apiKey: "sk-sim" })),
  Layer.orDie
)

const connection = (apiKey: string, url = baseUrl): DurableRun.OrbConnection => ({
  baseUrl: url,
  apiKey: Redacted.make(apiKey)
})

/** The run as the engine lists it, its payload submitted through `connection` (with `backfillIds` created). */
const runOf = (submittedThrough: DurableRun.OrbConnection | undefined, backfillIds: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const payload = yield* DurableRun.payload({
      runKey: "run-orb",
      source: new RunSource.NamedSource({ name: "unused", size: 10 }),
      timeframeStart: DateTime.unsafeMake("2026-10-01T00:00:00Z"),
      timeframeEnd: DateTime.unsafeMake("2026-10-02T00:00:00Z"),
      replaceExistingEvents: false
    }).pipe(
      submittedThrough === undefined
        ? (effect) => effect
        : Effect.provideService(DurableRun.OrbConnection, submittedThrough)
    )
    assert.notInclude(JSON.stringify(payload), "sk-", "the key is never recorded")
    const state: DurableRun.RunState = {
      runKey: payload.runKey,
      executionId: "x",
      stage: "ingesting",
      backfillIds,
      source: "unused",
      read: 0,
      accepted: 0,
      failed: 0,
      position: 0,
      size: 0,
      ...(payload.orb !== undefined ? { orb: payload.orb } : {})
    }
    return state
  })

const checkThrough = (run: DurableRun.RunState, through: DurableRun.OrbConnection) =>
  DurableRun.checkOrb(run).pipe(Effect.provideService(DurableRun.OrbConnection, through), Effect.flip, Effect.option)

describe("DurableRun.checkOrb", () => {
  it.effect("layerOrbConnectionConfig reads ORB_BASE_URL and ORB_API_KEY, and the key stays redacted", () =>
    Effect.gen(function*() {
      const read = yield* DurableRun.OrbConnection
      assert.strictEqual(read.baseUrl, "https://orb.example/v1")
      assert.strictEqual(Redacted.value(read.apiKey), "sk-config")
      assert.notInclude(String(read.apiKey), "sk-config")
    }).pipe(
      Effect.provide(DurableRun.layerOrbConnectionConfig()),
      Effect.withConfigProvider(
        ConfigProvider.fromMap(new Map([["ORB_API_KEY", "sk-config"], ["ORB_BASE_URL", "https://orb.example/v1"]]))
      )
    ))

  it.live("the same Orb and key pass; another base URL is refused, naming both, with no request", () =>
    Effect.gen(function*() {
      const run = yield* runOf(connection("sk-old", "http://127.0.0.1/v1/"), [])
      assert.strictEqual(run.orb?.baseUrl, baseUrl)
      assert.isTrue((yield* checkThrough(run, connection("sk-old")))._tag === "None")
      const other = yield* checkThrough(run, connection("sk-old", "https://api.withorb.com/v1"))
      assert.strictEqual(other._tag, "Some")
      if (other._tag === "Some") {
        assert.include(
          other.value.message,
          `belongs to the Orb at ${baseUrl}, not to the one at https://api.withorb.com/v1`
        )
      }
      assert.strictEqual(
        yield* DurableRun.compareOrb(run).pipe(Effect.provideService(DurableRun.OrbConnection, connection("sk-new"))),
        "another key"
      )
    }).pipe(Effect.provide(library)))

  it.live("another key: passes once it finds the run's backfill (a rotated key), refused before or if not found", () =>
    Effect.gen(function*() {
      const created = yield* Backfills.create({
        timeframeStart: DateTime.unsafeMake("2026-10-01T00:00:00Z"),
        timeframeEnd: DateTime.unsafeMake("2026-10-02T00:00:00Z"),
        replaceExistingEvents: false
      })
      const rotated = connection("sk-rotated")
      const withBackfill = yield* runOf(connection("sk-old"), [created.id])
      assert.isTrue((yield* checkThrough(withBackfill, rotated))._tag === "None", "found: the run's account")

      const unknown = yield* checkThrough(yield* runOf(connection("sk-old"), ["NotOurs1234567890"]), rotated)
      assert.strictEqual(unknown._tag, "Some")
      if (unknown._tag === "Some") {
        assert.include(unknown.value.message, "belongs to another account of the Orb at")
        assert.include(unknown.value.message, "its backfill NotOurs1234567890 is not found with this API key")
      }
      const none = yield* checkThrough(yield* runOf(connection("sk-old"), []), rotated)
      assert.strictEqual(none._tag, "Some")

      // A run submitted before runs recorded their Orb is known by its backfill alone.
      assert.isTrue((yield* checkThrough(yield* runOf(undefined, []), rotated))._tag === "None")
      assert.isTrue((yield* checkThrough(yield* runOf(undefined, [created.id]), rotated))._tag === "None")
      const old = yield* checkThrough(yield* runOf(undefined, ["NotOurs1234567890"]), rotated)
      assert.strictEqual(old._tag, "Some")
      if (old._tag === "Some") {
        assert.include(old.value.message, `belongs to another Orb or account than the Orb at ${baseUrl}`)
      }
    }).pipe(Effect.provide(library)))
})
