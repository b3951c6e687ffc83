// Several files as one run, from the real CLI over real files: repeated --file, a folder (its event files by name,
// hidden files and an export's markers skipped), a quoted glob; positions per file; and the inputs refused before
// anything is read or created, each in one sentence naming the file.
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { cli, cliForked, ndjson, simulator, slowPace, timeframe, until, wireEvent } from "./support.js"

const sim = OrbSimulator.OrbSimulator
const requests = Effect.flatMap(sim, (s) => s.requests)
const sentKeys = Effect.map(
  Effect.flatMap(sim, (s) => s.events),
  (events) => events.map((e) => e.idempotencyKey)
)
const keys = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `event-${from + i}`)

/** Events `from` to `to` as NDJSON. */
const range = (from: number, to: number) =>
  keys(from, to).map((_, i) => JSON.stringify(wireEvent(from + i))).join("\n") + "\n"
const csvRange = (from: number, to: number) =>
  "event_name,timestamp,external_customer_id,idempotency_key,units\n" +
  keys(from, to).map((_, i) => {
    const e = wireEvent(from + i)
    return `${e.event_name},${e.timestamp},${e.external_customer_id},${e.idempotency_key},${(from + i) % 7}`
  }).join("\n") + "\n"

const folderOf = (files: Record<string, string | Uint8Array>) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "orb-backfill-shards-"))
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
    fs.writeFileSync(path.join(dir, name), content)
  }
  return dir
}

describe("several files, one run", () => {
  it.live("repeated --file: every event once, in the order given, one backfill", () =>
    Effect.gen(function*() {
      const dir = folderOf({ "b.ndjson": range(1, 40), "a.ndjson": range(41, 100) })
      const ran = yield* cli([
        "run",
        "--file",
        path.join(dir, "b.ndjson"),
        "--file",
        path.join(dir, "a.ndjson"),
        ...timeframe,
        "--add"
      ])
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.include(ran.stderr, `Checked 2 files (${path.join(dir, "b.ndjson")}, …): 100 valid events.`)
      assert.deepStrictEqual((yield* sentKeys).sort(), keys(1, 100).sort())
      const backfills = yield* Effect.flatMap(sim, (s) => s.backfills)
      assert.strictEqual(backfills.length, 1)
    }).pipe(Effect.provide(simulator)), 60_000)

  it.live(
    "a folder: its event files by name, NDJSON, gzip and CSV each by its own format; dot files, _SUCCESS and subfolders skipped",
    () =>
      Effect.gen(function*() {
        const dir = folderOf({
          "part-2.csv": csvRange(31, 60),
          "part-1.ndjson.gz": zlib.gzipSync(range(1, 30)),
          "part-3.jsonl": range(61, 90),
          "_SUCCESS": "",
          ".part-1.ndjson.gz.crc": "junk",
          "nested/part-9.ndjson": range(91, 95)
        })
        const said = yield* cli(["run", "--file", dir, ...timeframe, "--add", "--dry-run"])
        assert.include(
          said.stderr,
          "Reading 3 files, in this order: 2 NDJSON (part-1.ndjson.gz, part-3.jsonl), 1 CSV (part-2.csv)."
        )
        const ran = yield* cli(["run", "--file", dir, ...timeframe, "--add", "--dry-run", "--json"])
        assert.strictEqual(ran.code, 0, ran.stderr)
        const report = JSON.parse(ran.stdout)
        assert.deepStrictEqual(
          report.file,
          ["part-1.ndjson.gz", "part-2.csv", "part-3.jsonl"].map((n) => path.join(dir, n))
        )
        assert.strictEqual(report.validation.events, 90)
        assert.strictEqual((yield* requests).length, 0)
        const sent = yield* cli(["run", "--file", dir, ...timeframe, "--add"])
        assert.strictEqual(sent.code, 0, sent.stderr)
        assert.deepStrictEqual(yield* sentKeys, keys(1, 90))
      }).pipe(Effect.provide(simulator)),
    60_000
  )

  it.live("a quoted glob: its matches by name", () =>
    Effect.gen(function*() {
      const dir = folderOf({ "u-10.ndjson": range(11, 20), "u-01.ndjson": range(1, 10), "other.ndjson": range(21, 30) })
      const ran = yield* cli(["run", "--file", path.join(dir, "u-*.ndjson"), ...timeframe, "--add"])
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.deepStrictEqual(yield* sentKeys, keys(1, 20))
    }).pipe(Effect.provide(simulator)), 60_000)

  it.live("the check pass names file:line in the file that holds it", () =>
    Effect.gen(function*() {
      const dir = folderOf({ "a.ndjson": range(1, 10), "b.ndjson": ndjson(10, (i) => i === 4 ? "{oops" : undefined) })
      const ran = yield* cli(["run", "--file", dir, ...timeframe, "--add"])
      assert.strictEqual(ran.code, 2)
      assert.include(ran.stderr, `${path.join(dir, "b.ndjson")}:4: not valid JSON`)
      assert.strictEqual((yield* requests).length, 0)
    }).pipe(Effect.provide(simulator)))

  it.live("the dry run's notes name file:line too", () =>
    Effect.gen(function*() {
      // The second file's third line holds its units as text; customer-0's first event of that file.
      const text = (i: number) => i === 3 ? JSON.stringify(wireEvent(13, { properties: { units: "0042" } })) : undefined
      const dir = folderOf({
        "a.ndjson": range(1, 10),
        "b.ndjson": ndjson(10, (i) => text(i) ?? JSON.stringify(wireEvent(10 + i)))
      })
      const dry = yield* cli(["run", "--file", dir, ...timeframe, "--add", "--dry-run"])
      assert.strictEqual(dry.code, 0, dry.stderr)
      const b = path.join(dir, "b.ndjson")
      assert.include(dry.stdout, `number in 19 events, string in 1 (first on ${b}:3: "0042")`)
      assert.include(dry.stdout, `customer-1 (external): units: number in 6 events, string in 1 (first on ${b}:3)`)
    }).pipe(Effect.provide(simulator)))
})

describe("a file that changes mid-run, in memory", () => {
  it.live("the send refuses it before reading it, naming it; the run ends reverted", () =>
    Effect.gen(function*() {
      const dir = folderOf({ "a.ndjson": range(1, 1_500), "b.ndjson": range(1_501, 1_510) })
      const control = yield* sim
      const started = yield* cliForked(["run", "--file", dir, ...timeframe, "--add", ...slowPace])
      yield* until(
        Effect.map(control.backfills, (all) => (all[0]?.eventsIngested ?? 0) >= 200),
        "some events in",
        started.stderr
      )
      fs.appendFileSync(path.join(dir, "b.ndjson"), JSON.stringify(wireEvent(1_511)) + "\n")
      const code = yield* Fiber.join(started.fiber)
      assert.strictEqual(code, 1, started.stderr())
      assert.include(started.stderr(), `${path.join(dir, "b.ndjson")}: changed since it was checked`)
      const backfills = yield* Effect.flatMap(sim, (s) => s.backfills)
      assert.strictEqual(backfills.length, 1)
      assert.include(["reverted", "pending_revert"], backfills[0].status)
      assert.notInclude(yield* sentKeys, "event-1501")
    }).pipe(Effect.provide(simulator)), 60_000)
})

describe("several files refused before anything is read, in one sentence", () => {
  const refusedWith = (args: ReadonlyArray<string>, pattern: RegExp) =>
    Effect.gen(function*() {
      const ran = yield* cli(["run", ...args, ...timeframe, "--add"])
      assert.strictEqual(ran.code, 2, ran.stderr)
      assert.match(ran.stderr, pattern)
      assert.strictEqual(ran.stderr.trim().split("\n").filter((line) => line.startsWith("Error:")).length, 1)
      assert.notInclude(ran.stderr, "    at ")
      assert.strictEqual((yield* requests).length, 0)
    }).pipe(Effect.provide(simulator))

  it.live("a glob that matches nothing", () => {
    const dir = folderOf({ "a.ndjson": range(1, 2) })
    return refusedWith(["--file", path.join(dir, "*.csv")], /--file .*\*\.csv: no file matches it; nothing was read/)
  })
  it.live("an empty folder (markers only)", () => {
    const dir = folderOf({ "_SUCCESS": "" })
    return refusedWith(
      ["--file", dir],
      /holds no event files \(hidden files, names starting with _ and subfolders are skipped\)/
    )
  })
  it.live("a folder with a file whose name tells no format, named", () => {
    const dir = folderOf({ "a.ndjson": range(1, 2), "README.md": "# export" })
    return refusedWith(["--file", dir], /: cannot tell the format of README\.md from the name/)
  })
  it.live("a zstd shard among plain ones, named", () => {
    const dir = folderOf({ "a.ndjson": range(1, 2), "b.ndjson": Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4]) })
    return refusedWith(["--file", dir], /b\.ndjson is zstd-compressed/)
  })
  it.live("a link to nothing in a folder: unreadable, named", () => {
    const dir = folderOf({ "a.ndjson": range(1, 2) })
    fs.symlinkSync(path.join(dir, "gone.ndjson"), path.join(dir, "b.ndjson"))
    return refusedWith(["--file", dir], /b\.ndjson.*cannot be read \(a link to nothing\)/)
  })
  it.live("the same file twice", () => {
    const dir = folderOf({ "a.ndjson": range(1, 2) })
    return refusedWith(["--file", dir, "--file", path.join(dir, "a.ndjson")], /a\.ndjson is named twice by --file/)
  })
  it.live("a path that does not exist", () =>
    refusedWith(
      ["--file", "/nonexistent/x.ndjson", "--file", "/nonexistent/y.ndjson"],
      /\/nonexistent\/x\.ndjson.*no such file or folder/
    ))
})
