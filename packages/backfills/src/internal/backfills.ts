/**
 * The backfill service's implementation, behind the declarations of `Backfills`: the safety rails checked before
 * anything is sent, and the operations over an `OrbClient`.
 */
import * as Clock from "effect/Clock"
import type * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { identity } from "effect/Function"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Backfill from "../Backfill.js"
import type * as Backfills from "../Backfills.js"
import * as OrbClient from "../OrbClient.js"
import * as OrbError from "../OrbError.js"
import { maxTimeframeMillisOf, validateCreate } from "./createChecks.js"
import * as Events from "./events.js"
import { decodedEvents, encodedEvents, ingestInto, ingestStream as internalIngestStream } from "./ingestStream.js"
import { followCursors } from "./pages.js"
import * as RateLimiter from "./rateLimiter.js"
import * as RetryPolicy from "./retryPolicy.js"
import { run as internalRun } from "./run.js"

export { validateCreate }

export const makeIngestPace = (
  quota: Backfills.IngestQuota
): Effect.Effect<Backfills.IngestPace, OrbError.InvalidInput> =>
  quota.requestsPerSecond > 0 && quota.eventsPerMinute > 0
    ? Effect.map(RateLimiter.make(quota), (limiter) => ({ [RateLimiter.PaceTypeId]: limiter, quota }))
    : Effect.fail(new OrbError.InvalidInput({ field: "quota", reason: "both limits must be positive" }))

const invalid = (field: string, reason: string) => Either.left(new OrbError.InvalidInput({ field, reason }))

/**
 * A backfill id as a path segment: non-empty, not `.` or `..` (which a URL would resolve away), and
 * percent-encoded.
 */
const pathSegment = (id: string): Either.Either<string, OrbError.InvalidInput> => {
  if (typeof id !== "string" || id.length === 0) return invalid("id", "a backfill id must not be empty")
  if (id === "." || id === "..") return invalid("id", `${JSON.stringify(id)} is not a backfill id`)
  return Either.right(encodeURIComponent(id))
}

const refusal = (field: string, problem: Events.Problem) =>
  invalid(problem.field === "" ? field : `${field}.${problem.field}`, problem.reason)

export const validateEvent = (
  event: Backfill.IngestEvent,
  field: string,
  backfill?: Backfill.Backfill | undefined,
  now?: DateTime.Utc | undefined
): Either.Either<void, OrbError.InvalidInput> => {
  const problem = Events.checkEvent(event, backfill, now?.epochMillis)
  return problem === undefined ? Either.void : refusal(field, problem)
}

export const validateEncodedEvent = (
  event: unknown,
  field: string,
  backfill?: Backfill.Backfill | undefined,
  now?: DateTime.Utc | undefined
): Either.Either<typeof Backfill.IngestEvent.Encoded, OrbError.InvalidInput> => {
  const checked = Events.checkWire(event, backfill, now?.epochMillis)
  return checked instanceof Events.Problem ? refusal(field, checked) : Either.right(checked)
}

const encodeCreate = Schema.encodeSync(Backfill.CreateBackfill)

// A stack trace captured on every call costs more CPU than the rest of the operation's own work.
const spanOptions = { captureStackTrace: false } as const

export const makeWith = (
  account: Backfills.AccountOptions
): Effect.Effect<Backfills.Backfills, never, OrbClient.OrbClient> =>
  Effect.gen(function*() {
    const client = yield* OrbClient.OrbClient
    const maxTimeframe = Duration.millis(maxTimeframeMillisOf(account))

    const create = Effect.fn("Backfills.create", spanOptions)(
      function*(input: Backfill.CreateBackfill, options?: Backfills.WriteOptions) {
        yield* validateCreate(input, account)
        yield* OrbClient.checkIdempotencyKey(options?.idempotencyKey)
        const backfill = yield* client.request({
          method: "POST",
          path: "/events/backfills",
          body: encodeCreate(input),
          idempotencyKey: options?.idempotencyKey
        }, Backfill.Backfill)
        yield* Effect.annotateCurrentSpan("backfill.id", backfill.id)
        return backfill
      }
    )

    const fetch = Effect.fn("Backfills.fetch", spanOptions)(function*(id: string) {
      yield* Effect.annotateCurrentSpan("backfill.id", id)
      const segment = yield* pathSegment(id)
      return yield* client.request({ method: "GET", path: `/events/backfills/${segment}` }, Backfill.Backfill)
    })

    const transition = (action: "close" | "revert") =>
      Effect.fn(`Backfills.${action}`, spanOptions)(function*(id: string, options?: Backfills.WriteOptions) {
        yield* Effect.annotateCurrentSpan("backfill.id", id)
        const segment = yield* pathSegment(id)
        yield* OrbClient.checkIdempotencyKey(options?.idempotencyKey)
        return yield* client.request({
          method: "POST",
          path: `/events/backfills/${segment}/${action}`,
          idempotencyKey: options?.idempotencyKey
        }, Backfill.Backfill)
      })

    const close = transition("close")
    const revert = transition("revert")

    const listPage = Effect.fn("Backfills.listPage", spanOptions)(function*(options?: Backfills.ListPageOptions) {
      const limit = options?.limit
      if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= 100)) {
        return yield* invalid("limit", `must be an integer from 1 to 100, got ${limit}`)
      }
      const urlParams: Array<[string, string]> = []
      if (limit !== undefined) urlParams.push(["limit", String(limit)])
      if (options?.cursor !== undefined) urlParams.push(["cursor", options.cursor])
      return yield* client.request({ method: "GET", path: "/events/backfills", urlParams }, Backfill.BackfillPage)
    })

    const list = (options?: Backfills.ListOptions): Stream.Stream<Backfill.Backfill, Backfills.Error> =>
      followCursors({
        path: "/events/backfills",
        params: options?.limit === undefined ? [] : [["limit", String(options.limit)]],
        fetch: (cursor) =>
          Effect.map(listPage({ limit: options?.limit, cursor }), (page) => ({
            data: page.data,
            nextCursor: page.paginationMetadata.nextCursor
          }))
      }).pipe(Stream.withSpan("Backfills.list"))

    const ingest = Effect.fn("Backfills.ingest", spanOptions)(
      function*(id: string, events: Iterable<Backfill.IngestEvent>, options?: Backfills.WriteOptions) {
        yield* Effect.annotateCurrentSpan("backfill.id", id)
        yield* pathSegment(id)
        yield* OrbClient.checkIdempotencyKey(options?.idempotencyKey)
        const batch = Array.from(events)
        if (batch.length === 0) return yield* invalid("events", "give at least one event")
        if (batch.length > Backfill.maxEventsPerRequest) {
          return yield* invalid(
            "events",
            `${batch.length} events in one request; Orb accepts at most ${Backfill.maxEventsPerRequest}`
          )
        }
        yield* Effect.annotateCurrentSpan("events", batch.length)
        const now = yield* Clock.currentTimeMillis
        const wire: Array<Events.Wire> = []
        for (const [index, event] of batch.entries()) {
          const problem = Events.checkEvent(event, undefined, now)
          if (problem !== undefined) return yield* refusal(`events[${index}]`, problem)
          wire.push(Events.withSettledKey(Events.encodeEvent(event, event.idempotencyKey)))
        }
        return yield* client.request({
          method: "POST",
          path: "/ingest",
          urlParams: [["backfill_id", id]],
          body: { events: wire },
          idempotencyKey: options?.idempotencyKey
        }, Backfill.IngestResult)
      }
    )

    const awaitStatus = Effect.fn("Backfills.awaitStatus", spanOptions)(
      function*(id: string, target: Backfill.BackfillStatus, options?: Backfills.AwaitStatusOptions) {
        yield* Effect.annotateCurrentSpan("backfill.id", id)
        yield* Effect.annotateCurrentSpan("backfill.target", target)
        yield* pathSegment(id)
        const timeout = Duration.decode(options?.timeout ?? Duration.hours(1))
        const schedule: Schedule.Schedule<unknown> = options?.schedule ?? defaultAwaitSchedule
        const started = yield* Clock.currentTimeMillis
        const lastStatus = yield* Ref.make(Option.none<Backfill.BackfillStatus>())
        const poll = fetch(id).pipe(
          Effect.tap((backfill) => Ref.set(lastStatus, Option.some(backfill.status))),
          Effect.flatMap((backfill) => {
            if (backfill.status === target) return Effect.succeed(Option.some(backfill))
            if (!Backfill.canReach(backfill.status, target)) {
              return Effect.fail(new OrbError.StatusUnreachable({ backfillId: id, target, status: backfill.status }))
            }
            return Effect.succeed(Option.none<Backfill.Backfill>())
          }),
          // A wait can last an hour: an outage that outlasts the transport's retries is no reason to give up.
          Effect.catchIf(OrbError.isTransient, (error) =>
            Effect.as(
              Effect.logDebug(`Still waiting for backfill ${id} to be ${target}: ${error.message}`),
              Option.none<Backfill.Backfill>()
            ))
        )
        const timedOut = Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const last = yield* Ref.get(lastStatus)
          return yield* new OrbError.AwaitTimeout({
            backfillId: id,
            target,
            waitedMillis: now - started,
            ...(Option.isSome(last) ? { lastStatus: last.value } : {})
          })
        })
        const found = yield* poll.pipe(
          Effect.repeat({
            schedule: Schedule.passthrough(schedule as Schedule.Schedule<unknown, Option.Option<Backfill.Backfill>>),
            until: Option.isSome
          }),
          Effect.timeoutFail({ duration: timeout, onTimeout: () => "timeout" as const }),
          Effect.catchIf((error) => error === "timeout", () => timedOut)
        )
        // The schedule ended before the status came: that is a timeout too.
        return Option.isSome(found) ? found.value : yield* timedOut
      }
    )

    const ingestStream = Effect.fn("Backfills.ingestStream", spanOptions)(
      function*<E, R>(
        id: string,
        events: Stream.Stream<Backfill.IngestEvent, E, R>,
        options?: Backfills.IngestStreamOptions
      ) {
        yield* Effect.annotateCurrentSpan("backfill.id", id)
        return yield* internalIngestStream({ client, fetch }, id, events, decodedEvents, options ?? {})
      }
    )

    const ingestEncodedStream = Effect.fn("Backfills.ingestEncodedStream", spanOptions)(
      function*<E, R>(
        id: string,
        events: Stream.Stream<typeof Backfill.IngestEvent.Encoded, E, R>,
        options?: Backfills.IngestStreamOptions
      ) {
        yield* Effect.annotateCurrentSpan("backfill.id", id)
        return yield* internalIngestStream({ client, fetch }, id, events, encodedEvents, options ?? {})
      }
    )

    const run = Effect.fn("Backfills.run", spanOptions)(function*<E, R>(spec: Backfills.RunSpec<E, R>) {
      return yield* internalRun({
        create,
        fetch,
        list,
        ingestInto: (ids, options, onTargets) =>
          (spec.encodedEvents !== undefined
            ? ingestInto(
              { client, fetch },
              { ids },
              spec.encodedEvents,
              encodedEvents,
              options,
              onTargets
            )
            : ingestInto({ client, fetch }, { ids }, spec.events!, decodedEvents, options, onTargets))
            .pipe(
              Effect.withSpan("Backfills.ingestStream", { attributes: { "backfill.ids": ids.join(",") } })
            ),
        close,
        revert,
        awaitStatus,
        maxTimeframeMillis: Duration.toMillis(maxTimeframe)
      }, spec)
    })

    return identity<Backfills.Backfills>({
      maxTimeframe,
      create,
      ingestStream,
      ingestEncodedStream,
      run,
      fetch,
      close,
      revert,
      listPage,
      list,
      ingest,
      awaitStatus
    })
  })

export const defaultAwaitSchedule: Schedule.Schedule<unknown> = RetryPolicy.awaitPoll
