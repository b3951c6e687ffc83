/**
 * A plain file's size and SHA-256, hashed on a worker thread when the file is big: a durable run pins its source
 * while the engine starts, and the engine's start takes the process's thread (about 45 ms for 20 MB hashed there,
 * with nothing else to do; twice that beside the engine). A small file, or a worker that cannot start, is hashed on
 * the thread that asks.
 */
import * as Effect from "effect/Effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import { Worker } from "node:worker_threads"

/** A file's size in bytes and its SHA-256, in hexadecimal. */
export interface Hashed {
  readonly size: number
  readonly sha256: string
}

/** The file could not be read: the system's message and code (`ENOENT`, `EACCES`, ...). */
export class HashFailure extends Error {
  constructor(message: string, readonly code: string | undefined) {
    super(message)
  }
}

/** Reads of 1 MiB for a pin (a gzip file's too): at 64 KiB a read, a 20 MB file took twice as long to hash. */
export const chunkBytes = 1024 * 1024

/** From this size on, the hash is worth a thread's start (about 30 ms, on another core). */
export const workerFromBytes = 8 * 1024 * 1024

// The worker's program, CommonJS as an evaluated worker runs it: the same reads and hash as on the caller's thread.
const program = `
const { parentPort, workerData } = require("node:worker_threads")
const crypto = require("node:crypto")
const fs = require("node:fs")
try {
  const hash = crypto.createHash("sha256")
  const buffer = Buffer.allocUnsafe(workerData.chunkBytes)
  const fd = fs.openSync(workerData.path, "r")
  let size = 0
  try {
    for (;;) {
      const read = fs.readSync(fd, buffer, 0, buffer.length, null)
      if (read === 0) break
      size += read
      hash.update(buffer.subarray(0, read))
    }
  } finally {
    fs.closeSync(fd)
  }
  parentPort.postMessage({ size, sha256: hash.digest("hex") })
} catch (error) {
  parentPort.postMessage({ failure: { message: String(error && error.message || error), code: error && error.code } })
}
`

/** The file hashed on the caller's thread, its reads asynchronous. */
const onThisThread = (file: string): Effect.Effect<Hashed, HashFailure> =>
  Effect.async((resume) => {
    const hash = crypto.createHash("sha256")
    let size = 0
    const stream = fs.createReadStream(file, { highWaterMark: chunkBytes })
    stream.on("data", (chunk) => {
      size += chunk.length
      hash.update(chunk)
    })
    stream.on("error", (error) => resume(Effect.fail(failureOf(error))))
    stream.on("end", () => resume(Effect.succeed({ size, sha256: hash.digest("hex") })))
    return Effect.sync(() => stream.destroy())
  })

const failureOf = (error: unknown) =>
  new HashFailure(
    error instanceof Error ? error.message : String(error),
    typeof (error as { code?: unknown } | null)?.code === "string" ? (error as { code: string }).code : undefined
  )

type Answer = Hashed | { readonly failure: { readonly message: string; readonly code?: string } }

/** The file hashed on a worker thread; `undefined` when the worker gave no answer (it could not start, say). */
const onWorker = (file: string): Effect.Effect<Hashed | undefined, HashFailure> =>
  Effect.async((resume) => {
    let worker: Worker
    try {
      // Without the process's flags: a loader given to the process (`--import tsx`) would slow the start.
      worker = new Worker(program, { eval: true, workerData: { path: file, chunkBytes }, execArgv: [] })
    } catch {
      resume(Effect.succeed(undefined))
      return
    }
    let answered = false
    worker.once("message", (answer: Answer) => {
      answered = true
      resume(
        "failure" in answer
          ? Effect.fail(new HashFailure(answer.failure.message, answer.failure.code))
          : Effect.succeed({ size: answer.size, sha256: answer.sha256 })
      )
    })
    worker.once("error", () => {
      if (!answered) resume(Effect.succeed(undefined))
      answered = true
    })
    worker.once("exit", () => {
      if (!answered) resume(Effect.succeed(undefined))
      answered = true
    })
    return Effect.promise(() => worker.terminate())
  })

/**
 * The size and SHA-256 of `file` (an absolute path), read whole: on a worker thread from {@link workerFromBytes}
 * on, else (or if the worker cannot answer) on this thread.
 */
export const hashFile = (file: string, size: number): Effect.Effect<Hashed, HashFailure> =>
  size < workerFromBytes
    ? onThisThread(file)
    : Effect.flatMap(onWorker(file), (hashed) => hashed === undefined ? onThisThread(file) : Effect.succeed(hashed))
