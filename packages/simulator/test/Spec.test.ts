// Every kind of answer the simulator gives, on every operation and both faces, checked against Orb's OpenAPI
// document by `checkResponse`: each injected fault (before and after the request takes effect) and each error
// path. A status the document leaves out may only be a gateway's answer, never dressed as Orb's own.
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { checkResponse } from "./openapi.js"
import { atT0, call, createBackfill, errorType, event, layer, newBackfill, post, whenSleeping } from "./support.js"

interface Operation {
  readonly name: string
  readonly method: "GET" | "POST"
  /** The path under `/v1` and the JSON body, for an open backfill `id`. */
  readonly request: (id: string) => { readonly path: string; readonly body?: unknown }
}

const operations: ReadonlyArray<Operation> = [
  {
    name: "create",
    method: "POST",
    request: () => ({
      path: "/events/backfills",
      body: newBackfill({ timeframe_start: "2025-03-05T00:00:00Z", timeframe_end: "2025-03-06T00:00:00Z" })
    })
  },
  { name: "list", method: "GET", request: () => ({ path: "/events/backfills?limit=5" }) },
  { name: "fetch", method: "GET", request: (id) => ({ path: `/events/backfills/${id}` }) },
  { name: "close", method: "POST", request: (id) => ({ path: `/events/backfills/${id}/close` }) },
  { name: "revert", method: "POST", request: (id) => ({ path: `/events/backfills/${id}/revert` }) },
  {
    name: "ingest",
    method: "POST",
    request: (id) => ({ path: `/ingest?backfill_id=${id}`, body: { events: [event("a"), event("b")] } })
  },
  { name: "search", method: "POST", request: () => ({ path: "/events/search", body: { event_ids: ["a", "b"] } }) },
  {
    name: "volume",
    method: "GET",
    request: () => ({ path: "/events/volume?timeframe_start=2025-03-01T00:00:00Z&limit=5" })
  }
]

const timings = ["before", "after"] as const

// 2 seconds: long enough to be a fault, short enough to drive.
const faultDelay = "2 seconds"

/** What each fault must look like to a client: the status, or no answer at all. */
const expected: Record<OrbSimulator.FaultKind, number | "dropped"> = {
  "internal-error": 500,
  "unavailable": 503,
  "too-many-requests": 429,
  "conflict": 409,
  "drop": "dropped",
  "delay": 200
}

describe("every answer matches Orb's OpenAPI document", () => {
  it.effect("each fault kind, before and after, on each operation, in-process", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      let seen = 0
      for (const kind of OrbSimulator.faultKinds) {
        for (const timing of timings) {
          for (const operation of operations) {
            yield* simulator.reset
            const { id } = yield* createBackfill()
            yield* simulator.injectFaults({ kind, timing, delay: faultDelay })
            const { body, path } = operation.request(id)
            const reply = yield* Effect.either(
              OrbSimulator.drive(
                call(operation.method, path, {
                  ...(body === undefined ? {} : { body }),
                  headers: operation.method === "POST" ? { "idempotency-key": `${kind}-${timing}` } : {}
                }).pipe(Effect.catchAllDefect(Effect.fail))
              )
            )
            const label = `${kind} ${timing} ${operation.name}`
            // A defect of the spec check shows as its message.
            const outcome = reply._tag === "Right" ? reply.right.status : String(reply.left)
            if (expected[kind] === "dropped") assert.match(String(outcome), /Transport/, label)
            else assert.strictEqual(outcome, expected[kind], label)
            seen++
          }
        }
      }
      assert.strictEqual(seen, OrbSimulator.faultKinds.length * timings.length * operations.length)
    }).pipe(Effect.provide(layer())))

  it.scoped(
    "each fault kind, before and after, on each operation, over the loopback server",
    () =>
      Effect.gen(function*() {
        yield* atT0
        const server = yield* OrbSimulator.serve()
        const send = (method: string, path: string, body: unknown, headers: Record<string, string>) =>
          Effect.tryPromise(async () => {
            const response = await fetch(`${server.url}${path}`, {
              method,
              headers: { "content-type": "application/json", ...headers },
              ...(body === undefined ? {} : { body: JSON.stringify(body) })
            })
            return { response, text: await response.text() }
          }).pipe(
            // Only the exchange is expected to fail (a dropped connection); the spec check throws, as a defect.
            Effect.tap(({ response, text }) =>
              Effect.sync(() =>
                checkResponse(method, `/v1${path}`, response.status, response.headers.get("content-type"), text)
              )
            ),
            Effect.map(({ response }) => response.status)
          )
        for (const kind of OrbSimulator.faultKinds) {
          for (const timing of timings) {
            for (const operation of operations) {
              yield* server.simulator.reset
              const created = yield* send("POST", "/events/backfills", newBackfill(), {})
              assert.strictEqual(created, 200)
              const [{ id }] = yield* server.simulator.backfills
              yield* server.simulator.injectFaults({ kind, timing, delay: faultDelay })
              const { body, path } = operation.request(id)
              const headers: Record<string, string> = operation.method === "POST" ? { "idempotency-key": "k" } : {}
              const label = `${kind} ${timing} ${operation.name}`
              const fiber = yield* Effect.fork(Effect.either(send(operation.method, path, body, headers)))
              if (kind === "delay") {
                yield* whenSleeping
                yield* TestClock.adjust(faultDelay)
              }
              const reply = yield* Fiber.join(fiber)
              if (expected[kind] === "dropped") assert.strictEqual(reply._tag, "Left", label)
              else assert.strictEqual(reply._tag === "Right" && reply.right, expected[kind], label)
            }
          }
        }
      }),
    30_000
  )

  it.effect("each error path of the handler and its wrappers", () =>
    Effect.gen(function*() {
      const simulator = yield* OrbSimulator.OrbSimulator
      const validation = errorType("400-request-validation-errors")
      const constraint = errorType("400-constraint-violation")
      const notFound = errorType("404-resource-not-found")
      const conflict = errorType("409-resource-conflict")
      const open = yield* createBackfill()
      const reverted = yield* createBackfill({
        timeframe_start: "2025-02-01T00:00:00Z",
        timeframe_end: "2025-02-02T00:00:00Z"
      })
      yield* post(`/events/backfills/${reverted.id}/revert`)
      yield* post("/events/backfills", newBackfill({ timeframe_start: "2025-04-01T00:00:00Z" }), {
        "idempotency-key": "used"
      })
      const cases: ReadonlyArray<
        readonly [string, Effect.Effect<{ status: number; body: any }, never, any>, number, string]
      > = [
        ["create: invalid body", post("/events/backfills", { timeframe_end: 1 }), 400, validation],
        ["create: not JSON", call("POST", "/events/backfills", { rawBody: "{" }), 400, validation],
        ["create: overlap", post("/events/backfills", newBackfill()), 400, constraint],
        [
          "create: invalid Idempotency-Key",
          post("/events/backfills", newBackfill(), { "idempotency-key": "x".repeat(65) }),
          400,
          validation
        ],
        [
          "create: Idempotency-Key reused",
          post("/events/backfills", newBackfill(), { "idempotency-key": "used" }),
          409,
          conflict
        ],
        ["fetch: unknown id", call("GET", "/events/backfills/nope"), 404, notFound],
        ["close: unknown id", post("/events/backfills/nope/close"), 404, notFound],
        ["close: not open", post(`/events/backfills/${reverted.id}/close`), 400, constraint],
        ["revert: unknown id", post("/events/backfills/nope/revert"), 404, notFound],
        ["revert: already reverted", post(`/events/backfills/${reverted.id}/revert`), 400, constraint],
        ["list: bad limit", call("GET", "/events/backfills?limit=0"), 400, validation],
        ["list: bad cursor", call("GET", "/events/backfills?cursor=zz"), 400, validation],
        ["ingest: unknown backfill", post("/ingest?backfill_id=nope", { events: [] }), 404, notFound],
        [
          "ingest: closed backfill",
          post(`/ingest?backfill_id=${reverted.id}`, { events: [event("a")] }),
          400,
          constraint
        ],
        [
          "ingest: invalid event",
          post(`/ingest?backfill_id=${open.id}`, { events: [event("a", { timestamp: "2025-05-01T00:00:00Z" })] }),
          400,
          validation
        ],
        ["ingest: not an ingest body", post(`/ingest?backfill_id=${open.id}`, { items: [] }), 400, validation],
        [
          "ingest: too many events",
          post(`/ingest?backfill_id=${open.id}`, { events: Array.from({ length: 501 }, (_, i) => event(`e${i}`)) }),
          413,
          errorType("413-request-too-large")
        ],
        ["search: no ids", post("/events/search", { event_ids: [] }), 400, validation],
        ["search: not JSON", call("POST", "/events/search", { rawBody: "{" }), 400, validation],
        ["volume: no timeframe_start", call("GET", "/events/volume"), 400, validation],
        [
          "volume: bad cursor",
          call("GET", "/events/volume?timeframe_start=2025-03-01T00:00:00Z&cursor=zz"),
          400,
          validation
        ],
        ["search: GET", call("GET", "/events/search"), 404, errorType("404-url-not-found")],
        ["unknown path", call("GET", "/customers"), 404, errorType("404-url-not-found")],
        ["unknown method", call("DELETE", "/events/backfills"), 404, errorType("404-url-not-found")]
      ]
      for (const [name, send, status, type] of cases) {
        const reply = yield* send
        assert.strictEqual(reply.status, status, name)
        assert.strictEqual(reply.body.type, type, name)
      }
      // The rate limit and authentication wrap every endpoint.
      yield* simulator.setQuotas({ readsPerSecond: 1 })
      yield* call("GET", "/events/backfills")
      const limited = yield* call("GET", "/events/backfills")
      assert.strictEqual(limited.status, 429)
      assert.strictEqual(limited.body.type, errorType("429-too-many-requests"))
      // A concurrent duplicate.
      yield* simulator.setQuotas(undefined)
      yield* simulator.injectFaults({ kind: "delay", timing: "before", delay: faultDelay })
      const first = yield* Effect.fork(
        post(`/events/backfills/${open.id}/close`, undefined, { "idempotency-key": "c" })
      )
      yield* whenSleeping
      const duplicate = yield* post(`/events/backfills/${open.id}/close`, undefined, { "idempotency-key": "c" })
      assert.strictEqual(duplicate.status, 409)
      assert.strictEqual(duplicate.body.type, conflict)
      yield* TestClock.adjust(faultDelay)
      assert.strictEqual((yield* Fiber.join(first)).status, 200)
    }).pipe(Effect.provide(layer())))

  it.effect("authentication", () =>
    Effect.gen(function*() {
      const missing = yield* call("GET", "/events/backfills")
      const wrong = yield* call("GET", "/events/backfills", { headers: { authorization: "Bearer nope" } })
      for (const reply of [missing, wrong]) {
        assert.strictEqual(reply.status, 401)
        assert.strictEqual(reply.body.type, errorType("401-authentication-error"))
      }
    }).pipe(Effect.provide(layer({ apiKey: "secret" }))))
})
