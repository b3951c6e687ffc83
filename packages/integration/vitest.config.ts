import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "integration",
    include: ["test/**/*.test.ts"],
    // Runs of tens of thousands of events through the in-process simulator take seconds on a busy 2-core CI
    // machine; the default of 5 s would make them flaky.
    testTimeout: 60_000
  }
})
