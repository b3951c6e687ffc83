/**
 * The official SDK, `orb-billing`, used the way its README shows.
 */
import Orb from "orb-billing"
import type { Job, Measurement } from "../Protocol.js"
import { batches, main, sendAll, start, stop, timeListing } from "./Worker.js"

type IngestEvents = Parameters<Orb["events"]["ingest"]>[0]["events"]

const run = async (job: Job): Promise<Measurement> => {
  const client = new Orb({ apiKey: job.apiKey, baseURL: job.baseUrl })
  switch (job.scenario) {
    case "fetch": {
      for (let i = 0; i < job.warmup; i++) await client.events.backfills.fetch(job.backfillId)
      const mark = start()
      for (let i = 0; i < job.count; i++) {
        const backfill = await client.events.backfills.fetch(job.backfillId)
        if (backfill.id !== job.backfillId) throw new Error("wrong backfill")
      }
      return stop(mark, job.count)
    }
    case "list":
      return timeListing(job.warmup, async () => {
        let items = 0
        for await (const _backfill of client.events.backfills.list({ limit: 100 })) items++
        return items
      })
    case "ingest":
    case "quota": {
      const mark = start()
      const sent = await sendAll(batches(job.file, 500), job.concurrency, async (events) => {
        await client.events.ingest({ events: events as IngestEvents, backfill_id: job.backfillId })
      })
      return stop(mark, sent.events, { requests: sent.requests })
    }
    default:
      throw new Error(`no ${job.scenario} scenario here`)
  }
}

main(run)
