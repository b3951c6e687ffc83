/**
 * Scenario 6, the baseline: Node itself, starting and exiting with nothing to import.
 */
const imported = performance.now()
process.stdout.write(`${JSON.stringify({ importedMs: imported, firstRequestMs: imported, id: "" })}\n`)
