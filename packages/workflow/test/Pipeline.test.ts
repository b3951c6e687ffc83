/**
 * A durable run keeps its requests in flight across segments, as a run in memory does: the next segment sends while
 * the one before it finishes its last requests, and the two together never have more requests in flight than the
 * run's concurrency. In-process: the engine on a real SQLite file, the library over the simulator's test layer with
 * a round trip of its own, every ingest request watched as it leaves and as its answer comes.
 */
import { OrbSimulator } from "@effect-orb/simulator"
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as path from "node:path"
import { DurableRun, RunSource } from "../src/index.js"
import { engineOver, tempFolder } from "./support/inProcess.js"

const start = Date.parse("2026-07-01T00:00:00Z")
const events = 600
const segmentEvents = 100
const concurrency = 2

const line = (i: number) =>
  JSON.stringify({
    event_name: "api_call",
    timestamp: new Date(start + i * 60_000).toISOString(),
    external_customer_id: "acme",
    idempotency_key: `p-${i}`,
    properties: { units: 1 }
  })

/**
 * The ingest requests in flight, by the segment of their first event, and every request's view when it left (and
 * `sent <segment>` in `timeline`, when given). A request whose first event is `hold`'s is never answered.
 */
const watch = (hold?: number, timeline?: Array<string>) => {
  const inFlight: Array<number> = []
  const seen: Array<{ readonly segment: number; readonly alongside: ReadonlyArray<number> }> = []
  const layer = Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.transform(client, (response, request) => {
        if (!request.url.includes("/ingest")) return response
        const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
        const first = /"idempotency_key":"p-(\d+)"/.exec(body)
        const segment = first === null ? -1 : Math.floor(Number(first[1]) / segmentEvents)
        return Effect.acquireUseRelease(
          Effect.sync(() => {
            timeline?.push(`sent ${segment}`)
            seen.push({ segment, alongside: [...inFlight] })
            inFlight.push(segment)
          }),
          () => (first !== null && Number(first[1]) === hold ? Effect.never : response),
          () => Effect.sync(() => inFlight.splice(inFlight.indexOf(segment), 1))
        )
      }))
  )
  return { layer, seen }
}

/** A folder with the events file, removed with the scope; the simulator, with a round trip of its own. */
const setup = Effect.gen(function*() {
  const dir = yield* tempFolder("effect-orb-pipeline-")
  const file = path.join(dir, "events.ndjson")
  fs.writeFileSync(file, Array.from({ length: events }, (_, i) => line(i)).join("\n") + "\n")
  const simulator = yield* Layer.build(
    OrbSimulator.layer({ apiKey: "sk-sim", reflectionDelay: "1 second", latency: "20 millis" })
  )
  const payload = yield* payloadOf("pipeline", yield* RunSource.fromFile(file))
  return { dir, simulator, payload }
})

/** The runs' payload: segments of `segmentEvents`, batches of 10, `concurrency` requests in flight. */
const payloadOf = (runKey: string, source: RunSource.RunSource) =>
  DurableRun.payload({
    runKey,
    source,
    timeframeStart: DateTime.unsafeMake(start),
    timeframeEnd: DateTime.unsafeMake(start + 7 * 86_400_000),
    replaceExistingEvents: false,
    segmentEvents,
    batchSize: 10,
    concurrency,
    quota: false,
    until: "closed"
  })

const assertEveryEventOnce = (simulator: Context.Context<OrbSimulator.OrbSimulator>) =>
  Effect.gen(function*() {
    const sent = yield* Context.get(simulator, OrbSimulator.OrbSimulator).events
    assert.strictEqual(sent.length, events)
    assert.strictEqual(new Set(sent.map((e) => e.idempotencyKey)).size, events)
  })

describe("a durable run's segments", () => {
  it.scopedLive(
    "the next segment sends while the one before finishes, never more requests in flight than the concurrency",
    () =>
      Effect.gen(function*() {
        const { dir, payload, simulator } = yield* setup
        const watched = watch()
        const result = yield* DurableRun.execute(payload).pipe(
          Effect.provide(engineOver(dir, simulator, watched.layer))
        )
        assert.strictEqual(result.accepted, events)
        assert.strictEqual(result.segments, events / segmentEvents)
        yield* assertEveryEventOnce(simulator)

        const { seen } = watched
        assert.strictEqual(seen.length, events / 10)
        // Never more than the run's concurrency in flight, the two segments together.
        assert.isTrue(seen.every((request) => request.alongside.length < concurrency), JSON.stringify(seen))
        // A request of each later segment left while one of the segment before it was still in flight: the requests
        // in flight did not drain between segments.
        const overlapped = new Set(
          seen.filter((request) => request.alongside.some((other) => other < request.segment)).map((r) => r.segment)
        )
        assert.deepStrictEqual([...overlapped].sort(), [1, 2, 3, 4, 5], JSON.stringify(seen))
      }),
    60_000
  )

  it.scopedLive(
    "a segment cut short after the one after it finished: the position stays before it, and on resume it runs " +
      "again while the finished one is not sent again",
    () =>
      Effect.gen(function*() {
        const { dir, payload, simulator } = yield* setup
        // The first segment's last request is never answered: the second segment finishes meanwhile.
        const held = watch(segmentEvents - 10)
        const cut = yield* Effect.gen(function*() {
          const run = yield* Effect.fork(DurableRun.execute(payload))
          // The journal's view once the second segment has finished (the run's listing, as `orb-backfill runs`).
          const state = yield* DurableRun.list.pipe(
            Effect.map((runs) => runs[0]),
            Effect.filterOrFail((state) => state !== undefined && state.accepted >= segmentEvents),
            Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 400 })
          )
          yield* Fiber.interrupt(run)
          return state
        }).pipe(Effect.provide(engineOver(dir, simulator, held.layer)))
        // The second segment's events are journaled; the first's are not, and the position is where it starts.
        assert.strictEqual(cut.accepted, segmentEvents)
        assert.strictEqual(cut.position, 0)
        assert.strictEqual(held.seen.filter((request) => request.segment === 1).length, segmentEvents / 10)
        assert.isFalse(held.seen.some((request) => request.segment > 1))

        const again = watch()
        const result = yield* DurableRun.execute(payload).pipe(Effect.provide(engineOver(dir, simulator, again.layer)))
        assert.strictEqual(result.accepted, events)
        assert.strictEqual(result.segments, events / segmentEvents)
        yield* assertEveryEventOnce(simulator)
        // The first segment ran again from its start; the second was answered from the journal.
        assert.strictEqual(again.seen.filter((request) => request.segment === 0).length, segmentEvents / 10)
        assert.isFalse(again.seen.some((request) => request.segment === 1))
      }),
    60_000
  )
  it.scopedLive(
    "the next segment is read once the one before has its first requests on their way, and before they are answered",
    () =>
      Effect.gen(function*() {
        const { dir, simulator } = yield* setup
        // Who asked for what, in order: the source's reads (a named source, which says when it is read) and the
        // requests as they leave.
        const timeline: Array<string> = []
        const reader: RunSource.NamedReader = {
          events: (offset) =>
            Stream.suspend(() => {
              timeline.push(`read ${offset / segmentEvents}`)
              return Stream.map(Stream.range(offset, events - 1), (i) => ({
                eventName: "api_call",
                timestamp: DateTime.unsafeMake(start + i * 60_000),
                externalCustomerId: "acme",
                idempotencyKey: `p-${i}`,
                properties: { units: 1 }
              }))
            }),
          size: Effect.succeed(events)
        }
        const watched = watch(undefined, timeline)
        const result = yield* Effect.gen(function*() {
          const named = yield* payloadOf("pipeline-named", yield* RunSource.fromNamed("usage"))
          return yield* DurableRun.execute(named)
        }).pipe(Effect.provide(engineOver(dir, simulator, watched.layer, { usage: reader })))
        assert.strictEqual(result.accepted, events)
        yield* assertEveryEventOnce(simulator)

        for (let segment = 1; segment < events / segmentEvents; segment++) {
          const read = timeline.indexOf(`read ${segment}`)
          const before = timeline.flatMap((entry, i) => (entry === `sent ${segment - 1}` ? [i] : []))
          // Its first requests left before the next segment was read: reading the next one did not keep them
          // (read at once, the second segment was read before the first's first request left).
          assert.isTrue(before.length > 0 && before[0] < read, timeline.join(", "))
          // And it was read while the one before still had requests to send: the next one is ready in time.
          assert.isTrue(before[before.length - 1] > read, timeline.join(", "))
        }
      }),
    60_000
  )
})
