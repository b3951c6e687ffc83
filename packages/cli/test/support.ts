/**
 * Runs the command line in-process against a fresh simulator, capturing what it prints and its exit code.
 */
import type { Backfills } from "@effect-orb/backfills"
import type { OrbSimulator } from "@effect-orb/simulator"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Backend from "../src/Backend.js"
import * as Cli from "../src/Cli.js"
import * as Output from "../src/Output.js"

type Environment = Exclude<Cli.Environment, Output.Output>

export interface Ran {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** A simulator that reflects and reverts after the given real time, with the CLI's settings for it. */
export const simulatorReflectingIn = (
  delay: Duration.DurationInput
): Layer.Layer<Backend.Backend | Backfills.Backfills | OrbSimulator.OrbSimulator | NodeContext.NodeContext> =>
  Layer.mergeAll(Backend.layerSimulator({ reflectionDelay: delay, revertDelay: delay }), NodeContext.layer)

/** A simulator that reflects and reverts in 100 ms of real time, with the CLI's settings for it. */
export const simulator = simulatorReflectingIn(Duration.millis(100))

export const cli = (
  args: ReadonlyArray<string>,
  options: { readonly isTTY?: boolean; readonly columns?: number } = {}
): Effect.Effect<Ran, never, Environment> =>
  Effect.gen(function*() {
    const memory = Output.memory(options)
    const code = yield* Cli.run(args).pipe(Effect.provideService(Output.Output, memory.output))
    return { code, stdout: memory.stdout(), stderr: memory.stderr() }
  })

/** Starts `cli` and returns its captured output so far, for commands that are interrupted. */
export const cliForked = (args: ReadonlyArray<string>): Effect.Effect<
  {
    readonly fiber: Fiber.RuntimeFiber<number>
    readonly stdout: () => string
    readonly stderr: () => string
  },
  never,
  Environment
> =>
  Effect.gen(function*() {
    const memory = Output.memory()
    const fiber = yield* Effect.fork(Cli.run(args).pipe(Effect.provideService(Output.Output, memory.output)))
    return { fiber, stdout: memory.stdout, stderr: memory.stderr }
  })

let dir: string | undefined

/** Writes a file in a temporary directory of this test run and returns its path. */
export const tempFile = (name: string, content: string): string => {
  dir ??= fs.mkdtempSync(path.join(os.tmpdir(), "orb-backfill-test-"))
  const file = path.join(dir, name)
  fs.writeFileSync(file, content)
  return file
}

export const timeframe = ["--start", "2026-10-01T00:00:00Z", "--end", "2026-10-08T00:00:00Z"] as const

/** The n-th sample event in Orb's wire format, a minute apart inside the timeframe. */
export const wireEvent = (i: number, overrides: Record<string, unknown> = {}) => ({
  event_name: "api_call",
  timestamp: new Date(Date.parse("2026-10-01T00:00:00Z") + i * 60_000).toISOString(),
  external_customer_id: `customer-${i % 3}`,
  idempotency_key: `event-${i}`,
  properties: { units: i % 7, region: i % 2 === 0 ? "eu" : "us" },
  ...overrides
})

export const ndjson = (count: number, change: (i: number) => string | undefined = () => undefined) =>
  Array.from({ length: count }, (_, index) => change(index + 1) ?? JSON.stringify(wireEvent(index + 1))).join("\n") +
  "\n"

/** Pace flags for runs against a served simulator: as fast as it answers. */
export const fastPace = ["--events-per-minute", "6000000", "--requests-per-second", "1000"] as const

/** Pace flags for about 1,000 events a second: slow enough to strike mid-run. */
export const slowPace = [
  "--batch-size",
  "50",
  "--concurrency",
  "2",
  "--requests-per-second",
  "20",
  "--events-per-minute",
  "6000000"
] as const

/**
 * The CLI as `ORB_API_KEY` and `ORB_BASE_URL` point it (a served simulator), built once in the test's scope: a forked
 * command outlives the effect that forked it.
 */
export const cliAt = (url: string, apiKey: string) =>
  Effect.gen(function*() {
    const env = Layer.mergeAll(Backend.layerOrb, NodeContext.layer).pipe(
      Layer.provide(Layer.setConfigProvider(
        ConfigProvider.fromMap(new Map([["ORB_API_KEY", apiKey], ["ORB_BASE_URL", url]]))
      )),
      Layer.orDie
    )
    const context = yield* Layer.build(env)
    return {
      run: (args: ReadonlyArray<string>, options?: { readonly isTTY?: boolean; readonly columns?: number }) =>
        cli(args, options).pipe(Effect.provide(context)),
      fork: (args: ReadonlyArray<string>) => cliForked(args).pipe(Effect.provide(context))
    }
  })

/** Waits until `condition` holds, polling every 20 ms; after 30 seconds the test dies naming `what` (and the output). */
export const until = (condition: Effect.Effect<boolean>, what: string, output?: () => string) =>
  Effect.gen(function*() {
    const started = Date.now()
    while (!(yield* condition)) {
      if (Date.now() - started > 30_000) {
        return yield* Effect.dieMessage(`timed out waiting for ${what}: ${output?.() ?? ""}`)
      }
      yield* Effect.sleep("20 millis")
    }
  })
