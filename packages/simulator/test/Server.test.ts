// The same scenarios over a real loopback server, with the global fetch as the client.
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { checkResponse } from "./openapi.js"
import { atT0, errorType, event, newBackfill, whenSleeping } from "./support.js"

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly body: any
}

const request = (base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  Effect.promise(async (): Promise<Reply> => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { "content-type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    const text = await response.text()
    checkResponse(method, `/v1${path}`, response.status, response.headers.get("content-type"), text)
    return { status: response.status, headers: response.headers, body: JSON.parse(text) }
  })

describe("loopback server", () => {
  it.scoped("serves the whole lifecycle on 127.0.0.1, driven by TestClock", () =>
    Effect.gen(function*() {
      yield* atT0
      const server = yield* OrbSimulator.serve({ apiKey: "secret", reflectionDelay: "2 seconds" })
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/)
      const auth = { authorization: "Bearer secret" }
      const unauthorised = yield* request(server.url, "GET", "/events/backfills")
      assert.strictEqual(unauthorised.status, 401)

      const created = yield* request(server.url, "POST", "/events/backfills", newBackfill(), auth)
      assert.strictEqual(created.status, 200)
      const id = created.body.id
      const ingested = yield* request(server.url, "POST", `/ingest?backfill_id=${id}`, {
        events: [event("a"), event("b")]
      }, auth)
      assert.deepStrictEqual(ingested.body, { validation_failed: [] })
      const closed = yield* request(server.url, "POST", `/events/backfills/${id}/close`, undefined, auth)
      assert.strictEqual(closed.body.status, "pending")
      yield* TestClock.adjust("2 seconds")
      const fetched = yield* request(server.url, "GET", `/events/backfills/${id}`, undefined, auth)
      assert.containSubset(fetched.body, { status: "reflected", events_ingested: 2 })
      const listed = yield* request(server.url, "GET", "/events/backfills?limit=1", undefined, auth)
      assert.deepStrictEqual(listed.body.data.map((b: any) => b.id), [id])

      const missing = yield* request(server.url, "GET", "/events/backfills/nope", undefined, auth)
      assert.strictEqual(missing.status, 404)
      assert.strictEqual(missing.body.type, errorType("404-resource-not-found"))
    }))

  it.scoped("replays an idempotent POST and drops connections on demand", () =>
    Effect.gen(function*() {
      yield* atT0
      const server = yield* OrbSimulator.serve()
      yield* server.simulator.injectFaults({ kind: "drop", timing: "after" })
      const dropped = yield* Effect.either(
        request(server.url, "POST", "/events/backfills", newBackfill(), { "idempotency-key": "k" }).pipe(
          Effect.catchAllDefect(Effect.fail)
        )
      )
      assert.strictEqual(dropped._tag, "Left")
      assert.lengthOf(yield* server.simulator.backfills, 1)
      const retried = yield* request(server.url, "POST", "/events/backfills", newBackfill(), { "idempotency-key": "k" })
      assert.strictEqual(retried.status, 200)
      assert.strictEqual(retried.headers.get("idempotent-replayed"), "true")
      yield* server.simulator.injectFaults({ kind: "internal-error", timing: "before" })
      const failed = yield* request(server.url, "GET", "/events/backfills")
      assert.strictEqual(failed.status, 500)
      assert.strictEqual(failed.headers.get("transient-error"), "true")
    }))
  it.scoped("a concurrent duplicate over the socket is 409 until the first request ends, then replayed", () =>
    Effect.gen(function*() {
      yield* atT0
      const server = yield* OrbSimulator.serve()
      yield* server.simulator.injectFaults({ kind: "delay", timing: "before", delay: "5 seconds" })
      const headers = { "idempotency-key": "k" }
      const first = yield* Effect.fork(request(server.url, "POST", "/events/backfills", newBackfill(), headers))
      yield* whenSleeping
      const duplicate = yield* request(server.url, "POST", "/events/backfills", newBackfill(), headers)
      assert.strictEqual(duplicate.status, 409)
      assert.strictEqual(duplicate.body.type, errorType("409-resource-conflict"))
      yield* TestClock.adjust("5 seconds")
      const answered = yield* Fiber.join(first)
      assert.strictEqual(answered.status, 200)
      const replay = yield* request(server.url, "POST", "/events/backfills", newBackfill(), headers)
      assert.strictEqual(replay.headers.get("idempotent-replayed"), "true")
      assert.deepStrictEqual(replay.body, answered.body)
    }))
})
