/**
 * Follows a run's state from records polled every half second (a durable run's, from the engine): a line each
 * time it changes, and while it does not, a line every 10 seconds saying for how long and, from the traffic to
 * Orb, what it waits for. A segment of a durable run is 5,000 events: at a paced rate, minutes without a change.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import type * as Backend from "../Backend.js"
import * as Output from "../Output.js"
import * as Progress from "./progress.js"

/**
 * Prints the line `read` gives (none: nothing to say yet) each time it changes, and again every `everyMillis`
 * while it does not, until interrupted.
 */
export const follow = <R>(
  read: Effect.Effect<string | undefined, never, R>,
  options: {
    readonly traffic?: Backend.Traffic | undefined
    readonly pace?: { readonly eventsPerMinute: number } | undefined
    readonly everyMillis?: number | undefined
  } = {}
): Effect.Effect<never, never, Output.Output | R> =>
  Effect.gen(function*() {
    const every = options.everyMillis ?? 10_000
    let last: string | undefined
    let changedAt = 0
    let printedAt = 0
    for (;;) {
      const line = yield* read
      const now = yield* Clock.currentTimeMillis
      if (line !== undefined && line !== last) {
        yield* Output.note(line)
        changedAt = printedAt = now
        last = line
      } else if (line !== undefined && now - printedAt >= every) {
        const note = options.traffic === undefined
          ? undefined
          : Progress.waitNote(yield* options.traffic.current, now, options.pace)
        yield* Output.note(
          `${line}; no change for ${Progress.duration(now - changedAt)}${note === undefined ? "" : `: ${note.long}`}`
        )
        printedAt = now
      }
      yield* Effect.sleep("500 millis")
    }
  })
