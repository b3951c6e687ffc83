/**
 * The budget scenario's client: runs sharing one Orb account's ingest budget, kept in a SQLite state file. Variants:
 *
 * - `engine`: the durable engine on the file (`DurableEngine.layerSqlite`), with the process's Orb connection, so
 *   that `DurableRun.layer` takes its runs' requests from the account's budget in the file; its runs at once.
 * - `beside`: its runs in memory (`Backfills.run`), in a process beside the engine's, taking from the same budget
 *   (`AccountBudget.layer` on `DurableEngine.layerSqliteBeside`).
 *
 * - `runner`: one runner of the cluster on Postgres (`DurableEngine.layerPostgres`), with the process's Orb
 *   connection, running whatever runs its shards hold until the harness stops it (SIGTERM); it reports nothing.
 * - `submit`: a client-only engine on the same database that submits the runs once both runners hold their shards,
 *   with run keys chosen so that the runs fall to both runners, and waits for the runners to end them.
 *
 * The measurement is the events accepted, from the layers' build to the last run's close. With `shared` false
 * neither takes from the budget (the engine's runs share their process's pace only), for comparison.
 */
import { Backfills, OrbClient } from "@effect-orb/backfills"
import { AccountBudget, DurableEngine, DurableRun, RunSource } from "@effect-orb/workflow"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { runnersReady, shardHolders } from "../../../workflow/test/support/shards.js"
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
  // A run's payload under `runKey`, its source pinned once (the submitter tries several keys per run).
  const payloadsOf = (run: BudgetJob["runs"][number]) =>
    Effect.map(RunSource.fromFile(run.file), (source) => (runKey: string) =>
      DurableRun.payload({
        runKey,
        source,
        ...timeframe(run),
        replaceExistingEvents: false,
        expectedEvents: run.events,
        segmentEvents: 5_000,
        ...ingest,
        until: "closed"
      }))
  const orbConnection = budget.shared ? DurableRun.layerOrbConnection(connection) : Layer.empty
  if (job.variant === "runner" || job.variant === "submit") {
    const postgres = budget.postgres
    if (postgres === undefined) return Effect.dieMessage(`budget ${job.variant}: no Postgres in the job`)
    const url = Redacted.make(postgres.url)
    if (job.variant === "runner") {
      return Layer.launch(
        DurableRun.layer.pipe(
          Layer.provide(orbConnection),
          Layer.provide(DurableEngine.layerPostgres({
            postgres: { url },
            runnerAddress: { host: "127.0.0.1", port: postgres.runnerPort ?? 0 }
          })),
          Layer.provide(library)
        )
      )
    }
    return Effect.gen(function*() {
      yield* runnersReady(2, 120_000, () => "budget submit: the 2 runners did not take their shards within 120 s")
      const holderOf = yield* shardHolders
      // Each run's key takes a suffix, tried until its runner is one with the fewest runs so far: 3 runs fall 2 and
      // 1 to the 2 runners.
      const payloads = []
      const held = new Map<number | undefined, number>()
      const count = (holder: number | undefined) => held.get(holder) ?? 0
      for (const run of budget.runs) {
        const payloadOf = yield* payloadsOf(run)
        for (let attempt = 0;; attempt++) {
          const candidate = yield* payloadOf(`${run.runKey}-${attempt}`)
          const holder = holderOf(yield* DurableRun.BackfillRun.executionId(candidate))
          const others = [...held.keys()].filter((other) => other !== holder)
          const fewestElsewhere = held.size < 2 ? 0 : Math.min(...others.map(count))
          if (count(holder) <= fewestElsewhere || attempt >= 64) {
            held.set(holder, (held.get(holder) ?? 0) + 1)
            payloads.push(candidate)
            break
          }
        }
      }
      const ids = yield* Effect.forEach(payloads, (p) => DurableRun.BackfillRun.execute(p, { discard: true }))
      while (true) {
        const polled = yield* Effect.forEach(ids, (id) => DurableRun.BackfillRun.poll(id))
        const done = polled.flatMap((p) => (p?._tag === "Complete" ? [p.exit] : []))
        if (done.length === ids.length) {
          return yield* Effect.forEach(done, (exit) =>
            Exit.isSuccess(exit)
              ? Effect.succeed(exit.value.accepted)
              : Effect.dieMessage(`budget submit: a run failed: ${String(exit)}`))
        }
        yield* Effect.sleep("200 millis")
      }
    }).pipe(Effect.provide(DurableEngine.layerPostgres({ postgres: { url }, clientOnly: true })))
  }
  if (job.variant === "engine") {
    return Effect.forEach(
      budget.runs,
      (run) =>
        Effect.flatMap(
          Effect.flatMap(payloadsOf(run), (payloadOf) => payloadOf(run.runKey)),
          (p) => Effect.map(DurableRun.execute(p), (result) => result.accepted)
        ),
      {
        concurrency: "unbounded"
      }
    ).pipe(
      Effect.provide(
        DurableRun.layer.pipe(
          Layer.provideMerge(orbConnection),
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
