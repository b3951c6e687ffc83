/**
 * Which Orb the commands talk to: the real one when `ORB_API_KEY` is set, otherwise a simulator in this
 * process, with the pace and polling that suit each.
 *
 * @since 0.1.0
 */
import { Backfills, Events, OrbClient } from "@effect-orb/backfills"
import { OrbSimulator } from "@effect-orb/simulator"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as InternalTraffic from "./internal/traffic.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Backend {
  readonly kind: "simulator" | "orb"
  /** The first line of every command that talks to this backend, when it deserves one. */
  readonly notice: Option.Option<string>
  /** The ingest pace when no flag says otherwise. */
  readonly defaultQuota: Backfills.IngestQuota | false
  /** How to poll while awaiting a status (`undefined`: the library's default, up to 30 s apart). */
  readonly awaitSchedule: Schedule.Schedule<unknown> | undefined
  /** How often `watch` fetches the backfill. */
  readonly watchInterval: Duration.Duration
  /** The backfill service over the same connection, for an account whose limits Orb raised (`--max-window`). */
  readonly backfillsFor: (account: Backfills.AccountOptions) => Effect.Effect<Backfills.Backfills>
  /** The event queries over the same connection (`verify`); absent in tests' hand-made backends. */
  readonly events?: Effect.Effect<Events.Events> | undefined
  /** What the requests to Orb are doing, for the progress to say what a run waits for. */
  readonly traffic?: Traffic | undefined
  /** Which Orb, and which key: durable runs record the Orb they belong to (a fingerprint of the key, never it). */
  readonly connection?: { readonly baseUrl: string; readonly apiKey: Redacted.Redacted } | undefined
}

/**
 * What the requests to Orb are doing, as the HTTP client under the backend's `OrbClient` sees them.
 *
 * @since 0.1.0
 * @category models
 */
export interface Traffic {
  readonly current: Effect.Effect<TrafficSnapshot>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface TrafficSnapshot {
  /** Requests sent and not answered yet. */
  readonly inFlight: number
  /** When the oldest of them was sent (ms since the epoch, by the `Clock`). */
  readonly oldestSentAt: number | undefined
  /** The last answer that was not a success (`status` undefined: no answer, the connection failed or timed out). */
  readonly lastTrouble: {
    readonly at: number
    readonly status: number | undefined
    /** The wait the server asked for (`Retry-After`). */
    readonly retryAfterMillis: number | undefined
    readonly method: string
    readonly path: string
  } | undefined
  /** When the last successful answer came. */
  readonly lastSuccessAt: number | undefined
}

/** `Backend.backfillsFor` over the `OrbClient` the layer is built with, and the traffic under it. */
const backfillsFor = Effect.map(
  Effect.all([OrbClient.OrbClient, InternalTraffic.Traffic]),
  ([client, traffic]) => ({
    backfillsFor: (account: Backfills.AccountOptions) =>
      Effect.provideService(Backfills.makeWith(account), OrbClient.OrbClient, client),
    events: Effect.provideService(Events.make, OrbClient.OrbClient, client),
    traffic
  })
)

/**
 * @since 0.1.0
 * @category tags
 */
export const Backend: Context.Tag<Backend, Backend> = Context.GenericTag<Backend>("@effect-orb/cli/Backend")

/**
 * The line every command prints first when no `ORB_API_KEY` is set.
 *
 * @since 0.1.0
 * @category constants
 */
export const simulatorNotice =
  "ORB_API_KEY is not set: using the in-process Orb simulator (nothing is sent to Orb, and its backfills vanish " +
  "when this command exits)."

/**
 * The simulator's settings for the command line: reflection and revert in 2 seconds of real time, so that a
 * whole backfill can be watched end to end in a few seconds.
 *
 * @since 0.1.0
 * @category constants
 */
export const simulatorDefaults: OrbSimulator.Options = {
  apiKey: "sk-simulator",
  reflectionDelay: Duration.seconds(2),
  revertDelay: Duration.seconds(2)
}

const simulatorBaseUrl = "http://127.0.0.1/v1"

/**
 * The backfill service over the simulator's in-process `HttpClient`, with no quota (the simulator has none
 * unless asked) and quick polling. The simulator's control service is provided as well, for tests and the
 * demo.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSimulator = (
  options: OrbSimulator.Options = {},
  backend: Partial<Backend> = {}
): Layer.Layer<Backend | Backfills.Backfills | OrbSimulator.OrbSimulator> => {
  const settings = { ...simulatorDefaults, ...options }
  const apiKey = typeof settings.apiKey === "string" ? settings.apiKey : "sk-simulator"
  return Layer.mergeAll(
    Backfills.layer,
    Layer.effect(
      Backend,
      Effect.map(backfillsFor, (connection) => ({
        kind: "simulator" as const,
        notice: Option.some(simulatorNotice),
        defaultQuota: false as const,
        awaitSchedule: Schedule.spaced(Duration.millis(250)),
        watchInterval: Duration.millis(250),
        connection: { baseUrl: simulatorBaseUrl, apiKey: Redacted.make(apiKey) },
        ...connection,
        ...backend
      }))
    )
  ).pipe(
    Layer.provide(OrbClient.layer({ apiKey: Redacted.make(apiKey), baseUrl: simulatorBaseUrl })),
    Layer.provide(InternalTraffic.layer),
    Layer.provideMerge(OrbSimulator.layer(settings)),
    // The client's configuration is all literal here: a config error cannot happen.
    Layer.orDie
  )
}

/**
 * The backfill service over the real Orb (`ORB_API_KEY`, `ORB_BASE_URL`) with Node's HTTP client, pacing
 * ingestion within Orb's live-mode quota unless flags say otherwise.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerOrb: Layer.Layer<Backend | Backfills.Backfills, ConfigError.ConfigError> = Layer.mergeAll(
  Backfills.layer,
  Layer.effect(
    Backend,
    Effect.map(
      Effect.all([backfillsFor, Config.unwrap(OrbClient.environmentConfig)]),
      ([connection, orb]) => ({
        kind: "orb" as const,
        notice: Option.none(),
        defaultQuota: Backfills.liveModeQuota,
        awaitSchedule: undefined,
        watchInterval: Duration.seconds(5),
        connection: orb,
        ...connection
      })
    )
  )
).pipe(
  Layer.provide(OrbClient.layerConfig()),
  Layer.provide(InternalTraffic.layer),
  // undici is imported when a command talks to Orb: `--help` and the in-process simulator never load it.
  Layer.provide(
    Layer.unwrapEffect(
      Effect.promise(() => import("@effect/platform-node/NodeHttpClient")).pipe(
        Effect.map((NodeHttpClient) => NodeHttpClient.layerUndici)
      )
    )
  )
)

/**
 * {@link layerOrb} when `ORB_API_KEY` is set (and not empty), otherwise {@link layerSimulator}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromEnv: Layer.Layer<Backend | Backfills.Backfills, ConfigError.ConfigError> = Layer.unwrapEffect(
  Effect.map(
    Config.option(Config.string("ORB_API_KEY")),
    (key): Layer.Layer<Backend | Backfills.Backfills, ConfigError.ConfigError> =>
      Option.isSome(key) && key.value.trim().length > 0 ? layerOrb : layerSimulator()
  )
)

/**
 * Prints the backend's notice, if any, as the command's first line (on standard error, so that standard output
 * stays machine-readable with `--json`).
 *
 * @since 0.1.0
 * @category accessors
 */
export const announce = <R>(
  write: (text: string) => Effect.Effect<void, never, R>
): Effect.Effect<void, never, Backend | R> =>
  Effect.flatMap(Backend, (backend) => Option.match(backend.notice, { onNone: () => Effect.void, onSome: write }))
