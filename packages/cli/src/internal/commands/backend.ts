/**
 * What the commands ask of the backend before they start: to be named (Orb or the in-process simulator), and, for
 * the durable runs' commands, to be an Orb that outlives the process.
 */
import * as Effect from "effect/Effect"
import * as Backend from "../../Backend.js"
import * as Output from "../../Output.js"
import { usage } from "./parse.js"

/** Says on standard error which backend the command runs against. */
export const announce = Backend.announce(Output.note)

// Resuming or cancelling sends requests to the backfills of the runs: an in-process simulator has none of them.
export const needsDurableBackend = Effect.flatMap(Backend.Backend, (backend) =>
  backend.kind === "orb"
    ? Effect.void
    : usage(
      "durable runs are against an Orb that outlives this process: set ORB_API_KEY (and ORB_BASE_URL for a " +
        "served simulator) as when the run was started"
    ))
