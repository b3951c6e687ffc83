/**
 * A durable run over a named source (a reader registered by the library user that streams events from an offset),
 * in-process: the engine on a real SQLite file, the library over the simulator's test layer, the live clock.
 */
import type { Backfill } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { DurableRun, RunSource } from "../src/index.js"
import { runFailure, withEngine } from "./support/inProcess.js"

const start = Date.parse("2026-10-01T00:00:00Z")

/** Event `i` of a generated source: without idempotency keys, so the keys are derived from the content. */
const event = (i: number): Backfill.IngestEvent => ({
  eventName: "api_call",
  timestamp: DateTime.unsafeMake(start + i * 60_000),
  externalCustomerId: "acme",
  properties: { units: 1, n: i }
})

/** A source of `total` events; records the offsets it was asked to read from. */
const generated = (total: number, options: { fingerprint?: () => string; eventAt?: typeof event } = {}) => {
  const offsets: Array<number> = []
  const reader: RunSource.NamedReader = {
    events: (offset) => {
      offsets.push(offset)
      return Stream.map(Stream.range(offset, total - 1), options.eventAt ?? event)
    },
    size: Effect.succeed(total),
    ...(options.fingerprint !== undefined ? { fingerprint: Effect.sync(options.fingerprint) } : {})
  }
  return { reader, offsets }
}

const spec = (source: RunSource.RunSource, runKey = "named-run") => ({
  runKey,
  source,
  timeframeStart: DateTime.unsafeMake(start),
  timeframeEnd: DateTime.unsafeMake(start + 7 * 86_400_000),
  replaceExistingEvents: true,
  segmentEvents: 500,
  quota: false as const
})

describe("a durable run over a named source", () => {
  it.live("streams every event once, a segment at a time from its offset, and reports its progress in events", () => {
    const source = generated(1_200)
    return withEngine(() =>
      Effect.gen(function*() {
        const named = yield* RunSource.fromNamed("usage")
        assert.strictEqual(named.size, 1_200)
        const result = yield* Effect.flatMap(DurableRun.payload(spec(named)), DurableRun.execute)
        assert.strictEqual(result.status, "reflected")
        assert.strictEqual(result.accepted, 1_200)
        // Segments from events 0, 500 and 1,000: the last one, short, is the end.
        assert.deepStrictEqual(source.offsets, [0, 500, 1_000])
        const sim = yield* OrbSimulator.OrbSimulator
        const events = (yield* sim.events).filter((e) => Option.getOrUndefined(e.backfillId) === result.backfillId)
        assert.strictEqual(events.length, 1_200)
        assert.strictEqual(new Set(events.map((e) => e.properties.n)).size, 1_200, "each event exactly once")
        const [state] = yield* DurableRun.list
        assert.strictEqual(state.source, "usage")
        assert.strictEqual(state.stage, "done")
        assert.deepStrictEqual([state.position, state.size, state.accepted], [1_200, 1_200, 1_200])
      }), { usage: source.reader })
  }, 60_000)

  it.live("an event its reader gives that breaks Orb's rules fails the run naming the event, and reverts it", () => {
    const source = generated(700, {
      eventAt: (i) => i === 612 ? { ...event(i), timestamp: DateTime.unsafeMake(start - 60_000) } : event(i)
    })
    return withEngine(() =>
      Effect.gen(function*() {
        const payload = yield* DurableRun.payload(spec(yield* RunSource.fromNamed("usage")))
        const failure = yield* runFailure(payload)
        assert.strictEqual(failure.stage, "ingest (segment 1, from event 501)")
        assert.match(failure.reason, /^event 613: /)
        assert.isTrue(failure.reverted, failure.message)
      }), { usage: source.reader })
  }, 60_000)

  it.live("a reader whose fingerprint changed since the submission is refused before any event is sent", () => {
    let version = "v1"
    const source = generated(100, { fingerprint: () => version })
    return withEngine(() =>
      Effect.gen(function*() {
        const named = yield* RunSource.fromNamed("usage")
        assert.strictEqual(named.fingerprint, "v1")
        const payload = yield* DurableRun.payload(spec(named))
        version = "v2"
        const failure = yield* runFailure(payload)
        assert.match(
          failure.reason,
          /source "usage" changed since the run was submitted \(fingerprint v2, submitted with v1\)/
        )
        assert.isTrue(failure.reverted)
        assert.deepStrictEqual(source.offsets, [], "the reader was never read")
        const sim = yield* OrbSimulator.OrbSimulator
        assert.strictEqual((yield* sim.events).length, 0)
      }), { usage: source.reader })
  }, 60_000)

  it.live(
    "a name no reader is registered under is a SourceError that says what to register",
    () =>
      withEngine(() =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(RunSource.fromNamed("usage"))
          assert.strictEqual(error._tag, "SourceError")
          assert.match(error.message, /^source "usage" cannot be read: no source of that name is registered/)
        })
      ),
    60_000
  )
})
