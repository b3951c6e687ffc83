/**
 * Standard input and shards through the real `orb-backfill` process: a pipe into `run --file -` (in memory: read
 * once into a private temporary file, removed at exit; durable: spooled into the state folder, pinned, removed by
 * `runs prune`), and a durable run over three shards killed with SIGKILL in the middle of the second, resumed: every
 * event counted once; the same for a Parquet file killed in the middle of its second row group.
 */
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { parquetWriteBuffer } from "hyparquet-writer"
import * as child from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { ndjson, slowPace, timeframe, until, wireEvent } from "./support.js"

const apiKey = "sk-pipes-cli"
const packageDir = fileURLToPath(new URL("..", import.meta.url))

const folder = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "orb-backfill-pipes-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

interface Spawned {
  readonly proc: child.ChildProcess
  readonly stderr: () => string
  readonly exit: Effect.Effect<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>
}

/** `orb-backfill` as a process of its own, `input` piped into its standard input. */
const spawn = (args: ReadonlyArray<string>, env: Record<string, string | undefined>, input?: string) =>
  Effect.acquireRelease(
    Effect.sync((): Spawned => {
      const { ORB_API_KEY: _, ORB_BASE_URL: __, ...base } = process.env
      const proc = child.spawn(process.execPath, ["--import", "tsx", "src/bin.ts", ...args], {
        cwd: packageDir,
        env: { ...base, ...env },
        stdio: ["pipe", "pipe", "pipe"]
      })
      let stdout = ""
      let stderr = ""
      proc.stdout!.on("data", (chunk) => stdout += chunk)
      proc.stderr!.on("data", (chunk) => stderr += chunk)
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        proc.on("exit", (code, signal) => resolve({ code, signal }))
      )
      // A real pipe, written in pieces, then closed.
      if (input !== undefined) {
        const half = input.indexOf("\n", input.length / 2) + 1
        proc.stdin!.write(input.slice(0, half))
        setTimeout(() => proc.stdin!.end(input.slice(half)), 50)
      } else proc.stdin!.end()
      return {
        proc,
        stderr: () => stderr,
        exit: Effect.map(Effect.promise(() => exited), (exit) => ({ ...exit, stdout, stderr }))
      }
    }),
    ({ proc }) => Effect.sync(() => proc.kill("SIGKILL"))
  )

const served = Effect.gen(function*() {
  const server = yield* OrbSimulator.serve({ apiKey, reflectionDelay: "500 millis", revertDelay: "300 millis" })
  return { simulator: server.simulator, env: { ORB_API_KEY: apiKey, ORB_BASE_URL: server.url } }
})

const fast = ["--events-per-minute", "6000000", "--requests-per-second", "1000"]

describe("standard input, through a real pipe", () => {
  it.scopedLive("in memory: read once into a private temporary file, removed at exit", () =>
    Effect.gen(function*() {
      const ran = yield* Effect.flatMap(
        spawn(["run", "--file", "-", ...timeframe, "--add"], {}, ndjson(800)),
        (p) => p.exit
      )
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.include(ran.stderr, "Checked ")
      assert.include(ran.stderr, ": 800 valid events.")
      assert.match(ran.stdout, /Sent 800 events/)
      const spooled = /Read standard input into (\S+)\./.exec(ran.stderr)![1]
      assert.match(path.basename(path.dirname(spooled)), /^orb-backfill-stdin-/)
      assert.isFalse(fs.existsSync(spooled), "the spooled file is removed at exit")
      assert.isFalse(fs.existsSync(path.dirname(spooled)), "its folder too")
    }), 120_000)

  it.scopedLive(
    "a bad line on standard input: one sentence naming the place, nothing created, nothing left",
    () =>
      Effect.gen(function*() {
        const ran = yield* Effect.flatMap(
          spawn(["run", "--file", "-", ...timeframe, "--add"], {}, ndjson(20, (i) => i === 7 ? "{oops" : undefined)),
          (p) => p.exit
        )
        assert.strictEqual(ran.code, 2, ran.stderr)
        assert.match(ran.stderr, /Error: 1 invalid line in \S+stdin \(first: \S+stdin:7: not valid JSON/)
        const spooled = /Read standard input into (\S+)\./.exec(ran.stderr)![1]
        assert.isFalse(fs.existsSync(spooled))
      }),
    120_000
  )

  it.scopedLive(
    "durable: spooled into the state folder (0600), pinned by SHA-256, removed by runs prune",
    () =>
      Effect.gen(function*() {
        const dir = yield* folder
        const { env, simulator } = yield* served
        const state = path.join(dir, "runs.sqlite")
        const input = ndjson(600)
        const ran = yield* Effect.flatMap(
          spawn(["run", "--file", "-", ...timeframe, "--add", "--state", state, ...fast], env, input),
          (p) => p.exit
        )
        assert.strictEqual(ran.code, 0, ran.stderr)
        const spooled = /Read standard input into (\S+)\./.exec(ran.stderr)![1]
        const sha256 = (yield* Effect.promise(() => import("node:crypto"))).createHash("sha256").update(input).digest(
          "hex"
        )
        assert.strictEqual(spooled, path.join(dir, "spool", `stdin-${sha256}`))
        assert.strictEqual(fs.statSync(spooled).mode & 0o777, 0o600)
        assert.strictEqual(fs.statSync(path.dirname(spooled)).mode & 0o777, 0o700)
        assert.strictEqual((yield* simulator.backfills)[0].eventsIngested, 600)
        const pruned = yield* Effect.flatMap(
          spawn(["runs", "prune", "--older-than", "0", "--state", state], env),
          (p) => p.exit
        )
        assert.strictEqual(pruned.code, 0, pruned.stderr)
        assert.include(pruned.stdout, "Pruned 1 durable run")
        assert.isFalse(fs.existsSync(spooled), "the spooled input is removed with its run")
      }),
    120_000
  )
})

describe("a durable run over three shards, killed in the middle of the second", () => {
  it.scopedLive("resumed: every event counted once", () =>
    Effect.gen(function*() {
      const dir = yield* folder
      const { env, simulator } = yield* served
      const state = path.join(dir, "runs.sqlite")
      const shards = path.join(dir, "shards")
      fs.mkdirSync(shards)
      const per = 1_500
      for (let shard = 0; shard < 3; shard++) {
        fs.writeFileSync(
          path.join(shards, `part-${shard}.ndjson`),
          Array.from({ length: per }, (_, i) => JSON.stringify(wireEvent(shard * per + i + 1))).join("\n") + "\n"
        )
      }
      const started = yield* spawn(["run", "--file", shards, ...timeframe, "--add", "--state", state, ...slowPace], env)
      // In the middle of the second shard: its events are the second 1,500.
      yield* until(
        Effect.map(simulator.backfills, (all) => (all[0]?.eventsIngested ?? 0) >= per + 400),
        "the second shard half sent",
        started.stderr
      )
      started.proc.kill("SIGKILL")
      const killed = yield* started.exit
      assert.strictEqual(killed.signal, "SIGKILL")
      const at = (yield* simulator.backfills)[0].eventsIngested
      assert.isBelow(at, 2 * per, "killed before the second shard was done")
      const resumed = yield* Effect.flatMap(spawn(["resume", "--state", state], env), (p) => p.exit)
      assert.strictEqual(resumed.code, 0, resumed.stderr)
      const backfills = yield* simulator.backfills
      assert.strictEqual(backfills.length, 1)
      assert.strictEqual(backfills[0].status, "reflected")
      assert.strictEqual(backfills[0].eventsIngested, 3 * per)
      const events = (yield* simulator.events).filter((e) => e.backfillId._tag === "Some")
      assert.strictEqual(events.length, 3 * per, "every event recorded once")
      assert.strictEqual(new Set(events.map((e) => e.idempotencyKey)).size, 3 * per)
    }), 180_000)

  it.scopedLive(
    "a shard changed while the run was down: the resume names it and sends nothing of it",
    () =>
      Effect.gen(function*() {
        const dir = yield* folder
        const { env, simulator } = yield* served
        const state = path.join(dir, "runs.sqlite")
        const shards = path.join(dir, "shards")
        fs.mkdirSync(shards)
        const per = 1_500
        for (let shard = 0; shard < 3; shard++) {
          fs.writeFileSync(
            path.join(shards, `part-${shard}.ndjson`),
            Array.from({ length: per }, (_, i) => JSON.stringify(wireEvent(shard * per + i + 1))).join("\n") + "\n"
          )
        }
        const started = yield* spawn(
          ["run", "--file", shards, ...timeframe, "--add", "--state", state, ...slowPace],
          env
        )
        yield* until(
          Effect.map(simulator.backfills, (all) => (all[0]?.eventsIngested ?? 0) >= 300),
          "the first shard begun",
          started.stderr
        )
        started.proc.kill("SIGKILL")
        yield* started.exit
        const third = path.join(shards, "part-2.ndjson")
        fs.appendFileSync(third, JSON.stringify(wireEvent(9_999)) + "\n")
        const before = (yield* simulator.backfills)[0].eventsIngested
        const resumed = yield* Effect.flatMap(spawn(["resume", "--state", state], env), (p) => p.exit)
        assert.strictEqual(resumed.code, 1, resumed.stderr)
        assert.include(resumed.stderr, `${third} changed since the run was submitted`)
        const after = yield* simulator.backfills
        assert.strictEqual(after[0].eventsIngested, before, "nothing more was sent")
      }),
    180_000
  )
})

describe("a durable run over a Parquet file, killed in the middle of its second row group", () => {
  it.scopedLive("resumed: every row counted once", () =>
    Effect.gen(function*() {
      const dir = yield* folder
      const { env, simulator } = yield* served
      const state = path.join(dir, "runs.sqlite")
      const file = path.join(dir, "export.parquet")
      const group = 1_500
      const events = Array.from({ length: 3 * group }, (_, i) => wireEvent(i + 1))
      fs.writeFileSync(
        file,
        new Uint8Array(parquetWriteBuffer({
          columnData: [
            { name: "event_name", data: events.map((e) => e.event_name), type: "STRING" },
            { name: "timestamp", data: events.map((e) => new Date(e.timestamp)), type: "TIMESTAMP" },
            { name: "external_customer_id", data: events.map((e) => e.external_customer_id), type: "STRING" },
            { name: "idempotency_key", data: events.map((e) => e.idempotency_key), type: "STRING" },
            { name: "units", data: events.map((e) => e.properties.units), type: "INT32" }
          ],
          rowGroupSize: group
        }))
      )
      const started = yield* spawn(["run", "--file", file, ...timeframe, "--add", "--state", state, ...slowPace], env)
      yield* until(
        Effect.map(simulator.backfills, (all) => (all[0]?.eventsIngested ?? 0) >= group + 400),
        "the second row group half sent",
        started.stderr
      )
      started.proc.kill("SIGKILL")
      const killed = yield* started.exit
      assert.strictEqual(killed.signal, "SIGKILL")
      const at = (yield* simulator.backfills)[0].eventsIngested
      assert.isBelow(at, 2 * group, "killed before the second row group was done")
      const resumed = yield* Effect.flatMap(spawn(["resume", "--state", state], env), (p) => p.exit)
      assert.strictEqual(resumed.code, 0, resumed.stderr)
      const backfills = yield* simulator.backfills
      assert.strictEqual(backfills.length, 1)
      assert.strictEqual(backfills[0].status, "reflected")
      assert.strictEqual(backfills[0].eventsIngested, 3 * group)
      const sent = (yield* simulator.events).filter((e) => e.backfillId._tag === "Some")
      assert.strictEqual(sent.length, 3 * group, "every row recorded once")
      assert.deepStrictEqual(
        sent.map((e) => e.idempotencyKey).sort(),
        events.map((e) => e.idempotency_key).sort()
      )
      assert.deepStrictEqual(sent.find((e) => e.idempotencyKey === "event-1600")?.properties, { units: 1600 % 7 })
    }), 180_000)
})
