// Validates simulator responses (and request bodies) against Orb's OpenAPI 3.1 document (JSON Schema
// 2020-12). `fixtures/backfills.json` is shared/orb-openapi/backfills.json with the paths and components of
// `POST /events/search` and `GET /events/volume` added from the same source document, each unchanged, so the
// tests do not depend on a folder outside the repository.
import addFormatsModule from "ajv-formats"
import { Ajv2020 } from "ajv/dist/2020.js"
import { readFileSync } from "node:fs"

const spec = JSON.parse(readFileSync(new URL("./fixtures/backfills.json", import.meta.url), "utf8"))
const specId = "https://orb.example/openapi.json"

const addFormats: (ajv: Ajv2020) => void = (addFormatsModule as any).default ?? addFormatsModule
const ajv = new Ajv2020({ strict: false, allErrors: true })
addFormats(ajv)
ajv.addSchema({ ...spec, $id: specId })

const validators = new Map<string, ReturnType<typeof ajv.compile>>()
const validatorFor = (ref: string) => {
  let validate = validators.get(ref)
  if (validate === undefined) {
    validate = ajv.compile({ $ref: `${specId}${ref}` })
    validators.set(ref, validate)
  }
  return validate
}

const templates = Object.keys(spec.paths).map((template) => ({
  template,
  pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`)
}))

/** The spec's path template for a request URL (`/v1/...?...`), if any. */
export const templateOf = (url: string): string | undefined => {
  const path = new URL(url, "http://x").pathname.replace(/^\/v1/, "").replace(/\/$/, "")
  return templates.find(({ pattern }) => pattern.test(path))?.template
}

const check = (ref: string, value: unknown, what: string) => {
  const validate = validatorFor(ref)
  if (!validate(value)) {
    throw new Error(`${what} does not match ${ref}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value)}`)
  }
}

/**
 * Checks a response body against the schema the spec gives for its path, method and status. Returns
 * `false` for a status the spec does not document for that operation (the caller decides whether that is
 * acceptable, e.g. an injected 503), and for a path the spec does not have (only 404 is expected there).
 */
export const validateResponse = (method: string, url: string, status: number, body: unknown): boolean => {
  const template = templateOf(url)
  if (template === undefined) {
    check("#/components/schemas/404Error", body, `${method} ${url} (${status})`)
    return status === 404
  }
  const operation = spec.paths[template][method.toLowerCase()]
  const response = operation?.responses?.[String(status)]
  if (response === undefined) {
    if (operation === undefined && status === 404) {
      check("#/components/schemas/404Error", body, `${method} ${url} (${status})`)
      return true
    }
    return false
  }
  check(response.content["application/json"].schema.$ref, body, `${method} ${url} (${status})`)
  return true
}

// Statuses that Orb's document leaves out but that a load balancer or proxy in front of Orb really sends.
const gatewayStatuses = new Set([502, 503, 504])
const orbTypePrefix = "https://docs.withorb.com/reference/error-responses#"

const parseJson = (text: string): { readonly json: true; readonly value: unknown } | { readonly json: false } => {
  try {
    return { json: true, value: JSON.parse(text) }
  } catch {
    return { json: false }
  }
}

/**
 * Checks a whole response as a client would see it: a status the spec documents for the operation must carry
 * JSON (`content-type: application/json`) matching its schema; any other status must be a gateway's (502, 503,
 * 504), which is not Orb's own answer and so must not pass itself off as one of Orb's problem documents (each of
 * Orb's error types has exactly one status, and none of these). Throws on anything else.
 */
export const checkResponse = (
  method: string,
  url: string,
  status: number,
  contentType: string | null | undefined,
  text: string
): void => {
  const what = `${method} ${url} (${status})`
  const parsed = parseJson(text)
  if (gatewayStatuses.has(status) && templateOf(url) !== undefined) {
    const body = parsed.json ? parsed.value : undefined
    if (typeof body === "object" && body !== null && String((body as any).type).startsWith(orbTypePrefix)) {
      throw new Error(`${what}: a gateway's answer dressed as one of Orb's problem documents: ${text}`)
    }
    return
  }
  if (!/^application\/json\b/.test(contentType ?? "")) throw new Error(`${what}: content-type ${contentType}, not JSON`)
  if (!parsed.json) throw new Error(`${what}: the body is not JSON: ${text.slice(0, 200)}`)
  if (!validateResponse(method, url, status, parsed.value)) {
    throw new Error(`${what}: a status the spec does not document`)
  }
}

/** Checks a request body against the spec's request schema for its path and method, if it has one. */
export const validateRequest = (method: string, url: string, body: unknown): void => {
  const template = templateOf(url)
  const operation = template === undefined ? undefined : spec.paths[template][method.toLowerCase()]
  const ref = operation?.requestBody?.content?.["application/json"]?.schema?.$ref
  if (ref !== undefined) check(ref, body, `request ${method} ${url}`)
}
