/**
 * Runs over a timeframe longer than the account's maximum: cut into windows, one backfill each, all or nothing.
 * Against the simulator's test layer, whose own limit matches the library's (it refuses a longer timeframe, and two
 * open backfills that overlap, so a window bug shows as a refusal).
 */
import type { Backfill, OrbError } from "@effect-orb/backfills"
import { Backfills, OrbClient } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { driveClock, setNow } from "./simulator.js"

const day = 86_400_000
const start = Date.parse("2026-07-01T00:00:00Z")
/** 95 days: windows of 31, 31, 31 and 2 days. */
const quarter = { timeframeStart: DateTime.unsafeMake(start), timeframeEnd: DateTime.unsafeMake(start + 95 * day) }

/**
 * The library over the simulator, both with the account's maximum `maxTimeframe` (default 31 days); with
 * `failClose`, every close of the `failClose`-th backfill created (from 0) answers 500.
 */
const withAccount = (
  options: {
    readonly maxTimeframe?: Duration.DurationInput
    readonly failClose?: number
    /** Every answer to the second window's create, and to every listing, is lost (the create applied). */
    readonly loseSecondCreate?: boolean
  } = {}
) => {
  const failing = Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (inner) => {
      const created: Array<string> = []
      return HttpClient.make((request, url) =>
        Effect.flatMap(inner.execute(request), (response) => {
          if (options.loseSecondCreate && url.pathname === "/v1/events/backfills") {
            const key = request.headers["idempotency-key"] ?? ""
            if (request.method === "GET" || key.endsWith("-w1")) {
              return Effect.as(
                response.text,
                HttpClientResponse.fromWeb(request, new Response("<html>502</html>", { status: 502 }))
              )
            }
          }
          if (request.method === "POST" && url.pathname === "/v1/events/backfills" && response.status === 200) {
            return Effect.map(response.json, (body) => {
              created.push((body as { id: string }).id)
              return HttpClientResponse.fromWeb(request, new Response(JSON.stringify(body), { status: 200 }))
            })
          }
          const target = options.failClose === undefined ? undefined : created[options.failClose]
          if (target !== undefined && url.pathname === `/v1/events/backfills/${target}/close`) {
            return Effect.succeed(HttpClientResponse.fromWeb(
              request,
              new Response(JSON.stringify({ status: 500, title: "Internal server error" }), { status: 500 })
            ))
          }
          return Effect.succeed(response)
        }).pipe(Effect.orDie)
      )
    })
  )
  return Backfills.layerWith({ maxTimeframe: options.maxTimeframe }).pipe(
    Layer.provideMerge(OrbClient.layer({ apiKey: Redacted.make("sk-sim"), baseUrl: "http://127.0.0.1/v1" })),
    Layer.provide(failing),
    Layer.provideMerge(OrbSimulator.layer({
      apiKey: "sk-sim",
      reflectionDelay: "30 seconds",
      ...(options.maxTimeframe !== undefined ? { maxTimeframe: options.maxTimeframe } : {})
    })),
    Layer.orDie
  )
}

/** `count` events spread over `span` days from the start, in no order (a stride coprime with the count). */
const scattered = (count: number, span = 95, prefix = "q") =>
  Stream.range(0, count - 1).pipe(Stream.map((i): Backfill.IngestEvent => {
    const slot = (i * 7_919) % count
    return {
      eventName: "api_call",
      timestamp: DateTime.unsafeMake(start + Math.floor((slot * span * day) / count)),
      properties: { units: 1 },
      externalCustomerId: `customer-${i % 3}`,
      idempotencyKey: `${prefix}-${i}`
    }
  }))

const run = (
  spec: Partial<Backfills.RunSpec<unknown, never>> & { readonly events: Stream.Stream<Backfill.IngestEvent, unknown> }
) =>
  Backfills.run({
    ...quarter,
    replaceExistingEvents: true,
    ingest: { quota: false },
    ...spec
  } as Backfills.RunSpec<unknown, never>)

/** The events the simulator counts now (active), by key, with their backfill. */
const activeEvents = Effect.gen(function*() {
  const sim = yield* OrbSimulator.OrbSimulator
  return (yield* sim.events).filter((event) => event.status === "active")
})

describe("a run longer than the account's maximum", () => {
  it.effect(
    "95 days of unsorted events: four windows, each event in its window exactly once, all reflected",
    () =>
      Effect.gen(function*() {
        yield* setNow
        const windowsSeen = new Set<number>()
        const result = yield* driveClock(run({
          events: scattered(6_000),
          onProgress: (p) => Effect.sync(() => windowsSeen.add(p.windows.length))
        }))
        assert.deepStrictEqual([...windowsSeen], [4])
        assert.deepStrictEqual(
          result.windows.map((w) => [DateTime.formatIso(w.timeframeStart), DateTime.formatIso(w.timeframeEnd)]),
          [
            ["2026-07-01T00:00:00.000Z", "2026-08-01T00:00:00.000Z"],
            ["2026-08-01T00:00:00.000Z", "2026-09-01T00:00:00.000Z"],
            ["2026-09-01T00:00:00.000Z", "2026-10-02T00:00:00.000Z"],
            ["2026-10-02T00:00:00.000Z", "2026-10-04T00:00:00.000Z"]
          ]
        )
        assert.deepStrictEqual(result.windows.map((w) => w.backfill.status), Array(4).fill("reflected"))
        assert.strictEqual(result.ingestion.accepted, 6_000)
        assert.strictEqual(result.windows.reduce((sum, w) => sum + w.accepted, 0), 6_000)
        assert.deepStrictEqual(
          result.windows.map((w) => w.backfill.eventsIngested),
          result.windows.map((w) => w.accepted)
        )

        const sim = yield* OrbSimulator.OrbSimulator
        const backfills = yield* sim.backfills
        assert.strictEqual(backfills.length, 4, "one backfill per window, no other")
        const windowOf = new Map(result.windows.map((w) => [w.backfill.id as string, w]))
        const active = yield* activeEvents
        assert.strictEqual(active.length, 6_000)
        assert.strictEqual(new Set(active.map((e) => e.idempotencyKey)).size, 6_000, "each event exactly once")
        for (const event of active) {
          const window = windowOf.get(Option.getOrThrow(event.backfillId))!
          assert.isTrue(
            event.timestamp.epochMillis >= window.timeframeStart.epochMillis &&
              event.timestamp.epochMillis < window.timeframeEnd.epochMillis,
            `${DateTime.formatIso(event.timestamp)} is in its window`
          )
        }
      }).pipe(Effect.provide(withAccount())),
    120_000
  )

  /** Existing usage over the quarter, then a replace-mode run that fails: the usage must be exactly as it was. */
  const usageUnchangedAfter = (
    failing: (
      events: Stream.Stream<Backfill.IngestEvent, unknown>
    ) => Effect.Effect<unknown, unknown, Backfills.Backfills | OrbSimulator.OrbSimulator>
  ) =>
    Effect.gen(function*() {
      yield* setNow
      yield* driveClock(run({ replaceExistingEvents: false, events: scattered(900, 95, "before") }))
      const before = (yield* activeEvents).map((e) => e.idempotencyKey).sort()
      assert.strictEqual(before.length, 900)
      const failure = yield* failing(scattered(3_000, 95, "after"))
      const sim = yield* OrbSimulator.OrbSimulator
      const made = (yield* sim.backfills).filter((b) => b.replaceExistingEvents)
      assert.strictEqual(made.length, 4, "the failed run had created all four windows")
      assert.deepStrictEqual(made.map((b) => b.status), Array(4).fill("reverted"))
      yield* driveClock(Effect.sleep("5 minutes"))
      assert.deepStrictEqual((yield* activeEvents).map((e) => e.idempotencyKey).sort(), before)
      return failure as OrbError.RunFailed | undefined
    })

  it.effect(
    "a failure in the third window's ingestion reverts all four windows; usage is as it was",
    () =>
      Effect.gen(function*() {
        const failure = yield* usageUnchangedAfter((events) =>
          Effect.flip(driveClock(run({
            // The input fails as it reaches an event of the third window, after events of every other window.
            events: Stream.mapEffect(Stream.zipWithIndex(events), ([event, i]) =>
              i > 2_000 && event.timestamp.epochMillis >= start + 62 * day &&
                event.timestamp.epochMillis < start + 93 * day
                ? Effect.fail("the source broke" as const)
                : Effect.succeed(event))
          })))
        )
        assert.strictEqual(failure!._tag, "RunFailed")
        assert.strictEqual(failure!.stage, "ingest")
        assert.isTrue(failure!.reverted)
        assert.strictEqual(failure!.windows?.length, 4)
        assert.isTrue(failure!.windows!.every((w) => w.reverted && !w.closed && w.backfillId !== undefined))
        assert.match(
          failure!.message,
          /every window's backfill was reverted, so no usage changed: 2026-07-01T00:00:00\.000Z to 2026-08-01T00:00:00\.000Z: backfill \S+ reverted; /
        )
      }).pipe(Effect.provide(withAccount())),
    120_000
  )

  it.effect("an interruption mid-ingestion reverts all four windows; usage is as it was", () =>
    Effect.gen(function*() {
      yield* usageUnchangedAfter((events) =>
        Effect.gen(function*() {
          let ingesting = false
          const fiber = yield* Effect.fork(run({
            events: Stream.tap(events, () => Effect.sleep("10 millis")),
            onProgress: (p) =>
              Effect.sync(() => void (ingesting ||= p.stage === "ingesting" && p.ingest.accepted >= 1_000))
          }))
          while (!ingesting) yield* TestClock.adjust("100 millis")
          yield* Fiber.interrupt(fiber)
          return undefined
        })
      )
    }).pipe(Effect.provide(withAccount())), 120_000)

  it.effect(
    "a close that fails for good reverts the windows already closed and the rest, naming each",
    () =>
      Effect.gen(function*() {
        const failure = yield* usageUnchangedAfter((events) => Effect.flip(driveClock(run({ events }), "5 seconds")))
        assert.strictEqual(failure!.stage, "close")
        assert.isTrue(failure!.reverted)
        // The failed run's backfills are the second four created (the first four were the usage before).
        assert.deepStrictEqual(failure!.windows!.map((w) => w.closed), [true, true, false, false])
        assert.strictEqual(failure!.backfillId, failure!.windows![2].backfillId, "the window whose close failed")
        // Each window counts the events Orb accepted into it, as a durable run's windows do: all of them were in.
        assert.strictEqual(failure!.windows!.reduce((sum, w) => sum + w.accepted, 0), 3_000)
        assert.match(
          failure!.message,
          /2026-07-01T00:00:00\.000Z to 2026-08-01T00:00:00\.000Z: backfill \S+ \(closed\) reverted/
        )
      }).pipe(Effect.provide(withAccount({ failClose: 6 }))),
    120_000
  )
})

describe("a window's create refused", () => {
  it.effect(
    "an open backfill overlapping the third window, with no overlap wait: the two made are reverted, the other left alone",
    () =>
      Effect.gen(function*() {
        yield* setNow
        const other = yield* Backfills.create({
          timeframeStart: DateTime.unsafeMake(start + 70 * day),
          timeframeEnd: DateTime.unsafeMake(start + 72 * day),
          replaceExistingEvents: false
        })
        const failure = yield* Effect.flip(driveClock(run({ events: scattered(100), overlapWait: 0 })))
        assert.strictEqual(failure._tag, "RunFailed")
        const runFailed = failure as OrbError.RunFailed
        assert.strictEqual(runFailed.stage, "create")
        assert.isTrue(runFailed.reverted)
        assert.deepStrictEqual(runFailed.windows!.map((w) => [w.backfillId !== undefined, w.reverted]), [
          [true, true],
          [true, true],
          [false, false],
          [false, false]
        ])
        assert.include(runFailed.message, `overlaps backfill ${other.id}`)
        const sim = yield* OrbSimulator.OrbSimulator
        const statuses = new Map((yield* sim.backfills).map((b) => [b.id as string, b.status]))
        assert.strictEqual(statuses.get(other.id), "pending", "the other backfill was not touched")
        assert.deepStrictEqual([...statuses.values()].filter((s) => s === "reverted").length, 2)
      }).pipe(Effect.provide(withAccount())),
    60_000
  )
})

describe("a window's create waiting for an overlap", () => {
  it.effect(
    "the third window waits for the open backfill it overlaps; when the wait passes, the two made are reverted",
    () =>
      Effect.gen(function*() {
        yield* setNow
        const other = yield* Backfills.create({
          timeframeStart: DateTime.unsafeMake(start + 70 * day),
          timeframeEnd: DateTime.unsafeMake(start + 72 * day),
          replaceExistingEvents: false
        })
        const waits: Array<[number, string]> = []
        const failure = yield* Effect.flip(driveClock(
          run({
            events: scattered(100),
            overlapWait: "5 minutes",
            onProgress: (p) =>
              p.stage === "waiting" ? Effect.sync(() => void waits.push([p.window, p.blocker.id])) : Effect.void
          }),
          "10 seconds"
        ))
        assert.deepStrictEqual(waits, [[2, other.id]])
        assert.strictEqual(failure._tag, "RunFailed")
        const runFailed = failure as OrbError.RunFailed
        assert.strictEqual(runFailed.stage, "create")
        assert.isTrue(runFailed.reverted)
        assert.strictEqual((runFailed.cause as OrbError.OverlapWaitTimeout)._tag, "OverlapWaitTimeout")
        assert.strictEqual((runFailed.cause as OrbError.OverlapWaitTimeout).backfillId, other.id)
        // Two windows' backfills were created (and reverted): the message does not say that nothing was.
        assert.notInclude(runFailed.message, "nothing was created", runFailed.message)
        assert.include(runFailed.message, "the backfill that waited for it was not created", runFailed.message)
        const sim = yield* OrbSimulator.OrbSimulator
        const statuses = new Map((yield* sim.backfills).map((b) => [b.id as string, b.status]))
        assert.strictEqual(statuses.get(other.id), "pending", "the other backfill was not touched")
        assert.deepStrictEqual([...statuses.values()].filter((s) => s === "reverted").length, 2)
      }).pipe(Effect.provide(withAccount())),
    60_000
  )
})

describe("a window's create lost", () => {
  it.effect(
    "nothing found for the second window: the first is reverted, and the failure says what to look for",
    () =>
      Effect.gen(function*() {
        yield* setNow
        const failure =
          (yield* Effect.flip(driveClock(run({ events: scattered(100) }), "5 seconds"))) as OrbError.RunFailed
        assert.strictEqual(failure.stage, "create")
        assert.strictEqual(failure.found, "none")
        assert.isFalse(failure.reverted)
        assert.deepStrictEqual(failure.windows!.map((w) => [w.backfillId !== undefined, w.reverted]), [
          [true, true],
          [false, false],
          [false, false],
          [false, false]
        ])
        assert.match(
          failure.message,
          /a window's create has an unknown outcome and nothing it could have made was found \(a pending backfill of 2026-08-01T00:00:00\.000Z to 2026-09-01T00:00:00\.000Z closing by itself at /
        )
      }).pipe(Effect.provide(withAccount({ loseSecondCreate: true }))),
    120_000
  )
})

describe("window edges", () => {
  const at = (millis: number, key: string): Backfill.IngestEvent => ({
    eventName: "api_call",
    timestamp: DateTime.unsafeMake(millis),
    properties: {},
    externalCustomerId: "acme",
    idempotencyKey: key
  })
  /** The windows of a run from the start over `millis`, with the events given. */
  const windowsOf = (millis: number, ...events: ReadonlyArray<Backfill.IngestEvent>) =>
    Effect.map(
      driveClock(run({ timeframeEnd: DateTime.unsafeMake(start + millis), events: Stream.fromIterable(events) })),
      (result) => result.windows
    )

  it.effect(
    "exactly the maximum is one window; one second more is two, the event at the boundary the second's",
    () =>
      Effect.gen(function*() {
        yield* setNow
        const one = yield* windowsOf(31 * day, at(start, "first"), at(start + 31 * day - 1, "last"))
        assert.strictEqual(one.length, 1)
        assert.strictEqual(one[0].accepted, 2)
        const two = yield* windowsOf(
          31 * day + 1_000,
          at(start + 31 * day - 1, "just-before"),
          at(start + 31 * day, "boundary")
        )
        assert.strictEqual(two.length, 2)
        assert.strictEqual(two[0].timeframeEnd.epochMillis, start + 31 * day)
        assert.strictEqual(two[1].timeframeEnd.epochMillis - two[1].timeframeStart.epochMillis, 1_000)
        assert.deepStrictEqual(two.map((w) => w.accepted), [1, 1], "an end is exclusive: the boundary is the next's")
      }).pipe(Effect.provide(withAccount())),
    60_000
  )

  it.effect(
    "a raised maximum (45 days) cuts 95 days into three windows, which the account accepts",
    () =>
      Effect.gen(function*() {
        yield* setNow
        const result = yield* driveClock(run({ events: scattered(900) }))
        assert.deepStrictEqual(
          result.windows.map((w) => (w.timeframeEnd.epochMillis - w.timeframeStart.epochMillis) / day),
          [45, 45, 5]
        )
        assert.strictEqual(result.ingestion.accepted, 900)
      }).pipe(Effect.provide(withAccount({ maxTimeframe: "45 days" }))),
    60_000
  )
})
