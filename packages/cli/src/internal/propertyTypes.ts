/**
 * The types the properties of a run's events get, counted over the validation pass, so that the dry run shows a
 * wrong column (numbers read as strings, a column empty everywhere, a few ids among numbers) before anything is
 * created.
 */
import { printable } from "./cliError.js"
import { count, plural } from "./progress.js"

/**
 * The JSON types a property value may have.
 *
 * @category models
 */
export type ValueType = "number" | "string" | "boolean"

const valueTypes: ReadonlyArray<ValueType> = ["number", "string", "boolean"]

/**
 * Where an event was read: its line (a Parquet file's row, with its row group), and its file when the run reads
 * several (one file's name would only repeat what the run was given).
 *
 * @category models
 */
export interface Place {
  readonly line: number
  readonly file?: string | undefined
  readonly rowGroup?: number | undefined
}

/**
 * A place as the notes say it: `line 19`, `b.ndjson:19`, `row group 2, row 19`, `b.parquet row group 2, row 19`.
 *
 * @category formatting
 */
export const placeText = (place: Place): string => {
  const file = place.file === undefined ? undefined : printable(place.file)
  return place.rowGroup !== undefined
    ? `${file === undefined ? "" : `${file} `}row group ${place.rowGroup}, row ${place.line}`
    : file === undefined
    ? `line ${place.line}`
    : `${file}:${place.line}`
}

/**
 * One property: how many events hold it as each type, and the first event (its place and value) of each type.
 *
 * @category models
 */
export interface PropertyTypes {
  readonly name: string
  readonly counts: Record<ValueType, number>
  readonly first: Partial<Record<ValueType, Place & { readonly value: string | number | boolean }>>
}

// A file of events whose property names vary without end would otherwise hold them all.
const maxProperties = 200

/**
 * A tally of the properties of the events, in the order they first appear (a CSV's columns first, in the header's
 * order), at most 200 of them; the others are counted in `more`.
 *
 * @category models
 */
export class Tally {
  readonly properties: Array<PropertyTypes> = []
  /** Property names seen beyond the first 200. */
  more = 0
  private readonly byName = new Map<string, PropertyTypes>()
  private readonly beyond = new Set<string>()

  /** Starts with these properties, held by no event yet: a CSV's property columns. */
  constructor(names: ReadonlyArray<string> = []) {
    for (const name of names) this.entry(name)
  }

  private entry(name: string): PropertyTypes | undefined {
    const known = this.byName.get(name)
    if (known !== undefined) return known
    if (this.properties.length >= maxProperties) {
      if (!this.beyond.has(name)) {
        this.beyond.add(name)
        this.more++
      }
      return undefined
    }
    const entry: PropertyTypes = { name, counts: { number: 0, string: 0, boolean: 0 }, first: {} }
    this.properties.push(entry)
    this.byName.set(name, entry)
    return entry
  }

  /**
   * Counts the properties of one event, on `line` (of `file` when the run reads several; a Parquet file's row, in
   * `rowGroup`), as it will be sent. Separate arguments, not a place: this runs for every event.
   */
  add(properties: Readonly<Record<string, unknown>>, line: number, file?: string, rowGroup?: number): void {
    for (const name in properties) {
      const value = properties[name]
      const type = typeof value
      if (type !== "number" && type !== "string" && type !== "boolean") continue
      const entry = this.entry(name)
      if (entry === undefined) continue
      if (entry.counts[type]++ === 0) {
        entry.first[type] = {
          line,
          ...(file !== undefined ? { file } : {}),
          ...(rowGroup !== undefined ? { rowGroup } : {}),
          value: value as string | number | boolean
        }
      }
    }
  }
}

const byCount = (entry: PropertyTypes) =>
  valueTypes.filter((type) => entry.counts[type] > 0).sort((a, b) => entry.counts[b] - entry.counts[a])

const shown = (value: string | number | boolean) => {
  const text = printable(JSON.stringify(value))
  return text.length > 40 ? `${text.slice(0, 39)}…` : text
}

/**
 * What one property got over `events` events: `number`; `number in 39 events, string in 1 (first on line 19:
 * "0042")`; `string in 10 events, absent in 30`; `absent in every event`.
 *
 * @category formatting
 */
export const describe = (entry: PropertyTypes, events: number): string => {
  const types = byCount(entry)
  const held = types.reduce((sum, type) => sum + entry.counts[type], 0)
  const absent = events - held
  if (types.length === 0) return "absent in every event"
  if (types.length === 1 && absent === 0) return types[0]
  return [
    ...types.map((type, i) =>
      i === 0
        ? `${type} in ${plural(entry.counts[type], "event")}`
        : `${type} in ${count(entry.counts[type])} (first on ${placeText(entry.first[type]!)}: ${
          shown(entry.first[type]!.value)
        })`
    ),
    ...(absent > 0 ? [`absent in ${count(absent)}`] : [])
  ].join(", ")
}

/**
 * The dry run's lines about the properties: a heading, then one aligned line per property.
 *
 * @category formatting
 */
export const text = (tally: Tally, events: number): string => {
  if (tally.properties.length === 0) return `The ${plural(events, "event")} have no properties.`
  // Names from the file, made safe for a terminal.
  const names = tally.properties.map((entry) => printable(entry.name))
  const width = Math.max(...names.map((name) => name.length))
  return [
    `Properties of the ${plural(events, "event")}:`,
    ...tally.properties.map((entry, i) => `  ${names[i].padEnd(width)}  ${describe(entry, events)}`),
    ...(tally.more > 0 ? [`  … and ${count(tally.more)} more ${tally.more === 1 ? "property" : "properties"}`] : [])
  ].join("\n")
}

/**
 * The properties as JSON: each name with its count per type held, `absent` when some events lack it, and, when
 * it has more than one type, the `first` line and value of each type but the most common.
 *
 * @category json
 */
export const json = (tally: Tally, events: number): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const entry of tally.properties) {
    const types = byCount(entry)
    const absent = events - types.reduce((sum, type) => sum + entry.counts[type], 0)
    out[entry.name] = {
      ...Object.fromEntries(types.map((type) => [type, entry.counts[type]])),
      ...(absent > 0 ? { absent } : {}),
      ...(types.length > 1
        ? {
          first: Object.fromEntries(
            types.slice(1).map((type) => {
              const { rowGroup, ...first } = entry.first[type]!
              return [type, rowGroup === undefined ? first : { ...first, row_group: rowGroup }]
            })
          )
        }
        : {})
    }
  }
  return out
}
