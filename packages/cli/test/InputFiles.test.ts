// Input that passes the check and would be sent wrong: CSV exports whose every cell is quoted, RFC 4180's
// details, the dry run's property types, and files that are not NDJSON or CSV at all (compressed, a JSON array,
// gzip-compressed Parquet, UTF-16, binary), recognised by their content and refused in one sentence before anything is created.
import { OrbSimulator } from "@effect-orb/simulator"
import { EventFile } from "@effect-orb/workflow"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as zlib from "node:zlib"
import * as Backend from "../src/Backend.js"
import { cli, simulator, tempFile, timeframe } from "./support.js"

const sim = OrbSimulator.OrbSimulator
const backfills = Effect.flatMap(sim, (s) => s.backfills)
const requests = Effect.flatMap(sim, (s) => s.requests)
const sentProperties = Effect.map(
  Effect.flatMap(sim, (s) => s.events),
  (events) => Object.fromEntries(events.map((e) => [e.idempotencyKey, e.properties]))
)

describe("a CSV export whose every cell is quoted", () => {
  const exported = [
    "\"event_name\",\"timestamp\",\"external_customer_id\",\"idempotency_key\",\"units\",\"region\",\"note\",\"paid\"",
    "\"api_call\",\"2026-10-02T12:00:00Z\",\"acme\",\"k1\",\"3\",\"eu\",\"\",\"true\"",
    "\"api_call\",\"2026-10-02T12:01:00Z\",\"acme\",\"k2\",\"2.5\",\"us\",\"hello\",\"FALSE\"",
    "\"api_call\",\"2026-10-02T12:02:00Z\",\"acme\",\"k3\",\"-1e-3\",\"\",\"NULL\",\"\""
  ].join("\r\n") + "\r\n"

  it.live("is typed as if unquoted: numbers are numbers, empty and NULL cells are no property", () =>
    Effect.gen(function*() {
      const file = tempFile("quoted.csv", exported)
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add"])
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.deepStrictEqual(yield* sentProperties, {
        k1: { units: 3, region: "eu", paid: true },
        k2: { units: 2.5, region: "us", note: "hello", paid: false },
        k3: { units: -0.001 }
      })
    }).pipe(Effect.provide(simulator)))

  it.live("--csv-type keeps a column a string (ids, zip codes) or insists on numbers", () =>
    Effect.gen(function*() {
      const file = tempFile(
        "typed.csv",
        "event_name,timestamp,external_customer_id,idempotency_key,zip,units\n" +
          "api_call,2026-10-02T12:00:00Z,acme,k1,007,\"0042\"\n" +
          "api_call,2026-10-02T12:01:00Z,acme,k2,\"10115\",1e2\n"
      )
      const ran = yield* cli([
        "run",
        "--file",
        file,
        ...timeframe,
        "--add",
        "--csv-type",
        "zip=string",
        "--csv-type",
        "units=number"
      ])
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.deepStrictEqual(yield* sentProperties, {
        k1: { zip: "007", units: 42 },
        k2: { zip: "10115", units: 100 }
      })

      const notANumber = tempFile(
        "not-a-number.csv",
        "event_name,timestamp,external_customer_id,units\napi_call,2026-10-02T12:00:00Z,acme,\"n/a\"\n"
      )
      const refused = yield* cli(["run", "--file", notANumber, ...timeframe, "--add", "--csv-type", "units=number"])
      assert.strictEqual(refused.code, 2)
      assert.include(refused.stderr, `${notANumber}:2: units: "n/a" is not a number (the column is typed number)`)

      const unknown = yield* cli(["run", "--file", notANumber, ...timeframe, "--add", "--csv-type", "unit=number"])
      assert.strictEqual(unknown.code, 2)
      assert.include(
        unknown.stderr,
        `Error: ${notANumber}:1: header: no property column "unit" for its type (the property columns: units).`
      )
      const badType = yield* cli(["run", "--file", notANumber, ...timeframe, "--add", "--csv-type", "units=int"])
      assert.strictEqual(badType.code, 2)
      assert.include(badType.stderr, "--csv-type: expected COLUMN=string|number|boolean, got \"units=int\"")
      const ndjson = yield* cli(["run", "--file", "x.ndjson", ...timeframe, "--add", "--csv-type", "units=number"])
      assert.strictEqual(ndjson.code, 2)
      assert.include(ndjson.stderr, "--csv-type is for CSV files; x.ndjson is read as NDJSON")
      assert.strictEqual((yield* backfills).length, 1, "only the first run created a backfill")
    }).pipe(Effect.provide(simulator)))
})

describe("RFC 4180", () => {
  it.live("a UTF-8 BOM, CRLF line ends, quoted commas, doubled quotes and line breaks inside quotes", () =>
    Effect.gen(function*() {
      const file = tempFile(
        "rfc4180.csv",
        "\uFEFFevent_name,timestamp,external_customer_id,idempotency_key,note,units\r\n" +
          "api_call,2026-10-02T12:00:00Z,acme,k1,\"a, \"\"quoted\"\" b\",1\r\n" +
          "api_call,2026-10-02T12:01:00Z,acme,k2,\"two\r\nlines\r\n\r\nand a blank one\",2\r\n" +
          "api_call,2026-10-02T12:02:00Z,acme,k3,\"\"\"\",3\r\n" +
          "api_call,2026-10-02T12:03:00Z,acme,k4,\"line\",oops\"\r\n" +
          "api_call,2026-10-02T12:04:00Z,acme,k5,after,5\r\n"
      )
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add", "--skip-invalid"])
      assert.strictEqual(ran.code, 0, ran.stderr)
      // The record of k2 spans lines 3 to 6: the next is line 7, and the invalid one is named by its line.
      assert.include(ran.stderr, `${file}:8: field 6 holds a quote but is not quoted`)
      assert.deepStrictEqual(yield* sentProperties, {
        k1: { note: "a, \"quoted\" b", units: 1 },
        k2: { note: "two\nlines\n\nand a blank one", units: 2 },
        k3: { note: "\"", units: 3 },
        k5: { note: "after", units: 5 }
      })
    }).pipe(Effect.provide(simulator)))

  it.live("a quote left open is one invalid line, not the rest of the file swallowed", () =>
    Effect.gen(function*() {
      const rows = Array.from(
        { length: 2_000 },
        (_, i) => `api_call,2026-10-02T12:00:00Z,acme,k${i},${i === 2 ? "\"open" : "x"}`
      )
      const file = tempFile(
        "open.csv",
        ["event_name,timestamp,external_customer_id,idempotency_key,note", ...rows].join("\n")
      )
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add", "--dry-run"])
      assert.strictEqual(ran.code, 2)
      assert.match(ran.stderr, /Checked .*: 1,999 valid events, 1 invalid line\./)
      assert.include(ran.stderr, `${file}:4: a quoted field is not closed`)
    }).pipe(Effect.provide(simulator)))
})

describe("the reader's CSV records", () => {
  const read = (file: string) =>
    EventFile.read(file, "csv").pipe(
      Stream.map((parsed) =>
        [parsed.line, Either.isLeft(parsed.event) ? parsed.event.left : parsed.event.right.properties] as const
      ),
      Stream.runCollect,
      Effect.map((chunk) => Array.from(chunk)),
      Effect.provide(NodeContext.layer)
    )

  it.effect("a record over several lines across the reader's 64 KiB chunks, and a quote open at the end", () =>
    Effect.gen(function*() {
      // Records of 20 KB (within the 32 KiB an event may be), 160 KB in all: some cross a chunk's end.
      const long = "x".repeat(10_000)
      const rows = Array.from({ length: 8 }, (_, i) => `a,2026-10-02T12:00:00Z,c,"${long}\n${i}\n${long}"`)
      const file = tempFile(
        "chunks.csv",
        [
          "event_name,timestamp,customer_id,note",
          ...rows,
          "a,2026-10-02T12:00:00Z,c,\"open",
          "a,2026-10-02T12:00:00Z,c,last"
        ]
          .join("\n")
      )
      const got = yield* read(file)
      assert.deepStrictEqual(
        got.slice(0, 8),
        rows.map((_, i) => [2 + 3 * i, { note: `${long}\n${i}\n${long}` }] as const)
      )
      assert.strictEqual(got[8][0], 26)
      assert.match(String(got[8][1]), /^a quoted field is not closed/)
      assert.deepStrictEqual(got[9], [27, { note: "last" }])
      assert.strictEqual(got.length, 10)
    }))

  it.effect("a record longer than an event may be is given up at the bound, and the lines after it are rows", () =>
    Effect.gen(function*() {
      const half = "y".repeat(20_000)
      const file = tempFile(
        "too-long-record.csv",
        `event_name,timestamp,customer_id,note\na,2026-10-02T12:00:00Z,c,"${half}\n${half}"\na,2026-10-02T12:00:00Z,c,ok\n`
      )
      const got = yield* read(file)
      assert.strictEqual(got[0][0], 2)
      assert.match(String(got[0][1]), /^a quoted field is not closed/)
      assert.strictEqual(got[1][0], 3)
      assert.match(String(got[1][1]), /^field 1 holds a quote but is not quoted/)
      assert.deepStrictEqual(got[2], [4, { note: "ok" }])
    }))
})

describe("text that is not UTF-8", () => {
  it.live("a Windows-1252 export (Excel's CSV) is refused by line, not sent with its letters replaced", () =>
    Effect.gen(function*() {
      const file = tempFile("cp1252.csv", "")
      fs.writeFileSync(
        file,
        Buffer.concat([
          Buffer.from("event_name,timestamp,external_customer_id,city\napi_call,2026-10-02T12:00:00Z,acme,Berlin\n"),
          Buffer.from("api_call,2026-10-02T12:01:00Z,acme,Z"),
          Buffer.from([0xfc]),
          Buffer.from("rich\n")
        ])
      )
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add"])
      assert.strictEqual(ran.code, 2)
      assert.include(
        ran.stderr,
        `${file}:3: the line is not UTF-8 text (the file may be Windows-1252 or Latin-1: convert it first, iconv -f ` +
          `WINDOWS-1252 -t UTF-8)`
      )
      assert.strictEqual((yield* backfills).length, 0)
    }).pipe(Effect.provide(simulator)))
})

describe("the dry run", () => {
  it.live("says which type each property got, and where a column is mixed or empty", () =>
    Effect.gen(function*() {
      const rows = Array.from({ length: 40 }, (_, i) =>
        [
          "api_call",
          `2026-10-02T12:${String(i).padStart(2, "0")}:00Z`,
          "acme",
          `"${i}"`,
          `"${i === 17 ? "0042" : 100 + i}"`,
          i % 2 === 0 ? "eu" : "us",
          i < 30 ? "" : "\"late\""
        ].join(","))
      const file = tempFile(
        "types.csv",
        ["event_name,timestamp,external_customer_id,units,zip,region,note,empty", ...rows.map((r) => `${r},`)]
          .join("\n") + "\n"
      )
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add", "--dry-run"])
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.include(
        ran.stdout,
        "Properties of the 40 events:\n" +
          "  units   number\n" +
          "  zip     number in 39 events, string in 1 (first on line 19: \"0042\")\n" +
          "  region  string\n" +
          "  note    string in 10 events, absent in 30\n" +
          "  empty   absent in every event\n"
      )
      const json = JSON.parse(
        (yield* cli(["run", "--file", file, ...timeframe, "--add", "--dry-run", "--json"])).stdout
      )
      assert.deepStrictEqual(json.properties, {
        units: { number: 40 },
        zip: { number: 39, string: 1, first: { string: { line: 19, value: "0042" } } },
        region: { string: 40 },
        note: { string: 10, absent: 30 },
        empty: { absent: 40 }
      })
      assert.strictEqual((yield* requests).length, 0)
    }).pipe(Effect.provide(simulator)))
})

describe("a file that is not NDJSON or CSV", () => {
  const ndjsonLines = Array.from({ length: 50 }, (_, i) =>
    JSON.stringify({
      event_name: "api_call",
      timestamp: "2026-10-02T12:00:00Z",
      external_customer_id: "acme",
      properties: { i }
    })).join("\n") + "\n"
  const cases: ReadonlyArray<
    readonly [name: string, content: Uint8Array | string, sentence: (file: string) => string]
  > = [
    // gzip and JSON arrays are read (InputExports.test.ts); inside gzip, the same formats are refused.
    [
      "events.parquet.gz",
      zlib.gzipSync(Buffer.concat([Buffer.from("PAR1"), Buffer.alloc(64, 3), Buffer.from("PAR1")])),
      (f) => `${f} is a gzip-compressed Parquet file; decompress it first (gunzip -k ${f}).`
    ],
    [
      "events.ndjson.zst",
      Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(64, 7)]),
      (f) =>
        `${f} is zstd-compressed, which Node.js ${process.versions.node} cannot decompress (its zlib has no zstd); ` +
        `decompress it first (zstd -d ${f}).`
    ],
    [
      "events.csv.bz2",
      Buffer.concat([Buffer.from("BZh91AY&SY"), Buffer.alloc(64, 9)]),
      (f) => `${f} is bzip2-compressed; decompress it first (bunzip2 -k ${f}).`
    ],
    [
      "events.zip",
      Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(64, 1)]),
      (f) => `${f} is a zip archive; extract the events file from it first (unzip ${f}).`
    ],
    [
      "array.csv",
      `\n  [\n${ndjsonLines.trim().split("\n").join(",\n")}\n]\n`,
      (f) => `${f} is a JSON array, not NDJSON (one event per line); convert it first (jq -c '.[]' ${f}).`
    ],
    [
      "pretty.json",
      JSON.stringify(JSON.parse(ndjsonLines.split("\n")[0]), null, 2) + "\n",
      (f) => `${f} is pretty-printed JSON, not NDJSON (one event per line); convert it first (jq -c . ${f}).`
    ],
    [
      "events.ndjson.xz",
      Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(64, 2)]),
      (f) => `${f} is xz-compressed; decompress it first (unxz -k ${f}).`
    ],
    [
      "utf16.csv",
      Buffer.from("\uFEFFevent_name,timestamp,customer_id\napi_call,2026-10-02T12:00:00Z,c\n", "utf16le"),
      (f) => `${f} is UTF-16 text; convert it to UTF-8 first (iconv -f UTF-16 -t UTF-8 ${f}).`
    ],
    [
      "binary.ndjson",
      Buffer.concat([Buffer.from("{\"a\":1}\n"), Buffer.from([0, 1, 2, 3, 0, 255])]),
      (f) => `${f} is not a text file (it holds NUL bytes); give an NDJSON or CSV file.`
    ]
  ]

  for (const [name, content, sentence] of cases) {
    it.live(`${name}: one sentence naming the file, exit 2, nothing created`, () =>
      Effect.gen(function*() {
        const file = tempFile(name, "")
        fs.writeFileSync(file, content)
        const ran = yield* cli(["run", "--file", file, ...timeframe, "--add"])
        assert.strictEqual(ran.code, 2, ran.stderr)
        assert.strictEqual(ran.stderr, `${Backend.simulatorNotice}\nError: ${sentence(file)}\n`)
        const json = yield* cli(["run", "--file", file, ...timeframe, "--add", "--dry-run", "--json"])
        assert.strictEqual(json.code, 2)
        assert.strictEqual(JSON.parse(json.stdout).error.tag, "UnsupportedFormat")
        assert.strictEqual((yield* requests).length, 0)
      }).pipe(Effect.provide(simulator)))
  }
})
