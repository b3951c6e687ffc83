/**
 * A run's outcome that is only the engine's own storage failing (a defect `PersistenceError` or `SqlError`) is not
 * journaled: the engine would record the run as ended by it (no revert, its backfill left open for Orb to close at its
 * close time with what it holds), where it is only stopped, to go on once the database takes writes again. A trigger
 * on the engine's replies, as the engine saves them on more than one path: on a state file, and on Postgres (where
 * one failed write of a step, a failover's dropped connection, ended the run so: StorageOutcome.test.ts).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as OwnTables from "./ownTables.js"

/** How a storage failure reads in a reply's payload (the engine's JSON of the exit's defect). */
const markers = ["\"defect\":{\"name\":\"PersistenceError\"", "\"defect\":{\"name\":\"SqlError\""]

const refusal = "a storage failure is not a run''s outcome"

/** Creates the trigger on the engine's `cluster_replies`, once its tables exist. */
export const refuse = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql.onDialectOrElse({
    pg: () =>
      OwnTables.create((sql) =>
        sql.unsafe(`
          CREATE OR REPLACE FUNCTION effect_orb_no_storage_outcome() RETURNS trigger AS $$
          BEGIN
            IF ${markers.map((marker) => `position('${marker}' in NEW.payload) > 0`).join(" OR ")} THEN
              RAISE EXCEPTION '${refusal}';
            END IF;
            RETURN NEW;
          END $$ LANGUAGE plpgsql;
          DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'effect_orb_no_storage_outcome') THEN
              CREATE TRIGGER effect_orb_no_storage_outcome BEFORE INSERT ON cluster_replies
                FOR EACH ROW EXECUTE PROCEDURE effect_orb_no_storage_outcome();
            END IF;
          END $$;`)
      ),
    orElse: () =>
      sql.unsafe(`CREATE TRIGGER IF NOT EXISTS effect_orb_no_storage_outcome BEFORE INSERT ON cluster_replies
        WHEN ${markers.map((marker) => `instr(NEW.payload, '${marker}') > 0`).join(" OR ")}
        BEGIN SELECT RAISE(ABORT, '${refusal}'); END`).pipe(Effect.asVoid)
  }))

/**
 * How a server's database failing is waited out: for as long as it fails, tried again 1 second, then 2, 4, ... up to a
 * minute apart. A run can neither go on nor revert without its journal, and a step given up would only end it as a
 * storage failure, which the trigger refuses: the run then hung, without a word, until its process restarted (after
 * the half hour an Orb outage is waited, `RetryPolicy.outages`, which this rule followed before). Waited for, it goes
 * on by itself as soon as the database answers, and says what it waits for (`stepThroughFailures`' `onRetry`).
 */
const waitForDatabase: Schedule.Schedule<unknown> = Schedule.exponential("1 second", 2).pipe(
  Schedule.modifyDelay((_, delay) => Duration.min(delay, Duration.minutes(1)))
)

/**
 * How long the engine's database failing is waited out: a server's (a dropped connection, a failover, an outage) as
 * long as it fails ({@link waitForDatabase}); a state file's only briefly (a lock another process holds a moment), as
 * its failures are not blips (a full disk, a broken file: the state file's health says so, and ends the run).
 */
const retrySchedule = (sql: SqlClient.SqlClient): Schedule.Schedule<unknown, unknown> =>
  sql.onDialectOrElse({
    sqlite: () => Schedule.intersect(Schedule.spaced("100 millis"), Schedule.recurs(3)),
    orElse: () => waitForDatabase
  })

const isStorageError = (error: unknown) => {
  const tag = (error as { readonly _tag?: unknown } | null)?._tag
  return tag === "PersistenceError" || tag === "SqlError"
}

/**
 * Whether an effect failed of the engine's storage alone: no interruption, and every failure and defect a storage
 * error (a step's, the engine's `orDie` of a write it could not make; a read's, its `SqlError`). A step's own typed
 * failure (`StepFailed`) is not one.
 */
const isStorageFailure = (cause: Cause.Cause<unknown>) => {
  if (Cause.isInterrupted(cause)) return false
  const errors = [...Cause.failures(cause), ...Cause.defects(cause)]
  return errors.length > 0 && errors.every(isStorageError)
}

/** What a storage failure says, for whoever waits on it: its cause's message when it has one, else its own. */
export const storageReason = (error: unknown): string => {
  const { cause, message } = (error ?? {}) as { readonly message?: unknown; readonly cause?: unknown }
  const inner = (cause as { readonly message?: unknown } | null | undefined)?.message
  const text = typeof inner === "string" && inner.length > 0
    ? inner
    : typeof message === "string" && message.length > 0
    ? message
    : "a storage error"
  return `the run's database failed: ${text}`
}

/**
 * An engine step (an activity, a durable sleep) whose message the engine's database could not take, taken again
 * ({@link retrySchedule}), each failure told to `onRetry` first: the engine makes that failure a defect of the step,
 * which would end the run (refused as its outcome by the trigger, it would instead hang until the process restarts).
 */
export const stepThroughFailures = <R2 = never>(
  sql: SqlClient.SqlClient,
  onRetry: (error: unknown) => Effect.Effect<void, never, R2> = () => Effect.void
) =>
<A, E, R>(step: Effect.Effect<A, E, R>): Effect.Effect<A, E, R | R2> =>
  step.pipe(
    Effect.sandbox,
    Effect.retry({
      schedule: retrySchedule(sql),
      while: (cause) =>
        isStorageFailure(cause)
          ? Effect.as(onRetry([...Cause.failures(cause), ...Cause.defects(cause)][0]), true)
          : Effect.succeed(false)
    }),
    Effect.unsandbox
  )
