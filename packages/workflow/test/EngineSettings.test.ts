/**
 * The embedded engine's settings are its own: `@effect/cluster`'s `ShardingConfig.layerFromEnv` reads twenty
 * variables of the process environment in constant case (`SHARDS_PER_GROUP`, `HOST`, ...), and one set for something
 * else changed how a state file's runs were stored: its runs' messages on other shards than the same file's runs in
 * any other process (a resume there would not find them). In-process: the engine on a real SQLite file, the library
 * over the simulator's test layer.
 */
import { OrbSimulator } from "@effect-orb/simulator"
import * as HttpClient from "@effect/platform/HttpClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Hash from "effect/Hash"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as path from "node:path"
import { DurableRun, RunSource } from "../src/index.js"
import { engineOver, tempFolder } from "./support/inProcess.js"

const start = Date.parse("2026-08-01T00:00:00Z")

/** `@effect/cluster`'s shard of an entity among its default 300 (`Sharding.getShardId`). */
const shardOf = (entityId: string) => Math.abs(Hash.string(entityId) % 300) + 1

describe("the engine's settings", () => {
  it.scopedLive(
    "are not read from the process environment: SHARDS_PER_GROUP=1 changes no shard",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempFolder("effect-orb-settings-")
        const file = path.join(dir, "events.ndjson")
        fs.writeFileSync(
          file,
          JSON.stringify({
            event_name: "api_call",
            timestamp: new Date(start).toISOString(),
            external_customer_id: "acme",
            idempotency_key: "s-1",
            properties: {}
          }) + "\n"
        )
        const simulator = yield* Layer.build(OrbSimulator.layer({ apiKey: "sk-sim", reflectionDelay: "1 hour" }))
        const source = yield* RunSource.fromFile(file)
        // A run key whose shard among 300 is not the one shard a setting of 1 would give every run (the execution id,
        // and so the shard, follows from the run key alone).
        let payload: DurableRun.RunPayload | undefined
        let executionId = ""
        for (let i = 0; payload === undefined; i++) {
          const candidate = yield* DurableRun.payload({
            runKey: `settings-${i}`,
            source,
            timeframeStart: DateTime.unsafeMake(start),
            timeframeEnd: DateTime.unsafeMake(start + 86_400_000),
            replaceExistingEvents: false,
            quota: false,
            until: "closed"
          })
          executionId = yield* DurableRun.BackfillRun.executionId(candidate)
          if (shardOf(executionId) !== 1) payload = candidate
        }
        const before = process.env.SHARDS_PER_GROUP
        yield* Effect.acquireRelease(
          Effect.sync(() => {
            process.env.SHARDS_PER_GROUP = "1"
          }),
          () =>
            Effect.sync(() => {
              if (before === undefined) delete process.env.SHARDS_PER_GROUP
              else process.env.SHARDS_PER_GROUP = before
            })
        )
        yield* Effect.gen(function*() {
          const result = yield* DurableRun.execute(payload!)
          assert.strictEqual(result.accepted, 1)
          const sql = yield* SqlClient.SqlClient
          const shards = yield* sql<{ readonly shard_id: string }>`SELECT DISTINCT shard_id FROM cluster_messages`
          assert.deepStrictEqual(shards.map((row) => row.shard_id), [`default:${shardOf(executionId)}`])
        }).pipe(
          Effect.provide(engineOver(dir, simulator, Layer.effect(HttpClient.HttpClient, HttpClient.HttpClient)))
        )
      }),
    30_000
  )
})
