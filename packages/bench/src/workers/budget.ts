/**
 * The budget scenario's client: runs sharing one Orb account's ingest budget, kept in a SQLite state file. Variants:
 *
 * - `engine`: the durable engine on the file (`DurableEngine.layerSqlite`), with the process's Orb connection, so
 *   that `DurableRun.layer` takes its runs' requests from the account's budget in the file; its runs at once.
 * - `beside`: its runs in memory (`Backfills.run`), in a process beside the engine's, taking from the same budget
 *   (`AccountBudget.layer` on `DurableEngine.layerSqliteBeside`).
 *
 * Either way the measurement is the events accepted, from the layers' build to the last run's close. With `shared`
 * false neither takes from the budget (the engine's runs share their process's pace only), for comparison.
 */
import { Backfills, OrbClient } from "@effect-orb/backfills"
import { AccountBudget, DurableEngine, DurableRun, RunSource } from "@effect-orb/workflow"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type { BudgetJob, Job, Measurement } from "../Protocol.js"
import { eventsOf } from "./EffectClient.js"
import { main, start, stop } from "./Worker.js"

const program = (job: Job, budget: BudgetJob): Effect.Effect<ReadonlyArray<number>, unknown> => {
  const connection = { apiKey: Redacted.make(job.apiKey), baseUrl: job.baseUrl }
  const library = Backfills.layer.pipe(
    Layer.provide(OrbClient.layer(connection)),
    Layer.provide(NodeHttpClient.layerUndici)
  )
  const quota = { requestsPerSecond: budget.requestsPerSecond, eventsPerMinute: budget.eventsPerMinute }
  const ingest = { batchSize: budget.batchSize, concurrency: job.concurrency, quota }
  const timeframe = (run: BudgetJob["runs"][number]) => ({
    timeframeStart: DateTime.unsafeMake(run.timeframeStart),
    timeframeEnd: DateTime.unsafeMake(run.timeframeEnd)
  })
  if (job.variant === "engine") {
    return Effect.forEach(budget.runs, (run) =>
      Effect.gen(function*() {
        const payload = yield* DurableRun.payload({
          runKey: run.runKey,
          source: yield* RunSource.fromFile(run.file),
          ...timeframe(run),
          replaceExistingEvents: false,
          expectedEvents: run.events,
          segmentEvents: 5_000,
          ...ingest,
          until: "closed"
        })
        return (yield* DurableRun.execute(payload)).accepted
      }), { concurrency: "unbounded" }).pipe(
        Effect.provide(
          DurableRun.layer.pipe(
            Layer.provideMerge(budget.shared ? DurableRun.layerOrbConnection(connection) : Layer.empty),
            Layer.provideMerge(DurableEngine.layerSqlite({ filename: budget.state })),
            Layer.provideMerge(library)
          )
        )
      )
  }
  return Effect.forEach(budget.runs, (run) =>
    Effect.map(
      Backfills.run({
        ...timeframe(run),
        replaceExistingEvents: false,
        encodedEvents: eventsOf(run.file),
        expectedEvents: run.events,
        until: "closed",
        ingest
      }),
      (result) => result.ingestion.accepted
    ), { concurrency: "unbounded" }).pipe(
      Effect.provide(Layer.merge(
        library,
        budget.shared
          ? AccountBudget.layer.pipe(
            Layer.provide(DurableEngine.layerSqliteBeside({ filename: budget.state })),
            Layer.provide(DurableRun.layerOrbConnection(connection))
          )
          : Layer.empty
      ))
    )
}

main((job): Promise<Measurement> => {
  const budget = job.budget
  if (budget === undefined) return Promise.reject(new Error("no budget settings in the job"))
  const mark = start()
  return Effect.runPromise(
    Effect.map(program(job, budget), (accepted) => stop(mark, accepted.reduce((sum, n) => sum + n, 0), {}))
  )
})
