/**
 * The harness in smoke mode (a few hundred operations per scenario), so that it cannot rot. It asserts only
 * that every client completed and that results were written, never a time.
 */
import { execFile } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "vitest"
import type { Results } from "../src/Harness.js"

const packageDir = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")

// Spawned without blocking: a synchronous spawn holds vitest's worker for minutes, and vitest then fails the run
// with "Timeout calling onTaskUpdate" although the test passed.
const runBench = (args: ReadonlyArray<string>) =>
  new Promise<{ readonly status: number | null; readonly stdout: string; readonly stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      args,
      { cwd: packageDir, encoding: "utf8", timeout: 260_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ status: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr })
    )
  })

describe("bench --smoke", () => {
  it("runs every client of every scenario and writes the results", async () => {
    const out = mkdtempSync(Path.join(Os.tmpdir(), "effect-orb-bench-test-"))
    try {
      const run = await runBench(["--import", "tsx", "src/main.ts", "--smoke", "--out", out])
      assert.notMatch(run.stderr.slice(-2_000), /Error:/, run.stderr.slice(-3_000))
      assert.strictEqual(run.status, 0)
      const file = Path.join(out, "latest.json")
      assert.strictEqual(existsSync(file), true)
      const results = JSON.parse(readFileSync(file, "utf8")) as Results
      assert.strictEqual(results.mode, "smoke")
      assert.deepStrictEqual(results.scenarios.map((s) => s.scenario).sort(), [
        "decode",
        "fetch",
        "ingest",
        "ingest",
        "list",
        "overhead"
      ])
      for (const scenario of results.scenarios) {
        for (const client of scenario.clients) {
          assert.isAbove(client.runs.length, 0, `${scenario.scenario} ${client.id}`)
          for (const measurement of client.runs) {
            assert.strictEqual(measurement.ops, scenario.ops, `${scenario.scenario} ${client.id}`)
          }
        }
      }
      assert.isAbove(results.quota?.events ?? 0, 0)
      assert.deepStrictEqual(results.startup?.map((s) => s.id), [
        "baseline",
        "ours-fetch",
        "ours-undici",
        "orb-billing",
        "cli-help",
        "cli-list",
        "cli-list-served"
      ])
      // The durable runs (its engine's start timed, and on an engine already up) beside the in-memory one, and the
      // resume after kill -9: every event once.
      assert.deepStrictEqual(results.durable?.clients.map((c) => c.runs[0]?.ops), [
        results.durable?.events,
        results.durable?.events,
        results.durable?.events
      ])
      assert.strictEqual(results.durable?.resume.eventsIngested, results.durable?.resume.events)
      assert.isAbove(results.durable?.resume.spawnToFirstIngestMs ?? 0, 0)
      // The check pass over each input format, as a real process with its peak RSS.
      assert.deepStrictEqual(results.inputs?.formats.map((f) => f.format), ["ndjson", "ndjson.gz", "csv", "parquet"])
      for (const f of results.inputs?.formats ?? []) assert.isAbove(f.maxRssMb, 0, f.format)
      // Three runs sharing one account's budget: every event in.
      assert.strictEqual(results.budget?.runs, 3)
      assert.isAbove(results.budget?.ingestRequests ?? 0, 0)
      // The table came out too.
      assert.include(run.stdout, "### fetch")
      assert.include(run.stdout, "### durable")
      assert.include(run.stdout, "### inputs")
      assert.include(run.stdout, "### budget")
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  }, 270_000)
})
