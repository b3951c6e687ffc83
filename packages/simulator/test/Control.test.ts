// The control API (`/_simulator/...`) over a real loopback server, with the global fetch as the client: what a test
// in another language does.
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { atT0, errorType, event, newBackfill } from "./support.js"

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly body: any
}

const key = "sk-control"
const auth = { authorization: `Bearer ${key}` }

/** One request to the server's origin (`path` starts with `/_simulator` or `/v1`). */
const request = (
  server: OrbSimulator.Server,
  method: string,
  path: string,
  options: { readonly body?: unknown; readonly rawBody?: string; readonly headers?: Record<string, string> } = {}
) =>
  Effect.promise(async (): Promise<Reply> => {
    const text = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body))
    const response = await fetch(`http://127.0.0.1:${server.port}${path}`, {
      method,
      headers: { "content-type": "application/json", ...(options.headers ?? auth) },
      ...(text === undefined ? {} : { body: text })
    })
    const body = await response.text()
    return { status: response.status, headers: response.headers, text: body, body: JSON.parse(body) }
  })

const serve = (options: OrbSimulator.ServeOptions = {}) => OrbSimulator.serve({ apiKey: key, ...options })

/** A backfill with two events, closed, through the public API; its id. */
const closedBackfill = (server: OrbSimulator.Server) =>
  Effect.gen(function*() {
    const created = yield* request(server, "POST", "/v1/events/backfills", { body: newBackfill() })
    assert.strictEqual(created.status, 200)
    const id: string = created.body.id
    const ingested = yield* request(server, "POST", `/v1/ingest?backfill_id=${id}`, {
      body: { events: [event("a"), event("b"), event("c")] }
    })
    assert.strictEqual(ingested.status, 200)
    const closed = yield* request(server, "POST", `/v1/events/backfills/${id}/close`)
    assert.strictEqual(closed.body.status, "pending")
    return id
  })

const endpoints: ReadonlyArray<readonly [string, string, unknown?]> = [
  ["POST", "/_simulator/reset"],
  ["GET", "/_simulator/customers"],
  ["POST", "/_simulator/customers", { customers: [{ id: "cus_9" }] }],
  ["GET", "/_simulator/customer_id?external_customer_id=acme"],
  ["GET", "/_simulator/backfills"],
  ["GET", "/_simulator/events"],
  ["GET", "/_simulator/requests"],
  ["POST", "/_simulator/faults", { random: null }],
  ["DELETE", "/_simulator/faults"],
  ["GET", "/_simulator/time"],
  ["POST", "/_simulator/time", { advance_ms: 1000 }]
]

describe("control API", () => {
  it.scoped("demands the API's key on every endpoint, and answers each with it", () =>
    Effect.gen(function*() {
      yield* atT0
      const server = yield* serve()
      for (const [method, path, body] of endpoints) {
        const missing = yield* request(server, method, path, { body, headers: {} })
        assert.strictEqual(missing.status, 401, `${method} ${path} without a key`)
        assert.strictEqual(missing.body.type, errorType("401-authentication-error"))
        const wrong = yield* request(server, method, path, { body, headers: { authorization: "Bearer nope" } })
        assert.strictEqual(wrong.status, 401, `${method} ${path} with a wrong key`)
        const answered = yield* request(server, method, path, { body })
        assert.strictEqual(answered.status, 200, `${method} ${path}: ${answered.text}`)
      }
      // Control requests are not traffic to Orb: the request log holds none of them.
      assert.deepStrictEqual(yield* server.simulator.requests, [])
    }))

  it.scoped("is not under /v1, and an unknown control endpoint or method is 404", () =>
    Effect.gen(function*() {
      yield* atT0
      const server = yield* serve()
      const underV1 = yield* request(server, "POST", "/v1/_simulator/reset")
      assert.strictEqual(underV1.status, 404)
      assert.strictEqual(underV1.body.type, errorType("404-url-not-found"))
      const unknown = yield* request(server, "GET", "/_simulator/nothing")
      assert.strictEqual(unknown.status, 404)
      assert.strictEqual(unknown.body.detail, "No control endpoint GET /_simulator/nothing")
      const wrongMethod = yield* request(server, "GET", "/_simulator/reset")
      assert.strictEqual(wrongMethod.status, 404)
    }))

  it.scoped("customers: lists them, adds them (the API then accepts them), and names a bad body's field", () =>
    Effect.gen(function*() {
      yield* atT0
      const server = yield* serve()
      const listed = yield* request(server, "GET", "/_simulator/customers")
      assert.deepInclude(listed.body.data, { id: "cus_acme", external_customer_id: "acme" })
      assert.deepInclude(listed.body.data, { id: "cus_1", external_customer_id: null })

      const refused = yield* request(server, "POST", "/v1/events/backfills", {
        body: newBackfill({ external_customer_id: "hooli" })
      })
      assert.strictEqual(refused.status, 404)
      const added = yield* request(server, "POST", "/_simulator/customers", {
        body: { customers: [{ id: "cus_hooli", external_customer_id: "hooli" }, { id: "cus_9" }] }
      })
      assert.strictEqual(added.status, 200)
      assert.deepInclude(added.body.data, { id: "cus_hooli", external_customer_id: "hooli" })
      assert.deepInclude(added.body.data, { id: "cus_9", external_customer_id: null })
      const created = yield* request(server, "POST", "/v1/events/backfills", {
        body: newBackfill({ external_customer_id: "hooli" })
      })
      assert.strictEqual(created.status, 200)
      assert.strictEqual(created.body.customer_id, "cus_hooli")

      const known = yield* request(server, "GET", "/_simulator/customer_id?external_customer_id=hooli")
      assert.deepStrictEqual(known.body, { customer_id: "cus_hooli" })
      // One no customer has yet: the id its events are recorded under, the same each time.
      const future = yield* request(server, "GET", "/_simulator/customer_id?external_customer_id=later")
      assert.match(future.body.customer_id, /^cus_/)
      const again = yield* request(server, "GET", "/_simulator/customer_id?external_customer_id=later")
      assert.strictEqual(again.body.customer_id, future.body.customer_id)
      const noParam = yield* request(server, "GET", "/_simulator/customer_id")
      assert.strictEqual(noParam.status, 400)
      assert.strictEqual(noParam.body.detail, "The query is not valid: external_customer_id: is missing")

      const noId = yield* request(server, "POST", "/_simulator/customers", {
        body: { customers: [{ external_customer_id: "x" }] }
      })
      assert.strictEqual(noId.status, 400)
      assert.match(noId.body.detail, /^The body is not valid: customers\.0\.id: is missing/)
      const stray = yield* request(server, "POST", "/_simulator/customers", {
        body: { customers: [], extra: 1 }
      })
      assert.strictEqual(stray.status, 400)
      assert.include(stray.body.detail, "extra")
      const notJson = yield* request(server, "POST", "/_simulator/customers", { rawBody: "{" })
      assert.strictEqual(notJson.status, 400)
      assert.strictEqual(notJson.body.detail, "The body is not valid: the body is not valid JSON")
    }))

  it.scoped("backfills with their derived status, and recorded events a page at a time", () =>
    Effect.gen(function*() {
      yield* atT0
      const server = yield* serve({ reflectionDelay: "2 seconds" })
      const id = yield* closedBackfill(server)
      const pending = yield* request(server, "GET", "/_simulator/backfills")
      assert.deepStrictEqual(pending.body.data.map((b: any) => [b.id, b.status, b.events_ingested]), [[
        id,
        "pending",
        3
      ]])
      // The same body as the API's.
      const viaApi = yield* request(server, "GET", `/v1/events/backfills/${id}`)
      assert.deepStrictEqual(pending.body.data[0], viaApi.body)
      yield* TestClock.adjust("2 seconds")
      const reflected = yield* request(server, "GET", "/_simulator/backfills")
      assert.strictEqual(reflected.body.data[0].status, "reflected")

      const first = yield* request(server, "GET", `/_simulator/events?backfill_id=${id}&limit=2`)
      assert.deepStrictEqual(first.body.data.map((e: any) => e.idempotency_key), ["a", "b"])
      assert.containSubset(first.body.data[0], {
        event_name: "api_call",
        timestamp: "2025-03-01T12:00:00.000Z",
        properties: { units: 1 },
        customer_id: "cus_1",
        external_customer_id: null,
        backfill_id: id,
        ingested_at: "2025-03-10T00:00:00.000Z",
        status: "active",
        deprecated: false
      })
      assert.strictEqual(first.body.pagination_metadata.has_more, true)
      const cursor = first.body.pagination_metadata.next_cursor
      const second = yield* request(server, "GET", `/_simulator/events?backfill_id=${id}&limit=2&cursor=${cursor}`)
      assert.deepStrictEqual(second.body.data.map((e: any) => e.idempotency_key), ["c"])
      assert.deepStrictEqual(second.body.pagination_metadata, { has_more: false, next_cursor: null })
      const other = yield* request(server, "GET", "/_simulator/events?backfill_id=elsewhere")
      assert.deepStrictEqual(other.body.data, [])

      const badLimit = yield* request(server, "GET", "/_simulator/events?limit=0")
      assert.strictEqual(badLimit.status, 400)
      assert.match(badLimit.body.detail, /^The query is not valid: limit: /)
      const badParam = yield* request(server, "GET", "/_simulator/events?backfil_id=x")
      assert.strictEqual(badParam.status, 400)
      assert.include(badParam.body.detail, "backfil_id")
    }))

  it.scoped("the request log, the key masked", () =>
    Effect.gen(function*() {
      yield* atT0
      const server = yield* serve()
      yield* closedBackfill(server)
      const log = yield* request(server, "GET", "/_simulator/requests?limit=2")
      assert.deepStrictEqual(log.body.data.map((r: any) => [r.method, r.url, r.status]), [
        ["POST", "/v1/events/backfills", 200],
        ["POST", `/v1/ingest?backfill_id=${log.body.data[1].url.split("=")[1]}`, 200]
      ])
      assert.strictEqual(log.body.data[0].headers.authorization, "Bearer <redacted>")
      assert.containSubset(log.body.data[0], { at: "2025-03-10T00:00:00.000Z", replayed: false, fault: null })
      const rest = yield* request(
        server,
        "GET",
        `/_simulator/requests?cursor=${log.body.pagination_metadata.next_cursor}`
      )
      assert.deepStrictEqual(rest.body.data.map((r: any) => r.url.endsWith("/close")), [true])
      assert.notInclude(log.text + rest.text, key)
    }))

  it.scoped("faults set through it are what a client of the API sees, until cleared", () =>
    Effect.gen(function*() {
      yield* atT0
      const server = yield* serve()
      const queued = yield* request(server, "POST", "/_simulator/faults", {
        body: { next: [{ kind: "internal-error", timing: "before" }, { kind: "unavailable", timing: "before" }] }
      })
      assert.strictEqual(queued.status, 200)
      const first = yield* Effect.promise(() =>
        fetch(`${server.url}/events/backfills`, { headers: auth }).then((
          r
        ) => [r.status, r.headers.get("transient-error")])
      )
      assert.deepStrictEqual(first, [500, "true"])
      const second = yield* Effect.promise(() => fetch(`${server.url}/events/backfills`, { headers: auth }))
      assert.strictEqual(second.status, 503)
      yield* Effect.promise(() => second.text())

      yield* request(server, "POST", "/_simulator/faults", {
        body: { random: { rate: 1, kinds: ["too-many-requests"], timing: "before" } }
      })
      const limited = yield* request(server, "GET", "/v1/events/backfills")
      assert.strictEqual(limited.status, 429)
      assert.strictEqual(limited.headers.get("retry-after"), "1")
      const faulted = yield* request(server, "GET", "/_simulator/requests")
      assert.deepStrictEqual(faulted.body.data.map((r: any) => r.fault), [
        "internal-error",
        "unavailable",
        "too-many-requests"
      ])

      yield* request(server, "POST", "/_simulator/faults", { body: { next: [{ kind: "conflict", timing: "before" }] } })
      const cleared = yield* request(server, "DELETE", "/_simulator/faults")
      assert.strictEqual(cleared.status, 200)
      const clean = yield* request(server, "GET", "/v1/events/backfills")
      assert.strictEqual(clean.status, 200)

      const badKind = yield* request(server, "POST", "/_simulator/faults", {
        body: { next: [{ kind: "explode", timing: "before" }] }
      })
      assert.strictEqual(badKind.status, 400)
      assert.match(badKind.body.detail, /^The body is not valid: next\.0\.kind: /)
      const badRate = yield* request(server, "POST", "/_simulator/faults", { body: { random: { rate: 2 } } })
      assert.strictEqual(badRate.status, 400)
      assert.match(badRate.body.detail, /random\.rate: /)
    }))

  it.scopedLive("advancing the time makes a closed backfill reflected through /v1, on the live clock", () =>
    Effect.gen(function*() {
      // The default reflection delay, 5 seconds, on the wall clock: the test does not wait for it.
      const server = yield* serve()
      const id = yield* closedBackfill(server)
      const before = yield* request(server, "GET", "/_simulator/time")
      assert.strictEqual(before.body.advanced_ms, 0)
      assert.approximately(Date.parse(before.body.now), Date.now(), 1000)
      const pending = yield* request(server, "GET", `/v1/events/backfills/${id}`)
      assert.strictEqual(pending.body.status, "pending")

      const advanced = yield* request(server, "POST", "/_simulator/time", { body: { advance_ms: 5000 } })
      assert.strictEqual(advanced.status, 200)
      assert.strictEqual(advanced.body.advanced_ms, 5000)
      assert.approximately(Date.parse(advanced.body.now), Date.now() + 5000, 1000)
      const reflected = yield* request(server, "GET", `/v1/events/backfills/${id}`)
      assert.strictEqual(reflected.body.status, "reflected")
      const events = yield* request(server, "GET", `/_simulator/events?backfill_id=${id}`)
      assert.deepStrictEqual(events.body.data.map((e: any) => e.status), ["active", "active", "active"])

      const backwards = yield* request(server, "POST", "/_simulator/time", { body: { advance_ms: -1 } })
      assert.strictEqual(backwards.status, 400)
      assert.match(backwards.body.detail, /^The body is not valid: advance_ms: /)
      const missing = yield* request(server, "POST", "/_simulator/time", { body: {} })
      assert.strictEqual(missing.body.detail, "The body is not valid: advance_ms: is missing")
    }))

  it.scoped("reset empties the simulator and puts back its options' customers, faults and clock", () =>
    Effect.gen(function*() {
      yield* atT0
      const server = yield* serve()
      yield* closedBackfill(server)
      yield* request(server, "POST", "/_simulator/customers", { body: { customers: [{ id: "cus_9" }] } })
      yield* request(server, "POST", "/_simulator/time", { body: { advance_ms: 60_000 } })
      yield* request(server, "POST", "/_simulator/faults", { body: { random: { rate: 1, kinds: ["drop"] } } })

      const reset = yield* request(server, "POST", "/_simulator/reset")
      assert.deepStrictEqual([reset.status, reset.body], [200, {}])
      for (const path of ["/_simulator/backfills", "/_simulator/events", "/_simulator/requests"]) {
        assert.deepStrictEqual((yield* request(server, "GET", path)).body.data, [], path)
      }
      const customers = yield* request(server, "GET", "/_simulator/customers")
      assert.notDeepInclude(customers.body.data, { id: "cus_9", external_customer_id: null })
      assert.deepStrictEqual((yield* request(server, "GET", "/_simulator/time")).body, {
        now: "2025-03-10T00:00:00.000Z",
        advanced_ms: 0
      })
      const listed = yield* request(server, "GET", "/v1/events/backfills")
      assert.deepStrictEqual([listed.status, listed.body.data], [200, []])
    }))

  it.effect("the in-process simulator answers the control API too", () =>
    Effect.gen(function*() {
      yield* atT0
      const simulator = yield* OrbSimulator.make()
      const outcome = yield* simulator.handle({
        method: "POST",
        url: "/_simulator/time",
        headers: {},
        body: JSON.stringify({ advance_ms: 1500 })
      })
      assert.deepStrictEqual(outcome, {
        _tag: "Respond",
        status: 200,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ now: "2025-03-10T00:00:01.500Z", advanced_ms: 1500 })
      })
      assert.strictEqual(DateTime.formatIso((yield* simulator.time).now), "2025-03-10T00:00:01.500Z")
    }))
})
