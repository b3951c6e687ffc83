/**
 * A durable run's engine in-process, as the in-process tests use it: the engine on a real SQLite file in a fresh
 * folder, the library over the simulator's test layer (reflecting in a second of the live clock), and the named
 * sources given. The folder is removed afterwards.
 */
import { Backfills, OrbClient } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { DurableEngine, DurableRun, RunSource } from "../../src/index.js"

export const withEngine = <A, E, R>(
  use: (dir: string) => Effect.Effect<A, E, R>,
  readers: Readonly<Record<string, RunSource.NamedReader>> = {}
) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-orb-in-process-"))
  const library = Backfills.layer.pipe(
    Layer.provideMerge(OrbClient.layer({ apiKey: Redacted.make("sk-sim"), baseUrl: "http://127.0.0.1/v1" })),
    Layer.provideMerge(OrbSimulator.layer({ apiKey: "sk-sim", reflectionDelay: "1 second" })),
    Layer.orDie
  )
  const layer = DurableRun.layer.pipe(
    Layer.provideMerge(RunSource.layerSources(readers)),
    Layer.provideMerge(DurableEngine.layerSqlite({ filename: path.join(dir, "state.sqlite") })),
    Layer.provideMerge(library),
    Layer.orDie
  )
  return use(dir).pipe(
    Effect.provide(layer),
    Effect.ensuring(Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
  )
}

/** A run that must fail as a run: its `RunFailed` (a state file that cannot be written is no such failure). */
export const runFailure = (payload: DurableRun.RunPayload) =>
  DurableRun.execute(payload).pipe(Effect.catchTag("StateUnwritable", Effect.die), Effect.flip)

/**
 * The engine on `dir`'s state file and the library over a simulator already built (its context, with its test
 * client), through `client`: a layer over that client that watches, holds or changes the run's requests; and the
 * named sources given.
 */
export const engineOver = (
  dir: string,
  simulator: Context.Context<OrbSimulator.OrbSimulator | HttpClient.HttpClient>,
  client: Layer.Layer<HttpClient.HttpClient, never, HttpClient.HttpClient>,
  readers: Readonly<Record<string, RunSource.NamedReader>> = {}
) =>
  DurableRun.layer.pipe(
    Layer.provideMerge(RunSource.layerSources(readers)),
    Layer.provideMerge(DurableEngine.layerSqlite({ filename: path.join(dir, "state.sqlite") })),
    Layer.provideMerge(
      Backfills.layer.pipe(
        Layer.provideMerge(OrbClient.layer({ apiKey: Redacted.make("sk-sim"), baseUrl: "http://127.0.0.1/v1" })),
        Layer.provideMerge(client)
      )
    ),
    Layer.provideMerge(Layer.succeedContext(simulator)),
    Layer.orDie
  )

/** A fresh folder, removed with the scope. */
export const tempFolder = (prefix: string) =>
  Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), prefix))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )
