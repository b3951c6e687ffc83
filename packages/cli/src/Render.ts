/**
 * Backfills as text: a table for `list`, a block of fields for `show`, and Orb's own JSON (snake_case, as the
 * API returns it) for `--json`.
 *
 * @since 0.1.0
 */
import { Backfill } from "@effect-orb/backfills"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { count, plural } from "./Progress.js"

const encodeBackfill = Schema.encodeSync(Backfill.Backfill)

/**
 * A backfill as Orb's API returns it (snake_case keys, ISO 8601 date-times, `null` for no value).
 *
 * @since 0.1.0
 * @category json
 */
export const backfillJson = (backfill: Backfill.Backfill): unknown => encodeBackfill(backfill)

/**
 * A date-time to the second, in UTC: `2026-10-01 00:00:00Z`.
 *
 * @since 0.1.0
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
 * Backfills as an aligned table, one per row, newest first as given.
 *
 * @since 0.1.0
 * @category formatting
 */
export const backfillTable = (backfills: ReadonlyArray<Backfill.Backfill>): string => {
  const header = ["ID", "STATUS", "MODE", "EVENTS", "CUSTOMER", "TIMEFRAME START", "TIMEFRAME END", "CREATED"]
  const rows = backfills.map((b) => [
    b.id,
    b.status,
    mode(b),
    count(b.eventsIngested),
    customerOf(b),
    time(b.timeframeStart),
    time(b.timeframeEnd),
    time(b.createdAt)
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  // Numbers read best right-aligned; everything else left-aligned.
  const cell = (text: string, i: number) => (i === 3 ? text.padStart(widths[i]) : text.padEnd(widths[i]))
  return [header, ...rows].map((r) => r.map(cell).join("  ").trimEnd()).join("\n")
}

/**
 * One backfill as labelled fields, one per line.
 *
 * @since 0.1.0
 * @category formatting
 */
export const backfillDetails = (backfill: Backfill.Backfill): string => {
  const fields: Array<[string, string]> = [
    ["id", backfill.id],
    ["status", backfill.status],
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
 * @since 0.1.0
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
 * @since 0.1.0
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
 * @since 0.1.0
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
 * @since 0.1.0
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
 * @since 0.1.0
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
