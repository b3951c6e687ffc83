import { defineProject } from "vitest/config"

export default defineProject({
  test: {
    name: "backfills",
    include: ["test/**/*.test.ts"]
  }
})
