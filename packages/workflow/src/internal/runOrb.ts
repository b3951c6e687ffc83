/**
 * Which Orb a durable run belongs to, and whether the process's connection is that Orb: the same base URL, and the
 * same account. Orb has no "who am I" endpoint, so the account is known by the API key's fingerprint (a salted
 * SHA-256, never the key) until the run's backfill exists, and from then on by that backfill: found with the
 * current key, the key is of the run's account (a rotated key passes); not found, it is another account's.
 */
import { Backfills } from "@effect-orb/backfills"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as crypto from "node:crypto"
import type * as DurableRun from "../DurableRun.js"
import { OtherOrb } from "../RunModels.js"

/** A base URL as written in different ways (a trailing slash, the host's case) is the same Orb. */
export const normalizeBaseUrl = (baseUrl: string): string => {
  try {
    return new URL(baseUrl).href.replace(/\/+$/, "")
  } catch {
    return baseUrl.replace(/\/+$/, "")
  }
}

const hash = (salt: string, apiKey: Redacted.Redacted) =>
  crypto.createHash("sha256").update(`${salt}:${Redacted.value(apiKey)}`).digest("hex").slice(0, 32)

/**
 * `sha256:<salt>:<hash>`: a random salt per run, so that fingerprints of different runs cannot be compared to tell
 * which share a key. An API key is a long random secret: its salted hash gives nothing back.
 */
export const fingerprint = (apiKey: Redacted.Redacted): string => {
  const salt = crypto.randomBytes(8).toString("hex")
  return `sha256:${salt}:${hash(salt, apiKey)}`
}

const sameKey = (recorded: string, apiKey: Redacted.Redacted) => {
  const [kind, salt, digest] = recorded.split(":")
  return kind === "sha256" && salt !== undefined && digest === hash(salt, apiKey)
}

/**
 * The account a connection ingests into, as a key that processes and machines with the same connection agree on:
 * the normalized base URL and an unsalted SHA-256 of the key (under a label of its own, so that it matches no other
 * hash of the key), never the key. Unlike a run's fingerprint it is the same for every run: it is meant to be
 * compared.
 */
export const account = (connection: DurableRun.OrbConnection): string =>
  `${normalizeBaseUrl(connection.baseUrl)} ${hash("effect-orb ingest budget", connection.apiKey)}`

export const of = (connection: DurableRun.OrbConnection): DurableRun.RunOrb => ({
  baseUrl: normalizeBaseUrl(connection.baseUrl),
  keyFingerprint: fingerprint(connection.apiKey)
})

export const OrbConnection = Context.GenericTag<DurableRun.OrbConnection>(
  "@effect-orb/workflow/DurableRun/OrbConnection"
)

/**
 * Whether the run may act through this process's connection. A run recorded before runs had an Orb is checked by
 * its backfill alone, once it exists; a process that says nothing of its connection checks nothing.
 */
export const check = <R>(
  run: {
    readonly runKey: string
    readonly orb?: DurableRun.RunOrb | undefined
    /** The run's backfills created so far, read only when the key differs or no Orb was recorded. */
    readonly backfillIds: Effect.Effect<ReadonlyArray<string>, never, R>
  }
): Effect.Effect<void, DurableRun.OtherOrb, Backfills.Backfills | R> =>
  Effect.gen(function*() {
    const connection = yield* Effect.serviceOption(OrbConnection)
    if (Option.isNone(connection)) return
    const baseUrl = normalizeBaseUrl(connection.value.baseUrl)
    const refuse = (account: string | undefined) =>
      new OtherOrb({
        runKey: run.runKey,
        ...(run.orb === undefined ? {} : { runBaseUrl: run.orb.baseUrl }),
        baseUrl,
        ...(account === undefined ? {} : { account })
      })
    const backfills = yield* Backfills.Backfills
    if (run.orb === undefined) {
      // A run submitted before runs recorded their Orb: its backfill, once it exists, is all there is to know it by.
      // Only "not found" refuses; an outage is the steps' to wait out.
      const [first] = yield* run.backfillIds
      if (first === undefined) return
      return yield* backfills.fetch(first).pipe(
        Effect.matchEffect({
          onSuccess: () => Effect.void,
          onFailure: (error) =>
            error._tag === "ResourceNotFound"
              ? refuse(`its backfill ${first} is not found with this API key`)
              : Effect.void
        })
      )
    }
    if (baseUrl !== run.orb.baseUrl) return yield* refuse(undefined)
    if (sameKey(run.orb.keyFingerprint, connection.value.apiKey)) return
    const [first] = yield* run.backfillIds
    if (first === undefined) {
      return yield* refuse("it was started with another API key and has no backfill yet by which to know the account")
    }
    yield* backfills.fetch(first).pipe(
      Effect.mapError((error) =>
        refuse(
          error._tag === "ResourceNotFound"
            ? `its backfill ${first} is not found with this API key`
            : `its backfill ${first} could not be fetched with this API key (${error.message})`
        )
      )
    )
  })

/**
 * How the run's Orb compares with the process's connection, without a request: `undefined` when either says
 * nothing.
 */
export const compare = (
  orb: DurableRun.RunOrb | undefined
): Effect.Effect<"this Orb" | "another Orb" | "another key" | undefined> =>
  Effect.map(
    Effect.serviceOption(OrbConnection),
    (connection) =>
      orb === undefined || Option.isNone(connection)
        ? undefined
        : normalizeBaseUrl(connection.value.baseUrl) !== orb.baseUrl
        ? "another Orb"
        : sameKey(orb.keyFingerprint, connection.value.apiKey)
        ? "this Orb"
        : "another key"
  )
