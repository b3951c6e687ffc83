/**
 * The subset of Orb's computed-property expressions the simulator evaluates as a `deprecation_filter`:
 * comparisons of one event property with a literal, joined by `AND`:
 *
 * - `prop = 'text'`, `prop = 12.5`, `prop = true`,
 * - `prop > 100`, `prop >= 100`, `prop < 100`, `prop <= 100` (numbers only).
 *
 * Anything else (OR, parentheses, functions, ...) is refused when the backfill is created, so a filter is
 * never silently evaluated differently from what the caller meant.
 */
import * as Either from "effect/Either"

export type Properties = Readonly<Record<string, string | number | boolean>>

export type Filter = (properties: Properties) => boolean

type Literal = string | number | boolean

interface Clause {
  readonly property: string
  readonly operator: "=" | ">" | ">=" | "<" | "<="
  readonly value: Literal
}

const clausePattern = /^([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|=|>|<)\s*('(?:[^'\\]|\\.)*'|-?\d+(?:\.\d+)?|true|false)$/

const parseLiteral = (text: string): Literal => {
  if (text.startsWith("'")) return text.slice(1, -1).replace(/\\(.)/g, "$1")
  if (text === "true") return true
  if (text === "false") return false
  return Number(text)
}

// Splits on AND outside quoted strings, so `name = 'salt AND pepper'` stays one clause.
const splitAnd = (expression: string): Array<string> => {
  const parts: Array<string> = []
  let current = ""
  let quoted = false
  let i = 0
  while (i < expression.length) {
    const char = expression[i]
    if (char === "\\" && quoted) {
      current += expression.slice(i, i + 2)
      i += 2
      continue
    }
    if (char === "'") quoted = !quoted
    if (!quoted && /^\sAND\s/i.test(expression.slice(i, i + 5))) {
      parts.push(current)
      current = ""
      i += 5
      continue
    }
    current += char
    i++
  }
  parts.push(current)
  return parts.map((part) => part.trim())
}

const evaluate = (clause: Clause, properties: Properties): boolean => {
  const actual = properties[clause.property]
  if (actual === undefined) return false
  if (clause.operator === "=") return actual === clause.value
  if (typeof actual !== "number" || typeof clause.value !== "number") return false
  switch (clause.operator) {
    case ">":
      return actual > clause.value
    case ">=":
      return actual >= clause.value
    case "<":
      return actual < clause.value
    case "<=":
      return actual <= clause.value
  }
}

/**
 * Parses a filter, or says why it cannot be evaluated.
 */
export const parse = (expression: string): Either.Either<Filter, string> => {
  const clauses: Array<Clause> = []
  for (const part of splitAnd(expression)) {
    const match = clausePattern.exec(part)
    if (match === null) {
      return Either.left(
        `deprecation_filter: the simulator cannot evaluate ${JSON.stringify(part)}; it supports ` +
          "`property = 'text' | number | boolean` and `property > | >= | < | <= number` clauses joined by AND"
      )
    }
    const value = parseLiteral(match[3])
    const operator = match[2] as Clause["operator"]
    if (operator !== "=" && typeof value !== "number") {
      return Either.left(`deprecation_filter: ${JSON.stringify(part)} compares with ${operator}, which needs a number`)
    }
    clauses.push({ property: match[1], operator, value })
  }
  return Either.right((properties) => clauses.every((clause) => evaluate(clause, properties)))
}

/**
 * The filter that matches every event (no `deprecation_filter`).
 */
export const all: Filter = () => true
