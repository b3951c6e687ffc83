/**
 * Shared by every client process: read the job, time the measured part, report, and read the NDJSON file
 * the same way for every client (so reading the file costs each of them the same).
 */
import { randomUUID } from "node:crypto"
import { createReadStream } from "node:fs"
import type { Job, Measurement } from "../Protocol.js"
import { resultMarker } from "../Protocol.js"

/** The job given on the command line. */
export const readJob = (): Job => JSON.parse(process.argv[2] ?? "{}") as Job

interface Mark {
  readonly cpu: NodeJS.CpuUsage
  readonly at: number
}

/** Starts the timed part. */
export const start = (): Mark => ({ cpu: process.cpuUsage(), at: performance.now() })

/** Ends the timed part. */
export const stop = (mark: Mark, ops: number, extra: Record<string, number> = {}): Measurement => {
  const wallMs = performance.now() - mark.at
  const cpu = process.cpuUsage(mark.cpu)
  return {
    ops,
    wallMs,
    cpuUserMicros: cpu.user,
    cpuSystemMicros: cpu.system,
    maxRssKb: process.resourceUsage().maxRSS,
    extra
  }
}

/** Reports the measurement and ends the process. */
export const report = (measurement: Measurement): void => {
  process.stdout.write(`${resultMarker}${JSON.stringify(measurement)}\n`, () => process.exit(0))
}

/** Reports a failure and ends the process with status 1. */
export const fail = (error: unknown): void => {
  process.stderr.write(
    `${error instanceof Error ? error.stack ?? error.message : String(error)}\n`,
    () => process.exit(1)
  )
}

/** Runs a client's job: `run` does the scenario and returns the measurement. */
export const main = (run: (job: Job) => Promise<Measurement>): void => {
  run(readJob()).then(report, fail)
}

/** The lines of a file, a read buffer's worth at a time (empty lines left out). */
export async function* lineChunks(file: string): AsyncGenerator<Array<string>> {
  let rest = ""
  for await (const chunk of createReadStream(file, { encoding: "utf8", highWaterMark: 1 << 20 })) {
    const text = rest + (chunk as string)
    const lines = text.split("\n")
    rest = lines.pop() ?? ""
    yield lines.filter((line) => line.length > 0)
  }
  if (rest.length > 0) yield [rest]
}

/** The events of an NDJSON file, parsed, in batches of `size`. */
export async function* batches(file: string, size: number): AsyncGenerator<Array<unknown>> {
  let batch: Array<unknown> = []
  for await (const lines of lineChunks(file)) {
    for (const line of lines) {
      batch.push(JSON.parse(line))
      if (batch.length === size) {
        yield batch
        batch = []
      }
    }
  }
  if (batch.length > 0) yield batch
}

/** Sends batches with at most `concurrency` requests in flight; the first failure ends it. */
export const sendAll = async (
  source: AsyncIterable<Array<unknown>>,
  concurrency: number,
  send: (batch: Array<unknown>) => Promise<void>
): Promise<{ readonly events: number; readonly requests: number }> => {
  const inFlight = new Set<Promise<void>>()
  let events = 0
  let requests = 0
  for await (const batch of source) {
    events += batch.length
    requests++
    const sending: Promise<void> = send(batch).then(() => {
      inFlight.delete(sending)
    })
    inFlight.add(sending)
    if (inFlight.size >= concurrency) await Promise.race(inFlight)
  }
  await Promise.all(inFlight)
  return { events, requests }
}

/** The list scenario: `warmup` untimed passes over every backfill, then one timed pass. */
export const timeListing = async (warmup: number, pass: () => Promise<number>): Promise<Measurement> => {
  for (let i = 0; i < warmup; i++) await pass()
  const mark = start()
  const items = await pass()
  return stop(mark, items, { pages: Math.ceil(items / 100) })
}

/** The path of the list endpoint with a cursor. */
export const listPath = (cursor: string | null): string =>
  `/events/backfills?limit=100${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`

/** Stops with an error when an HTTP status is not 200. */
export const expectOk = (status: number, body: string, what: string): void => {
  if (status !== 200) throw new Error(`${what}: HTTP ${status}: ${body.slice(0, 300)}`)
}

/**
 * A raw client's transport: one HTTP exchange, the response's status and body text.
 */
export type RawSend = (
  method: "GET" | "POST",
  url: string,
  headers: Record<string, string>,
  body?: string
) => Promise<{ readonly status: number; readonly text: string }>

/**
 * The scenarios of a raw client (no retries, no validation: the floor), over any transport, so that raw undici
 * and raw fetch differ only in the exchange itself.
 */
export const rawClient = (send: RawSend) => async (job: Job): Promise<Measurement> => {
  const headers = { authorization: `Bearer ${job.apiKey}`, accept: "application/json" }
  const get = async (path: string): Promise<any> => {
    const { status, text } = await send("GET", `${job.baseUrl}${path}`, headers)
    expectOk(status, text, `GET ${path}`)
    return JSON.parse(text)
  }
  switch (job.scenario) {
    case "fetch": {
      const path = `/events/backfills/${encodeURIComponent(job.backfillId)}`
      for (let i = 0; i < job.warmup; i++) await get(path)
      const mark = start()
      for (let i = 0; i < job.count; i++) {
        const backfill = await get(path)
        if (backfill.id !== job.backfillId) throw new Error("wrong backfill")
      }
      return stop(mark, job.count)
    }
    case "list":
      return timeListing(job.warmup, async () => {
        let items = 0
        let cursor: string | null = null
        for (;;) {
          const page: any = await get(listPath(cursor))
          items += page.data.length
          cursor = page.pagination_metadata.next_cursor
          if (page.data.length === 0 || cursor === null) break
        }
        return items
      })
    case "ingest":
    case "quota": {
      const url = `${job.baseUrl}/ingest?backfill_id=${encodeURIComponent(job.backfillId)}`
      const mark = start()
      const sent = await sendAll(batches(job.file, 500), job.concurrency, async (events) => {
        const { status, text } = await send(
          "POST",
          url,
          { ...headers, "content-type": "application/json", "idempotency-key": randomUUID() },
          JSON.stringify({ events })
        )
        expectOk(status, text, "POST /ingest")
      })
      return stop(mark, sent.events, { requests: sent.requests })
    }
    default:
      throw new Error(`no ${job.scenario} scenario here`)
  }
}
