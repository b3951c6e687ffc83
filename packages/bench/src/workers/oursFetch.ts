/**
 * Ours over `FetchHttpClient` (Node's global `fetch`).
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { run } from "./EffectClient.js"

run(FetchHttpClient.layer)
