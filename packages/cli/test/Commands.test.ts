import { assert, describe, it } from "@effect/vitest"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Cli from "../src/Cli.js"
import { cli, cliForked, simulator } from "./support.js"

describe("orb-backfill simulate", () => {
  it.live(
    "serves the simulator on loopback until interrupted, its URL alone on the first line",
    () =>
      Effect.gen(function*() {
        const started = yield* cliForked(["simulate", "--port", "0", "--api-key", "KEY", "--reflection-delay", "1s"])
        let url: string | undefined
        while (url === undefined) {
          yield* Effect.sleep("20 millis")
          url = /^(http:\/\/127\.0\.0\.1:\d+\/v1)$/m.exec(started.stdout())?.[1]
        }
        const response = yield* Effect.promise(() =>
          fetch(`${url}/events/backfills`, { headers: { authorization: "Bearer KEY" } })
        )
        assert.strictEqual(response.status, 200)
        assert.deepStrictEqual(yield* Effect.promise(() => response.json()), {
          data: [],
          pagination_metadata: { has_more: false, next_cursor: null }
        })
        const refused = yield* Effect.promise(() => fetch(`${url}/events/backfills`))
        assert.strictEqual(refused.status, 401)
        assert.include(started.stderr(), `ORB_BASE_URL=${url} orb-backfill list`)
        const control = url.replace(/\/v1$/, "/_simulator/")
        assert.include(started.stderr(), `Control API for tests (same key; docs/testing.md): ${control}`)
        const time = yield* Effect.promise(() => fetch(`${control}time`, { headers: { authorization: "Bearer KEY" } }))
        assert.strictEqual(time.status, 200)
        assert.strictEqual((yield* Effect.promise(() => time.json())).advanced_ms, 0)
        yield* Fiber.interrupt(started.fiber)
      }).pipe(Effect.provide(simulator)),
    20_000
  )

  it("turns every flag into the simulator's options", () => {
    const some = Option.some
    const parsed = Cli.serveOptions({
      port: 4010,
      apiKey: some("KEY"),
      reflectionDelay: some("2s"),
      revertDelay: some("500ms"),
      quotas: some("test"),
      faultRate: some(0.1),
      faults: some("internal-error,drop"),
      faultTiming: some("after"),
      faultDelay: some("1m"),
      latency: some("50ms"),
      seed: some(7),
      customers: ["cus_9", "cus_8=acme-eu"]
    })
    assert.isTrue(Either.isRight(parsed))
    const options = Either.getOrThrow(parsed)
    assert.deepInclude(options, { port: 4010, apiKey: "KEY", quotas: "test", seed: 7 })
    assert.deepStrictEqual(options.customers, [{ id: "cus_9" }, { id: "cus_8", externalCustomerId: "acme-eu" }])
    assert.strictEqual(Duration.toMillis(Duration.decode(options.reflectionDelay!)), 2_000)
    assert.strictEqual(Duration.toMillis(Duration.decode(options.revertDelay!)), 500)
    assert.strictEqual(Duration.toMillis(Duration.decode(options.latency!)), 50)
    assert.deepStrictEqual(
      { ...options.faults, delay: Duration.toMillis(Duration.decode(options.faults!.delay!)) },
      { rate: 0.1, kinds: ["internal-error", "drop"], timing: "after", delay: 60_000 }
    )
  })

  it("leaves out what no flag asks for: no latency without --latency", () => {
    const none = Option.none()
    const options = Either.getOrThrow(Cli.serveOptions({
      port: 0,
      apiKey: none,
      reflectionDelay: none,
      revertDelay: none,
      quotas: none,
      faultRate: none,
      faults: none,
      faultTiming: none,
      faultDelay: none,
      latency: none,
      seed: none
    }))
    assert.deepStrictEqual(options, { port: 0 })
  })

  it.live(
    "--customer makes more customers exist, by Orb id and external id",
    () =>
      Effect.gen(function*() {
        const started = yield* cliForked([
          "simulate",
          "--port",
          "0",
          "--customer",
          "cus_hooli=hooli",
          "--customer",
          "cus_pp"
        ])
        let url: string | undefined
        while (url === undefined) {
          yield* Effect.sleep("20 millis")
          url = /^(http:\/\/127\.0\.0\.1:\d+\/v1)$/m.exec(started.stdout())?.[1]
        }
        const create = (scope: Record<string, string>) =>
          Effect.promise(async () => {
            const response = await fetch(`${url}/events/backfills`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({
                timeframe_start: "2026-10-01T00:00:00Z",
                timeframe_end: "2026-10-02T00:00:00Z",
                replace_existing_events: false,
                ...scope
              })
            })
            const body = await response.json()
            // Cleared for the next create: backfills may not overlap while pending.
            if (response.status === 200) {
              await fetch(`${url}/events/backfills/${body.id}/revert`, { method: "POST" }).then((r) => r.text())
            }
            return { status: response.status, body }
          })
        assert.strictEqual((yield* create({ external_customer_id: "hooli" })).body.customer_id, "cus_hooli")
        assert.strictEqual((yield* create({ customer_id: "cus_pp" })).body.customer_id, "cus_pp")
        assert.strictEqual((yield* create({ customer_id: "cus_1" })).body.customer_id, "cus_1")
        assert.strictEqual((yield* create({ customer_id: "cus_nobody" })).status, 404)
        yield* Fiber.interrupt(started.fiber)
      }).pipe(Effect.provide(simulator)),
    20_000
  )

  it.live(
    "--latency holds every answer that long",
    () =>
      Effect.gen(function*() {
        const started = yield* cliForked(["simulate", "--port", "0", "--latency", "300ms"])
        let url: string | undefined
        while (url === undefined) {
          yield* Effect.sleep("20 millis")
          url = /^(http:\/\/127\.0\.0\.1:\d+\/v1)$/m.exec(started.stdout())?.[1]
        }
        const before = Date.now()
        const response = yield* Effect.promise(() => fetch(`${url}/events/backfills`))
        assert.strictEqual(response.status, 200)
        yield* Effect.promise(() => response.text())
        assert.isAtLeast(Date.now() - before, 290)
        yield* Fiber.interrupt(started.fiber)
      }).pipe(Effect.provide(simulator)),
    20_000
  )

  it.live("refuses bad flags with exit 2 and one sentence", () =>
    Effect.gen(function*() {
      const cases: Array<[ReadonlyArray<string>, string | RegExp]> = [
        [["--port", "70000"], "Error: --port: expected 0 to 65535, got 70000."],
        [
          ["--reflection-delay", "5"],
          "Error: --reflection-delay: expected a duration such as 500ms, 2s, 1m or 1h, got \"5\"."
        ],
        [["--latency", "50"], "Error: --latency: expected a duration such as 500ms, 2s, 1m or 1h, got \"50\"."],
        [["--fault-rate", "2"], "Error: --fault-rate: expected a number from 0 to 1, got 2."],
        [["--faults", "drop"], "Error: --faults: needs --fault-rate."],
        [["--fault-rate", "0.1", "--faults", "drop,flood"], /unknown fault "flood"/],
        [["--quotas", "prod"], /live|test/],
        [["--port", "nope"], /integer/],
        [["--customer", "=acme"], "Error: --customer: expected ID or ID=EXTERNAL_ID, got \"=acme\"."],
        [["--customer", "cus_9="], "Error: --customer: expected ID or ID=EXTERNAL_ID, got \"cus_9=\"."]
      ]
      for (const [args, expected] of cases) {
        const ran = yield* cli(["simulate", ...args])
        assert.strictEqual(ran.code, 2, args.join(" "))
        if (typeof expected === "string") assert.strictEqual(ran.stderr.trimEnd(), expected)
        else assert.match(ran.stderr, expected)
      }
    }).pipe(Effect.provide(simulator)))
})

describe("orb-backfill demo", () => {
  it.live("generates a week of usage, runs a whole backfill, shows it and reverts it", () =>
    Effect.gen(function*() {
      const ran = yield* cli(["demo", "--events", "3000"])
      assert.strictEqual(ran.code, 0, ran.stderr)
      const err = ran.stderr.split("\n")
      assert.match(err[0], /^Demo: a whole backfill against the in-process Orb simulator/)
      assert.match(ran.stderr, /^Generated a week of usage for 4 customers/m)
      assert.match(ran.stderr, /^Checked \S+usage\.ndjson: [\d,]+ valid events\.$/m)
      const out = ran.stdout.trimEnd().split("\n")
      assert.match(out[0], /^Backfill (\S+) is reflected: [\d,]+ events, add mode, all customers/)
      assert.match(out[out.length - 1], /^Backfill \S+ is reverted: /)
      const events = Number(/is reflected: ([\d,]+) events/.exec(out[0])![1].replace(/,/g, ""))
      assert.isAtLeast(events, 2_500)
      assert.isAtMost(events, 3_500)
    }).pipe(Effect.provide(simulator)), 60_000)
})

describe("run's flags (Cli.runOptions)", () => {
  const none = Option.none()
  const flags: Cli.RunFlags = {
    file: ["events.ndjson"],
    format: none,
    csvType: [],
    start: "2026-10-01",
    end: "2026-10-08",
    maxWindow: none,
    replace: true,
    add: false,
    addAgain: false,
    database: none,
    submit: false,
    customerId: none,
    externalCustomerId: none,
    onlyCustomer: none,
    onlyExternalCustomer: none,
    closeTime: none,
    deprecationFilter: none,
    batchSize: none,
    concurrency: none,
    eventsPerMinute: none,
    requestsPerSecond: none,
    testMode: false,
    noWait: false,
    overlapWait: none,
    verify: false,
    noVerify: false,
    skipInvalid: false,
    dryRun: false,
    ephemeral: false,
    state: none,
    runKey: none,
    json: false,
    verbose: false
  }
  const now = DateTime.unsafeMake("2026-11-01T00:00:00Z")
  const onSimulator = { now, backend: "simulator" as const, defaultQuota: false as const }
  const onOrb = { now, backend: "orb" as const, defaultQuota: { requestsPerSecond: 100, eventsPerMinute: 10_000 } }
  const refused = (changes: Partial<Cli.RunFlags>, context: Parameters<typeof Cli.runOptions>[1] = onSimulator) => {
    const result = Cli.runOptions({ ...flags, ...changes }, context)
    return Either.isLeft(result) ? result.left.message : "accepted"
  }

  it("refuses what cannot be meant, naming the flags", () => {
    assert.match(refused({ replace: false }), /give --replace .* or --add/)
    assert.match(refused({ add: true }), /give only one of --replace and --add/)
    assert.match(refused({ customerId: Option.some("c"), externalCustomerId: Option.some("e") }), /at most one of/)
    assert.match(
      refused({ replace: false, add: true, deprecationFilter: Option.some("x") }),
      /only applies with --replace/
    )
    assert.match(refused({ end: "2026-11-31" }), /--end/)
    assert.match(refused({ closeTime: Option.some("2026-10-31T00:00:00Z") }), /--close-time: .* is not in the future/)
    assert.match(refused({ batchSize: Option.some(501) }), /--batch-size: expected an integer from 1 to 500/)
    assert.match(refused({ file: ["events.txt"] }), /cannot tell the format/)
    assert.match(refused({ state: Option.some("s.sqlite") }), /--state is for durable runs, and the in-process/)
    assert.match(
      refused({ ephemeral: true, runKey: Option.some("k") }, onOrb),
      /--run-key .* cannot go with --ephemeral/
    )
    assert.match(refused({ runKey: Option.some("  ") }, onOrb), /--run-key: must not be empty/)
    assert.match(refused({ overlapWait: Option.some("1 hour") }), /--overlap-wait: expected a duration such as/)
    const overlapWait = (text: string) =>
      Either.map(
        Cli.runOptions({ ...flags, overlapWait: Option.some(text) }, onSimulator),
        (r) => r.options.overlapWait === undefined ? undefined : Duration.toMillis(r.options.overlapWait)
      )
    assert.deepStrictEqual(overlapWait("0"), Either.right(0))
    assert.deepStrictEqual(overlapWait("90s"), Either.right(90_000))
    assert.deepStrictEqual(overlapWait("2h"), Either.right(7_200_000))
    assert.match(refused({ csvType: ["units=int"] }), /--csv-type: expected COLUMN=string\|number\|boolean/)
    assert.match(refused({ csvType: ["=string"] }), /--csv-type: expected COLUMN=/)
    assert.match(
      refused({ file: ["e.csv"], csvType: ["zip=string", "zip=number"] }),
      /--csv-type: column "zip" is given two types, string and number/
    )
    assert.match(refused({ csvType: ["zip=string"] }), /--csv-type is for CSV files; events\.ndjson is read as NDJSON/)
    assert.strictEqual(refused({}), "accepted")
  })

  it("turns the flags into the run's settings: durable against Orb, the pace, the account's maximum", () => {
    const planned = Either.getOrThrow(Cli.runOptions({
      ...flags,
      testMode: true,
      eventsPerMinute: Option.some(1_000),
      maxWindow: Option.some(62),
      externalCustomerId: Option.some("acme"),
      state: Option.some("runs.sqlite")
    }, onOrb))
    assert.deepStrictEqual(planned.durable, {
      state: "runs.sqlite",
      database: undefined,
      submit: false,
      runKey: undefined,
      addAgain: false
    })
    assert.deepStrictEqual(planned.options.quota, { requestsPerSecond: 10, eventsPerMinute: 1_000 })
    assert.strictEqual(planned.options.format, undefined)
    assert.deepStrictEqual(planned.options.inputs, ["events.ndjson"])
    assert.strictEqual(Duration.toMillis(Duration.decode(planned.options.account!.maxTimeframe!)), 62 * 86_400_000)
    assert.strictEqual(planned.options.backfill.externalCustomerId, "acme")
    assert.strictEqual(DateTime.formatIso(planned.options.backfill.timeframeEnd), "2026-10-08T00:00:00.000Z")
    const typed = Either.getOrThrow(
      Cli.runOptions(
        { ...flags, file: ["e.csv"], csvType: ["zip=string,units=number", " paid = boolean"] },
        onSimulator
      )
    )
    assert.deepStrictEqual(typed.options.csvTypes, { zip: "string", units: "number", paid: "boolean" })
    const inMemory = Either.getOrThrow(Cli.runOptions(flags, onSimulator))
    assert.strictEqual(inMemory.durable, undefined)
    assert.strictEqual(inMemory.options.quota, false)
  })

  it("verifies by default against Orb only (under a tenth of the run there), at the key's pace of searches", () => {
    const verify = (changes: Partial<Cli.RunFlags>, context: Parameters<typeof Cli.runOptions>[1]) =>
      Either.getOrThrow(Cli.runOptions({ ...flags, ...changes }, context)).options.verify
    assert.deepStrictEqual(verify({}, onOrb), { searchesPerSecond: 50 })
    assert.deepStrictEqual(verify({ testMode: true }, onOrb), { searchesPerSecond: 5 })
    assert.strictEqual(verify({ noVerify: true }, onOrb), undefined)
    assert.strictEqual(verify({ noWait: true }, onOrb), undefined)
    assert.strictEqual(verify({}, onSimulator), undefined)
    assert.deepStrictEqual(verify({ verify: true }, onSimulator), { searchesPerSecond: false })
    assert.match(refused({ verify: true, noWait: true }, onOrb), /--verify needs the run to wait/)
    assert.match(refused({ verify: true, dryRun: true }), /--verify: a dry run creates no backfill to verify/)
    assert.match(refused({ verify: true, noVerify: true }), /give only one of --verify and --no-verify/)
  })
})
