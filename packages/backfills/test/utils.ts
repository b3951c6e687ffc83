/**
 * A recording `HttpClient` for tests that need responses the simulator would never give (malformed bodies,
 * odd headers, dropped connections): each request is recorded and answered by a script.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as Tracer from "effect/Tracer"
import * as Backfills from "../src/Backfills.js"
import * as Events from "../src/Events.js"
import * as OrbClient from "../src/OrbClient.js"

export interface Recorded {
  readonly method: string
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | undefined
}

export type Reply =
  | {
    readonly status?: number
    readonly json?: unknown
    readonly text?: string
    readonly headers?: Record<string, string>
  }
  | "drop"
  | "hang"

const decoder = new TextDecoder()

export const makeRecording = (script: (request: Recorded, index: number) => Reply) => {
  const requests: Array<Recorded> = []
  const client = HttpClient.make((request, url) =>
    Effect.suspend(() => {
      const body = request.body._tag === "Uint8Array" ? decoder.decode(request.body.body) : undefined
      const recorded: Recorded = { method: request.method, url, headers: { ...request.headers }, body }
      requests.push(recorded)
      const reply = script(recorded, requests.length - 1)
      if (reply === "hang") return Effect.never
      if (reply === "drop") {
        return Effect.fail(
          new HttpClientError.RequestError({ request, reason: "Transport", description: "socket hang up" })
        )
      }
      const text = reply.text ?? (reply.json === undefined ? "" : JSON.stringify(reply.json))
      return Effect.succeed(
        HttpClientResponse.fromWeb(
          request,
          new Response(text, {
            status: reply.status ?? 200,
            headers: { "content-type": "application/json", ...reply.headers }
          })
        )
      )
    })
  )
  return { requests, layer: Layer.succeed(HttpClient.HttpClient, client) }
}

export const apiKey = "sk-test-0123456789-secret"

export const clientOptions: OrbClient.Options = {
  apiKey: Redacted.make(apiKey),
  baseUrl: "https://orb.test/v1"
}

/** `Backfills` and `Events` over `OrbClient` over a recording client. */
export const recordingBackfills = (
  script: (request: Recorded, index: number) => Reply,
  options: Partial<OrbClient.Options> = {}
) => {
  const recording = makeRecording(script)
  const layer = Layer.merge(Backfills.layer, Events.layer).pipe(
    Layer.provideMerge(OrbClient.layer({ ...clientOptions, ...options })),
    Layer.provide(recording.layer),
    Layer.orDie
  )
  return { requests: recording.requests, layer }
}

/**
 * Runs a test at 2026-11-01T00:00:00Z, after the fixtures' events (October 2026): the event checks refuse an event
 * more than 5 minutes ahead of the `Clock`, and the TestClock starts at 1970.
 */
export const inFixtureTime = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.zipRight(TestClock.setTime(Date.UTC(2026, 10, 1)), self)

export const wireBackfill = (overrides: Record<string, unknown> = {}) => ({
  id: "bf_1",
  status: "pending",
  created_at: "2026-11-01T00:00:00Z",
  timeframe_start: "2026-10-01T00:00:00Z",
  timeframe_end: "2026-10-08T00:00:00Z",
  events_ingested: 0,
  close_time: "2026-11-02T00:00:00Z",
  reverted_at: null,
  customer_id: null,
  replace_existing_events: false,
  deprecation_filter: null,
  ...overrides
})

export const problem = (fragment: string, status: number, extra: Record<string, unknown> = {}) => ({
  type: `https://docs.withorb.com/reference/error-responses#${fragment}`,
  status,
  title: "Something went wrong",
  detail: "details here",
  ...extra
})

/** A tracer that keeps every span it starts, to inspect names, attributes, events and exits. */
export const makeRecordingTracer = () => {
  const spans: Array<RecordedSpan> = []
  let ids = 0
  const tracer = Tracer.make({
    span(name, parent, context, links, startTime, kind) {
      const span = new RecordedSpan(name, String(++ids), parent, context, links, startTime, kind)
      spans.push(span)
      return span
    },
    context: (f) => f()
  })
  return { spans, tracer }
}

export class RecordedSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly traceId = "trace"
  readonly sampled = true
  status: Tracer.SpanStatus
  readonly attributes = new Map<string, unknown>()
  readonly events: Array<[string, Record<string, unknown> | undefined]> = []
  links: Array<Tracer.SpanLink>
  constructor(
    readonly name: string,
    readonly spanId: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    links: ReadonlyArray<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind
  ) {
    this.status = { _tag: "Started", startTime }
    this.links = [...links]
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>) {
    this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
  }
  attribute(key: string, value: unknown) {
    this.attributes.set(key, value)
  }
  event(name: string, _startTime: bigint, attributes?: Record<string, unknown>) {
    this.events.push([name, attributes])
  }
  addLinks(links: ReadonlyArray<Tracer.SpanLink>) {
    for (const link of links) this.links.push(link)
  }
  /** Everything the span holds, as text. */
  dump(): string {
    const exit = this.status._tag === "Ended" ?
      String(Cause.pretty(
        Exit.isFailure(this.status.exit) ? this.status.exit.cause : Cause.empty
      )) :
      ""
    return JSON.stringify({
      name: this.name,
      attributes: [...this.attributes].map(([k, v]) => [k, String(v)]),
      events: this.events
    }) + exit
  }
}
