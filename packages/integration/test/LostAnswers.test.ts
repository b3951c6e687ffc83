/**
 * Runs whose answers are lost after Orb applied the request: a proxy's page instead of the create's 200, a revert
 * whose answer never comes. The simulator applies each request; a client layer between it and the library
 * replaces the answers the test picks by an unreadable page, as a proxy in front of Orb would.
 */
import type { OrbError } from "@effect-orb/backfills"
import { Backfills, OrbClient } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { driveClock, now, sampleEvent, setNow, timeframe } from "./simulator.js"

/** Which answers to lose: given the request and how many requests of the same method and path came before. */
type Garble = (request: HttpClientRequest.HttpClientRequest, path: string, seen: number) => boolean

const proxyPage = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"

/**
 * The simulator behind a client that hands the library a proxy's page instead of the answers `garble` picks; with
 * `holdCreates`, every create is held on the way for that long and the client told at once that the connection
 * failed, as a proxy that gives up on a request it forwards later.
 */
const withLostAnswers = (garble: Garble, holdCreates?: Duration.DurationInput) => {
  const lossy = Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (inner) => {
      const seen = new Map<string, number>()
      return HttpClient.make((request, url) =>
        holdCreates !== undefined && request.method === "POST" && url.pathname === "/v1/events/backfills"
          ? Effect.zipRight(
            Effect.forkDaemon(Effect.delay(Effect.ignore(inner.execute(request)), holdCreates)),
            Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", description: "reset" }))
          )
          : Effect.flatMap(inner.execute(request), (response) => {
            const route = `${request.method} ${url.pathname}`
            const count = seen.get(route) ?? 0
            seen.set(route, count + 1)
            if (!garble(request, route, count)) return Effect.succeed(response)
            // The request took effect; only its answer is lost.
            return Effect.as(
              response.text,
              HttpClientResponse.fromWeb(request, new Response(proxyPage, { status: 200 }))
            )
          }).pipe(Effect.orDie)
      )
    })
  )
  return Backfills.layer.pipe(
    Layer.provideMerge(OrbClient.layer({ apiKey: Redacted.make("sk-sim"), baseUrl: "http://127.0.0.1/v1" })),
    Layer.provide(lossy),
    Layer.provideMerge(OrbSimulator.layer({ apiKey: "sk-sim", reflectionDelay: "30 seconds" })),
    Layer.orDie
  )
}

const events = (count: number) => Stream.range(0, count - 1).pipe(Stream.map((i) => sampleEvent(i)))

const spec = <E = never>(
  replaceExistingEvents: boolean,
  input: number | Stream.Stream<ReturnType<typeof sampleEvent>, E>
): Backfills.RunSpec<E, never> => ({
  ...timeframe,
  replaceExistingEvents,
  events: typeof input === "number" ? events(input) : input,
  ingest: { quota: false }
})

const activeEvents = Effect.gen(function*() {
  const sim = yield* OrbSimulator.OrbSimulator
  return (yield* sim.events).filter((e) => e.status === "active").length
})

const openBackfills = Effect.gen(function*() {
  const sim = yield* OrbSimulator.OrbSimulator
  return (yield* sim.backfills).filter((b) => b.status === "pending")
})

const createPath = "POST /v1/events/backfills"

describe("Backfills.run when answers are lost", () => {
  it.effect("a lost answer to a create refused for an overlap: the replayed refusal is waited out, not taken as lost", () =>
    Effect.gen(function*() {
      yield* setNow
      // A pending backfill over the timeframe that closes by itself in 2 minutes (then is reflected 30 s later).
      const blocker = yield* Backfills.create({
        ...timeframe,
        replaceExistingEvents: false,
        closeTime: DateTime.add(DateTime.unsafeMake(now), { minutes: 2 })
      })
      const waited: Array<string> = []
      const result = yield* driveClock(
        Backfills.run({
          ...spec(false, 50),
          onProgress: (p) => p.stage === "waiting" ? Effect.sync(() => void waited.push(p.blocker.id)) : Effect.void
        }),
        "5 seconds"
      )
      assert.deepStrictEqual(waited, [blocker.id])
      assert.strictEqual(result.backfill.status, "reflected")
      assert.strictEqual(result.backfill.eventsIngested, 50)
      const sim = yield* OrbSimulator.OrbSimulator
      assert.strictEqual((yield* sim.backfills).length, 2, "the blocker and the run's one backfill")
      const requests = yield* sim.requests
      assert.isFalse(requests.some((r) => r.url.endsWith("/revert")), "nothing reverted")
      assert.isTrue(
        requests.some((r) => r.url === "/v1/events/backfills" && r.replayed && r.status === 400),
        "the recovery's create got Orb's replayed refusal"
      )
    }).pipe(
      // The blocker's create is the first; the run's first create (the second) has its answer lost.
      Effect.provide(withLostAnswers((_, route, seen) => route === createPath && seen === 1))
    ))

  it.effect("a create whose every answer is a proxy's page: the backfill is found among the open ones, reverted", () =>
    Effect.gen(function*() {
      yield* setNow
      // 293 events already count in the timeframe.
      yield* driveClock(Backfills.run(spec(false, 293)))
      assert.strictEqual(yield* activeEvents, 293)
      const error = yield* Effect.flip(driveClock(Backfills.run(spec(true, 10))))
      assert.strictEqual(error._tag, "RunFailed")
      const failed = error as OrbError.RunFailed
      assert.strictEqual(failed.stage, "create")
      assert.strictEqual(failed.found, "listed")
      assert.isTrue(failed.reverted)
      assert.include(failed.message, "Run failed while creating the backfill")
      assert.include(failed.message, `found backfill ${failed.backfillId} among the open ones`)
      assert.include(failed.message, "was reverted, so no usage changed")
      assert.deepStrictEqual(yield* openBackfills, [])
      // Past the orphan's close time, the earlier usage still counts: nothing replaced it.
      yield* TestClock.adjust("2 days")
      assert.strictEqual(yield* activeEvents, 293)
    }).pipe(Effect.provide(withLostAnswers((_, route, seen) => route === createPath && seen >= 1))))

  it.effect("when the listing fails too, the create is sent again with its key and the replayed backfill reverted", () =>
    Effect.gen(function*() {
      yield* setNow
      const error = yield* Effect.flip(driveClock(Backfills.run(spec(true, 10))))
      const failed = error as OrbError.RunFailed
      assert.strictEqual(failed.stage, "create")
      assert.strictEqual(failed.found, "replayed")
      assert.isTrue(failed.reverted)
      const sim = yield* OrbSimulator.OrbSimulator
      const all = yield* sim.backfills
      assert.strictEqual(all.length, 1, "the re-sent create was a replay, not a second backfill")
      assert.strictEqual(all[0].status, "reverted")
      const creates = (yield* sim.requests).filter((r) => r.method === "POST" && r.url === "/v1/events/backfills")
      assert.strictEqual(new Set(creates.map((r) => r.headers["idempotency-key"])).size, 1)
    }).pipe(
      Effect.provide(
        withLostAnswers((request, route, seen) =>
          (route === createPath && seen < 3) || (request.method === "GET" && route === "GET /v1/events/backfills")
        )
      )
    ))

  it.effect("a create that reaches Orb only after the client gave up on it is found by a later search", () =>
    Effect.gen(function*() {
      yield* setNow
      const error = yield* Effect.flip(driveClock(Backfills.run(spec(true, 10))))
      const failed = error as OrbError.RunFailed
      assert.strictEqual(failed.stage, "create")
      assert.strictEqual(failed.found, "listed")
      assert.isTrue(failed.reverted)
      yield* TestClock.adjust("1 minute")
      const sim = yield* OrbSimulator.OrbSimulator
      const all = yield* sim.backfills
      assert.isAbove(all.length, 0)
      assert.deepStrictEqual(all.filter((b) => b.status !== "reverted"), [])
    }).pipe(Effect.provide(withLostAnswers(() => false, "3 seconds"))))

  it.effect("when nothing can be found, the error says what to look for", () =>
    Effect.gen(function*() {
      yield* setNow
      const error = yield* Effect.flip(driveClock(Backfills.run(spec(true, 10))))
      const failed = error as OrbError.RunFailed
      assert.strictEqual(failed.stage, "create")
      assert.strictEqual(failed.found, "none")
      assert.isUndefined(failed.backfillId)
      assert.match(
        failed.message,
        /the create's outcome is unknown and no backfill it could have made was found \(a pending backfill of 2026-10-01T00:00:00.000Z to 2026-10-08T00:00:00.000Z closing by itself at .*\): list the backfills/
      )
    }).pipe(
      Effect.provide(withLostAnswers((_, route) => route === createPath || route === "GET /v1/events/backfills"))
    ))

  it.effect("a create key given again for a second run: Orb replays the first run's backfill, which is left alone", () =>
    Effect.gen(function*() {
      yield* setNow
      // The same body both times (a fixed close time), so that Orb takes the second create for a retry of the first.
      const same = { closeTime: DateTime.unsafeMake(now + 3_600_000), idempotencyKey: "october-fix-create" }
      const first = yield* driveClock(Backfills.run({ ...spec(true, 10), ...same }))
      assert.strictEqual(first.backfill.status, "reflected")
      const error = yield* Effect.flip(
        driveClock(Backfills.run({ ...spec(true, 10), ...same }))
      )
      assert.strictEqual(error._tag, "InvalidInput")
      assert.include(error.message, `backfill ${first.backfill.id}, which is reflected`)
      const sim = yield* OrbSimulator.OrbSimulator
      const all = yield* sim.backfills
      assert.deepStrictEqual(all.map((b) => b.status), ["reflected"])
    }).pipe(Effect.provide(withLostAnswers(() => false))))

  it.effect("a revert whose answer is lost: the run fetches the backfill and reports what it saw", () =>
    Effect.gen(function*() {
      yield* setNow
      const failing = Stream.concat(events(700), Stream.fail("disk read error"))
      const error = yield* Effect.flip(driveClock(Backfills.run(spec(true, failing))))
      const failed = error as OrbError.RunFailed
      assert.strictEqual(failed.stage, "ingest")
      assert.isTrue(failed.reverted)
      assert.strictEqual(failed.status, "reverted")
      assert.notInclude(failed.message, "could NOT")
      assert.include(failed.message, "its revert's answer was lost; fetched again, it is reverted")
      assert.deepStrictEqual(yield* openBackfills, [])
    }).pipe(Effect.provide(withLostAnswers((_, route) => route.endsWith("/revert")))))

  it.effect("interrupted while the create is in flight: the create's backfill is reverted, nothing stays open", () =>
    Effect.gen(function*() {
      yield* setNow
      const sim = yield* OrbSimulator.OrbSimulator
      const fiber = yield* Effect.fork(Backfills.run(spec(true, 10)))
      // The create's first answer is lost; the interruption comes while its retry waits.
      yield* Effect.yieldNow().pipe(
        Effect.zipRight(sim.requests),
        Effect.repeat({ until: (requests) => requests.some((r) => r.method === "POST") })
      )
      const interrupting = yield* Effect.fork(Fiber.interrupt(fiber))
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(interrupting)
      const all = yield* sim.backfills
      assert.strictEqual(all.length, 1)
      assert.strictEqual(all[0].status, "reverted")
      assert.deepStrictEqual(yield* openBackfills, [])
    }).pipe(Effect.provide(withLostAnswers((_, route, seen) => route === createPath && seen === 0))))
})
