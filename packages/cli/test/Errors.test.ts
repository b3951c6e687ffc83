// Every failure in one form: one `Error: ...` sentence on standard error (and the JSON error object under --json),
// naming flags rather than the library's fields, with no raw control bytes, and exit code 2 for bad usage.
import { Backfills, OrbClient } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Backend from "../src/Backend.js"
import { cli, ndjson, simulator, tempFile, timeframe } from "./support.js"

// eslint-disable-next-line no-control-regex -- the control characters are what it looks for
const controls = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/

/** The one line of standard error a failure prints, checked to be alone, a sentence, and printable. */
const oneError = (ran: { readonly code: number; readonly stderr: string }, code = 2) => {
  assert.strictEqual(ran.code, code, ran.stderr)
  const lines = ran.stderr.split("\n").filter((line) => line.length > 0 && line !== Backend.simulatorNotice)
  assert.strictEqual(lines.length, 1, ran.stderr)
  assert.match(lines[0], /^Error: .*[.)?]$/)
  assert.notMatch(ran.stderr, controls)
  return lines[0]
}

/** A backend over Orb's client, with `client` in place of the network. */
const orbOver = (client: Layer.Layer<HttpClient.HttpClient>, apiKey = "key") =>
  Layer.mergeAll(
    Backfills.layer,
    Layer.succeed(Backend.Backend, {
      kind: "simulator",
      notice: Option.none(),
      defaultQuota: false,
      awaitSchedule: undefined,
      watchInterval: Duration.seconds(1),
      backfillsFor: () => Effect.die("not in this test")
    }),
    NodeContext.layer
  ).pipe(
    Layer.provide(OrbClient.layer({ apiKey: Redacted.make(apiKey), baseUrl: "http://127.0.0.1/v1" })),
    Layer.provide(client),
    Layer.orDie
  )

describe("errors in one form", () => {
  it.effect("flag parsing: one sentence naming the flag, exit 2, the JSON error object with --json", () =>
    Effect.gen(function*() {
      const file = tempFile("ok.ndjson", ndjson(2))
      const cases: Array<[ReadonlyArray<string>, string]> = [
        [
          ["run", "--frobnicate"],
          "Error: unknown flag --frobnicate for orb-backfill run; see orb-backfill run --help."
        ],
        [["list", "--limit", "abc"], "Error: --limit: expected an integer, got 'abc'."],
        [["list", "--limit=abc"], "Error: --limit: expected an integer, got 'abc'."],
        [
          ["list", "--limt", "3"],
          "Error: unknown flag --limt for orb-backfill list (did you mean --limit?); see orb-backfill list --help."
        ],
        [["simulate", "--fault-rate", "x"], "Error: --fault-rate: expected a number, got 'x'."],
        [["simulate", "--quotas", "prod"], "Error: --quotas: expected live or test, got 'prod'."],
        [
          ["run", "--file", file, "--start", "2026-10-01"],
          "Error: orb-backfill run needs --end; see orb-backfill run --help."
        ],
        [
          ["run", "--add"],
          "Error: orb-backfill run needs --file, --start and --end; see orb-backfill run --help."
        ],
        [["run", "--file"], "Error: --file needs a value (PATH)."],
        [["show"], "Error: orb-backfill show needs ID (orb-backfill show ID)."],
        [["show", "a", "b"], "Error: unexpected argument 'b' (orb-backfill show takes ID)."],
        [["list", "--json", "--json"], "Error: --json is given twice."],
        [["--wizard"], "Error: unknown flag --wizard for orb-backfill; see orb-backfill --help."],
        [
          ["list", "--log-level", "debug"],
          "Error: unknown flag --log-level for orb-backfill list; see orb-backfill list --help."
        ]
      ]
      for (const [args, expected] of cases) {
        const ran = yield* cli(args)
        assert.strictEqual(oneError(ran), expected, args.join(" "))
        if (!args.includes("--json")) assert.strictEqual(ran.stdout, "", args.join(" "))
      }
      const frob = yield* cli(["frob"])
      assert.match(
        oneError(frob),
        /^Error: unknown command 'frob' for orb-backfill: use one of run, runs, .* or demo; /
      )

      for (const args of [["list", "--json", "--frobnicate"], ["list", "--json", "--limit", "abc"]]) {
        const ran = yield* cli(args)
        const sentence = oneError(ran)
        assert.deepStrictEqual(JSON.parse(ran.stdout), {
          error: { tag: "UsageError", message: sentence.slice("Error: ".length), exitCode: 2 }
        })
      }
    }).pipe(Effect.provide(simulator)))

  it.effect("the library's fields are named as the flags that set them", () =>
    Effect.gen(function*() {
      const file = tempFile("fields.ndjson", ndjson(2))
      const ran = yield* cli(["run", "--file", file, "--start", "2026-10-08", "--end", "2026-10-01", "--add"])
      const sentence = oneError(ran)
      assert.strictEqual(
        sentence,
        "Error: --end: must be after --start (2026-10-08T00:00:00.000Z), got 2026-10-01T00:00:00.000Z."
      )
      const json = yield* cli([
        "run",
        "--file",
        file,
        "--start",
        "2026-10-08",
        "--end",
        "2026-10-01",
        "--add",
        "--json"
      ])
      assert.notInclude(json.stdout, "timeframe")
    }).pipe(Effect.provide(simulator)))

  it.live("one event is \"1 valid event\"", () =>
    Effect.gen(function*() {
      const file = tempFile("one.ndjson", ndjson(1))
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add", "--dry-run"])
      assert.strictEqual(ran.code, 0, ran.stderr)
      assert.include(ran.stderr, `Checked ${file}: 1 valid event.`)
      assert.include(ran.stdout, `1 event in ${file} would be sent`)
    }).pipe(Effect.provide(simulator)))

  it.effect("a binary file's bytes are escaped, never written to the terminal", () =>
    Effect.gen(function*() {
      // No NUL byte: with one, the file is refused as binary before a line is read (InputFiles.test.ts).
      const bytes = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x1b, 0x5b, 0x32, 0x4a, 0x07, 0x0a])
      const file = tempFile("binary.ndjson", bytes.toString("latin1"))
      const ran = yield* cli(["run", "--file", file, ...timeframe, "--add"])
      assert.strictEqual(ran.code, 2)
      assert.notMatch(ran.stderr, controls)
      assert.include(ran.stderr, "\\x1b")
    }).pipe(Effect.provide(simulator)))

  it.effect("a response that is not Orb's JSON is one sentence; the schema's complaint only with --verbose", () =>
    Effect.gen(function*() {
      const ran = yield* cli(["list"])
      const sentence = oneError(ran, 1)
      assert.match(sentence, /^Error: Unexpected response \(HTTP 200\) to GET \/events\/backfills\?limit=20: /)
      assert.include(sentence, "body starts with")
      const verbose = yield* cli(["list", "--verbose"])
      assert.include(verbose.stderr, "is missing")
    }).pipe(Effect.provide(orbOver(Layer.succeed(
      HttpClient.HttpClient,
      HttpClient.make((request) =>
        Effect.succeed(HttpClientResponse.fromWeb(
          request,
          new Response(JSON.stringify({ data: [{ id: "bf_1" }] }), { headers: { "content-type": "application/json" } })
        ))
      )
    )))))

  it.effect("--verbose logs no retry that does not happen, and no unhandled-fiber noise", () =>
    Effect.gen(function*() {
      const ran = yield* cli(["list", "--verbose"])
      assert.strictEqual(ran.code, 1)
      assert.match(ran.stderr, /^Error: AuthenticationError \(HTTP 401\)/m)
      assert.notInclude(ran.stderr, "Retrying")
      assert.notInclude(ran.stderr, "Fiber terminated")
    }).pipe(
      Effect.provide(orbOver(
        Layer.project(OrbSimulator.layer({ apiKey: "right" }), HttpClient.HttpClient, HttpClient.HttpClient, (c) => c),
        "wrong"
      ))
    ))
})
