/**
 * Every page of one of Orb's cursor-paginated lists, as one lazy stream: one rule for when a listing ends and for
 * refusing a cursor that would make it go on forever, shared by every listing of the library.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as OrbError from "../OrbError.js"
import { excerptOf, truncate } from "./excerpt.js"

// Orb's cursors are a few dozen characters; past this one would make a URL that servers refuse (commonly 8 kB),
// and every error that names the request would quote it.
const maxCursorLength = 2_048

/**
 * A request of a listing as an error names it: its path and query, the cursor cut short (it may be the server's,
 * and of any length).
 */
export const pathOf = (
  path: string,
  params: ReadonlyArray<readonly [string, string]>,
  cursor: string | undefined
): string =>
  `${path}?${new URLSearchParams([
    ...params.map(([key, value]) => [key, value]),
    ...(cursor === undefined ? [] : [["cursor", truncate(cursor, 200)]])
  ])}`

/** One page as a listing needs it: its items, and the cursor of the next page (`null` or `""`: none). */
export interface Page<A> {
  readonly data: ReadonlyArray<A>
  readonly nextCursor: string | null
}

/**
 * The items of every page, fetched as the stream is pulled, from the first (no cursor) on. As Orb's own SDK: an
 * empty page, or no cursor, is the end. A cursor too long to send, or one already followed (at once or after
 * others), is a `DecodeError` naming the request (`path` with `params`) that returned it.
 */
export const followCursors = <A, E>(options: {
  readonly path: string
  readonly params: ReadonlyArray<readonly [string, string]>
  readonly fetch: (cursor: string | undefined) => Effect.Effect<Page<A>, E>
}): Stream.Stream<A, E | OrbError.DecodeError> =>
  Stream.suspend(() => {
    // Every cursor followed so far (one per page, a few dozen characters each).
    const followed = new Set<string>()
    return Stream.paginateChunkEffect(
      undefined as string | undefined,
      (cursor) =>
        options.fetch(cursor).pipe(
          Effect.flatMap((page) => {
            const next = page.nextCursor
            const data = Chunk.unsafeFromArray(page.data as Array<A>)
            if (page.data.length === 0 || next === null || next === "") {
              return Effect.succeed([data, Option.none<string>()] as const)
            }
            if (cursor !== undefined) followed.add(cursor)
            const refuse = (reason: string) =>
              Effect.fail(
                new OrbError.DecodeError({
                  status: 200,
                  method: "GET",
                  path: pathOf(options.path, options.params, cursor),
                  reason,
                  excerpt: ""
                })
              )
            if (next.length > maxCursorLength) {
              return refuse(
                `next_cursor of ${next.length} characters (${excerptOf(next, 40)}) is no cursor: it would make a ` +
                  "URL longer than servers accept"
              )
            }
            if (followed.has(next)) {
              return refuse(
                `next_cursor ${excerptOf(next)} was already followed: the listing would never end (after ${
                  followed.size + 1
                } pages)`
              )
            }
            return Effect.succeed([data, Option.some(next)] as const)
          })
        )
    )
  })
