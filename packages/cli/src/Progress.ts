/**
 * How a run shows its progress: a bar that redraws itself on a terminal (events sent, rate, ETA, then the
 * wait for reflection), a plain line now and then when the output is a file or a pipe, nothing with
 * `--json` (the result is one JSON document at the end). The text is made by pure functions, tested apart.
 *
 * @since 0.1.0
 */
import type { Backfill, Backfills } from "@effect-orb/backfills"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Output from "./Output.js"

/**
 * @since 0.1.0
 * @category models
 */
export type Mode = "tty" | "plain" | "json"

/**
 * `12,345`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const count = (n: number): string => Math.round(n).toLocaleString("en-US")

/**
 * `1 invalid line`, `12,345 invalid lines`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const plural = (n: number, noun: string): string => `${count(n)} ${noun}${n === 1 ? "" : "s"}`

/**
 * A duration for people: `850ms`, `12s`, `3m 05s`, `1h 02m`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const duration = (millis: number): string => {
  if (!Number.isFinite(millis) || millis < 0) return "?"
  if (millis < 1000) return `${Math.round(millis)}ms`
  const seconds = Math.round(millis / 1000)
  if (seconds < 60) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, "0")}s`
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, "0")}m`
}

/**
 * A bar of `width` cells, `fraction` of them full.
 *
 * @since 0.1.0
 * @category formatting
 */
export const bar = (fraction: number, width: number): string => {
  const full = Math.max(0, Math.min(width, Math.round(Math.max(0, Math.min(1, fraction)) * width)))
  return "█".repeat(full) + "░".repeat(width - full)
}

/**
 * What the ingestion line shows.
 *
 * @since 0.1.0
 * @category models
 */
export interface IngestView {
  /** Events Orb accepted so far. */
  readonly accepted: number
  /** Events set aside as invalid. */
  readonly failed: number
  /** Events in the input, when known (from the validation pass). */
  readonly total: number | undefined
  readonly elapsedMillis: number
}

const rateOf = (view: IngestView) => view.elapsedMillis > 0 ? (view.accepted * 1000) / view.elapsedMillis : 0

const etaOf = (view: IngestView) => {
  const rate = rateOf(view)
  if (view.total === undefined || rate <= 0) return undefined
  return (Math.max(0, view.total - view.accepted - view.failed) / rate) * 1000
}

/**
 * The ingestion as one line of a terminal `columns` wide:
 * `Sending  [████░░░░]  45%  45,000/100,000 events  12,345/s  ETA 5s`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const ingestBar = (view: IngestView, columns: number): string => {
  const fraction = view.total ? (view.accepted + view.failed) / view.total : 0
  const eta = etaOf(view)
  const tail = [
    `${String(Math.floor(fraction * 100)).padStart(3)}%`,
    `${count(view.accepted)}${view.total !== undefined ? `/${count(view.total)}` : ""} events`,
    `${count(rateOf(view))}/s`,
    eta === undefined ? "" : `ETA ${duration(eta)}`,
    view.failed > 0 ? `${count(view.failed)} skipped` : ""
  ].filter((s) => s.length > 0).join("  ")
  const head = "Sending "
  const width = Math.max(10, Math.min(40, columns - head.length - tail.length - 6))
  return `${head} [${bar(fraction, width)}]  ${tail}`.slice(0, Math.max(20, columns - 1))
}

/**
 * The ingestion as a plain line, for logs: `sent 45,000 of 100,000 events (45%), 12,345 events/s, ETA 5s`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const ingestLine = (view: IngestView): string => {
  const eta = etaOf(view)
  const percent = view.total ? ` (${Math.floor(((view.accepted + view.failed) / view.total) * 100)}%)` : ""
  return [
    `sent ${count(view.accepted)}${view.total !== undefined ? ` of ${count(view.total)}` : ""} events${percent}`,
    `${count(rateOf(view))} events/s`,
    ...(eta === undefined ? [] : [`ETA ${duration(eta)}`]),
    ...(view.failed > 0 ? [`${count(view.failed)} skipped`] : [])
  ].join(", ")
}

/** A window's timeframe, short: `2026-07-01 to 2026-08-01`, or with times when it does not start at midnight. */
const windowSpan = (window: Backfill.Timeframe) => {
  const text = (at: DateTime.Utc) => DateTime.formatIso(at).replace(/T00:00:00\.000Z$/, "").replace(/\.000Z$/, "Z")
  return `${text(window.timeframeStart)} to ${text(window.timeframeEnd)}`
}

/**
 * The line shown while Orb reflects a closed backfill.
 *
 * @since 0.1.0
 * @category formatting
 */
export const waitingLine = (what: string, waitedMillis: number, target = "reflected"): string =>
  `Waiting for Orb to mark ${what} ${target}… ${duration(waitedMillis)}`

/**
 * Reports a run's progress in the given mode.
 *
 * @since 0.1.0
 * @category models
 */
export interface Reporter {
  readonly onProgress: (progress: Backfills.RunProgress) => Effect.Effect<void>
  /**
   * Starts a ticking "waiting" line (on a terminal) until {@link Reporter.stopWaiting}, for `what` (`backfill bf_1`,
   * `backfills bf_1, bf_2`).
   */
  readonly waiting: (what: string, target: Backfill.BackfillStatus) => Effect.Effect<void>
  readonly stopWaiting: Effect.Effect<void>
  /** Ends a bar in progress, so that what follows starts on a line of its own. */
  readonly clear: Effect.Effect<void>
}

/**
 * A reporter for a run of `total` events (when known). On a terminal the bar redraws at most ten times a
 * second; plain lines come at each tenth of the way and at least every 10 seconds.
 *
 * @since 0.1.0
 * @category constructors
 */
export const reporter = (
  mode: Mode,
  total: number | undefined,
  options: { readonly awaitReflection?: boolean } = {}
): Effect.Effect<Reporter, never, Output.Output | Scope.Scope> =>
  Effect.gen(function*() {
    const output = yield* Output.Output
    const scope = yield* Effect.scope
    // Whether a bar is on screen, waiting for its newline.
    const drawn = yield* Ref.make(false)
    const lastDraw = yield* Ref.make(0)
    const lastTenth = yield* Ref.make(0)
    const ticker = yield* Ref.make(Option.none<Fiber.RuntimeFiber<void>>())

    const draw = (text: string) => Effect.zipRight(output.stderr(`\r\x1b[2K${text}`), Ref.set(drawn, true))
    const clear = Effect.flatMap(Ref.getAndSet(drawn, false), (was) => (was ? output.stderr("\n") : Effect.void))
    const say = (text: string) => (mode === "json" ? Effect.void : Effect.zipRight(clear, output.stderr(`${text}\n`)))

    const stopWaiting = Effect.flatMap(
      Ref.getAndSet(ticker, Option.none()),
      Option.match({ onNone: () => Effect.void, onSome: Fiber.interrupt })
    ).pipe(Effect.zipRight(clear), Effect.asVoid)

    const waiting = (what: string, target: Backfill.BackfillStatus) =>
      Effect.gen(function*() {
        if (mode === "json") return
        if (mode === "plain") return yield* say(`Waiting for Orb to mark ${what} ${target}…`)
        const started = yield* Clock.currentTimeMillis
        const tick = Effect.flatMap(Clock.currentTimeMillis, (now) => draw(waitingLine(what, now - started, target)))
        const fiber = yield* tick.pipe(
          Effect.repeat(Schedule.spaced(Duration.millis(200))),
          Effect.asVoid,
          Effect.forkIn(scope)
        )
        yield* Ref.set(ticker, Option.some(fiber))
      })

    const onIngest = (ingest: Backfills.IngestProgress) =>
      Effect.gen(function*() {
        const view: IngestView = {
          accepted: ingest.accepted,
          failed: ingest.failed,
          total,
          elapsedMillis: ingest.elapsedMillis
        }
        if (mode === "tty") {
          const now = yield* Clock.currentTimeMillis
          const last = yield* Ref.get(lastDraw)
          const finished = total !== undefined && ingest.accepted + ingest.failed >= total
          if (now - last < 100 && !finished) {
            return
          }
          yield* Ref.set(lastDraw, now)
          return yield* draw(ingestBar(view, output.columns))
        }
        if (mode === "plain") {
          const tenth = total ? Math.floor(((ingest.accepted + ingest.failed) / total) * 10) : 0
          const now = yield* Clock.currentTimeMillis
          const last = yield* Ref.get(lastDraw)
          if (last === 0) {
            yield* Ref.set(lastDraw, now)
          }
          if (tenth > (yield* Ref.get(lastTenth)) || (last !== 0 && now - last >= 10_000)) {
            yield* Ref.set(lastTenth, tenth)
            yield* Ref.set(lastDraw, now)
            yield* say(ingestLine(view))
          }
        }
      })

    const onProgress = (progress: Backfills.RunProgress): Effect.Effect<void> => {
      const windows = progress.windows
      const several = windows.length > 1
      // With several windows, which one a report is about, and whether it is the last.
      const id = progress.stage === "ingesting" ? progress.backfillId : progress.backfill.id
      const index = several ? Math.max(0, windows.findIndex((window) => window.backfillId === id)) : 0
      const which = several ? ` (window ${index + 1} of ${windows.length}: ${windowSpan(windows[index])})` : ""
      const last = index === windows.length - 1
      switch (progress.stage) {
        case "created":
          return say(`Created backfill ${progress.backfill.id}${which}${last ? "; sending events…" : ""}`)
        case "ingesting":
          return onIngest(progress.ingest)
        case "closed":
          if (!last) return say(`Closed backfill ${progress.backfill.id}${which}.`)
          return Effect.zipRight(
            mode === "tty"
              ? draw(ingestBar({
                accepted: progress.ingest.accepted,
                failed: progress.ingest.failed,
                total,
                elapsedMillis: progress.ingest.elapsedMillis
              }, output.columns))
              : Effect.void,
            say(
              `Sent ${plural(progress.ingest.accepted, "event")} in ${duration(progress.ingest.elapsedMillis)}; ` +
                `closed backfill ${progress.backfill.id}${which}.`
            )
          ).pipe(
            Effect.zipRight(
              options.awaitReflection
                ? waiting(
                  several
                    ? `backfills ${windows.map((w) => w.backfillId).join(", ")}`
                    : `backfill ${progress.backfill.id}`,
                  "reflected"
                )
                : Effect.void
            )
          )
        case "done":
          // With several windows, the wait ends once every one is reflected.
          return windows.every((window) => window.status === "reflected") ? stopWaiting : Effect.void
      }
    }

    return { onProgress, waiting, stopWaiting, clear }
  })
