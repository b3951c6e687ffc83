/**
 * The floor: undici's `request` and `JSON.parse`, nothing else (no retries, no validation).
 */
import { randomUUID } from "node:crypto"
import { request } from "undici"
import type { Job, Measurement } from "../Protocol.js"
import { batches, expectOk, listPath, main, sendAll, start, stop } from "./Worker.js"

const run = async (job: Job): Promise<Measurement> => {
  const headers = { authorization: `Bearer ${job.apiKey}`, accept: "application/json" }
  const get = async (path: string): Promise<any> => {
    const response = await request(`${job.baseUrl}${path}`, { method: "GET", headers })
    const text = await response.body.text()
    expectOk(response.statusCode, text, `GET ${path}`)
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
    case "list": {
      for (let i = 0; i < job.warmup; i++) await get(listPath(null))
      const mark = start()
      let items = 0
      let cursor: string | null = null
      for (;;) {
        const page: any = await get(listPath(cursor))
        items += page.data.length
        cursor = page.pagination_metadata.next_cursor
        if (page.data.length === 0 || cursor === null) break
      }
      return stop(mark, items, { pages: Math.ceil(items / 100) })
    }
    case "ingest":
    case "quota": {
      const url = `${job.baseUrl}/ingest?backfill_id=${encodeURIComponent(job.backfillId)}`
      const mark = start()
      const sent = await sendAll(batches(job.file, 500), job.concurrency, async (events) => {
        const response = await request(url, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json", "idempotency-key": randomUUID() },
          body: JSON.stringify({ events })
        })
        const text = await response.body.text()
        expectOk(response.statusCode, text, "POST /ingest")
      })
      return stop(mark, sent.events, { requests: sent.requests })
    }
    default:
      throw new Error(`no ${job.scenario} scenario here`)
  }
}

main(run)
