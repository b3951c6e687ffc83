/**
 * A source's pin (`RunSource.fromFile`): a big plain file is hashed on a worker thread, so that the process's own
 * thread stays free (the engine starts meanwhile, or the CLI checks the file), with the same size and SHA-256 as a
 * small file hashed on the caller's thread; a file that cannot be read is refused with the system's reason.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { RunSource } from "../src/index.js"
import * as FileHash from "../src/internal/fileHash.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-orb-hash-"))

/** An NDJSON file of about `bytes` bytes, its lines all different. */
const eventsFile = (name: string, bytes: number) => {
  const file = path.join(dir, name)
  const line = (i: number) =>
    JSON.stringify({
      event_name: "api_request",
      timestamp: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
      properties: { n: i, pad: "x".repeat(100) },
      idempotency_key: `evt-${i}`,
      external_customer_id: "customer-1"
    }) + "\n"
  const fd = fs.openSync(file, "w")
  let written = 0
  for (let i = 0; written < bytes; i += 1_000) {
    let chunk = ""
    for (let j = i; j < i + 1_000; j++) chunk += line(j)
    fs.writeSync(fd, chunk)
    written += Buffer.byteLength(chunk)
  }
  fs.closeSync(fd)
  return file
}

const sha256Of = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex")

describe("a source's pin", () => {
  it.live(
    "a big file is hashed on a worker thread: the same pin, and this thread stays free meanwhile",
    () =>
      Effect.gen(function*() {
        const file = eventsFile("big.ndjson", 128 * 1024 * 1024)
        assert.isAtLeast(fs.statSync(file).size, FileHash.workerFromBytes)
        // Warm: the worker's start and the module's code, so that only the hash itself is measured below.
        yield* RunSource.fromFile(eventsFile("warm.ndjson", FileHash.workerFromBytes + 1))
        const before = performance.eventLoopUtilization()
        const source = yield* RunSource.fromFile(file)
        const busy = performance.eventLoopUtilization(before)
        assert.strictEqual(RunSource.sha256Of(source), sha256Of(file))
        assert.strictEqual(source.size, fs.statSync(file).size)
        // Hashed here, 128 MiB kept this thread busy about 135 ms (about 1 ms a MiB on the 2-core VM); on a worker,
        // only the worker's start and its answer do (5 to 7 ms).
        assert.isBelow(busy.active, 40, `this thread was busy ${Math.round(busy.active)} ms while the file was hashed`)
        fs.rmSync(file)
      }),
    60_000
  )

  it.effect("a small file is hashed on this thread, with the same pin as the system's", () =>
    Effect.gen(function*() {
      const file = eventsFile("small.ndjson", 256 * 1024)
      const source = yield* RunSource.fromFile(file)
      assert.strictEqual(RunSource.sha256Of(source), sha256Of(file))
    }))

  it.effect("a file that cannot be read whole is refused with the system's reason, whichever thread hashes it", () =>
    Effect.gen(function*() {
      for (const size of [16, FileHash.workerFromBytes]) {
        const failure = yield* Effect.flip(FileHash.hashFile(path.join(dir, "missing.ndjson"), size))
        assert.strictEqual(failure.code, "ENOENT")
        assert.include(failure.message, "no such file or directory")
      }
      // A folder passes the first look (its first bytes are none) and fails the read.
      const folder = fs.mkdtempSync(path.join(dir, "folder-"))
      const refused = yield* Effect.flip(FileHash.hashFile(folder, FileHash.workerFromBytes))
      assert.strictEqual(refused.code, "EISDIR")
    }))
})
