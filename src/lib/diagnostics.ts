/**
 * `node:diagnostics_channel` channels. Store calls are traced on `express-session:store:<method>`
 * tracing channels; every failed store call is published on `express-session:store:error`; session lifecycle
 * events are published on `express-session:session:<event>`. Publishing is skipped entirely when nobody
 * subscribes.
 */

import * as diagnostics from 'node:diagnostics_channel'

/** What a store-call tracing channel publishes (the same object for start, end, asyncStart, asyncEnd, error). */
export interface StoreCallContext {
  /** The store method: `get`, `set`, `touch`, `destroy`, ... */
  method: string
  /** The session ID the call is about, when it has one. */
  sessionId: string | undefined
  /** The store called. */
  store: object
  /** `performance.now()` when the call started. */
  start: number
  /** Milliseconds the store took, set before `asyncStart`. */
  duration?: number
  /** The failure, set before `error`. */
  error?: Error
  /** What the store answered, set before `asyncStart` on success. */
  result?: unknown
}

/** What a session lifecycle channel publishes. */
export interface SessionEventMessage {
  /** The session ID concerned (for `regenerated`, the new one). */
  sessionId: string
  /** For `regenerated`: the ID that was replaced. */
  previousSessionId?: string
  /** For `expired`: why (`'absoluteTimeout'` or `'maxAge'`). */
  reason?: string
  /** The request, when the event happened during one. */
  req?: unknown
}

/** What `express-session:store:error` publishes: one failed store call. */
export interface StoreErrorMessage {
  /** The store method: `get`, `set`, `touch`, `destroy`, ... */
  method: string
  /** The session ID the call was about, when it had one. */
  sessionId: string | undefined
  /** The store called. */
  store: object
  /** The failure (`code: 'ESTORETIMEOUT'` for a timeout). */
  error: Error
  /** The request the call was made for, when there was one. */
  req?: unknown
}

interface TracingChannels {
  start: diagnostics.Channel
  end: diagnostics.Channel
  asyncStart: diagnostics.Channel
  asyncEnd: diagnostics.Channel
  error: diagnostics.Channel
  hasSubscribers(): boolean
}

function tracingChannels(name: string): TracingChannels {
  const prefix = `tracing:express-session:store:${name}`
  const channels = {
    start: diagnostics.channel(`${prefix}:start`),
    end: diagnostics.channel(`${prefix}:end`),
    asyncStart: diagnostics.channel(`${prefix}:asyncStart`),
    asyncEnd: diagnostics.channel(`${prefix}:asyncEnd`),
    error: diagnostics.channel(`${prefix}:error`),
  }
  return {
    ...channels,
    hasSubscribers: () =>
      channels.start.hasSubscribers || channels.end.hasSubscribers || channels.asyncStart.hasSubscribers ||
      channels.asyncEnd.hasSubscribers || channels.error.hasSubscribers,
  }
}

/**
 * Tracing channels per store method. They use the naming of `diagnostics_channel.tracingChannel()`, so
 * `diagnostics_channel.tracingChannel('express-session:store:get').subscribe({...})` receives them.
 */
export const storeCallChannels: Record<string, TracingChannels | undefined> = {
  get: tracingChannels('get'),
  set: tracingChannels('set'),
  patch: tracingChannels('patch'),
  touch: tracingChannels('touch'),
  destroy: tracingChannels('destroy'),
  sessionsOf: tracingChannels('sessionsOf'),
  destroyOwner: tracingChannels('destroyOwner'),
}

/**
 * Lifecycle event names, published on `express-session:session:<name>`. `gone`: a save found the session no
 * longer in the store (destroyed or expired meanwhile, e.g. by a logout in a parallel request) and did not
 * recreate it.
 */
export type SessionEvent = 'created' | 'loaded' | 'regenerated' | 'destroyed' | 'expired' | 'gone'

const sessionChannels: Record<SessionEvent, diagnostics.Channel> = {
  created: diagnostics.channel('express-session:session:created'),
  loaded: diagnostics.channel('express-session:session:loaded'),
  regenerated: diagnostics.channel('express-session:session:regenerated'),
  destroyed: diagnostics.channel('express-session:session:destroyed'),
  expired: diagnostics.channel('express-session:session:expired'),
  gone: diagnostics.channel('express-session:session:gone'),
}

/** Publishes a lifecycle event; the message is built only when somebody listens. */
export function publishSessionEvent(
  event: SessionEvent,
  sessionId: string,
  req?: unknown,
  previousSessionId?: string,
  reason?: string,
): void {
  const channel = sessionChannels[event]
  if (!channel.hasSubscribers) return
  const message: SessionEventMessage = { sessionId, req }
  if (previousSessionId !== undefined) message.previousSessionId = previousSessionId
  if (reason !== undefined) message.reason = reason
  channel.publish(message)
}

const storeErrorChannel = diagnostics.channel('express-session:store:error')

/**
 * Publishes a failed store call on `express-session:store:error`; the message is built only when somebody
 * listens. Every call through `callStore` that fails is published there already.
 */
export function publishStoreError(
  method: string,
  sessionId: string | undefined,
  store: object,
  error: Error,
  req?: unknown,
): void {
  if (!storeErrorChannel.hasSubscribers) return
  const message: StoreErrorMessage = { method, sessionId, store, error }
  if (req !== undefined) message.req = req
  storeErrorChannel.publish(message)
}
