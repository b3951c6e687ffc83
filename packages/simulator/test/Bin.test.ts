// `pnpm simulate` as a process: prints its base URL once listening, serves, and refuses bad flags.
import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

const tsx = fileURLToPath(new URL("../../../node_modules/tsx/dist/cli.mjs", import.meta.url))
const bin = fileURLToPath(new URL("../src/bin.ts", import.meta.url))

const start = (args: ReadonlyArray<string>) => spawn(process.execPath, [tsx, bin, ...args], { stdio: "pipe" })

describe("pnpm simulate", () => {
  it("prints the base URL once listening and serves it", async () => {
    const child = start(["--port", "0", "--api-key", "KEY", "--reflection-delay", "2s"])
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = ""
        child.stdout.on("data", (chunk) => {
          out += String(chunk)
          const match = /^(http:\/\/127\.0\.0\.1:\d+\/v1)$/m.exec(out)
          if (match) resolve(match[1])
        })
        child.on("exit", (code) => reject(new Error(`exited with ${code}`)))
      })
      const response = await fetch(`${url}/events/backfills`, { headers: { authorization: "Bearer KEY" } })
      expect(response.status).toBe(200)
      expect(await response.json()).toEqual({ data: [], pagination_metadata: { has_more: false, next_cursor: null } })
    } finally {
      child.kill("SIGINT")
    }
  }, 30_000)

  it("refuses an invalid flag with exit status 2 and no stack trace", async () => {
    const child = start(["--port", "nope"])
    let err = ""
    child.stderr.on("data", (chunk) => err += String(chunk))
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve))
    expect(code).toBe(2)
    expect(err.split("\n")[0]).toBe("simulate: --port: expected 0 to 65535, got \"nope\"")
    expect(err).not.toContain("    at ")
  }, 30_000)
})
