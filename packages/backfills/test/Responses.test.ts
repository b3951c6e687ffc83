/**
 * Responses that once broke the client (issue 10): bodies too deeply nested to print, bodies that an error
 * would copy whole, listings that never end, and the API key reaching a tracer through a span's exit.
 */
import * as Headers from "@effect/platform/Headers"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Inspectable from "effect/Inspectable"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as util from "node:util"
import * as Backfills from "../src/Backfills.js"
import * as Events from "../src/Events.js"
import * as OrbError from "../src/OrbError.js"
import type { Recorded, Reply } from "./utils.js"
import { apiKey, makeRecordingTracer, problem, recordingBackfills, wireBackfill } from "./utils.js"

const deep = (depth: number) => "[".repeat(depth) + "]".repeat(depth)

/**
 * Everything a user may do with an error: none of it may throw, its message is a few kB at most, and no way of
 * printing it copies megabytes (an error may hold Orb's 500 entries of validation errors, so it can print long).
 */
const assertPrintable = (error: unknown) => {
  assert.isAtMost((error as Error).message.length, 4_000)
  const printed = [
    String(error),
    util.inspect(error, { depth: Infinity }),
    JSON.stringify(error),
    Inspectable.format(error),
    Cause.pretty(Cause.fail(error))
  ]
  for (const text of printed) assert.isAtMost(text.length, 500_000, text.slice(0, 300))
}

const operations: Record<string, Effect.Effect<unknown, unknown, Backfills.Backfills | Events.Events>> = {
  create: Backfills.create({
    timeframeStart: DateTime.unsafeMake("2026-10-01T00:00:00Z"),
    timeframeEnd: DateTime.unsafeMake("2026-10-08T00:00:00Z"),
    replaceExistingEvents: false
  }),
  fetch: Backfills.fetch("bf_1"),
  close: Backfills.close("bf_1"),
  revert: Backfills.revert("bf_1"),
  listPage: Backfills.listPage(),
  search: Events.search({ eventIds: ["e1"] }),
  volumePage: Events.volumePage({ timeframeStart: DateTime.unsafeMake("2026-10-01T00:00:00Z") })
}

const failureOf = <A, E>(effect: Effect.Effect<A, E, Backfills.Backfills | Events.Events>, reply: () => Reply) => {
  const { layer } = recordingBackfills(reply, { maxRetries: 0 })
  return Effect.exit(Effect.provide(effect, layer))
}

describe("responses that break the client", () => {
  it.effect("a 200 nested too deeply to print is a DecodeError on every operation", () =>
    Effect.gen(function*() {
      const deepMetadata = JSON.stringify({ data: [], pagination_metadata: { has_more: "@", next_cursor: null } })
        .replace("\"@\"", deep(20_000))
      for (const [name, operation] of Object.entries(operations)) {
        for (
          const text of [
            deep(20_000),
            JSON.stringify({ ...wireBackfill(), id: "@" }).replace("\"@\"", deep(20_000)),
            JSON.stringify({ data: "@" }).replace("\"@\"", deep(20_000)),
            // A search answer ignores a key it does not know, as every answer does: this one is a valid search.
            ...(name === "search" ? [] : [deepMetadata])
          ]
        ) {
          const exit = yield* failureOf(operation, () => ({ text }))
          assert.isTrue(Exit.isFailure(exit), name)
          if (Exit.isFailure(exit)) {
            const error = Cause.failureOption(exit.cause)
            assert.isTrue(error._tag === "Some", `${name}: ${String(Cause.squash(exit.cause))}`)
            if (error._tag === "Some") {
              assert.strictEqual((error.value as OrbError.OrbError)._tag, "DecodeError", name)
              assertPrintable(error.value)
            }
          }
        }
      }
    }))

  it.effect("a DecodeError's reason stays short when the schema quotes a huge value", () =>
    Effect.gen(function*() {
      const exit = yield* failureOf(Backfills.fetch("bf_1"), () => ({
        json: wireBackfill({ status: "x".repeat(1_000_000) })
      }))
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : undefined
      assert.strictEqual(error?._tag, "Some")
      if (error?._tag === "Some") {
        const decode = error.value as OrbError.DecodeError
        assert.strictEqual(decode._tag, "DecodeError")
        assert.include(decode.reason, "status")
        assert.isAtMost(decode.reason.length, 2_000)
        assertPrintable(decode)
      }
    }))

  it.effect("an error keeps at most a bounded part of Orb's title, detail and validation errors", () =>
    Effect.gen(function*() {
      const huge = "y".repeat(1_000_000)
      const validationErrors: Array<unknown> = [
        { idempotency_key: "k1", validation_errors: ["timestamp is outside the timeframe"] },
        { idempotency_key: "k2", validation_errors: [huge, "second"] },
        "@deep",
        huge,
        { idempotency_key: 7, validation_errors: "no" },
        ...Array.from({ length: 100_000 }, (_, i) => ({ idempotency_key: `e${i}`, validation_errors: ["bad"] }))
      ]
      const exit = yield* failureOf(Backfills.close("bf_1"), () => ({
        status: 400,
        // A body too deep for JSON.stringify, written by hand.
        text: JSON.stringify(problem("400-request-validation-errors", 400, {
          title: huge,
          detail: huge,
          validation_errors: validationErrors
        })).replace("\"@deep\"", deep(20_000))
      }))
      const error = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : undefined
      assert.strictEqual(error?._tag, "Some")
      if (error?._tag !== "Some") return
      const invalid = error.value as OrbError.RequestValidationError
      assert.strictEqual(invalid._tag, "RequestValidationError")
      assert.isAtMost(invalid.title!.length, 2_000)
      assert.isAtMost(invalid.detail!.length, 2_000)
      assert.isAtMost(invalid.validationErrors.length, 1_000)
      assert.isAtMost(JSON.stringify(invalid.validationErrors).length, 1_000_000)
      // Entries of Orb's documented shape are kept (bounded); anything else becomes a short excerpt.
      const [first, second] = OrbError.eventFailures(invalid)
      assert.deepStrictEqual(first, { idempotencyKey: "k1", validationErrors: ["timestamp is outside the timeframe"] })
      assert.strictEqual(second.idempotencyKey, "k2")
      assert.isAtMost(second.validationErrors[0].length, 2_000)
      assert.strictEqual(second.validationErrors[1], "second")
      for (const entry of invalid.validationErrors.slice(2, 5)) {
        assert.isString(entry)
        assert.isAtMost((entry as string).length, 300)
      }
      assertPrintable(invalid)
    }))
})

describe("list", () => {
  const page = (ids: ReadonlyArray<string>, next: string | null) => ({
    json: {
      data: ids.map((id) => wireBackfill({ id })),
      pagination_metadata: { has_more: true, next_cursor: next }
    }
  })

  const cursorOf = (request: Recorded) => request.url.searchParams.get("cursor")

  it.effect("fails with a DecodeError, naming the cursor, when cursors cycle", () => {
    const { layer, requests } = recordingBackfills((request) => {
      const cursor = cursorOf(request)
      return cursor === null || cursor === "A" ? page(["bf_1"], "B") : page(["bf_2"], "A")
    })
    return Effect.gen(function*() {
      const result = yield* Backfills.list().pipe(Stream.take(100), Stream.runCollect, Effect.flip)
      assert.strictEqual(result._tag, "DecodeError")
      const error = result as OrbError.DecodeError
      assert.include(error.reason, "\"B\"")
      assert.include(error.reason, "never end")
      assertPrintable(error)
      assert.deepStrictEqual(requests.map(cursorOf), [null, "B", "A"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("fails when a page gives the cursor that fetched it", () => {
    const { layer, requests } = recordingBackfills((request) =>
      cursorOf(request) === null ? page(["bf_1"], "A") : page(["bf_2"], "A")
    )
    return Effect.gen(function*() {
      const error = yield* Backfills.list().pipe(Stream.take(100), Stream.runCollect, Effect.flip)
      assert.strictEqual(error._tag, "DecodeError")
      assert.strictEqual(requests.length, 2)
    }).pipe(Effect.provide(layer))
  })

  it.effect("stops on an empty next_cursor, as the official SDK does", () => {
    const { layer, requests } = recordingBackfills((request) =>
      cursorOf(request) === null ? page(["bf_1", "bf_2"], "A") : page(["bf_3"], "")
    )
    return Effect.gen(function*() {
      const ids = yield* Backfills.list().pipe(Stream.take(100), Stream.runCollect, Effect.map(Chunk.toArray))
      assert.deepStrictEqual(ids.map((b) => b.id), ["bf_1", "bf_2", "bf_3"])
      assert.deepStrictEqual(requests.map(cursorOf), [null, "A"])
    }).pipe(Effect.provide(layer))
  })

  it.effect("refuses a next_cursor too long to be one, rather than sending it in a URL", () => {
    const { layer, requests } = recordingBackfills(
      (request) => cursorOf(request) === null ? page(["bf_1"], "c".repeat(1_000_000)) : { status: 500, text: "" },
      { maxRetries: 0 }
    )
    return Effect.gen(function*() {
      const error = yield* Backfills.list().pipe(Stream.runCollect, Effect.flip)
      assert.strictEqual(error._tag, "DecodeError")
      assert.include((error as OrbError.DecodeError).reason, "1000000 characters")
      assertPrintable(error)
      assert.strictEqual(requests.length, 1)
    }).pipe(Effect.provide(layer))
  })

  it.effect("still follows a long run of distinct cursors to the end", () => {
    const { layer } = recordingBackfills((request) => {
      const n = Number(cursorOf(request) ?? "0")
      return page([`bf_${n}`], n < 299 ? String(n + 1) : null)
    })
    return Effect.gen(function*() {
      const all = yield* Backfills.list().pipe(Stream.runCount)
      assert.strictEqual(all, 300)
    }).pipe(Effect.provide(layer))
  })
})

describe("the API key and tracing", () => {
  const serialize = (value: unknown) =>
    util.inspect(value, { depth: Infinity, showHidden: true, getters: true, maxArrayLength: Infinity }) +
    (() => {
      try {
        return JSON.stringify(value)
      } catch {
        return ""
      }
    })()

  const scripts: Record<string, (request: Recorded, index: number) => Reply> = {
    success: () => ({ json: wireBackfill() }),
    "error status": () => ({ status: 404, json: problem("404-resource-not-found", 404) }),
    "retried 500s": (_, i) => (i < 2 ? { status: 500, json: problem("500-internal-server-error", 500) } : {
      json: wireBackfill()
    }),
    "dropped connection": () => "drop",
    "garbled body": () => ({ text: "<html>" })
  }

  it.effect("with httpSpans: true, the key stays out of a span even when no header name is set to be redacted", () => {
    const { spans, tracer } = makeRecordingTracer()
    const { layer } = recordingBackfills(scripts.success, { httpSpans: true })
    return Effect.gen(function*() {
      yield* Backfills.fetch("bf_1")
      const attempt = spans.find((s) => s.name === "http.client GET")
      assert.isDefined(attempt)
      assert.strictEqual(attempt!.attributes.get("http.request.header.authorization"), "<redacted>")
      for (const span of spans) assert.notInclude(serialize([...span.attributes]) + span.dump(), apiKey)
    }).pipe(
      Effect.provide(layer),
      Effect.withTracer(tracer),
      Effect.locally(Headers.currentRedactedNames, [])
    )
  })

  for (const [name, script] of Object.entries(scripts)) {
    it.effect(`with httpSpans: true, no span, attribute, event or exit holds the key (${name})`, () => {
      const { spans, tracer } = makeRecordingTracer()
      const { layer, requests } = recordingBackfills(script, { httpSpans: true, retrySchedule: Schedule.recurs(2) })
      return Effect.gen(function*() {
        const exit = yield* Effect.exit(Backfills.fetch("bf_1"))
        const names = spans.map((s) => s.name)
        assert.include(names, "Backfills.fetch")
        // A span per attempt, with the platform's attributes, and trace headers to Orb.
        const attempts = spans.filter((s) => s.name === "http.client GET")
        assert.strictEqual(attempts.length, requests.length)
        for (const [i, span] of attempts.entries()) {
          assert.strictEqual(span.kind, "client")
          assert.strictEqual(span.attributes.get("http.request.method"), "GET")
          assert.strictEqual(span.attributes.get("url.full"), "https://orb.test/v1/events/backfills/bf_1")
          assert.strictEqual(span.attributes.get("http.request.header.authorization"), "<redacted>")
          assert.strictEqual(span.status._tag, "Ended")
          assert.include(requests[i].headers["traceparent"], span.spanId)
        }
        for (const span of spans) {
          const record = serialize({
            name: span.name,
            attributes: [...span.attributes],
            events: span.events,
            links: span.links,
            status: span.status
          }) + span.dump() +
            (span.status._tag === "Ended"
              ? Cause.pretty(Exit.isFailure(span.status.exit) ? span.status.exit.cause : Cause.empty)
              : "")
          assert.notInclude(record, apiKey, `span ${span.name}`)
        }
        assert.notInclude(serialize(exit), apiKey)
      }).pipe(Effect.provide(layer), Effect.withTracer(tracer))
    })
  }
})
