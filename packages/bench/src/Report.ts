/**
 * The results as Markdown tables, and the issue's targets checked against them (goals for the library, not
 * assertions: a missed target is reported, never an error).
 */
import type { ClientResult, DurableResult, Results, ScenarioResult } from "./Harness.js"

const fixed = (value: number, digits = 0) =>
  Number.isFinite(value)
    ? value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "n/a"

const ratio = (value: number, reference: number | undefined) =>
  reference === undefined || !Number.isFinite(value / reference) ? "n/a" : `${(value / reference).toFixed(2)}x`

const find = (scenario: ScenarioResult, id: string) => scenario.clients.find((c) => c.id === id)

const cpu = (client: ClientResult | undefined) => client?.median.cpuMicrosPerOp

const scenarioTable = (scenario: ScenarioResult): string => {
  const raw = find(scenario, scenario.rawId)
  const orb = find(scenario, scenario.orbId)
  const withServer = scenario.clients.some((c) => c.serverCpuMicrosPerOp !== undefined)
  const rawName = raw?.label ?? scenario.rawId
  const orbName = orb?.label ?? scenario.orbId
  const header = [
    "client",
    "wall ms",
    `${scenario.unit}s/s`,
    `client CPU µs/${scenario.unit}`,
    "peak RSS MB",
    `CPU vs ${rawName}`,
    `CPU vs ${orbName}`,
    `wall vs ${rawName}`,
    `wall vs ${orbName}`,
    ...(withServer ? [`server CPU µs/${scenario.unit}`] : [])
  ]
  const rows = scenario.clients.map((c) => [
    c.label,
    fixed(c.median.wallMs),
    fixed(c.median.opsPerSecond),
    fixed(c.median.cpuMicrosPerOp, 1),
    fixed(c.median.maxRssMb, 1),
    ratio(c.median.cpuMicrosPerOp, cpu(raw)),
    ratio(c.median.cpuMicrosPerOp, cpu(orb)),
    ratio(c.median.wallMs, raw?.median.wallMs),
    ratio(c.median.wallMs, orb?.median.wallMs),
    ...(withServer ? [fixed(c.serverCpuMicrosPerOp ?? Number.NaN, 1)] : [])
  ])
  return [
    `### ${scenario.scenario}: ${scenario.title}`,
    "",
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
    ...rows.map((row) => `| ${row.join(" | ")} |`)
  ].join("\n")
}

/** Each target of the issue, met or missed, with the figures behind it. */
export const targets = (results: Results): Array<{ target: string; status: "met" | "missed"; detail: string }> => {
  const out: Array<{ target: string; status: "met" | "missed"; detail: string }> = []
  const check = (target: string, ok: boolean, detail: string) =>
    out.push({ target, status: ok ? "met" : "missed", detail })
  const fetch = results.scenarios.find((s) => s.scenario === "fetch")
  if (fetch !== undefined) {
    const raw = cpu(find(fetch, "raw-undici"))!
    const orb = cpu(find(fetch, "orb-billing"))!
    for (const id of ["ours-undici", "ours-fetch"]) {
      const ours = cpu(find(fetch, id))!
      check(
        `fetch, ${id}: client CPU per request below orb-billing (must)`,
        ours < orb,
        `${ours.toFixed(0)} µs vs ${orb.toFixed(0)} µs`
      )
      check(
        `fetch, ${id}: within 2x raw undici (stretch)`,
        ours <= 2 * raw,
        `${(ours / raw).toFixed(2)}x (${ours.toFixed(0)} µs vs ${raw.toFixed(0)} µs)`
      )
    }
  }
  const list = results.scenarios.find((s) => s.scenario === "list")
  if (list !== undefined) {
    const raw = cpu(find(list, "raw-undici"))!
    for (const id of ["ours-undici", "ours-fetch"]) {
      const ours = cpu(find(list, id))!
      check(
        `list, ${id}: within 1.5x raw per item (client CPU)`,
        ours <= 1.5 * raw,
        `${(ours / raw).toFixed(2)}x (${ours.toFixed(1)} µs vs ${raw.toFixed(1)} µs)`
      )
    }
  }
  const ingests = results.scenarios.filter((s) => s.scenario === "ingest")
  for (const ingest of ingests) {
    const raw = find(ingest, "raw-undici")!
    const loop = find(ingest, "orb-billing-loop")!
    for (const id of ["ours-undici", "ours-fetch"]) {
      const ours = find(ingest, id)!
      const prefix = `ingest ${ingest.ops.toLocaleString("en-US")}${
        ingest.latencyMs ? ` +${ingest.latencyMs} ms` : ""
      }, ${id}`
      check(
        `${prefix}: at least 3x the obvious orb-billing loop`,
        ours.median.opsPerSecond >= 3 * loop.median.opsPerSecond,
        `${(ours.median.opsPerSecond / loop.median.opsPerSecond).toFixed(2)}x`
      )
      check(
        `${prefix}: wall within 1.1x raw undici at equal concurrency`,
        ours.median.wallMs <= 1.1 * raw.median.wallMs,
        `${(ours.median.wallMs / raw.median.wallMs).toFixed(2)}x`
      )
      check(
        `${prefix}: client CPU per event within 1.5x raw`,
        ours.median.cpuMicrosPerOp <= 1.5 * raw.median.cpuMicrosPerOp,
        `${(ours.median.cpuMicrosPerOp / raw.median.cpuMicrosPerOp).toFixed(2)}x (${
          ours.median.cpuMicrosPerOp.toFixed(1)
        } µs vs ${raw.median.cpuMicrosPerOp.toFixed(1)} µs)`
      )
      check(`${prefix}: peak RSS under 150 MB`, ours.median.maxRssMb < 150, `${ours.median.maxRssMb.toFixed(0)} MB`)
    }
  }
  const plain = ingests.filter((s) => !s.latencyMs)
  if (plain.length > 1) {
    const small = plain[0]
    const large = plain[plain.length - 1]
    for (const id of ["ours-undici", "ours-fetch"]) {
      const a = find(small, id)!.median.maxRssMb
      const b = find(large, id)!.median.maxRssMb
      check(
        `ingest, ${id}: peak RSS flat from ${small.ops.toLocaleString("en-US")} to ${
          large.ops.toLocaleString("en-US")
        } events (within 10%)`,
        b <= a * 1.1,
        `${a.toFixed(0)} MB -> ${b.toFixed(0)} MB`
      )
    }
  }
  if (results.durable !== undefined) {
    const d = results.durable
    const events = d.events.toLocaleString("en-US")
    check(
      `durable ${events}: wall within 1.1x the same run in memory`,
      d.wallRatio <= 1.1,
      `${d.wallRatio.toFixed(2)}x`
    )
    check(
      `durable ${events}: client CPU within 1.1x the same run in memory`,
      d.cpuRatio <= 1.1,
      `${d.cpuRatio.toFixed(2)}x`
    )
    check(
      `durable: resume after kill -9 with ${d.resume.segments.toLocaleString("en-US")} finished segments under 5 s`,
      d.resume.spawnToFirstIngestMs < 5_000,
      `${fixed(d.resume.spawnToFirstIngestMs)} ms from spawn to the first new ingest request`
    )
  }
  if (results.inputs !== undefined) {
    const events = results.inputs.events.toLocaleString("en-US")
    for (const f of results.inputs.formats.slice(1)) {
      check(
        `inputs ${events}: the check pass over ${f.format} within 1.5x of plain NDJSON`,
        f.wallRatio <= 1.5,
        `${f.wallRatio.toFixed(2)}x (${fixed(f.wallMs / 1000, 2)} s)`
      )
    }
    for (const f of results.inputs.formats) {
      check(`inputs ${events}: ${f.format} peak RSS under 200 MB`, f.maxRssMb < 200, `${f.maxRssMb.toFixed(0)} MB`)
    }
  }
  if (results.quota !== undefined) {
    const q = results.quota
    check(
      "quota: at least 98% of the allowed events per minute",
      q.shareOfQuota >= 0.98,
      `${(q.shareOfQuota * 100).toFixed(1)}% (${q.eventsPerMinute.toFixed(0)}/min)`
    )
    check(
      "quota: at most 1% of requests answered 429",
      q.share429 <= 0.01,
      `${(q.share429 * 100).toFixed(2)}% (${q.answered429} of ${q.ingestRequests})`
    )
  }
  if (results.budget !== undefined) {
    const b = results.budget
    for (
      const [where, f] of [
        [`on ${b.processes} processes (one SQLite file)`, b],
        ["on 2 runners (Postgres)", b.acrossRunners]
      ] as const
    ) {
      if (f === undefined) continue
      check(
        `budget: ${b.runs} runs ${where} use at least 98% of the account's events per minute`,
        f.shareOfQuota >= 0.98,
        `${(f.shareOfQuota * 100).toFixed(1)}% (${f.eventsPerMinute.toFixed(0)}/min of ${b.quotaEventsPerMinute})`
      )
      check(
        `budget: ${b.runs} runs ${where}: at most 1% of requests answered 429`,
        f.share429 <= 0.01,
        `${(f.share429 * 100).toFixed(2)}% (${f.answered429} of ${f.ingestRequests})`
      )
    }
  }
  return out
}

const kb = (bytes: number) => fixed(bytes / 1024, 1)

/** The durable scenario's tables. */
const durableTables = (d: DurableResult): string => {
  const memory = d.clients.find((c) => c.id === "memory")
  const r = d.resume
  return [
    `### durable: ${d.events.toLocaleString("en-US")} events, durable (segments of ${
      d.segmentEvents.toLocaleString("en-US")
    }) and in memory, batches of ${d.batchSize}, concurrency ${d.concurrency}, no quota, over undici`,
    "",
    "| run | wall ms | events/s | client CPU µs/event | peak RSS MB | wall vs in memory | CPU vs in memory | server CPU µs/event |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...d.clients.map((c) =>
      `| ${c.label} | ${fixed(c.median.wallMs)} | ${fixed(c.median.opsPerSecond)} | ${
        fixed(c.median.cpuMicrosPerOp, 1)
      } | ${fixed(c.median.maxRssMb, 1)} | ${ratio(c.median.wallMs, memory?.median.wallMs)} | ${
        ratio(c.median.cpuMicrosPerOp, memory?.median.cpuMicrosPerOp)
      } | ${fixed(c.serverCpuMicrosPerOp ?? Number.NaN, 1)} |`
    ),
    "",
    "| state file after the run | KB | bytes per 1,000 events |",
    "|---|---:|---:|",
    `| as the run left it (file ${kb(d.state.dbBytes)} KB + -wal ${kb(d.state.walBytes)} KB) | ${
      kb(d.state.dbBytes + d.state.walBytes)
    } | ${fixed(d.state.bytesPerThousandEvents)} |`,
    `| its content (a copy, checkpointed) | ${kb(d.state.checkpointedBytes)} | ${
      fixed(d.state.checkpointedBytesPerThousandEvents)
    } |`,
    "",
    `#### durable: resume after kill -9 with ${
      r.segments.toLocaleString("en-US")
    } finished segments of ${r.segmentEvents} events (${r.events.toLocaleString("en-US")} in the file)`,
    "",
    "| spawn to first new ingest request ms | code started at ms | engine layer up at ms | ingest requests after resume (needed) | spawn to end ms | events in the backfill | first process ms | state at kill KB (checkpointed) | per 1,000 finished events KB (checkpointed) |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    `| ${fixed(r.spawnToFirstIngestMs)} | ${fixed(r.startedAtMs)} | ${fixed(r.layerUpAtMs)} | ${
      fixed(r.ingestRequestsAfterResume)
    } (${fixed(r.ingestRequestsExpected)}) | ${fixed(r.resumeWallMs)} | ${fixed(r.eventsIngested)} | ${
      fixed(r.firstProcessMs)
    } | ${kb(r.stateBytesAtKill)} (${kb(r.checkpointedBytesAtKill)}) | ${kb(r.stateBytesPerThousandEvents)} (${
      kb(r.checkpointedBytesPerThousandEvents)
    }) |`
  ].join("\n")
}

/** The whole report in Markdown. */
export const markdown = (results: Results): string => {
  const parts: Array<string> = []
  parts.push(
    `Mode \`${results.mode}\`, ${results.rounds} round(s), medians; ${results.machine.cores} × ${results.machine.cpu}, ` +
      `${results.machine.memoryGiB} GiB, ${results.machine.platform} ${results.machine.release}, Node ${results.node}; ` +
      `${results.date}; ${(results.durationMs / 60_000).toFixed(1)} min.`
  )
  parts.push(
    `Versions: ${Object.entries(results.versions).map(([name, version]) => `${name} ${version}`).join(", ")}.`
  )
  for (const scenario of results.scenarios) parts.push(scenarioTable(scenario))
  if (results.quota !== undefined) {
    const q = results.quota
    parts.push(
      [
        `### quota: ${q.events.toLocaleString("en-US")} events at Orb's live-mode quota (ours, default settings)`,
        "",
        "| events/min achieved | quota | share of quota | ingest requests | answered 429 | share 429 | wall s |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        `| ${fixed(q.eventsPerMinute)} | ${fixed(q.quotaEventsPerMinute)} | ${(q.shareOfQuota * 100).toFixed(1)}% | ${
          fixed(q.ingestRequests)
        } | ${fixed(q.answered429)} | ${(q.share429 * 100).toFixed(2)}% | ${fixed(q.wallMs / 1000, 1)} |`
      ].join("\n")
    )
  }
  if (results.budget !== undefined) {
    const b = results.budget
    parts.push(
      [
        `### budget: ${b.runs} runs of ${fixed(b.events / b.runs)} events into one account, ` +
        `at Orb's live quota x${b.quotaScale} (the simulator's windows stay one minute)`,
        "",
        "| runs | events/min achieved | quota | share of quota | ingest requests | answered 429 | share 429 | wall s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        ...([
          [`${b.processes} processes on one SQLite file, sharing the budget`, b],
          [`${b.processes} processes on one SQLite file, without the budget`, b.withoutBudget],
          ["2 runners of a cluster on Postgres, sharing the budget", b.acrossRunners]
        ] as const).flatMap(([label, f]) => f === undefined ? [] : [[label, f] as const]).map(([label, f]) =>
          `| ${label} | ${fixed(f.eventsPerMinute)} | ${fixed(b.quotaEventsPerMinute)} | ${
            (f.shareOfQuota * 100).toFixed(1)
          }% | ${fixed(f.ingestRequests)} | ${fixed(f.answered429)} | ${(f.share429 * 100).toFixed(2)}% | ${
            fixed(f.wallMs / 1000, 1)
          } |`
        )
      ].join("\n")
    )
  }
  if (results.startup !== undefined) {
    const orb = results.startup.find((s) => s.id === "orb-billing")
    parts.push(
      [
        "### startup: import, build the client, fetch one backfill (minified esbuild bundle); the command line's rows are whole commands",
        "",
        "| program | imported at ms | first request done at ms | process wall ms | bundle KB | gzip KB | first request vs orb-billing | wall vs orb-billing |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        ...results.startup.map((s) =>
          `| ${s.label} | ${fixed(s.median.importedMs ?? Number.NaN, 1)} | ${
            fixed(s.median.firstRequestMs ?? Number.NaN, 1)
          } | ${fixed(s.median.wallMs, 1)} | ${fixed(s.bundleBytes / 1024, 1)} | ${
            fixed(s.bundleGzipBytes / 1024, 1)
          } | ${ratio(s.median.firstRequestMs ?? Number.NaN, orb?.median.firstRequestMs)} | ${
            ratio(s.median.wallMs, orb?.median.wallMs)
          } |`
        )
      ].join("\n")
    )
  }
  if (results.durable !== undefined) parts.push(durableTables(results.durable))
  if (results.inputs !== undefined) {
    const i = results.inputs
    parts.push(
      [
        `### inputs: the check pass (orb-backfill run --dry-run) over ${i.events.toLocaleString("en-US")} events`,
        "",
        "| format | file MB | wall s | peak RSS MB | wall vs NDJSON | RSS vs NDJSON |",
        "|---|---|---|---|---|---|",
        ...i.formats.map((f) =>
          `| ${f.format} | ${fixed(f.bytes / 2 ** 20, 1)} | ${fixed(f.wallMs / 1000, 2)} | ${fixed(f.maxRssMb, 0)} | ${
            f.wallRatio.toFixed(2)
          }x | ${f.rssRatio.toFixed(2)}x |`
        )
      ].join("\n")
    )
  }
  const checked = targets(results)
  if (checked.length > 0) {
    parts.push(
      [
        "### targets",
        "",
        "| target | status | figures |",
        "|---|---|---|",
        ...checked.map((t) => `| ${t.target} | ${t.status} | ${t.detail} |`)
      ].join("\n")
    )
  }
  return parts.join("\n\n") + "\n"
}
