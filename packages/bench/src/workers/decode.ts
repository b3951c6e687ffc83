/**
 * Scenario 5: wire backfills through our Schema (`variant: "schema"`) against `JSON.parse` alone
 * (`variant: "json"`). The texts are made before the timed part.
 */
import { Backfill } from "@effect-orb/backfills"
import * as Schema from "effect/Schema"
import type { Job, Measurement } from "../Protocol.js"
import { main, start, stop } from "./Worker.js"

const day = 86_400_000

const wireText = (i: number): string => {
  const created = Date.UTC(2026, 9, 1) + i * 60_000
  return JSON.stringify({
    id: `bf_${i.toString(36).padStart(8, "0")}`,
    status: i % 4 === 0 ? "reflected" : "pending",
    created_at: new Date(created).toISOString(),
    timeframe_start: new Date(created - 7 * day).toISOString(),
    timeframe_end: new Date(created - day).toISOString(),
    events_ingested: i * 17,
    close_time: i % 2 === 0 ? new Date(created + day).toISOString() : null,
    reverted_at: null,
    customer_id: i % 3 === 0 ? null : `cus_${i % 1000}`,
    replace_existing_events: i % 2 === 0,
    deprecation_filter: null
  })
}

const run = async (job: Job): Promise<Measurement> => {
  const texts = Array.from({ length: job.count }, (_, i) => wireText(i))
  const decode = Schema.decodeUnknownSync(Backfill.Backfill)
  const once = job.variant === "schema"
    ? (text: string) => decode(JSON.parse(text))
    : (text: string) => JSON.parse(text)
  // Warm-up on a separate slice, so that the timed part runs optimised code as a long-lived client would.
  for (let i = 0; i < Math.min(job.warmup, texts.length); i++) once(texts[i])
  const mark = start()
  let sink = 0
  for (const text of texts) sink += once(text).id.length
  return stop(mark, texts.length, { sink })
}

main(run)
