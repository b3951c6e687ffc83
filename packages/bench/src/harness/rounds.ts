/**
 * How clients are measured against each other: each in a process of its own, in alternation over rounds, the
 * order turned every round so that none always runs first (or last) on a machine that warms up or drifts.
 */
import type { Job, Measurement } from "../Protocol.js"
import type { Client } from "./clients.js"
import type { Context } from "./context.js"
import { runClient } from "./processes.js"
import type { ScenarioResult } from "./results.js"
import { summarise } from "./results.js"
import { baseJob } from "./settings.js"

/** The order of `items` turned by `by` places: each round another client goes first. */
export const rotate = <A>(items: ReadonlyArray<A>, by: number): Array<A> =>
  items.map((_, i) => items[(i + by) % items.length])

/** Runs every client once per round, the order rotated each round, and collects each client's measurements. */
export const inRounds = async <C extends { readonly id: string; readonly label: string }>(
  clients: ReadonlyArray<C>,
  rounds: number,
  name: string,
  log: (line: string) => void,
  measure: (client: C) => Promise<Measurement>
): Promise<Map<string, Array<Measurement>>> => {
  const runs = new Map<string, Array<Measurement>>(clients.map((c) => [c.id, []]))
  for (let round = 0; round < rounds; round++) {
    for (const client of rotate(clients, round)) {
      log(`${name}: round ${round + 1}/${rounds}, ${client.label}`)
      runs.get(client.id)!.push(await measure(client))
    }
  }
  return runs
}

/**
 * A scenario whose clients measure inside their own process, with no server (decode, overhead): each client in
 * rounds on `count` operations after an untimed warm-up, summed up into the scenario's table.
 */
export const inProcessScenario = async (context: Context, scenario: {
  readonly name: "decode" | "overhead"
  /** What the worker is asked to do: overhead's clients fetch, from an in-process HttpClient. */
  readonly job: Job["scenario"]
  readonly clients: ReadonlyArray<Client>
  readonly count: number
  readonly title: string
  readonly unit: string
  readonly rawId: string
  readonly orbId: string
}): Promise<ScenarioResult> => {
  const { clients, count, name } = scenario
  const runs = await inRounds(clients, context.rounds(context.size.rounds), name, context.log, (client) =>
    runClient(
      context.bundles[client.bundle],
      {
        ...baseJob,
        scenario: scenario.job,
        baseUrl: "",
        backfillId: "",
        count,
        warmup: Math.min(count, 2_000),
        variant: client.variant ?? ""
      },
      300_000,
      context.profileFor(client, name)
    ))
  return {
    scenario: name,
    title: scenario.title,
    unit: scenario.unit,
    ops: count,
    clients: clients.map((c) => summarise(c, runs.get(c.id)!)),
    rawId: scenario.rawId,
    orbId: scenario.orbId
  }
}
