/**
 * Scenario 6, orb-billing: import, build the client, fetch one backfill.
 */
import Orb from "orb-billing"

const imported = performance.now()
const [baseUrl = "", apiKey = "", id = ""] = process.argv.slice(2)

const client = new Orb({ apiKey, baseURL: baseUrl })
client.events.backfills.fetch(id).then((backfill) => {
  const done = performance.now()
  process.stdout.write(`${JSON.stringify({ importedMs: imported, firstRequestMs: done, id: backfill.id })}\n`)
})
