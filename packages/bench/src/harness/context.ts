/**
 * What `run` hands each scenario: the programs it built, its temporary folder, the sizes of its mode, and the
 * servers it starts for the scenario (stopped by `run` too if the scenario fails before it stops them).
 */
import type { ServerConfig } from "../Protocol.js"
import type { Client } from "./clients.js"
import type { RunningServer } from "./processes.js"
import type { Sizes } from "./settings.js"

export interface Context {
  /** The worker programs (`workers/`) by name, bundled. */
  readonly bundles: Readonly<Record<string, string>>
  /** Where the bundles are: the startup programs and the command line are built beside them. */
  readonly bundleDir: string
  /** The run's temporary folder (event files, state files), removed at its end. */
  readonly tmp: string
  readonly size: Sizes
  /** A scenario's rounds: `--rounds` where given, else the scenario's own count in this mode. */
  readonly rounds: (own: number) => number
  /** The timeframe of every backfill the scenarios create. */
  readonly range: { readonly start: number; readonly end: number }
  readonly serve: (config: ServerConfig) => Promise<RunningServer>
  readonly stopServer: (server: RunningServer) => Promise<void>
  readonly log: (line: string) => void
  /** Where a client's CPU profile goes in this scenario, if `--profile` asked for that client. */
  readonly profileFor: (client: Client, scenario: string) => string | undefined
}
