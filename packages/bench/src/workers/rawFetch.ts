/**
 * Node's global `fetch` and `JSON.parse`, nothing else.
 */
import { main, rawClient } from "./Worker.js"

main(rawClient(async (method, url, headers, body) => {
  const response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) })
  return { status: response.status, text: await response.text() }
}))
