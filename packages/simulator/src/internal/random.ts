/**
 * A small seeded pseudo-random generator (mulberry32): the same seed gives the same sequence, so ids and
 * injected faults are reproducible from one run to the next.
 */
export interface Random {
  /** A number in [0, 1). */
  readonly next: () => number
}

export const make = (seed: number): Random => {
  let state = seed >>> 0
  return {
    next: () => {
      state = (state + 0x6d2b79f5) >>> 0
      let t = state
      t = Math.imul(t ^ (t >>> 15), t | 1)
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    }
  }
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

/**
 * An id shaped like Orb's (a short base62 string), drawn from `random`.
 */
export const id = (random: Random, length = 16): string => {
  let out = ""
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(random.next() * alphabet.length)]
  return out
}
