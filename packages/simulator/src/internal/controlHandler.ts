/**
 * The control API: the `OrbSimulator` control service over HTTP, under `/_simulator/` (never under `/v1`, so that no
 * Orb client takes it for Orb's), for tests written in any language. JSON in and out, bodies and query parameters
 * decoded by Schema (anything else is a 400 naming the field), guarded by the simulator's API key like the API.
 * It stands beside the API's pipeline, not in it: a test's hand on the simulator is not traffic to Orb, so no
 * quota, fault or latency applies to it and the request log does not show it.
 */
import { Backfill } from "@effect-orb/backfills"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as OrbSimulator from "../OrbSimulator.js"
import * as LimitsAndFaults from "./limitsAndFaults.js"
import * as Pipeline from "./pipeline.js"
import type * as State from "./state.js"
import * as Wire from "./wire.js"

const prefix = "/_simulator"

const pathOf = (url: string) => new URL(url, "http://simulator.invalid")

/** Whether a request is for the control API. */
export const isControl = (url: string): boolean => {
  const path = pathOf(url).pathname
  return path === prefix || path.startsWith(`${prefix}/`)
}

// ---------------------------------------------------------------------------------------------------------
// wire shapes

const Millis = Schema.Number.pipe(Schema.finite(), Schema.nonNegative())
const FaultKind = Schema.Literal(...LimitsAndFaults.faultKinds)

const CustomerJson = Schema.Struct({
  id: Schema.NonEmptyString,
  external_customer_id: Schema.optionalWith(Schema.NonEmptyString, { nullable: true })
})

const AddCustomers = Schema.Struct({ customers: Schema.Array(CustomerJson) })

const RandomFaults = Schema.Struct({
  rate: Schema.Number.pipe(Schema.between(0, 1)),
  kinds: Schema.optional(Schema.Array(FaultKind)),
  timing: Schema.optional(Schema.Literal("before", "after", "random")),
  delay_ms: Schema.optional(Millis)
})

const NextFault = Schema.Struct({
  kind: FaultKind,
  timing: Schema.Literal("before", "after"),
  delay_ms: Schema.optional(Millis)
})

const SetFaults = Schema.Struct({
  /** Replaces the random faults; `null`: none. */
  random: Schema.optional(Schema.NullOr(RandomFaults)),
  /** Queued for the next requests, one each. */
  next: Schema.optional(Schema.Array(NextFault))
})

const AdvanceTime = Schema.Struct({ advance_ms: Millis })

const maxLimit = 1000
const defaultLimit = 100

const PageQuery = Schema.Struct({
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, maxLimit))),
  // An offset in a list that only grows at its end (see `page`), written as a number but opaque to clients.
  cursor: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative()))
})

const CustomerIdQuery = Schema.Struct({ external_customer_id: Schema.NonEmptyString })

const EventsQuery = Schema.Struct({ ...PageQuery.fields, backfill_id: Schema.optional(Schema.NonEmptyString) })

/** A body or query decoded, or the 400 that names each field it got wrong. */
const decode = <A, I>(
  schema: Schema.Schema<A, I>,
  input: unknown,
  what: "body" | "query"
): Either.Either<A, Wire.Response> =>
  Either.mapLeft(
    Schema.decodeUnknownEither(schema, { onExcessProperty: "error", errors: "all" })(input),
    (error) => {
      const issues = Wire.formatIssues(error)
      return Wire.validationError(`The ${what} is not valid: ${issues.join("; ")}`, issues)
    }
  )

const decodeBody = <A, I>(schema: Schema.Schema<A, I>, body: Wire.Body): Either.Either<A, Wire.Response> =>
  Either.flatMap(
    Either.mapLeft(body.json(), (reason) => Wire.validationError(`The body is not valid: ${reason}`, [reason])),
    (json) => decode(schema, json, "body")
  )

const decodeQuery = <A, I>(schema: Schema.Schema<A, I>, params: URLSearchParams) =>
  decode(schema, Object.fromEntries(params), "query")

const iso = (dateTime: DateTime.Utc) => DateTime.formatIso(dateTime)

const customerJson = (customer: OrbSimulator.Customer) => ({
  id: customer.id,
  external_customer_id: customer.externalCustomerId ?? null
})

const encodeBackfill = Schema.encodeSync(Backfill.Backfill)

// As `/v1` shows a backfill: Orb carries an absent `deprecation_filter` as `null`, where the Schema leaves it out.
const backfillJson = (backfill: Backfill.Backfill) => ({ deprecation_filter: null, ...encodeBackfill(backfill) })

const eventJson = (event: OrbSimulator.RecordedEvent) => ({
  idempotency_key: event.idempotencyKey,
  event_name: event.eventName,
  timestamp: iso(event.timestamp),
  properties: event.properties,
  customer_id: event.customerId,
  external_customer_id: Option.getOrNull(event.externalCustomerId),
  backfill_id: Option.getOrNull(event.backfillId),
  ingested_at: iso(event.ingestedAt),
  status: event.status,
  deprecated: event.deprecated
})

const requestJson = (record: OrbSimulator.RequestRecord) => ({
  method: record.method,
  url: record.url,
  headers: record.headers,
  body: record.body,
  at: iso(record.at),
  status: record.status ?? null,
  replayed: record.replayed,
  fault: record.fault ?? null
})

const timeJson = (time: OrbSimulator.SimulatorTime) => ({
  now: iso(time.now),
  advanced_ms: Duration.toMillis(time.advanced)
})

/**
 * A page of a list that only grows at its end (events of one backfill, requests), so that an offset is a stable
 * cursor; for all events, those ingested outside any backfill come first and a new one shifts the rest.
 */
const page = <A>(items: ReadonlyArray<A>, query: typeof PageQuery.Type, toJson: (item: A) => unknown) => {
  const start = query.cursor ?? 0
  const end = start + (query.limit ?? defaultLimit)
  const hasMore = end < items.length
  return Wire.json(200, {
    data: items.slice(start, end).map(toJson),
    pagination_metadata: { has_more: hasMore, next_cursor: hasMore ? String(end) : null }
  })
}

const ok = Wire.json(200, {})

const notFound = (method: string, path: string) =>
  Wire.problem("UrlNotFound", "URL not found", `No control endpoint ${method} ${path}`)

// ---------------------------------------------------------------------------------------------------------
// routes

type Control = Omit<OrbSimulator.OrbSimulator, "handle">

const route = (control: Control, request: Wire.Request): Effect.Effect<Wire.Response> => {
  const url = pathOf(request.url)
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/$/, "") : url.pathname
  const method = request.method
  const params = url.searchParams
  // Each route: its decoded input, then the service call it maps to.
  const withBody = <A, I>(schema: Schema.Schema<A, I>, f: (a: A) => Effect.Effect<Wire.Response>) =>
    Either.match(decodeBody(schema, request.body), { onLeft: Effect.succeed, onRight: f })
  const withQuery = <A, I>(schema: Schema.Schema<A, I>, f: (a: A) => Effect.Effect<Wire.Response>) =>
    Either.match(decodeQuery(schema, params), { onLeft: Effect.succeed, onRight: f })

  switch (`${method} ${path}`) {
    case "POST /_simulator/reset":
      return Effect.as(control.reset, ok)
    case "GET /_simulator/customers":
      return Effect.map(control.customers, (customers) => Wire.json(200, { data: customers.map(customerJson) }))
    case "POST /_simulator/customers":
      return withBody(AddCustomers, ({ customers }) =>
        Effect.zipRight(
          control.addCustomers(
            ...customers.map(({ external_customer_id, id }) =>
              external_customer_id === undefined ? { id } : { id, externalCustomerId: external_customer_id }
            )
          ),
          Effect.map(control.customers, (all) => Wire.json(200, { data: all.map(customerJson) }))
        ))
    case "GET /_simulator/customer_id":
      return withQuery(
        CustomerIdQuery,
        ({ external_customer_id }) =>
          Effect.map(control.customerIdFor(external_customer_id), (id) => Wire.json(200, { customer_id: id }))
      )
    case "GET /_simulator/backfills":
      return Effect.map(control.backfills, (backfills) => Wire.json(200, { data: backfills.map(backfillJson) }))
    case "GET /_simulator/events":
      return withQuery(EventsQuery, (query) =>
        Effect.map(control.events, (events) =>
          page(
            query.backfill_id === undefined
              ? events
              : events.filter((event) => Option.contains(event.backfillId, query.backfill_id)),
            query,
            eventJson
          )))
    case "GET /_simulator/requests":
      return withQuery(
        PageQuery,
        (query) => Effect.map(control.requests, (requests) => page(requests, query, requestJson))
      )
    case "POST /_simulator/faults":
      return withBody(SetFaults, ({ next, random }) =>
        Effect.as(
          Effect.all([
            random === undefined ? Effect.void : control.setFaults(
              random === null ? undefined : {
                rate: random.rate,
                kinds: random.kinds,
                timing: random.timing,
                delay: random.delay_ms === undefined ? undefined : Duration.millis(random.delay_ms)
              }
            ),
            control.injectFaults(
              ...(next ?? []).map(({ delay_ms, kind, timing }) => ({
                kind,
                timing,
                delay: delay_ms === undefined ? undefined : Duration.millis(delay_ms)
              }))
            )
          ]),
          ok
        ))
    case "DELETE /_simulator/faults":
      return Effect.as(control.clearFaults, ok)
    case "GET /_simulator/time":
      return Effect.map(control.time, (time) => Wire.json(200, timeJson(time)))
    case "POST /_simulator/time":
      return withBody(
        AdvanceTime,
        ({ advance_ms }) =>
          Effect.map(control.advanceTime(Duration.millis(advance_ms)), (time) => Wire.json(200, timeJson(time)))
      )
  }
  return Effect.succeed(notFound(method, path))
}

/**
 * The control API over a simulator's control service: a request under `/_simulator/` in, its answer out.
 */
export const make =
  (control: Control, config: State.Config) => (request: OrbSimulator.Request): Effect.Effect<OrbSimulator.Outcome> => {
    const headers = Pipeline.lowerCaseHeaders(request.headers)
    const req: Wire.Request = {
      method: request.method.toUpperCase(),
      url: request.url,
      headers,
      body: new Wire.Body(request.body)
    }
    const refused = Pipeline.authenticate(config, headers)
    return Effect.map(
      refused === undefined ? route(control, req) : Effect.succeed(refused),
      (response): OrbSimulator.Outcome => ({ _tag: "Respond", ...response })
    )
  }
