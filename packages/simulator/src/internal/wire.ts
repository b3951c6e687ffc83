/**
 * A request and its answer as every endpoint of the simulator sees them: the request with its body parsed once,
 * JSON answers, Orb's RFC 7807 problem documents and the validation error that lists what is wrong. The endpoints
 * (`backfillsHandler.ts`, `ingestHandler.ts`, `eventsHandler.ts`, `controlHandler.ts`) answer with these, and
 * `router.ts` picks the endpoint.
 */
import { OrbError } from "@effect-orb/backfills"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import type * as State from "./state.js"

export interface Request {
  readonly method: string
  /** The path with its query string (a full URL is accepted too; its host is ignored). */
  readonly url: string
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: Body
}

/**
 * A request body, parsed as JSON on first use and kept: an ingest body is read both by the events quota
 * (how many events) and by the handler, which need not parse its 500 events (about 100 kB) twice.
 */
export class Body {
  private parsed: Either.Either<unknown, string> | undefined
  constructor(readonly text: string) {}

  /** The parsed body, or why it is not JSON. */
  json(): Either.Either<unknown, string> {
    if (this.parsed === undefined) this.parsed = parseJson(this.text)
    return this.parsed
  }
}

export type Response = State.StoredResponse

const jsonHeaders = { "content-type": "application/json" }

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response => ({
  status,
  headers: { ...jsonHeaders, ...headers },
  body: JSON.stringify(body)
})

/** An RFC 7807 problem document of one of Orb's error types. */
export const problem = (
  type: OrbError.ErrorType,
  title: string,
  detail?: string,
  extra: { readonly validation_errors?: ReadonlyArray<unknown>; readonly status?: number } = {}
): Response => {
  const status = extra.status ?? OrbError.errorTypes[type].status
  const body: Record<string, unknown> = { type: OrbError.typeUri(type), status, title }
  if (detail !== undefined) body.detail = detail
  if (extra.validation_errors !== undefined) body.validation_errors = extra.validation_errors
  else if (type === "RequestValidationError") body.validation_errors = []
  return json(status, body)
}

export const validationError = (detail: string, errors: ReadonlyArray<unknown>): Response =>
  problem("RequestValidationError", "Request validation failed", detail, { validation_errors: errors })

/** Schema's issues as the `validation_errors` of a problem: `path: message`. */
export const formatIssues = (error: ParseResult.ParseError): Array<string> =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) =>
    issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`
  )

const parseJson = (text: string): Either.Either<unknown, string> => {
  try {
    return Either.right(JSON.parse(text))
  } catch {
    return Either.left(text.length === 0 ? "the body is empty" : "the body is not valid JSON")
  }
}

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)
