/**
 * Scenario 6, ours: import, build the layers, fetch one backfill. Bundled and minified by esbuild, once per
 * transport (`ORB_BENCH_TRANSPORT` is replaced at build time, so each bundle holds one transport only).
 */
import { Backfills, OrbClient } from "@effect-orb/backfills"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"

declare const ORB_BENCH_TRANSPORT: "fetch" | "undici"

const imported = performance.now()
const [baseUrl = "", apiKey = "", id = ""] = process.argv.slice(2)

const layer = Backfills.layer.pipe(
  Layer.provide(OrbClient.layer({ apiKey: Redacted.make(apiKey), baseUrl })),
  Layer.provide(ORB_BENCH_TRANSPORT === "undici" ? NodeHttpClient.layerUndici : FetchHttpClient.layer)
)

Effect.runPromise(Effect.provide(Backfills.fetch(id), layer)).then((backfill) => {
  const done = performance.now()
  process.stdout.write(`${JSON.stringify({ importedMs: imported, firstRequestMs: done, id: backfill.id })}\n`)
})
