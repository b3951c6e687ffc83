/**
 * Backfills as text: a table for `list`, a block of fields for `show`, and Orb's own JSON (snake_case, as the
 * API returns it) for `--json`.
 */
import { Backfill } from "@effect-orb/backfills"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { count, plural } from "./progress.js"

const encodeBackfill = Schema.encodeSync(Backfill.Backfill)

/**
 * A backfill as Orb's API returns it (snake_case keys, ISO 8601 date-times, `null` for no value).
 *
 * @category json
 */
export const backfillJson = (backfill: Backfill.Backfill): unknown => encodeBackfill(backfill)

/**
 * A date-time to the second, in UTC: `2026-10-01 00:00:00Z`.
 *
 * @category formatting
 */
export const time = (at: DateTime.Utc): string => DateTime.formatIso(at).replace("T", " ").replace(/\.\d+Z$/, "Z")

const mode = (backfill: Backfill.Backfill) => (backfill.replaceExistingEvents ? "replace" : "add")

const closeTimeOf = (backfill: Backfill.Backfill) =>
  Option.match(backfill.closeTime, {
    onNone: () => "-",
    onSome: time
  })

const customerOf = (backfill: Backfill.Backfill) => Option.getOrElse(backfill.customerId, () => "all")

/**
 * An open backfill whose close time is nearer than this is flagged: Orb closes it by itself then, with the events
 * it has.
 *
 * @category constants
 */
export const closesSoonMillis = 60 * 60 * 1000

/**
 * A time ahead, for people: `in 45s`, `in 30m`, `in 5h 02m`, `in 3 days`.
 *
 * @category formatting
 */
export const inTime = (millis: number): string => {
  if (millis < 60_000) return `in ${Math.max(0, Math.round(millis / 1000))}s`
  const minutes = Math.round(millis / 60_000)
  if (minutes < 60) return `in ${minutes}m`
  if (minutes < 48 * 60) return `in ${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, "0")}m`
  return `in ${Math.round(minutes / (24 * 60))} days`
}

/**
 * Where a backfill is, in words that tell apart what Orb calls `pending` twice: `open` (accepting events, until
 * its close time) and `reflecting` (closed, by a close or its close time, and not reflected yet); `reverting` is
 * Orb's `pending_revert`.
 *
 * @category formatting
 */
export const stateOf = (backfill: Backfill.Backfill, nowMillis: number): string =>
  backfill.status === "pending"
    ? (Backfill.isOpen(backfill, nowMillis) ? "open" : "reflecting")
    : backfill.status === "pending_revert"
    ? "reverting"
    : backfill.status

/** When an open backfill closes by itself, if it has a close time: `in 30m (soon)`. */
const closesOf = (backfill: Backfill.Backfill, nowMillis: number) => {
  if (!Backfill.isOpen(backfill, nowMillis) || Option.isNone(backfill.closeTime)) return undefined
  const left = backfill.closeTime.value.epochMillis - nowMillis
  return `${inTime(left)}${left <= closesSoonMillis ? " (soon)" : ""}`
}

/**
 * Backfills as an aligned table, one per row, newest first as given, with where each is at `nowMillis` (see
 * {@link stateOf}) and when an open one closes by itself (flagged `(soon)` within the hour).
 *
 * @category formatting
 */
export const backfillTable = (backfills: ReadonlyArray<Backfill.Backfill>, nowMillis: number): string => {
  const header = [
    "ID",
    "STATUS",
    "MODE",
    "EVENTS",
    "CUSTOMER",
    "TIMEFRAME START",
    "TIMEFRAME END",
    "CREATED",
    "CLOSES"
  ]
  const rows = backfills.map((b) => [
    b.id,
    stateOf(b, nowMillis),
    mode(b),
    count(b.eventsIngested),
    customerOf(b),
    time(b.timeframeStart),
    time(b.timeframeEnd),
    time(b.createdAt),
    closesOf(b, nowMillis) ?? "-"
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  // Numbers read best right-aligned; everything else left-aligned.
  const cell = (text: string, i: number) => (i === 3 ? text.padStart(widths[i]) : text.padEnd(widths[i]))
  return [header, ...rows].map((r) => r.map(cell).join("  ").trimEnd()).join("\n")
}

/**
 * What to do about the open backfills that close by themselves within the hour ({@link closesSoonMillis}), one
 * line each: `bf_1 closes by itself in 20m, with the events it has: ...`.
 *
 * @category formatting
 */
export const closingSoon = (backfills: ReadonlyArray<Backfill.Backfill>, nowMillis: number): Array<string> =>
  backfills.flatMap((b) => {
    if (!Backfill.isOpen(b, nowMillis) || Option.isNone(b.closeTime)) return []
    const left = b.closeTime.value.epochMillis - nowMillis
    return left <= closesSoonMillis
      ? [
        `${b.id} closes by itself ${inTime(left)}, with the events it has: if its run is not going on, close it ` +
        `(orb-backfill close ${b.id}) or revert it (orb-backfill revert ${b.id}).`
      ]
      : []
  })

/** Orb's status, and what it means now: `pending: open, closes by itself in 30m (at ...)`. */
const statusDetail = (backfill: Backfill.Backfill, nowMillis: number) => {
  if (backfill.status !== "pending") return backfill.status
  if (!Backfill.isOpen(backfill, nowMillis)) return "pending: closed, Orb is reflecting it"
  return Option.match(backfill.closeTime, {
    onNone: () => "pending: open",
    onSome: (at) =>
      `pending: open, closes by itself ${inTime(at.epochMillis - nowMillis)} (at ${time(at)})` +
      (at.epochMillis - nowMillis <= closesSoonMillis ? ", soon" : "")
  })
}

/**
 * One backfill as labelled fields, one per line, its status as it stands at `nowMillis`.
 *
 * @category formatting
 */
export const backfillDetails = (backfill: Backfill.Backfill, nowMillis: number): string => {
  const fields: Array<[string, string]> = [
    ["id", backfill.id],
    ["status", statusDetail(backfill, nowMillis)],
    [
      "mode",
      backfill.replaceExistingEvents ? "replace (existing events in the timeframe are deprecated)" : "add"
    ],
    ["timeframe", `${time(backfill.timeframeStart)} to ${time(backfill.timeframeEnd)} (end excluded)`],
    ["customer", Option.getOrElse(backfill.customerId, () => "all customers")],
    ["events ingested", count(backfill.eventsIngested)],
    ["created", time(backfill.createdAt)],
    ["close time", closeTimeOf(backfill)],
    ["reverted at", Option.match(backfill.revertedAt, { onNone: () => "-", onSome: time })],
    ["deprecation filter", Option.getOrElse(backfill.deprecationFilter, () => "-")]
  ]
  const width = Math.max(...fields.map(([label]) => label.length))
  return fields.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join("\n")
}

/**
 * A one-line summary: `Backfill bf_1 is reflected: 50,000 events, add mode, 2026-10-01 00:00:00Z to ...`.
 *
 * @category formatting
 */
export const backfillSummary = (backfill: Backfill.Backfill): string =>
  `Backfill ${backfill.id} is ${backfill.status}: ${plural(backfill.eventsIngested, "event")}, ${
    mode(backfill)
  } mode, ` +
  `${customerOf(backfill) === "all" ? "all customers" : `customer ${customerOf(backfill)}`}, ` +
  `${time(backfill.timeframeStart)} to ${time(backfill.timeframeEnd)}`

/**
 * What a run's create request asks for, in words, as the command understood its flags: `2026-10-01 00:00:00Z to
 * 2026-10-08 00:00:00Z (end excluded), replace mode, customer acme (external id)`.
 *
 * @category formatting
 */
export const createSummary = (create: Backfill.CreateBackfill): string =>
  `${time(create.timeframeStart)} to ${time(create.timeframeEnd)} (end excluded), ` +
  `${create.replaceExistingEvents ? "replace" : "add"} mode, ` +
  (create.customerId !== undefined
    ? `customer ${create.customerId}`
    : create.externalCustomerId !== undefined
    ? `customer ${create.externalCustomerId} (external id)`
    : "all customers") +
  (create.deprecationFilter !== undefined ? `, deprecating only events matching ${create.deprecationFilter}` : "")

/**
 * A run's create request in snake_case, as Orb's API names its fields.
 *
 * @category json
 */
export const createJson = (create: Backfill.CreateBackfill): unknown => ({
  timeframe_start: DateTime.formatIso(create.timeframeStart),
  timeframe_end: DateTime.formatIso(create.timeframeEnd),
  replace_existing_events: create.replaceExistingEvents,
  customer_id: create.customerId ?? null,
  external_customer_id: create.externalCustomerId ?? null,
  deprecation_filter: create.deprecationFilter ?? null,
  close_time: create.closeTime === undefined ? null : DateTime.formatIso(create.closeTime)
})

/**
 * A span of whole days in words (`31 days`), or hours when shorter than a day.
 *
 * @category formatting
 */
export const days = (span: Duration.Duration): string => {
  const millis = Duration.toMillis(span)
  const whole = millis / 86_400_000
  return Number.isInteger(whole)
    ? `${whole} day${whole === 1 ? "" : "s"}`
    : `${(millis / 3_600_000).toFixed(1).replace(/\.0$/, "")} hours`
}

/**
 * The windows of a run as an aligned table: timeframe, backfill (once created), status, events.
 *
 * @category formatting
 */
export const windowsTable = (
  windows: ReadonlyArray<
    Backfill.Timeframe & {
      readonly backfillId?: string | undefined
      readonly status?: string | undefined
      readonly accepted: number
    }
  >
): string => {
  const withBackfills = windows.some((window) => window.backfillId !== undefined)
  const header = ["WINDOW", "START", "END", ...(withBackfills ? ["BACKFILL", "STATUS"] : []), "EVENTS"]
  const rows = windows.map((window, i) => [
    `${i + 1}/${windows.length}`,
    time(window.timeframeStart),
    time(window.timeframeEnd),
    ...(withBackfills ? [window.backfillId ?? "-", window.status ?? "-"] : []),
    count(window.accepted)
  ])
  const last = header.length - 1
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const cell = (text: string, i: number) => (i === last ? text.padStart(widths[i]) : text.padEnd(widths[i]))
  return [header, ...rows].map((r) => "  " + r.map(cell).join("  ").trimEnd()).join("\n")
}

/**
 * A finished run's first line, the same for a run in this process and a durable one: with several windows, each
 * window's backfill and its status; else the one backfill.
 */
export const runSummary = (
  backfill: Backfill.Backfill,
  status: string,
  windows: Parameters<typeof windowsTable>[0]
): string =>
  windows.length > 1
    ? `${windows.length} backfills, one per window, are ${status}:\n` + windowsTable(windows)
    : backfillSummary(backfill)

/** What a run that does not wait for Orb's reflection says last, in either executor: how to follow it. */
export const reflecting = (backfillIds: ReadonlyArray<string | undefined>): string =>
  `Orb is reflecting ${backfillIds.length > 1 ? "them" : "it"} now; follow it with: ` +
  backfillIds.map((id) => `orb-backfill watch ${id}`).join("; ")
