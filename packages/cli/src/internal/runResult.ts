/**
 * A finished run's result, printed the same for both executors (the in-memory run and the durable one), as text or
 * as one JSON document: its windows are the library's one window model, `OrbError.RunWindowOutcome`, whichever
 * executor ran them, and each executor says what it counted of the ingestion.
 */
import type { Backfill, OrbError } from "@effect-orb/backfills"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Output from "../Output.js"
import * as Progress from "./progress.js"
import * as Render from "./render.js"

/**
 * What a finished run printed: its windows, the backfill of each as last seen, and what its ingestion counted.
 *
 * @category models
 */
export interface RunResult {
  /** Every window of the run, in order, with its backfill as last seen (the first's is the run's backfill). */
  readonly windows: ReadonlyArray<{ readonly window: OrbError.RunWindowOutcome; readonly backfill: Backfill.Backfill }>
  /** Where the run stopped: `reflected`, or `pending` (closed) when it did not wait for the reflection. */
  readonly status: Backfill.BackfillStatus
  /** A durable run: its run key and state file (or database). */
  readonly durable?: { readonly runKey: string; readonly state: string } | undefined
  readonly ingestion: {
    /** Events Orb accepted. */
    readonly accepted: number
    /** How long the ingestion took, when the executor timed it. */
    readonly elapsedMillis?: number | undefined
    /** Events Orb already held (sent again with the same key). */
    readonly duplicates?: number | undefined
    /** Events refused as they were sent (by the checks or by Orb) and left out. */
    readonly refused?: number | undefined
    /** Events left out, refused or unreadable, when the executor does not tell them apart. */
    readonly leftOut?: number | undefined
    /** Lines (or rows) of the file found invalid before the run and left out, and what they are called. */
    readonly invalid?: { readonly count: number; readonly unit: string } | undefined
    /** The refused events, one line each: where each is and why. */
    readonly failures?: ReadonlyArray<string> | undefined
    /** The ingestion as the executor counts it, for `--json`. */
    readonly json: Record<string, unknown>
  }
  /** The file's check, for `--json`. */
  readonly validation?: unknown
  /** Whether to say, last, that Orb is reflecting the backfills (a run that did not wait for it). */
  readonly reflecting: boolean
}

/**
 * The run's result as one JSON document (`extra`: the verification's fields, when the run verified).
 *
 * @category json
 */
export const json = (result: RunResult, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  ...(result.durable !== undefined ? { run: { run_key: result.durable.runKey, state: result.durable.state } } : {}),
  backfill: Render.backfillJson(result.windows[0].backfill),
  windows: result.windows.map(({ backfill, window }) => ({
    timeframe_start: DateTime.formatIso(window.timeframeStart),
    timeframe_end: DateTime.formatIso(window.timeframeEnd),
    backfill_id: window.backfillId ?? null,
    status: window.status ?? null,
    accepted: window.accepted,
    backfill: Render.backfillJson(backfill)
  })),
  ingestion: result.ingestion.json,
  ...(result.validation !== undefined ? { validation: result.validation } : {}),
  ...extra
})

/**
 * The line that says what was sent: the events accepted, how long it took and which durable run, when known, and
 * what was left out.
 *
 * @category formatting
 */
export const sentLine = (result: RunResult): string => {
  const { accepted, duplicates, elapsedMillis, invalid, leftOut, refused } = result.ingestion
  return `Sent ${Progress.plural(accepted, "event")}` +
    (elapsedMillis !== undefined ? ` in ${Progress.duration(elapsedMillis)}` : "") +
    (result.durable !== undefined ? ` (durable run ${result.durable.runKey})` : "") +
    (duplicates !== undefined && duplicates > 0 ? ` (${Progress.count(duplicates)} already there)` : "") +
    (refused !== undefined && refused > 0 ? `; ${Progress.count(refused)} refused and left out` : "") +
    (leftOut !== undefined && leftOut > 0 ? `; ${Progress.count(leftOut)} left out` : "") +
    (invalid !== undefined && invalid.count > 0 ? `; ${Progress.plural(invalid.count, invalid.unit)} left out` : "") +
    "."
}

/**
 * Prints a finished run's result: under `--json` one document, else the backfills (a table of the windows when
 * there are several), what was sent, each refused event, and how to follow a reflection the run did not wait for.
 *
 * @category printing
 */
export const print = (
  result: RunResult,
  asJson: boolean,
  extra: Record<string, unknown> = {}
): Effect.Effect<void, never, Output.Output> =>
  Effect.gen(function*() {
    if (asJson) return yield* Output.line(JSON.stringify(json(result, extra)))
    yield* Output.line(
      Render.runSummary(result.windows[0].backfill, result.status, result.windows.map(({ window }) => window))
    )
    yield* Output.line(sentLine(result))
    for (const failure of result.ingestion.failures ?? []) yield* Output.note(`  ${failure}`)
    if (result.reflecting) {
      yield* Output.line(Render.reflecting(result.windows.map(({ window }) => window.backfillId)))
    }
  })
