/**
 * Notices of the database driver that are for the code that calls it, not for the operator reading the command's
 * output. `pg` (8.x) warns once per process when a connection is given a query while it is still running one: the
 * cluster's shard locks do so on their one reserved connection when shards move between workers. `pg` 8 queues
 * such queries in order, as before; the warning announces that `pg` 9 will not, and the version is pinned.
 */

/** The start of every notice hidden: pg's "Calling client.query() when the client is already executing a query". */
const hidden = ["Calling client.query() when the client is already executing a query"]

/**
 * Keeps the notices above off the process's standard error; every other warning is emitted as before.
 */
export const hideDriverNotices = (): void => {
  const emitWarning = process.emitWarning
  process.emitWarning = function(this: NodeJS.Process, warning: string | Error, ...rest: Array<any>) {
    const text = typeof warning === "string" ? warning : warning?.message
    if (typeof text === "string" && hidden.some((start) => text.startsWith(start))) return
    return (emitWarning as (...args: Array<any>) => void).call(this, warning, ...rest)
  } as typeof process.emitWarning
}
