// The same scenarios over a real loopback server, with the global fetch as the client.
import { OrbSimulator } from "@effect-orb/simulator"
import { describe, expect, it } from "@effect/vitest"
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
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/)
      const auth = { authorization: "Bearer secret" }
      const unauthorised = yield* request(server.url, "GET", "/events/backfills")
      expect(unauthorised.status).toBe(401)

      const created = yield* request(server.url, "POST", "/events/backfills", newBackfill(), auth)
      expect(created.status).toBe(200)
      const id = created.body.id
      const ingested = yield* request(server.url, "POST", `/ingest?backfill_id=${id}`, {
        events: [event("a"), event("b")]
      }, auth)
      expect(ingested.body).toEqual({ validation_failed: [] })
      const closed = yield* request(server.url, "POST", `/events/backfills/${id}/close`, undefined, auth)
      expect(closed.body.status).toBe("pending")
      yield* TestClock.adjust("2 seconds")
      const fetched = yield* request(server.url, "GET", `/events/backfills/${id}`, undefined, auth)
      expect(fetched.body).toMatchObject({ status: "reflected", events_ingested: 2 })
      const listed = yield* request(server.url, "GET", "/events/backfills?limit=1", undefined, auth)
      expect(listed.body.data.map((b: any) => b.id)).toEqual([id])

      const missing = yield* request(server.url, "GET", "/events/backfills/nope", undefined, auth)
      expect(missing.status).toBe(404)
      expect(missing.body.type).toBe(errorType("404-resource-not-found"))
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
      expect(dropped._tag).toBe("Left")
      expect(yield* server.simulator.backfills).toHaveLength(1)
      const retried = yield* request(server.url, "POST", "/events/backfills", newBackfill(), { "idempotency-key": "k" })
      expect(retried.status).toBe(200)
      expect(retried.headers.get("idempotent-replayed")).toBe("true")
      yield* server.simulator.injectFaults({ kind: "internal-error", timing: "before" })
      const failed = yield* request(server.url, "GET", "/events/backfills")
      expect(failed.status).toBe(500)
      expect(failed.headers.get("transient-error")).toBe("true")
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
      expect(duplicate.status).toBe(409)
      expect(duplicate.body.type).toBe(errorType("409-resource-conflict"))
      yield* TestClock.adjust("5 seconds")
      const answered = yield* Fiber.join(first)
      expect(answered.status).toBe(200)
      const replay = yield* request(server.url, "POST", "/events/backfills", newBackfill(), headers)
      expect(replay.headers.get("idempotent-replayed")).toBe("true")
      expect(replay.body).toEqual(answered.body)
    }))
})
