/**
 * The dry run as a preview: per customer (as each event names it, by `customer_id` or `external_customer_id`), the
 * events that would be sent, their first and last timestamp, the exact sum of each numeric property and the types
 * each property was seen with, so that a wrong column (a number column read as text for some rows, a sum ten times
 * too large) shows before anything is created. Gathered over the validation pass in bounded memory: exact figures
 * for the first 10,000 customers of the file, the others counted together.
 */
import { Backfill } from "@effect-orb/backfills"
import type * as Input from "@effect-orb/workflow/EventFile"
import * as DateTime from "effect/DateTime"
import { printable } from "./cliError.js"
import { count, plural } from "./progress.js"
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
    let scale = this.smallScale
    let scaled = value * fastScales[scale]
    let units = Math.round(scaled)
    // A decimal of `scale` places (at most 15 digits, so the only one that reads as this double) that is `value`.
    if (!(Math.abs(units) < 1e15 && units / fastScales[scale] === value)) {
      units = NaN
      for (scale = this.smallScale + 1; scale < fastScales.length; scale++) {
        scaled = value * fastScales[scale]
        const candidate = Math.round(scaled)
        if (Math.abs(candidate) < 1e15 && candidate / fastScales[scale] === value) {
          units = candidate
          break
        }
      }
      if (Number.isNaN(units)) {
        if (Number.isSafeInteger(value)) {
          // Too many digits at the current scale: the integer itself, exactly, in BigInt.
          this.addBig(BigInt(value), 0)
        } else {
          this.addDecimal(String(value))
        }
        return
      }
      this.rescaleSmall(scale)
    }
    if (Math.abs(this.small) + Math.abs(units) > Number.MAX_SAFE_INTEGER) this.flush()
    this.small += units
  }

  /** Adds another sum to this one. */
  merge(other: DecimalSum): void {
    this.addBig(other.big, other.scale)
    this.addBig(BigInt(other.small), other.smallScale)
  }

  /** The sum in plain decimal notation, without trailing zeros: `1234.5`, `-0.003`. */
  toString(): string {
    const [units, scale] = this.total()
    if (scale === 0) return units.toString()
    const negative = units < 0n
    const digits = (negative ? -units : units).toString().padStart(scale + 1, "0")
    const whole = digits.slice(0, digits.length - scale)
    const fraction = digits.slice(digits.length - scale).replace(/0+$/, "")
    return `${negative ? "-" : ""}${whole}${fraction.length > 0 ? `.${fraction}` : ""}`
  }

  private total(): readonly [bigint, number] {
    const scale = Math.max(this.scale, this.smallScale)
    return [this.big * power(scale - this.scale) + BigInt(this.small) * power(scale - this.smallScale), scale]
  }

  private rescaleSmall(scale: number): void {
    const factor = fastScales[scale - this.smallScale]
    if (Math.abs(this.small) * factor > Number.MAX_SAFE_INTEGER) this.flush()
    else this.small *= factor
    this.smallScale = scale
  }

  private flush(): void {
    this.addBig(BigInt(this.small), this.smallScale)
    this.small = 0
  }

  private addBig(units: bigint, scale: number): void {
    if (units === 0n) return
    if (scale > this.scale) {
      this.big *= power(scale - this.scale)
      this.scale = scale
    }
    this.big += units * power(this.scale - scale)
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
    if (scale >= 0) this.addBig(units, scale)
    else this.addBig(units * power(-scale), 0)
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
 * One property of one customer's events: how many hold it as each type, the first line of each, and the sum of its
 * numbers. One object (the sum's fields its own) per property and customer: ten thousand customers' figures are
 * then a few megabytes, which the garbage collector's headroom multiplies.
 */
class PropertyFigures extends DecimalSum {
  number = 0
  string = 0
  boolean = 0
  firstNumber = 0
  firstString = 0
  firstBoolean = 0

  countOf(type: ValueType): number {
    return type === "number" ? this.number : type === "string" ? this.string : this.boolean
  }

  firstOf(type: ValueType): number {
    return type === "number" ? this.firstNumber : type === "string" ? this.firstString : this.firstBoolean
  }

  mergeFigures(other: PropertyFigures): void {
    this.merge(other)
    const first = (mine: number, theirs: number) => mine === 0 || (theirs !== 0 && theirs < mine) ? theirs : mine
    this.firstNumber = first(this.firstNumber, other.firstNumber)
    this.firstString = first(this.firstString, other.firstString)
    this.firstBoolean = first(this.firstBoolean, other.firstBoolean)
    this.number += other.number
    this.string += other.string
    this.boolean += other.boolean
  }
}

/** A customer's events, or several customers' together; `properties` by the index of their name in the preview. */
class Figures {
  events = 0
  first = Infinity
  last = -Infinity
  readonly properties: Array<PropertyFigures | undefined> = []

  add(at: number): void {
    this.events++
    if (at < this.first) this.first = at
    if (at > this.last) this.last = at
  }

  property(index: number): PropertyFigures {
    let property = this.properties[index]
    if (property === undefined) {
      // Filled in order of the names' indices seen by this customer: holes, if any, stay few (50 names at most).
      while (this.properties.length < index) this.properties.push(undefined)
      property = new PropertyFigures()
      this.properties[index] = property
    }
    return property
  }

  mergeFigures(other: Figures): void {
    this.events += other.events
    this.first = Math.min(this.first, other.first)
    this.last = Math.max(this.last, other.last)
    other.properties.forEach((property, index) => {
      if (property !== undefined) this.property(index).mergeFigures(property)
    })
  }
}

/** A customer as the events name it. */
class Customer extends Figures {
  constructor(readonly kind: "customer_id" | "external_customer_id", readonly id: string) {
    super()
  }
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

// The customers held one by one: a few hundred bytes each. The others are counted together.
const maxCustomers = 10_000
// Property names followed per customer; a file whose names vary without end would otherwise hold them all.
const maxProperties = 50

/**
 * The preview of the events a run would send, gathered one event at a time over the validation pass: exact figures
 * for each of the first 10,000 customers (in the order they first appear), the others' figures together, with how
 * many they are; for the first 50 property names.
 */
export class Preview {
  /** Orb's ids and yours are different names: the same text as both is two customers. */
  private readonly byId = new Map<string, Customer>()
  private readonly byExternalId = new Map<string, Customer>()
  /** The customers beyond the first 10,000, together. */
  readonly others = new Figures()
  private readonly otherCustomers = new DistinctCount()
  /** The property names followed, by index. */
  readonly names: Array<string> = []
  private readonly indices = new Map<string, number>()
  /** Property names beyond the first 50. */
  moreProperties = 0
  private readonly beyond = new Set<string>()

  constructor(private readonly maxHeld = maxCustomers) {}

  private get held(): number {
    return this.byId.size + this.byExternalId.size
  }

  /** Counts one event as it will be sent, found on `line`. */
  add(event: Input.WireEvent, line: number): void {
    const byOrbId = event.customer_id != null
    const id = (byOrbId ? event.customer_id : event.external_customer_id) ?? ""
    const customers = byOrbId ? this.byId : this.byExternalId
    let figures: Figures | undefined = customers.get(id)
    if (figures === undefined) {
      if (this.held >= this.maxHeld) {
        this.otherCustomers.add(byOrbId ? `c${id}` : `e${id}`)
        figures = this.others
      } else {
        const customer = new Customer(byOrbId ? "customer_id" : "external_customer_id", id)
        customers.set(id, customer)
        figures = customer
      }
    }
    figures.add(Backfill.timestampMillis(event.timestamp))
    const properties = event.properties as Readonly<Record<string, unknown>>
    for (const name in properties) {
      const value = properties[name]
      const type = typeof value
      if (type !== "number" && type !== "string" && type !== "boolean") continue
      const index = this.indexOf(name)
      if (index === undefined) continue
      const property = figures.property(index)
      if (type === "number") {
        if (property.number++ === 0) property.firstNumber = line
        property.add(value as number)
      } else if (type === "string") {
        if (property.string++ === 0) property.firstString = line
      } else if (property.boolean++ === 0) property.firstBoolean = line
    }
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
    return this.names.length - 1
  }

  /** The customers held, most events first, then by id (the same order every time). */
  customers(): Array<Customer> {
    return [...this.byId.values(), ...this.byExternalId.values()].sort((a, b) =>
      b.events - a.events || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) || (a.kind < b.kind ? -1 : 1)
    )
  }

  /** How many customers in all: exact, or `atLeast` when there were more than could be counted. */
  count(): { readonly customers: number; readonly atLeast: boolean } {
    return { customers: this.held + this.otherCustomers.size, atLeast: this.otherCustomers.full }
  }

  /** The figures of the customers after the first `shown` of `customers` together, and of those not held. */
  rest(
    customers: ReadonlyArray<Customer>,
    shown: number
  ): { readonly customers: number; readonly atLeast: boolean; readonly figures: Figures } {
    const figures = new Figures()
    const rest = customers.slice(shown)
    for (const customer of rest) figures.mergeFigures(customer)
    figures.mergeFigures(this.others)
    return { customers: rest.length + this.otherCustomers.size, atLeast: this.otherCustomers.full, figures }
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
  const parts = propertiesOf(preview, figures).filter(([, property]) => property.number > 0).map(([name, property]) =>
    `${printable(name)} ${groupDigits(property.toString())}`
  )
  return parts.length === 0 ? "-" : parts.join(", ")
}

const isMixed = (property: PropertyFigures) => property.number > 0 && property.string > 0

/** `units: number in 3 events, string in 1 (first on line 19)`. */
const mixedText = (name: string, property: PropertyFigures) => {
  const [most, least]: Array<ValueType> = property.number >= property.string
    ? ["number", "string"]
    : ["string", "number"]
  return `${printable(name)}: ${most} in ${plural(property.countOf(most), "event")}, ${least} in ${
    count(property.countOf(least))
  } (first on line ${property.firstOf(least)})`
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
  const rows = shown.map((customer) => [
    customerName(customer),
    count(customer.events),
    ...range(customer),
    sums(preview, customer)
  ])
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
      if (mixed.length < shownMixed) mixed.push(`  ${who}: ${mixedText(name, property)}`)
      else moreMixed++
    }
  }
  for (const customer of customers) flag(customerName(customer), customer)
  flag("the customers counted together", preview.others)
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
      const types = valueTypes.filter((type) => property.countOf(type) > 0)
      return [
        name,
        {
          ...Object.fromEntries(types.map((type) => [type, property.countOf(type)])),
          // A string: a JSON number would lose the exactness of a large or long sum.
          ...(property.number > 0 ? { sum: property.toString() } : {}),
          ...(types.length > 1
            ? { first_line: Object.fromEntries(types.map((type) => [type, property.firstOf(type)])) }
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
    customers: customers.map((customer) => ({ [customer.kind]: customer.id, ...figuresJson(preview, customer) })),
    others: rest.customers === 0
      ? null
      : {
        customers: rest.customers,
        ...(rest.atLeast ? { count_is_at_least: true } : {}),
        ...figuresJson(preview, rest.figures)
      }
  }
}
