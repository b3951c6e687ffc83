import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "workflow",
    include: ["test/**/*.test.ts"],
    // Crash tests start real processes (a served simulator, runners killed with kill -9) on a busy 2-core machine.
    testTimeout: 120_000
  }
})
