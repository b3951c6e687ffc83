/**
 * The overhead scenario: where the library's time per request goes, with the socket taken out. Its fetch against
 * an in-process HttpClient beside the same request written by hand, piece by piece (timeout, retry, span).
 */
import { overheadClients } from "../harness/clients.js"
import type { Context } from "../harness/context.js"
import type { ScenarioResult } from "../harness/results.js"
import { inProcessScenario } from "../harness/rounds.js"

export const overheadScenario = (context: Context): Promise<ScenarioResult> =>
  inProcessScenario(context, {
    name: "overhead",
    job: "fetch",
    clients: overheadClients,
    count: context.size.overhead,
    title: `${context.size.overhead.toLocaleString("en-US")} fetches against an in-process HttpClient (no socket)`,
    unit: "request",
    rawId: "stub",
    orbId: "ours"
  })
