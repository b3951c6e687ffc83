// The library over real sockets (`OrbClient` on undici) through a chaos proxy to the simulator's real server: a
// fifth of the requests fail in every way a network, a load balancer or Orb does, before and after the server
// applied them (see chaosProxy.ts). Whatever happens, a run ends reflected with exactly one backfill holding every
// event once, and an interrupted run leaves nothing open.
import { Backfills, OrbClient } from "@effect-orb/backfills"
import type { Backfill } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as ChaosProxy from "./chaosProxy.js"

const apiKey = "sk-chaos"
/** The client's per-attempt timeout: `delay` holds a request past it, `drop-response` waits it out. */
const attemptTimeoutMillis = 300
const eventsPerRun = 3_000
// Chosen so that between them every fault strikes (the last test checks it); CHAOS_SEEDS=1,2,... runs others.
const seeds = process.env.CHAOS_SEEDS?.split(",").map(Number) ?? [1, 2, 3, 5, 12, 13]
const modes = ["replace", "add"] as const

const day = 86_400_000
// The simulator runs on the live clock here: a timeframe of last week, whole days.
const timeframeEnd = Math.floor(Date.now() / day) * day - day
const timeframeStart = timeframeEnd - 7 * day
// A close time of its own, not one from the clock: the proxy draws each request's fate from its body, so the
// create's must be the same from one run of a seed to the next.
const closeTime = timeframeEnd + 3 * day

const event = (seed: number, i: number): Backfill.IngestEvent => ({
  eventName: "api_call",
  timestamp: DateTime.unsafeMake(timeframeStart + (i * 997) % (7 * day)),
  properties: { units: i % 7, region: i % 2 === 0 ? "eu" : "us" },
  externalCustomerId: `customer-${i % 3}`,
  idempotencyKey: `chaos-${seed}-${i}`
})

/** The simulator's real server behind a chaos proxy, and the library over undici pointed at the proxy. */
const chaos = (seed: number, options: {
  /** Default: the seed. */
  readonly proxySeed?: string
  readonly faults?: Partial<Pick<ChaosProxy.Options, "rate" | "rates" | "faults">>
  /** The client's retries of a create, close, revert or fetch. Default 12. */
  readonly retries?: number
} = {}) =>
  Effect.gen(function*() {
    const server = yield* OrbSimulator.serve({
      apiKey,
      seed,
      reflectionDelay: "100 millis",
      revertDelay: "100 millis",
      recordRequests: "none"
    })
    const proxy = yield* ChaosProxy.make({
      upstream: `http://127.0.0.1:${server.port}`,
      seed: options.proxySeed ?? String(seed),
      rate: 0.2,
      // A run sends one create and one close against a dozen ingests and polls: a share of their own, so that
      // most seeds strike them too.
      rates: { create: 0.4, close: 0.4, revert: 0.4 },
      delayMillis: attemptTimeoutMillis + 200,
      ...options.faults
    })
    const library = Backfills.layer.pipe(
      Layer.provide(OrbClient.layer({
        apiKey: Redacted.make(apiKey),
        baseUrl: proxy.url,
        timeout: `${attemptTimeoutMillis} millis`,
        // Small waits, capped at 400 ms, and enough retries that a fifth of attempts failing never exhausts them.
        retrySchedule: Schedule.union(Schedule.exponential("25 millis"), Schedule.spaced("400 millis")).pipe(
          Schedule.jittered,
          Schedule.intersect(Schedule.recurs(options.retries ?? 12))
        ),
        maxRetryAfter: "100 millis"
      })),
      Layer.provide(NodeHttpClient.layerUndici),
      Layer.orDie
    )
    return { simulator: server.simulator, proxy, library }
  })

const runSpec = (mode: typeof modes[number], events: Stream.Stream<Backfill.IngestEvent>): Backfills.RunSpec => ({
  timeframeStart: DateTime.unsafeMake(timeframeStart),
  timeframeEnd: DateTime.unsafeMake(timeframeEnd),
  replaceExistingEvents: mode === "replace",
  closeTime: DateTime.unsafeMake(closeTime),
  events,
  ingest: { quota: false, batchSize: 250, concurrency: 4, maxAttempts: 20 },
  await: { schedule: Schedule.spaced("50 millis"), timeout: "20 seconds" }
})

/** Open: pending with its close time still ahead, so it would take events and close by itself. */
const openBackfills = (simulator: OrbSimulator.OrbSimulator) =>
  Effect.map(
    simulator.backfills,
    (all) => all.filter((b) => b.status === "pending" && Option.exists(b.closeTime, (t) => t.epochMillis > Date.now()))
  )

/** The faults that struck each operation, for a failure's message. */
const faultsByOperation = (decisions: ReadonlyArray<ChaosProxy.Decision>) => {
  const out: Record<string, Array<string>> = {}
  for (const { fault, operation } of decisions) if (fault !== undefined) (out[operation] ??= []).push(fault)
  return Object.entries(out).map(([operation, faults]) => `${operation}: ${faults.join(", ")}`).join("; ")
}

const struck = new Set<string>()
let passedRuns = 0

describe("Backfills.run under chaos, over real sockets", () => {
  for (const seed of seeds) {
    for (const mode of modes) {
      it.scopedLive(
        `seed ${seed}, ${mode} mode: reflected, one backfill, every event once`,
        () =>
          Effect.gen(function*() {
            // The mode goes into the proxy's seed, so that the two runs of a seed meet different faults.
            const { library, proxy, simulator } = yield* chaos(seed, { proxySeed: `${seed}-${mode}` })
            const events = Stream.range(0, eventsPerRun - 1).pipe(Stream.map((i) => event(seed, i)))
            const result = yield* Effect.either(
              Backfills.run(runSpec(mode, events)).pipe(Effect.provide(library))
            )
            // A `delay` may still forward a request after its client gave up: let it land before looking.
            yield* proxy.settled
            proxy.setEnabled(false)
            for (const decision of proxy.decisions) {
              if (decision.fault !== undefined) {
                struck.add(`fault:${decision.fault}`)
                struck.add(`operation:${decision.operation}`)
              }
            }
            const faults = faultsByOperation(proxy.decisions)
            const backfills = yield* simulator.backfills
            const states = backfills.map((b) => `${b.id} ${b.status} (${b.eventsIngested} events)`).join(", ")
            if (process.env.CHAOS_VERBOSE) {
              console.log(`seed ${seed}, ${mode}: ${Either.isLeft(result) ? result.left.message : "ok"}`)
              console.log(proxy.decisions.map((d) => `${d.at} ${d.operation} ${d.fault ?? ""}`).join("\n"))
            }
            // Every broken promise at once, so that a failure says all that went wrong (a failed run may leave an
            // orphan behind too).
            const broken: Array<string> = []
            if (Either.isLeft(result)) broken.push(`the run failed: ${result.left.message}`)
            else if (result.right.backfill.status !== "reflected") {
              broken.push(`the run ended ${result.right.backfill.status}, not reflected`)
            }
            const live = backfills.filter((b) => b.status !== "reverted")
            if (live.length !== 1) broken.push(`${live.length} backfills are not reverted, not exactly one`)
            const open = yield* openBackfills(simulator)
            if (open.length > 0) broken.push(`left open: ${open.map((b) => b.id).join(", ")}`)
            if (Either.isRight(result)) {
              const { backfill } = result.right
              if (live.length === 1 && live[0].id !== backfill.id) broken.push(`the live backfill is not the run's`)
              const recorded = (yield* simulator.events).filter((e) => Option.contains(e.backfillId, backfill.id))
              const keys = new Set(recorded.map((e) => e.idempotencyKey))
              let missing = 0
              for (let i = 0; i < eventsPerRun; i++) if (!keys.has(`chaos-${seed}-${i}`)) missing++
              if (recorded.length !== eventsPerRun || keys.size !== eventsPerRun || missing > 0) {
                broken.push(
                  `${recorded.length} events recorded (${keys.size} keys, ${missing} missing), not ${eventsPerRun}`
                )
              }
            }
            if (broken.length > 0) {
              assert.fail(`seed ${seed}, ${mode}: ${broken.join("; ")}\nfaults: ${faults}\nbackfills: ${states}`)
            }
            passedRuns++
          }),
        // The proxy draws each request's fate from its body, whose timestamps follow the date: a seed meets other
        // faults every day. On 2026-12-08 seed 3 in replace mode met six faults on one batch in a row, whose backoff
        // (0.5 s doubling) took its run to 26-30 s, correct all the same; it had taken under 3 s the day before.
        60_000
      )
    }
  }

  it.scopedLive("an interrupted run leaves nothing open", () =>
    Effect.gen(function*() {
      for (const seed of [11, 12, 13]) {
        const { library, proxy, simulator } = yield* chaos(seed)
        // More events than the run gets to send before the interruption.
        const events = Stream.range(0, 1_000_000).pipe(Stream.map((i) => event(seed, i)))
        const fiber = yield* Effect.fork(
          Backfills.run(runSpec("replace", events)).pipe(Effect.provide(library))
        )
        // Mid-ingestion: the backfill exists and has taken some events.
        while ((yield* simulator.backfills).every((b) => b.eventsIngested < 1_000)) {
          assert.isNull(fiber.unsafePoll(), "the run is still going")
          yield* Effect.sleep("20 millis")
        }
        yield* Fiber.interrupt(fiber)
        yield* proxy.settled
        const faults = faultsByOperation(proxy.decisions)
        const backfills = yield* simulator.backfills
        const states = backfills.map((b) => `${b.id} ${b.status} (${b.eventsIngested} events)`).join(", ")
        if (process.env.CHAOS_VERBOSE) console.log(`interrupted seed ${seed}: faults: ${faults}; backfills: ${states}`)
        assert.deepStrictEqual(
          yield* openBackfills(simulator),
          [],
          `seed ${seed}: no backfill is left open; faults: ${faults}; backfills: ${states}`
        )
      }
    }), 30_000)

  it.scopedLive("a run interrupted while its create is unanswered leaves nothing open", () =>
    Effect.gen(function*() {
      // Every create is held past the client's timeout and reaches the server all the same, after the client gave
      // up on it: the interruption comes while the client cannot know whether a backfill exists.
      const { library, proxy, simulator } = yield* chaos(14, {
        faults: { rate: 0, rates: { create: 1 }, faults: ["delay"] },
        retries: 2
      })
      const events = Stream.range(0, 999).pipe(Stream.map((i) => event(14, i)))
      const fiber = yield* Effect.fork(Backfills.run(runSpec("replace", events)).pipe(Effect.provide(library)))
      yield* Effect.sleep(`${attemptTimeoutMillis / 3} millis`)
      yield* Fiber.interrupt(fiber)
      yield* proxy.settled
      const backfills = yield* simulator.backfills
      const states = backfills.map((b) => `${b.id} ${b.status}`).join(", ")
      assert.isAbove(backfills.length, 0, "the held create reached the server")
      assert.deepStrictEqual(yield* openBackfills(simulator), [], `no backfill is left open; backfills: ${states}`)
    }), 30_000)

  it("the chaos struck every operation of a run, with every kind of fault", (context) => {
    // Only meaningful when every seeded run above ran to its end (not under a filter, and none failed early).
    if (passedRuns < seeds.length * modes.length) return context.skip()
    for (const operation of ["create", "ingest", "close", "fetch"]) {
      assert.isTrue(struck.has(`operation:${operation}`), `some fault struck a ${operation}`)
    }
    for (const fault of ChaosProxy.chaosFaults) assert.isTrue(struck.has(`fault:${fault}`), `fault ${fault} struck`)
  })
})

describe("the chaos proxy", () => {
  // What each fault must look like from both ends: what the client gets, and whether the server applied the request.
  const expectations: Record<
    ChaosProxy.ChaosFault,
    { readonly client: number | "no answer"; readonly applied: boolean }
  > = {
    "reset-before": { client: "no answer", applied: false },
    "reset-after": { client: "no answer", applied: true },
    "drop-response": { client: "no answer", applied: true },
    "answer-500": { client: 500, applied: false },
    "answer-502": { client: 502, applied: false },
    "answer-503": { client: 503, applied: false },
    "answer-429": { client: 429, applied: false },
    "answer-429-retry-after": { client: 429, applied: false },
    "answer-409": { client: 409, applied: false },
    // The client gives up first; the request reaches the server later all the same.
    "delay": { client: "no answer", applied: true },
    "garbage-html": { client: 200, applied: true },
    "garbage-truncated": { client: 200, applied: true },
    "garbage-empty": { client: 200, applied: true }
  }

  it.scopedLive("each fault does what it says, to the client and to the server", () =>
    Effect.gen(function*() {
      for (const fault of ChaosProxy.chaosFaults) {
        const server = yield* OrbSimulator.serve({ apiKey })
        const proxy = yield* ChaosProxy.make({
          upstream: `http://127.0.0.1:${server.port}`,
          seed: 1,
          rate: 1,
          faults: [fault],
          delayMillis: attemptTimeoutMillis + 200
        })
        const reply = yield* Effect.promise(() =>
          fetch(`${proxy.url}/events/backfills`, {
            method: "POST",
            headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
            body: JSON.stringify({
              timeframe_start: new Date(timeframeStart).toISOString(),
              timeframe_end: new Date(timeframeEnd).toISOString(),
              replace_existing_events: false
            }),
            signal: AbortSignal.timeout(attemptTimeoutMillis)
          }).then(
            async (response) => ({ status: response.status, text: await response.text() }),
            () => "no answer" as const
          )
        )
        yield* proxy.settled
        const expected = expectations[fault]
        assert.strictEqual(reply === "no answer" ? reply : reply.status, expected.client, fault)
        assert.strictEqual((yield* server.simulator.backfills).length, expected.applied ? 1 : 0, fault)
        assert.deepStrictEqual(proxy.decisions.map((d) => [d.operation, d.fault]), [["create", fault]], fault)
        if (reply !== "no answer" && reply.status === 200) {
          assert.throws(() => JSON.parse(reply.text), undefined, undefined, `${fault}: the 200 is unreadable`)
        }
      }
    }), 30_000)
})
