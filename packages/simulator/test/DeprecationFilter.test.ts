import { assert, describe, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as DeprecationFilter from "../src/internal/deprecationFilter.js"

const matches = (filter: string, properties: Record<string, string | number | boolean>) =>
  Either.getOrThrow(DeprecationFilter.parse(filter))(properties)

describe("deprecation_filter", () => {
  it("evaluates comparisons joined by AND", () => {
    const filter = "my_numeric_property > 100 AND my_other_property = 'bar'"
    assert.strictEqual(matches(filter, { my_numeric_property: 101, my_other_property: "bar" }), true)
    assert.strictEqual(matches(filter, { my_numeric_property: 100, my_other_property: "bar" }), false)
    assert.strictEqual(matches(filter, { my_numeric_property: 101 }), false)
    assert.strictEqual(matches("n <= 2 and n >= 1", { n: 2 }), true)
    assert.strictEqual(matches("flag = true", { flag: true }), true)
    assert.strictEqual(matches("n = 3", { n: "3" }), false)
    assert.strictEqual(matches("name = 'it''s'".replace("''", "\\'"), { name: "it's" }), true)
    assert.strictEqual(matches("name = 'a AND b'", { name: "a AND b" }), true)
  })

  it("refuses what it cannot evaluate", () => {
    for (const filter of ["a = 1 OR b = 2", "(a = 1)", "a != 1", "a > 'x'", "", "a = b"]) {
      assert.strictEqual(Either.isLeft(DeprecationFilter.parse(filter)), true, filter)
    }
  })
})
