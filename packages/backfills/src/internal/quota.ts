/**
 * Orb's ingest quotas and the close-time rule that depends on them: a leaf, imported by the service, the ingestion
 * and the run alike.
 */
import * as DateTime from "effect/DateTime"
import type * as Backfills from "../Backfills.js"

export const liveModeQuota: Backfills.IngestQuota = { requestsPerSecond: 100, eventsPerMinute: 10_000 }

export const testModeQuota: Backfills.IngestQuota = { requestsPerSecond: 10, eventsPerMinute: 2_000 }

export const defaultCloseTime = (options: {
  readonly now: DateTime.Utc
  readonly expectedEvents?: number | undefined
  readonly quota?: Backfills.IngestQuota | false | undefined
}): DateTime.Utc => {
  const { expectedEvents, now } = options
  if (expectedEvents === undefined || !(expectedEvents >= 0)) return DateTime.add(now, { hours: 24 })
  const eventsPerMinute = options.quota === false ? 600_000 : (options.quota ?? liveModeQuota).eventsPerMinute
  const minutes = Math.max(60, Math.ceil((2 * expectedEvents) / eventsPerMinute) + 30)
  return DateTime.add(now, { minutes })
}
