#!/usr/bin/env node
/**
 * `orb-backfill`: the command line, against Orb when `ORB_API_KEY` is set, against an in-process simulator
 * otherwise.
 *
 * @since 0.1.0
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Backend from "./Backend.js"
import * as Cli from "./Cli.js"
import * as CliError from "./internal/cliError.js"
import { hideDriverNotices } from "./internal/driverNotices.js"
import * as Output from "./Output.js"

hideDriverNotices()

// A reader that went away (`| head`, a closed terminal) fails the writes to it: what the command prints there is then
// dropped and the command goes on to its end. Unheard, the failed write killed the process mid-run, saying nothing,
// with its backfill left open. Any other failure to write (a full disk under `> out.json`) still fails the command.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE" || error.code === "EIO") return
    process.exitCode = CliError.ExitCode.failure
    if (stream === process.stdout) process.stderr.write(`Error: standard output cannot be written: ${error.message}\n`)
  })
}
// A closed terminal (SIGHUP) stops the command as SIGTERM does: an in-memory run reverts its open backfill, a durable
// run is suspended. By default it killed the process at once, with the backfill left open. A closed terminal often
// sends it twice (the shell, then the kernel): once the command stops (its SIGTERM listener gone), it is ignored.
process.on("SIGHUP", () => {
  if (process.listenerCount("SIGTERM") > 0) process.emit("SIGTERM", "SIGTERM")
})

const main = Cli.run(process.argv.slice(2)).pipe(
  Effect.provide(Layer.mergeAll(Backend.layerFromEnv, NodeContext.layer, Output.layerProcess)),
  // Only a malformed ORB_BASE_URL can fail here, before any command runs: that is bad configuration.
  Effect.catchAll((error) =>
    Effect.as(
      Effect.sync(() => process.stderr.write(`Error: ${CliError.messageOf(error)}\n`)),
      CliError.ExitCode.usage
    )
  )
)

NodeRuntime.runMain(main, {
  disableErrorReporting: true,
  disablePrettyLogger: true,
  // Ctrl-C interrupts the command (which reverts an open backfill and says so); the code follows the shell's
  // convention for a process stopped by SIGINT.
  teardown: (exit, onExit) =>
    onExit(
      Exit.isSuccess(exit)
        ? exit.value as number
        : Exit.isInterrupted(exit)
        ? CliError.ExitCode.interrupted
        : CliError.ExitCode.failure
    )
})
