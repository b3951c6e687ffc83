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
 * Standard output and error as a service.
 *
 * @since 0.1.0
 */
export * as Output from "./Output.js"
