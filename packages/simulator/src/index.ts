/**
 * @since 0.1.0
 */

/**
 * Orb's backfill and ingest API in memory: a test layer and a loopback server.
 *
 * @since 0.1.0
 */
export * as OrbSimulator from "./OrbSimulator.js"

// `SimulatorServer` is imported from `@effect-orb/simulator/SimulatorServer`, not from here: importing the index must
// not load Node's HTTP server (`OrbSimulator.serve` loads it when used).
