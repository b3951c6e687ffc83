/**
 * The verification behind `Verify`: the source read once in chunks of search size, each chunk's events looked up
 * in Orb by key and compared with what was sent, then the hourly counts compared with the source's histogram.
 */
import * as Chunk from "effect/Chunk"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as Backfill from "../Backfill.js"
import * as Backfills from "../Backfills.js"
import * as Events from "../Events.js"
import * as OrbError from "../OrbError.js"
import type * as Verify from "../Verify.js"
import * as Check from "./events.js"
import * as IsoDateTime from "./isoDateTime.js"
import * as RateLimiter from "./rateLimiter.js"

const hourMillis = 3_600_000

const plural = (n: number, word: string) => `${n.toLocaleString("en-US")} ${word}${n === 1 ? "" : "s"}`

export const notReflectedMessage = (backfillId: string, status: Backfill.BackfillStatus): string =>
  `Backfill ${backfillId} is ${status}, not reflected: ${
    status === "pending"
      ? "its events do not count yet; wait until it is reflected, then verify"
      : "its events no longer count; there is nothing of it to verify (run the file again to backfill it anew)"
  }`

export const failureMessage = (report: Verify.VerifyReport): string => {
  const parts: Array<string> = []
  if (report.missing > 0) parts.push(`${plural(report.missing, "event")} missing`)
  if (report.different > 0) parts.push(`${plural(report.different, "event")} held with other content`)
  if (report.deprecated > 0) parts.push(`${plural(report.deprecated, "event")} deprecated`)
  if (report.hoursDiffering > 0) parts.push(`${plural(report.hoursDiffering, "hour")} counted otherwise than sent`)
  const first = report.differences[0]
  const example = first === undefined
    ? ""
    : ` (first: ${first.idempotencyKey} ${first.outcome}${
      first.fields.length > 0 ? ` in ${first.fields.map((f) => f.field).join(", ")}` : ""
    })`
  return `Orb does not hold what was sent to ${report.backfillIds.join(", ")}: ${parts.join(", ")}${example}. ` +
    "If usage must not stay as it is, revert the backfill, fix the cause (a deprecated or reused key needs new " +
    "keys), and run the file again; then verify again"
}

/** The classes `Verify` declares, given as an argument so that the two modules do not import each other. */
export interface Classes {
  readonly VerifyReport: typeof Verify.VerifyReport
  readonly WindowReport: typeof Verify.WindowReport
  readonly CustomerReport: typeof Verify.CustomerReport
  readonly Difference: typeof Verify.Difference
  readonly FieldDifference: typeof Verify.FieldDifference
  readonly HourDifference: typeof Verify.HourDifference
  readonly VerifyFailed: typeof Verify.VerifyFailed
  readonly NotReflected: typeof Verify.NotReflected
}

interface MutableOutcomes {
  found: number
  missing: number
  different: number
  deprecated: number
}

const outcomes = (): MutableOutcomes => ({ found: 0, missing: 0, different: 0, deprecated: 0 })

/** One source event of a chunk, with what the search answered for its key. */
interface Looked {
  readonly wire: Check.Wire
  readonly window: number
  readonly copies: ReadonlyArray<Events.Event>
}

type Item = Looked | "invalid" | "outside"

const json = (value: unknown) => value === undefined ? "undefined" : JSON.stringify(value)

/** What differs between the event sent and an event Orb holds under its key. */
const compare = (wire: Check.Wire, held: Events.Event): Array<{ field: string; sent: string; found: string }> => {
  const out: Array<{ field: string; sent: string; found: string }> = []
  if (wire.event_name !== held.eventName) {
    out.push({ field: "eventName", sent: json(wire.event_name), found: json(held.eventName) })
  }
  const millis = IsoDateTime.parse(wire.timestamp)
  if (millis !== held.timestamp.epochMillis) {
    out.push({ field: "timestamp", sent: json(wire.timestamp), found: json(DateTime.formatIso(held.timestamp)) })
  }
  if (wire.customer_id != null && wire.customer_id !== Option.getOrUndefined(held.customerId)) {
    out.push({ field: "customerId", sent: json(wire.customer_id), found: json(Option.getOrUndefined(held.customerId)) })
  }
  if (
    wire.external_customer_id != null &&
    wire.external_customer_id !== Option.getOrUndefined(held.externalCustomerId)
  ) {
    out.push({
      field: "externalCustomerId",
      sent: json(wire.external_customer_id),
      found: json(Option.getOrUndefined(held.externalCustomerId))
    })
  }
  const sent = wire.properties
  const found = held.properties
  for (const key of new Set([...Object.keys(sent), ...Object.keys(found)])) {
    if (sent[key] !== found[key]) {
      out.push({ field: `properties.${key}`, sent: json(sent[key]), found: json(found[key]) })
    }
  }
  return out
}

const backfillsOf = (input: Verify.VerifyOptions["backfills"]): ReadonlyArray<string | Backfill.Backfill> =>
  "windows" in input ? input.windows.map((w) => w.backfill) : input

/** The most customers counted one by one; past them, the rest share one line (memory stays bounded). */
const maxCustomers = 1_000
const otherCustomers = "(other customers)"

const make = <A>(
  classes: Classes,
  check: (event: A) => Check.Wire | Check.Problem
) =>
<E, R>(
  source: Stream.Stream<A, E, R>,
  options: Verify.VerifyOptions
): Effect.Effect<
  Verify.VerifyReport,
  Verify.Error | E,
  R | Backfills.Backfills | Events.Events
> =>
  Effect.gen(function*() {
    const maxDifferences = options.maxDifferences ?? 20
    if (!(Number.isInteger(maxDifferences) && maxDifferences >= 0)) {
      return yield* new OrbError.InvalidInput({
        field: "maxDifferences",
        reason: `must be a non-negative integer, got ${maxDifferences}`
      })
    }
    const perSecond = options.searchesPerSecond ?? 50
    if (perSecond !== false && !(perSecond > 0)) {
      return yield* new OrbError.InvalidInput({
        field: "searchesPerSecond",
        reason: `must be a positive number or false, got ${perSecond}`
      })
    }
    const given = backfillsOf(options.backfills)
    if (given.length === 0) {
      return yield* new OrbError.InvalidInput({ field: "backfills", reason: "give at least one backfill" })
    }
    const events = yield* Events.Events
    // Fetched again: what counts now is what matters, not what a run saw at its end.
    const windows = (yield* Effect.forEach(given, (b) => Backfills.fetch(typeof b === "string" ? b : b.id)))
      .slice()
      .sort((a, b) => a.timeframeStart.epochMillis - b.timeframeStart.epochMillis)
    for (const window of windows) {
      if (window.status !== "reflected") {
        return yield* new classes.NotReflected({ backfillId: window.id, status: window.status })
      }
    }
    yield* Effect.annotateCurrentSpan("verify.backfills", windows.map((w) => w.id).join(","))
    const limiter = perSecond === false
      ? RateLimiter.unlimited
      : yield* RateLimiter.make({ requestsPerSecond: perSecond, eventsPerMinute: Number.MAX_SAFE_INTEGER })

    const windowOf = (millis: number): number => {
      for (let i = 0; i < windows.length; i++) {
        const w = windows[i]
        if (millis >= w.timeframeStart.epochMillis && millis < w.timeframeEnd.epochMillis) return i
      }
      return -1
    }

    const classify = (event: A): Omit<Looked, "copies"> | "invalid" | "outside" => {
      const checked = check(event)
      if (checked instanceof Check.Problem) return "invalid"
      const wire = Check.withSettledKey(checked)
      const window = windowOf(IsoDateTime.parse(wire.timestamp))
      if (window === -1) return "outside"
      // Another customer than a scoped backfill's: the run refused it, so it was never sent.
      if (Check.checkWire(wire, windows[window], undefined) instanceof Check.Problem) return "outside"
      // The backfill names its customer by Orb id only: another customer's external id is told by the caller's.
      if (
        options.externalCustomerId !== undefined && typeof wire.external_customer_id === "string" &&
        wire.external_customer_id !== options.externalCustomerId
      ) return "outside"
      return { wire, window }
    }

    const lookUp = (chunk: Chunk.Chunk<A>): Effect.Effect<ReadonlyArray<Item>, Backfills.Error> => {
      const items: Array<Omit<Looked, "copies"> | "invalid" | "outside"> = Chunk.toReadonlyArray(chunk).map(classify)
      const byWindow = new Map<number, Array<string>>()
      for (const item of items) {
        if (typeof item === "string") continue
        const keys = byWindow.get(item.window) ?? []
        keys.push(item.wire.idempotency_key!)
        byWindow.set(item.window, keys)
      }
      return Effect.map(
        Effect.forEach(byWindow, ([window, eventIds]) =>
          Effect.zipRight(
            limiter.acquire(0),
            events.search({
              eventIds: Array.from(new Set(eventIds)),
              timeframeStart: windows[window].timeframeStart,
              timeframeEnd: windows[window].timeframeEnd
            })
          )),
        (answers) => {
          const copies = new Map<string, Array<Events.Event>>()
          for (const answer of answers) {
            for (const event of answer.data) {
              const list = copies.get(event.id) ?? []
              list.push(event)
              copies.set(event.id, list)
            }
          }
          return items.map((item) =>
            typeof item === "string" ? item : { ...item, copies: copies.get(item.wire.idempotency_key!) ?? [] }
          )
        }
      )
    }

    const total = outcomes()
    const counts = { read: 0, invalid: 0, outside: 0 }
    const perWindow = windows.map(outcomes)
    const perCustomer = new Map<string, MutableOutcomes>()
    const differences: Array<Verify.Difference> = []
    // Only when the volume can be compared: every window covers all customers.
    const volumeChecked = windows.every((w) => Option.isNone(w.customerId))
    const histograms = windows.map(() => new Map<number, number>())

    const tally = (item: Item) => {
      counts.read++
      if (item === "invalid") return void counts.invalid++
      if (item === "outside") return void counts.outside++
      const { copies, window, wire } = item
      const key = wire.idempotency_key!
      const millis = IsoDateTime.parse(wire.timestamp)
      if (volumeChecked) {
        const hour = Math.floor(millis / hourMillis) * hourMillis
        histograms[window].set(hour, (histograms[window].get(hour) ?? 0) + 1)
      }
      const counting = copies.filter((c) => !c.deprecated)
      let outcome: keyof MutableOutcomes
      let fields: Array<{ field: string; sent: string; found: string }> = []
      if (counting.length === 0) outcome = copies.length === 0 ? "missing" : "deprecated"
      else {
        const compared = counting.map((held) => compare(wire, held))
        outcome = compared.some((d) => d.length === 0) ? "found" : "different"
        if (outcome === "different") fields = compared[0]
      }
      const customer = wire.external_customer_id ?? wire.customer_id ?? ""
      let byCustomer = perCustomer.get(customer)
      if (byCustomer === undefined) {
        const name = perCustomer.size < maxCustomers ? customer : otherCustomers
        byCustomer = perCustomer.get(name) ?? outcomes()
        perCustomer.set(name, byCustomer)
      }
      total[outcome]++
      perWindow[window][outcome]++
      byCustomer[outcome]++
      if (outcome !== "found" && differences.length < maxDifferences) {
        differences.push(
          new classes.Difference({
            idempotencyKey: key,
            backfillId: windows[window].id,
            outcome,
            fields: fields.map((f) => new classes.FieldDifference(f))
          })
        )
      }
    }

    yield* source.pipe(
      Stream.rechunk(Events.maxSearchEventIds),
      Stream.mapChunksEffect((chunk) => Effect.map(lookUp(chunk), Chunk.unsafeFromArray)),
      Stream.runForEach((item) => Effect.sync(() => tally(item)))
    )

    let hoursChecked = 0
    let hoursDiffering = 0
    const hourDifferences: Array<Verify.HourDifference> = []
    if (volumeChecked) {
      for (const [index, window] of windows.entries()) {
        const start = window.timeframeStart.epochMillis
        const end = window.timeframeEnd.epochMillis
        // Exact only where Orb's count can only be this backfill's events: replace mode without a filter (which
        // leaves the events it does not match counting), and an hour wholly inside the timeframe.
        const replacesAll = window.replaceExistingEvents && Option.isNone(window.deprecationFilter)
        yield* Events.volume({ timeframeStart: window.timeframeStart, timeframeEnd: window.timeframeEnd, limit: 100 })
          .pipe(Stream.runForEach((volume) =>
            Effect.sync(() => {
              const hour = volume.timeframeStart.epochMillis
              const sent = histograms[index].get(hour) ?? 0
              const rule = replacesAll && hour >= start && hour + hourMillis <= end ? "exact" : "at-least"
              hoursChecked++
              if (rule === "exact" ? volume.count === sent : volume.count >= sent) return
              hoursDiffering++
              if (hourDifferences.length < maxDifferences) {
                hourDifferences.push(
                  new classes.HourDifference({
                    backfillId: window.id,
                    hour: volume.timeframeStart,
                    sent,
                    counted: volume.count,
                    rule
                  })
                )
              }
            })
          ))
      }
    }

    const report = new classes.VerifyReport({
      backfillIds: windows.map((w) => w.id),
      ...counts,
      ...total,
      windows: windows.map((w, i) =>
        new classes.WindowReport({
          backfillId: w.id,
          timeframeStart: w.timeframeStart,
          timeframeEnd: w.timeframeEnd,
          ...perWindow[i]
        })
      ),
      customers: Array.from(perCustomer, ([customer, o]) => new classes.CustomerReport({ customer, ...o })),
      differences,
      volume: volumeChecked ? "checked" : "skipped",
      hoursChecked,
      hourDifferences,
      hoursDiffering
    })
    if (!report.holds) return yield* new classes.VerifyFailed({ report })
    return report
  })

/**
 * The two entry points, spanned as `ingestStream` is: `Effect.withSpan` rather than `Effect.fn`, which would lose
 * their type parameters.
 */
export const verifyWith = (classes: Classes) => {
  const decoded = make<Backfill.IngestEvent>(
    classes,
    (event) => Check.checkEvent(event, undefined, undefined) ?? Check.encodeEvent(event, event.idempotencyKey)
  )
  const encoded = make<unknown>(classes, (event) => Check.checkWire(event, undefined, undefined))
  return {
    decoded: <E, R>(source: Stream.Stream<Backfill.IngestEvent, E, R>, options: Verify.VerifyOptions) =>
      Effect.withSpan(decoded(source, options), "Verify.verify"),
    encoded: <E, R>(source: Stream.Stream<unknown, E, R>, options: Verify.VerifyOptions) =>
      Effect.withSpan(encoded(source, options), "Verify.verifyEncoded")
  }
}
