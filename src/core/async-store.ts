/**
 * `AsyncStore`: a base for store authors who write `async get/set/destroy` (and optionally `touch`, `all`,
 * `length`, `clear`) once. Every instance answers both ways: with a trailing Node-style callback, as the
 * session middleware and 1.x-era code call stores, or as a promise when no callback is given.
 */

import type { DestroyOwnerOptions, OwnedSession, SessionsOfOptions } from './owner.js'
import { Store, type SessionChanges } from './store.js'
import { toError, type StoreMethod } from '../lib/store-call.js'
import type { SessionData } from '../index.js'

/** A Node-style callback of a store method: an error, or `null` and the result. */
export type AsyncStoreCallback<T = void> = (err: Error | null, result?: T) => void

/** The store methods {@link AsyncStore} makes callable both ways, with the number of arguments before the callback. */
const DUAL_METHODS: ReadonlyArray<readonly [StoreMethod, number]> = [
  ['get', 1],
  ['set', 2],
  ['destroy', 1],
  ['touch', 2],
  ['patch', 2],
  ['sessionsOf', 2],
  ['destroyOwner', 2],
  ['all', 0],
  ['length', 0],
  ['clear', 0],
]

function noop(): void {}

type AsyncMethod = (this: object, ...args: unknown[]) => unknown

/** Methods whose callback receives a result (`cb(null, result)`); the others call back with no arguments. */
const RETURNS_VALUE: ReadonlySet<StoreMethod> = new Set<StoreMethod>(['get', 'patch', 'sessionsOf', 'destroyOwner', 'all', 'length'])

/**
 * Wraps `impl` (which returns a promise or a value, or throws) so that it also accepts a trailing callback.
 * With a callback: returns nothing and calls it exactly once, never synchronously, and never inside a promise
 * reaction (a throwing callback is an uncaught exception, as with any callback API, not an unhandled rejection).
 * Without one: returns the promise.
 */
function dual(method: StoreMethod, arity: number, impl: AsyncMethod): AsyncMethod {
  const wrapped = function (this: object, ...args: unknown[]): unknown {
    const callback = args.length > arity && typeof args[arity] === 'function'
      ? args[arity] as (err?: Error | null, result?: unknown) => void
      : undefined
    // an explicit callback slot left empty (`store.destroy(sid, undefined)`) means nobody listens, as in 1.x
    const unobserved = callback === undefined && args.length > arity
    if (args.length > arity) args.length = arity

    let pending: Promise<unknown>
    try {
      pending = Promise.resolve(impl.apply(this, args))
    } catch (err) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the store's own throw, passed on as it is
      pending = Promise.reject(err)
    }
    if (callback === undefined) {
      if (unobserved) pending.catch(noop)
      return pending
    }

    pending.then(
      (result) => {
        process.nextTick(() => (RETURNS_VALUE.has(method) ? callback(null, result) : callback()))
      },
      (reason: unknown) => {
        const err = toError(reason || new Error(`store.${method}() rejected`), method)
        process.nextTick(() => callback(err))
      },
    )
    return undefined
  }
  Object.defineProperty(wrapped, 'name', { value: method })
  return wrapped
}

/**
 * Base class for session stores written with `async` methods. Implement `get`, `set` and `destroy` (and
 * optionally `touch`, `all`, `length`, `clear`) as methods returning promises; each instance then accepts
 * both calling conventions:
 *
 * - `store.get(sid, (err, session) => ...)`: the callback is called once, asynchronously; a rejection goes
 *   to the callback (`err`), never to an unhandled rejection;
 * - `await store.get(sid)`: the promise your method returned (a synchronous throw becomes a rejection).
 *
 * The methods are wrapped when the instance is constructed, so declare them as methods (not as arrow-function
 * fields). `touch` is optional: the middleware uses it only when your class defines it. `Data` is the session
 * data the store holds; it defaults to the (augmentable) {@link SessionData}. Typed as `AsyncStore<Data>` or
 * `Store`, an instance shows both calling conventions; typed as your subclass, it shows the methods you wrote.
 *
 * @example
 * ```ts
 * import session from 'express-session'
 *
 * class MapStore extends session.AsyncStore {
 *   private readonly data = new Map<string, string>()
 *   async get(sid: string) {
 *     const json = this.data.get(sid)
 *     return json === undefined ? null : JSON.parse(json)
 *   }
 *   async set(sid: string, sess: session.SessionData) {
 *     this.data.set(sid, JSON.stringify(sess))
 *   }
 *   async destroy(sid: string) {
 *     this.data.delete(sid)
 *   }
 * }
 *
 * app.use(session({ store: new MapStore(), secret: 'keyboard cat', resave: false, saveUninitialized: false }))
 * ```
 */
export abstract class AsyncStore<Data extends SessionData = SessionData> extends Store {
  /** Wraps the subclass's store methods so that they accept a trailing callback too. */
  constructor(options?: unknown) {
    super(options)
    const self = this as unknown as Record<string, unknown>
    for (const [method, arity] of DUAL_METHODS) {
      const impl = self[method]
      if (typeof impl !== 'function') continue
      Object.defineProperty(this, method, {
        value: dual(method, arity, impl as AsyncMethod),
        writable: true,
        configurable: true,
        enumerable: false,
      })
    }
  }

  /** The stored session `sid`, or `null`/`undefined` when there is none. */
  abstract override get(sid: string): Promise<Data | null | undefined>
  abstract override get(sid: string, callback: AsyncStoreCallback<Data | null | undefined>): void

  /** Stores `session` under `sid` (insert or update). */
  abstract override set(sid: string, session: Data): Promise<void>
  abstract override set(sid: string, session: Data, callback?: AsyncStoreCallback): void

  /** Removes the session `sid`; not finding it is not an error. */
  abstract override destroy(sid: string): Promise<void>
  abstract override destroy(sid: string, callback?: AsyncStoreCallback): void

  /** Optional: pushes back the expiry of `sid` without rewriting its data (used with `resave: false`). */
  override touch?(sid: string, session: Data): Promise<void>
  override touch?(sid: string, session: Data, callback?: AsyncStoreCallback): void

  /**
   * Optional: applies `changes` atomically to the stored session `sid` and resolves whether it still existed
   * (a patch never recreates a session that is gone). See {@link Store.patch}.
   */
  override patch?(sid: string, changes: SessionChanges): Promise<boolean>
  override patch?(sid: string, changes: SessionChanges, callback: AsyncStoreCallback<boolean>): void

  /** Optional, with `destroyOwner`: up to `options.limit` live sessions of `owner` (see {@link Store.sessionsOf}). */
  override sessionsOf?(owner: string, options: SessionsOfOptions): Promise<OwnedSession[]>
  override sessionsOf?(owner: string, options: SessionsOfOptions, callback: AsyncStoreCallback<OwnedSession[]>): void

  /** Optional, with `sessionsOf`: destroys the sessions of `owner` but `options.except`; resolves how many. */
  override destroyOwner?(owner: string, options: DestroyOwnerOptions): Promise<number>
  override destroyOwner?(owner: string, options: DestroyOwnerOptions, callback: AsyncStoreCallback<number>): void

  /** Optional: every stored session, keyed by session ID. */
  override all?(): Promise<Record<string, Data> | Data[]>
  override all?(callback: AsyncStoreCallback<Record<string, Data> | Data[]>): void

  /** Optional: the number of stored sessions. */
  override length?(): Promise<number>
  override length?(callback: AsyncStoreCallback<number>): void

  /** Optional: removes every stored session. */
  override clear?(): Promise<void>
  override clear?(callback?: AsyncStoreCallback): void
}
