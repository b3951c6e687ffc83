/**
 * Which idempotency keys Orb refuses to ingest again because their event was deprecated. Orb's documentation
 * ("Deprecate event"): "if you attempt to re-ingest an event with the same event_id as a deprecated event, Orb will
 * return an error". Decided here (docs/orb-api.md): a key is refused when Orb's store holds it and every copy that
 * could count is deprecated, that is, replaced by a reflected replace-mode backfill; a key that still counts under
 * one copy (the same file run again in replace mode) is accepted, and so is the key of a reverted backfill's event
 * (reverting and running again is the documented way to redo a backfill).
 */
import type * as State from "./state.js"

/**
 * The keys among `keys` whose events in the store are all deprecated (at least one), at `now`. Cheap when no
 * replace-mode backfill is reflected (no event can be deprecated then), and otherwise one lookup per key and
 * backfill: never a walk of every event.
 */
export const among = (state: State.State, keys: Iterable<string>, now: number): Array<string> => {
  const stored: Array<{ readonly record: State.BackfillRecord; readonly reflectedAt: number }> = []
  let anyDeprecator = false
  for (const record of state.oldestFirst()) {
    const view = state.view(record, now)
    if (view.reflectedAt === undefined || (view.status !== "reflected" && view.status !== "pending_revert")) continue
    stored.push({ record, reflectedAt: view.reflectedAt })
    if (record.replaceExistingEvents) anyDeprecator = true
  }
  if (!anyDeprecator) return []
  const refused: Array<string> = []
  for (const key of keys) {
    let deprecated = false
    let counts = false
    const weigh = (event: State.StoredEvent, countsFrom: number) => {
      if (state.isDeprecated(event, countsFrom, now)) deprecated = true
      else counts = true
    }
    if (state.ingestedSince(key, Number.NEGATIVE_INFINITY)) {
      for (const event of state.events) if (event.idempotencyKey === key) weigh(event, event.ingestedAt)
    }
    for (const { record, reflectedAt } of stored) {
      const event = record.events.get(key)
      if (event !== undefined) weigh(event, reflectedAt)
    }
    if (deprecated && !counts) refused.push(key)
  }
  return refused
}
