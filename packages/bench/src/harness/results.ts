/**
 * What a run measured, as `latest.json` holds it and `Report.ts` prints it, and the medians it is summed up by.
 */
import type { Measurement } from "../Protocol.js"
import type { InputsResult } from "../scenarios/inputs.js"
import type { Client } from "./clients.js"
import type { Mode, Scenario } from "./settings.js"

/** One client's runs in one scenario (or one size of it), with medians. */
export interface ClientResult {
  readonly id: string
  readonly label: string
  readonly runs: ReadonlyArray<Measurement>
  readonly median: {
    readonly wallMs: number
    readonly opsPerSecond: number
    readonly cpuMicrosPerOp: number
    readonly maxRssMb: number
  }
  /** Server CPU per operation during the client's runs (median), where measured. */
  readonly serverCpuMicrosPerOp?: number | undefined
  readonly extra?: Readonly<Record<string, number>> | undefined
}

export interface ScenarioResult {
  readonly scenario: Scenario
  /** e.g. `100000 events`. */
  readonly title: string
  readonly unit: string
  readonly ops: number
  /** ingest: the delay the server added to every response. */
  readonly latencyMs?: number | undefined
  readonly clients: ReadonlyArray<ClientResult>
  /** Ratios are taken to these clients. */
  readonly rawId: string
  readonly orbId: string
}

/** What the server saw of ingestion against its quota: the rate achieved, its share, the 429s. */
export interface QuotaFigures {
  readonly wallMs: number
  readonly eventsPerMinute: number
  readonly shareOfQuota: number
  readonly ingestRequests: number
  readonly answered429: number
  readonly share429: number
}

export interface QuotaResult extends QuotaFigures {
  readonly events: number
  readonly quotaEventsPerMinute: number
  readonly clientRateLimited: number
}

/** Three runs into one account on two processes, sharing its budget in one SQLite file. */
export interface BudgetResult extends QuotaFigures {
  readonly runs: number
  readonly processes: number
  readonly events: number
  /** Orb's live quota multiplied by this, on the server and in the runs. */
  readonly quotaScale: number
  readonly quotaEventsPerMinute: number
  /** The same runs without the budget, each process pacing alone at the whole quota. */
  readonly withoutBudget: BudgetFigures
  /**
   * The same runs durably on 2 runner processes of a cluster on Postgres, sharing the budget in the database (not in
   * the smoke run).
   */
  readonly acrossRunners?: BudgetFigures | undefined
}

/** What the server saw of one run of the budget scenario. */
export type BudgetFigures = QuotaFigures

export interface StartupResult {
  readonly id: string
  readonly label: string
  /** For the command line: what its startup loads (the entry file and the chunks it imports statically). */
  readonly bundleBytes: number
  readonly bundleGzipBytes: number
  readonly runs: ReadonlyArray<
    { readonly importedMs: number; readonly firstRequestMs: number; readonly wallMs: number }
  >
  readonly median: { readonly importedMs: number; readonly firstRequestMs: number; readonly wallMs: number }
}

/** The durable scenario: a durable run beside the same run in memory, its state, and a resume after kill -9. */
export interface DurableResult {
  readonly events: number
  readonly segmentEvents: number
  readonly batchSize: number
  readonly concurrency: number
  /** `memory` (Backfills.run) and `durable` (DurableRun.execute), with server CPU per event. */
  readonly clients: ReadonlyArray<ClientResult>
  readonly wallRatio: number
  readonly cpuRatio: number
  /** The SQLite state file right after the durable run (median over its rounds), and per 1,000 events. */
  readonly state: {
    readonly dbBytes: number
    readonly walBytes: number
    readonly bytesPerThousandEvents: number
    /** A copy with the write-ahead log folded in (checkpointed): what the state holds. */
    readonly checkpointedBytes: number
    readonly checkpointedBytesPerThousandEvents: number
  }
  readonly resume: {
    readonly segments: number
    readonly segmentEvents: number
    /** Events in the file: the finished segments' and the tail's. */
    readonly events: number
    /** How long the crashed process took to finish its segments (from its spawn to the marker). */
    readonly firstProcessMs: number
    /** The state file at the kill, and per 1,000 finished events. */
    readonly stateBytesAtKill: number
    readonly stateBytesPerThousandEvents: number
    readonly checkpointedBytesAtKill: number
    readonly checkpointedBytesPerThousandEvents: number
    /** From the new process's spawn to the simulator's arrival time of its first ingest request. */
    readonly spawnToFirstIngestMs: number
    /** Inside the new process: when its code began, and when the engine's layer was up (ms since its start). */
    readonly startedAtMs: number
    readonly layerUpAtMs: number
    /** Ingest requests the new process sent, and those the finished segments would not need. */
    readonly ingestRequestsAfterResume: number
    readonly ingestRequestsExpected: number
    /** The new process's spawn to the run's end (close). */
    readonly resumeWallMs: number
    /** The backfill's events after the resume: every event once. */
    readonly eventsIngested: number
  }
}

export interface Results {
  readonly mode: Mode
  readonly date: string
  readonly rounds: number
  readonly machine: {
    readonly cpu: string
    readonly cores: number
    readonly memoryGiB: number
    readonly platform: string
    readonly release: string
    readonly arch: string
  }
  readonly node: string
  readonly versions: Readonly<Record<string, string>>
  readonly scenarios: ReadonlyArray<ScenarioResult>
  readonly quota?: QuotaResult | undefined
  readonly startup?: ReadonlyArray<StartupResult> | undefined
  readonly durable?: DurableResult | undefined
  /** The check pass over each input format (the inputs scenario). */
  readonly inputs?: InputsResult | undefined
  readonly budget?: BudgetResult | undefined
  readonly durationMs: number
}

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** A client's runs with their medians, and the server's CPU per operation during them where measured. */
export const summarise = (
  client: Client,
  runs: ReadonlyArray<Measurement>,
  serverCpu: ReadonlyArray<number> = []
): ClientResult => ({
  id: client.id,
  label: client.label,
  runs,
  median: {
    wallMs: median(runs.map((r) => r.wallMs)),
    opsPerSecond: median(runs.map((r) => r.ops / (r.wallMs / 1000))),
    cpuMicrosPerOp: median(runs.map((r) => (r.cpuUserMicros + r.cpuSystemMicros) / r.ops)),
    maxRssMb: median(runs.map((r) => r.maxRssKb / 1024))
  },
  serverCpuMicrosPerOp: serverCpu.length > 0 ? median(serverCpu) : undefined
})
