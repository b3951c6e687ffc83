/**
 * A chaos proxy on loopback: a plain `node:http` server between a client and an upstream (the simulator's real
 * server), which fails a share of the requests in the ways a network, a load balancer or Orb itself does. Each
 * request's fate is drawn from a seeded hash of the seed, the request (method, path with query, body) and how many
 * times that very request came before, so a seed gives the same faults to the same requests whatever order
 * concurrent requests arrive in.
 *
 * The faults, by when they strike:
 * - before the upstream sees the request: `reset-before` (the connection is reset), the proxy's own answers
 *   (`answer-500`, `answer-502`, `answer-503`, `answer-429`, `answer-429-retry-after`, `answer-409`), and `delay`
 *   (held past the client's per-attempt timeout, then forwarded all the same: the upstream applies a request
 *   whose client gave up);
 * - after the upstream applied it: `reset-after` (the connection is reset instead of the answer),
 *   `drop-response` (no answer ever; the connection stays open until the client gives up), and unreadable 200s
 *   in place of the real answer (`garbage-html`, a proxy's page; `garbage-truncated`, the real body cut short
 *   with a consistent `content-length`; `garbage-empty`).
 */
import { OrbSimulator } from "@effect-orb/simulator"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Crypto from "node:crypto"
import * as Http from "node:http"
import type * as Net from "node:net"

export const chaosFaults = [
  "reset-before",
  "reset-after",
  "drop-response",
  "answer-500",
  "answer-502",
  "answer-503",
  "answer-429",
  "answer-429-retry-after",
  "answer-409",
  "delay",
  "garbage-html",
  "garbage-truncated",
  "garbage-empty"
] as const

export type ChaosFault = typeof chaosFaults[number]

/** Faults after which the upstream has applied the request although the client never learns its answer. */
export const appliedFaults: ReadonlySet<ChaosFault> = new Set<ChaosFault>([
  "reset-after",
  "drop-response",
  "garbage-html",
  "garbage-truncated",
  "garbage-empty"
])

export type Operation = "create" | "list" | "fetch" | "close" | "revert" | "ingest" | "other"

/** The backfill API operation a request is. */
export const operationOf = (method: string, path: string): Operation => {
  const pathname = path.split("?")[0].replace(/\/$/, "")
  if (method === "POST" && pathname.endsWith("/ingest")) return "ingest"
  const match = /\/events\/backfills(?:\/([^/]+)(?:\/(close|revert))?)?$/.exec(pathname)
  if (match === null) return "other"
  if (match[1] === undefined) return method === "POST" ? "create" : method === "GET" ? "list" : "other"
  if (match[2] !== undefined) return method === "POST" ? match[2] as "close" | "revert" : "other"
  return method === "GET" ? "fetch" : "other"
}

export interface Options {
  /** The upstream's origin, e.g. `http://127.0.0.1:4010`. */
  readonly upstream: string
  readonly seed: number | string
  /** The share of requests that get a fault, from 0 to 1. */
  readonly rate: number
  /** A share of its own for some operations (a run sends one create and one close, against many ingests). */
  readonly rates?: Partial<Record<Operation, number>> | undefined
  /** Which faults to draw from. Default: all of {@link chaosFaults}. */
  readonly faults?: ReadonlyArray<ChaosFault> | undefined
  /** How long `delay` holds a request before forwarding it: more than the client's per-attempt timeout. */
  readonly delayMillis: number
}

export interface Decision {
  /** Milliseconds since the proxy started. */
  readonly at: number
  readonly operation: Operation
  readonly method: string
  readonly path: string
  readonly fault: ChaosFault | undefined
}

export interface ChaosProxy {
  /** The base URL to give the client, e.g. `http://127.0.0.1:4011/v1`. */
  readonly url: string
  /** Every request's fate so far, in arrival order. */
  readonly decisions: ReadonlyArray<Decision>
  /** Stops (or resumes) injecting faults: every request is then forwarded as it is. */
  readonly setEnabled: (enabled: boolean) => void
  /** Waits until no request is held or being forwarded (a `delay` may forward after its client gave up). */
  readonly settled: Effect.Effect<void>
}

const hopByHop = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "host", "upgrade"])

const forwardable = (headers: Http.IncomingHttpHeaders): Record<string, string | Array<string>> => {
  const out: Record<string, string | Array<string>> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !hopByHop.has(name)) out[name] = value
  }
  return out
}

interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string | Array<string>>>
  readonly body: Buffer
}

// nginx's pages, as a load balancer in front of Orb answers.
const html = (title: string) =>
  `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n` +
  `<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`

// A captive portal or a CDN's challenge, answered with 200.
const portalPage = "<!DOCTYPE html><html><head><title>Just a moment...</title></head>" +
  "<body><p>Checking your browser before accessing the site.</p></body></html>"

const ownAnswer = (fault: ChaosFault): Answer | undefined => {
  const simulated = (kind: Parameters<typeof OrbSimulator.faultResponse>[0]): Answer => {
    const response = OrbSimulator.faultResponse(kind)
    return { status: response.status, headers: response.headers, body: Buffer.from(response.body) }
  }
  switch (fault) {
    case "answer-500":
      return simulated("internal-error")
    case "answer-503":
      return simulated("unavailable")
    case "answer-502":
      return { status: 502, headers: { "content-type": "text/html" }, body: Buffer.from(html("502 Bad Gateway")) }
    case "answer-429-retry-after":
      return simulated("too-many-requests")
    case "answer-429": {
      const { "retry-after": _, ...headers } = simulated("too-many-requests").headers
      return { ...simulated("too-many-requests"), headers }
    }
    case "answer-409":
      return simulated("conflict")
    default:
      return undefined
  }
}

const garbage = (fault: ChaosFault, real: Answer): Answer | undefined => {
  switch (fault) {
    case "garbage-html":
      return { status: 200, headers: { "content-type": "text/html" }, body: Buffer.from(portalPage) }
    case "garbage-truncated":
      return {
        status: 200,
        headers: { "content-type": "application/json" },
        body: real.body.subarray(0, Math.max(1, Math.floor(real.body.length / 2)))
      }
    case "garbage-empty":
      return { status: 200, headers: { "content-type": "application/json" }, body: Buffer.alloc(0) }
    default:
      return undefined
  }
}

/** Two draws in [0, 1) from a request's digest. */
const draws = (digest: Buffer): readonly [number, number] => [
  digest.readUInt32BE(0) / 2 ** 32,
  digest.readUInt32BE(4) / 2 ** 32
]

/** Starts a proxy on `127.0.0.1` until the scope closes. */
export const make = (options: Options): Effect.Effect<ChaosProxy, never, Scope.Scope> =>
  Effect.gen(function*() {
    const upstream = new URL(options.upstream)
    const kinds = options.faults ?? chaosFaults
    const agent = new Http.Agent({ keepAlive: true })
    const decisions: Array<Decision> = []
    const seen = new Map<string, number>()
    const timers = new Set<NodeJS.Timeout>()
    const sockets = new Set<Net.Socket>()
    let inFlight = 0
    let enabled = true
    let closed = false
    const started = Date.now()

    const later = (millis: number, f: () => void) => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        f()
      }, millis)
      timers.add(timer)
    }

    const decide = (method: string, path: string, body: Buffer): ChaosFault | undefined => {
      const operation = operationOf(method, path)
      const request = Crypto.createHash("sha256").update(`${method} ${path}\n`).update(body).digest("base64")
      const occurrence = seen.get(request) ?? 0
      seen.set(request, occurrence + 1)
      const [hit, kind] = draws(
        Crypto.createHash("sha256").update(`${options.seed}\n${occurrence}\n${request}`).digest()
      )
      const rate = options.rates?.[operation] ?? options.rate
      const fault = enabled && hit < rate ? kinds[Math.floor(kind * kinds.length)] : undefined
      decisions.push({ at: Date.now() - started, operation, method, path, fault })
      return fault
    }

    const forward = (req: Http.IncomingMessage, body: Buffer): Promise<Answer> =>
      new Promise((resolve, reject) => {
        const request = Http.request({
          agent,
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...forwardable(req.headers), "content-length": String(body.length) }
        }, (response) => {
          const chunks: Array<Buffer> = []
          response.on("data", (chunk: Buffer) => chunks.push(chunk))
          response.on("end", () =>
            resolve({
              status: response.statusCode ?? 502,
              headers: forwardable(response.headers),
              body: Buffer.concat(chunks)
            }))
          response.on("error", reject)
        })
        request.on("error", reject)
        request.end(body)
      })

    const send = (res: Http.ServerResponse, answer: Answer) => {
      if (res.destroyed || res.writableEnded) return
      res.writeHead(answer.status, { ...answer.headers, "content-length": String(answer.body.length) })
      res.end(answer.body)
    }

    // The client is owed no answer: a reset is what a client sees of a connection torn down under it.
    const reset = (res: Http.ServerResponse) => {
      const socket = res.socket
      if (socket !== null && !socket.destroyed) socket.resetAndDestroy()
    }

    const serve = async (req: Http.IncomingMessage, res: Http.ServerResponse, body: Buffer) => {
      const path = req.url ?? "/"
      const fault = decide(req.method ?? "GET", path, body)
      if (fault === "reset-before") return reset(res)
      const own = fault === undefined ? undefined : ownAnswer(fault)
      if (own !== undefined) return send(res, own)
      if (fault === "delay") await new Promise<void>((resolve) => later(options.delayMillis, resolve))
      if (closed) return reset(res)
      let answer: Answer
      try {
        answer = await forward(req, body)
      } catch {
        return reset(res)
      }
      if (fault === "reset-after") return reset(res)
      if (fault === "drop-response") {
        // Never answered; should the client never give up, the connection is torn down after a while.
        return later(30_000, () => reset(res))
      }
      send(res, (fault === undefined ? undefined : garbage(fault, answer)) ?? answer)
    }

    const server = Http.createServer((req, res) => {
      inFlight++
      let counted = true
      const done = () => {
        if (counted) inFlight--
        counted = false
      }
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => {
        serve(req, res, Buffer.concat(chunks)).catch(() => reset(res)).finally(done)
      })
      req.on("error", () => {
        done()
        reset(res)
      })
    })
    server.on("connection", (socket) => {
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
    })
    // A reset of a connection with a request still arriving is what this server does on purpose.
    server.on("clientError", (_, socket) => socket.destroy())

    const port = yield* Effect.async<number>((resume) => {
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
      })
    })
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        closed = true
        for (const timer of timers) clearTimeout(timer)
        timers.clear()
        for (const socket of sockets) socket.destroy()
        agent.destroy()
        server.close(() => resume(Effect.void))
      })
    )

    return {
      url: `http://127.0.0.1:${port}/v1`,
      decisions,
      setEnabled: (next) => {
        enabled = next
      },
      settled: Effect.gen(function*() {
        while (inFlight > 0) yield* Effect.sleep("10 millis")
      })
    }
  })
