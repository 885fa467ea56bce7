/**
 * The one place that calls a store. Whatever the store does — call back later, call back synchronously,
 * call back twice, return a promise instead, throw, or never answer — the caller's callback runs exactly once.
 * Each call is also published on a `node:diagnostics_channel` tracing channel (free when nobody subscribes),
 * and each failure is reported, whatever the caller then does with it: a `DEBUG=express-session` line and
 * the `express-session:store:error` channel.
 * @internal
 */

import { debug } from './debug.js'
import { publishStoreError, storeCallChannels, type StoreCallContext } from './diagnostics.js'

/** The store methods this package calls. */
export type StoreMethod = 'get' | 'set' | 'patch' | 'destroy' | 'touch' | 'all' | 'length' | 'clear' | 'sessionsOf' | 'destroyOwner'

/** A Node-style callback. */
export type Callback<T = unknown> = (err: Error | null, value?: T) => void

/**
 * The error a store call fails with when the store has not answered within `storeTimeout` ms:
 * `code` is `'ESTORETIMEOUT'`, `method` the store method, `timeout` the limit in ms.
 */
export class StoreTimeoutError extends Error {
  declare readonly code: 'ESTORETIMEOUT'
  /** The store method that did not answer. */
  declare readonly method: StoreMethod
  /** The `storeTimeout` in force, in ms. */
  declare readonly timeout: number

  constructor(method: StoreMethod, timeout: number) {
    super(`store.${method}() did not answer within ${timeout} ms (storeTimeout)`)
    this.code = 'ESTORETIMEOUT'
    this.method = method
    this.timeout = timeout
  }
}
// on the prototype, like Error's own `name`: not an enumerable field of every instance
Object.defineProperty(StoreTimeoutError.prototype, 'name', { value: 'StoreTimeoutError', writable: true, configurable: true })

type AnyStore = Record<string, unknown>

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
}

/** Turns anything a store rejects or calls back with into an `Error`. */
export function toError(reason: unknown, method: StoreMethod): Error {
  if (reason instanceof Error) return reason
  const err = new Error(`store.${method}() failed: ${String(reason)}`)
  ;(err as Error & { cause?: unknown }).cause = reason
  return err
}


/**
 * Reports a failed store call: a debug line naming the operation, the session ID and the error, and a message
 * on `express-session:store:error`. `get` failing with `ENOENT` is not reported: stores answer "not found"
 * that way, and the middleware treats it as such.
 */
function reportFailure(store: object, method: StoreMethod, sessionId: string | undefined, error: Error, req: object | undefined): void {
  if (method === 'get' && (error as { code?: unknown }).code === 'ENOENT') return
  if (sessionId === undefined) debug(req, 'store.%s failed: %s', method, error.message)
  else debug(req, 'store.%s %s failed: %s', method, sessionId, error.message)
  publishStoreError(method, sessionId, store, error, req)
}

/**
 * Calls `store[method](...args, cb)` and delivers the outcome to `callback` exactly once.
 * `timeout` (ms, 0 for none) fails the call with `ESTORETIMEOUT`; a late answer is then ignored.
 * `req`, the request the call is made for, if any, is named when the call fails.
 */
export function callStore<T>(
  store: object,
  method: StoreMethod,
  args: unknown[],
  timeout: number,
  callback: Callback<T>,
  req?: object,
): void {
  const sessionId = typeof args[0] === 'string' ? args[0] : undefined
  const channels = storeCallChannels[method]
  const trace = channels?.hasSubscribers() === true
    ? { channels, context: { method, sessionId, store, start: performance.now() } as StoreCallContext }
    : undefined

  let settled = false as boolean
  let callbackThrew = false as boolean
  let timer: NodeJS.Timeout | undefined

  const deliver = (error: Error | null, value: unknown): void => {
    try {
      callback(error, value as T)
    } catch (thrown) {
      callbackThrew = true
      throw thrown
    }
  }

  const settle = (err: unknown, value?: unknown): void => {
    if (settled) return
    settled = true
    if (timer !== undefined) clearTimeout(timer)
    // as in 1.x: a falsy error is no error, and any other value is passed on as the store gave it
    const error = err ? (err as Error) : null
    if (error) reportFailure(store, method, sessionId, toError(error, method), req)
    if (trace !== undefined) {
      const { channels: traced, context } = trace
      context.duration = performance.now() - context.start
      if (error) {
        context.error = toError(error, method)
        traced.error.publish(context)
      } else {
        context.result = value
      }
      traced.asyncStart.publish(context)
      try {
        deliver(error, value)
      } finally {
        traced.asyncEnd.publish(context)
      }
      return
    }
    deliver(error, value)
  }

  if (trace !== undefined) trace.channels.start.publish(trace.context)
  try {
    const fn = (store as AnyStore)[method] as (...a: unknown[]) => unknown
    const result = args.length === 1
      ? fn.call(store, args[0], settle)
      : args.length === 2
        ? fn.call(store, args[0], args[1], settle)
        : fn.apply(store, [...args, settle])
    if (isThenable(result)) {
      result.then(
        (value) => settleOutsidePromise(settle, null, value),
        (reason: unknown) => settleOutsidePromise(settle, reason || new Error(`store.${method}() rejected`)),
      )
    }
  } catch (err) {
    // A throw from our own callback (the store called back synchronously) is not the store's failure: it
    // propagates. A store that throws after it has answered has answered: like a second callback, the
    // throw is ignored (rethrowing it would run the request's error handling after its route).
    if (!settled) settle(err || new Error(`store.${method}() threw ${String(err)}`))
    else if (callbackThrew) throw err
  } finally {
    if (trace !== undefined) trace.channels.end.publish(trace.context)
  }

  if (!settled && timeout > 0) {
    timer = setTimeout(settle, timeout, new StoreTimeoutError(method, timeout))
    timer.unref()
  }
}

/** Settles from a promise reaction without turning a throwing callback into an unhandled rejection. */
function settleOutsidePromise(settle: (err: unknown, value?: unknown) => void, err: unknown, value?: unknown): void {
  try {
    settle(err, value)
  } catch (thrown) {
    process.nextTick(() => {
      throw thrown
    })
  }
}
