/**
 * The simulator's one router of Orb's endpoints: a request's method and path to the handler of its resource
 * (`backfillsHandler.ts`, `ingestHandler.ts`, `eventsHandler.ts`), and its rate-limit category. Authentication,
 * quotas, idempotency and faults are the pipeline's (`pipeline.ts`), which calls {@link handle} last; the control
 * API's `/_simulator/` paths never come here (`OrbSimulator` sends them to `controlHandler.ts`, outside the
 * pipeline).
 */
import * as BackfillsHandler from "./backfillsHandler.js"
import * as EventsHandler from "./eventsHandler.js"
import * as IngestHandler from "./ingestHandler.js"
import type * as State from "./state.js"
import * as Wire from "./wire.js"

const urlNotFound = (method: string, path: string) =>
  Wire.problem("UrlNotFound", "URL not found", `No endpoint ${method} ${path}`)

/** Answers one request at `now`. Authentication, quotas and idempotency are the caller's. */
export const handle = (state: State.State, request: Wire.Request, now: number): Wire.Response => {
  const url = new URL(request.url, "http://simulator.invalid")
  const method = request.method.toUpperCase()
  const fullPath = url.pathname.length > 1 ? url.pathname.replace(/\/$/, "") : url.pathname
  const params = url.searchParams
  // The events endpoints' paths hold no id, so they are matched as written, before any segment is decoded.
  if (fullPath === "/v1/events/search" && method === "POST") return EventsHandler.search(state, request.body, now)
  if (fullPath === "/v1/events/volume" && method === "GET") return EventsHandler.volume(state, params, now)
  if (!fullPath.startsWith("/v1/")) return urlNotFound(method, fullPath)
  let segments: Array<string>
  try {
    segments = fullPath.slice("/v1/".length).split("/").map(decodeURIComponent)
  } catch {
    return urlNotFound(method, fullPath)
  }
  if (segments.length === 1 && segments[0] === "ingest" && method === "POST") {
    return IngestHandler.ingest(state, params, request.body, now)
  }
  if (segments[0] !== "events" || segments[1] !== "backfills") return urlNotFound(method, fullPath)
  if (segments.length === 2) {
    if (method === "GET") return BackfillsHandler.list(state, params, now)
    if (method === "POST") return BackfillsHandler.create(state, request.body, now)
    return urlNotFound(method, fullPath)
  }
  const id = segments[2]
  const action = segments.length === 3 ? "fetch" : segments.length === 4 ? segments[3] : undefined
  const route = action === "fetch" && method === "GET"
    ? "fetch"
    : (action === "close" || action === "revert") && method === "POST"
    ? action
    : undefined
  if (route === undefined || id.length === 0) return urlNotFound(method, fullPath)
  switch (route) {
    case "fetch":
      return BackfillsHandler.fetch(state, id, now)
    case "close":
      return BackfillsHandler.close(state, id, now)
    case "revert":
      return BackfillsHandler.revert(state, id, now)
  }
}

/** The rate-limit category of a request, as Orb counts them. */
export const category = (request: Wire.Request): "read" | "write" | "ingest" => {
  const method = request.method.toUpperCase()
  if (method === "GET" || method === "HEAD") return "read"
  const path = new URL(request.url, "http://simulator.invalid").pathname.replace(/\/$/, "")
  return path === "/v1/ingest" ? "ingest" : "write"
}
