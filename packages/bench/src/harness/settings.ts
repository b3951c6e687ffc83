/**
 * What a run is asked for: the scenarios and their order, the modes and how much work each scenario does in
 * them, the options `main.ts` passes, and the fixed values every scenario's jobs share.
 */

/**
 * The scenarios, as `--only` names them. They run in `run`'s order: fetch, list and startup on one server, then
 * ingest, decode, overhead, durable and inputs, with quota alongside them all.
 */
export const scenarios = [
  "fetch",
  "list",
  "ingest",
  "quota",
  "decode",
  "startup",
  "overhead",
  "durable",
  "inputs",
  "budget"
] as const

export type Scenario = typeof scenarios[number]

export type Mode = "full" | "quick" | "smoke"

/** How much work each scenario does in a mode. */
export interface Sizes {
  readonly rounds: number
  readonly fetch: number
  readonly fetchWarmup: number
  readonly listBackfills: number
  /** Event counts of the ingest scenario (peak RSS is compared across them), and rounds for each. */
  readonly ingest: ReadonlyArray<number>
  readonly ingestRounds: ReadonlyArray<number>
  /** The ingest scenario again with a delay added to every response, as a network between client and Orb adds. */
  readonly ingestLatency: { readonly events: number; readonly latencyMs: number; readonly rounds: number }
  readonly quota: number
  readonly decode: number
  readonly startupRounds: number
  /** Requests of the analysis scenario (no socket). */
  readonly overhead: number
  /**
   * The durable scenario: a run of `events` (segments of `segmentEvents`, batches of 500) durable and in memory,
   * `rounds` each; then a run killed with kill -9 after `resumeSegments` finished segments of `resumeSegmentEvents`
   * (and `resumeTail` events more in the file), resumed by a new process.
   */
  readonly durable: {
    readonly events: number
    readonly segmentEvents: number
    readonly rounds: number
    readonly resumeSegments: number
    readonly resumeSegmentEvents: number
    readonly resumeTail: number
  }
  /** The inputs scenario: the check pass over `events` events in each input format, `rounds` each. */
  readonly inputs: { readonly events: number; readonly rounds: number }
  /**
   * The budget scenario: three runs of `eventsPerRun` events at Orb's live quota multiplied by `quotaScale`; with
   * `acrossRunners`, also on two runners of a cluster on Postgres (left out of the smoke run, which CI runs beside
   * every other test file: the budget's test across runners covers that path there).
   */
  readonly budget: { readonly eventsPerRun: number; readonly quotaScale: number; readonly acrossRunners: boolean }
}

export const sizes: Record<Mode, Sizes> = {
  full: {
    rounds: 3,
    fetch: 5_000,
    fetchWarmup: 500,
    listBackfills: 10_000,
    ingest: [100_000, 1_000_000],
    ingestRounds: [3, 1],
    ingestLatency: { events: 100_000, latencyMs: 20, rounds: 3 },
    quota: 200_000,
    decode: 100_000,
    startupRounds: 7,
    overhead: 20_000,
    durable: {
      events: 100_000,
      segmentEvents: 5_000,
      rounds: 3,
      resumeSegments: 2_000,
      resumeSegmentEvents: 10,
      resumeTail: 500
    },
    inputs: { events: 2_000_000, rounds: 1 },
    budget: { eventsPerRun: 40_000, quotaScale: 6, acrossRunners: true }
  },
  quick: {
    rounds: 2,
    fetch: 500,
    fetchWarmup: 100,
    listBackfills: 2_000,
    ingest: [10_000, 50_000],
    ingestRounds: [1, 1],
    ingestLatency: { events: 10_000, latencyMs: 20, rounds: 1 },
    quota: 10_000,
    decode: 20_000,
    startupRounds: 2,
    overhead: 5_000,
    durable: {
      events: 20_000,
      segmentEvents: 5_000,
      rounds: 1,
      resumeSegments: 500,
      resumeSegmentEvents: 10,
      resumeTail: 100
    },
    inputs: { events: 200_000, rounds: 1 },
    budget: { eventsPerRun: 20_000, quotaScale: 6, acrossRunners: true }
  },
  smoke: {
    rounds: 1,
    fetch: 200,
    fetchWarmup: 20,
    listBackfills: 300,
    ingest: [1_000],
    ingestRounds: [1],
    ingestLatency: { events: 1_000, latencyMs: 20, rounds: 1 },
    quota: 1_000,
    decode: 300,
    startupRounds: 1,
    overhead: 300,
    durable: {
      events: 2_000,
      segmentEvents: 500,
      rounds: 1,
      resumeSegments: 50,
      resumeSegmentEvents: 10,
      resumeTail: 50
    },
    inputs: { events: 5_000, rounds: 1 },
    budget: { eventsPerRun: 1_000, quotaScale: 6, acrossRunners: false }
  }
}

export interface Options {
  readonly mode: Mode
  /** Where `latest.json` goes. */
  readonly outDir: string
  readonly rounds?: number | undefined
  readonly only?: ReadonlySet<Scenario> | undefined
  /** Client ids to run under `node --cpu-prof` (profiles land in `<outDir>/profiles`). */
  readonly profile?: ReadonlySet<string> | undefined
  readonly log: (line: string) => void
}

/** The API key every simulator server of a run accepts, and every client sends. */
export const apiKey = "bench-secret-key"

/** The job fields a scenario leaves as they are unless it says otherwise. */
export const baseJob = { apiKey, warmup: 0, file: "", concurrency: 1, variant: "" }
