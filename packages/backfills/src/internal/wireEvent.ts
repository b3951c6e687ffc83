/**
 * The one hand-written reader of an event in Orb's wire form, for `Backfill.decodeIngestEvent` and for the
 * wire-form checks (`events.checkWire`), so that both take the same events on their fast path and leave the same
 * ones to the Schema. A leaf module (it imports only `isoDateTime.ts`), so that `Backfill` can use it.
 */
import * as IsoDateTime from "./isoDateTime.js"

/**
 * The keys of an event in wire form (re-exported as `Backfill.wireEventKeys`).
 */
export const wireEventKeys: ReadonlySet<string> = new Set([
  "event_name",
  "timestamp",
  "properties",
  "idempotency_key",
  "customer_id",
  "external_customer_id"
])

// Plain objects only (what `JSON.parse` makes): an object that inherits keys would be read here with them, where the
// Schema reads own keys (and `JSON.stringify` writes own keys only).
const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== "object" || value === null) return false
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

/**
 * The instant of a plainly well-formed wire event's timestamp, or `NaN` when the Schema must decide (not a plain
 * object, an unknown key, a wrong type, a timestamp the strict parser refuses). Well formed means: what
 * `Schema.decodeUnknownEither(Backfill.IngestEvent, { onExcessProperty: "error" })` decodes to the very same
 * values, so that a caller may take the fields as they are. Allocates nothing.
 */
export const read = (value: unknown): number => {
  if (!isPlainObject(value)) return NaN
  for (const key in value) if (!wireEventKeys.has(key)) return NaN
  const { customer_id, event_name, external_customer_id, idempotency_key, properties, timestamp } = value
  if (typeof event_name !== "string" || typeof timestamp !== "string") return NaN
  if (!isPlainObject(properties)) return NaN
  for (const key in properties) {
    // The Schema's decoded record cannot hold an own `__proto__` (assigning it sets no key): leave it to the Schema.
    if (key === "__proto__") return NaN
    const v = properties[key]
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") return NaN
  }
  if (idempotency_key !== undefined && typeof idempotency_key !== "string") return NaN
  if (customer_id != null && typeof customer_id !== "string") return NaN
  if (external_customer_id != null && typeof external_customer_id !== "string") return NaN
  return IsoDateTime.parse(timestamp)
}
