// Parquet files (written here by hyparquet-writer) through the real CLI: recognised by content or name, checked and
// sent as NDJSON is, rows named by row group and row, a truncated file refused in one sentence with nothing created.
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { parquetWriteBuffer } from "hyparquet-writer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { cli, cliAt, fastPace, simulator, tempFile, timeframe, wireEvent } from "./support.js"

const sim = OrbSimulator.OrbSimulator
const requests = Effect.flatMap(sim, (s) => s.requests)
const sentKeys = Effect.map(
  Effect.flatMap(sim, (s) => s.events),
  (events) => events.map((e) => e.idempotencyKey).sort()
)

const count = 3_000
const events = Array.from({ length: count }, (_, i) => wireEvent(i + 1))
const parquet = (change: (i: number) => Date | undefined = () => undefined) =>
  new Uint8Array(parquetWriteBuffer({
    columnData: [
      { name: "event_name", data: events.map((e) => e.event_name), type: "STRING" },
      {
        name: "timestamp",
        data: events.map((e, i) => change(i + 1) ?? new Date(e.timestamp)),
        type: "TIMESTAMP"
      },
      { name: "external_customer_id", data: events.map((e) => e.external_customer_id), type: "STRING" },
      { name: "idempotency_key", data: events.map((e) => e.idempotency_key), type: "STRING" },
      { name: "units", data: events.map((e) => BigInt(e.properties.units)), type: "INT64" },
      { name: "region", data: events.map((e) => e.properties.region), type: "STRING" }
    ],
    rowGroupSize: 1_000
  }))
const writeFile = (name: string, content: Uint8Array) => {
  const file = tempFile(name, "")
  fs.writeFileSync(file, content)
  return file
}
const allKeys = events.map((e) => e.idempotency_key).sort()

describe("a Parquet file", () => {
  for (const name of ["events.parquet", "warehouse-export"]) {
    it.live(`${name}: checked, then every row sent once with its typed properties`, () =>
      Effect.gen(function*() {
        const file = writeFile(name, parquet())
        const dry = yield* cli(["run", "--file", file, ...timeframe, "--add", "--dry-run"])
        assert.strictEqual(dry.code, 0, dry.stderr)
        assert.include(dry.stderr, `Checked ${file}: 3,000 valid events.`)
        assert.strictEqual((yield* requests).length, 0)
        const ran = yield* cli(["run", "--file", file, ...timeframe, "--add"])
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.deepStrictEqual(yield* sentKeys, allKeys)
        const sent = (yield* Effect.flatMap(sim, (s) => s.events)).find((e) => e.idempotencyKey === "event-8")
        assert.deepStrictEqual(sent?.properties, { units: 1, region: "eu" })
      }).pipe(Effect.provide(simulator)), 60_000)
  }

  it.live("an invalid row is named by its row group and row; nothing created", () =>
    Effect.gen(function*() {
      const file = writeFile(
        "late.parquet",
        parquet((i) => i === 1_200 ? new Date("2026-09-01T00:00:00Z") : undefined)
      )
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add"])
      assert.strictEqual(ran.code, 2, ran.stderr)
      assert.include(
        ran.stderr,
        `${file}: row group 2, row 1200: timestamp: 2026-09-01T00:00:00.000Z is outside the timeframe`
      )
      assert.strictEqual((yield* requests).length, 0)
    }).pipe(Effect.provide(simulator)), 60_000)

  it.live("a truncated Parquet file: one sentence naming it, exit 2, nothing created", () =>
    Effect.gen(function*() {
      const whole = parquet()
      const file = writeFile("cut.parquet", whole.subarray(0, whole.length - 100))
      for (const dryRun of [[], ["--dry-run"]]) {
        const ran = yield* cli(["run", "--file", file, ...timeframe, "--add", ...dryRun])
        assert.strictEqual(ran.code, 2, ran.stderr)
        assert.match(
          ran.stderr,
          new RegExp(
            `Error: ${file}: the Parquet footer is missing or corrupt \\(is the file truncated\\?\\): .+\\.\\n$`
          )
        )
      }
      assert.strictEqual((yield* requests).length, 0)
    }).pipe(Effect.provide(simulator)), 60_000)

  it.live(
    "several files: a note names the file and the row group of its place; invalid rows counted as rows",
    () =>
      Effect.gen(function*() {
        const first = writeFile("first.parquet", parquet())
        // Ten more events whose units are text, the first one late: a wrong column, and an invalid row.
        const more = Array.from({ length: 10 }, (_, i) => wireEvent(count + i + 1))
        const second = writeFile(
          "second.parquet",
          new Uint8Array(parquetWriteBuffer({
            columnData: [
              { name: "event_name", data: more.map((e) => e.event_name), type: "STRING" },
              {
                name: "timestamp",
                data: more.map((e, i) => i === 0 ? new Date("2026-09-01T00:00:00Z") : new Date(e.timestamp)),
                type: "TIMESTAMP"
              },
              { name: "external_customer_id", data: more.map((e) => e.external_customer_id), type: "STRING" },
              { name: "idempotency_key", data: more.map((e) => e.idempotency_key), type: "STRING" },
              { name: "units", data: more.map((e) => `${e.properties.units}`), type: "STRING" }
            ],
            rowGroupSize: 3
          }))
        )
        const refused = yield* cli(["run", "--file", first, "--file", second, ...timeframe, "--add", "--dry-run"])
        assert.strictEqual(refused.code, 2, refused.stderr)
        assert.include(refused.stderr, "Checked 2 files (")
        assert.include(refused.stderr, ": 3,009 valid events, 1 invalid row.")
        assert.include(refused.stderr, `${second}: row group 1, row 1: timestamp:`)
        assert.include(refused.stderr, "1 invalid row in 2 files (")
        const dry = yield* cli([
          "run",
          "--file",
          first,
          "--file",
          second,
          ...timeframe,
          "--add",
          "--dry-run",
          "--skip-invalid"
        ])
        assert.strictEqual(dry.code, 0, dry.stderr)
        assert.include(dry.stdout, `string in 9 (first on ${second} row group 1, row 2: "6")`)
        // customer-1's first event of the file (row 1) is invalid: its next (row 4) begins the second row group.
        assert.include(
          dry.stdout,
          `customer-1 (external): units: number in 1,000 events, string in 3 (first on ${second} row group 2, row 4)`
        )
        assert.include(dry.stdout, "(1 invalid row left out)")
        assert.strictEqual((yield* requests).length, 0)
      }).pipe(Effect.provide(simulator)),
    60_000
  )
})

describe("a Parquet file, durably", () => {
  it.scopedLive(
    "a durable run against a served Orb reads it by rows: every row sent once, typed",
    () =>
      Effect.gen(function*() {
        const apiKey = "sk-parquet-durable"
        const server = yield* OrbSimulator.serve({ apiKey, reflectionDelay: "1 second", revertDelay: "500 millis" })
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "orb-backfill-parquet-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
        const { run } = yield* cliAt(server.url, apiKey)
        const file = writeFile("durable-export", parquet())
        const ran = yield* run([
          "run",
          "--file",
          file,
          ...timeframe,
          "--add",
          "--state",
          path.join(dir, "runs.sqlite"),
          ...fastPace
        ])
        assert.strictEqual(ran.code, 0, ran.stderr)
        assert.match(ran.stdout, /Backfill \S+ is reflected: 3,000 events/)
        const sent = (yield* server.simulator.events).filter((e) => e.backfillId._tag === "Some")
        assert.deepStrictEqual(sent.map((e) => e.idempotencyKey).sort(), allKeys)
        assert.deepStrictEqual(sent.find((e) => e.idempotencyKey === "event-8")?.properties, { units: 1, region: "eu" })
      }),
    60_000
  )
})
