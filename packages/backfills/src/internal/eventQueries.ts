/**
 * The events service's implementation, behind the declarations of `Events`: the checks of a search and of a volume
 * query made before anything is sent, and the operations over an `OrbClient`.
 */
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { identity } from "effect/Function"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Backfills from "../Backfills.js"
import type * as Events from "../Events.js"
import * as OrbClient from "../OrbClient.js"
import * as OrbError from "../OrbError.js"
import { followCursors, pathOf } from "./pages.js"

const invalid = (field: string, reason: string) => Either.left(new OrbError.InvalidInput({ field, reason }))

export const maxSearchEventIds = 500

/** Orb's bounds of `limit` on `GET /events/volume` (its default: 20). */
const maxVolumeLimit = 100
const defaultVolumeLimit = 20

/** An end after its start, when both are given. */
const checkTimeframe = (
  start: DateTime.Utc | undefined,
  end: DateTime.Utc | undefined
): Either.Either<void, OrbError.InvalidInput> => {
  for (const [field, value] of [["timeframeStart", start], ["timeframeEnd", end]] as const) {
    if (value !== undefined && !DateTime.isDateTime(value)) return invalid(field, "must be a DateTime")
  }
  if (start !== undefined && end !== undefined && end.epochMillis <= start.epochMillis) {
    return invalid(
      "timeframeEnd",
      `must be after timeframeStart (${DateTime.formatIso(start)}), got ${DateTime.formatIso(end)}`
    )
  }
  return Either.void
}

export const validateSearch = (input: Events.EventSearch): Either.Either<void, OrbError.InvalidInput> => {
  const ids: unknown = input?.eventIds
  if (!Array.isArray(ids)) return invalid("eventIds", "must be an array of event ids")
  if (ids.length === 0) return invalid("eventIds", "give at least one event id")
  if (ids.length > maxSearchEventIds) {
    return invalid(
      "eventIds",
      `${ids.length} ids in one search; Orb accepts at most ${maxSearchEventIds} (search in batches)`
    )
  }
  for (const [index, id] of ids.entries()) {
    if (!Predicate.isString(id) || id.length === 0) {
      return invalid(`eventIds[${index}]`, "an event id is the non-empty idempotency key it was ingested with")
    }
  }
  return checkTimeframe(input.timeframeStart, input.timeframeEnd)
}

export const validateVolume = (options: Events.VolumePageOptions): Either.Either<void, OrbError.InvalidInput> => {
  if (!DateTime.isDateTime(options?.timeframeStart)) return invalid("timeframeStart", "must be a DateTime")
  const limit = options.limit
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= maxVolumeLimit)) {
    return invalid("limit", `must be an integer from 1 to ${maxVolumeLimit}, got ${limit}`)
  }
  return checkTimeframe(options.timeframeStart, options.timeframeEnd)
}

/** The query of a volume request, but its cursor. */
const volumeParams = (options: Events.VolumeOptions): Array<[string, string]> => {
  const params: Array<[string, string]> = [["timeframe_start", DateTime.formatIso(options.timeframeStart)]]
  if (options.timeframeEnd !== undefined) params.push(["timeframe_end", DateTime.formatIso(options.timeframeEnd)])
  if (options.limit !== undefined) params.push(["limit", String(options.limit)])
  return params
}

// A stack trace captured on every call costs more CPU than the rest of the operation's own work.
const spanOptions = { captureStackTrace: false } as const

/**
 * The Schemas the operations read and write, declared by `Events` (which imports this module: they come as an
 * argument, not an import, so that the two modules do not import each other).
 */
export interface Schemas {
  readonly EventSearch: Schema.Schema<Events.EventSearch, typeof Events.EventSearch.Encoded>
  readonly EventSearchResult: Schema.Schema<Events.EventSearchResult, typeof Events.EventSearchResult.Encoded>
  readonly EventVolumePage: Schema.Schema<Events.EventVolumePage, typeof Events.EventVolumePage.Encoded>
}

export const make = (schemas: Schemas): Effect.Effect<Events.Events, never, OrbClient.OrbClient> =>
  Effect.gen(function*() {
    const client = yield* OrbClient.OrbClient
    const encodeSearch = Schema.encodeSync(schemas.EventSearch)

    const search = Effect.fn("Events.search", spanOptions)(function*(input: Events.EventSearch) {
      yield* validateSearch(input)
      yield* Effect.annotateCurrentSpan("events.ids", input.eventIds.length)
      // A search changes nothing: the key that `OrbClient` gives each POST only makes its retries replays.
      return yield* client.request(
        { method: "POST", path: "/events/search", body: encodeSearch(input) },
        schemas.EventSearchResult
      )
    })

    const volumePage = Effect.fn("Events.volumePage", spanOptions)(function*(options: Events.VolumePageOptions) {
      yield* validateVolume(options)
      const urlParams = volumeParams(options)
      if (options.cursor !== undefined) urlParams.push(["cursor", options.cursor])
      return yield* client.request({ method: "GET", path: "/events/volume", urlParams }, schemas.EventVolumePage)
    })

    const volume = (options: Events.VolumeOptions): Stream.Stream<Events.EventVolume, Backfills.Error> => {
      // Checked before the query is built from the options, which would throw on a timeframe that is no DateTime.
      const checked = validateVolume(options)
      if (Either.isLeft(checked)) return Stream.fail(checked.left)
      const params = volumeParams(options)
      const limit = options.limit ?? defaultVolumeLimit
      return followCursors({
        path: "/events/volume",
        params,
        fetch: (cursor) =>
          Effect.flatMap(volumePage({ ...options, cursor }), (page) => {
            if (Option.isSome(page.paginationMetadata)) {
              return Effect.succeed({ data: page.data, nextCursor: page.paginationMetadata.value.nextCursor })
            }
            // No cursor to follow: a page short of the limit is the whole rest; a full one leaves the rest unknown,
            // and ending there would pass off part of the timeframe as all of it.
            if (page.data.length < limit) return Effect.succeed({ data: page.data, nextCursor: null })
            return Effect.fail(
              new OrbError.DecodeError({
                status: 200,
                method: "GET",
                path: pathOf("/events/volume", params, cursor),
                reason: `a full page of ${page.data.length} hours without pagination_metadata: the rest of the ` +
                  "timeframe cannot be asked for (ask for a shorter timeframe, or a larger limit)",
                excerpt: ""
              })
            )
          })
      }).pipe(Stream.withSpan("Events.volume"))
    }

    return identity<Events.Events>({ search, volumePage, volume })
  })
