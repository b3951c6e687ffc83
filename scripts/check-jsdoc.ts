/**
 * The house style asks for a JSDoc with `@since` and `@category` on every export of a package's public modules
 * (`packages/*\/src/*.ts`, not `src/internal`), so that the API reference can be generated. This lists every
 * export that lacks one and exits 1 if there is any. `@effect/docgen`, which `check` runs after this, enforces
 * `@since` and type-checks the `@example` blocks, but not `@category`: this check stays for that.
 */
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")
const packages = path.join(root, "packages")
const problems: Array<string> = []

for (const pkg of fs.readdirSync(packages)) {
  const src = path.join(packages, pkg, "src")
  const manifest = path.join(packages, pkg, "package.json")
  // Private packages (the benchmarks) publish no API.
  if (!fs.existsSync(src) || JSON.parse(fs.readFileSync(manifest, "utf8")).private === true) continue
  for (const file of fs.readdirSync(src).filter((f) => f.endsWith(".ts") && f !== "bin.ts")) {
    const text = fs.readFileSync(path.join(src, file), "utf8")
    const exported =
      /^export (?:declare )?(?:const|let|function|class|interface|type|abstract class) +([A-Za-z0-9_$]+)/gm
    for (const match of text.matchAll(exported)) {
      const before = text.slice(0, match.index)
      const doc = before.match(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*$/)
      const where = `${path.relative(root, path.join(src, file))}: ${match[1]}`
      if (doc === null) problems.push(`${where}: no JSDoc`)
      else {
        if (!/@since /.test(doc[1])) problems.push(`${where}: no @since`)
        if (!/@category /.test(doc[1])) problems.push(`${where}: no @category`)
      }
    }
  }
}

if (problems.length > 0) {
  console.error(`Exports without the JSDoc the house style asks for (@since and @category):\n${problems.join("\n")}`)
  process.exit(1)
}
console.log("every public export has a JSDoc with @since and @category")
