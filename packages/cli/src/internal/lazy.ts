/**
 * Modules the command line loads on first use only, so that `--help`, `list` or a run in memory never load
 * what they do not need (a bundle keeps each in a chunk of its own).
 */
import * as Effect from "effect/Effect"
import type * as DurableModule from "./durable.js"
import type * as WorkerModule from "./worker.js"

/**
 * The durable runs (`Durable.ts`): the SQLite engine (better-sqlite3, a native module), `@effect/cluster` and
 * `@effect/workflow`.
 */
export const durable: Effect.Effect<typeof DurableModule> = Effect.promise(() => import("./durable.js"))

/** `orb-backfill worker` (`worker.ts`): the durable runs' engine as a runner on Postgres. */
export const worker: Effect.Effect<typeof WorkerModule> = Effect.promise(() => import("./worker.js"))
