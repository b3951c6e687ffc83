// The help as a terminal shows it: it fits the width, marks what is required, shows defaults, names the command
// as it is typed, and carries no colour codes.
import * as Command from "@effect/cli/Command"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Cli from "../src/Cli.js"
import { cli, simulator } from "./support.js"

const ansi = new RegExp(String.fromCharCode(27) + "\\[")

const fits = (text: string, columns: number) => {
  for (const line of text.split("\n")) assert.isAtMost(line.length, columns, `longer than ${columns}: ${line}`)
}

describe("orb-backfill --help", () => {
  it.effect("lists every command on one line each, within 80 columns, with no colour codes", () =>
    Effect.gen(function*() {
      for (const args of [["--help"], ["-h"]]) {
        const ran = yield* cli(args, { columns: 80 })
        assert.strictEqual(ran.code, 0)
        assert.strictEqual(ran.stderr, "")
        fits(ran.stdout, 80)
        assert.notMatch(ran.stdout, ansi)
        assert.match(ran.stdout, /^Usage: orb-backfill <command> \[flags\]$/m)
        for (const name of ["run", "runs", "runs cancel", "runs prune", "resume", "list", "show", "close", "revert"]) {
          assert.match(ran.stdout, new RegExp(`^  ${name} {2,}\\S`, "m"), name)
        }
        assert.match(ran.stdout, /^ {2}watch {2,}\S/m)
        assert.match(ran.stdout, /^ {2}simulate {2,}\S/m)
        assert.match(ran.stdout, /^ {2}demo {2,}\S/m)
        // The built-ins that work are explained; the ones that do nothing here are not offered.
        assert.match(ran.stdout, /--completions/)
        assert.notMatch(ran.stdout, /--wizard|--log-level|This setting is optional|A true or false value/)
      }
    }).pipe(Effect.provide(simulator)))

  it.effect("run --help: usage as typed, required flags marked, one of --replace and --add, whole sentences", () =>
    Effect.gen(function*() {
      for (const columns of [80, 100]) {
        const ran = yield* cli(["run", "--help"], { columns })
        assert.strictEqual(ran.code, 0)
        fits(ran.stdout, columns)
        assert.notMatch(ran.stdout, ansi)
        const text = ran.stdout
        assert.match(text, /^Usage: orb-backfill run --file PATH --start ISO --end ISO \(--replace \| --add\)/m)
        assert.notMatch(text, /\$ run/)
        const required = text.slice(text.indexOf("Required flags:"), text.indexOf("Other flags:"))
        for (const flag of ["-f, --file PATH", "--start ISO", "--end ISO"]) assert.include(required, flag)
        assert.match(required, /One of these is required:\n\s+--replace/)
        assert.include(required, "--add")
        assert.notInclude(required, "--format")
        // The description is whole: it ends a sentence.
        assert.match(text, /wait until Orb reflects it\./)
        assert.include(text.slice(text.indexOf("Other flags:")), "--skip-invalid")
      }
    }).pipe(Effect.provide(simulator)))

  it.effect("shows defaults, and each subcommand's usage", () =>
    Effect.gen(function*() {
      const simulate = yield* cli(["simulate", "--help"], { columns: 80 })
      assert.strictEqual(simulate.code, 0)
      assert.match(simulate.stdout, /--port N\s+Port on 127\.0\.0\.1 \(0: any\)\. Default: 4010/)
      const list = yield* cli(["list", "-h"], { columns: 80 })
      assert.match(list.stdout, /--limit N\s+.*Default: 20/)
      const show = yield* cli(["show", "--help"], { columns: 80 })
      assert.match(show.stdout, /^Usage: orb-backfill show ID \[flags\]$/m)
      const cancel = yield* cli(["runs", "cancel", "--help"], { columns: 80 })
      assert.match(cancel.stdout, /^Usage: orb-backfill runs cancel RUN \[flags\]$/m)
      const resume = yield* cli(["resume", "--help"], { columns: 80 })
      assert.match(resume.stdout, /^Usage: orb-backfill resume \[RUN\] \[flags\]$/m)
      const runs = yield* cli(["runs", "--help"], { columns: 80 })
      // Its two forms under one `Usage:` (it said `Usage:` twice).
      assert.match(runs.stdout, /^Usage: orb-backfill runs \[flags\]\n {7}orb-backfill runs <command> \[flags\]$/m)
      assert.strictEqual(runs.stdout.split("Usage:").length, 2, runs.stdout)
      assert.match(runs.stdout, /^ {2}cancel {2,}\S/m)
      assert.match(runs.stdout, /^ {2}prune {2,}\S/m)
      const prune = yield* cli(["runs", "prune", "--help"], { columns: 80 })
      assert.match(prune.stdout, /Required flags:\n\s+--older-than DAYS/)
    }).pipe(Effect.provide(simulator)))

  it.effect("a narrow terminal still gets lines that fit", () =>
    Effect.gen(function*() {
      for (const args of [["--help"], ["run", "--help"], ["simulate", "--help"]]) {
        const ran = yield* cli(args, { columns: 50 })
        fits(ran.stdout, 50)
      }
    }).pipe(Effect.provide(simulator)))

  it.effect("describes every command the parser knows, and nothing else", () =>
    Effect.gen(function*() {
      const top = yield* cli(["--help"], { columns: 100 })
      const listed = [...top.stdout.matchAll(/^ {2}([a-z]+(?: [a-z]+)?) {2,}\S/gm)].map((m) => m[1])
      const commands = [...HashMap.keys(Command.getSubcommands(Cli.command))]
      assert.sameMembers(listed.filter((name) => !name.startsWith("-") && !name.includes(" ")), commands)
      // Nested commands (runs cancel) are listed too: each one's help is its own.
      for (const name of listed.filter((name) => !name.startsWith("-"))) {
        const ran = yield* cli([...name.split(" "), "--help"], { columns: 80 })
        assert.match(ran.stdout, new RegExp(`^Usage: orb-backfill ${name}\\b`, "m"), name)
      }
    }).pipe(Effect.provide(simulator)))
})

describe("orb-backfill --version", () => {
  it.effect("prints the command and its version, on one line", () =>
    Effect.gen(function*() {
      const ran = yield* cli(["--version"])
      assert.strictEqual(ran.code, 0)
      assert.strictEqual(ran.stdout, "orb-backfill 0.1.0\n")
    }).pipe(Effect.provide(simulator)))
})
