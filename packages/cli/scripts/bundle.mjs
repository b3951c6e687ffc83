/**
 * Builds `orb-backfill` as the installed command runs it: `dist/orb-backfill.mjs`, one minified ES module bundled by
 * esbuild from `src/bin.ts` with every workspace package and dependency inside, plus `dist/chunks/*.mjs`, the pieces
 * it imports only when a command needs them: the durable runs (`@effect/cluster`, `@effect/workflow`, SQLite), the
 * simulator's HTTP server and undici. `--help`, `list` and a run in memory load the entry file and its few shared
 * chunks only.
 *
 * better-sqlite3 stays outside the bundle (a native module cannot be bundled): the durable chunk imports it from
 * `node_modules`, which is why it is a dependency of this package.
 *
 *   node packages/cli/scripts/bundle.mjs [--outdir DIR] [--quiet | --json]
 *
 * The files are written next to each other and renamed into place, the entry file last, so that a command started
 * during a build runs either the old bundle or the new one.
 */
import * as esbuild from "esbuild"
import * as fs from "node:fs"
import * as path from "node:path"
import process from "node:process"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

/** Modules kept out of the bundle, imported from `node_modules` at run time. */
export const external = ["better-sqlite3"]

/** Chunks no build has written for this long are removed (an older process may still import a chunk it knows). */
const staleChunkMillis = 60 * 60 * 1000

/**
 * Builds the bundle into `outdir` (default `packages/cli/dist`) and answers the entry file's path, the files that
 * startup loads (the entry and the chunks it imports statically) and their size, and the size of every file.
 *
 * @param {{ readonly outdir?: string }} [options]
 * @returns {Promise<{
 *   readonly entry: string,
 *   readonly startupFiles: ReadonlyArray<string>,
 *   readonly startupBytes: number,
 *   readonly totalBytes: number
 * }>}
 */
export const bundle = async (options = {}) => {
  const outdir = path.resolve(options.outdir ?? path.join(packageDir, "dist"))
  const result = await esbuild.build({
    absWorkingDir: packageDir,
    entryPoints: { "orb-backfill": "src/bin.ts" },
    outdir,
    entryNames: "[name]",
    chunkNames: "chunks/[name]-[hash]",
    outExtension: { ".js": ".mjs" },
    bundle: true,
    splitting: true,
    minify: true,
    format: "esm",
    platform: "node",
    target: "node20",
    legalComments: "none",
    external,
    // The CommonJS dependencies inside (pg, msgpackr, ...) call `require` for Node's own modules.
    banner: {
      js:
        "import { createRequire as __createRequire } from \"node:module\"; const require = __createRequire(import.meta.url);"
    },
    metafile: true,
    write: false,
    logLevel: "error"
  })
  fs.mkdirSync(path.join(outdir, "chunks"), { recursive: true })
  const entry = path.join(outdir, "orb-backfill.mjs")
  const files = result.outputFiles.filter((file) => file.path.endsWith(".mjs"))
  const place = (file) => {
    const temporary = `${file.path}.${process.pid}.tmp`
    fs.writeFileSync(temporary, file.contents, { mode: file.path === entry ? 0o755 : 0o644 })
    fs.renameSync(temporary, file.path)
  }
  for (const file of files) if (file.path !== entry) place(file)
  place(files.find((file) => file.path === entry))
  const written = new Set(files.map((file) => path.basename(file.path)))
  for (const name of fs.readdirSync(path.join(outdir, "chunks"))) {
    const file = path.join(outdir, "chunks", name)
    if (!written.has(name) && Date.now() - fs.statSync(file).mtimeMs > staleChunkMillis) fs.rmSync(file)
  }
  // What `--help` loads: the entry file and the chunks it imports statically.
  const outputs = result.metafile.outputs
  const relative = (file) => path.relative(packageDir, file)
  const startup = new Set()
  const visit = (key) => {
    if (startup.has(key) || outputs[key] === undefined) return
    startup.add(key)
    for (const imported of outputs[key].imports) if (imported.kind === "import-statement") visit(imported.path)
  }
  visit(relative(entry))
  const bytes = (keys) => keys.reduce((sum, key) => sum + outputs[key].bytes, 0)
  return {
    entry,
    startupFiles: [...startup].map((key) => path.resolve(packageDir, key)),
    startupBytes: bytes([...startup]),
    totalBytes: bytes(Object.keys(outputs).filter((key) => key.endsWith(".mjs")))
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      outdir: { type: "string" },
      quiet: { type: "boolean", default: false },
      json: { type: "boolean", default: false }
    },
    strict: true
  })
  const built = await bundle({ outdir: values.outdir })
  if (values.json) process.stdout.write(`${JSON.stringify(built)}\n`)
  else if (!values.quiet) {
    const kb = (n) => `${Math.round(n / 1024)} KB`
    process.stderr.write(
      `Built ${path.relative(process.cwd(), built.entry) || built.entry} (startup ${kb(built.startupBytes)}, ` +
        `${kb(built.totalBytes)} with the chunks loaded on demand)\n`
    )
  }
}
