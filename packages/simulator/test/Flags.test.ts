import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import { parseFlags } from "../src/bin.js"

describe("pnpm simulate flags", () => {
  it("parses every flag", () => {
    const parsed = parseFlags([
      "--port",
      "4010",
      "--api-key",
      "KEY",
      "--reflection-delay",
      "2s",
      "--revert-delay",
      "500ms",
      "--quotas",
      "test",
      "--fault-rate",
      "0.1",
      "--faults",
      "internal-error,drop",
      "--fault-timing",
      "after",
      "--fault-delay",
      "1m",
      "--seed",
      "7"
    ])
    expect(Either.isRight(parsed)).toBe(true)
    const options = Either.getOrThrow(parsed)
    expect(options).toMatchObject({ port: 4010, apiKey: "KEY", quotas: "test", seed: 7 })
    expect(Duration.toMillis(options.reflectionDelay as Duration.Duration)).toBe(2000)
    expect(Duration.toMillis(options.revertDelay as Duration.Duration)).toBe(500)
    expect(options.faults).toMatchObject({ rate: 0.1, kinds: ["internal-error", "drop"], timing: "after" })
  })

  it("defaults to port 4010", () => {
    expect(Either.getOrThrow(parseFlags([]))).toEqual({ port: 4010 })
  })

  it.each([
    [["--port", "abc"], "--port"],
    [["--bogus"], "bogus"],
    [["--reflection-delay", "2 parsecs"], "--reflection-delay"],
    [["--quotas", "max"], "--quotas"],
    [["--fault-rate", "2"], "--fault-rate"],
    [["--fault-rate", "0.5", "--faults", "meteor"], "meteor"],
    [["--faults", "drop"], "needs --fault-rate"]
  ])("refuses %j with a one-line message", (args, mentions) => {
    const parsed = parseFlags(args)
    expect(Either.isLeft(parsed)).toBe(true)
    const message = Either.isLeft(parsed) ? parsed.left : ""
    expect(message).toContain(mentions)
    expect(message).not.toContain("\n")
  })
})
