/**
 * `tsx packages/bench/src/profile.ts FILE.cpuprofile [TOP]`: where a client spent its CPU, by self time,
 * per function and per package. Frames in an esbuild bundle (the harness's `--profile`) are attributed to
 * their module through the `// path` comments esbuild puts before each module.
 */
import { existsSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

interface Node {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: ReadonlyArray<number>
}

interface Profile {
  readonly nodes: ReadonlyArray<Node>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const [file, topText = "40"] = process.argv.slice(2)
if (file === undefined) {
  console.error("usage: tsx packages/bench/src/profile.ts FILE.cpuprofile [TOP]")
  process.exit(2)
}
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile
const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const self = new Map<number, number>()
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
const idle = profile.nodes.filter((node) => node.callFrame.functionName === "(idle)").map((node) => node.id)
for (const id of idle) self.delete(id)
// Shares are of the time the process was busy (idle left out).
const total = [...self.values()].reduce((a, b) => a + b, 0)

// Bundle file -> sorted [first line (0-based), module path] of each module in it.
const bundleModules = new Map<string, Array<readonly [number, string]>>()
const moduleOf = (url: string, line: number): string => {
  if (!url.startsWith("file://") || !url.endsWith(".mjs")) return url
  let modules = bundleModules.get(url)
  if (modules === undefined) {
    modules = []
    const path = fileURLToPath(url)
    if (existsSync(path)) {
      readFileSync(path, "utf8").split("\n").forEach((text, i) => {
        if (/^\/\/ \S+\.(m?js|ts)$/.test(text)) modules!.push([i, text.slice(3)])
      })
    }
    bundleModules.set(url, modules)
  }
  let found = url
  for (const [first, path] of modules) {
    if (first > line) break
    found = path
  }
  return found
}

const packageOf = (url: string): string => {
  if (url === "") return "(native)"
  if (url.startsWith("node:")) return "node internals"
  const modules = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (modules !== null) return modules[1]
  const own = /(?:packages\/|^\.\.\/)([^/]+)\/src\//.exec(url)
  return own === null ? url : `@effect-orb/${own[1]}`
}

const add = (map: Map<string, number>, key: string, value: number) => map.set(key, (map.get(key) ?? 0) + value)
const perFunction = new Map<string, number>()
const perPackage = new Map<string, number>()
const perModule = new Map<string, number>()
for (const [id, micros] of self) {
  const raw = byId.get(id)!.callFrame
  const frame = { ...raw, url: moduleOf(raw.url, raw.lineNumber) }
  const short = frame.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/packages\//, "packages/")
  add(perModule, short, micros)
  add(perFunction, `${frame.functionName || "(anonymous)"} ${short}:${frame.lineNumber + 1}`, micros)
  add(
    perPackage,
    frame.url === "" && frame.functionName.startsWith("(") ? frame.functionName : packageOf(frame.url),
    micros
  )
}

const print = (title: string, map: Map<string, number>, top: number) => {
  console.log(`\n${title}`)
  for (const [key, micros] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(
      `${((micros / total) * 100).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(6)} ms  ${key}`
    )
  }
}
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled`)
print("by package (self time)", perPackage, 20)
print("by module (self time)", perModule, 25)
print("by function (self time)", perFunction, Number(topText))
