/**
 * The packages as someone else installs them: every public package (`private` not set) is built and packed with
 * `pnpm pack` (which writes `publishConfig` in place and replaces `workspace:*`; `npm pack` would not), and the
 * tarballs are installed with `npm install` into a scratch project outside the workspace, with `effect` and the
 * platform packages at the workspace's versions. There a strict NodeNext TypeScript consumer is type-checked against
 * them (the test's `fixtures/consumer.ts`, the packages' README examples, and an import of every entry of every
 * package's `exports`, so a missing entry, a missing `dist` file or a `.d.ts` that names an `@internal` export
 * stripped from another fails), the consumer runs a backfill against the simulator's layer, every entry is imported
 * at run time, `internal/*` is refused, and the installed `orb-backfill --help` runs.
 *
 * It runs `npm install` against the registry: about a minute and a half in all on a 2-core machine with npm's cache
 * warm (better-sqlite3 compiles on install).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..")
const pnpm = ["-y", "pnpm@10.34.9"]
const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc")

interface Manifest {
  readonly name: string
  readonly version: string
  readonly private?: boolean
  readonly exports?: Record<string, unknown>
  readonly publishConfig?: { readonly exports?: Record<string, unknown>; readonly bin?: Record<string, string> }
  readonly repository?: { readonly type?: string; readonly url?: string; readonly directory?: string }
  readonly engines?: { readonly node?: string }
  readonly files?: ReadonlyArray<string>
  readonly dependencies?: Record<string, string>
  readonly devDependencies?: Record<string, string>
  readonly bin?: Record<string, string>
}

const readJson = <A>(file: string): A => JSON.parse(fs.readFileSync(file, "utf8"))

/** Every public package of the workspace, by folder. */
const publicPackages = fs.readdirSync(path.join(root, "packages"))
  .filter((dir) => fs.existsSync(path.join(root, "packages", dir, "package.json")))
  .map((dir) => ({ dir, manifest: readJson<Manifest>(path.join(root, "packages", dir, "package.json")) }))
  .filter(({ manifest }) => manifest.private !== true)

/** The public modules of a package: the top-level files of its `src` but the index and the command's entry. */
const modulesOf = (dir: string) =>
  fs.readdirSync(path.join(root, "packages", dir, "src"))
    .filter((file) => file.endsWith(".ts") && file !== "index.ts" && file !== "bin.ts")
    .map((file) => file.slice(0, -3))
    .sort()

/** The `exports` a package must have, with its sources in the workspace or its build in the tarball. */
const expectedExports = (dir: string, from: "src" | "dist") => {
  const entry = (name: string) =>
    from === "src"
      ? { types: `./src/${name}.ts`, default: `./src/${name}.ts` }
      : { types: `./dist/${name}.d.ts`, default: `./dist/${name}.js` }
  return {
    "./package.json": "./package.json",
    ".": entry("index"),
    ...Object.fromEntries(modulesOf(dir).map((name) => [`./${name}`, entry(name)])),
    "./internal/*": null
  }
}

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs a command to its end. The environment drops what a pnpm script would pass down (`npm_config_*` settings
 * that would steer npm, `INIT_CWD`) and the Orb settings the command line reads.
 */
const run = (command: string, args: ReadonlyArray<string>, cwd: string) =>
  Effect.async<Ran>((resume) => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" }
    for (const key of Object.keys(env)) {
      if (/^(npm_|ORB_|INIT_CWD$)/i.test(key)) delete env[key]
    }
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => stdout += String(chunk))
    child.stderr.on("data", (chunk) => stderr += String(chunk))
    child.once("error", (error) => resume(Effect.die(error)))
    child.once("close", (code) => resume(Effect.succeed({ code, stdout, stderr })))
    return Effect.sync(() => child.kill())
  })

/** Runs a command that must succeed; a failure names it with its output. */
const must = (command: string, args: ReadonlyArray<string>, cwd: string) =>
  Effect.flatMap(
    run(command, args, cwd),
    (ran) =>
      ran.code === 0
        ? Effect.succeed(ran)
        : Effect.dieMessage(
          `${path.basename(command)} ${args.join(" ")} (in ${cwd}) exited ${ran.code}:\n${ran.stdout}\n${ran.stderr}`
        )
  )

const scratchFolder = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-orb-packages-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** The `ts` blocks of a README, one file each. */
const readmeExamples = (dir: string) =>
  [...fs.readFileSync(path.join(root, "packages", dir, "README.md"), "utf8").matchAll(/```ts\n([\s\S]*?)```/g)]
    .map((match) => match[1])

/**
 * A module that imports every entry of every package's `exports` (type-checked, then run: each must give a
 * namespace with members), expects `internal/*` to be refused by both, and prints what it found.
 */
const entriesModule = () => {
  const specifiers = publicPackages.flatMap(({ dir, manifest }) =>
    Object.keys(expectedExports(dir, "dist"))
      .filter((key) => key !== "./package.json" && key !== "./internal/*")
      .map((key) => key === "." ? manifest.name : `${manifest.name}/${key.slice(2)}`)
  )
  const internals = publicPackages.map(({ dir, manifest }) => {
    const internal = fs.readdirSync(path.join(root, "packages", dir, "src", "internal")).find((f) => f.endsWith(".ts"))
    return `${manifest.name}/internal/${internal!.replace(/\.ts$/, ".js")}`
  })
  return [
    `import { createRequire } from "node:module"`,
    ...specifiers.map((specifier, i) => `import * as entry${i} from ${JSON.stringify(specifier)}`),
    ...internals.flatMap((specifier, i) => [
      "// @ts-expect-error internal modules are not exported",
      `import type * as internal${i} from ${JSON.stringify(specifier)}`
    ]),
    `const entries: Record<string, object> = {`,
    ...specifiers.map((specifier, i) => `  ${JSON.stringify(specifier)}: entry${i},`),
    `}`,
    `const require = createRequire(import.meta.url)`,
    `const refused = (specifier: string): string => {`,
    `  try {`,
    `    require.resolve(specifier)`,
    `    return "resolved"`,
    `  } catch (error) {`,
    `    return String((error as { code?: unknown }).code)`,
    `  }`,
    `}`,
    `console.log(JSON.stringify({`,
    `  members: Object.fromEntries(Object.entries(entries).map(([name, entry]) => [name, Object.keys(entry).length])),`,
    `  internals: Object.fromEntries(${JSON.stringify(internals)}.map((s) => [s, refused(s)])),`,
    `  manifests: ${JSON.stringify(publicPackages.map(({ manifest }) => `${manifest.name}/package.json`))}`,
    `    .map((s) => require(s).name)`,
    `}))`,
    ``
  ].join("\n")
}

describe("packages", () => {
  it("declare their exports, repository, engines and files, and have a README and a LICENSE", () => {
    assert.deepStrictEqual(publicPackages.map(({ dir }) => dir).sort(), ["backfills", "cli", "simulator", "workflow"])
    for (const { dir, manifest } of publicPackages) {
      assert.deepStrictEqual(manifest.exports, expectedExports(dir, "src"), `${dir}: exports`)
      assert.deepStrictEqual(manifest.publishConfig?.exports, expectedExports(dir, "dist"), `${dir}: publishConfig`)
      assert.strictEqual(manifest.repository?.directory, `packages/${dir}`, `${dir}: repository.directory`)
      assert.isString(manifest.repository?.url, `${dir}: repository.url`)
      assert.strictEqual(manifest.engines?.node, ">=20", `${dir}: engines.node`)
      assert.deepStrictEqual(manifest.files, ["dist", "src", "README.md", "CHANGELOG.md", "LICENSE"], `${dir}: files`)
      assert.isTrue(fs.existsSync(path.join(root, "packages", dir, "README.md")), `${dir}: README.md`)
      assert.include(fs.readFileSync(path.join(root, "packages", dir, "LICENSE"), "utf8"), "MIT License", dir)
      const build = readJson<{ compilerOptions: { stripInternal?: boolean } }>(
        path.join(root, "packages", dir, "tsconfig.build.json")
      )
      assert.isTrue(build.compilerOptions.stripInternal, `${dir}: stripInternal`)
    }
  })

  it.scoped(
    "packed with pnpm and installed with npm outside the workspace: a strict consumer type-checks and runs",
    () =>
      Effect.gen(function*() {
        const scratch = yield* scratchFolder
        const tarballs = path.join(scratch, "tarballs")
        const project = path.join(scratch, "project")
        fs.mkdirSync(tarballs)
        fs.mkdirSync(project)
        assert.isTrue(path.relative(root, scratch).startsWith(".."), "the scratch project is outside the workspace")
        const filter = `./packages/{${publicPackages.map(({ dir }) => dir).join(",")}}`

        // tsc -b: nothing to do when the builds are up to date. Packing the cli builds its bundle (prepack).
        yield* must("npx", [...pnpm, "--filter", filter, "build"], root)
        yield* must("npx", [...pnpm, "--filter", filter, "pack", "--pack-destination", tarballs], root)

        const packed = fs.readdirSync(tarballs).sort()
        assert.deepStrictEqual(
          packed,
          publicPackages.map(({ manifest }) =>
            `${manifest.name.replace("@", "").replace("/", "-")}-${manifest.version}.tgz`
          )
            .sort()
        )
        for (const { dir, manifest } of publicPackages) {
          const tarball = path.join(tarballs, packed.find((file) => file.startsWith(`effect-orb-${dir}-`))!)
          const files = (yield* must("tar", ["-tzf", tarball], scratch)).stdout.split("\n")
          for (
            const file of [
              "README.md",
              "CHANGELOG.md",
              "LICENSE",
              "package.json",
              "dist/index.js",
              "dist/index.d.ts",
              "src/index.ts",
              ...modulesOf(dir).flatMap((name) => [`dist/${name}.js`, `dist/${name}.d.ts`])
            ]
          ) assert.include(files, `package/${file}`, `${manifest.name}'s tarball`)
          const inside = JSON.parse((yield* must("tar", ["-xzOf", tarball, "package/package.json"], scratch)).stdout)
          assert.deepStrictEqual(inside.exports, expectedExports(dir, "dist"), `${manifest.name}'s packed exports`)
          assert.notInclude(JSON.stringify(inside), "workspace:", `${manifest.name}'s packed manifest`)
          if (manifest.publishConfig?.bin !== undefined) {
            assert.deepStrictEqual(inside.bin, manifest.publishConfig.bin)
            for (const bin of Object.values(inside.bin as Record<string, string>)) {
              assert.include(files, `package/${bin.replace(/^\.\//, "")}`, `${manifest.name}'s bin`)
            }
          }
        }

        // The scratch project: the tarballs, with effect and the platform at the versions the workspace pins.
        const pinned = readJson<Manifest>(path.join(root, "package.json")).devDependencies!
        const peers = ["effect", "@effect/platform", "@effect/platform-node", "@types/node"]
        fs.writeFileSync(
          path.join(project, "package.json"),
          JSON.stringify({ name: "effect-orb-consumer", private: true, type: "module" }, null, 2)
        )
        yield* must("npm", [
          "install",
          "--no-audit",
          "--no-fund",
          "--loglevel=error",
          ...packed.map((file) => path.join(tarballs, file)),
          ...peers.map((name) => `${name}@${pinned[name]}`)
        ], project)

        fs.copyFileSync(
          path.join(root, "packages/integration/test/fixtures/consumer.ts"),
          path.join(project, "consumer.ts")
        )
        fs.writeFileSync(path.join(project, "entries.ts"), entriesModule())
        // @effect/platform-node-shared's NodeSocketServer.d.ts imports `ws`, whose types are not among its
        // dependencies: a consumer that checks libraries (no skipLibCheck, as here) declares what it names.
        fs.writeFileSync(
          path.join(project, "ws.d.ts"),
          `declare module "ws" {\n  export type ServerOptions<A = unknown, B = unknown> = Record<string, unknown>\n` +
            `  export const WebSocket: unknown\n}\n`
        )
        const examples = publicPackages.flatMap(({ dir }) =>
          readmeExamples(dir).map((code, i) => {
            const file = `readme-${dir}-${i}.ts`
            fs.writeFileSync(path.join(project, file), code)
            return file
          })
        )
        assert.isAtLeast(examples.length, 3, "README examples")
        yield* must(process.execPath, [
          tsc,
          "--module",
          "nodenext",
          "--moduleResolution",
          "nodenext",
          "--strict",
          "--target",
          "es2022",
          "--types",
          "node",
          "ws.d.ts",
          "consumer.ts",
          "entries.ts",
          ...examples
        ], project)

        const ran = JSON.parse((yield* must(process.execPath, ["consumer.js"], project)).stdout)
        assert.deepStrictEqual(ran, { status: "reflected", eventsIngested: 1000, recorded: 1000 })

        const entries = JSON.parse((yield* must(process.execPath, ["entries.js"], project)).stdout)
        for (const [name, members] of Object.entries(entries.members)) assert.isAbove(members as number, 0, name)
        for (const [name, code] of Object.entries(entries.internals)) {
          assert.strictEqual(code, "ERR_PACKAGE_PATH_NOT_EXPORTED", name)
        }
        assert.deepStrictEqual(entries.manifests, publicPackages.map(({ manifest }) => manifest.name))

        const help = yield* run(path.join(project, "node_modules", ".bin", "orb-backfill"), ["--help"], project)
        assert.strictEqual(help.code, 0, help.stderr)
        for (const command of ["run", "list", "show", "close", "revert", "watch", "simulate", "demo"]) {
          assert.match(help.stdout, new RegExp(`\\b${command}\\b`), `--help names ${command}`)
        }
        assert.include(help.stdout, `orb-backfill ${publicPackages.find(({ dir }) => dir === "cli")!.manifest.version}`)
      }),
    // npm install from the registry, and better-sqlite3 compiled on install: minutes on a slow machine.
    15 * 60_000
  )
})
