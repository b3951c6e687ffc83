// What the command line lets in: dates read strictly (flags, NDJSON, CSV), events in the future refused in the
// check pass, and lines longer than `Backfill.maxEventBytes` refused by the line reader without holding them.
import { Backfill } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import { EventFile } from "@effect-orb/workflow"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as Cli from "../src/Cli.js"
import { cli, ndjson, simulator, tempFile, timeframe, wireEvent } from "./support.js"

const backfills = Effect.flatMap(OrbSimulator.OrbSimulator, (sim) => sim.backfills)

describe("date flags", () => {
  it("take a date-time (without a zone: UTC), or a date alone as midnight UTC, and refuse an impossible date", () => {
    assert.deepStrictEqual(
      Cli.parseTime("start", "2026-01-01"),
      Either.right(DateTime.unsafeMake("2026-01-01T00:00:00Z"))
    )
    assert.deepStrictEqual(
      Cli.parseTime("start", "2026-01-01T02:00:00+02:00"),
      Either.right(DateTime.unsafeMake("2026-01-01T00:00:00Z"))
    )
    assert.deepStrictEqual(
      Cli.parseTime("start", "2026-01-01T02:00:00"),
      Either.right(DateTime.unsafeMake("2026-01-01T02:00:00Z"))
    )
    const refused = (text: string) => {
      const parsed = Cli.parseTime("end", text)
      return Either.isLeft(parsed) ? parsed.left.message : assert.fail(`accepted ${text}`)
    }
    assert.strictEqual(refused("2026-11-31"), `--end: "2026-11-31" is not a calendar date (November 2026 has 30 days)`)
    assert.match(refused("2026-02-30T00:00:00Z"), /February 2026 has 28 days/)
    assert.match(refused("2026-02-29T00:00:00"), /February 2026 has 28 days/)
    assert.match(refused("Thu, 01 Oct 2026 00:00:00 GMT"), /is not an ISO 8601 date/)
  })

  it.live("run --end 2026-11-31 is bad usage, and nothing is created", () =>
    Effect.gen(function*() {
      const file = tempFile("dates.ndjson", ndjson(3))
      const ran = yield* cli(["run", "--file", file, "--start", "2026-11-01", "--end", "2026-11-31", "--add"])
      assert.strictEqual(ran.code, 2)
      assert.include(ran.stderr, `--end: "2026-11-31" is not a calendar date (November 2026 has 30 days)`)
      assert.strictEqual((yield* backfills).length, 0)
    }).pipe(Effect.provide(simulator)))
})

describe("timestamps in a file", () => {
  it.live("an impossible date, with a zone or without, is named by file and line, NDJSON and CSV alike", () =>
    Effect.gen(function*() {
      const file = tempFile(
        "moved.ndjson",
        ndjson(5, (line) =>
          line === 2
            ? JSON.stringify(wireEvent(2, { timestamp: "2026-02-29T10:00:00" }))
            : line === 4
            ? JSON.stringify(wireEvent(4, { timestamp: "2026-09-31T10:00:00Z" }))
            : undefined)
      )
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add"])
      assert.strictEqual(ran.code, 2)
      assert.include(
        ran.stderr,
        `${file}:2: timestamp: "2026-02-29T10:00:00" is not a calendar date (February 2026 has 28 days)`
      )
      assert.include(
        ran.stderr,
        `${file}:4: timestamp: "2026-09-31T10:00:00Z" is not a calendar date (September 2026 has 30 days)`
      )
      const csv = tempFile(
        "moved.csv",
        "event_name,timestamp,external_customer_id\napi_call,2026-10-02T10:00:00Z,acme\napi_call,2026-02-29T10:00:00Z,acme\n"
      )
      const fromCsv = yield* cli(["run", "--file", csv, ...timeframe, "--add"])
      assert.strictEqual(fromCsv.code, 2)
      assert.include(fromCsv.stderr, `${csv}:3: timestamp: "2026-02-29T10:00:00Z" is not a calendar date`)
      assert.strictEqual((yield* backfills).length, 0)
    }).pipe(Effect.provide(simulator)))
})

describe("events in the future", () => {
  it.live("are refused by the check pass, by file and line, before anything is created", () =>
    Effect.gen(function*() {
      const now = Date.now()
      const day = 86_400_000
      const at = (millis: number) => new Date(now + millis).toISOString()
      const file = tempFile(
        "future.ndjson",
        [
          JSON.stringify(wireEvent(1, { timestamp: at(-60_000) })),
          JSON.stringify(wireEvent(2, { timestamp: at(60 * 60_000) }))
        ].join("\n") + "\n"
      )
      const ran = yield* cli(["run", "--file", file, "--start", at(-day), "--end", at(day), "--add"])
      assert.strictEqual(ran.code, 2, ran.stderr)
      assert.match(ran.stderr, new RegExp(`${file}:2: timestamp: \\S+ is more than 5 minutes after now`))
      assert.strictEqual((yield* backfills).length, 0)
    }).pipe(Effect.provide(simulator)))
})

describe("the size of a line and of an event", () => {
  const read = (file: string) =>
    EventFile.read(file, "ndjson").pipe(
      Stream.map((parsed) => [parsed.line, Either.isLeft(parsed.event) ? parsed.event.left : "ok"] as const),
      Stream.runCollect,
      Effect.map((chunk) => Array.from(chunk)),
      Effect.provide(NodeContext.layer)
    )

  it.effect("a line longer than the bound is refused with its number, and the lines after it are read", () =>
    Effect.gen(function*() {
      const huge = JSON.stringify(wireEvent(2, { properties: { blob: "x".repeat(5_000_000) } }))
      const file = tempFile(
        "long.ndjson",
        `${JSON.stringify(wireEvent(1))}\n${huge}\r\n\n${JSON.stringify(wireEvent(4))}`
      )
      assert.deepStrictEqual(yield* read(file), [
        [1, "ok"],
        [
          2,
          `the line is longer than ${
            Backfill.maxEventBytes.toLocaleString("en-US")
          } bytes; an event may be at most that`
        ],
        [4, "ok"]
      ])
    }))

  it.effect("reads lines exactly as before: CRLF, UTF-8 split across chunks, no newline at the end", () =>
    Effect.gen(function*() {
      // Lines of multi-byte characters, so that some fall across the reader's 64 KiB chunks.
      const lines = Array.from({ length: 3_000 }, (_, i) => `{"n":${i},"s":"${"é€😀".repeat(i % 17)}"}`)
      const text = lines.map((line, i) => (i % 5 === 0 ? `${line}\r` : line)).join("\n")
      const file = tempFile("utf8.ndjson", text)
      const got = yield* EventFile.lines(file).pipe(Stream.runCollect, Effect.provide(NodeContext.layer))
      assert.deepStrictEqual(Array.from(got).map(([line]) => line), lines)
      assert.deepStrictEqual(Array.from(got).map(([, n]) => n), lines.map((_, i) => i + 1))
    }))

  it.live("an event over the bound is refused by the check pass with its line", () =>
    Effect.gen(function*() {
      // A CSV row within the line bound whose event is over it: each column's name is written again per event.
      const columns = Array.from({ length: 4_000 }, (_, i) => `p${String(i).padStart(4, "0")}`)
      const header = ["event_name", "timestamp", "external_customer_id", ...columns].join(",")
      const row = ["api_call", "2026-10-02T10:00:00Z", "acme", ...columns.map(() => "1")].join(",")
      assert.isBelow(header.length, Backfill.maxEventBytes)
      const file = tempFile("wide.csv", `${header}\napi_call,2026-10-02T10:00:00Z,acme${",".repeat(4_000)}\n${row}\n`)
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add"])
      assert.strictEqual(ran.code, 2)
      assert.match(
        ran.stderr,
        new RegExp(`${file}:3: the event is (at least )?40,\\d{3} bytes of JSON; at most 32,768 are allowed`)
      )
      assert.strictEqual((yield* backfills).length, 0)
    }).pipe(Effect.provide(simulator)))
})
