/**
 * `orb-backfill worker`: a long-running runner of the durable runs of a Postgres database. Workers on one machine or
 * several share the runs between them (by shard); each says which runs it picks up and how they end. Ctrl-C or
 * SIGTERM stops a worker gracefully: it lets go of its shards, and its unfinished runs move to the other workers (or
 * wait for the next one), which resume them from their journal; kill -9 does the same, a few seconds later.
 */
import { DurableRun } from "@effect-orb/workflow"
import * as Clock from "effect/Clock"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Backend from "../Backend.js"
import * as Output from "../Output.js"
import * as CliError from "./cliError.js"
import * as Database from "./database.js"
import * as Durable from "./durable.js"
import * as Progress from "./progress.js"

/**
 * What `worker` needs: where the runs are, and the worker's address as the other workers reach it (`--address`,
 * default this machine's name and a free port) and where it listens (`--listen`, default its address).
 *
 * @category models
 */
export interface WorkerSettings {
  readonly state: Durable.State
  readonly address?: string | undefined
  readonly listen?: string | undefined
}

const unfinished = (run: DurableRun.RunState) => run.stage !== "done" && run.stage !== "failed"

const share = (run: DurableRun.RunState) =>
  `${Math.floor((run.size === 0 ? 1 : Math.min(1, run.position / run.size)) * 100)}%`

const ended = (run: DurableRun.RunState) =>
  run.stage === "done"
    ? `Finished durable run ${run.runKey}: done, ${Progress.plural(run.accepted, "event")} accepted` +
      (run.backfillIds.length > 0 ? ` (backfill ${run.backfillIds.join(", ")})` : "") + "."
    : `Durable run ${run.runKey} failed: ${run.lastError ?? "no reason recorded"}.`

/**
 * Says, once a second, which runs this worker holds that it had not (picked up: a new run, or one another worker
 * left), and how those it held ended; and once when the database stops answering (its runs then wait for it: they go
 * on by themselves once it answers, `docs/durable-runs.md`) and once when it answers again, rather than nothing.
 */
const report = (database: Database.Database, name: string, since: number) =>
  Effect.gen(function*() {
    const held = new Set<string>()
    const told = new Set<string>()
    let downSince: number | undefined
    let lookedAt = since
    for (;;) {
      // The runs going on, those held, and those that finished since the last look (a minute of margin for the
      // clocks of the other workers, which stamp the runs they end): not every run the database ever held.
      const current = DurableRun.listCurrent({
        finishedSince: DateTime.unsafeMake(Math.max(since, lookedAt - 60_000)),
        executionIds: held
      })
      const looking = yield* Clock.currentTimeMillis
      const seen = yield* Effect.either(Database.answered(Effect.all([current, Database.placements])))
      const now = yield* Clock.currentTimeMillis
      if (Either.isLeft(seen)) {
        if (downSince === undefined) {
          downSince = now
          yield* Output.line(
            `The database does not answer (${Database.unreachable(database)(seen.left).reason}): the runs wait for ` +
              "it, and go on once it answers."
          )
        }
      } else {
        if (downSince !== undefined) {
          yield* Output.line(`The database answers again, after ${Progress.duration(now - downSince)}.`)
          downSince = undefined
        }
        lookedAt = looking
        const [runs, placed] = seen.right
        for (const run of runs) {
          const ours = placed.get(run.executionId) === name
          if (unfinished(run)) {
            if (ours && !held.has(run.executionId)) {
              held.add(run.executionId)
              yield* Output.line(
                `Picked up durable run ${run.runKey} (${run.stage}, ${share(run)} of ${run.source} done).`
              )
            } else if (!ours && placed.has(run.executionId)) {
              // Another worker's now. One placed nowhere for a moment (its shard's lock being taken again, after the
              // database came back, say) and then ours again was never another's: not picked up anew.
              held.delete(run.executionId)
            }
          } else if (
            !told.has(run.executionId) &&
            (held.has(run.executionId) ||
              (ours && run.finishedAt !== undefined && run.finishedAt.epochMillis >= since))
          ) {
            told.add(run.executionId)
            held.delete(run.executionId)
            yield* Output.line(ended(run))
          }
        }
      }
      yield* Effect.sleep("1 second")
    }
  })

/**
 * `worker`: runs the durable runs of the database given to it until Ctrl-C or SIGTERM, printing those it picks up
 * and how they end.
 *
 * @category commands
 */
export const worker = (settings: WorkerSettings) =>
  Durable.withOrb(Effect.gen(function*() {
    const database = settings.state.database
    if (database === undefined) {
      return yield* new CliError.UsageError({
        reason: `a worker runs the durable runs of a Postgres database shared with other machines: give --database ` +
          `URL (or set ${Database.databaseVariable})`
      })
    }
    const given = settings.address === undefined ? undefined : yield* Database.addressOf("--address", settings.address)
    const listenGiven = settings.listen === undefined
      ? undefined
      : yield* Database.addressOf("--listen", settings.listen)
    const host = given?.host ?? Database.hostname()
    const port = given?.port ?? listenGiven?.port ?? (yield* Database.freePort(listenGiven?.host ?? host))
    const address = { host, port }
    const listen = { host: listenGiven?.host ?? host, port: listenGiven?.port ?? port }
    const name = Database.workerName(address)
    const backend = yield* Effect.serviceOption(Backend.Backend)
    const orb = Option.getOrUndefined(backend)?.connection?.baseUrl
    const since = Date.now()
    yield* Effect.gen(function*() {
      yield* Output.note(
        `Worker ${Database.shownRunner(name)} on ${database.shown}${
          orb === undefined ? "" : `, for the Orb at ${orb}`
        }` +
          ": running the durable runs given to it until Ctrl-C."
      )
      return yield* report(database, name, since)
    }).pipe(
      Effect.onInterrupt(() =>
        Output.note(
          "Stopping the worker: its unfinished runs are left where their journal is, nothing reverted, for the other " +
            "workers (or the next one) to resume."
        )
      ),
      Effect.provide(Database.runner(database, { name, address, listen }))
    )
  }))
