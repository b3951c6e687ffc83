/**
 * The floor: undici's `request` and `JSON.parse`, nothing else (no retries, no validation).
 */
import { request } from "undici"
import { main, rawClient } from "./Worker.js"

main(rawClient(async (method, url, headers, body) => {
  const response = await request(url, { method, headers, ...(body === undefined ? {} : { body }) })
  return { status: response.statusCode, text: await response.body.text() }
}))
