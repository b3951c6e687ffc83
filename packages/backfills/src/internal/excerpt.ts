/**
 * Bounded copies of what a response holds, for the errors that quote it.
 *
 * An error is printed, logged, kept in a summary and sent to a tracer; whatever it holds of a body must stay
 * small however large the body, and printable however deeply the body nests (a recursive printer such as
 * `JSON.stringify` or effect's `Inspectable` overflows the stack on a few thousand nested arrays).
 */

/** Text cut to at most `max` characters, ending in `…` when cut, and never in half a surrogate pair. */
export const truncate = (text: string, max: number): string => {
  if (text.length <= max) return text
  let end = Math.max(0, max - 1)
  const last = text.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end--
  return `${text.slice(0, end)}…`
}

// Deeper than this an excerpt shows `…`: what matters is where a value goes wrong, not all of it.
const maxDepth = 8

/**
 * A short JSON-like rendering of any parsed value: at most `max` characters, whatever its size, and at most a
 * few levels deep, whatever its depth (so that it never recurses far).
 */
export const excerptOf = (value: unknown, max = 200): string => {
  const parts: Array<string> = []
  let length = 0
  const push = (part: string) => {
    parts.push(part)
    length += part.length
  }
  const go = (v: unknown, depth: number): void => {
    if (length > max) return
    if (typeof v === "string") return push(JSON.stringify(truncate(v, max)))
    if (v === null || typeof v !== "object") return push(String(v))
    if (depth >= maxDepth) return push("…")
    const isArray = Array.isArray(v)
    push(isArray ? "[" : "{")
    let first = true
    for (const key in v) {
      if (length > max) break
      if (!Object.prototype.hasOwnProperty.call(v, key)) continue
      if (!first) push(",")
      first = false
      if (!isArray) push(`${JSON.stringify(truncate(key, max))}:`)
      go((v as Record<string, unknown>)[key], depth + 1)
    }
    push(isArray ? "]" : "}")
  }
  go(value, 0)
  return truncate(parts.join(""), max)
}
