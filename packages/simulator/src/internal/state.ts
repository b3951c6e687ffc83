/**
 * The simulator's in-memory Orb: backfills, events, customers and stored idempotent responses, with the
 * lifecycle of each backfill derived from the current time whenever it is read (no background fiber, so
 * `TestClock` moves backfills along simply by moving time).
 */
import type { Backfill } from "@effect-orb/backfills"
import * as Crypto from "node:crypto"
import type * as DeprecationFilter from "./deprecationFilter.js"
import * as Random from "./random.js"

export interface Config {
  /** The bearer key demanded, if any. */
  readonly apiKey: string | undefined
  readonly reflectionDelayMillis: number
  readonly revertDelayMillis: number
  readonly maxTimeframeMillis: number
  readonly maxEventsPerRequest: number
  /** How far in the past an event outside a backfill may be (Orb's grace period). */
  readonly gracePeriodMillis: number
  /** How far in the future any event may be. */
  readonly maxFutureMillis: number
  /** How long an `Idempotency-Key` is remembered. */
  readonly idempotencyTtlMillis: number
  /** The default `close_time`, after creation. */
  readonly defaultCloseAfterMillis: number
  /** The customers that exist at creation (and after a reset). */
  readonly customers: ReadonlyArray<Customer>
}

/** A customer of the account: its Orb id and, if it has one, its external id. */
export interface Customer {
  readonly id: string
  readonly externalCustomerId?: string | undefined
}

/** An event as recorded. */
export interface StoredEvent {
  readonly seq: number
  readonly eventName: string
  readonly timestamp: number
  readonly properties: DeprecationFilter.Properties
  readonly idempotencyKey: string
  /**
   * The Orb id of the customer (resolved from the external id when that was given; for an external id no customer
   * has yet, the id its customer will have, which {@link State.addCustomer} may still change).
   */
  customerId: string
  readonly externalCustomerId: string | undefined
  readonly backfillId: string | undefined
  readonly ingestedAt: number
}

export interface BackfillRecord {
  readonly seq: number
  readonly id: string
  readonly createdAt: number
  readonly timeframeStart: number
  readonly timeframeEnd: number
  /** When the backfill closes by itself. */
  readonly closeTime: number
  /** When it was closed before its `closeTime`: by `close`, or by a revert while it was open. */
  closedAt: number | undefined
  /** When `revert` was called, and whether it took effect at once (nothing was reflected yet). */
  revert: { readonly at: number; readonly immediate: boolean } | undefined
  readonly customerId: string | null
  readonly replaceExistingEvents: boolean
  readonly deprecationFilter: string | null
  readonly filter: DeprecationFilter.Filter
  /** Keyed by idempotency key: dedup is per backfill. */
  readonly events: Map<string, StoredEvent>
}

/** What a backfill looks like at a given time. */
export interface View {
  readonly status: Backfill.BackfillStatus
  /** Accepting events. */
  readonly open: boolean
  /** When it closed or will close. */
  readonly closeAt: number
  /** When its events count(ed) in usage, if they ever do. */
  readonly reflectedAt: number | undefined
  readonly revertedAt: number | undefined
}

export interface StoredResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/**
 * What identifies a request for its `Idempotency-Key`: a SHA-256 digest of its method, path and body. A
 * digest rather than the body itself, so that a remembered key costs the same few bytes whatever it was
 * sent with (an ingest body of 500 events is about 100 kB, kept for 48 hours).
 */
export const fingerprint = (method: string, path: string, body: string): string =>
  // A path holds no raw newline (the URL parser encodes it), so the newline cannot be confused with the body.
  Crypto.createHash("sha256").update(`${method} ${path}\n`).update(body).digest("base64")

export interface IdempotencyEntry {
  /** See {@link fingerprint}. */
  readonly fingerprint: string
  readonly storedAt: number
  /** `undefined` while the first request is in flight. */
  readonly response: StoredResponse | undefined
}

export class State {
  seq = 0
  private readonly backfillsById = new Map<string, BackfillRecord>()
  /**
   * The same backfills in creation order, so ascending `seq`: listing is newest first, and a page is a walk
   * back from its cursor rather than a sort of every backfill on every request.
   */
  private readonly backfillsOldestFirst: Array<BackfillRecord> = []
  private readonly eventsInArrivalOrder: Array<StoredEvent> = []
  /**
   * For each idempotency key of the events outside any backfill, when the latest of them was ingested: the dedup
   * check of an ingest is then one lookup an event rather than a walk of every event kept.
   */
  private readonly lastIngestedByKey = new Map<string, number>()
  /** The customers that exist: Orb id to external id (`undefined`: none). */
  private readonly externalIdOf = new Map<string, string | undefined>()
  /** The same customers, external id to Orb id. */
  private readonly idOfExternal = new Map<string, string>()
  /**
   * External ids that events named before any customer had them (Orb accepts those events and attributes them to
   * the customer created later with that external id), to the Orb id made up for that future customer.
   */
  private readonly futureCustomers = new Map<string, string>()
  readonly idempotency = new Map<string, IdempotencyEntry>()
  random: Random.Random

  constructor(readonly config: Config, readonly seed: number) {
    this.random = Random.make(seed)
    for (const customer of config.customers) this.addCustomer(customer)
  }

  /** Every backfill by id; add one with {@link addBackfill}. */
  get backfills(): ReadonlyMap<string, BackfillRecord> {
    return this.backfillsById
  }

  /** Keeps a new backfill; its `seq` must be the newest yet (as `nextSeq` gives it). */
  addBackfill(record: BackfillRecord): void {
    this.backfillsById.set(record.id, record)
    this.backfillsOldestFirst.push(record)
  }

  /** Events outside any backfill, in arrival order; add one with {@link addEvent}. */
  get events(): ReadonlyArray<StoredEvent> {
    return this.eventsInArrivalOrder
  }

  /** Keeps an event ingested outside any backfill. */
  addEvent(event: StoredEvent): void {
    this.eventsInArrivalOrder.push(event)
    const last = this.lastIngestedByKey.get(event.idempotencyKey)
    if (last === undefined || event.ingestedAt > last) {
      this.lastIngestedByKey.set(event.idempotencyKey, event.ingestedAt)
    }
  }

  /** Whether an event outside any backfill with this idempotency key was ingested after `since`. */
  ingestedSince(idempotencyKey: string, since: number): boolean {
    const last = this.lastIngestedByKey.get(idempotencyKey)
    return last !== undefined && last > since
  }

  nextSeq(): number {
    return ++this.seq
  }

  newBackfillId(): string {
    for (;;) {
      const id = Random.id(this.random)
      if (!this.backfills.has(id)) return id
    }
  }

  /** Whether a customer with this Orb id exists. */
  hasCustomer(id: string): boolean {
    return this.externalIdOf.has(id)
  }

  /** Every customer that exists, in the order it came to exist. */
  customers(): Array<Customer> {
    return Array.from(
      this.externalIdOf,
      ([id, externalCustomerId]) => externalCustomerId === undefined ? { id } : { id, externalCustomerId }
    )
  }

  /** The Orb id of the existing customer with this external id, if there is one. */
  existingCustomerIdFor(externalCustomerId: string): string | undefined {
    return this.idOfExternal.get(externalCustomerId)
  }

  /**
   * The Orb id of a customer given by its external id: its customer's, or, when no customer has it yet, the id
   * made up (on first sight, and kept) for the customer that will.
   */
  customerIdFor(externalCustomerId: string): string {
    let id = this.idOfExternal.get(externalCustomerId) ?? this.futureCustomers.get(externalCustomerId)
    if (id === undefined) {
      id = `cus_${Random.id(this.random)}`
      this.futureCustomers.set(externalCustomerId, id)
    }
    return id
  }

  /**
   * Makes a customer exist. What was known of its Orb id or external id gives way to it (an external id belongs to
   * one customer); the events already recorded for its external id become its events, as Orb attributes them.
   */
  addCustomer(customer: Customer): void {
    const { externalCustomerId, id } = customer
    if (externalCustomerId === undefined) {
      if (!this.externalIdOf.has(id)) this.externalIdOf.set(id, undefined)
      return
    }
    const previousExternal = this.externalIdOf.get(id)
    if (previousExternal !== undefined) this.idOfExternal.delete(previousExternal)
    const previousOwner = this.idOfExternal.get(externalCustomerId)
    if (previousOwner !== undefined) this.externalIdOf.set(previousOwner, undefined)
    this.externalIdOf.set(id, externalCustomerId)
    this.idOfExternal.set(externalCustomerId, id)
    const future = this.futureCustomers.get(externalCustomerId)
    if (future === undefined) return
    this.futureCustomers.delete(externalCustomerId)
    if (future === id) return
    const attribute = (event: StoredEvent) => {
      if (event.externalCustomerId === externalCustomerId) event.customerId = id
    }
    for (const event of this.eventsInArrivalOrder) attribute(event)
    for (const record of this.backfillsOldestFirst) for (const event of record.events.values()) attribute(event)
  }

  view(record: BackfillRecord, now: number): View {
    const closeAt = record.closedAt ?? record.closeTime
    const reflectedAt = closeAt + this.config.reflectionDelayMillis
    if (record.revert !== undefined) {
      if (record.revert.immediate) {
        return { status: "reverted", open: false, closeAt, reflectedAt: undefined, revertedAt: record.revert.at }
      }
      const revertedAt = record.revert.at + this.config.revertDelayMillis
      return now >= revertedAt
        ? { status: "reverted", open: false, closeAt, reflectedAt, revertedAt }
        : { status: "pending_revert", open: false, closeAt, reflectedAt, revertedAt: undefined }
    }
    if (now >= reflectedAt) return { status: "reflected", open: false, closeAt, reflectedAt, revertedAt: undefined }
    return { status: "pending", open: now < closeAt, closeAt, reflectedAt: undefined, revertedAt: undefined }
  }

  /** Backfills newest first, starting with the newest one whose `seq` is below `beforeSeq` (default: all). */
  *newestFirst(beforeSeq = Number.POSITIVE_INFINITY): Generator<BackfillRecord> {
    const records = this.backfillsOldestFirst
    // Binary search: the first index whose seq is not below `beforeSeq`; the walk starts just before it.
    let low = 0
    let high = records.length
    while (low < high) {
      const middle = (low + high) >>> 1
      if (records[middle].seq < beforeSeq) low = middle + 1
      else high = middle
    }
    for (let index = low - 1; index >= 0; index--) yield records[index]
  }

  /** Backfills oldest first. */
  oldestFirst(): ReadonlyArray<BackfillRecord> {
    return this.backfillsOldestFirst
  }

  /**
   * Whether an event is deprecated at `now`: a replace-mode backfill whose timeframe, customer scope and
   * filter cover it was reflected (and not yet reverted) after the event came to count.
   */
  isDeprecated(event: StoredEvent, countsFrom: number, now: number): boolean {
    for (const record of this.backfills.values()) {
      if (!record.replaceExistingEvents || record.id === event.backfillId) continue
      const view = this.view(record, now)
      if (view.status !== "reflected" && view.status !== "pending_revert") continue
      if (view.reflectedAt === undefined || countsFrom >= view.reflectedAt) continue
      if (event.timestamp < record.timeframeStart || event.timestamp >= record.timeframeEnd) continue
      if (record.customerId !== null && record.customerId !== event.customerId) continue
      if (record.filter(event.properties)) return true
    }
    return false
  }

  reset(): void {
    this.seq = 0
    this.backfillsById.clear()
    this.backfillsOldestFirst.length = 0
    this.eventsInArrivalOrder.length = 0
    this.lastIngestedByKey.clear()
    this.externalIdOf.clear()
    this.idOfExternal.clear()
    this.futureCustomers.clear()
    this.idempotency.clear()
    this.random = Random.make(this.seed)
    for (const customer of this.config.customers) this.addCustomer(customer)
  }
}
