/**
 * A TCP proxy in front of a server, for what a client sees of a database that stops answering at a chosen moment,
 * placed exactly, which stopping the server itself cannot do:
 *
 * - held: nothing more its clients send is passed on once one of them has sent a given text (a network cut, a hung
 *   server), until `resume` passes on what it held;
 * - failed over: the connections open now lose their server (it sees them end, and lets go of what they held) while
 *   their clients see nothing at all, for good, as after a failover that leaves a client's connections to the old
 *   server hanging; connections made after it pass as before.
 */
import * as Effect from "effect/Effect"
import * as net from "node:net"

/** The proxy: its port; whether it holds; `resume` passes on what it held and all that follows; `failover`. */
export interface FreezingProxy {
  readonly port: number
  readonly holding: () => boolean
  readonly resume: Effect.Effect<void>
  readonly failover: Effect.Effect<void>
}

interface Link {
  readonly upstream: net.Socket
  // Its client's bytes go nowhere, and none come back: the server is gone.
  silent: boolean
}

/**
 * A proxy on a free loopback port to `port`; with `after`, it holds everything clients send after the first chunk
 * that contains it (that chunk passes, and its answer comes back).
 */
export const freezingProxy = (port: number, after?: string) =>
  Effect.acquireRelease(
    Effect.async<{ readonly proxy: FreezingProxy; readonly close: () => Promise<void> }>((resume) => {
      const sockets = new Set<net.Socket>()
      const links = new Set<Link>()
      const held: Array<() => void> = []
      let holding = false
      const server = net.createServer((client) => {
        const link: Link = { upstream: net.connect(port, "127.0.0.1"), silent: false }
        const { upstream } = link
        links.add(link)
        sockets.add(client).add(upstream)
        client.on("error", () => upstream.destroy())
        upstream.on("error", () => {
          if (!link.silent) client.destroy()
        })
        client.on("close", () => {
          links.delete(link)
          upstream.destroy()
        })
        upstream.on("close", () => {
          if (!link.silent) client.destroy()
        })
        upstream.on("data", (chunk) => {
          if (!link.silent) client.write(chunk)
        })
        client.on("data", (chunk: Buffer) => {
          if (link.silent) return
          if (holding) {
            held.push(() => upstream.write(chunk))
            return
          }
          upstream.write(chunk)
          if (after !== undefined && chunk.includes(after)) holding = true
        })
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          proxy: {
            port: (server.address() as net.AddressInfo).port,
            holding: () => holding,
            resume: Effect.sync(() => {
              holding = false
              held.splice(0).forEach((write) => write())
            }),
            failover: Effect.sync(() => {
              for (const link of links) {
                link.silent = true
                link.upstream.destroy()
              }
              links.clear()
            })
          },
          close: () =>
            new Promise<void>((done) => {
              sockets.forEach((socket) => socket.destroy())
              server.close(() => done())
            })
        })))
    }),
    ({ close }) => Effect.promise(close)
  ).pipe(Effect.map(({ proxy }) => proxy))
