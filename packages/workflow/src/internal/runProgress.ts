/**
 * Where the runs a process executes are, as they go, for whoever in the process shows them: one `SubscriptionRef`
 * per run key, set by the workflow at each step and after each ingest request. Nothing of it is journaled: a run
 * resumed elsewhere reports there.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type * as DurableRun from "../DurableRun.js"

export const RunProgresses = Context.GenericTag<DurableRun.RunProgresses>(
  "@effect-orb/workflow/DurableRun/RunProgresses"
)

export const make: Effect.Effect<DurableRun.RunProgresses> = Effect.sync(() => {
  const refs = new Map<string, SubscriptionRef.SubscriptionRef<Option.Option<DurableRun.RunProgress>>>()
  const refOf = (runKey: string) =>
    Effect.suspend(() => {
      const found = refs.get(runKey)
      if (found !== undefined) return Effect.succeed(found)
      const made = Effect.runSync(SubscriptionRef.make(Option.none<DurableRun.RunProgress>()))
      refs.set(runKey, made)
      return Effect.succeed(made)
    })
  return {
    publish: (progress) =>
      Effect.flatMap(refOf(progress.runKey), (ref) => SubscriptionRef.set(ref, Option.some(progress))),
    current: (runKey) => Effect.flatMap(refOf(runKey), SubscriptionRef.get),
    changes: (runKey) =>
      Stream.unwrap(Effect.map(refOf(runKey), (ref) => ref.changes.pipe(Stream.filterMap((progress) => progress))))
  }
})

export const layer: Layer.Layer<DurableRun.RunProgresses> = Layer.effect(RunProgresses, make)

export const changes = (runKey: string): Stream.Stream<DurableRun.RunProgress, never, DurableRun.RunProgresses> =>
  Stream.unwrap(Effect.map(RunProgresses, (progresses) => progresses.changes(runKey)))
