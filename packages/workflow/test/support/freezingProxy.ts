/**
 * A TCP proxy in front of a server that stops passing on what its clients send as soon as one of them has sent a
 * given text, until told to go on: what a client sees of a database that stops answering at a chosen moment (a
 * network cut, a hung server), placed exactly, which stopping the server itself cannot do.
 */
import * as Effect from "effect/Effect"
import * as net from "node:net"

/** The proxy: its port; whether it holds; `resume` passes on what it held, and all that follows. */
export interface FreezingProxy {
  readonly port: number
  readonly holding: () => boolean
  readonly resume: Effect.Effect<void>
}

/**
 * A proxy on a free loopback port to `port`, which holds everything clients send after the first chunk that contains
 * `after` (that chunk passes, and its answer comes back).
 */
export const freezingProxy = (port: number, after: string) =>
  Effect.acquireRelease(
    Effect.async<{ readonly proxy: FreezingProxy; readonly close: () => Promise<void> }>((resume) => {
      const sockets = new Set<net.Socket>()
      const held: Array<() => void> = []
      let holding = false
      const server = net.createServer((client) => {
        const upstream = net.connect(port, "127.0.0.1")
        sockets.add(client).add(upstream)
        client.on("error", () => upstream.destroy())
        upstream.on("error", () => client.destroy())
        client.on("close", () => upstream.destroy())
        upstream.on("close", () => client.destroy())
        upstream.on("data", (chunk) => client.write(chunk))
        client.on("data", (chunk: Buffer) => {
          if (holding) {
            held.push(() => upstream.write(chunk))
            return
          }
          upstream.write(chunk)
          if (chunk.includes(after)) holding = true
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
