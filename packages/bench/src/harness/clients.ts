/**
 * The clients each scenario compares: which worker program (`workers/`) runs, with which variant and
 * concurrency, under which label in the report. The order of a table is the order of the report's rows.
 */

/** A client program and the switch it runs with. */
export interface Client {
  readonly id: string
  readonly label: string
  readonly bundle: string
  readonly variant?: string
  readonly concurrency?: number
}

export const requestClients: ReadonlyArray<Client> = [
  { id: "raw-undici", label: "raw undici", bundle: "rawUndici" },
  { id: "raw-fetch", label: "global fetch", bundle: "rawFetch" },
  { id: "orb-billing", label: "orb-billing", bundle: "orbBilling" },
  { id: "effect-fetch-bare", label: "Effect FetchHttpClient alone (no library)", bundle: "oursFetch", variant: "bare" },
  {
    id: "effect-undici-bare",
    label: "Effect NodeHttpClient undici alone (no library)",
    bundle: "oursUndici",
    variant: "bare"
  },
  { id: "ours-fetch", label: "ours (FetchHttpClient)", bundle: "oursFetch" },
  { id: "ours-undici", label: "ours (NodeHttpClient undici)", bundle: "oursUndici" },
  {
    id: "ours-undici-httpspans",
    label: "ours (undici, httpSpans: true)",
    bundle: "oursUndici",
    variant: "httpspans"
  },
  { id: "ours-undici-notrace", label: "ours (undici, tracing off)", bundle: "oursUndici", variant: "notrace" }
]

/** ingestEncodedStream's default concurrency: the others send with the same. */
export const ingestConcurrency = 4

export const ingestClients: ReadonlyArray<Client> = [
  { id: "raw-undici", label: `raw undici x${ingestConcurrency}`, bundle: "rawUndici", concurrency: ingestConcurrency },
  { id: "orb-billing-loop", label: "orb-billing loop (x1)", bundle: "orbBilling", concurrency: 1 },
  {
    id: "orb-billing",
    label: `orb-billing x${ingestConcurrency}`,
    bundle: "orbBilling",
    concurrency: ingestConcurrency
  },
  {
    id: "ours-undici",
    label: `ours ingestEncodedStream (undici) x${ingestConcurrency}`,
    bundle: "oursUndici",
    concurrency: ingestConcurrency
  },
  {
    id: "ours-fetch",
    label: `ours ingestEncodedStream (fetch) x${ingestConcurrency}`,
    bundle: "oursFetch",
    concurrency: ingestConcurrency
  }
]

export const decodeClients: ReadonlyArray<Client> = [
  { id: "json-parse", label: "JSON.parse alone", bundle: "decode", variant: "json" },
  { id: "ours-schema", label: "JSON.parse + Schema.decodeUnknownSync(Backfill)", bundle: "decode", variant: "schema" }
]

export const overheadClients: ReadonlyArray<Client> = [
  { id: "stub", label: "in-process HttpClient alone (execute, text, JSON.parse)", bundle: "overhead", variant: "stub" },
  { id: "ours", label: "ours: Backfills.fetch", bundle: "overhead", variant: "ours" },
  { id: "ours-httpspans", label: "ours, httpSpans: true", bundle: "overhead", variant: "httpspans" },
  { id: "ours-notrace", label: "ours, tracing off", bundle: "overhead", variant: "notrace" },
  {
    id: "hand",
    label: "by hand: headers, execute, text, JSON.parse, Schema decode",
    bundle: "overhead",
    variant: "hand"
  },
  { id: "hand-timeout", label: "by hand + Effect.timeoutFail", bundle: "overhead", variant: "hand-timeout" },
  { id: "hand-retry", label: "by hand + Effect.retry (default schedule)", bundle: "overhead", variant: "hand-retry" },
  { id: "hand-span", label: "by hand + Effect.withSpan", bundle: "overhead", variant: "hand-span" },
  { id: "hand-fn", label: "by hand + Effect.fn wrapper", bundle: "overhead", variant: "hand-fn" }
]

/**
 * The durable scenario's runs of the same events: in memory; durable on SQLite, its engine's start timed with it (the
 * measure of issue 21); and durable on an engine already up, timed from the run (what a run costs an application or a
 * worker that built the engine once).
 */
export const durableClients: ReadonlyArray<Client> = [
  { id: "memory", label: "in memory: Backfills.run (encodedEvents)", bundle: "durable", variant: "memory" },
  { id: "durable", label: "durable: DurableRun.execute (SQLite)", bundle: "durable", variant: "durable" },
  {
    id: "engine-up",
    label: "durable, on an engine already up (timed from the run)",
    bundle: "durable",
    variant: "engine-up"
  }
]

export const startupPrograms = [
  { id: "baseline", label: "node, empty program", entry: "startup/baseline.ts", transport: "none" },
  { id: "ours-fetch", label: "ours (FetchHttpClient)", entry: "startup/ours.ts", transport: "fetch" },
  { id: "ours-undici", label: "ours (NodeHttpClient undici)", entry: "startup/ours.ts", transport: "undici" },
  { id: "orb-billing", label: "orb-billing", entry: "startup/orbBilling.ts", transport: "none" }
] as const

/**
 * The command line as it ships (`packages/cli`'s `build:bundle`), each row a whole command from spawn to exit:
 * `--help`, `list` against the in-process simulator (no `ORB_API_KEY`) and `list` of one backfill against the
 * bench's served simulator, the same request as the programs above.
 */
export const cliPrograms = [
  { id: "cli-help", label: "orb-backfill --help (bundle)", args: ["--help"], served: false },
  {
    id: "cli-list",
    label: "orb-backfill list (bundle, in-process simulator)",
    args: ["list", "--json"],
    served: false
  },
  {
    id: "cli-list-served",
    label: "orb-backfill list --limit 1 (bundle, served simulator)",
    args: ["list", "--limit", "1", "--json"],
    served: true
  }
] as const
