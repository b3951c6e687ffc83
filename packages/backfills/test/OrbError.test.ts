/**
 * The errors' module as Effect's own (`@effect/ai`'s `AiError`) has it: one list of Orb's documented errors, a
 * `TypeId` with its guard, a Schema of the union that decodes what was encoded, identifiers with the package.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { OrbError } from "../src/index.js"

const response = (status: number, fragment?: string) =>
  OrbError.fromResponse({
    status,
    method: "POST",
    path: "/events/backfills",
    problem: fragment === undefined
      ? undefined
      : { type: OrbError.typePrefix + fragment, status, title: "t", detail: "d", validation_errors: [] } as any,
    excerpt: "<html>",
    retryable: status >= 500
  })

describe("OrbError", () => {
  it("every documented type is chosen by its type URI and declared status, and is an OrbError", () => {
    for (const [tag, { fragment, status }] of Object.entries(OrbError.errorTypes)) {
      const error = response(status, fragment)
      assert.strictEqual(error._tag, tag)
      assert.isTrue(OrbError.isOrbError(error), tag)
      assert.strictEqual(OrbError.typeUri(tag as OrbError.ErrorType), OrbError.typePrefix + fragment)
    }
    assert.strictEqual(Object.keys(OrbError.errorTypes).length, 13)
    assert.strictEqual(response(418)._tag, "UnknownApiError")
    assert.isTrue(OrbError.isOrbError(response(418)))
  })

  it("isOrbError tells a request's errors from local refusals and anything else", () => {
    assert.isTrue(OrbError.isOrbError(new OrbError.TransportError({ reason: "Timeout", method: "GET", path: "/" })))
    assert.isFalse(OrbError.isOrbError(new OrbError.InvalidInput({ field: "id", reason: "empty" })))
    assert.isFalse(OrbError.isOrbError({ _tag: "TransportError" }))
    assert.isFalse(OrbError.isOrbError(null))
  })

  it("isTransient is a refinement over anything: an unknown value is not transient", () => {
    assert.isTrue(OrbError.isTransient(response(503)))
    assert.isFalse(OrbError.isTransient(response(400, "400-constraint-violation")))
    assert.isFalse(OrbError.isTransient("TransportError"))
    assert.isFalse(OrbError.isTransient(undefined))
  })

  it("the Schema of the union decodes what it encoded back to the same class", () => {
    const errors = [
      response(409, "409-resource-conflict"),
      response(400, "400-request-validation-errors"),
      response(418),
      new OrbError.DecodeError({ status: 200, method: "GET", path: "/x", reason: "r", excerpt: "e" })
    ]
    for (const error of errors) {
      const encoded = Schema.encodeSync(OrbError.OrbError)(error)
      const decoded = Schema.decodeUnknownSync(OrbError.OrbError)(JSON.parse(JSON.stringify(encoded)))
      assert.strictEqual(decoded.constructor, error.constructor)
      assert.strictEqual(decoded.message, error.message)
      assert.isTrue(OrbError.isOrbError(decoded))
    }
  })

  it("identifiers carry the package", () => {
    const refused = Schema.decodeUnknownEither(OrbError.ResourceConflict)({})
    assert.isTrue(
      refused._tag === "Left" && refused.left.message.includes("@effect-orb/backfills/OrbError/ResourceConflict")
    )
  })

  it("a request validation error's message says what was refused when Orb says it in words", () => {
    const refused = (errors: ReadonlyArray<unknown>) =>
      OrbError.fromResponse({
        status: 400,
        method: "POST",
        path: "/events/backfills",
        problem: {
          type: OrbError.typePrefix + "400-request-validation-errors",
          status: 400,
          title: "Request validation failed",
          detail: "Invalid backfill",
          validation_errors: errors
        } as any,
        excerpt: ""
      }).message
    assert.strictEqual(
      refused(["timeframe_end: the timeframe spans 45.00 days, more than the 31 days allowed"]),
      "RequestValidationError (HTTP 400) on POST /events/backfills: Request validation failed: Invalid backfill " +
        "(1 validation error: timeframe_end: the timeframe spans 45.00 days, more than the 31 days allowed)"
    )
    assert.match(refused(["a", "b", "c"]), /\(3 validation errors: a; b; and 1 more\)$/)
    // An ingest request's entries name events: OrbError.eventFailures reads them.
    assert.match(refused([{ idempotency_key: "e1", validation_errors: ["x"] }]), /\(1 validation error\)$/)
  })
})
