/**
 * Ours over `NodeHttpClient.layerUndici`.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { run } from "./EffectClient.js"

run(NodeHttpClient.layerUndici)
