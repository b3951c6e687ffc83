/**
 * A backfill closed or reverted by someone else while a durable run sends to it (a person, or a process on a copy of
 * the state file that ran the same run to its end) is not the run's to undo: whether the change comes between two
 * segments or while a segment is sending, the run fails at stage `journal`, saying so, and reverts nothing. In-process:
 * the engine on a real SQLite file, the library over the simulator's test layer, the backfill closed or reverted
 * through the simulator just before a chosen ingest request leaves.
 */
import { OrbSimulator } from "@effect-orb/simulator"
import * as HttpClient from "@effect/platform/HttpClient"
import { assert, describe, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as path from "node:path"
import { DurableRun, RunSource } from "../src/index.js"
import { engineOver, tempFolder } from "./support/inProcess.js"

const start = Date.parse("2026-07-01T00:00:00Z")
const events = 600
const segmentEvents = 100
const batchSize = 10

const line = (i: number) =>
  JSON.stringify({
    event_name: "api_call",
    timestamp: new Date(start + i * 60_000).toISOString(),
    external_customer_id: "acme",
    idempotency_key: `c-${i}`,
    properties: { units: 1 }
  })

const headers = { authorization: "Bearer sk-sim", "content-type": "application/json" }

/**
 * The library's client, with `action` (`close` or `revert`) sent to the run's backfill through the simulator just
 * before the ingest request whose first event is `at` leaves.
 */
const changedBefore = (
  simulator: OrbSimulator.OrbSimulator,
  at: number,
  action: "close" | "revert"
): Layer.Layer<HttpClient.HttpClient, never, HttpClient.HttpClient> =>
  Layer.effect(
    HttpClient.HttpClient,
    Effect.map(HttpClient.HttpClient, (client) =>
      HttpClient.mapRequestEffect(client, (request) => {
        if (!request.url.includes("/ingest")) return Effect.succeed(request)
        const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
        const first = /"idempotency_key":"c-(\d+)"/.exec(body)
        if (first === null || Number(first[1]) !== at) return Effect.succeed(request)
        return Effect.gen(function*() {
          const [backfill] = yield* simulator.backfills
          const answer = yield* simulator.handle({
            method: "POST",
            url: `/v1/events/backfills/${backfill.id}/${action}`,
            headers,
            body: ""
          })
          assert.isTrue(answer._tag === "Respond" && answer.status === 200, JSON.stringify(answer))
          return request
        })
      }))
  )

const setup = Effect.gen(function*() {
  const dir = yield* tempFolder("effect-orb-closed-")
  const file = path.join(dir, "events.ndjson")
  fs.writeFileSync(file, Array.from({ length: events }, (_, i) => line(i)).join("\n") + "\n")
  const simulator = yield* Layer.build(OrbSimulator.layer({ apiKey: "sk-sim", reflectionDelay: "1 hour" }))
  const payload = yield* DurableRun.payload({
    runKey: "closed-by-others",
    source: yield* RunSource.fromFile(file),
    timeframeStart: DateTime.unsafeMake(start),
    timeframeEnd: DateTime.unsafeMake(start + 7 * 86_400_000),
    replaceExistingEvents: false,
    segmentEvents,
    batchSize,
    concurrency: 1,
    quota: false,
    until: "closed"
  })
  return { dir, simulator, payload }
})

/** The run, with the backfill changed before the request of event `at`: its failure, and what Orb then holds. */
const runChanged = (at: number, action: "close" | "revert") =>
  Effect.gen(function*() {
    const { dir, payload, simulator } = yield* setup
    const orb = Context.get(simulator, OrbSimulator.OrbSimulator)
    const exit = yield* Effect.exit(
      DurableRun.execute(payload).pipe(Effect.provide(engineOver(dir, simulator, changedBefore(orb, at, action))))
    )
    assert.isTrue(Exit.isFailure(exit), "the run failed")
    const failure = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
    assert.isTrue(failure instanceof DurableRun.RunFailed, String(failure))
    const requests = yield* orb.requests
    const [backfill] = yield* orb.backfills
    return {
      failure: failure as DurableRun.RunFailed,
      backfill,
      reverts: requests.filter((r) => r.url.endsWith("/revert")).length
    }
  })

describe("a backfill changed by someone else during a durable run", () => {
  for (const [when, at] of [["between two segments", 2 * segmentEvents], ["while a segment sends", 250]] as const) {
    it.scopedLive(
      `closed ${when}: the run fails at journal, says so, and reverts nothing`,
      () =>
        Effect.gen(function*() {
          const { backfill, failure, reverts } = yield* runChanged(at, "close")
          assert.strictEqual(failure.stage, "journal", failure.reason)
          assert.include(failure.reason, `backfill ${backfill.id} is closed (pending)`)
          assert.isFalse(failure.reverted)
          assert.strictEqual(reverts, 0, "nothing reverted")
          assert.strictEqual(backfill.status, "pending", "closed, as the other left it (reflection takes an hour here)")
          assert.strictEqual(backfill.eventsIngested, at, "the events before the close, and none after")
        }),
      60_000
    )
  }

  it.scopedLive(
    "reverted while a segment sends: the run fails at journal and sends nothing more",
    () =>
      Effect.gen(function*() {
        const { backfill, failure } = yield* runChanged(250, "revert")
        assert.strictEqual(failure.stage, "journal", failure.reason)
        assert.include(failure.reason, `backfill ${backfill.id} is ${backfill.status} while the journal has it open`)
        assert.isFalse(failure.reverted)
        assert.include(["pending_revert", "reverted"], backfill.status)
      }),
    60_000
  )
})
