/**
 * @since 0.1.0
 */

/**
 * Which Orb the commands talk to: the real one, or the in-process simulator.
 *
 * @since 0.1.0
 */
export * as Backend from "./Backend.js"

/**
 * The `orb-backfill` command tree and its runner.
 *
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"

/**
 * The command line's errors and exit codes.
 *
 * @since 0.1.0
 */
export * as CliError from "./CliError.js"

/**
 * `orb-backfill demo`.
 *
 * @since 0.1.0
 */
export * as Demo from "./Demo.js"

/**
 * Durable runs from the command line: the state file, run keys, `runs`, `resume`, `runs cancel`.
 *
 * @since 0.1.0
 */
export * as Durable from "./Durable.js"

/**
 * Standard output and error as a service.
 *
 * @since 0.1.0
 */
export * as Output from "./Output.js"

/**
 * Progress bars and lines.
 *
 * @since 0.1.0
 */
export * as Progress from "./Progress.js"

/**
 * Backfills as tables, fields and JSON.
 *
 * @since 0.1.0
 */
export * as Render from "./Render.js"

/**
 * The `run` workflow: validation pass, then the whole backfill.
 *
 * @since 0.1.0
 */
export * as Workflow from "./Workflow.js"
