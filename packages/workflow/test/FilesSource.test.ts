/**
 * Several files as one source (`RunSource.fromFiles`): read segment by segment, every event once, each file by its
 * own format (a gzip shard beside a plain one, a CSV), the cursor's offset running through the files, every file
 * pinned, so that a file that changed or vanished is named before anything more of the run is read.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as zlib from "node:zlib"
import { RunSource } from "../src/index.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-orb-files-"))
const write = (name: string, text: string | Buffer) => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, text)
  return file
}
const line = (key: string) =>
  JSON.stringify({
    event_name: "a",
    timestamp: "2026-10-01T00:00:00Z",
    external_customer_id: "acme",
    idempotency_key: key,
    properties: {}
  })

const segments = (source: RunSource.RunSource, size: number) =>
  Effect.gen(function*() {
    const all: Array<RunSource.Segment & { readonly from: number }> = []
    let from = { offset: 0, line: 1 }
    for (;;) {
      const segment = yield* RunSource.readSegment(source, from, size)
      all.push({ ...segment, from: from.offset })
      if (segment.eof) return all
      from = { offset: segment.next, line: segment.nextLine }
    }
  })

const keysOf = (segment: RunSource.Segment) =>
  segment.events.map((event) => (event as { idempotency_key: string }).idempotency_key)

describe("RunSource.fromFiles", () => {
  it.effect("three files of three formats: every event once, in order, segments within a file, lines per file", () =>
    Effect.gen(function*() {
      const a = write("a.ndjson", ["a1", "a2", "a3"].map(line).join("\n") + "\n")
      const b = write("b.ndjson.gz", zlib.gzipSync(["b1", "b2"].map(line).join("\n") + "\n"))
      const c = write(
        "c.csv",
        "event_name,timestamp,external_customer_id,idempotency_key\na,2026-10-01T00:00:00Z,acme,c1\n\n" +
          "a,2026-10-01T00:00:00Z,acme,c2\n"
      )
      const source = yield* RunSource.fromFiles([a, b, { path: c, format: "csv" }])
      assert.deepStrictEqual(source.parts.map((part) => part.format), ["ndjson", "ndjson", "csv"])
      assert.isDefined(source.parts[1].decompressedSize)
      // The payload round-trips through its schema, as the engine journals it.
      const encoded = Schema.encodeSync(RunSource.RunSource)(source)
      assert.deepStrictEqual(Schema.decodeUnknownSync(RunSource.RunSource)(encoded), source)
      const all = yield* segments(source, 2)
      assert.deepStrictEqual(all.map(keysOf), [["a1", "a2"], ["a3"], ["b1", "b2"], ["c1", "c2"]])
      assert.deepStrictEqual(all.map((s) => s.lines), [[1, 2], [3], [1, 2], [2, 4]])
      assert.deepStrictEqual(
        all.map((s) => RunSource.where(source, s.lines[0] ?? 1, s.from)),
        [`${a}:1`, `${a}:3`, `${b}:1`, `${c}:2`]
      )
      assert.strictEqual(all[all.length - 1].next, RunSource.extentOf(source))
      assert.strictEqual(RunSource.nameOf(source), `${a} and 2 more files`)
    }))

  it.effect("a resume from the journal's cursor reads the same events from the middle of the second file", () =>
    Effect.gen(function*() {
      const a = write("r1.ndjson", ["x1", "x2"].map(line).join("\n") + "\n")
      const b = write("r2.ndjson", ["y1", "y2", "y3"].map(line).join("\n") + "\n")
      const source = yield* RunSource.fromFiles([a, b])
      const all = yield* segments(source, 2)
      const cursor = all[1]
      assert.deepStrictEqual(keysOf(cursor), ["y1", "y2"])
      const again = yield* RunSource.readSegment(source, { offset: cursor.next, line: cursor.nextLine }, 10)
      assert.deepStrictEqual(keysOf(again), ["y3"])
      assert.deepStrictEqual(again.lines, [3])
      assert.isTrue(again.eof)
    }))

  it.effect("the run key's hash covers every file and their order", () =>
    Effect.gen(function*() {
      const a = write("k1.ndjson", line("k1") + "\n")
      const b = write("k2.ndjson", line("k2") + "\n")
      const ab = RunSource.sha256Of(yield* RunSource.fromFiles([a, b]))
      const ba = RunSource.sha256Of(yield* RunSource.fromFiles([b, a]))
      const onlyA = RunSource.sha256Of(yield* RunSource.fromFiles([a]))
      assert.notStrictEqual(ab, ba)
      assert.notStrictEqual(ab, onlyA)
      assert.strictEqual(ab, RunSource.sha256Of(yield* RunSource.fromFiles([a, b])))
    }))

  it.effect("a file that changes after submission is named before any more is read, whichever file is read", () =>
    Effect.gen(function*() {
      const a = write("c1.ndjson", ["c1", "c2"].map(line).join("\n") + "\n")
      const b = write("c2.ndjson", line("c3") + "\n")
      const source = yield* RunSource.fromFiles([a, b])
      const first = yield* RunSource.readSegment(source, { offset: 0, line: 1 }, 1)
      assert.deepStrictEqual(keysOf(first), ["c1"])
      fs.appendFileSync(b, line("c4") + "\n")
      const error = yield* Effect.flip(RunSource.readSegment(source, { offset: first.next, line: first.nextLine }, 1))
      assert.strictEqual(error.reason, "changed")
      assert.strictEqual(error.source, b)
      assert.include(error.message, `${b} changed since the run was submitted`)
    }))

  it.effect("a file that vanishes mid-run is named: it no longer exists", () =>
    Effect.gen(function*() {
      const a = write("v1.ndjson", line("v1") + "\n")
      const b = write("v2.ndjson", line("v2") + "\n")
      const source = yield* RunSource.fromFiles([a, b])
      fs.rmSync(b)
      const error = yield* Effect.flip(RunSource.readSegment(source, { offset: 0, line: 1 }, 10))
      assert.strictEqual(
        error.message,
        `${b} changed since the run was submitted (it no longer exists); nothing of it was sent`
      )
    }))

  it.effect("refused at submission: the same file twice, an unsupported file among them, no file", () =>
    Effect.gen(function*() {
      const a = write("t1.ndjson", line("t1") + "\n")
      const twice = yield* Effect.flip(RunSource.fromFiles([a, path.join(dir, ".", "t1.ndjson")]))
      assert.include(twice.message, `${a} cannot be read: it is given twice`)
      const zstd = write("t2.ndjson", Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]))
      const unsupported = yield* Effect.exit(RunSource.fromFiles([a, zstd]))
      assert.isTrue(Exit.isFailure(unsupported))
      assert.include(JSON.stringify(unsupported), "zstd")
      const none = yield* Effect.flip(RunSource.fromFiles([]))
      assert.include(none.message, "no file is given")
    }))
})
