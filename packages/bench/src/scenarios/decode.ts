/**
 * The decode scenario: what decoding a backfill from the wire costs, JSON.parse alone beside JSON.parse and the
 * library's Schema, in the client's own process (no server, no socket).
 */
import { decodeClients } from "../harness/clients.js"
import type { Context } from "../harness/context.js"
import type { ScenarioResult } from "../harness/results.js"
import { inProcessScenario } from "../harness/rounds.js"

export const decodeScenario = (context: Context): Promise<ScenarioResult> =>
  inProcessScenario(context, {
    name: "decode",
    job: "decode",
    clients: decodeClients,
    count: context.size.decode,
    title: `${context.size.decode.toLocaleString("en-US")} wire backfills decoded`,
    unit: "object",
    rawId: "json-parse",
    orbId: "json-parse"
  })
