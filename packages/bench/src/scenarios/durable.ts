/**
 * The durable scenario. A durable run (`DurableRun.execute` on a fresh SQLite file) beside the same events
 * through `Backfills.run` in memory, each in a fresh client process against a fresh server without quotas, in
 * alternation; the state file's size after the durable run; then a run killed with kill -9 right after its
 * `resumeSegments`-th segment, and a new process on its state file: the time from that process's spawn to the
 * simulator's arrival time of its first ingest request.
 */
import { mkdirSync, rmSync } from "node:fs"
import * as Path from "node:path"
import { durableClients, ingestConcurrency } from "../harness/clients.js"
import type { Context } from "../harness/context.js"
import { onlyBackfill, stateSize, writeEvents } from "../harness/data.js"
import { runClient, runUntilMarker, serverCpuMicros } from "../harness/processes.js"
import type { DurableResult } from "../harness/results.js"
import { median, summarise } from "../harness/results.js"
import { inRounds } from "../harness/rounds.js"
import { apiKey } from "../harness/settings.js"
import type { Job, ServerConfig } from "../Protocol.js"
import { crashMarker } from "../Protocol.js"

export const durableScenario = async (context: Context): Promise<DurableResult> => {
  const { log, range, serve, size, stopServer, tmp } = context
  const bundle = context.bundles.durable
  const settings = size.durable
  const batchSize = 500
  const timeframe = {
    timeframeStart: new Date(range.start).toISOString(),
    timeframeEnd: new Date(range.end).toISOString()
  }
  const noQuotas: ServerConfig = { apiKey, quotas: "none", seedBackfills: 0, latencyMs: 0 }
  const baseJob = { apiKey, warmup: 0, backfillId: "", scenario: "durable" as const, concurrency: ingestConcurrency }

  const file = Path.join(tmp, `durable-${settings.events}.ndjson`)
  log(`durable: writing ${settings.events} events`)
  await writeEvents(file, settings.events, range.start)
  const serverCpu = new Map<string, Array<number>>(durableClients.map((c) => [c.id, []]))
  let runIndex = 0
  const runs = await inRounds(durableClients, context.rounds(settings.rounds), "durable", log, async (client) => {
    const server = await serve(noQuotas)
    const before = await server.stats()
    const state = Path.join(tmp, `durable-state-${runIndex++}`, "state.sqlite")
    mkdirSync(Path.dirname(state), { recursive: true })
    const measurement = await runClient(
      bundle,
      {
        ...baseJob,
        baseUrl: server.url,
        count: settings.events,
        file,
        variant: client.variant ?? "",
        durable: { state, runKey: `bench-${runIndex}`, ...timeframe, segmentEvents: settings.segmentEvents, batchSize }
      },
      Math.max(120_000, settings.events * 3),
      context.profileFor(client, "durable")
    )
    const after = await server.stats()
    const backfill = await onlyBackfill(server.url)
    await stopServer(server)
    const sized = client.id === "durable" ? stateSize(state) : undefined
    rmSync(Path.dirname(state), { recursive: true, force: true })
    if (measurement.ops !== settings.events || backfill.events_ingested !== settings.events) {
      throw new Error(
        `${client.label}: ${measurement.ops} accepted, ${backfill.events_ingested} in the backfill, of ${settings.events}`
      )
    }
    serverCpu.get(client.id)!.push(serverCpuMicros(before, after) / settings.events)
    return sized === undefined ? measurement : {
      ...measurement,
      extra: { ...measurement.extra, stateBytes: sized.bytes, stateCheckpointedBytes: sized.checkpointedBytes }
    }
  })
  const results = durableClients.map((c) => summarise(c, runs.get(c.id)!, serverCpu.get(c.id)!))
  const [memory, durable] = results
  const durableRuns = runs.get("durable")!
  const dbBytes = median(durableRuns.map((r) => r.extra.stateDbBytes ?? 0))
  const walBytes = median(durableRuns.map((r) => r.extra.stateWalBytes ?? 0))
  const stateBytes = median(durableRuns.map((r) => r.extra.stateBytes ?? 0))
  const checkpointedBytes = median(durableRuns.map((r) => r.extra.stateCheckpointedBytes ?? 0))

  // Resume: `resumeSegments` segments finish, the next one's request is held and the process killed with kill -9.
  const finished = settings.resumeSegments * settings.resumeSegmentEvents
  const total = finished + settings.resumeTail
  const resumeFile = Path.join(tmp, `durable-resume-${total}.ndjson`)
  await writeEvents(resumeFile, total, range.start)
  const state = Path.join(tmp, "durable-resume", "state.sqlite")
  mkdirSync(Path.dirname(state), { recursive: true })
  const server = await serve(noQuotas)
  // One request per segment: segments of a few events, batches of 500.
  const job: Job = {
    ...baseJob,
    baseUrl: server.url,
    count: total,
    file: resumeFile,
    variant: "crash",
    durable: {
      state,
      runKey: "bench-resume",
      ...timeframe,
      segmentEvents: settings.resumeSegmentEvents,
      batchSize,
      ingestsBeforeCrash: settings.resumeSegments
    }
  }
  log(`durable: a run of ${settings.resumeSegments} segments of ${settings.resumeSegmentEvents} events, then kill -9`)
  const firstProcessMs = await runUntilMarker(bundle, job, crashMarker, 1_800_000)
  const atKill = await server.stats()
  if (atKill.ingestRequests !== settings.resumeSegments) {
    throw new Error(
      `the crashed run sent ${atKill.ingestRequests} ingest requests, expected ${settings.resumeSegments}`
    )
  }
  const atKillSize = stateSize(state)
  log("durable: resuming in a new process")
  const spawnedAt = Date.now()
  const resumed = await runClient(bundle, { ...job, variant: "resume" }, 600_000, undefined)
  const resumeWallMs = Date.now() - spawnedAt
  const afterResume = await server.stats(false, spawnedAt)
  const backfill = await onlyBackfill(server.url)
  await stopServer(server)
  rmSync(Path.dirname(state), { recursive: true, force: true })
  if (backfill.events_ingested !== total) {
    throw new Error(`after the resume the backfill holds ${backfill.events_ingested} of ${total} events`)
  }
  const since = afterResume.ingestSince ?? { requests: 0, firstAt: 0 }
  return {
    events: settings.events,
    segmentEvents: settings.segmentEvents,
    batchSize,
    concurrency: ingestConcurrency,
    clients: results,
    wallRatio: durable.median.wallMs / memory.median.wallMs,
    cpuRatio: durable.median.cpuMicrosPerOp / memory.median.cpuMicrosPerOp,
    state: {
      dbBytes,
      walBytes,
      bytesPerThousandEvents: stateBytes / (settings.events / 1_000),
      checkpointedBytes,
      checkpointedBytesPerThousandEvents: checkpointedBytes / (settings.events / 1_000)
    },
    resume: {
      segments: settings.resumeSegments,
      segmentEvents: settings.resumeSegmentEvents,
      events: total,
      firstProcessMs,
      stateBytesAtKill: atKillSize.bytes,
      stateBytesPerThousandEvents: atKillSize.bytes / (finished / 1_000),
      checkpointedBytesAtKill: atKillSize.checkpointedBytes,
      checkpointedBytesPerThousandEvents: atKillSize.checkpointedBytes / (finished / 1_000),
      spawnToFirstIngestMs: since.requests > 0 ? since.firstAt - spawnedAt : Number.NaN,
      startedAtMs: resumed.extra.startedAtMs ?? Number.NaN,
      layerUpAtMs: resumed.extra.layerUpAtMs ?? Number.NaN,
      ingestRequestsAfterResume: since.requests,
      ingestRequestsExpected: Math.ceil(settings.resumeTail / settings.resumeSegmentEvents),
      resumeWallMs,
      eventsIngested: backfill.events_ingested
    }
  }
}
