/**
 * The dry run as a preview: per customer (as each event names it, by `customer_id` or `external_customer_id`), the
 * events that would be sent, their first and last timestamp, the exact sum of each numeric property and the types
 * each property was seen with, so that a wrong column (a number column read as text for some rows, a sum ten times
 * too large) shows before anything is created. Gathered over the validation pass in bounded memory: exact figures
 * for the first 10,000 customers of the file, the others counted together.
 */
import { Backfill } from "@effect-orb/backfills"
import type * as EventFile from "@effect-orb/workflow/EventFile"
import * as DateTime from "effect/DateTime"
import { printable } from "./cliError.js"
import { count, plural } from "./progress.js"
import * as PropertyTypes from "./propertyTypes.js"
import { time } from "./render.js"

// ---------------------------------------------------------------------------------------------------------------
// Exact sums

const powers: Array<bigint> = [1n]
const power = (n: number): bigint => {
  while (powers.length <= n) powers.push(powers[powers.length - 1] * 10n)
  return powers[n]
}

// The scales tried on the fast path: a price in cents or a quantity in thousandths is read as an integer of that
// many decimal places, without a BigInt per value.
const fastScales = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000]

/**
 * A number as an integer count of 10^-scale units, for the first scale from `from` up to 6 at which it is exactly a
 * decimal of at most 15 digits (so the only one that reads as this double): 0.25 at scale 2 is 25. `undefined` for
 * the others (more places, more digits); `scale` is where the result is.
 */
const fastUnits = (value: number, from: number, out: { scale: number }): number | undefined => {
  for (let scale = from; scale < fastScales.length; scale++) {
    const units = Math.round(value * fastScales[scale])
    if (Math.abs(units) < 1e15 && units / fastScales[scale] === value) {
      out.scale = scale
      return units
    }
  }
  return undefined
}

const found = { scale: 0 }

/**
 * The exact sum of numbers as they are sent (each the decimal its JSON text is, as `String(value)` writes it, not
 * the binary double): 0.1 + 0.2 is 0.3 here. Safe integers, and decimals of up to 6 places and 15 digits, are summed
 * as integers scaled by a power of ten in a double while that is exact; the others, and what would grow past 2^53,
 * go to a scaled BigInt.
 */
export class DecimalSum {
  /** A safe integer: the sum so far of the fast path, in units of 10^-smallScale. */
  private small = 0
  private smallScale = 0
  /** The rest, in units of 10^-scale. */
  private big = 0n
  private scale = 0

  add(value: number): void {
    const units = fastUnits(value, this.smallScale, found)
    if (units === undefined) return this.addSlow(value)
    if (found.scale > this.smallScale) {
      const factor = fastScales[found.scale - this.smallScale]
      if (Math.abs(this.small) * factor > Number.MAX_SAFE_INTEGER) this.flush()
      else this.small *= factor
      this.smallScale = found.scale
    }
    if (Math.abs(this.small) + Math.abs(units) > Number.MAX_SAFE_INTEGER) this.flush()
    this.small += units
  }

  /** Adds a number the fast path does not take: too many places or digits. */
  addSlow(value: number): void {
    // Too many digits at the current scale: the integer itself, exactly, in BigInt.
    if (Number.isSafeInteger(value)) this.addUnits(BigInt(value), 0)
    else this.addDecimal(String(value))
  }

  /** Adds `units` × 10^-scale. */
  addUnits(units: bigint, scale: number): void {
    if (units === 0n) return
    if (scale > this.scale) {
      this.big *= power(scale - this.scale)
      this.scale = scale
    }
    this.big += units * power(this.scale - scale)
  }

  /** Adds another sum to this one. */
  merge(other: DecimalSum): void {
    this.addUnits(other.big, other.scale)
    this.addUnits(BigInt(other.small), other.smallScale)
  }

  /** The sum in plain decimal notation, without trailing zeros: `1234.5`, `-0.003`. */
  toString(): string {
    const scale = Math.max(this.scale, this.smallScale)
    const units = this.big * power(scale - this.scale) + BigInt(this.small) * power(scale - this.smallScale)
    if (scale === 0) return units.toString()
    const negative = units < 0n
    const digits = (negative ? -units : units).toString().padStart(scale + 1, "0")
    const whole = digits.slice(0, digits.length - scale)
    const fraction = digits.slice(digits.length - scale).replace(/0+$/, "")
    return `${negative ? "-" : ""}${whole}${fraction.length > 0 ? `.${fraction}` : ""}`
  }

  private flush(): void {
    this.addUnits(BigInt(this.small), this.smallScale)
    this.small = 0
  }

  /** A number's shortest decimal text (`1.5e-7`, `1e+21`, `123.456`) added exactly. */
  private addDecimal(text: string): void {
    const e = text.indexOf("e")
    const mantissa = e === -1 ? text : text.slice(0, e)
    const exponent = e === -1 ? 0 : Number(text.slice(e + 1))
    const dot = mantissa.indexOf(".")
    const places = dot === -1 ? 0 : mantissa.length - dot - 1
    const units = BigInt(dot === -1 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1))
    const scale = places - exponent
    if (scale >= 0) this.addUnits(units, scale)
    else this.addUnits(units * power(-scale), 0)
  }
}

/** A decimal's text with its whole part grouped by thousands: `1,234,567.25`. */
export const groupDigits = (decimal: string): string => {
  const negative = decimal.startsWith("-")
  const unsigned = negative ? decimal.slice(1) : decimal
  const dot = unsigned.indexOf(".")
  const whole = dot === -1 ? unsigned : unsigned.slice(0, dot)
  return (negative ? "-" : "") + whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (dot === -1 ? "" : unsigned.slice(dot))
}

// ---------------------------------------------------------------------------------------------------------------
// Per customer

type ValueType = "number" | "string" | "boolean"
const valueTypes: ReadonlyArray<ValueType> = ["number", "string", "boolean"]

/**
 * One property's figures over some events: how many hold it as each type, the first place of each (its line, the
 * index of its file in the run, its Parquet row group or 0), its sum.
 */
class PropertyFigures {
  readonly counts: Record<ValueType, number> = { number: 0, string: 0, boolean: 0 }
  readonly first: Record<ValueType, number> = { number: 0, string: 0, boolean: 0 }
  readonly firstFile: Record<ValueType, number> = { number: 0, string: 0, boolean: 0 }
  readonly firstGroup: Record<ValueType, number> = { number: 0, string: 0, boolean: 0 }
  readonly sum = new DecimalSum()
}

/** Some events' figures: one customer's, or several customers' together; properties by the index of their name. */
class Figures {
  events = 0
  first = Infinity
  last = -Infinity
  readonly properties: Array<PropertyFigures | undefined> = []
}

/**
 * One property over every customer, a slot per customer in typed arrays (off the garbage-collected heap, which
 * would otherwise be grown by a multiple of what it holds): counts and first places, and the sum's fast path, an
 * integer count of 10^-scale units; what that cannot hold exactly goes to a {@link DecimalSum} of the slot.
 */
class PropertyColumn {
  counts: Record<ValueType, Uint32Array>
  first: Record<ValueType, Uint32Array>
  firstFile: Record<ValueType, Uint32Array>
  firstGroup: Record<ValueType, Uint32Array>
  small: Float64Array
  scale: Uint8Array
  readonly slow = new Map<number, DecimalSum>()

  constructor(capacity: number) {
    this.counts = {
      number: new Uint32Array(capacity),
      string: new Uint32Array(capacity),
      boolean: new Uint32Array(capacity)
    }
    const perType = () => ({
      number: new Uint32Array(capacity),
      string: new Uint32Array(capacity),
      boolean: new Uint32Array(capacity)
    })
    this.first = perType()
    this.firstFile = perType()
    this.firstGroup = perType()
    this.small = new Float64Array(capacity)
    this.scale = new Uint8Array(capacity)
  }

  grow(capacity: number): void {
    const grown = <A extends Uint32Array | Float64Array | Uint8Array>(array: A, make: (n: number) => A): A => {
      const copy = make(capacity)
      copy.set(array)
      return copy
    }
    const u32 = (n: number) => new Uint32Array(n)
    for (const type of valueTypes) {
      this.counts[type] = grown(this.counts[type], u32)
      this.first[type] = grown(this.first[type], u32)
      this.firstFile[type] = grown(this.firstFile[type], u32)
      this.firstGroup[type] = grown(this.firstGroup[type], u32)
    }
    this.small = grown(this.small, (n) => new Float64Array(n))
    this.scale = grown(this.scale, (n) => new Uint8Array(n))
  }

  add(slot: number, type: ValueType, value: unknown, line: number, file: number, rowGroup: number): void {
    if (this.counts[type][slot]++ === 0) {
      this.first[type][slot] = line
      this.firstFile[type][slot] = file
      this.firstGroup[type][slot] = rowGroup
    }
    if (type !== "number") return
    const scale = this.scale[slot]
    const units = fastUnits(value as number, scale, found)
    if (units !== undefined) {
      let small = this.small[slot]
      if (found.scale > scale) {
        const factor = fastScales[found.scale - scale]
        if (Math.abs(small) * factor > Number.MAX_SAFE_INTEGER) {
          this.spill(slot, small, scale)
          small = 0
        } else small *= factor
        this.scale[slot] = found.scale
      }
      if (Math.abs(small) + Math.abs(units) > Number.MAX_SAFE_INTEGER) {
        this.spill(slot, small, found.scale)
        small = 0
      }
      this.small[slot] = small + units
    } else this.slowOf(slot).addSlow(value as number)
  }

  private slowOf(slot: number): DecimalSum {
    let sum = this.slow.get(slot)
    if (sum === undefined) {
      sum = new DecimalSum()
      this.slow.set(slot, sum)
    }
    return sum
  }

  private spill(slot: number, small: number, scale: number): void {
    this.slowOf(slot).addUnits(BigInt(small), scale)
  }

  /** Adds this slot's figures to `into`. */
  addTo(slot: number, into: PropertyFigures): void {
    for (const type of valueTypes) {
      const count = this.counts[type][slot]
      if (count === 0) continue
      const first = this.first[type][slot]
      const file = this.firstFile[type][slot]
      // The run's order: file by file, line by line.
      if (
        into.counts[type] === 0 || file < into.firstFile[type] ||
        (file === into.firstFile[type] && first < into.first[type])
      ) {
        into.first[type] = first
        into.firstFile[type] = file
        into.firstGroup[type] = this.firstGroup[type][slot]
      }
      into.counts[type] += count
    }
    into.sum.addUnits(BigInt(this.small[slot]), this.scale[slot])
    const slow = this.slow.get(slot)
    if (slow !== undefined) into.sum.merge(slow)
  }
}

/** A customer as the events name it, and its slot in the columns. */
interface Customer {
  readonly kind: "customer_id" | "external_customer_id"
  readonly id: string
  readonly slot: number
}

/**
 * How many distinct strings were seen, in a few bytes each (two 32-bit hashes in typed arrays, open addressing),
 * up to `limit`; beyond, it says only that there were more. Two different customers are taken for one only if
 * both hashes agree: about once in 10^7 files of a million customers.
 */
export class DistinctCount {
  size = 0
  /** Whether more than `limit` were seen (then `size` is `limit`). */
  full = false
  private slots: Uint32Array
  private checks: Uint32Array

  constructor(private readonly limit = 1_000_000) {
    this.slots = new Uint32Array(1 << 12)
    this.checks = new Uint32Array(1 << 12)
  }

  add(text: string): void {
    if (this.full) return
    let h1 = 0x811c9dc5
    let h2 = 0x9747b28c
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      h1 = Math.imul(h1 ^ c, 0x01000193)
      h2 = Math.imul(h2 ^ c, 0x5bd1e995)
      h2 ^= h2 >>> 15
    }
    // 0 marks an empty slot.
    const hash = (h1 >>> 0) || 1
    const check = h2 >>> 0
    if (this.insert(hash, check)) {
      if (this.size === this.limit) {
        this.full = true
        // Nothing more is counted: the memory goes back.
        this.slots = new Uint32Array(0)
        this.checks = new Uint32Array(0)
        return
      }
      this.size++
      if (this.size * 2 > this.slots.length) this.grow()
    }
  }

  private insert(hash: number, check: number): boolean {
    const mask = this.slots.length - 1
    let i = hash & mask
    while (this.slots[i] !== 0) {
      if (this.slots[i] === hash && this.checks[i] === check) return false
      i = (i + 1) & mask
    }
    this.slots[i] = hash
    this.checks[i] = check
    return true
  }

  private grow(): void {
    const slots = this.slots
    const checks = this.checks
    this.slots = new Uint32Array(slots.length * 2)
    this.checks = new Uint32Array(slots.length * 2)
    for (let i = 0; i < slots.length; i++) if (slots[i] !== 0) this.insert(slots[i], checks[i])
  }
}

// The customers held one by one: a few dozen bytes each, and as many per property. The others are counted together.
const maxCustomers = 10_000
// Property names followed; a file whose names vary without end would otherwise hold them all.
const maxProperties = 50

/**
 * The preview of the events a run would send, gathered one event at a time over the validation pass: exact figures
 * for each of the first 10,000 customers (in the order they first appear), the others' figures together, with how
 * many they are; for the first 50 property names.
 */
export class Preview {
  /** Orb's ids and yours are different names: the same text as both is two customers. */
  private readonly byId = new Map<string, number>()
  private readonly byExternalId = new Map<string, number>()
  /** The customers held, by slot; slot 0 is the customers beyond the first 10,000, together. */
  private readonly held: Array<Customer | undefined> = [undefined]
  private readonly otherCustomers = new DistinctCount()
  private capacity = 64
  private events = new Uint32Array(this.capacity)
  private first = new Float64Array(this.capacity).fill(Infinity)
  private last = new Float64Array(this.capacity).fill(-Infinity)
  private readonly columns: Array<PropertyColumn> = []
  /** The property names followed, by index. */
  readonly names: Array<string> = []
  private readonly indices = new Map<string, number>()
  /** Property names beyond the first 50. */
  moreProperties = 0
  private readonly beyond = new Set<string>()

  /**
   * @param files The run's files when it reads several, in its order (the notes then name the file of a place); none
   * for one file.
   */
  constructor(private readonly maxHeld = maxCustomers, readonly files: ReadonlyArray<string> = []) {}

  /**
   * Counts one event as it will be sent, found on `line` of the `file`-th file of the run (a Parquet file's row, in
   * row group `rowGroup`; 0 for the other formats).
   */
  add(event: EventFile.WireEvent, line: number, file = 0, rowGroup = 0): void {
    const byOrbId = event.customer_id != null
    const id = (byOrbId ? event.customer_id : event.external_customer_id) ?? ""
    const slots = byOrbId ? this.byId : this.byExternalId
    let slot = slots.get(id)
    if (slot === undefined) {
      if (this.held.length > this.maxHeld) {
        this.otherCustomers.add(byOrbId ? `c${id}` : `e${id}`)
        slot = 0
      } else {
        slot = this.held.length
        if (slot === this.capacity) this.grow()
        this.held.push({ kind: byOrbId ? "customer_id" : "external_customer_id", id, slot })
        slots.set(id, slot)
      }
    }
    this.events[slot]++
    const at = Backfill.timestampMillis(event.timestamp)
    if (at < this.first[slot]) this.first[slot] = at
    if (at > this.last[slot]) this.last[slot] = at
    const properties = event.properties as Readonly<Record<string, unknown>>
    for (const name in properties) {
      const value = properties[name]
      const type = typeof value
      if (type !== "number" && type !== "string" && type !== "boolean") continue
      const index = this.indexOf(name)
      if (index !== undefined) this.columns[index].add(slot, type, value, line, file, rowGroup)
    }
  }

  private grow(): void {
    this.capacity *= 2
    const events = new Uint32Array(this.capacity)
    events.set(this.events)
    this.events = events
    const first = new Float64Array(this.capacity).fill(Infinity)
    first.set(this.first)
    this.first = first
    const last = new Float64Array(this.capacity).fill(-Infinity)
    last.set(this.last)
    this.last = last
    for (const column of this.columns) column.grow(this.capacity)
  }

  private indexOf(name: string): number | undefined {
    const index = this.indices.get(name)
    if (index !== undefined) return index
    if (this.names.length >= maxProperties) {
      if (!this.beyond.has(name) && this.beyond.size < 10_000) {
        this.beyond.add(name)
        this.moreProperties++
      }
      return undefined
    }
    this.indices.set(name, this.names.length)
    this.names.push(name)
    this.columns.push(new PropertyColumn(this.capacity))
    return this.names.length - 1
  }

  /** The customers held, most events first, then by id (the same order every time). */
  customers(): Array<Customer> {
    const customers = this.held.filter((customer): customer is Customer => customer !== undefined)
    return customers.sort((a, b) =>
      this.events[b.slot] - this.events[a.slot] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) ||
      (a.kind < b.kind ? -1 : 1)
    )
  }

  /** How many customers in all: exact, or `atLeast` when there were more than could be counted. */
  count(): { readonly customers: number; readonly atLeast: boolean } {
    return { customers: this.held.length - 1 + this.otherCustomers.size, atLeast: this.otherCustomers.full }
  }

  /** The figures of some slots together. */
  figures(slots: ReadonlyArray<number>): Figures {
    const figures = new Figures()
    for (const slot of slots) {
      figures.events += this.events[slot]
      figures.first = Math.min(figures.first, this.first[slot])
      figures.last = Math.max(figures.last, this.last[slot])
      this.columns.forEach((column, index) => {
        if (valueTypes.every((type) => column.counts[type][slot] === 0)) return
        column.addTo(slot, figures.properties[index] ??= new PropertyFigures())
      })
    }
    return figures
  }

  /** The customers after the first `shown` of `customers`, and those not held, together. */
  rest(
    customers: ReadonlyArray<Customer>,
    shown: number
  ): { readonly customers: number; readonly atLeast: boolean; readonly figures: Figures } {
    const rest = customers.slice(shown)
    return {
      customers: rest.length + this.otherCustomers.size,
      atLeast: this.otherCustomers.full,
      figures: this.figures([...rest.map((customer) => customer.slot), 0])
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// As text and JSON

/** How many customers the text shows one by one; the others are summed in one line. */
const shownCustomers = 10
/** How many properties seen both as a number and as a string the text names. */
const shownMixed = 10

const customerName = (customer: Customer) =>
  printable(customer.kind === "customer_id" ? customer.id : `${customer.id} (external)`)

/** The properties of some figures, with their names, in the order the names first appeared. */
const propertiesOf = (preview: Preview, figures: Figures): Array<readonly [string, PropertyFigures]> =>
  figures.properties.flatMap((property, index) => property === undefined ? [] : [[preview.names[index], property]])

/** The sums of the numeric properties: `units 1,234, cost 56.78`. */
const sums = (preview: Preview, figures: Figures): string => {
  const parts = propertiesOf(preview, figures).filter(([, property]) => property.counts.number > 0).map((
    [name, property]
  ) => `${printable(name)} ${groupDigits(property.sum.toString())}`)
  return parts.length === 0 ? "-" : parts.join(", ")
}

const isMixed = (property: PropertyFigures) => property.counts.number > 0 && property.counts.string > 0

/** Where a type of a property was first seen, as the check pass names places. */
const firstPlace = (preview: Preview, property: PropertyFigures, type: ValueType): PropertyTypes.Place => ({
  line: property.first[type],
  file: preview.files.length > 1 ? preview.files[property.firstFile[type]] : undefined,
  rowGroup: property.firstGroup[type] === 0 ? undefined : property.firstGroup[type]
})

/** `units: number in 3 events, string in 1 (first on line 19)`, or `(first on b.ndjson:19)` in a run of several files. */
const mixedText = (preview: Preview, name: string, property: PropertyFigures) => {
  const [most, least]: Array<ValueType> = property.counts.number >= property.counts.string
    ? ["number", "string"]
    : ["string", "number"]
  return `${printable(name)}: ${most} in ${plural(property.counts[most], "event")}, ${least} in ${
    count(property.counts[least])
  } (first on ${PropertyTypes.placeText(firstPlace(preview, property, least))})`
}

const range = (figures: Figures): [string, string] =>
  figures.events === 0
    ? ["-", "-"]
    : [time(DateTime.unsafeMake(figures.first)), time(DateTime.unsafeMake(figures.last))]

/**
 * The preview's lines: one per customer, the most events first (the first 10, then the others summed in one
 * line), then the properties a customer's events hold both as a number and as a string.
 */
export const text = (preview: Preview): string => {
  const customers = preview.customers()
  const total = preview.count()
  const header = ["CUSTOMER", "EVENTS", "FIRST", "LAST", "SUMS"]
  const shown = customers.slice(0, shownCustomers)
  const rows = shown.map((customer) => {
    const figures = preview.figures([customer.slot])
    return [customerName(customer), count(figures.events), ...range(figures), sums(preview, figures)]
  })
  const rest = preview.rest(customers, shown.length)
  if (rest.customers > 0) {
    rows.push([
      `… ${rest.atLeast ? "more than " : ""}${plural(rest.customers, "other customer")}`,
      count(rest.figures.events),
      ...range(rest.figures),
      sums(preview, rest.figures)
    ])
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
  // Numbers right-aligned, the rest left-aligned.
  const cell = (value: string, i: number) => i === 1 ? value.padStart(widths[i]) : value.padEnd(widths[i])
  const mixed: Array<string> = []
  let moreMixed = 0
  const flag = (who: string, figures: Figures) => {
    for (const [name, property] of propertiesOf(preview, figures)) {
      if (!isMixed(property)) continue
      if (mixed.length < shownMixed) mixed.push(`  ${who}: ${mixedText(preview, name, property)}`)
      else moreMixed++
    }
  }
  for (const customer of customers) flag(customerName(customer), preview.figures([customer.slot]))
  flag("the customers counted together", preview.figures([0]))
  return [
    `By customer (${total.atLeast ? "more than " : ""}${plural(total.customers, "customer")}; sums are exact):`,
    ...[header, ...rows].map((row) => "  " + row.map(cell).join("  ").trimEnd()),
    ...(preview.moreProperties > 0
      ? [`  (the first ${preview.names.length} property names only; ${count(preview.moreProperties)} more not summed)`]
      : []),
    ...(mixed.length > 0
      ? [
        "Seen both as a number and as a string (a wrong column?):",
        ...mixed,
        ...(moreMixed > 0 ? [`  … and ${count(moreMixed)} more`] : [])
      ]
      : [])
  ].join("\n")
}

const iso = (millis: number) => new Date(millis).toISOString()

const figuresJson = (preview: Preview, figures: Figures) => ({
  events: figures.events,
  first_timestamp: figures.events === 0 ? null : iso(figures.first),
  last_timestamp: figures.events === 0 ? null : iso(figures.last),
  properties: Object.fromEntries(
    propertiesOf(preview, figures).map(([name, property]) => {
      const types = valueTypes.filter((type) => property.counts[type] > 0)
      return [
        name,
        {
          ...Object.fromEntries(types.map((type) => [type, property.counts[type]])),
          // A string: a JSON number would lose the exactness of a large or long sum.
          ...(property.counts.number > 0 ? { sum: property.sum.toString() } : {}),
          ...(types.length > 1
            ? {
              first_line: Object.fromEntries(types.map((type) => [type, property.first[type]])),
              ...(preview.files.length > 1
                ? {
                  first_file: Object.fromEntries(types.map((type) => [type, firstPlace(preview, property, type).file]))
                }
                : {}),
              ...(types.some((type) => property.firstGroup[type] > 0)
                ? { first_row_group: Object.fromEntries(types.map((type) => [type, property.firstGroup[type]])) }
                : {})
            }
            : {})
        }
      ]
    })
  )
})

/**
 * The preview as JSON: every customer held (up to 10,000, the most events first), each named by the key its events
 * use, and the others together (`others`, or `null`).
 */
export const json = (preview: Preview): Record<string, unknown> => {
  const customers = preview.customers()
  const total = preview.count()
  const rest = preview.rest(customers, customers.length)
  return {
    count: total.customers,
    ...(total.atLeast ? { count_is_at_least: true } : {}),
    ...(preview.moreProperties > 0 ? { more_properties: preview.moreProperties } : {}),
    customers: customers.map((customer) => ({
      [customer.kind]: customer.id,
      ...figuresJson(preview, preview.figures([customer.slot]))
    })),
    others: rest.customers === 0
      ? null
      : {
        customers: rest.customers,
        ...(rest.atLeast ? { count_is_at_least: true } : {}),
        ...figuresJson(preview, rest.figures)
      }
  }
}
