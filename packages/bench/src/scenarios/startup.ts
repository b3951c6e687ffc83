/**
 * The startup scenario: from a process's spawn to its first request done, for a program that imports a client,
 * builds it and fetches one backfill (each minified as it would ship), and for the command line as it ships,
 * each row a whole command. Every program runs once a round, in a process of its own, the order turned each round.
 */
import { cliPrograms, startupPrograms } from "../harness/clients.js"
import type { Context } from "../harness/context.js"
import type { RunningServer } from "../harness/processes.js"
import { buildCli, buildStartup, runCli, runStartup } from "../harness/processes.js"
import type { StartupResult } from "../harness/results.js"
import { median } from "../harness/results.js"
import { rotate } from "../harness/rounds.js"
import { apiKey } from "../harness/settings.js"

/** `server` is the request scenarios' seeded server: the programs fetch its first backfill. */
export const startupScenario = async (
  context: Context,
  server: RunningServer
): Promise<ReadonlyArray<StartupResult>> => {
  const { bundleDir, log, size } = context
  const backfillId = server.seededIds[0]
  const [built, cli] = await Promise.all([
    Promise.all(startupPrograms.map((program) => buildStartup(bundleDir, program))),
    buildCli(bundleDir)
  ])
  const programs = [
    ...startupPrograms.map((program, i) => ({
      ...program,
      ...built[i],
      run: () => runStartup(built[i].file, [server.url, apiKey, backfillId])
    })),
    ...cliPrograms.map((program) => ({
      ...program,
      ...cli,
      run: () => runCli(cli.file, program.args, program.served ? { url: server.url, apiKey } : undefined)
    }))
  ]
  const runsOf = programs.map(() => [] as Array<StartupResult["runs"][number]>)
  for (let round = 0; round < size.startupRounds; round++) {
    for (const i of rotate(programs.map((_, j) => j), round)) {
      log(`startup: round ${round + 1}/${size.startupRounds}, ${programs[i].label}`)
      runsOf[i].push(await programs[i].run())
    }
  }
  return programs.map((program, i) => {
    const runs = runsOf[i]
    return {
      id: program.id,
      label: program.label,
      bundleBytes: program.bytes,
      bundleGzipBytes: program.gzipBytes,
      runs,
      median: {
        importedMs: median(runs.map((r) => r.importedMs)),
        firstRequestMs: median(runs.map((r) => r.firstRequestMs)),
        wallMs: median(runs.map((r) => r.wallMs))
      }
    }
  })
}
