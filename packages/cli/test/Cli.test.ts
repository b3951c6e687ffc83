import { Backfills } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as Backend from "../src/Backend.js"
import { cli, cliForked, ndjson, simulator, simulatorReflectingIn, tempFile, timeframe, wireEvent } from "./support.js"

const backfills = Effect.flatMap(OrbSimulator.OrbSimulator, (sim) => sim.backfills)
const requests = Effect.flatMap(OrbSimulator.OrbSimulator, (sim) => sim.requests)

const create = (start: string, end: string, replace = false) =>
  Backfills.create({
    timeframeStart: DateTime.unsafeMake(start),
    timeframeEnd: DateTime.unsafeMake(end),
    replaceExistingEvents: replace
  })

const noStackTrace = (text: string) => assert.notMatch(text, /^\s+at /m)

describe("orb-backfill list", () => {
  it.live("says the simulator is in use on its first line, and that it starts empty", () =>
    Effect.gen(function*() {
      const ran = yield* cli(["list"])
      assert.strictEqual(ran.code, 0)
      assert.strictEqual(ran.stderr.split("\n")[0], Backend.simulatorNotice)
      assert.strictEqual(ran.stdout, "No backfills (the in-process simulator starts empty).\n")
    }).pipe(Effect.provide(simulator)))

  it.live("prints a table, newest first, and JSON with --json", () =>
    Effect.gen(function*() {
      const a = yield* create("2026-09-01T00:00:00Z", "2026-09-08T00:00:00Z")
      const b = yield* create("2026-10-01T00:00:00Z", "2026-10-02T00:00:00Z", true)
      const ran = yield* cli(["list"])
      assert.strictEqual(ran.code, 0)
      const lines = ran.stdout.trimEnd().split("\n")
      assert.match(
        lines[0],
        /^ID\s+STATUS\s+MODE\s+EVENTS\s+CUSTOMER\s+TIMEFRAME START\s+TIMEFRAME END\s+CREATED\s+CLOSES$/
      )
      assert.strictEqual(lines.length, 3)
      assert.match(lines[1], new RegExp(`^${b.id}\\s+open\\s+replace\\s+0\\s+all\\s+2026-10-01 00:00:00Z`))
      assert.match(lines[2], new RegExp(`^${a.id}\\s+open\\s+add\\s+0\\s+all\\s+2026-09-01 00:00:00Z`))

      const json = yield* cli(["list", "--json"])
      assert.strictEqual(json.code, 0)
      assert.strictEqual(json.stdout.trimEnd().split("\n").length, 1)
      const parsed = JSON.parse(json.stdout)
      assert.deepStrictEqual(parsed.map((x: { id: string }) => x.id), [b.id, a.id])
      assert.strictEqual(parsed[0].replace_existing_events, true)
      assert.strictEqual(parsed[0].timeframe_start, "2026-10-01T00:00:00.000Z")

      const limited = yield* cli(["list", "--limit", "1", "--json"])
      assert.strictEqual(JSON.parse(limited.stdout).length, 1)
    }).pipe(Effect.provide(simulator)))
})

describe("orb-backfill list tells open from closed", () => {
  it.live("open (and when it closes by itself, flagged within the hour) apart from closed and reflecting", () =>
    Effect.gen(function*() {
      const now = yield* DateTime.now
      const inMinutes = (minutes: number) => DateTime.add(now, { minutes })
      const soon = yield* Backfills.create({
        timeframeStart: DateTime.unsafeMake("2026-07-01T00:00:00Z"),
        timeframeEnd: DateTime.unsafeMake("2026-07-02T00:00:00Z"),
        replaceExistingEvents: false,
        closeTime: inMinutes(30)
      })
      const later = yield* Backfills.create({
        timeframeStart: DateTime.unsafeMake("2026-08-01T00:00:00Z"),
        timeframeEnd: DateTime.unsafeMake("2026-08-02T00:00:00Z"),
        replaceExistingEvents: false,
        closeTime: inMinutes(3 * 24 * 60)
      })
      const closed = yield* Backfills.create({
        timeframeStart: DateTime.unsafeMake("2026-09-01T00:00:00Z"),
        timeframeEnd: DateTime.unsafeMake("2026-09-02T00:00:00Z"),
        replaceExistingEvents: false,
        closeTime: inMinutes(3 * 24 * 60)
      })
      yield* Backfills.close(closed.id)
      const ran = yield* cli(["list"])
      assert.strictEqual(ran.code, 0, ran.stderr)
      const lines = ran.stdout.trimEnd().split("\n")
      assert.match(lines[0], /\bSTATUS\b.*\bCLOSES\b/)
      const row = (id: string) => lines.find((line) => line.startsWith(id))!
      assert.match(row(closed.id), /^\S+\s+reflecting\s/)
      assert.match(row(later.id), /^\S+\s+open\s.*in 3 days$/)
      assert.match(row(soon.id), /^\S+\s+open\s.*in 30m \(soon\)$/)
      assert.notMatch(ran.stdout, /\bpending\b/)
      // What to do about it, on standard error (the table stays a table).
      assert.include(ran.stderr, `${soon.id} closes by itself in 30m, with the events it has`)
      assert.notInclude(ran.stderr, `${later.id} closes by itself`)
      assert.strictEqual(lines.length, 4)
      // The JSON stays Orb's.
      const json = JSON.parse((yield* cli(["list", "--json"])).stdout)
      assert.deepStrictEqual(json.map((b: { status: string }) => b.status), ["pending", "pending", "pending"])
      // show says it too.
      const shown = yield* cli(["show", soon.id])
      assert.match(shown.stdout, /^status\s+pending: open, closes by itself in 30m \(at /m)
      // The closed one must still be reflecting when `list` reads it: with 100 ms of reflection a loaded
      // machine saw it already reflected, and the test failed for the machine's sake, not the code's.
    }).pipe(Effect.provide(simulatorReflectingIn("1 hour"))))
})

describe("orb-backfill show, close, revert, watch", () => {
  it.live("shows one backfill as fields or JSON", () =>
    Effect.gen(function*() {
      const b = yield* create("2026-10-01T00:00:00Z", "2026-10-02T00:00:00Z")
      const ran = yield* cli(["show", b.id])
      assert.strictEqual(ran.code, 0)
      assert.match(ran.stdout, new RegExp(`^id\\s+${b.id}$`, "m"))
      assert.match(ran.stdout, /^status\s+pending: open(, closes by itself in .*)?$/m)
      assert.match(ran.stdout, /^mode\s+add$/m)
      assert.match(ran.stdout, /^timeframe\s+2026-10-01 00:00:00Z to 2026-10-02 00:00:00Z \(end excluded\)$/m)
      const json = yield* cli(["show", b.id, "--json"])
      assert.strictEqual(JSON.parse(json.stdout).id, b.id)
    }).pipe(Effect.provide(simulator)))

  it.live("an unknown id fails with exit 1 and one sentence, details only with --verbose", () =>
    Effect.gen(function*() {
      const ran = yield* cli(["show", "bf_nope"])
      assert.strictEqual(ran.code, 1)
      const lines = ran.stderr.trimEnd().split("\n")
      assert.strictEqual(lines.length, 2)
      assert.match(lines[1], /^Error: ResourceNotFound \(HTTP 404\) .*bf_nope.*\.$/)
      assert.strictEqual(ran.stdout, "")
      const verbose = yield* cli(["show", "bf_nope", "--verbose"])
      assert.strictEqual(verbose.code, 1)
      assert.include(verbose.stderr, "\"_tag\": \"ResourceNotFound\"")
      noStackTrace(verbose.stderr)
      const json = yield* cli(["show", "bf_nope", "--json"])
      assert.strictEqual(JSON.parse(json.stdout).error.tag, "ResourceNotFound")
    }).pipe(Effect.provide(simulator)))

  it.live("close --wait waits for reflection; revert --wait waits for the revert", () =>
    Effect.gen(function*() {
      const b = yield* create("2026-10-01T00:00:00Z", "2026-10-02T00:00:00Z")
      const closed = yield* cli(["close", b.id, "--wait"])
      assert.strictEqual(closed.code, 0)
      assert.include(closed.stderr, `Closed backfill ${b.id}; Orb is reflecting it.`)
      assert.match(closed.stdout, new RegExp(`^Backfill ${b.id} is reflected: 0 events, add mode`))
      const reverted = yield* cli(["revert", b.id, "--wait", "--json"])
      assert.strictEqual(reverted.code, 0)
      const json = JSON.parse(reverted.stdout)
      assert.strictEqual(json.status, "reverted")
      assert.isString(json.reverted_at)
      // closing it again is refused by Orb: the work fails
      const again = yield* cli(["close", b.id])
      assert.strictEqual(again.code, 1)
      assert.match(again.stderr, /Error: ConstraintViolation/)
    }).pipe(Effect.provide(simulator)))

  it.live("revert of an open backfill is immediate", () =>
    Effect.gen(function*() {
      const b = yield* create("2026-10-01T00:00:00Z", "2026-10-02T00:00:00Z")
      const ran = yield* cli(["revert", b.id])
      assert.strictEqual(ran.code, 0)
      assert.include(ran.stderr, `Reverted backfill ${b.id}.`)
      assert.match(ran.stdout, / is reverted: /)
    }).pipe(Effect.provide(simulator)))

  it.live("watch prints each change until a final status", () =>
    Effect.gen(function*() {
      const b = yield* create("2026-10-01T00:00:00Z", "2026-10-02T00:00:00Z")
      yield* Backfills.close(b.id)
      const ran = yield* cli(["watch", b.id])
      assert.strictEqual(ran.code, 0)
      const lines = ran.stdout.trimEnd().split("\n")
      assert.match(lines[0], new RegExp(`  ${b.id}  pending, 0 events`))
      assert.match(lines[lines.length - 1], new RegExp(`  ${b.id}  reflected, 0 events$`))
    }).pipe(Effect.provide(simulator)))
})

describe("orb-backfill run", () => {
  it.live("runs a whole backfill from an NDJSON file, with plain progress lines", () =>
    Effect.gen(function*() {
      const file = tempFile("events.ndjson", ndjson(2_000))
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add", "--batch-size", "100"])
      assert.strictEqual(ran.code, 0, ran.stderr)
      const err = ran.stderr.split("\n")
      assert.strictEqual(err[0], Backend.simulatorNotice)
      assert.strictEqual(err[1], `Checked ${file}: 2,000 valid events.`)
      assert.match(ran.stderr, /^Created backfill \S+; sending events…$/m)
      assert.match(ran.stderr, /^sent 2,000 of 2,000 events \(100%\), [\d,]+ events\/s/m)
      assert.match(ran.stderr, /^Waiting for Orb to mark backfill \S+ reflected…$/m)
      assert.match(ran.stdout, /^Backfill \S+ is reflected: 2,000 events, add mode, all customers/)
      assert.match(ran.stdout, /^Sent 2,000 events in /m)
      const all = yield* backfills
      assert.strictEqual(all.length, 1)
      assert.strictEqual(all[0].status, "reflected")
      assert.strictEqual(all[0].eventsIngested, 2_000)
      assert.isFalse(all[0].replaceExistingEvents)
    }).pipe(Effect.provide(simulator)))

  it.live("runs from a CSV file: quoted commas and quotes, numbers and booleans typed, a column typed string", () =>
    Effect.gen(function*() {
      const file = tempFile(
        "events.csv",
        [
          "event_name,timestamp,external_customer_id,idempotency_key,units,region,note,billable,zip",
          "api_call,2026-10-01T00:01:00Z,acme,k1,3,eu,\"hello, \"\"world\"\"\",true,007",
          "api_call,2026-10-01T00:02:00Z,acme,k2,2.5,us,,false,\"42\"",
          "",
          "api_call,2026-10-01T00:03:00Z,globex,k3,-1,us,plain,true,10115"
        ].join("\r\n") + "\r\n"
      )
      // Zip codes: 007 would stay a string and 10115 be a number; the column is all strings when typed so.
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--replace", "--json", "--csv-type", "zip=string"])
      assert.strictEqual(ran.code, 0, ran.stderr)
      const doc = JSON.parse(ran.stdout)
      assert.strictEqual(doc.backfill.status, "reflected")
      assert.strictEqual(doc.backfill.events_ingested, 3)
      assert.strictEqual(doc.validation.events, 3)
      assert.strictEqual(doc.ingestion.accepted, 3)
      const sim = yield* OrbSimulator.OrbSimulator
      const events = yield* sim.events
      const byKey = Object.fromEntries(events.map((e) => [e.idempotencyKey, e]))
      assert.deepStrictEqual(byKey.k1.properties, {
        units: 3,
        region: "eu",
        note: "hello, \"world\"",
        billable: true,
        zip: "007"
      })
      assert.deepStrictEqual(byKey.k2.properties, { units: 2.5, region: "us", billable: false, zip: "42" })
      assert.deepStrictEqual(byKey.k3.properties, {
        units: -1,
        region: "us",
        note: "plain",
        billable: true,
        zip: "10115"
      })
      assert.deepStrictEqual(Option.getOrUndefined(byKey.k3.externalCustomerId), "globex")
    }).pipe(Effect.provide(simulator)))

  it.live("a broken line 777 is named with the file and line, and nothing is created", () =>
    Effect.gen(function*() {
      const file = tempFile(
        "broken.ndjson",
        ndjson(1_000, (line) => (line === 777 ? "{\"event_name\": \"api_call\"," : undefined))
      )
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add"])
      assert.strictEqual(ran.code, 2)
      assert.include(ran.stderr, `  ${file}:777: not valid JSON`)
      assert.include(
        ran.stderr,
        `Error: 1 invalid line in ${file} (first: ${file}:777: not valid JSON`
      )
      assert.include(ran.stderr, "nothing was created. Fix it, or pass --skip-invalid to leave it out.")
      noStackTrace(ran.stderr)
      assert.strictEqual((yield* backfills).length, 0)
      assert.strictEqual((yield* requests).length, 0)
    }).pipe(Effect.provide(simulator)))

  it.live("missing fields, bad timestamps and events outside the timeframe are each named", () =>
    Effect.gen(function*() {
      const file = tempFile(
        "several.ndjson",
        ndjson(10, (line) =>
          line === 2
            ? JSON.stringify({ ...wireEvent(2), event_name: undefined })
            : line === 4
            ? JSON.stringify(wireEvent(4, { timestamp: "2026-10-01 12:00" }))
            : line === 6
            ? JSON.stringify(wireEvent(6, { timestamp: "2026-11-01T00:00:00Z" }))
            : line === 8
            ? JSON.stringify(wireEvent(8, { colour: "red" }))
            : line === 9
            ? JSON.stringify(wireEvent(9, { customer_id: "c1" }))
            : undefined)
      )
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add"])
      assert.strictEqual(ran.code, 2)
      assert.include(ran.stderr, `${file}:2: event_name: is missing`)
      assert.include(
        ran.stderr,
        `${file}:4: timestamp: "2026-10-01 12:00" separates the date and the time with a space`
      )
      assert.include(ran.stderr, `${file}:6: timestamp: 2026-11-01T00:00:00.000Z is outside the timeframe`)
      assert.include(ran.stderr, `${file}:8: colour: is not an Orb event field`)
      assert.include(ran.stderr, `${file}:9: customer_id: give only one of customerId and externalCustomerId`)
      assert.include(ran.stderr, "Error: 5 invalid lines in")
      assert.strictEqual((yield* backfills).length, 0)
    }).pipe(Effect.provide(simulator)))

  it.live("--skip-invalid leaves invalid lines out and runs the rest", () =>
    Effect.gen(function*() {
      const file = tempFile("skip.ndjson", ndjson(1_000, (line) => (line === 777 ? "not json" : undefined)))
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add", "--skip-invalid"])
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.include(ran.stderr, `  ${file}:777: not valid JSON`)
      assert.match(ran.stdout, /is reflected: 999 events/)
      assert.include(ran.stdout, "; 1 invalid line left out.")
      assert.strictEqual((yield* backfills)[0].eventsIngested, 999)
    }).pipe(Effect.provide(simulator)))

  // Lines 10 and 20 share a key with different contents: the local check passes them, Orb refuses both.
  const refusedFile = () =>
    tempFile(
      "refused.ndjson",
      ndjson(100, (line) =>
        line === 3
          ? ""
          : line === 5
          ? "not json"
          : line === 10 || line === 20
          ? JSON.stringify(wireEvent(line, { idempotency_key: "dup" }))
          : undefined)
    )

  it.live("events Orb refuses are reported by their file line, blank and invalid lines notwithstanding", () =>
    Effect.gen(function*() {
      const file = refusedFile()
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add", "--skip-invalid"])
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.include(ran.stdout, "; 2 refused and left out; 1 invalid line left out.")
      assert.include(ran.stderr, `  ${file}:10 (dup): idempotency_key: appears more than once`)
      assert.include(ran.stderr, `  ${file}:20 (dup): idempotency_key: appears more than once`)
      assert.strictEqual((yield* backfills)[0].eventsIngested, 96)
    }).pipe(Effect.provide(simulator)))

  it.live("--json gives the file line of each event Orb refused", () =>
    Effect.gen(function*() {
      const ran = yield* cli(["run", "--file", refusedFile(), ...timeframe, "--add", "--skip-invalid", "--json"])
      assert.strictEqual(ran.code, 0, ran.stderr)
      const failures = JSON.parse(ran.stdout).ingestion.failures
      assert.deepStrictEqual(
        failures.map((f: { line: number; position: number }) => [f.line, f.position]).sort(),
        [[10, 7], [20, 17]]
      )
    }).pipe(Effect.provide(simulator)))

  it.live("--dry-run checks the file and creates nothing", () =>
    Effect.gen(function*() {
      const file = tempFile("dry.ndjson", ndjson(500))
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add", "--dry-run"])
      assert.strictEqual(ran.code, 0)
      assert.strictEqual(
        ran.stdout,
        "Dry run: 2026-10-01 00:00:00Z to 2026-10-08 00:00:00Z (end excluded), add mode, all customers.\n" +
          "Properties of the 500 events:\n" +
          "  units   number\n" +
          "  region  string\n" +
          "By customer (3 customers; sums are exact):\n" +
          "  CUSTOMER               EVENTS  FIRST                 LAST                  SUMS\n" +
          "  customer-1 (external)     167  2026-10-01 00:01:00Z  2026-10-01 08:19:00Z  units 499\n" +
          "  customer-2 (external)     167  2026-10-01 00:02:00Z  2026-10-01 08:20:00Z  units 498\n" +
          "  customer-0 (external)     166  2026-10-01 00:03:00Z  2026-10-01 08:18:00Z  units 500\n" +
          `500 events in ${file} would be sent; nothing was created.\n`
      )
      const json = yield* cli(["run", "--file", file, ...timeframe, "--add", "--dry-run", "--json"])
      assert.deepStrictEqual(JSON.parse(json.stdout), {
        dry_run: true,
        file,
        backfill: {
          timeframe_start: "2026-10-01T00:00:00.000Z",
          timeframe_end: "2026-10-08T00:00:00.000Z",
          replace_existing_events: false,
          customer_id: null,
          external_customer_id: null,
          deprecation_filter: null,
          close_time: null
        },
        max_window_days: 31,
        windows: [{
          timeframe_start: "2026-10-01T00:00:00.000Z",
          timeframe_end: "2026-10-08T00:00:00.000Z",
          events: 500
        }],
        properties: { units: { number: 500 }, region: { string: 500 } },
        customers: {
          count: 3,
          customers: [[1, 167, 1, 499, "499"], [2, 167, 2, 500, "498"], [0, 166, 3, 498, "500"]].map((
            [customer, events, first, last, units]
          ) => ({
            external_customer_id: `customer-${customer}`,
            events,
            first_timestamp: wireEvent(first as number).timestamp,
            last_timestamp: wireEvent(last as number).timestamp,
            properties: { units: { number: events, sum: units }, region: { string: events } }
          })),
          others: null
        },
        validation: { lines: 500, events: 500, invalid: 0, problems: [] }
      })
      assert.strictEqual((yield* requests).length, 0)
    }).pipe(Effect.provide(simulator)))

  it.live("--no-wait stops once closed; --external-customer-id scopes the backfill and fills events in", () =>
    Effect.gen(function*() {
      const file = tempFile(
        "scoped.ndjson",
        ndjson(20, (i) => JSON.stringify({ ...wireEvent(i), external_customer_id: undefined }))
      )
      const ran = yield* cli([
        "run",
        "--file",
        file,
        ...timeframe,
        "--add",
        "--external-customer-id",
        "acme",
        "--no-wait"
      ])
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.match(ran.stdout, /is pending: 20 events/)
      assert.match(ran.stdout, /orb-backfill watch \S+/)
      const sim = yield* OrbSimulator.OrbSimulator
      const events = yield* sim.events
      assert.isTrue(events.every((e) => Option.contains(e.externalCustomerId, "acme")))
    }).pipe(Effect.provide(simulator)))

  it.live("draws a bar on a terminal", () =>
    Effect.gen(function*() {
      const file = tempFile("tty.ndjson", ndjson(1_000))
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add"], { isTTY: true })
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.include(ran.stderr, "\r\u001b[2KSending  [")
      assert.match(ran.stderr, /\[█+\] {2}100% {2}1,000\/1,000 events/)
      assert.include(ran.stderr, "Waiting for Orb to mark backfill")
    }).pipe(Effect.provide(simulator)))

  it.live("exit code 2 for bad usage and input, before anything is sent", () =>
    Effect.gen(function*() {
      const file = tempFile("ok.ndjson", ndjson(5))
      const cases: Array<[ReadonlyArray<string>, RegExp]> = [
        [["run", "--file", file, ...timeframe], /give --replace .* or --add/],
        [["run", "--file", file, ...timeframe, "--add", "--replace"], /give only one of --replace and --add/],
        [
          ["run", "--file", file, "--start", "yesterday", "--end", "2026-10-08", "--add"],
          /--start: "yesterday" is not an ISO 8601 date/
        ],
        // Longer than the account's maximum is run as windows (Windows.test.ts); --max-window is checked.
        [["run", "--file", file, ...timeframe, "--add", "--max-window", "0"], /--max-window: expected an integer/],
        [["run", "--file", `${file}.missing.ndjson`, ...timeframe, "--add"], /missing\.ndjson: no such file/],
        [["run", "--file", "events.txt", ...timeframe, "--add"], /cannot tell the format/],
        [["run", "--file", file, ...timeframe, "--add", "--batch-size", "501"], /--batch-size: expected an integer/],
        [
          ["run", "--file", file, ...timeframe, "--add", "--deprecation-filter", "x = 1"],
          /only applies with --replace/
        ],
        [["run", "--file", file, ...timeframe, "--add", "--bogus"], /bogus/],
        [["run", "--file", file, "--add"], /--start/],
        [["list", "--limit", "many"], /integer/],
        [["nope"], /nope|command/],
        [[], /give a command/]
      ]
      for (const [args, pattern] of cases) {
        const ran = yield* cli(args)
        assert.strictEqual(ran.code, 2, `${args.join(" ")}: ${ran.stderr}`)
        assert.match(ran.stderr, pattern, args.join(" "))
        noStackTrace(ran.stderr)
      }
      assert.strictEqual((yield* requests).length, 0)
      const help = yield* cli(["run", "--help"])
      assert.strictEqual(help.code, 0)
      assert.include(help.stdout, "--skip-invalid")
    }).pipe(Effect.provide(simulator)))

  it.live("a refusal by Orb is a failure of the work: exit 1, one sentence, nothing left open", () =>
    Effect.gen(function*() {
      // A customer Orb does not know (an overlapping open backfill is no refusal any more: the run waits for it).
      const file = tempFile(
        "unknown-customer.ndjson",
        ndjson(10, (i) => JSON.stringify({ ...wireEvent(i), external_customer_id: undefined }))
      )
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add", "--external-customer-id", "nobody-known"])
      assert.strictEqual(ran.code, 1)
      const errors = ran.stderr.split("\n").filter((line) => line.startsWith("Error: "))
      assert.strictEqual(errors.length, 1)
      assert.match(errors[0], /^Error: ResourceNotFound \(HTTP 404\) on POST \/events\/backfills: /)
      assert.include(errors[0], "nobody-known")
      noStackTrace(ran.stderr)
      assert.strictEqual((yield* backfills).length, 0)
    }).pipe(Effect.provide(simulator)))

  it.live(
    "a line that turns invalid after the validation pass fails the run, which reverts: exit 1",
    () =>
      Effect.gen(function*() {
        const file = tempFile("changing.ndjson", ndjson(10_000))
        const sim = yield* OrbSimulator.OrbSimulator
        const started = yield* cliForked(["run", "--file", file, ...timeframe, "--add", "--batch-size", "10"])
        // once the run is under way (the reader stays a few thousand lines ahead at most), the file grows a bad line
        while (((yield* sim.backfills)[0]?.eventsIngested ?? 0) === 0) yield* Effect.sleep("5 millis")
        fs.appendFileSync(file, "{oops\n")
        const code = yield* Fiber.join(started.fiber)
        assert.strictEqual(code, 1, started.stderr())
        const backfill = (yield* sim.backfills)[0]
        assert.strictEqual(backfill.status, "reverted")
        assert.include(
          started.stderr(),
          `Error: Run failed while ingesting: ${file}:10001: not valid JSON`
        )
        assert.include(started.stderr(), `backfill ${backfill.id} was reverted, so no usage changed.`)
      }).pipe(Effect.provide(simulator)),
    30_000
  )

  it.live("Ctrl-C (interruption) during ingestion reverts the backfill and says so", () =>
    Effect.gen(function*() {
      const file = tempFile("slow.ndjson", ndjson(1_000))
      const sim = yield* OrbSimulator.OrbSimulator
      // 600 events a minute, 10 a request: about one request a second
      const started = yield* cliForked([
        "run",
        "--file",
        file,
        ...timeframe,
        "--add",
        "--batch-size",
        "10",
        "--events-per-minute",
        "600"
      ])
      let ingested = 0
      while (ingested < 10) {
        yield* Effect.sleep("50 millis")
        const all = yield* sim.backfills
        ingested = all[0]?.eventsIngested ?? 0
      }
      yield* Fiber.interrupt(started.fiber)
      const all = yield* sim.backfills
      assert.strictEqual(all.length, 1)
      assert.strictEqual(all[0].status, "reverted")
      assert.include(started.stderr(), `Interrupted: backfill ${all[0].id} was reverted, so no usage changed.`)
      const closes = (yield* sim.requests).filter((r) => r.url.endsWith("/close"))
      assert.strictEqual(closes.length, 0)
    }).pipe(Effect.provide(simulator)), 20_000)
})
