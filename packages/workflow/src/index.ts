/**
 * Durable Orb backfill runs: a run that survives a crash or a deploy and resumes exactly once.
 *
 * @since 0.1.0
 */

/**
 * @since 0.2.0
 */
export * as AccountBudget from "./AccountBudget.js"

/**
 * @since 0.1.0
 */
export * as DurableEngine from "./DurableEngine.js"

/**
 * @since 0.1.0
 */
export * as DurableRun from "./DurableRun.js"

/**
 * @since 0.1.0
 */
export * as RunSource from "./RunSource.js"

/**
 * @since 0.1.0
 */
export * as EventFile from "./EventFile.js"

/**
 * @since 0.2.0
 */
export * as RunModels from "./RunModels.js"
