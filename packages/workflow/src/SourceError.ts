/**
 * The error of a run's source, in a module of its own so that the readers (`RunSource`'s files and named sources)
 * import it without importing the public module that declares them. `RunSource.SourceError` is the same class.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * The source could not be read, or is not the one the run was submitted with.
 *
 * @since 0.1.0
 * @category errors
 */
export class SourceError extends Schema.TaggedError<SourceError>("@effect-orb/workflow/SourceError")("SourceError", {
  /** A file's absolute path, or `source "name"` for a named source. */
  source: Schema.String,
  /** `changed`: it is not the one the run was submitted with; `unreadable`: it cannot be read (or is not registered). */
  reason: Schema.Literal("changed", "unreadable"),
  detail: Schema.String
}) {
  override get message() {
    return this.reason === "changed"
      ? `${this.source} changed since the run was submitted (${this.detail}); nothing of it was sent`
      : `${this.source} cannot be read: ${this.detail}`
  }
}
