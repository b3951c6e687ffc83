/**
 * The harness in smoke mode (a few hundred operations per scenario), so that it cannot rot. It asserts only
 * that every client completed and that results were written, never a time.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import type { Results } from "../src/Harness.js"

const packageDir = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")

describe("bench --smoke", () => {
  it("runs every client of every scenario and writes the results", () => {
    const out = mkdtempSync(Path.join(Os.tmpdir(), "effect-orb-bench-test-"))
    try {
      const run = spawnSync(process.execPath, ["--import", "tsx", "src/main.ts", "--smoke", "--out", out], {
        cwd: packageDir,
        encoding: "utf8",
        timeout: 170_000
      })
      expect(run.stderr.slice(-2_000)).not.toMatch(/Error:/)
      expect(run.status).toBe(0)
      const file = Path.join(out, "latest.json")
      expect(existsSync(file)).toBe(true)
      const results = JSON.parse(readFileSync(file, "utf8")) as Results
      expect(results.mode).toBe("smoke")
      expect(results.scenarios.map((s) => s.scenario).sort()).toEqual([
        "decode",
        "fetch",
        "ingest",
        "ingest",
        "list",
        "overhead"
      ])
      for (const scenario of results.scenarios) {
        for (const client of scenario.clients) {
          expect(client.runs.length, `${scenario.scenario} ${client.id}`).toBeGreaterThan(0)
          for (const measurement of client.runs) {
            expect(measurement.ops, `${scenario.scenario} ${client.id}`).toBe(scenario.ops)
          }
        }
      }
      expect(results.quota?.events).toBeGreaterThan(0)
      expect(results.startup?.map((s) => s.id)).toEqual([
        "baseline",
        "ours-fetch",
        "ours-undici",
        "orb-billing",
        "cli-help",
        "cli-list",
        "cli-list-served"
      ])
      // The durable run beside the in-memory one, and the resume after kill -9: every event once.
      expect(results.durable?.clients.map((c) => c.runs[0]?.ops)).toEqual([
        results.durable?.events,
        results.durable?.events
      ])
      expect(results.durable?.resume.eventsIngested).toBe(results.durable?.resume.events)
      expect(results.durable?.resume.spawnToFirstIngestMs).toBeGreaterThan(0)
      // The table came out too.
      expect(run.stdout).toContain("### fetch")
      expect(run.stdout).toContain("### durable")
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  }, 180_000)
})
