/**
 * A server that takes connections and never answers: what a client sees of a firewall that drops packets after the
 * handshake, or of a hung server.
 */
import * as Effect from "effect/Effect"
import * as net from "node:net"

/** A TCP server on a free loopback port that accepts every connection and never writes a byte. */
export const silentServer = Effect.acquireRelease(
  Effect.async<{ readonly server: net.Server; readonly sockets: Set<net.Socket>; readonly port: number }>(
    (resume) => {
      const sockets = new Set<net.Socket>()
      const server = net.createServer((socket) => {
        sockets.add(socket)
        socket.on("error", () => {})
      })
      server.listen(
        0,
        "127.0.0.1",
        () => resume(Effect.succeed({ server, sockets, port: (server.address() as net.AddressInfo).port }))
      )
    }
  ),
  ({ server, sockets }) =>
    Effect.async<void>((resume) => {
      // A server closes once its connections have: the ones it never answered are ended here.
      sockets.forEach((socket) => socket.destroy())
      server.close(() => resume(Effect.void))
    })
)
