/**
 * What the requests to Orb are doing, seen from the HTTP client under `OrbClient`: how many are in flight and
 * since when, and the last answer that was not a success. The progress reporter reads it to say what a run is
 * waiting for when nothing moves (a 429 and its `Retry-After`, a 503 being retried, an answer that is slow to come).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Backend from "../Backend.js"

/**
 * The traffic seen by the wrapped client.
 */
export const Traffic = Context.GenericTag<Backend.Traffic>("@effect-orb/cli/internal/Traffic")

/** `Retry-After` in milliseconds: `retry-after-ms`, or `Retry-After` in seconds or as an HTTP date. */
const retryAfterOf = (headers: Readonly<Record<string, string>>, now: number): number | undefined => {
  const ms = Number(headers["retry-after-ms"])
  if (headers["retry-after-ms"] !== undefined && Number.isFinite(ms) && ms >= 0) return ms
  const value = headers["retry-after"]
  if (value === undefined) return undefined
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000
  const at = Date.parse(value)
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined
}

/**
 * Wraps the `HttpClient` in context and provides the wrapped one with the {@link Traffic} it records.
 */
export const layer: Layer.Layer<HttpClient.HttpClient | Backend.Traffic, never, HttpClient.HttpClient> = Layer
  .effectContext(
    Effect.map(HttpClient.HttpClient, (client) => {
      const inFlight = new Map<number, number>()
      let next = 0
      let state: Omit<Backend.TrafficSnapshot, "inFlight" | "oldestSentAt"> = {
        lastTrouble: undefined,
        lastSuccessAt: undefined
      }
      const traffic: Backend.Traffic = {
        current: Effect.sync(() => {
          let oldest: number | undefined
          for (const at of inFlight.values()) oldest = oldest === undefined ? at : Math.min(oldest, at)
          return { ...state, inFlight: inFlight.size, oldestSentAt: oldest }
        })
      }
      const observed = HttpClient.transform(
        client,
        (effect, request) =>
          Effect.flatMap(Clock.currentTimeMillis, (sentAt) => {
            const id = next++
            inFlight.set(id, sentAt)
            const path = new URL(request.url, "http://orb").pathname
            return effect.pipe(
              Effect.tap((response) =>
                Effect.map(Clock.currentTimeMillis, (now) => {
                  state = response.status >= 200 && response.status < 300
                    ? { ...state, lastSuccessAt: now }
                    : {
                      ...state,
                      lastTrouble: {
                        at: now,
                        status: response.status,
                        retryAfterMillis: retryAfterOf(response.headers, now),
                        method: request.method,
                        path
                      }
                    }
                })
              ),
              Effect.tapError(() =>
                Effect.map(Clock.currentTimeMillis, (now) => {
                  state = {
                    ...state,
                    lastTrouble: {
                      at: now,
                      status: undefined,
                      retryAfterMillis: undefined,
                      method: request.method,
                      path
                    }
                  }
                })
              ),
              Effect.ensuring(Effect.sync(() => inFlight.delete(id)))
            )
          })
      )
      return Context.make(HttpClient.HttpClient, observed).pipe(Context.add(Traffic, traffic))
    })
  )
