/**
 * The streaming ingestion behind `Backfills.ingestStream`: validate, key, batch, pace, send, set aside,
 * retry. Memory stays bounded by `concurrency` batches whatever the stream's length: the stream is pulled
 * only as fast as batches leave.
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import * as Backfill from "../Backfill.js"
import type * as Backfills from "../Backfills.js"
import type * as OrbClient from "../OrbClient.js"
import * as OrbError from "../OrbError.js"
import * as RateLimiter from "./rateLimiter.js"

/** An event ready to send: its key settled and its wire form encoded. */
interface Prepared {
  readonly position: number
  readonly key: string
  readonly wire: unknown
}

/** An event that passed local validation, its key maybe still to derive. */
interface Candidate {
  readonly position: number
  readonly event: Backfill.IngestEvent
}

const maxFailuresKept = 1_000
const textEncoder = new TextEncoder()

/**
 * A request's `Idempotency-Key`, derived from the keys of its events: the same batch sent again (a retry, or
 * a re-run of the same input) carries the same key, and a batch with events set aside gets a new one.
 */
const batchKey = (batch: ReadonlyArray<Prepared>): Effect.Effect<string> =>
  Effect.promise(() =>
    globalThis.crypto.subtle.digest("SHA-256", textEncoder.encode(batch.map((p) => p.key).join("\n")))
  ).pipe(Effect.map((digest) => `eob-${Encoding.encodeBase64Url(new Uint8Array(digest))}`))

/**
 * An event's wire form, as `Schema.encodeSync(Backfill.IngestEvent)` would give it, written out by hand: this
 * runs once per event of a backfill, and the Schema encoder costs several times `JSON.stringify` itself. The
 * event has been validated already; a test checks that both encoders agree.
 *
 * @internal
 */
export const encodeWireEvent = (event: Backfill.IngestEvent, idempotencyKey: string): Record<string, unknown> => {
  const wire: Record<string, unknown> = {
    event_name: event.eventName,
    timestamp: new Date(event.timestamp.epochMillis).toISOString(),
    properties: event.properties,
    idempotency_key: idempotencyKey
  }
  if (event.customerId !== undefined) wire.customer_id = event.customerId
  if (event.externalCustomerId !== undefined) wire.external_customer_id = event.externalCustomerId
  return wire
}

/**
 * An event's wire form, its idempotency key settled (derived from its content when it has none).
 *
 * @internal
 */
export const toWire = (event: Backfill.IngestEvent): Effect.Effect<{ readonly key: string; readonly wire: unknown }> =>
  event.idempotencyKey !== undefined
    ? Effect.succeed({ key: event.idempotencyKey, wire: encodeWireEvent(event, event.idempotencyKey) })
    : Effect.map(Backfill.deriveIdempotencyKey(event), (key) => ({ key, wire: encodeWireEvent(event, key) }))

// Most events come with their keys: encode those in one synchronous loop, and derive the missing keys (an
// asynchronous digest) only for the events that need them.
const prepare = (candidates: Chunk.Chunk<Candidate>): Effect.Effect<Array<Prepared>> => {
  const prepared: Array<Prepared> = []
  const keyless: Array<number> = []
  for (const { event, position } of candidates) {
    const key = event.idempotencyKey
    if (key === undefined) keyless.push(prepared.length)
    prepared.push({ position, key: key ?? "", wire: key === undefined ? undefined : encodeWireEvent(event, key) })
  }
  if (keyless.length === 0) return Effect.succeed(prepared)
  const events = Chunk.toReadonlyArray(candidates)
  return Effect.as(
    Effect.forEach(keyless, (index) =>
      Effect.map(Backfill.deriveIdempotencyKey(events[index].event), (key) => {
        prepared[index] = { position: prepared[index].position, key, wire: encodeWireEvent(events[index].event, key) }
      }), { discard: true }),
    prepared
  )
}

const isRetryable = (error: OrbError.OrbError) =>
  OrbError.isTransient(error) || (error._tag === "UnknownApiError" && error.status === 408)

/** Exponential backoff for a batch's own retries: 0.5 s doubling to 30 s, jittered down by up to a quarter. */
const backoff = (attempt: number) =>
  Effect.map(
    Random.nextRange(0.75, 1),
    (factor) => Duration.millis(Math.min(500 * 2 ** (attempt - 1), 30_000) * factor)
  )

/** @internal */
export const ingestStream = <E, R>(
  deps: {
    readonly client: OrbClient.OrbClient
    readonly fetch: (id: string) => Effect.Effect<Backfill.Backfill, Backfills.Error>
    readonly validateEvent: typeof Backfills.validateEvent
  },
  id: string,
  events: Stream.Stream<Backfill.IngestEvent, E, R>,
  options: Backfills.IngestStreamOptions,
  defaultQuota: Backfills.IngestQuota
): Effect.Effect<Backfills.IngestSummary, Backfills.Error | OrbError.InvalidEvent | E, R> =>
  Effect.gen(function*() {
    const batchSize = options.batchSize ?? Backfill.maxEventsPerRequest
    const concurrency = options.concurrency ?? 4
    const maxAttempts = options.maxAttempts ?? 10
    const onInvalid = options.onInvalid ?? "skip"
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > Backfill.maxEventsPerRequest) {
      return yield* new OrbError.InvalidInput({ field: "batchSize", reason: `must be an integer from 1 to 500` })
    }
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      return yield* new OrbError.InvalidInput({ field: "concurrency", reason: "must be a positive integer" })
    }
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      return yield* new OrbError.InvalidInput({ field: "maxAttempts", reason: "must be a positive integer" })
    }
    const quota = options.quota ?? defaultQuota
    if (quota !== false && !(quota.requestsPerSecond > 0 && quota.eventsPerMinute > 0)) {
      return yield* new OrbError.InvalidInput({ field: "quota", reason: "both limits must be positive" })
    }
    const limiter = quota === false ? RateLimiter.unlimited : yield* RateLimiter.make(quota)

    const before = yield* deps.fetch(id)
    const started = yield* Clock.currentTimeMillis
    const closed = Option.exists(before.closeTime, (at) => at.epochMillis <= started)
    if (before.status !== "pending" || closed) {
      return yield* new OrbError.InvalidInput({
        field: "id",
        reason: `backfill ${id} is ${closed && before.status === "pending" ? "closed" : before.status}; ` +
          "only an open backfill accepts events"
      })
    }

    // Counters are updated between yields by the fibers sending batches; JavaScript runs one at a time.
    const counts = { read: 0, sent: 0, accepted: 0, failed: 0, batches: 0, retries: 0, rateLimited: 0 }
    const failures: Array<Backfills.FailedEvent> = []
    const progress = (): Effect.Effect<Backfills.IngestProgress> =>
      Effect.map(Clock.currentTimeMillis, (now) => ({
        read: counts.read,
        accepted: counts.accepted,
        failed: counts.failed,
        batches: counts.batches,
        retries: counts.retries,
        rateLimited: counts.rateLimited,
        elapsedMillis: now - started
      }))
    const report = options.onProgress === undefined
      ? Effect.void
      : Effect.flatMap(Effect.suspend(progress), options.onProgress)

    const setAside = (failure: Backfills.FailedEvent): Effect.Effect<void, OrbError.InvalidEvent> => {
      counts.failed++
      if (failures.length < maxFailuresKept) failures.push(failure)
      return onInvalid === "fail"
        ? Effect.fail(new OrbError.InvalidEvent({ backfillId: id, ...failure, idempotencyKey: failure.idempotencyKey }))
        : Effect.void
    }

    const send = (batch: ReadonlyArray<Prepared>): Effect.Effect<void, Backfills.Error | OrbError.InvalidEvent> =>
      Effect.gen(function*() {
        let pending = batch
        let attempt = 1
        counts.sent += batch.length
        while (pending.length > 0) {
          yield* limiter.acquire(pending.length)
          const idempotencyKey = yield* batchKey(pending)
          const result = yield* Effect.either(deps.client.request({
            method: "POST",
            path: "/ingest",
            urlParams: [["backfill_id", id]],
            body: { events: pending.map((p) => p.wire) },
            idempotencyKey,
            retry: false
          }, Backfill.IngestResult))
          if (Either.isRight(result)) {
            counts.accepted += pending.length
            counts.batches++
            yield* limiter.recover
            return yield* report
          }
          const error = result.left
          if (error._tag === "RequestValidationError") {
            // Orb recorded nothing of this request: set the events it names aside and send the rest again.
            const reasons = new Map(OrbError.eventFailures(error).map((f) => [f.idempotencyKey, f.validationErrors]))
            const refused = pending.filter((p) => reasons.has(p.key))
            if (refused.length === 0) return yield* error
            for (const p of refused) {
              yield* setAside({
                position: p.position,
                idempotencyKey: p.key,
                refusedBy: "orb",
                reasons: reasons.get(p.key)!
              })
            }
            pending = pending.filter((p) => !reasons.has(p.key))
            continue
          }
          if (!isRetryable(error) || attempt >= maxAttempts) return yield* error
          const retryAfter = "retryAfterMillis" in error ? error.retryAfterMillis : undefined
          if (error._tag === "TooManyRequests" && quota !== false) {
            // The limiter holds every request back for the server's wait, and slows the pace.
            counts.rateLimited++
            yield* limiter.slowDown(retryAfter === undefined ? undefined : Math.min(retryAfter, 60_000))
            yield* Effect.logDebug(`Rate limited: sending ${pending.length} events again at a slower pace`).pipe(
              Effect.annotateLogs({ backfillId: id, attempt })
            )
          } else {
            if (error._tag === "TooManyRequests") counts.rateLimited++
            const wait = retryAfter !== undefined
              ? Duration.millis(Math.min(retryAfter, 60_000))
              : yield* backoff(attempt)
            yield* Effect.logDebug(`Sending ${pending.length} events again in ${Duration.format(wait)}`).pipe(
              Effect.annotateLogs({ backfillId: id, error: error._tag, attempt })
            )
            yield* Effect.sleep(wait)
          }
          counts.retries++
          attempt++
        }
      })

    yield* events.pipe(
      Stream.mapChunksEffect((chunk) =>
        Effect.gen(function*() {
          const candidates: Array<Candidate> = []
          for (const event of chunk) {
            // The position is the count of events read before this one.
            const position = counts.read++
            const problem = deps.validateEvent(event, `events[${position}]`, before)
            if (Either.isLeft(problem)) {
              yield* setAside({
                position,
                idempotencyKey: event?.idempotencyKey,
                refusedBy: "local",
                reasons: [`${problem.left.field}: ${problem.left.reason}`]
              })
            } else {
              candidates.push({ position, event })
            }
          }
          return Chunk.unsafeFromArray(candidates)
        })
      ),
      Stream.rechunk(batchSize),
      Stream.chunks,
      Stream.mapEffect((chunk) => Effect.flatMap(prepare(chunk), send), { concurrency, unordered: true }),
      Stream.runDrain
    )

    const after = yield* deps.fetch(id)
    const final = yield* progress()
    yield* report
    return {
      ...final,
      sent: counts.sent,
      duplicates: Math.max(0, counts.accepted - (after.eventsIngested - before.eventsIngested)),
      failures,
      backfill: after
    }
  })
