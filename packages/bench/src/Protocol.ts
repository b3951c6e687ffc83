/**
 * What the harness and its child processes say to each other: a job on the command line (as JSON), a
 * measurement back on stdout (one line after {@link resultMarker}).
 */

/** The scenarios a client process runs. */
export type ClientScenario = "fetch" | "list" | "ingest" | "quota" | "decode" | "durable" | "budget"

/** One job for a client process. */
export interface Job {
  readonly scenario: ClientScenario
  readonly baseUrl: string
  readonly apiKey: string
  /** fetch, ingest, quota: the backfill. */
  readonly backfillId: string
  /** fetch: requests; list: backfills expected; ingest, quota: events in the file. */
  readonly count: number
  /** fetch: untimed requests first (JIT, connection); list: untimed full passes over every backfill first. */
  readonly warmup: number
  /** ingest, quota: the NDJSON file. */
  readonly file: string
  /** ingest: requests in flight; 1 is the obvious one-at-a-time loop. */
  readonly concurrency: number
  /** A client's own switch, e.g. `notrace` for ours without tracing. */
  readonly variant: string
  /**
   * durable: the run's settings (the variant says which run: `memory`, `durable`, `engine-up`, `crash` or
   * `resume`).
   */
  readonly durable?: DurableJob | undefined
  /** budget: the runs of one process (the variant says which: `engine`, `beside`, `runner` or `submit`). */
  readonly budget?: BudgetJob | undefined
}

/**
 * Runs sharing one account's budget. In a SQLite state file: `engine` runs them durably on the engine over the file,
 * `beside` in memory (`Backfills.run`) in a process beside it, both taking from the budget in the file. On Postgres:
 * `runner` is one runner of the cluster (running whatever its shards hold until it is stopped), `submit` submits the
 * runs from a client-only engine and waits for the runners to end them.
 */
export interface BudgetJob {
  /** SQLite: the state file ("" on Postgres). */
  readonly state: string
  /** Postgres: the database every runner shares, and for `runner` the port its cluster peers reach it on. */
  readonly postgres?: { readonly url: string; readonly runnerPort?: number | undefined } | undefined
  readonly runs: ReadonlyArray<{
    readonly runKey: string
    readonly file: string
    readonly events: number
    /** ISO dates. */
    readonly timeframeStart: string
    readonly timeframeEnd: string
  }>
  /** The quota the runs keep, as the server enforces it. */
  readonly requestsPerSecond: number
  readonly eventsPerMinute: number
  readonly batchSize: number
  /** false: no budget (each process paces alone at the whole quota), for comparison. */
  readonly shared: boolean
}

/** A run of the durable scenario: `Backfills.run` in memory, or `DurableRun.execute` on a SQLite file. */
export interface DurableJob {
  /** The SQLite state file (the payload is kept beside it, in `<state>.payload.json`). */
  readonly state: string
  readonly runKey: string
  /** ISO dates. */
  readonly timeframeStart: string
  readonly timeframeEnd: string
  readonly segmentEvents: number
  readonly batchSize: number
  /** crash: ingest requests let through; the next one is held and the marker printed, for the harness to kill. */
  readonly ingestsBeforeCrash?: number | undefined
}

/** What the crash variant prints once its ingest requests are through and the next one is held. */
export const crashMarker = "@@bench-segments-done"

/** What the budget scenario's Postgres process prints before its database's URL, once it accepts connections. */
export const postgresMarker = "@@bench-postgres "

/** What a client measured, over the timed part of its job only (CPU) or its whole life (peak RSS). */
export interface Measurement {
  /** Operations done in the timed part: requests (fetch), backfills (list), events (ingest, quota, decode). */
  readonly ops: number
  readonly wallMs: number
  readonly cpuUserMicros: number
  readonly cpuSystemMicros: number
  /** Peak resident set size of the process, in kilobytes (`process.resourceUsage().maxRSS`). */
  readonly maxRssKb: number
  readonly extra: Readonly<Record<string, number>>
}

/** The marker before the JSON measurement on a client's stdout. */
export const resultMarker = "@@bench-result "

/** Server options, as JSON on its command line. */
export interface ServerConfig {
  readonly apiKey: string
  readonly quotas: "live" | "none"
  /** With `live`: every quota multiplied by this (default 1). */
  readonly quotaScale?: number | undefined
  /** Backfills created (in-process, before listening) for the list scenario, one hour each, all reverted. */
  readonly seedBackfills: number
  /** Added to every response (a network's round trip); 0 for none. */
  readonly latencyMs: number
}

/** Messages from the server process (over IPC). */
export type ServerMessage =
  | { readonly type: "ready"; readonly url: string; readonly seededIds: ReadonlyArray<string> }
  | { readonly type: "stats"; readonly stats: ServerStats }

/** Messages to the server process: `since` (ms since epoch) asks for the ingest requests received from then. */
export interface StatsRequest {
  readonly type: "stats"
  readonly detail?: boolean | undefined
  readonly since?: number | undefined
}

/** What the server saw, for the quota scenario and to check how busy it was. */
export interface ServerStats {
  readonly requests: number
  readonly byStatus: Readonly<Record<string, number>>
  readonly ingestRequests: number
  /** Ingest requests answered 429. */
  readonly ingest429: number
  /** Ingest requests answered 200: events (counted only with `detail`), first and last time (ms since epoch). */
  readonly ingestAccepted: number
  readonly ingestEventsAccepted: number
  readonly ingestLastBatchEvents: number
  readonly ingestFirstAt: number
  readonly ingestLastAt: number
  readonly cpuUserMicros: number
  readonly cpuSystemMicros: number
  readonly maxRssKb: number
  /** With `since`: ingest requests received from then (any status), and when the first arrived (0 if none). */
  readonly ingestSince?: { readonly requests: number; readonly firstAt: number } | undefined
}
