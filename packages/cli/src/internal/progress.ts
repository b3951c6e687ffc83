/**
 * How a run shows its progress: a bar that redraws itself on a terminal (events sent, rate, ETA, then the
 * wait for reflection), a plain line now and then when the output is a file or a pipe, nothing with
 * `--json` (the result is one JSON document at the end). The text is made by pure functions, tested apart.
 */
import type { Backfill, Backfills } from "@effect-orb/backfills"
import type { DurableRun } from "@effect-orb/workflow"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as Backend from "../Backend.js"
import * as Output from "../Output.js"

/**
 * @category models
 */
export type Mode = "tty" | "plain" | "json"

/**
 * `12,345`.
 *
 * @category formatting
 */
export const count = (n: number): string => Math.round(n).toLocaleString("en-US")

/**
 * `1 invalid line`, `12,345 invalid lines`.
 *
 * @category formatting
 */
export const plural = (n: number, noun: string): string => `${count(n)} ${noun}${n === 1 ? "" : "s"}`

/**
 * A duration for people: `850ms`, `12s`, `3m 05s`, `1h 02m`.
 *
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
 * @category formatting
 */
export const bar = (fraction: number, width: number): string => {
  const full = Math.max(0, Math.min(width, Math.round(Math.max(0, Math.min(1, fraction)) * width)))
  return "█".repeat(full) + "░".repeat(width - full)
}

/**
 * What the ingestion line shows.
 *
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
  /** Events a second, over a recent window (see {@link RecentRate}); default: over the whole ingestion. */
  readonly ratePerSecond?: number | undefined
  /** The remaining time, when the caller knows better than the rate (a pace caps it); default: from the rate. */
  readonly etaMillis?: number | undefined
}

const rateOf = (view: IngestView) =>
  view.ratePerSecond ?? (view.elapsedMillis > 0 ? (view.accepted * 1000) / view.elapsedMillis : 0)

const etaOf = (view: IngestView) => {
  if (view.etaMillis !== undefined) return view.etaMillis
  const rate = rateOf(view)
  if (view.total === undefined || rate <= 0) return undefined
  return (Math.max(0, view.total - view.accepted - view.failed) / rate) * 1000
}

/**
 * The ingestion as one line of a terminal `columns` wide:
 * `Sending  [████░░░░]  45%  45,000/100,000 events  12,345/s  ETA 5s`, and what it waits for when it stalls
 * (`note`).
 *
 * @category formatting
 */
export const ingestBar = (view: IngestView, columns: number, note?: string): string => {
  const fraction = view.total ? (view.accepted + view.failed) / view.total : 0
  const eta = etaOf(view)
  const tail = [
    `${String(Math.floor(fraction * 100)).padStart(3)}%`,
    `${count(view.accepted)}${view.total !== undefined ? `/${count(view.total)}` : ""} events`,
    `${count(rateOf(view))}/s`,
    eta === undefined ? "" : `ETA ${duration(eta)}`,
    view.failed > 0 ? `${count(view.failed)} skipped` : "",
    note ?? ""
  ].filter((s) => s.length > 0).join("  ")
  const head = "Sending "
  const width = Math.max(10, Math.min(40, columns - head.length - tail.length - 6))
  return `${head} [${bar(fraction, width)}]  ${tail}`.slice(0, Math.max(20, columns - 1))
}

/**
 * The ingestion as a plain line, for logs: `sent 45,000 of 100,000 events (45%), 12,345 events/s, ETA 5s`.
 *
 * @category formatting
 */
export const ingestLine = (view: IngestView, note?: string): string => {
  const eta = etaOf(view)
  const percent = view.total ? ` (${Math.floor(((view.accepted + view.failed) / view.total) * 100)}%)` : ""
  return [
    `sent ${count(view.accepted)}${view.total !== undefined ? ` of ${count(view.total)}` : ""} events${percent}`,
    `${count(rateOf(view))} events/s`,
    ...(eta === undefined ? [] : [`ETA ${duration(eta)}`]),
    ...(view.failed > 0 ? [`${count(view.failed)} skipped`] : [])
  ].join(", ") + (note === undefined ? "" : `; ${note}`)
}

/**
 * A rate over the last `windowMillis` (default 20 s) of a count that only grows: what the bar shows, so that a
 * burst at the start (or a stall) does not make the rate and the ETA lie for the rest of the run. It is measured
 * up to now, not to the last sample: while nothing moves, it falls.
 *
 * @category models
 */
export class RecentRate {
  private readonly samples: Array<readonly [at: number, value: number]> = []
  constructor(private readonly windowMillis = 20_000) {}

  /** Records the count at a time. */
  record(at: number, value: number): void {
    this.samples.push([at, value])
    // Keep the newest sample older than the window: the window starts there.
    while (this.samples.length > 2 && this.samples[1][0] <= at - this.windowMillis) this.samples.shift()
  }

  /** The count's growth per second from the window's start to `now` (0 before two samples). */
  perSecond(now: number): number {
    if (this.samples.length < 2) return 0
    const [startAt, startValue] = this.samples[0]
    const value = this.samples[this.samples.length - 1][1]
    return now > startAt ? ((value - startValue) * 1000) / (now - startAt) : 0
  }
}

/**
 * What a stalled ingestion or wait is waiting for, from what the requests to Orb are doing: `long` for a plain
 * line, `short` for the bar. `undefined` when nothing tells.
 *
 * @category formatting
 */
export const waitNote = (
  traffic: Backend.TrafficSnapshot,
  now: number,
  pace?: { readonly eventsPerMinute: number } | undefined
): { readonly long: string; readonly short: string } | undefined => {
  const trouble = traffic.lastTrouble
  if (trouble !== undefined && (traffic.lastSuccessAt === undefined || trouble.at > traffic.lastSuccessAt)) {
    const ago = duration(now - trouble.at)
    if (trouble.status === 429) {
      const left = trouble.retryAfterMillis === undefined ? undefined : trouble.at + trouble.retryAfterMillis - now
      return left !== undefined && left > 0
        ? {
          long: `rate limited by Orb (HTTP 429), holding back ${duration(left)} more`,
          short: `rate limited (429), ${duration(left)} more`
        }
        : { long: `rate limited by Orb (HTTP 429) ${ago} ago; retrying`, short: `rate limited (429) ${ago} ago` }
    }
    if (trouble.status === undefined) {
      return {
        long: `no answer from Orb (connection failed or timed out) ${ago} ago; retrying`,
        short: `no answer from Orb ${ago} ago, retrying`
      }
    }
    const what = trouble.status === 409 ? `HTTP 409 (a conflict)` : `HTTP ${trouble.status}`
    return { long: `Orb answered ${what} ${ago} ago; retrying`, short: `retrying after HTTP ${trouble.status}` }
  }
  if (traffic.inFlight > 0 && traffic.oldestSentAt !== undefined && now - traffic.oldestSentAt >= 5_000) {
    const waited = duration(now - traffic.oldestSentAt)
    return { long: `waiting for Orb's answer (${waited} so far)`, short: `waiting for Orb's answer, ${waited}` }
  }
  if (pace !== undefined && traffic.inFlight === 0) {
    return {
      long: `held back by the pace (${count(pace.eventsPerMinute)} events a minute)`,
      short: `paced: ${count(pace.eventsPerMinute)} events/min`
    }
  }
  return undefined
}

/** A durable run's failed step, in words: `HTTP 503: Orb is unavailable`. */
const retryText = (wait: Extract<DurableRun.RunWait, { readonly _tag: "Retry" }>) =>
  wait.status === undefined ? wait.reason : `HTTP ${wait.status}${wait.status === 429 ? ", rate limited" : ""}`

const retryNote = (wait: Extract<DurableRun.RunWait, { readonly _tag: "Retry" }>, now: number) =>
  wait.journal === true
    ? {
      long: `the run's journal could not be written for ${duration(now - wait.at)} (${
        retryText(wait)
      }); waiting for its database`,
      short: `waiting for the run's database (${retryText(wait)})`
    }
    : {
      long: `${wait.step} failed ${duration(now - wait.at)} ago (${retryText(wait)}); sending it again`,
      short: `retrying ${wait.step} (${retryText(wait)})`
    }

/** A durable run with nothing in flight to Orb and nothing else to tell: it is reading its file or journaling. */
const betweenSteps = {
  long: "between steps (reading the file, writing the run's journal)",
  short: "between steps"
}

/** A window's timeframe, short: `2026-07-01 to 2026-08-01`, or with times when it does not start at midnight. */
const windowSpan = (window: Backfill.Timeframe) => {
  const text = (at: DateTime.Utc) => DateTime.formatIso(at).replace(/T00:00:00\.000Z$/, "").replace(/\.000Z$/, "Z")
  return `${text(window.timeframeStart)} to ${text(window.timeframeEnd)}`
}

/**
 * The line shown while Orb reflects a closed backfill.
 *
 * @category formatting
 */
export const waitingLine = (what: string, waitedMillis: number, target = "reflected"): string =>
  `${waitingLabel(what, target)}… ${duration(waitedMillis)}`

const waitingLabel = (what: string, target: string) => `Waiting for Orb to mark ${what} ${target}`

/**
 * What a run whose create Orb refused for an overlap waits for: `Waiting for backfill bf_1 (2026-10-01 to
 * 2026-10-08, pending) to be reflected or reverted: it overlaps this run's timeframe`.
 *
 * @category formatting
 */
export const overlapLabel = (
  blocker: Backfill.Timeframe & { readonly id: string; readonly status: Backfill.BackfillStatus },
  window?: string
): string =>
  `Waiting for backfill ${blocker.id} (${windowSpan(blocker)}, ${blocker.status}) to be reflected or reverted: ` +
  `it overlaps this run's ${window === undefined ? "timeframe" : window}`

/**
 * Reports a run's progress in the given mode.
 *
 * @category models
 */
export interface Reporter {
  readonly onProgress: (progress: Backfills.RunProgress) => Effect.Effect<void>
  /**
   * The same for a durable run this process executes (`DurableRun.progress`): the same lines, bar and ETA, and the
   * waits it reports (an overlapping backfill, an earlier run, a step sent again, the reflection) named.
   */
  readonly onRun: (progress: DurableRun.RunProgress) => Effect.Effect<void>
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
 * The ingest pace as a ceiling on the rate, in events a second: Orb's quota for events, or for requests of full
 * batches, whichever is lower.
 */
const paceOf = (quota: Backfills.IngestQuota | false | undefined, batchSize: number) =>
  quota === undefined || quota === false
    ? undefined
    : {
      eventsPerMinute: quota.eventsPerMinute,
      eventsPerSecond: Math.min(quota.eventsPerMinute / 60, quota.requestsPerSecond * batchSize)
    }

type Phase =
  | { readonly _tag: "idle" }
  | { readonly _tag: "ingesting"; readonly ingest: Backfills.IngestProgress; readonly at: number }
  | {
    readonly _tag: "waiting"
    /** What it waits for: `Waiting for Orb to mark backfill bf_1 reflected`. */
    readonly label: string
    readonly since: number
  }

/** How long without progress before the bar says what it waits for. */
const stallMillis = 2_000
/** How often a plain line comes at least, when the output is not a terminal. */
const plainEveryMillis = 10_000

/**
 * A reporter for a run of `total` events (when known). On a terminal the bar redraws at most ten times a
 * second on progress, and every second besides, so that its rate falls and it says what it waits for when nothing
 * moves; plain lines come at each tenth of the way and at least every 10 seconds (while waiting for reflection
 * too), naming the wait. The rate is the recent one ({@link RecentRate}), and the ETA is never shorter than the
 * pace (`quota`, with batches of `batchSize`) allows.
 *
 * @category constructors
 */
export const reporter = (
  mode: Mode,
  initialTotal: number | undefined,
  options: {
    readonly awaitReflection?: boolean | undefined
    /** What the requests to Orb are doing (`Backend.traffic`), to name a wait. */
    readonly traffic?: Backend.Traffic | undefined
    readonly quota?: Backfills.IngestQuota | false | undefined
    readonly batchSize?: number | undefined
    /**
     * A durable run this process did not start (resumed, attached to): its journaled steps, reported again as the
     * workflow replays them, are not said again (its backfills made, its close): only what it does from here.
     */
    readonly resumed?: boolean | undefined
  } = {}
): Effect.Effect<Reporter, never, Output.Output | Scope.Scope> =>
  Effect.gen(function*() {
    const output = yield* Output.Output
    const scope = yield* Effect.scope
    // A durable run resumed says its own pace, and its total is estimated from how far into its file it is.
    let pace = paceOf(options.quota, options.batchSize ?? 500)
    let total = initialTotal
    /** A durable run's step sent again after a transient failure, while it lasts. */
    let retry: Extract<DurableRun.RunWait, { readonly _tag: "Retry" }> | undefined
    let durable = false
    // Whether a bar is on screen, waiting for its newline.
    const drawn = yield* Ref.make(false)
    const lastDraw = yield* Ref.make(0)
    const lastPrinted = yield* Ref.make(yield* Clock.currentTimeMillis)
    const lastTenth = yield* Ref.make(0)
    const phase = yield* Ref.make<Phase>({ _tag: "idle" })
    const ticker = yield* Ref.make(Option.none<Fiber.RuntimeFiber<void>>())
    const rate = new RecentRate()
    let started = false

    const draw = (text: string) => Effect.zipRight(output.stderr(`\r\x1b[2K${text}`), Ref.set(drawn, true))
    const clear = Effect.flatMap(Ref.getAndSet(drawn, false), (was) => (was ? output.stderr("\n") : Effect.void))
    const say = (text: string) =>
      mode === "json" ? Effect.void : Effect.gen(function*() {
        yield* clear
        yield* output.stderr(`${text}\n`)
        yield* Ref.set(lastPrinted, yield* Clock.currentTimeMillis)
      })

    /** `at`: when `ingest` was reported; the time since counts down the ETA (a paced batch is on its way). */
    const viewAt = (ingest: Backfills.IngestProgress, now: number, at = now): IngestView => {
      const perSecond = rate.perSecond(now)
      const remaining = total === undefined ? undefined : Math.max(0, total - ingest.accepted - ingest.failed)
      const ceiling = pace === undefined ? perSecond : Math.min(perSecond, pace.eventsPerSecond)
      return {
        accepted: ingest.accepted,
        failed: ingest.failed,
        total,
        elapsedMillis: ingest.elapsedMillis,
        ratePerSecond: perSecond,
        etaMillis: remaining === undefined || ceiling <= 0
          ? undefined
          : Math.max(remaining > 0 ? 1_000 : 0, (remaining / ceiling) * 1000 - (now - at))
      }
    }

    // What the requests to Orb say first; then a durable run's own report; then, for a durable run, that it is
    // between steps: a wait always says why.
    const noteAt = (now: number) =>
      Effect.map(
        options.traffic === undefined
          ? Effect.succeed(undefined)
          : Effect.map(options.traffic.current, (traffic) => waitNote(traffic, now, pace)),
        (note) => note ?? (retry !== undefined ? retryNote(retry, now) : durable ? betweenSteps : undefined)
      )

    const stopWaiting = Effect.flatMap(
      Ref.getAndSet(ticker, Option.none()),
      Option.match({ onNone: () => Effect.void, onSome: Fiber.interrupt })
    ).pipe(
      Effect.zipRight(Ref.update(phase, (p): Phase => (p._tag === "waiting" ? { _tag: "idle" } : p))),
      Effect.zipRight(clear),
      Effect.asVoid
    )

    const waitFor = (label: string) =>
      Effect.gen(function*() {
        if (mode === "json") return
        const since = yield* Clock.currentTimeMillis
        yield* Ref.set(phase, { _tag: "waiting", label, since })
        if (mode === "plain") return yield* say(`${label}…`)
        const tick = Effect.flatMap(Clock.currentTimeMillis, (now) => draw(`${label}… ${duration(now - since)}`))
        const fiber = yield* tick.pipe(
          Effect.repeat(Schedule.spaced(Duration.millis(200))),
          Effect.asVoid,
          Effect.forkIn(scope)
        )
        yield* Ref.set(ticker, Option.some(fiber))
      })

    const waiting = (what: string, target: Backfill.BackfillStatus) => waitFor(waitingLabel(what, target))

    // Every second: the bar again (its rate falls while nothing moves, and it says what it waits for), or a plain
    // line when none was printed for 10 seconds.
    const heartbeat = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const current = yield* Ref.get(phase)
      if (current._tag === "ingesting") {
        const stalled = now - current.at
        if (mode === "tty") {
          const note = stalled >= stallMillis ? yield* noteAt(now) : undefined
          yield* Ref.set(lastDraw, now)
          return yield* draw(ingestBar(viewAt(current.ingest, now, current.at), output.columns, note?.short))
        }
        if (now - (yield* Ref.get(lastPrinted)) < plainEveryMillis) return
        const note = stalled >= plainEveryMillis ? yield* noteAt(now) : undefined
        return yield* say(
          ingestLine(
            viewAt(current.ingest, now, current.at),
            stalled >= plainEveryMillis
              ? `no progress for ${duration(stalled)}${note === undefined ? "" : `: ${note.long}`}`
              : undefined
          )
        )
      }
      if (current._tag === "waiting" && mode === "plain" && now - (yield* Ref.get(lastPrinted)) >= plainEveryMillis) {
        yield* say(`Still w${current.label.slice(1)}… ${duration(now - current.since)}`)
      }
    })
    if (mode !== "json") {
      yield* heartbeat.pipe(Effect.repeat(Schedule.spaced(Duration.seconds(1))), Effect.asVoid, Effect.forkIn(scope))
      // A bar left on screen by a failure gets its newline, so that the error starts a line of its own.
      yield* Effect.addFinalizer(() => clear)
    }

    /** `from`: the events done when the ingestion started (a durable run resumed part way). */
    const onIngest = (ingest: Backfills.IngestProgress, from = 0) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        if (!started) {
          started = true
          rate.record(now - ingest.elapsedMillis, from)
        }
        rate.record(now, ingest.accepted + ingest.failed)
        yield* Ref.set(phase, { _tag: "ingesting", ingest, at: now })
        const view = viewAt(ingest, now)
        if (mode === "tty") {
          const last = yield* Ref.get(lastDraw)
          const finished = total !== undefined && ingest.accepted + ingest.failed >= total
          if (now - last < 100 && !finished) return
          yield* Ref.set(lastDraw, now)
          return yield* draw(ingestBar(view, output.columns))
        }
        if (mode === "plain") {
          const tenth = total ? Math.floor(((ingest.accepted + ingest.failed) / total) * 10) : 0
          if (tenth > (yield* Ref.get(lastTenth))) {
            yield* Ref.set(lastTenth, tenth)
            yield* say(ingestLine(view))
          }
        }
      })

    const onProgress = (progress: Backfills.RunProgress): Effect.Effect<void> => {
      const windows = progress.windows
      const several = windows.length > 1
      // With several windows, which one a report is about, and whether it is the last.
      const id = progress.stage === "ingesting"
        ? progress.backfillId
        : progress.stage === "waiting"
        ? undefined
        : progress.backfill.id
      const index = !several
        ? 0
        : progress.stage === "waiting"
        ? progress.window
        : Math.max(0, windows.findIndex((window) => window.backfillId === id))
      const which = several ? ` (window ${index + 1} of ${windows.length}: ${windowSpan(windows[index])})` : ""
      const last = index === windows.length - 1
      switch (progress.stage) {
        case "waiting":
          return Effect.zipRight(
            stopWaiting,
            waitFor(
              overlapLabel(
                progress.blocker,
                several ? `window ${index + 1} of ${windows.length} (${windowSpan(windows[index])})` : undefined
              )
            )
          )
        case "created":
          return Effect.zipRight(
            stopWaiting,
            say(`Created backfill ${progress.backfill.id}${which}${last ? "; sending events…" : ""}`)
          )
        case "ingesting":
          return onIngest(progress.ingest)
        case "closed":
          if (!last) return say(`Closed backfill ${progress.backfill.id}${which}.`)
          return Effect.zipRight(
            Effect.zipRight(
              Ref.set(phase, { _tag: "idle" }),
              mode === "tty"
                ? draw(ingestBar({
                  accepted: progress.ingest.accepted,
                  failed: progress.ingest.failed,
                  total,
                  elapsedMillis: progress.ingest.elapsedMillis
                }, output.columns))
                : Effect.void
            ),
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

    // A durable run: what it said last, so that each line comes once.
    const named = new Set<string>()
    let closedSaid = false
    const resumed = options.resumed === true
    let label: string | undefined
    const showWait = (next: string) =>
      next === label ? Effect.void : Effect.zipRight(stopWaiting, Effect.sync(() => (label = next))).pipe(
        Effect.zipRight(waitFor(next))
      )
    const endWait = Effect.suspend(() =>
      label === undefined ? Effect.void : Effect.zipRight(Effect.sync(() => (label = undefined)), stopWaiting)
    )

    const onRun = (run: DurableRun.RunProgress): Effect.Effect<void> =>
      Effect.gen(function*() {
        durable = true
        if (options.quota === undefined) pace = paceOf(run.quota, run.batchSize)
        const done = run.accepted + run.failed
        // From the finished segments alone (their events read, and how far they reach into the file): the events of
        // the segments in flight are counted done before the position moves past them.
        if (initialTotal === undefined && run.position > 0 && run.size > 0) {
          total = Math.max(done, Math.round((run.read * run.size) / run.position))
        }
        const count = run.windows.length
        const several = count > 1
        const which = (index: number) =>
          several ? ` (window ${index + 1} of ${count}: ${windowSpan(run.windows[index])})` : ""
        for (let index = 0; index < count; index++) {
          const id = run.windows[index].backfillId
          if (id === undefined || named.has(id)) continue
          // A resumed run's backfills were made before: each named once, as the backfill it sends to, if it still does.
          if (resumed && run.stage !== "ingesting") continue
          named.add(id)
          yield* endWait
          const last = index === count - 1
          yield* say(
            `${resumed ? "Backfill" : "Created backfill"} ${id}${which(index)}${last ? "; sending events…" : ""}`
          )
        }
        const wait = run.waiting
        retry = wait?._tag === "Retry" ? wait : undefined
        const now = yield* Clock.currentTimeMillis
        if (run.stage === "ingesting" && run.sending !== undefined && wait?._tag !== "Retry") {
          yield* endWait
          yield* onIngest({
            read: run.read,
            accepted: run.accepted,
            failed: run.failed,
            batches: 0,
            retries: 0,
            rateLimited: 0,
            elapsedMillis: now - run.sending.since
          }, run.sending.from)
        }
        const closed = run.stage === "awaiting reflection" || run.stage === "done"
        // A resumed run closed by this process: it has sent events here (`sending`) before its close.
        if (closed && !closedSaid && named.size > 0 && (!resumed || run.sending !== undefined)) {
          closedSaid = true
          yield* Ref.set(phase, { _tag: "idle" })
          if (mode === "tty" && run.sending !== undefined) {
            yield* draw(ingestBar({
              accepted: run.accepted,
              failed: run.failed,
              total,
              elapsedMillis: now - run.sending.since
            }, output.columns))
          }
          const ids = run.windows.flatMap((window) => (window.backfillId === undefined ? [] : [window.backfillId]))
          yield* say(
            `Sent ${plural(run.accepted, "event")}` +
              (run.sending === undefined ? "" : ` in ${duration(now - run.sending.since)}`) +
              `; closed ${ids.length > 1 ? `backfills ${ids.join(", ")}` : `backfill ${ids[0]}`}.`
          )
        }
        if (wait === undefined || wait._tag === "Retry") {
          // A step sent again is named on the bar while sending; otherwise it is the wait.
          if (wait !== undefined && !(run.stage === "ingesting" && run.sending !== undefined)) {
            return yield* showWait(`Waiting to send ${wait.step} again (${retryText(wait)})`)
          }
          return run.stage === "done" ? yield* endWait : undefined
        }
        switch (wait._tag) {
          case "Overlap":
            return yield* showWait(overlapLabel(
              { ...wait, id: wait.backfillId },
              several ? `window ${wait.window + 1} of ${count} (${windowSpan(run.windows[wait.window])})` : undefined
            ))
          case "EarlierRun":
            return yield* showWait(
              `Waiting for durable run ${wait.runKey}, submitted earlier over an overlapping timeframe, to create ` +
                "its backfill first"
            )
          case "Reflection":
            return yield* showWait(waitingLabel(
              wait.backfillIds.length > 1
                ? `backfills ${wait.backfillIds.join(", ")}`
                : `backfill ${wait.backfillIds[0]}`,
              "reflected"
            ))
        }
      })

    return { onProgress, onRun, waiting, stopWaiting, clear }
  })
