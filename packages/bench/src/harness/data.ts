/**
 * The data the scenarios send and check: the timeframe of every backfill, the NDJSON event files, the backfill a
 * client ingests into and what the simulator holds in it after, and the size of a durable run's state file.
 */
import { copyFileSync, createWriteStream, existsSync, rmSync, statSync } from "node:fs"
import { createRequire } from "node:module"
import { sqliteModule } from "./processes.js"
import { apiKey } from "./settings.js"

const day = 86_400_000

/** The timeframe of every ingest backfill: 30 days ending today at midnight UTC. */
export const timeframe = () => {
  const end = Math.floor(Date.now() / day) * day
  return { start: end - 30 * day, end }
}

/** Writes `count` events inside the timeframe as NDJSON, in Orb's wire format, each with its own key. */
export const writeEvents = async (file: string, count: number, start: number): Promise<void> => {
  const spacing = Math.max(1, Math.floor((29 * day) / count))
  const out = createWriteStream(file)
  const regions = ["eu-west-1", "us-east-1", "ap-south-1"]
  for (let from = 0; from < count; from += 10_000) {
    const lines: Array<string> = []
    for (let i = from; i < Math.min(count, from + 10_000); i++) {
      lines.push(JSON.stringify({
        event_name: "api_request",
        timestamp: new Date(start + i * spacing).toISOString(),
        properties: { region: regions[i % 3], bytes: (i * 7_919) % 100_000, cached: i % 5 === 0 },
        idempotency_key: `evt-${i.toString().padStart(9, "0")}`,
        external_customer_id: `customer-${i % 100}`
      }))
    }
    if (!out.write(`${lines.join("\n")}\n`)) await new Promise<void>((resolve) => out.once("drain", () => resolve()))
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => error ? reject(error) : resolve()))
}

/** Creates the backfill events go into, over HTTP. */
export const createBackfill = async (url: string, range: { start: number; end: number }): Promise<string> => {
  const response = await fetch(`${url}/events/backfills`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({
      timeframe_start: new Date(range.start).toISOString(),
      timeframe_end: new Date(range.end).toISOString(),
      replace_existing_events: false
    })
  })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`create backfill: HTTP ${response.status}: ${text}`)
  return (JSON.parse(text) as { id: string }).id
}

/**
 * The bytes of a SQLite state file (with its write-ahead log), and what it holds once the log is folded in: a copy
 * is checkpointed (`wal_checkpoint(TRUNCATE)`), so the original stays as the run left it.
 */
export const stateSize = (state: string): { readonly bytes: number; readonly checkpointedBytes: number } => {
  const size = (file: string) => existsSync(file) ? statSync(file).size : 0
  const bytes = size(state) + size(`${state}-wal`)
  const copy = `${state}.copy`
  copyFileSync(state, copy)
  if (existsSync(`${state}-wal`)) copyFileSync(`${state}-wal`, `${copy}-wal`)
  const Database = createRequire(import.meta.url)(sqliteModule()) as new(file: string) => {
    pragma: (source: string) => unknown
    close: () => void
  }
  const db = new Database(copy)
  db.pragma("wal_checkpoint(TRUNCATE)")
  db.close()
  const checkpointedBytes = size(copy) + size(`${copy}-wal`)
  for (const file of [copy, `${copy}-wal`, `${copy}-shm`]) rmSync(file, { force: true })
  return { bytes, checkpointedBytes }
}

/** The one backfill of a fresh server, as the simulator has it. */
export const onlyBackfill = async (url: string): Promise<{ readonly id: string; readonly events_ingested: number }> => {
  const response = await fetch(`${url}/events/backfills?limit=10`, { headers: { authorization: `Bearer ${apiKey}` } })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`list backfills: HTTP ${response.status}: ${text}`)
  const data = (JSON.parse(text) as { data: Array<{ id: string; events_ingested: number }> }).data
  if (data.length !== 1) throw new Error(`expected one backfill, found ${data.length}`)
  return data[0]
}
