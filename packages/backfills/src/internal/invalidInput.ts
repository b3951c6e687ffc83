/**
 * `OrbError.InvalidInput`, defined in a leaf module so that `Backfill` can fail with it: `OrbError` imports
 * `Backfill` (its Schemas use `Backfill.Timestamp`), so `Backfill` importing `OrbError` would be a cycle.
 */
import * as Schema from "effect/Schema"

/**
 * Kept in the emitted declarations (not tagged internal): `Backfill` and `OrbError` name it in theirs, and the packed
 * `.d.ts` files would not type-check without it.
 */
export class InvalidInput
  extends Schema.TaggedError<InvalidInput>("@effect-orb/backfills/OrbError/InvalidInput")("InvalidInput", {
    field: Schema.String,
    reason: Schema.String
  })
{
  override get message() {
    return `Invalid ${this.field}: ${this.reason}`
  }
}
