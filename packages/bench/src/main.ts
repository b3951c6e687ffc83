/**
 * `pnpm bench [--quick | --smoke] [--out DIR] [--rounds N] [--only fetch,list,...] [--profile client,...]`
 *
 * Runs the benchmarks, prints the Markdown tables and writes `latest.json` (default `packages/bench/results/`
 * for a full run of every scenario, `packages/bench/results/scratch/` (untracked) for any other). `--quick` takes about two minutes; `--smoke` (for CI) a few hundred operations per
 * scenario. `--profile ours-undici` runs that client under `node --cpu-prof` (profiles in `<out>/profiles`).
 */
import { mkdirSync, writeFileSync } from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"
import type { Mode, Scenario } from "./Harness.js"
import { run, scenarios } from "./Harness.js"
import { markdown } from "./Report.js"

const { values } = parseArgs({
  args: process.argv.slice(2),
  strict: true,
  options: {
    quick: { type: "boolean", default: false },
    smoke: { type: "boolean", default: false },
    out: { type: "string" },
    rounds: { type: "string" },
    only: { type: "string" },
    profile: { type: "string" }
  }
})

const mode: Mode = values.smoke ? "smoke" : values.quick ? "quick" : "full"
const only = values.only === undefined ? undefined : new Set(values.only.split(",").map((s) => s.trim()))
// Only a full run of every scenario replaces the committed figures; any other run (quick, smoke, --only,
// --rounds, --profile) writes to an untracked folder unless --out says where.
const complete = mode === "full" && only === undefined && values.rounds === undefined && values.profile === undefined
const outDir = Path.resolve(
  values.out ?? Path.join(Path.dirname(fileURLToPath(import.meta.url)), "..", "results", complete ? "" : "scratch")
)
for (const name of only ?? []) {
  if (!scenarios.includes(name as Scenario)) {
    console.error(`bench: unknown scenario "${name}" (expected some of ${scenarios.join(", ")})`)
    process.exit(2)
  }
}
const rounds = values.rounds === undefined ? undefined : Number(values.rounds)
if (rounds !== undefined && !(Number.isInteger(rounds) && rounds >= 1)) {
  console.error(`bench: --rounds: expected a positive integer, got "${values.rounds}"`)
  process.exit(2)
}

const results = await run({
  mode,
  outDir,
  rounds,
  only: only as ReadonlySet<Scenario> | undefined,
  profile: values.profile === undefined ? undefined : new Set(values.profile.split(",").map((s) => s.trim())),
  log: (line) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`)
})

mkdirSync(outDir, { recursive: true })
const file = Path.join(outDir, "latest.json")
writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`)
console.log(markdown(results))
console.error(`[bench] results written to ${file}`)
