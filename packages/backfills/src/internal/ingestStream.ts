/**
 * The streaming ingestion behind `Backfills.ingestStream` and `Backfills.ingestEncodedStream`: validate, key,
 * batch, pace, send, set aside, retry. Memory stays bounded by `concurrency` batches whatever the stream's
 * length: the stream is pulled only as fast as batches leave.
 */
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FiberSet from "effect/FiberSet"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Backfill from "../Backfill.js"
import type * as Backfills from "../Backfills.js"
import * as IngestBudget from "../IngestBudget.js"
import type * as OrbClient from "../OrbClient.js"
import * as OrbError from "../OrbError.js"
import * as Events from "./events.js"
import * as IdempotencyKey from "./idempotencyKey.js"
import * as Metrics from "./metrics.js"
import { liveModeQuota } from "./quota.js"
import * as RateLimiter from "./rateLimiter.js"
import * as RetryPolicy from "./retryPolicy.js"

/**
 * A batch ready to send: valid wire events, their positions in the input, and (once settled) their keys. Parallel
 * arrays rather than an object per event: they are built for every event of a backfill.
 */
interface Batch {
  /** Which of the ingestion's backfills it goes to. */
  readonly target: number
  readonly positions: Array<number>
  readonly wires: Array<Events.Wire>
}

/**
 * The backfills one ingestion feeds: one, or the windows of a longer timeframe, each event going to the window that
 * holds its timestamp. Windows are consecutive, in order, and share the customer scope.
 */
export interface Targets {
  readonly ids: ReadonlyArray<string>
}

/**
 * What an ingestion into several backfills did to each.
 */
export interface TargetCounts {
  /** Events routed to it (an event refused before it is routed, by the local checks, counts in the totals only). */
  readonly read: number
  readonly sent: number
  readonly accepted: number
  readonly failed: number
}

/**
 * An ingestion's summary, and each target's part of it (with its backfill after the ingestion).
 */
export interface MultiSummary {
  readonly total: Backfills.IngestSummary
  readonly targets: ReadonlyArray<TargetCounts & { readonly duplicates: number; readonly backfill: Backfill.Backfill }>
}

/**
 * One input event's check, for either form: the wire event to send, or why it is refused. Given the backfill,
 * so that the timeframe and the customer are checked too, and the current time (epoch milliseconds, read from the
 * `Clock` once per chunk), so that an event too far in the future is refused before Orb refuses it.
 */
export interface Check<A> {
  readonly check: (event: A, backfill: Backfill.Backfill, now: number) => Events.Wire | Events.Problem
  /** The key an event carries, to report it when the event is refused. */
  readonly keyOf: (event: A) => string | undefined
}

/** Decoded events: checked, then encoded to the wire form at once, so that the rest of the way is shared. */
export const decodedEvents: Check<Backfill.IngestEvent> = {
  check: (event, backfill, now) =>
    Events.checkEvent(event, backfill, now) ?? Events.encodeEvent(event, event.idempotencyKey),
  keyOf: (event) => Events.givenKey(event, "idempotencyKey")
}

/** Wire events: checked as they are, and sent as they are when they are already in the form sent. */
export const encodedEvents: Check<unknown> = {
  check: Events.checkWire,
  keyOf: (event) => Events.givenKey(event, "idempotency_key")
}

const maxFailuresKept = 1_000
/**
 * The one pipeline behind `ingestStream` and `ingestEncodedStream`, whatever the form of the input: `events`
 * checks each event and gives its wire form, and everything after that works on wire events.
 */
export const ingestStream = <A, E, R>(
  deps: Deps,
  id: string,
  input: Stream.Stream<A, E, R>,
  events: Check<A>,
  options: Backfills.IngestStreamOptions
): Effect.Effect<Backfills.IngestSummary, Backfills.Error | OrbError.InvalidEvent | E, R> =>
  Effect.map(
    ingestInto(deps, { ids: [id] }, input, events, options, undefined),
    (summary) => summary.total
  )

interface Deps {
  readonly client: OrbClient.OrbClient
  readonly fetch: (id: string) => Effect.Effect<Backfill.Backfill, Backfills.Error>
}

/**
 * The pipeline, into one backfill or several consecutive windows: each event is checked against the whole of their
 * timeframe (and the customer scope they share), then goes to the window holding its timestamp, in that window's
 * batches; the batches of every window share the slots in flight and the pace. `onTargets` is told each window's
 * counts with each progress report.
 */
export const ingestInto = <A, E, R>(
  deps: Deps,
  targets: Targets,
  input: Stream.Stream<A, E, R>,
  events: Check<A>,
  options: Backfills.IngestStreamOptions,
  onTargets: ((counts: ReadonlyArray<TargetCounts>) => Effect.Effect<void>) | undefined
): Effect.Effect<MultiSummary, Backfills.Error | OrbError.InvalidEvent | E, R> =>
  Effect.gen(function*() {
    const { ids } = targets
    const batchSize = options.batchSize ?? Backfill.maxEventsPerRequest
    const concurrency = options.concurrency ?? 4
    const maxAttempts = options.maxAttempts ?? RetryPolicy.defaultBatchAttempts
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
    const quota = options.pace?.quota ?? options.quota ?? liveModeQuota
    if (quota !== false && !(quota.requestsPerSecond > 0 && quota.eventsPerMinute > 0)) {
      return yield* new OrbError.InvalidInput({ field: "quota", reason: "both limits must be positive" })
    }
    const limiter = options.pace !== undefined
      ? options.pace[RateLimiter.PaceTypeId]
      : quota === false
      ? RateLimiter.unlimited
      : yield* RateLimiter.make(quota, Option.getOrUndefined(yield* Effect.serviceOption(IngestBudget.IngestBudget)))

    // A backfill the caller fetched is taken as it is, before and after (see `IngestStreamOptions.backfill`).
    const given = options.backfill
    if (given !== undefined && (ids.length !== 1 || given.id !== ids[0])) {
      return yield* new OrbError.InvalidInput({
        field: "backfill",
        reason: `is backfill ${given.id}, not the one ingested into (${ids.join(", ")})`
      })
    }
    const fetched = (id: string) => given !== undefined ? Effect.succeed(given) : deps.fetch(id)
    const befores: Array<Backfill.Backfill> = []
    for (const id of ids) befores.push(yield* fetched(id))
    const started = yield* Clock.currentTimeMillis
    for (const before of befores) {
      if (!Backfill.isOpen(before, started)) {
        return yield* new OrbError.InvalidInput({
          field: "id",
          reason: `backfill ${before.id} is ${before.status === "pending" ? "closed" : before.status}; ` +
            "only an open backfill accepts events"
        })
      }
    }
    const single = ids.length === 1
    // Several windows: an event is checked against their whole timeframe, then routed by its timestamp.
    const scope: Backfill.Backfill = single
      ? befores[0]
      : { ...befores[0], timeframeEnd: befores[befores.length - 1].timeframeEnd }
    const targetOf = single
      ? () => 0
      : (wire: Events.Wire) => Backfill.windowOf(befores, Backfill.timestampMillis(wire.timestamp))

    // Counters are updated between yields by the fibers sending batches; JavaScript runs one at a time.
    const counts = { read: 0, sent: 0, accepted: 0, failed: 0, batches: 0, retries: 0, rateLimited: 0 }
    const perTarget: Array<{ read: number; sent: number; accepted: number; failed: number }> = ids.map(() => ({
      read: 0,
      sent: 0,
      accepted: 0,
      failed: 0
    }))
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
    const report = Effect.zipRight(
      options.onProgress === undefined ? Effect.void : Effect.flatMap(Effect.suspend(progress), options.onProgress),
      onTargets === undefined ? Effect.void : Effect.suspend(() => onTargets(perTarget.map((t) => ({ ...t }))))
    )

    /**
     * An event set aside, counted: with `onInvalid: "fail"`, the error the ingestion then fails with. `target`: the
     * window of an event Orb refused; none for one refused before it was routed.
     */
    const recordFailure = (
      target: number | undefined,
      failure: Backfills.FailedEvent
    ): OrbError.InvalidEvent | undefined => {
      counts.failed++
      if (target !== undefined) perTarget[target].failed++
      if (failures.length < maxFailuresKept) failures.push(failure)
      return onInvalid === "fail"
        ? new OrbError.InvalidEvent({
          backfillId: ids[target ?? 0],
          ...failure,
          idempotencyKey: failure.idempotencyKey
        })
        : undefined
    }
    /** Events set aside, in the metric; the ingestion's failure with `onInvalid: "fail"`. */
    const setAside = (
      refused: number,
      error: OrbError.InvalidEvent | undefined
    ): Effect.Effect<void, OrbError.InvalidEvent> =>
      Effect.zipRight(
        Metric.incrementBy(Metrics.eventsFailed, refused),
        error === undefined ? Effect.void : Effect.fail(error)
      )

    const send = (batch: Batch): Effect.Effect<void, Backfills.Error | OrbError.InvalidEvent> =>
      Effect.gen(function*() {
        let { positions, wires } = batch
        const { target } = batch
        const id = ids[target]
        let attempt = 1
        let conflictsInARow = 0
        counts.sent += wires.length
        perTarget[target].sent += wires.length
        while (wires.length > 0) {
          yield* limiter.acquire(wires.length)
          const idempotencyKey = IdempotencyKey.forBatch(id, wires)
          const result = yield* Effect.either(deps.client.request({
            method: "POST",
            path: "/ingest",
            urlParams: [["backfill_id", id]],
            body: { events: wires },
            idempotencyKey,
            retry: false
          }, Backfill.IngestResult))
          if (Either.isRight(result)) {
            counts.accepted += wires.length
            perTarget[target].accepted += wires.length
            counts.batches++
            yield* Metric.incrementBy(Metrics.eventsSent, wires.length)
            yield* Metric.increment(Metrics.batches)
            yield* limiter.recover
            return yield* report
          }
          conflictsInARow = result.left._tag === "ResourceConflict" ? conflictsInARow + 1 : 0
          const error = RetryPolicy.settleConflict(result.left, conflictsInARow)
          if (error._tag === "RequestValidationError") {
            // Orb recorded nothing of this request: set the events it names aside and send the rest again.
            const reasons = new Map(OrbError.eventFailures(error).map((f) => [f.idempotencyKey, f.validationErrors]))
            const kept: Batch = { target, positions: [], wires: [] }
            for (let i = 0; i < wires.length; i++) {
              const key = wires[i].idempotency_key!
              const refused = reasons.get(key)
              if (refused === undefined) {
                kept.positions.push(positions[i])
                kept.wires.push(wires[i])
              } else {
                yield* setAside(
                  1,
                  recordFailure(target, {
                    position: positions[i],
                    idempotencyKey: key,
                    refusedBy: "orb",
                    reasons: refused
                  })
                )
              }
            }
            if (kept.wires.length === wires.length) return yield* error
            positions = kept.positions
            wires = kept.wires
            conflictsInARow = 0
            continue
          }
          if (error._tag === "TooManyRequests") yield* Metric.increment(Metrics.rateLimited)
          if (!OrbError.isTransient(error) || attempt >= maxAttempts) return yield* error
          // Already capped by the client at its `maxRetryAfter`.
          const retryAfter = "retryAfterMillis" in error ? error.retryAfterMillis : undefined
          if (error._tag === "TooManyRequests" && quota !== false) {
            // The limiter holds every request back for the server's wait, and slows the pace.
            counts.rateLimited++
            yield* limiter.slowDown(retryAfter)
            yield* Effect.logDebug(`Rate limited: sending ${wires.length} events again at a slower pace`).pipe(
              Effect.annotateLogs({ backfillId: id, attempt })
            )
          } else {
            if (error._tag === "TooManyRequests") counts.rateLimited++
            const wait = retryAfter !== undefined
              ? Duration.millis(retryAfter)
              : yield* RetryPolicy.batchBackoff(attempt)
            yield* Effect.logDebug(`Sending ${wires.length} events again in ${Duration.format(wait)}`).pipe(
              Effect.annotateLogs({ backfillId: id, error: error._tag, attempt })
            )
            yield* Effect.sleep(wait)
          }
          counts.retries++
          const status = Metrics.statusOf(error)
          yield* Metric.increment(
            status === undefined
              ? Metrics.retries
              : Metric.tagged(Metrics.retries, "http.response.status_code", String(status))
          )
          attempt++
        }
      })

    // One loop checks the events and fills the batches, over each chunk the input gives: no object per event besides
    // its wire form (when it needs one), no closure per event, no copy of a chunk.
    const filling: Array<Batch> = ids.map((_, target) => ({ target, positions: [], wires: [] }))
    /** The batches a chunk filled; with `onInvalid: "fail"`, the error of its first event set aside instead. */
    const fill = (chunk: Chunk.Chunk<A>, now: number): Array<Batch> | OrbError.InvalidEvent => {
      const full: Array<Batch> = []
      for (const event of Chunk.toReadonlyArray(chunk)) {
        // The position is the count of events read before this one.
        const position = counts.read++
        const checked = events.check(event, scope, now)
        if (checked instanceof Events.Problem) {
          // Refused before it is routed: counted in the totals only.
          const error = recordFailure(undefined, {
            position,
            idempotencyKey: events.keyOf(event),
            refusedBy: "local",
            reasons: [`events[${position}]${checked.field === "" ? "" : "."}${checked.field}: ${checked.reason}`]
          })
          if (error !== undefined) return error
          continue
        }
        const target = targetOf(checked)
        perTarget[target].read++
        const batch = filling[target]
        batch.positions.push(position)
        // Most events come with their keys; the others get one derived from their content, on a copy: the
        // caller's objects stay the caller's.
        batch.wires.push(Events.withSettledKey(checked))
        if (batch.wires.length === batchSize) {
          full.push(batch)
          filling[target] = { target, positions: [], wires: [] }
        }
      }
      return full
    }

    // At most `concurrency` batches in flight: the next batch waits for a free slot before the next chunk is pulled,
    // so the input is read only as fast as batches leave. The input is pulled in a plain loop, not through
    // `Stream.runForEach` and `Stream.mapChunksEffect`: a stream's stages cost some 800 of the Effect runtime's
    // operations per ingestion and about 80 per chunk, more than the rest of the ingestion's own (counted: a durable
    // run makes an ingestion per segment, docs/performance.md), and `Stream.mapEffect` with `concurrency` far more
    // CPU per element than a semaphore and a fiber set. The first failure of a batch fails the whole and interrupts
    // the others (the scope closes them). A batch frees its slot only when Orb has accepted it: were a failed batch
    // to free its slot, the feed could take every slot back and win the race before the failure reached `join`, and
    // a batch Orb never accepted would go unreported.
    yield* Effect.scoped(Effect.gen(function*() {
      const sending = yield* FiberSet.make<void, Backfills.Error | OrbError.InvalidEvent>()
      const slots = yield* Effect.makeSemaphore(concurrency)
      // A slot shared with other ingestions is given back whatever becomes of the batch: a failed one must not keep
      // the others waiting (this ingestion's own slot stays taken, as above).
      const shared = options.slots
      const sendIn = shared === undefined
        ? send
        : (batch: Batch) => shared.withPermits(1)(send(batch))
      // Once forked, a batch's fiber runs before the feed fills the next chunk: its request leaves now, not after
      // the feed has filled every free slot (and not after whatever else was scheduled meanwhile: a durable run's next
      // segment, told that this one's first requests were on their way, read its thousands of events first, and the
      // run's very first request left 12 to 55 ms after its first segment's read, now 11 to 13).
      const dispatch = (batch: Batch) =>
        Effect.zipRight(
          slots.take(1),
          Effect.zipRight(FiberSet.run(sending, Effect.zipRight(sendIn(batch), slots.release(1))), Effect.yieldNow())
        )
      const pull = yield* Stream.toPull(input)
      const feed = Effect.gen(function*() {
        while (true) {
          const chunk = yield* Effect.catchAll(pull, Option.match({ onNone: () => Effect.void, onSome: Effect.fail }))
          if (chunk === undefined) break
          // The events this chunk set aside before they were routed (no batch answers while it is filled), for the
          // metric.
          const failedBefore = counts.failed
          const full = fill(chunk, yield* Clock.currentTimeMillis)
          const refused = counts.failed - failedBefore
          if (!Array.isArray(full)) return yield* setAside(refused, full)
          if (refused > 0) yield* setAside(refused, undefined)
          for (const batch of full) yield* dispatch(batch)
        }
        for (const batch of filling) if (batch.wires.length > 0) yield* dispatch(batch)
        yield* slots.take(concurrency)
      })
      yield* Effect.raceFirst(feed, FiberSet.join(sending))
    }))

    const afters: Array<Backfill.Backfill> = []
    for (const id of ids) afters.push(yield* fetched(id))
    const final = yield* progress()
    yield* report
    const parts = perTarget.map((counts, i) => ({
      ...counts,
      duplicates: given !== undefined
        ? 0
        : Math.max(0, counts.accepted - (afters[i].eventsIngested - befores[i].eventsIngested)),
      backfill: afters[i]
    }))
    return {
      total: {
        ...final,
        sent: counts.sent,
        duplicates: parts.reduce((sum, part) => sum + part.duplicates, 0),
        failures,
        backfill: afters[0]
      },
      targets: parts
    }
  })
