import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as DeprecationFilter from "../src/internal/deprecationFilter.js"

const matches = (filter: string, properties: Record<string, string | number | boolean>) =>
  Either.getOrThrow(DeprecationFilter.parse(filter))(properties)

describe("deprecation_filter", () => {
  it("evaluates comparisons joined by AND", () => {
    const filter = "my_numeric_property > 100 AND my_other_property = 'bar'"
    expect(matches(filter, { my_numeric_property: 101, my_other_property: "bar" })).toBe(true)
    expect(matches(filter, { my_numeric_property: 100, my_other_property: "bar" })).toBe(false)
    expect(matches(filter, { my_numeric_property: 101 })).toBe(false)
    expect(matches("n <= 2 and n >= 1", { n: 2 })).toBe(true)
    expect(matches("flag = true", { flag: true })).toBe(true)
    expect(matches("n = 3", { n: "3" })).toBe(false)
    expect(matches("name = 'it''s'".replace("''", "\\'"), { name: "it's" })).toBe(true)
    expect(matches("name = 'a AND b'", { name: "a AND b" })).toBe(true)
  })

  it("refuses what it cannot evaluate", () => {
    for (const filter of ["a = 1 OR b = 2", "(a = 1)", "a != 1", "a > 'x'", "", "a = b"]) {
      expect(Either.isLeft(DeprecationFilter.parse(filter)), filter).toBe(true)
    }
  })
})
