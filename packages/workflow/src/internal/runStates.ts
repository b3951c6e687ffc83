/**
 * Where durable runs are, read from the engine's own records (the messages and replies `@effect/cluster` keeps
 * for each workflow and activity, and the segments' journal), so that progress has no second bookkeeping that could
 * drift from the truth.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as DurableRun from "../DurableRun.js"
import * as RunSource from "../RunSource.js"
import * as CancelRequests from "./cancelRequests.js"
import * as SegmentJournal from "./segmentJournal.js"

interface Row {
  readonly entity_id: string
  readonly tag: string
  readonly payload: string
  readonly reply: string | null
  /** The reply's id, a snowflake (its time since 2025 in its upper bits), as text: it is beyond 2^53. */
  readonly reply_id: string | null
}

/** When a snowflake id was made: `@effect/cluster`'s layout, milliseconds since 2025-01-01 above 22 bits. */
const snowflakeMillis = (id: string) => Number(BigInt(id) >> 22n) + Date.UTC(2025, 0, 1)

type Json = { readonly [key: string]: any }

const parse = (text: string | null): Json | undefined => {
  if (text === null) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The exit of a reply: `{ _tag: "Success", value }` or `{ _tag: "Failure", cause }`, once complete. */
const exitOf = (reply: Json | undefined): Json | undefined =>
  reply?._tag === "Success" && reply.value?._tag === "Complete" ? reply.value.exit : undefined

/** When a run finished, from its run message's reply (stamped by the process that ended it); `undefined` until then. */
const finishedAtOf = (row: Pick<Row, "reply" | "reply_id">): number | undefined =>
  exitOf(parse(row.reply)) !== undefined && row.reply_id !== null ? snowflakeMillis(row.reply_id) : undefined

/** The first typed error of an encoded cause, in words. */
const causeText = (cause: Json | undefined): string | undefined => {
  if (cause === undefined) return undefined
  switch (cause._tag) {
    case "Fail": {
      const error = cause.error ?? {}
      return error.reason !== undefined ? `${error.stage}: ${error.reason}` : JSON.stringify(error).slice(0, 500)
    }
    case "Die":
      return `defect: ${JSON.stringify(cause.defect).slice(0, 500)}`
    case "Interrupt":
      return "interrupted"
    case "Sequential":
    case "Parallel":
      return causeText(cause.left) ?? causeText(cause.right)
    default:
      return undefined
  }
}

/**
 * A run's state, and whether a failed run may have left its backfill open (it failed before the close and could not
 * revert it): such a run is the trail to that backfill, and pruning keeps it.
 */
interface Entry {
  readonly state: DurableRun.RunState
  readonly mayHaveLeftOpen: boolean
}

export const list = (
  workflowName: string
): Effect.Effect<ReadonlyArray<DurableRun.RunState>, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.map(entries(workflowName), (entries) => entries.map((entry) => entry.state))

/**
 * What a first look tells of a run, before it is read in full: its execution id, and when it finished (`undefined`
 * while it has not).
 */
export interface Head {
  readonly executionId: string
  readonly finishedAt: number | undefined
}

/**
 * The runs `pick` chooses from their heads (one row each, its run message's reply), read in full; the others are
 * not read at all: a process watching runs (a worker, every second) reads a few runs in full, not every run the
 * database ever held (2,000 finished runs took about 115 ms to read in full, every second).
 */
export const listPicked = (
  workflowName: string,
  pick: (head: Head) => boolean
): Effect.Effect<ReadonlyArray<DurableRun.RunState>, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const heads = yield* sql<Pick<Row, "entity_id" | "reply" | "reply_id">>`
      SELECT m.entity_id, r.payload AS reply, CAST(r.id AS TEXT) AS reply_id
      FROM cluster_messages m
      LEFT JOIN cluster_replies r ON r.request_id = m.request_id AND r.kind = 0
      WHERE m.entity_type = ${`Workflow/${workflowName}`} AND m.tag = 'run'
      ORDER BY m.id`
    const seen = new Set<string>()
    const picked: Array<string> = []
    for (const head of heads) {
      // A run's first run message is the run (as `entries` reads it).
      if (seen.has(head.entity_id)) continue
      seen.add(head.entity_id)
      if (pick({ executionId: head.entity_id, finishedAt: finishedAtOf(head) })) {
        picked.push(head.entity_id)
      }
    }
    if (picked.length === 0) return []
    // So many are as well read whole (a statement's parameters are bounded: 32,766 in SQLite).
    if (picked.length > 1_000) {
      const chosen = new Set(picked)
      return (yield* list(workflowName)).filter((state) => chosen.has(state.executionId))
    }
    return (yield* entries(workflowName, picked)).map((entry) => entry.state)
  })

const entries = (
  workflowName: string,
  /** Only these runs, when given (not empty). */
  executionIds?: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<Entry>, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // Message ids are snowflakes beyond 2^53: ordered in SQL, never read into JavaScript numbers.
    const rows = yield* sql<Row>`
      SELECT m.entity_id, m.tag, m.payload, r.payload AS reply, CAST(r.id AS TEXT) AS reply_id
      FROM cluster_messages m
      LEFT JOIN cluster_replies r ON r.request_id = m.request_id AND r.kind = 0
      WHERE m.entity_type = ${`Workflow/${workflowName}`} AND m.tag IN ('run', 'activity')
      ${executionIds === undefined ? sql`` : sql`AND ${sql.in("m.entity_id", executionIds)}`}
      ORDER BY m.id`
    const runs = new Map<string, { run?: Row; activities: Array<Row> }>()
    for (const row of rows) {
      let entry = runs.get(row.entity_id)
      if (entry === undefined) runs.set(row.entity_id, entry = { activities: [] })
      if (row.tag === "run") entry.run ??= row
      else entry.activities.push(row)
    }
    const segmentsOf = new Map<
      string,
      Array<{ readonly submission: string; readonly segment: number; readonly outcome: string }>
    >()
    for (const row of yield* SegmentJournal.all(executionIds)) {
      let rows = segmentsOf.get(row.execution_id)
      if (rows === undefined) segmentsOf.set(row.execution_id, rows = [])
      rows.push(row)
    }
    const states: Array<Entry> = []
    for (const [executionId, { activities, run }] of runs) {
      if (run === undefined) continue
      const payload = parse(run.payload) ?? {}
      const totals = { read: 0, accepted: 0, failed: 0, position: 0 }
      // Where each finished segment ends, by its number: two segments run at once, and the later may finish first.
      const ends = new Map<number, number>()
      // By window: `create` with one window, `create-w0`, `create-w1`, ... with several.
      const backfillIds: Array<string> = []
      // The last create refused for an overlap, and what it waits for, until a create after it answers.
      let waitingFor: DurableRun.RunState["waitingFor"]
      let lastError: string | undefined
      // An activity runs again after a crash under the same name: its last reply counts.
      const latest = new Map<string, Row>()
      for (const row of activities) latest.set(parse(row.payload)?.name ?? "", row)
      // Segments journaled in the table (`SegmentJournal`), this submission's: a success each, or the typed failure
      // that ended them (the first one: a failure makes the segments after it fail for it).
      const inTable = payload.segmentJournal === "table"
      let lastSegment: { readonly index: number; readonly eof: boolean } | undefined
      for (const { outcome, segment, submission } of segmentsOf.get(executionId) ?? []) {
        if (!inTable || submission !== payload.submission) continue
        const kept = parse(outcome)
        if (kept?._tag === "Right") {
          totals.read += kept.right.read
          totals.accepted += kept.right.accepted
          totals.failed += kept.right.failed
          ends.set(Number(segment), kept.right.next)
          if (lastSegment === undefined || Number(segment) > lastSegment.index) {
            lastSegment = { index: Number(segment), eof: kept.right.eof === true }
          }
        } else if (kept?._tag === "Left") {
          lastError ??= `${kept.left.stage}: ${kept.left.reason}`
        }
      }
      const last = activities[activities.length - 1]
      let current: string | undefined = last === undefined ? undefined : parse(last.payload)?.name
      for (const [name, row] of latest) {
        const exit = exitOf(parse(row.reply))
        if (exit === undefined) continue
        if (exit._tag === "Failure") {
          lastError = causeText(exit.cause)
          continue
        }
        // Sent again after an overlap: `create-o1`, `create-w2-o1`, ...
        const created = /^create(?:-w(\d+))?(?:-o\d+)?$/.exec(name)
        if (created !== null && typeof exit.value === "string") {
          backfillIds[Number(created[1] ?? 0)] = exit.value
          waitingFor = undefined
        } else if (created !== null && exit.value?.blocked !== undefined) {
          const blocked = exit.value.blocked
          waitingFor = {
            backfillId: String(blocked.id),
            timeframeStart: DateTime.toUtc(DateTime.unsafeMake(blocked.timeframeStart)),
            timeframeEnd: DateTime.toUtc(DateTime.unsafeMake(blocked.timeframeEnd)),
            status: blocked.status
          }
        }
        // A run journaling in the table has no segment activities (one an older runner ran is not counted twice).
        if (name.startsWith("segment-") && !inTable) {
          totals.read += exit.value.read
          totals.accepted += exit.value.accepted
          totals.failed += exit.value.failed
          ends.set(Number(name.slice("segment-".length)), exit.value.next)
        }
      }
      // The position is the end of the segments finished from the start: past one still in flight, none is done.
      let finished = 0
      for (; ends.has(finished); finished++) totals.position = ends.get(finished)!
      const exit = exitOf(parse(run.reply))
      const finishedAt = finishedAtOf(run)
      let inFlight = current !== undefined && exitOf(parse(latest.get(current)!.reply)) === undefined
      // A run journaling its segments in the table is ingesting from its last window's create to its close: the
      // step is the first segment not journaled, in flight until the run ends; once the last one is (the source's
      // end), the close.
      const windowCount = Array.isArray(payload.windows) ? payload.windows.length : 1
      if (
        inTable && current !== undefined && !inFlight &&
        /^create(-w\d+)?(-o\d+)?$/.test(current) && backfillIds.filter((id) => id !== undefined).length === windowCount
      ) {
        current = lastSegment?.eof === true && lastSegment.index === finished - 1
          ? windowCount === 1 ? "close" : "close-w0"
          : `segment-${finished}`
        inFlight = exit === undefined
      }
      // A durable sleep between polls is an activity of the engine's own.
      const step = current?.replace(/^DurableClock\//, "")
      const stage: DurableRun.RunState["stage"] = exit !== undefined
        ? exit._tag === "Success" ? "done" : "failed"
        : current === undefined || /^(recover-)?create(-w\d+)?(-o\d+)?$/.test(current) ||
            /^overlap-/.test(step!)
        ? "creating"
        : current.startsWith("segment-")
        ? "ingesting"
        : /^close(-w\d+)?$/.test(current)
        ? "closing"
        : step!.startsWith("revert")
        ? "reverting"
        : "awaiting reflection"
      if (exit?._tag === "Failure") lastError = causeText(exit.cause) ?? lastError
      const runError = exit?._tag === "Failure" ? failureOf(exit.cause) : undefined
      const mayHaveLeftOpen = runError !== undefined && runError.backfillId !== undefined &&
        runError.reverted !== true &&
        (runError.status === undefined || runError.status === "pending")
      const state: DurableRun.RunState = {
        runKey: String(payload.runKey),
        executionId,
        stage,
        ...(backfillIds[0] !== undefined ? { backfillId: backfillIds[0] } : {}),
        backfillIds: backfillIds.filter((id) => id !== undefined),
        ...sourceOf(payload.source),
        ...totals,
        ...(step !== undefined ? { step, stepInFlight: inFlight } : {}),
        ...(stage === "creating" && waitingFor !== undefined ? { waitingFor } : {}),
        ...(lastError !== undefined ? { lastError } : {}),
        ...(finishedAt !== undefined ? { finishedAt: DateTime.unsafeMake(finishedAt) } : {}),
        ...(typeof payload.orb?.baseUrl === "string" && typeof payload.orb.keyFingerprint === "string"
          ? { orb: { baseUrl: payload.orb.baseUrl, keyFingerprint: payload.orb.keyFingerprint } }
          : {}),
        ...shapeOf(payload)
      }
      states.push({ state, mayHaveLeftOpen })
    }
    return states
  })

/** A run's source as its state shows it: name, files, size in the unit of its offsets, and what pins it. */
const sourceOf = (source: Json | undefined) => {
  const decoded = Schema.decodeUnknownOption(RunSource.RunSource)(source)
  if (Option.isSome(decoded)) {
    const value = decoded.value
    const sha256 = RunSource.sha256Of(value)
    return {
      source: RunSource.nameOf(value),
      size: RunSource.extentOf(value) ?? 0,
      ...(value._tag === "File" ? { files: [value.path] } : {}),
      ...(value._tag === "Files" ? { files: value.parts.map((part) => part.path) } : {}),
      ...(sha256 !== undefined ? { sha256 } : {})
    }
  }
  // A payload of another version: what can be read of it.
  return {
    source: String(source?.path ?? source?.name ?? ""),
    // A gzip file's offsets are in its decompressed bytes.
    size: Number(source?.decompressedSize ?? source?.size ?? 0),
    ...(typeof source?.sha256 === "string" ? { sha256: source.sha256 } : {})
  }
}

/** The timeframe and mode of a run's payload, when readable. */
const shapeOf = (payload: Json) => {
  const start = DateTime.make(payload.timeframeStart).pipe(Option.map(DateTime.toUtc))
  const end = DateTime.make(payload.timeframeEnd).pipe(Option.map(DateTime.toUtc))
  return {
    ...(start._tag === "Some" && end._tag === "Some" ? { timeframeStart: start.value, timeframeEnd: end.value } : {}),
    ...(typeof payload.replaceExistingEvents === "boolean"
      ? { replaceExistingEvents: payload.replaceExistingEvents }
      : {})
  }
}

/** The run's own typed error (`RunFailed`, encoded), from its exit's cause. */
const failureOf = (cause: Json | undefined): Json | undefined => {
  if (cause === undefined) return undefined
  if (cause._tag === "Fail") return cause.error
  if (cause._tag === "Sequential" || cause._tag === "Parallel") return failureOf(cause.left) ?? failureOf(cause.right)
  return undefined
}

/**
 * Deletes the engine's rows of the runs that finished before `finishedBefore` (their messages and replies, their
 * durable clock's, their segments', their cancel request), in one transaction per run. Kept whatever their age:
 * unfinished runs, and failed runs that may have left their backfill open.
 */
export const prune = (workflowName: string) =>
(
  finishedBefore: DateTime.Utc
): Effect.Effect<ReadonlyArray<DurableRun.RunState>, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const chosen = (yield* entries(workflowName)).filter(({ mayHaveLeftOpen, state }) =>
      !mayHaveLeftOpen && state.finishedAt !== undefined && state.finishedAt.epochMillis < finishedBefore.epochMillis
    ).map((entry) => entry.state)
    const entityTypes = [`Workflow/${workflowName}`, "Workflow/-/DurableClock"]
    for (const run of chosen) {
      yield* Effect.gen(function*() {
        yield* sql`DELETE FROM cluster_replies WHERE request_id IN (
          SELECT id FROM cluster_messages WHERE entity_id = ${run.executionId} AND ${
          sql.in("entity_type", entityTypes)
        })`
        yield* sql`DELETE FROM cluster_messages
          WHERE entity_id = ${run.executionId} AND ${sql.in("entity_type", entityTypes)}`
        yield* CancelRequests.forget(run.executionId)
        yield* SegmentJournal.forget(run.executionId)
      }).pipe(sql.withTransaction)
    }
    return chosen
  })

/**
 * A run's outcome as the engine journaled it (its exit, encoded), once it has ended; `undefined` before.
 */
export const outcome = (workflowName: string) =>
(
  executionId: string
): Effect.Effect<unknown, SqlError.SqlError, SqlClient.SqlClient> =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly reply: string }>`
      SELECT r.payload AS reply
      FROM cluster_messages m
      JOIN cluster_replies r ON r.request_id = m.request_id AND r.kind = 0
      WHERE m.entity_type = ${`Workflow/${workflowName}`} AND m.entity_id = ${executionId} AND m.tag = 'run'`
    for (const row of rows) {
      const exit = exitOf(parse(row.reply))
      if (exit !== undefined) return exit
    }
    return undefined
  })
