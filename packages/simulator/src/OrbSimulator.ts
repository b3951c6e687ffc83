/**
 * A faithful, in-memory Orb for tests: the backfill and ingest endpoints of Orb's API, and its event search and
 * volume (see `docs/orb-api.md`, including its "Decided here" assumptions), served under `/v1` by one request handler
 * with two faces:
 *
 * - {@link layer}: an `HttpClient` that answers in-process (no socket) plus the {@link OrbSimulator}
 *   control service (inspect backfills and events, inject faults, set quotas, reset);
 * - {@link serve}: a real HTTP server on `127.0.0.1` for any other client.
 *
 * Time comes from Effect's `Clock`: a backfill's status is derived from the clock when it is read, so
 * `TestClock.adjust` moves backfills through their lifecycle.
 *
 * @since 0.1.0
 */
import { Backfill } from "@effect-orb/backfills"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import type * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as BackfillsHandler from "./internal/backfillsHandler.js"
import * as ControlHandler from "./internal/controlHandler.js"
import * as EventsHandler from "./internal/eventsHandler.js"
import * as LimitsAndFaults from "./internal/limitsAndFaults.js"
import * as Pipeline from "./internal/pipeline.js"
import * as State from "./internal/state.js"
import type * as SimulatorServer from "./SimulatorServer.js"

// ---------------------------------------------------------------------------------------------------------
// options

/**
 * Rate limits per Orb's categories; a limit left out is not enforced. A request over a limit is answered
 * `429` with `Retry-After` (seconds until the window resets).
 *
 * @since 0.1.0
 * @category models
 */
export interface Quotas {
  /** GET requests per second. */
  readonly readsPerSecond?: number | undefined
  /** POST requests per second, ingest excepted. */
  readonly writesPerSecond?: number | undefined
  /** Ingest requests per second. */
  readonly ingestRequestsPerSecond?: number | undefined
  /** Ingested events per minute (counted per request, accepted or not). */
  readonly ingestEventsPerMinute?: number | undefined
}

/**
 * Orb's documented limits in live mode.
 *
 * @since 0.1.0
 * @category quotas
 */
export const liveQuotas: Quotas = {
  readsPerSecond: 100,
  writesPerSecond: 50,
  ingestRequestsPerSecond: 100,
  ingestEventsPerMinute: 10_000
}

/**
 * Orb's documented limits in test mode.
 *
 * @since 0.1.0
 * @category quotas
 */
export const testQuotas: Quotas = {
  readsPerSecond: 50,
  writesPerSecond: 5,
  ingestRequestsPerSecond: 10,
  ingestEventsPerMinute: 2_000
}

/**
 * What an injected fault does to a request:
 *
 * - `internal-error`: `500` internal-server-error with `Transient-Error: true`,
 * - `unavailable`: `503` from a load balancer in front of Orb: an HTML page, not one of Orb's problem documents
 *   (Orb's document has no 503, and its `500-internal-server-error` type is always status 500),
 * - `too-many-requests`: `429` too-many-requests with `Retry-After: 1`,
 * - `conflict`: `409` resource-conflict, as Orb answers a request whose `Idempotency-Key` is in progress,
 * - `drop`: the connection is dropped (no response at all),
 * - `delay`: the response comes only after `delay` (default 2 minutes, beyond a client's 60 s timeout).
 *
 * @since 0.1.0
 * @category faults
 */
export type FaultKind = "internal-error" | "unavailable" | "too-many-requests" | "conflict" | "drop" | "delay"

/**
 * Every kind of fault the simulator can inject.
 *
 * @since 0.1.0
 * @category faults
 */
export const faultKinds: ReadonlyArray<FaultKind> = LimitsAndFaults.faultKinds

/**
 * One fault. `before`: the request has no effect. `after`: the request took effect (and its response was
 * stored for its `Idempotency-Key`) but the client sees the fault: a retry with the same key gets the
 * stored response, which is what idempotency is for.
 *
 * @since 0.1.0
 * @category faults
 */
export interface Fault {
  readonly kind: FaultKind
  readonly timing: "before" | "after"
  /** For `delay`: how long. Default 2 minutes. */
  readonly delay?: Duration.DurationInput | undefined
}

/**
 * Random faults: a share of requests (drawn from the simulator's seed, so a run is reproducible) gets one
 * of `kinds` (default: all).
 *
 * @since 0.1.0
 * @category faults
 */
export interface Faults {
  /** The share of requests affected, from 0 to 1. */
  readonly rate: number
  readonly kinds?: ReadonlyArray<FaultKind> | undefined
  /** Default `random`: half before, half after the request takes effect. */
  readonly timing?: "before" | "after" | "random" | undefined
  /** For `delay`. Default 2 minutes. */
  readonly delay?: Duration.DurationInput | undefined
}

/**
 * A customer of the simulated account: its Orb id and, if it has one, its external id (the alias Orb lets events
 * and backfills name it by). Orb refuses a backfill for a customer that does not exist, and an event whose
 * `customer_id` names none; an event's `external_customer_id` need not exist yet (see `docs/orb-api.md`).
 *
 * @since 0.2.0
 * @category models
 */
export interface Customer {
  readonly id: string
  readonly externalCustomerId?: string | undefined
}

/**
 * The customers every simulator starts with: the ids this project's tests, guides and demo use, so that a test
 * or an example needs no setup. Add more with the `customers` option, `addCustomers`, or `simulate --customer`.
 *
 * @since 0.2.0
 * @category models
 */
export const defaultCustomers: ReadonlyArray<Customer> = [
  { id: "cus_1" },
  { id: "cus_2" },
  { id: "cus_3" },
  { id: "cus_acme", externalCustomerId: "acme" },
  { id: "cus_globex", externalCustomerId: "globex" },
  { id: "cus_customer_0", externalCustomerId: "customer-0" },
  { id: "cus_customer_1", externalCustomerId: "customer-1" },
  { id: "cus_customer_2", externalCustomerId: "customer-2" },
  // `orb-backfill demo`'s sample.
  { id: "cus_acme_corp", externalCustomerId: "acme-corp" },
  { id: "cus_initech", externalCustomerId: "initech" },
  { id: "cus_umbrella", externalCustomerId: "umbrella" }
]

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Customers that exist besides {@link defaultCustomers}; one that shares an Orb id or an external id with a
   * default one takes its place.
   */
  readonly customers?: ReadonlyArray<Customer> | undefined
  /** The bearer key to demand; without one, any request is accepted. */
  readonly apiKey?: string | Redacted.Redacted | undefined
  /** From close to `reflected`. Default 5 seconds. */
  readonly reflectionDelay?: Duration.DurationInput | undefined
  /** From revert of a reflected backfill to `reverted`. Default 5 seconds. */
  readonly revertDelay?: Duration.DurationInput | undefined
  /** The longest timeframe accepted. Default 31 days. */
  readonly maxTimeframe?: Duration.DurationInput | undefined
  /** The most events in one ingest request. Default 500. */
  readonly maxEventsPerRequest?: number | undefined
  /** How old an event outside a backfill may be. Default 12 hours. */
  readonly gracePeriod?: Duration.DurationInput | undefined
  /** Rate limits: Orb's `live` or `test` mode presets, or your own. Default: none. */
  readonly quotas?: "live" | "test" | Quotas | undefined
  /** Random faults. Default: none. */
  readonly faults?: Faults | undefined
  /** Seeds ids and fault draws. Default 1. */
  readonly seed?: number | undefined
  /**
   * What the request log (`requests`) keeps: everything (`"all"`, the default), everything but the bodies
   * (`"metadata"`), or nothing (`"none"`). A long run of large ingest requests holds every body otherwise.
   */
  readonly recordRequests?: "all" | "metadata" | "none" | undefined
  /**
   * How long every answer takes to reach the client, like a network's round trip: the request takes effect
   * at once, and its response (or dropped connection) comes `latency` later; a client that gives up meanwhile
   * is logged as unanswered. It applies to every request of both faces, the in-process client of
   * {@link layer} and the HTTP server of {@link serve} and {@link httpApp}, and it passes on Effect's `Clock`,
   * so under `TestClock` an answer waits until the clock moves (see {@link drive}). Default: none.
   */
  readonly latency?: Duration.DurationInput | undefined
}

// ---------------------------------------------------------------------------------------------------------
// models

/**
 * A request to the handler, whatever the transport.
 *
 * @since 0.1.0
 * @category models
 */
export interface Request {
  readonly method: string
  /** The path with its query string, e.g. `/v1/ingest?backfill_id=...` (the host of a full URL is ignored). */
  readonly url: string
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: string
}

/**
 * What the handler answers: a response, or a dropped connection.
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome =
  | {
    readonly _tag: "Respond"
    readonly status: number
    readonly headers: Readonly<Record<string, string>>
    readonly body: string
  }
  | { readonly _tag: "Drop" }

/**
 * An event as the simulator recorded it. `status`:
 *
 * - `active`: counts in usage,
 * - `pending`: ingested into a backfill that is not reflected yet,
 * - `deprecated`: replaced by a reflected replace-mode backfill,
 * - `reverted`: ingested into a backfill that was reverted.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedEvent {
  readonly idempotencyKey: string
  readonly eventName: string
  readonly timestamp: DateTime.Utc
  readonly properties: Readonly<Record<string, string | number | boolean>>
  /** The customer's Orb id (made up by the simulator when the event gave an external id). */
  readonly customerId: string
  readonly externalCustomerId: Option.Option<string>
  readonly backfillId: Option.Option<string>
  readonly ingestedAt: DateTime.Utc
  readonly status: "active" | "pending" | "deprecated" | "reverted"
  readonly deprecated: boolean
}

/**
 * A request the simulator received, with what it answered.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestRecord {
  readonly method: string
  readonly url: string
  /** The request's headers, lower-cased; the `authorization` header's credentials are masked. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  readonly at: DateTime.Utc
  /** The status answered, or `undefined` when no response reached the client (dropped, or it gave up waiting). */
  readonly status: number | undefined
  /** Answered from the idempotency store. */
  readonly replayed: boolean
  readonly fault: FaultKind | undefined
}

/**
 * The simulator's clock: Effect's `Clock` moved on by {@link OrbSimulator.advanceTime}.
 *
 * @since 0.2.0
 * @category models
 */
export interface SimulatorTime {
  /** The time the simulator reads: what backfill statuses, dedup windows and quotas are derived from. */
  readonly now: DateTime.Utc
  /** How far `advanceTime` has moved it past Effect's `Clock` since creation or the last reset. */
  readonly advanced: Duration.Duration
}

/**
 * The control service: what a test reads and steers. A served simulator offers the same over HTTP, under
 * `/_simulator/` (see `docs/testing.md`).
 *
 * @since 0.1.0
 * @category models
 */
export interface OrbSimulator {
  /** The request handler itself, for a transport of your own (its answer comes after the `latency` option). */
  readonly handle: (request: Request) => Effect.Effect<Outcome>
  /** Every backfill, newest first, as the API would show it now. */
  readonly backfills: Effect.Effect<ReadonlyArray<Backfill.Backfill>>
  /** Every recorded event (outside backfills first, then per backfill), as it stands now. */
  readonly events: Effect.Effect<ReadonlyArray<RecordedEvent>>
  /** Every request received so far, oldest first. */
  readonly requests: Effect.Effect<ReadonlyArray<RequestRecord>>
  /**
   * The Orb id of the customer with this external id; when none has it yet, the id the simulator made up for the
   * customer that will (events naming the external id are recorded with it).
   */
  readonly customerIdFor: (externalCustomerId: string) => Effect.Effect<string>
  /**
   * Makes customers exist from now on, as creating them in Orb would: events already recorded for their external
   * ids become theirs. One that shares an Orb id or an external id with a known customer takes its place. A reset
   * keeps only the customers of the options.
   */
  readonly addCustomers: (...customers: ReadonlyArray<Customer>) => Effect.Effect<void>
  /** Every customer that exists (the default ones, the options' and those added), in the order they came to. */
  readonly customers: Effect.Effect<ReadonlyArray<Customer>>
  /** Replaces the random faults (`undefined`: none). */
  readonly setFaults: (faults: Faults | undefined) => Effect.Effect<void>
  /** Queues faults for the next requests, one per request, before any random fault. */
  readonly injectFaults: (...faults: ReadonlyArray<Fault>) => Effect.Effect<void>
  /** No random faults from now on, and none of the queued ones. */
  readonly clearFaults: Effect.Effect<void>
  /** Replaces the quotas (`undefined`: none). */
  readonly setQuotas: (quotas: "live" | "test" | Quotas | undefined) => Effect.Effect<void>
  /** The simulator's clock. */
  readonly time: Effect.Effect<SimulatorTime>
  /**
   * Moves the simulator's clock on by `duration` (a negative one counts as zero), on top of Effect's `Clock`: for a
   * clock that a test cannot move otherwise, such as a served simulator's live one, so that a closed backfill is
   * reflected without waiting. Answers the clock after the move.
   */
  readonly advanceTime: (duration: Duration.DurationInput) => Effect.Effect<SimulatorTime>
  /**
   * Back to the state at creation: no backfills, events or requests; the options' customers, faults and quotas;
   * the clock no longer advanced.
   */
  readonly reset: Effect.Effect<void>
}

/**
 * @since 0.1.0
 * @category tags
 */
export const OrbSimulator: Context.Tag<OrbSimulator, OrbSimulator> = Context.GenericTag<OrbSimulator>(
  "@effect-orb/simulator/OrbSimulator"
)

// ---------------------------------------------------------------------------------------------------------
// constructors

const resolveQuotas = (quotas: Options["quotas"]): Quotas | undefined =>
  quotas === "live" ? liveQuotas : quotas === "test" ? testQuotas : quotas

const millis = (input: Duration.DurationInput | undefined, fallback: Duration.DurationInput) =>
  Duration.toMillis(Duration.decode(input ?? fallback))

/**
 * The response a fault of one of these kinds answers with, as Orb (or, for `unavailable`, a load balancer in
 * front of it) sends it: for a proxy of your own that answers in the simulator's place.
 *
 * @since 0.1.0
 * @category faults
 */
export const faultResponse: (
  kind: Exclude<FaultKind, "drop" | "delay">
) => Extract<Outcome, { readonly _tag: "Respond" }> = Pipeline.faultResponse

/**
 * Builds a simulator with its own empty state.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<OrbSimulator> =>
  Effect.sync(() => {
    const seed = options.seed ?? 1
    const config: State.Config = {
      apiKey: options.apiKey === undefined
        ? undefined
        : Redacted.isRedacted(options.apiKey)
        ? Redacted.value(options.apiKey)
        : options.apiKey,
      reflectionDelayMillis: millis(options.reflectionDelay, Duration.seconds(5)),
      revertDelayMillis: millis(options.revertDelay, Duration.seconds(5)),
      maxTimeframeMillis: millis(options.maxTimeframe, Backfill.maxTimeframeMillis),
      maxEventsPerRequest: options.maxEventsPerRequest ?? Backfill.maxEventsPerRequest,
      gracePeriodMillis: millis(options.gracePeriod, Duration.hours(12)),
      maxFutureMillis: Backfill.maxFutureMillis,
      idempotencyTtlMillis: Duration.toMillis(Duration.hours(48)),
      defaultCloseAfterMillis: Duration.toMillis(Duration.days(1)),
      customers: [...defaultCustomers, ...(options.customers ?? [])]
    }
    const state = new State.State(config, seed)
    const limiter = new LimitsAndFaults.Limiter(resolveQuotas(options.quotas))
    const faults = new LimitsAndFaults.Faults(options.faults, seed)
    const requests: Array<RequestRecord> = []
    const recordRequests = options.recordRequests ?? "all"
    const latency = Duration.decode(options.latency ?? Duration.zero)

    // How far the control API moved the clock on: every time the simulator reads goes through `now`.
    let advancedMillis = 0
    const now = Effect.map(Clock.currentTimeMillis, (millis) => millis + advancedMillis)
    const time = Effect.map(now, (millis): SimulatorTime => ({
      now: DateTime.unsafeMake(millis),
      advanced: Duration.millis(advancedMillis)
    }))

    const pipeline = Pipeline.make({ config, state, limiter, faults, requests, recordRequests, latency, now })

    const events = Effect.map(now, (at) =>
      EventsHandler.classify(state, at).map(({ event, status }): RecordedEvent => ({
        idempotencyKey: event.idempotencyKey,
        eventName: event.eventName,
        timestamp: DateTime.unsafeMake(event.timestamp),
        properties: event.properties,
        customerId: event.customerId,
        externalCustomerId: Option.fromNullable(event.externalCustomerId),
        backfillId: Option.fromNullable(event.backfillId),
        ingestedAt: DateTime.unsafeMake(event.ingestedAt),
        status,
        deprecated: status === "deprecated"
      })))

    const control: Omit<OrbSimulator, "handle"> = {
      backfills: Effect.map(
        now,
        (at) => Array.from(state.newestFirst(), (record) => BackfillsHandler.toBackfill(state, record, at))
      ),
      events,
      requests: Effect.sync(() => requests.slice()),
      customerIdFor: (externalCustomerId) => Effect.sync(() => state.customerIdFor(externalCustomerId)),
      addCustomers: (...customers) =>
        Effect.sync(() => {
          for (const customer of customers) state.addCustomer(customer)
        }),
      customers: Effect.sync(() => state.customers()),
      setFaults: (next) => Effect.sync(() => faults.faults = next),
      injectFaults: (...next) => Effect.sync(() => faults.inject(next)),
      clearFaults: Effect.sync(() => faults.clear()),
      setQuotas: (next) =>
        Effect.sync(() => {
          limiter.quotas = resolveQuotas(next)
          limiter.reset()
        }),
      time,
      advanceTime: (duration) =>
        Effect.suspend(() => {
          const millis = Duration.toMillis(Duration.decode(duration))
          if (Number.isFinite(millis) && millis > 0) advancedMillis += millis
          return time
        }),
      reset: Effect.sync(() => {
        state.reset()
        limiter.quotas = resolveQuotas(options.quotas)
        limiter.reset()
        faults.reset(options.faults)
        requests.length = 0
        advancedMillis = 0
      })
    }
    const controlApi = ControlHandler.make(control, config)
    return OrbSimulator.of({
      ...control,
      handle: (request) => ControlHandler.isControl(request.url) ? controlApi(request) : pipeline(request)
    })
  })

// ---------------------------------------------------------------------------------------------------------
// in-process HTTP client

const textDecoder = new TextDecoder()

// A web Response whose text is at hand at once: reading a real Response's body stream takes several turns of
// the event loop, and a caller driven by `TestClock` should see its answer as soon as possible. The class is
// made on the first response: the first touch of `Response` makes Node load its fetch implementation (and
// compile its WebAssembly HTTP parser, which the process then waits for before it exits), a cost that a program
// importing this module without sending a request (the command line's `--help`) should not pay.
const makeInProcessResponse = () =>
  class InProcessResponse extends Response {
    constructor(private readonly bodyText: string, status: number, headers: Record<string, string>) {
      super(bodyText, { status, headers })
    }
    override text(): Promise<string> {
      return Promise.resolve(this.bodyText)
    }
    override json(): Promise<any> {
      return this.text().then((text) => JSON.parse(text))
    }
  }
let InProcessResponse: ReturnType<typeof makeInProcessResponse> | undefined

const bodyText = (
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<string, HttpClientError.RequestError> => {
  const body = request.body
  switch (body._tag) {
    case "Empty":
      return Effect.succeed("")
    case "Uint8Array":
      return Effect.succeed(textDecoder.decode(body.body))
    case "Raw":
      if (typeof body.body === "string") return Effect.succeed(body.body)
  }
  return Effect.fail(
    new HttpClientError.RequestError({
      request,
      reason: "Encode",
      description: `the simulator's client does not support ${body._tag} bodies`
    })
  )
}

/**
 * An `HttpClient` that answers every request with the simulator's handler, in-process. The host of the
 * URL is ignored: only its path (which must start with `/v1`) and query matter, so Orb's default base URL
 * works as well as any other.
 *
 * @since 0.1.0
 * @category constructors
 */
export const httpClient = (simulator: OrbSimulator): HttpClient.HttpClient =>
  HttpClient.make((request, url) =>
    Effect.gen(function*() {
      const body = yield* bodyText(request)
      const outcome = yield* simulator.handle({
        method: request.method,
        url: `${url.pathname}${url.search}`,
        headers: request.headers,
        body
      })
      if (outcome._tag === "Drop") {
        return yield* new HttpClientError.RequestError({
          request,
          reason: "Transport",
          description: "the simulator dropped the connection (injected fault)"
        })
      }
      InProcessResponse ??= makeInProcessResponse()
      return HttpClientResponse.fromWeb(request, new InProcessResponse(outcome.body, outcome.status, outcome.headers))
    })
  )

/**
 * Runs `effect` in a fiber and moves the `TestClock` on by `step` (default 1 second) until it ends, so that
 * whatever sleeps inside it (polling, retry backoff, pacing, an injected delay) passes in virtual time. Small
 * steps are what makes this reliable: a fiber woken by one adjustment may schedule its next sleep only after
 * that adjustment returned, so one big jump can leave it asleep.
 *
 * @since 0.1.0
 * @category testing
 */
export const drive = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  step: Duration.DurationInput = Duration.seconds(1)
): Effect.Effect<A, E, R> =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    while (Option.isNone(yield* Fiber.poll(fiber))) yield* TestClock.adjust(step)
    return yield* Fiber.join(fiber)
  })

/**
 * The test layer: the {@link OrbSimulator} control service and an `HttpClient` served by it in-process.
 * Put `OrbClient.layer(...)` over it to run the library against the simulator.
 *
 * @example
 * ```ts
 * import { Backfills, OrbClient } from "@effect-orb/backfills"
 * import { OrbSimulator } from "@effect-orb/simulator"
 * import { Effect, Layer, Redacted } from "effect"
 *
 * const TestLive = Backfills.layer.pipe(
 *   Layer.provideMerge(OrbClient.layer({ apiKey: Redacted.make("sk-test"), baseUrl: "http://127.0.0.1/v1" })),
 *   Layer.provideMerge(OrbSimulator.layer({ apiKey: "sk-test", reflectionDelay: "1 second" }))
 * )
 *
 * export const test = Effect.gen(function*() {
 *   const page = yield* Backfills.listPage()
 *   const simulator = yield* OrbSimulator.OrbSimulator
 *   return { listed: page.data.length, requests: (yield* simulator.requests).length }
 * }).pipe(Effect.provide(TestLive))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<OrbSimulator | HttpClient.HttpClient> =>
  Layer.effectContext(
    Effect.map(make(options), (simulator) =>
      Context.make(OrbSimulator, simulator).pipe(Context.add(HttpClient.HttpClient, httpClient(simulator))))
  )

// ---------------------------------------------------------------------------------------------------------
// loopback server (in `SimulatorServer`, the one module that imports Node's HTTP server, loaded when used)

/**
 * @since 0.1.0
 * @category models
 */
export type ServeOptions = SimulatorServer.ServeOptions

/**
 * A running server.
 *
 * @since 0.1.0
 * @category models
 */
export type Server = SimulatorServer.Server

// Imported when a server is asked for: the in-process face, and a command that never serves, load none of it.
const server = Effect.promise(() => import("./SimulatorServer.js"))

/**
 * `SimulatorServer.httpApp`: an HTTP app serving a simulator, for a server of your own.
 *
 * @since 0.1.0
 * @category constructors
 */
export const httpApp = (
  simulator: OrbSimulator
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest> =>
  Effect.flatMap(server, (module) => module.httpApp(simulator))

/**
 * `SimulatorServer.serve`: a new simulator over HTTP on `127.0.0.1` until the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const serve = (
  options: ServeOptions = {}
): Effect.Effect<Server, HttpServerError.ServeError, Scope.Scope> =>
  Effect.flatMap(server, (module) => module.serve(options))
