/**
 * The line splitter under every file reader (NDJSON, CSV, a gzip file's inflated bytes; the command line's and the
 * durable run's): whatever the chunks the bytes come in, the same lines as the whole input decoded at once, with the
 * same byte offsets: characters cut by a chunk's end, invalid bytes, a BOM at the start and U+FEFF further on.
 */
import { assert, describe, it } from "@effect/vitest"
import * as EventFile from "../src/internal/eventFile.js"

const encoder = new TextEncoder()

/** The input's lines as one decode of the whole gives them, with where each ends in bytes. */
const reference = (bytes: Uint8Array) => {
  const out: Array<{ text: string; end: number }> = []
  let start = 0
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length ? i > start : bytes[i] === 0x0a) {
      const line = bytes.subarray(start, i)
      // Decoded on its own, the first line with the stream's BOM rule, the others keeping theirs.
      let text = new TextDecoder("utf-8", { ignoreBOM: start !== 0 }).decode(line)
      if (text.endsWith("\r")) text = text.slice(0, -1)
      out.push({ text, end: i === bytes.length ? i : i + 1 })
      start = i + 1
    }
  }
  return out
}

const split = (bytes: Uint8Array, cuts: ReadonlyArray<number>) => {
  const splitter = EventFile.lineSplitter(1_000_000)
  const out: Array<{ text: string | undefined; end: number }> = []
  let at = 0
  for (const cut of [...cuts, bytes.length]) {
    for (const line of splitter.push(bytes.subarray(at, cut))) out.push({ text: line.text, end: line.end })
    at = cut
  }
  for (const line of splitter.end()) out.push({ text: line.text, end: line.end })
  return out
}

/** A pseudo-random sequence, the same in every run. */
const random = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
  return seed / 2_147_483_648
}

describe("the line splitter", () => {
  it("gives the lines of one whole decode, wherever the chunks are cut", () => {
    const pieces = [
      "\uFEFF{\"a\":1}\n",
      "plain ascii line\r\n",
      "two-byte é and three-byte € and four-byte 😀 characters\n",
      "\uFEFF a U+FEFF further on\n"
    ]
    const invalid = Uint8Array.from([0x7b, 0xe2, 0x82, 0x0a, 0xff, 0xfe, 0x41, 0xc3, 0x0a])
    const text = encoder.encode(pieces.join("").repeat(40))
    const bytes = new Uint8Array(text.length + invalid.length + 3)
    bytes.set(text)
    bytes.set(invalid, text.length)
    bytes.set(encoder.encode("end"), text.length + invalid.length)
    const expected = reference(bytes)
    const next = random(7)
    for (let round = 0; round < 300; round++) {
      // Cuts anywhere: inside characters, right after a BOM, on the newlines.
      const cuts: Array<number> = []
      for (let at = Math.floor(next() * 40); at < bytes.length; at += 1 + Math.floor(next() * (round % 2 ? 8 : 200))) {
        cuts.push(at)
      }
      assert.deepStrictEqual(split(bytes, cuts), expected, `cuts ${cuts.slice(0, 20).join(",")}`)
    }
    // And as one chunk.
    assert.deepStrictEqual(split(bytes, []), expected)
  })
})
