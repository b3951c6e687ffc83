/**
 * The database driver's notices for its callers stay off the command's standard error, in a process of its own
 * (warnings are printed by Node once the tick ends): pg's, and only pg's.
 */
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

/** What a process prints on stderr after emitting `pg`'s notice and one other warning, hidden or not. */
const printed = (hide: boolean) => {
  const script = `
    ${hide ? "const { hideDriverNotices } = await import('./src/internal/driverNotices.ts'); hideDriverNotices()" : ""}
    const util = await import("node:util")
    // As pg 8 emits it: util.deprecate, the first time a connection is queried while it is busy.
    util.deprecate(() => {}, "Calling client.query() when the client is already executing a query is deprecated and will be removed in pg@9.0. Use async/await or an external async flow control mechanism instead.")()
    process.emitWarning("the disk is nearly full", "StorageWarning")
  `
  const result = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: packageDir,
    encoding: "utf8"
  })
  assert.strictEqual(result.status, 0, result.stderr)
  return result.stderr
}

describe("the driver's notices", () => {
  it("pg's notice of a query on a busy connection is not printed; other warnings are", () => {
    const shown = printed(false)
    assert.include(shown, "already executing a query", "the notice as Node prints it without the filter")
    const hidden = printed(true)
    assert.notInclude(hidden, "already executing a query")
    assert.notInclude(hidden, "DeprecationWarning")
    assert.include(hidden, "StorageWarning: the disk is nearly full")
  }, 30_000)
})
