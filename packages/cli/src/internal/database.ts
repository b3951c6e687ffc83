/**
 * Durable runs on a Postgres database shared by several processes and machines (`--database URL`, or the
 * `ORB_BACKFILL_DATABASE_URL` environment variable), instead of one SQLite state file: the commands that submit,
 * list, follow and cancel runs are clients of the cluster engine, and `orb-backfill worker` processes are its
 * runners. The URL may hold a password: it is shown only with the password hidden (`redact`), and failures of the
 * database are said without it.
 */
import { DurableEngine, DurableRun } from "@effect-orb/workflow"
import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlError from "@effect/sql/SqlError"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as net from "node:net"
import * as os from "node:os"
import * as CliError from "./cliError.js"

/**
 * The environment variable that gives the database when `--database` is not given.
 *
 * @category constants
 */
export const databaseVariable = "ORB_BACKFILL_DATABASE_URL"

/**
 * A Postgres database of durable runs: its URL, secret, and the same URL as it may be shown.
 *
 * @category models
 */
export interface Database {
  readonly url: Redacted.Redacted
  /** The URL with its password (and any password-like parameter) replaced by `***`. */
  readonly shown: string
  /** Whether `--database` gave it (not the environment): the commands printed for later then repeat it. */
  readonly explicit: boolean
}

const secretParameter = /pass|secret|token|key/i

/**
 * A database URL as it may be shown: its password, and parameters such as `password=` or `sslkey=`, as `***`. A
 * text that is no URL is shown without what could be its user and password.
 *
 * @category formatting
 */
export const redact = (url: string): string => {
  const hidden = url.replace(/^([^/@]*\/\/)?[^@/]*@/, (_, scheme: string | undefined) => `${scheme ?? ""}***@`)
    .replace(/([?&][^=&]*(?:pass|secret|token|key)[^=&]*=)[^&]*/gi, "$1***")
  // Without `scheme://`, a URL parser reads `user:password@host` as a scheme and a path.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return hidden
  try {
    const parsed = new URL(url)
    if (parsed.password !== "") parsed.password = "***"
    for (const key of [...parsed.searchParams.keys()]) {
      if (secretParameter.test(key)) parsed.searchParams.set(key, "***")
    }
    return parsed.toString()
  } catch {
    return hidden
  }
}

/** `text` without the URL's secrets (the password, raw and decoded, and the URL itself), for a driver's message. */
const scrub = (database: Database, text: string): string => {
  const url = Redacted.value(database.url)
  let out = text.split(url).join(database.shown)
  try {
    const parsed = new URL(url)
    const secrets = [parsed.password, decodeURIComponent(parsed.password)]
    for (const [key, value] of parsed.searchParams) if (secretParameter.test(key)) secrets.push(value)
    for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join("***")
  } catch {
    // No URL: nothing else to take out.
  }
  return out
}

/**
 * The database cannot be reached, or refused this process (a wrong password, a missing database).
 *
 * @category errors
 */
export class DatabaseUnreachable
  extends Schema.TaggedError<DatabaseUnreachable>("@effect-orb/cli/Database/DatabaseUnreachable")(
    "DatabaseUnreachable",
    {
      /** The URL, its password hidden. */
      database: Schema.String,
      reason: Schema.String
    }
  )
{
  override get message() {
    return `The database ${this.database} cannot be used: ${this.reason}`
  }
}

/**
 * How long the database is given to answer: a connection (the engine's `connectTimeout`: a new one, or a free one of
 * the pool), and a look at it ({@link answered}). A server that never answers (a firewall dropping packets, a hung
 * server) is otherwise waited for without end.
 */
const patience = Duration.seconds(10)

/** What a failure to answer in time says, whichever of the driver and this process saw it first. */
const silence = `no answer within ${Duration.toSeconds(patience)} seconds`

/**
 * A look at the database (the runs, a run's outcome) that fails when it gets no answer within 10 seconds: a query on a
 * connection the server dropped without a word can wait for ever, and a process that follows runs must then say the
 * database does not answer rather than nothing.
 *
 * @category combinators
 */
export const answered = <A, E, R>(look: Effect.Effect<A, E, R>): Effect.Effect<A, E | Error, R> =>
  // Disconnected: a connection's acquisition is not interruptible, and a timeout waits for what it interrupts.
  Effect.timeoutFail(Effect.disconnect(look), {
    duration: patience,
    onTimeout: () => new Error(silence)
  })

/**
 * A call that waits out the database's failures by itself, without a word (the engine's resume of a run takes itself
 * again on any failure until the database answers), waited for to its end: `onSilence` is told once it has not ended
 * within 10 seconds, as a look that gets no answer is ({@link answered}).
 *
 * @category combinators
 */
export const saidWhenSilent = <A, E, R, R2>(
  call: Effect.Effect<A, E, R>,
  onSilence: (silence: Error) => Effect.Effect<void, never, R2>
): Effect.Effect<A, E, R | R2> =>
  // The first to end: the call (the other side never ends, once it has said its word).
  Effect.raceFirst(
    call,
    Effect.sleep(patience).pipe(Effect.zipRight(onSilence(new Error(silence))), Effect.zipRight(Effect.never))
  )

/**
 * Why a database failed, in words and without its secrets: the driver's own message, or its cause's.
 *
 * @category errors
 */
export const unreachable = (database: Database) => (error: unknown): DatabaseUnreachable => {
  const cause = (error as { cause?: unknown }).cause
  const texts = [error, cause].flatMap((e) =>
    e instanceof Error || (typeof e === "object" && e !== null && "message" in e)
      ? [String((e as { message: unknown }).message)]
      : []
  ).filter((m) => m.length > 0)
  // The driver's words for a connection that got no answer in time (`pg`'s, `@effect/sql-pg`'s), said plainly.
  const text =
    texts.some((m) => /timeout exceeded when trying to connect|due to connection timeout|Connection timed out/i.test(m))
      ? silence
      : texts.filter((m, i) => !texts.slice(0, i).some((before) => before.includes(m))).join(": ")
  return new DatabaseUnreachable({
    database: database.shown,
    reason: scrub(database, text.length > 0 ? text : String(error)).replace(/\s+/g, " ").slice(0, 300)
  })
}

/** A database URL from where it was given, checked: a `postgres://` or `postgresql://` URL. */
const parse = (url: string, from: string, explicit: boolean) =>
  /^postgres(ql)?:\/\/./i.test(url)
    ? Effect.succeed<Database>({ url: Redacted.make(url), shown: redact(url), explicit })
    : Effect.fail(
      new CliError.UsageError({
        reason: `${from}: expected a Postgres URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE), got ${
          JSON.stringify(redact(url))
        }`
      })
    )

/**
 * The database a command uses: `--database`, else `ORB_BACKFILL_DATABASE_URL` unless `--state` chose a state file
 * (the flag beats the environment); `None` for the SQLite state file. `--state` and `--database` together are refused.
 *
 * @category state
 */
export const resolve = (
  flags: { readonly state: string | undefined; readonly database: string | undefined }
): Effect.Effect<Option.Option<Database>, CliError.UsageError> =>
  Effect.gen(function*() {
    if (flags.state !== undefined && flags.database !== undefined) {
      return yield* new CliError.UsageError({
        reason: "give only one of --state (a SQLite state file on this machine) and --database (a Postgres " +
          "database shared by several machines)"
      })
    }
    if (flags.database !== undefined) return Option.some(yield* parse(flags.database, "--database", true))
    if (flags.state !== undefined) return Option.none()
    const fromEnvironment = yield* Config.option(Config.redacted(databaseVariable)).pipe(
      Effect.orElseSucceed(() => Option.none<Redacted.Redacted>())
    )
    if (Option.isNone(fromEnvironment) || Redacted.value(fromEnvironment.value).trim().length === 0) {
      return Option.none()
    }
    return Option.some(yield* parse(Redacted.value(fromEnvironment.value).trim(), databaseVariable, false))
  })

/** The flag that repeats the database in a command printed for later (`***` for the password). */
export const flagOf = (database: Database): string => (database.explicit ? ` --database '${database.shown}'` : "")

/**
 * The cluster engine as a client on the database: it submits, polls and cancels runs and runs none (the workers do),
 * and reads where runs are.
 *
 * @category layers
 */
export const client = (database: Database) =>
  DurableEngine.layerPostgres({ postgres: { url: database.url }, clientOnly: true, connectTimeout: patience }).pipe(
    Layer.catchAll((error) => Layer.fail(error._tag === "ConfigError" ? error : unreachable(database)(error)))
  )

/** A host and port given as `HOST:PORT` (the port optional: then a free one), checked. */
export const addressOf = (flag: string, value: string): Effect.Effect<
  { readonly host: string; readonly port: number | undefined },
  CliError.UsageError
> => {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(value.trim())
  const port = match?.[2] === undefined ? undefined : Number(match[2])
  if (match === null || (port !== undefined && !(port > 0 && port < 65_536))) {
    return Effect.fail(
      new CliError.UsageError({
        reason: `${flag}: expected HOST or HOST:PORT (a port from 1 to 65535), got ${JSON.stringify(value)}`
      })
    )
  }
  return Effect.succeed({ host: match[1].replace(/^\[|\]$/g, ""), port })
}

/** A port free on `host` now, for a runner's socket server. */
export const freePort = (host: string) =>
  Effect.async<number, CliError.UsageError>((resume) => {
    const server = net.createServer()
    server.once("error", (error) =>
      resume(Effect.fail(
        new CliError.UsageError({
          reason: `cannot listen on ${host} (${(error as { code?: string }).code ?? error.message}); give ` +
            "--listen HOST:PORT"
        })
      )))
    server.listen(0, host, () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resume(Effect.succeed(port)))
    })
  })

const workerPrefix = "orb-backfill worker "

/**
 * How a worker names itself to Postgres (and so in `runs`): its address and process id, within Postgres's 63
 * characters of `application_name`.
 *
 * @category workers
 */
export const workerName = (address: { readonly host: string; readonly port: number }): string =>
  `${workerPrefix}${address.host}:${address.port} pid ${process.pid}`.slice(0, 63)

/** A runner's name as shown: a worker's address and process id, another runner's application name. */
export const shownRunner = (applicationName: string): string =>
  applicationName.startsWith(workerPrefix) ? applicationName.slice(workerPrefix.length) : applicationName

/** This machine's name, as a worker's default host. */
export const hostname = (): string => os.hostname()

/**
 * The cluster engine as a runner on the database, executing the runs of the shards it holds: `DurableRun.layer` over
 * `DurableEngine.layerPostgres`, named `name` to Postgres.
 *
 * @category layers
 */
export const runner = (
  database: Database,
  options: {
    readonly name: string
    readonly address: DurableEngine.RunnerAddress
    readonly listen: DurableEngine.RunnerAddress
  }
) =>
  DurableRun.layer.pipe(
    Layer.provideMerge(DurableEngine.layerPostgres({
      postgres: { url: database.url },
      applicationName: options.name,
      connectTimeout: patience,
      runnerAddress: options.address,
      listenAddress: options.listen
    })),
    Layer.catchAll((error) =>
      Layer.fail(
        error._tag === "ConfigError" ? error : unreachable(database)(error)
      )
    )
  )

/**
 * Which runner holds each run now (by execution id, its Postgres `application_name`): the holder of the advisory
 * lock of the run's shard (`@effect/cluster` locks shard `default:N` as `1000000 + N`). A run whose shard no runner
 * holds is absent: it waits for a runner.
 *
 * @category accessors
 */
export const placements: Effect.Effect<ReadonlyMap<string, string>, SqlError.SqlError, SqlClient.SqlClient> = Effect
  .gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ readonly execution_id: string; readonly runner: string }>`
      SELECT m.entity_id AS execution_id, a.application_name AS runner
      FROM cluster_messages m
      JOIN pg_locks l ON l.locktype = 'advisory' AND l.granted
        AND l.objid::bigint = 1000000 + CAST(split_part(m.shard_id, ':', 2) AS bigint)
      JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE m.entity_type = ${`Workflow/${DurableRun.BackfillRun.name}`} AND m.tag = 'run'
        AND split_part(m.shard_id, ':', 1) = 'default'`
    return new Map(rows.map((row) => [row.execution_id, row.runner]))
  })

/**
 * The workers up on the database (runners whose heartbeat is recent), or `undefined` when the database does not say
 * (it fails, or gives no answer in time): then nobody is told that no worker is up.
 *
 * @category accessors
 */
export const runnersUp: Effect.Effect<number | undefined, never, SqlClient.SqlClient> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql<{ readonly n: number }>`
    SELECT count(*)::int AS n FROM cluster_runners WHERE healthy AND last_heartbeat > NOW() - INTERVAL '10 seconds'`
  return rows[0]?.n ?? 0
}).pipe(answered, Effect.orElseSucceed(() => undefined))
