/**
 * The simulator's request pipeline, in the order Orb's front end applies it: authenticate, admit within the
 * quotas, check and look up the `Idempotency-Key`, then handle the request (with the injected fault, before or
 * after it takes effect), and finally deliver the answer after the latency and log the request. Each step is a
 * function of its own; `make` chains them.
 */
import { Backfill } from "@effect-orb/backfills"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as OrbSimulator from "../OrbSimulator.js"
import * as IngestHandler from "./ingestHandler.js"
import type * as LimitsAndFaults from "./limitsAndFaults.js"
import * as Router from "./router.js"
import * as State from "./state.js"
import * as Wire from "./wire.js"

const defaultFaultDelay = Duration.minutes(2)

export const lowerCaseHeaders = (headers: Readonly<Record<string, string | undefined>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name.toLowerCase()] = value
  return out
}

// Orb's answer to a concurrent duplicate: the `conflict` fault is the same answer.
const inProgress = Wire.problem(
  "ResourceConflict",
  "Request in progress",
  "A request with this Idempotency-Key is still in progress"
)

const withHeaders = (response: Wire.Response, headers: Record<string, string>): Wire.Response => ({
  ...response,
  headers: { ...response.headers, ...headers }
})

const respond = (response: Wire.Response): Extract<OrbSimulator.Outcome, { readonly _tag: "Respond" }> => ({
  _tag: "Respond",
  ...response
})

export const faultResponse = (
  kind: Exclude<OrbSimulator.FaultKind, "drop" | "delay">
): Extract<OrbSimulator.Outcome, { readonly _tag: "Respond" }> => {
  switch (kind) {
    case "internal-error":
      return respond(
        withHeaders(Wire.problem("InternalServerError", "Internal server error", "Injected fault"), {
          "transient-error": "true"
        })
      )
    case "unavailable":
      // nginx's page, as a load balancer answers when no backend is up: not JSON, and no header of Orb's.
      return respond({
        status: 503,
        headers: { "content-type": "text/html" },
        body: "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n" +
          "<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n"
      })
    case "too-many-requests":
      return respond(
        withHeaders(Wire.problem("TooManyRequests", "Too many requests", "Injected fault"), { "retry-after": "1" })
      )
    case "conflict":
      return respond(inProgress)
  }
}

const faultOutcome = (kind: Exclude<OrbSimulator.FaultKind, "delay">): OrbSimulator.Outcome =>
  kind === "drop" ? { _tag: "Drop" } : faultResponse(kind)

// The request log is test output: a key that reaches the simulator must not be printed with a failing test.
const masked = (headers: Record<string, string>): Record<string, string> => {
  const authorization = headers["authorization"]
  if (authorization === undefined) return headers
  const scheme = /^\S+\s+/.exec(authorization)?.[0] ?? ""
  return { ...headers, authorization: `${scheme}<redacted>` }
}

const pathOf = (url: string) => {
  const parsed = new URL(url, "http://simulator.invalid")
  return `${parsed.pathname}${parsed.search}`
}

/** What the pipeline works on: the simulator's state and settings, its traffic controls and its request log. */
export interface Parts {
  readonly config: State.Config
  readonly state: State.State
  readonly limiter: LimitsAndFaults.Limiter
  readonly faults: LimitsAndFaults.Faults
  readonly requests: Array<OrbSimulator.RequestRecord>
  readonly recordRequests: "all" | "metadata" | "none"
  readonly latency: Duration.Duration
  /** The simulator's time: Effect's `Clock` plus however far the control API advanced it. */
  readonly now: Effect.Effect<number>
}

/** Step 1: the bearer key, when the simulator demands one (the control API's too). */
export const authenticate = (config: State.Config, headers: Record<string, string>): Wire.Response | undefined => {
  if (config.apiKey === undefined) return undefined
  const match = /^Bearer\s+(.+)$/i.exec(headers["authorization"] ?? "")
  if (match !== null && match[1] === config.apiKey) return undefined
  return Wire.problem(
    "AuthenticationError",
    "Authentication failed",
    match === null ? "Missing bearer API key" : "The API key is not valid"
  )
}

/** Step 2: the quota of the request's category, answered with 429 and `Retry-After` when it is spent. */
const admit = (limiter: LimitsAndFaults.Limiter, req: Wire.Request, now: number): Wire.Response | undefined => {
  const category = Router.category(req)
  const wait = limiter.admit(category, () => IngestHandler.eventCount(req), now)
  if (wait === undefined) return undefined
  return withHeaders(
    Wire.problem("TooManyRequests", "Too many requests", `Rate limit for ${category} requests reached`),
    { "retry-after": String(wait) }
  )
}

/** Where a request stands with its `Idempotency-Key`: refused, a replay of a stored answer, or a new request. */
type Keyed =
  | { readonly _tag: "Refused"; readonly response: Wire.Response }
  | {
    readonly _tag: "Go"
    readonly key: string | undefined
    readonly fingerprint: string
    readonly stored: Wire.Response | undefined
  }

/**
 * Step 3: a POST's key is checked, then looked up: the same request within the key's lifetime is a replay of its
 * stored answer (or, still in progress, a 409), another request under it a 409; a new key is reserved.
 */
const keyed = (parts: Parts, req: Wire.Request, now: number): Keyed => {
  const { config, state } = parts
  const key = req.method === "POST" ? req.headers["idempotency-key"] : undefined
  if (key !== undefined && (key.length === 0 || key.length > Backfill.maxIdempotencyKeyLength)) {
    return {
      _tag: "Refused",
      response: Wire.validationError("Invalid Idempotency-Key", [
        `Idempotency-Key: must be 1 to ${Backfill.maxIdempotencyKeyLength} characters`
      ])
    }
  }
  if (key === undefined) return { _tag: "Go", key, fingerprint: "", stored: undefined }
  // Only a request with a key is remembered, so only its body needs hashing.
  const fingerprint = State.fingerprint(req.method, pathOf(req.url), req.body.text)
  const entry = state.idempotency.get(key)
  if (entry === undefined || entry.storedAt + config.idempotencyTtlMillis <= now) {
    state.idempotency.set(key, { fingerprint, storedAt: now, response: undefined })
    return { _tag: "Go", key, fingerprint, stored: undefined }
  }
  if (entry.fingerprint !== fingerprint) {
    return {
      _tag: "Refused",
      response: Wire.problem(
        "ResourceConflict",
        "Idempotency key reused",
        "This Idempotency-Key was used with a different request"
      )
    }
  }
  if (entry.response === undefined) return { _tag: "Refused", response: inProgress }
  return { _tag: "Go", key, fingerprint, stored: withHeaders(entry.response, { "idempotent-replayed": "true" }) }
}

/**
 * Step 4: the request handled (or its stored answer replayed), with the next injected fault before it takes
 * effect (or in place of a replay) or after. A request that never completed leaves no trace in the idempotency
 * store, so that a retry runs it.
 */
const handled = (
  parts: Parts,
  req: Wire.Request,
  go: Extract<Keyed, { readonly _tag: "Go" }>,
  seen: { replayed: boolean; fault: OrbSimulator.FaultKind | undefined }
): Effect.Effect<OrbSimulator.Outcome> => {
  const { faults, state } = parts
  const { fingerprint, key, stored } = go
  const fault = faults.next()
  seen.fault = fault?.kind
  const delay = Duration.decode(fault?.delay ?? defaultFaultDelay)
  const release = Effect.sync(() => {
    if (key !== undefined && stored === undefined && state.idempotency.get(key)?.response === undefined) {
      state.idempotency.delete(key)
    }
  })
  const run = Effect.gen(function*() {
    if (fault !== undefined && (fault.timing === "before" || stored !== undefined)) {
      if (fault.kind === "delay") yield* Effect.sleep(delay)
      else {
        yield* release
        return faultOutcome(fault.kind)
      }
    }
    let response = stored
    if (response === undefined) {
      const at = yield* parts.now
      response = Router.handle(state, req, at)
      if (key !== undefined) state.idempotency.set(key, { fingerprint, storedAt: at, response })
    }
    if (fault !== undefined && fault.timing === "after" && stored === undefined) {
      if (fault.kind === "delay") yield* Effect.sleep(delay)
      else return faultOutcome(fault.kind)
    }
    seen.replayed = stored !== undefined
    return respond(response)
  })
  return Effect.onInterrupt(run, () => release)
}

/** The pipeline over a simulator's parts: a request in, its outcome out, logged. */
export const make = (parts: Parts) => (request: OrbSimulator.Request): Effect.Effect<OrbSimulator.Outcome> =>
  Effect.gen(function*() {
    const now = yield* parts.now
    const headers = lowerCaseHeaders(request.headers)
    const req: Wire.Request = {
      method: request.method.toUpperCase(),
      url: request.url,
      headers,
      body: new Wire.Body(request.body)
    }
    // Filled in as the request goes along, for the request log.
    const seen: { replayed: boolean; fault: OrbSimulator.FaultKind | undefined } = { replayed: false, fault: undefined }
    const record = (outcome: OrbSimulator.Outcome): OrbSimulator.Outcome => {
      if (parts.recordRequests === "none") return outcome
      parts.requests.push({
        method: req.method,
        url: pathOf(req.url),
        headers: masked(headers),
        body: parts.recordRequests === "all" ? req.body.text : "",
        at: DateTime.unsafeMake(now),
        status: outcome._tag === "Respond" ? outcome.status : undefined,
        replayed: seen.replayed,
        fault: seen.fault
      })
      return outcome
    }

    const answer = Effect.suspend((): Effect.Effect<OrbSimulator.Outcome> => {
      const refused = authenticate(parts.config, headers) ?? admit(parts.limiter, req, now)
      if (refused !== undefined) return Effect.succeed(respond(refused))
      const go = keyed(parts, req, now)
      return go._tag === "Refused" ? Effect.succeed(respond(go.response)) : handled(parts, req, go, seen)
    })

    // Step 5, the latency: the answer's way back to the client. The request has taken effect, and a client that
    // gives up meanwhile never sees the answer; it is logged as unanswered.
    const delivered = Duration.isZero(parts.latency) ? answer : Effect.zipLeft(answer, Effect.sleep(parts.latency))
    return yield* Effect.onInterrupt(
      Effect.map(delivered, record),
      () => Effect.sync(() => record({ _tag: "Drop" }))
    )
  })
