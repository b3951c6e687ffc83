/**
 * No runtime import cycles in a package's sources (`packages/*\/src`), as Effect's own repository checks with
 * `scripts/circular.mjs`: a module that imports another at runtime, directly or not, must not be imported by it at
 * runtime. Type-only imports (`import type`, `export type`, an import whose every name is `type`) are allowed:
 * they vanish from the JavaScript. Dynamic `import()` is allowed too: it runs later, when both modules are loaded.
 * Lists each cycle and exits 1 if there is any.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"

const root = path.resolve(import.meta.dirname, "..")
const packages = path.join(root, "packages")

/** Every `.ts` file under a folder. */
const sources = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? sources(full) : entry.name.endsWith(".ts") ? [full] : []
  })

/** Whether an import or export declaration brings anything at runtime. */
const isRuntime = (node: ts.ImportDeclaration | ts.ExportDeclaration): boolean => {
  if (ts.isImportDeclaration(node)) {
    const clause = node.importClause
    if (clause === undefined) return true // a side-effect import
    if (clause.isTypeOnly) return false
    if (clause.name !== undefined) return true
    const bindings = clause.namedBindings
    if (bindings === undefined || ts.isNamespaceImport(bindings)) return true
    return bindings.elements.length === 0 || bindings.elements.some((element) => !element.isTypeOnly)
  }
  if (node.isTypeOnly) return false
  const clause = node.exportClause
  return clause === undefined || ts.isNamespaceExport(clause) || clause.elements.some((element) => !element.isTypeOnly)
}

/** The sources a file imports at runtime, by relative specifier, resolved to `.ts` files. */
const runtimeImports = (file: string): Array<string> => {
  const text = fs.readFileSync(file, "utf8")
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false)
  const found: Array<string> = []
  for (const statement of source.statements) {
    if (!(ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement))) continue
    const specifier = statement.moduleSpecifier
    if (specifier === undefined || !ts.isStringLiteral(specifier) || !specifier.text.startsWith(".")) continue
    if (!isRuntime(statement)) continue
    const target = path.resolve(path.dirname(file), specifier.text.replace(/\.js$/, ".ts"))
    if (fs.existsSync(target)) found.push(target)
  }
  return found
}

const cycles: Array<string> = []
for (const pkg of fs.readdirSync(packages)) {
  const src = path.join(packages, pkg, "src")
  if (!fs.existsSync(src)) continue
  const graph = new Map(sources(src).map((file) => [file, runtimeImports(file)]))
  // Depth-first, with the path so far: a module met again on the path closes a cycle.
  const done = new Set<string>()
  const seen = new Set<string>()
  const visit = (file: string, trail: Array<string>) => {
    if (done.has(file)) return
    const at = trail.indexOf(file)
    if (at >= 0) {
      const cycle = [...trail.slice(at), file].map((f) => path.relative(root, f)).join(" -> ")
      if (!seen.has(cycle)) cycles.push(cycle)
      seen.add(cycle)
      return
    }
    for (const next of graph.get(file) ?? []) visit(next, [...trail, file])
    done.add(file)
  }
  for (const file of graph.keys()) visit(file, [])
}

if (cycles.length > 0) {
  console.error(
    `Runtime import cycles (make one side a type-only import, or move what both need):\n${cycles.join("\n")}`
  )
  process.exit(1)
}
console.log("no runtime import cycles in packages/*/src")
