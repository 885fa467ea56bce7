import { EventEmitter } from 'node:events'
import { inherits } from 'node:util'
import { Cookie } from './cookie.js'
import { Session, storeTimeoutOf } from './session.js'
import { callStore } from '../lib/store-call.js'
import type { SessionData } from '../index.js'
import type { DestroyOwnerOptions, OwnedSession, SessionsOfOptions } from './owner.js'

export type { SessionData }
import type { SessionRequest } from '../types.js'

/** Session data as a store holds it: at least a `cookie`, plus whatever the application put in. */
export interface StoredSession {
  cookie: Cookie | Record<string, unknown>
  [key: string]: unknown
}

/**
 * What one request changed in a session, as {@link Store.patch} applies it. Keys are the session's top-level
 * data keys (never `cookie`); a key is changed when its JSON form differs from the one loaded, so a mutated nested
 * object counts.
 */
export interface SessionChanges {
  /** Keys set to a new value, with their values as the session holds them (the store serializes them as `set` would). */
  set: Record<string, unknown>
  /** Keys removed from the session (or set to a value JSON omits, such as `undefined`). */
  unset: string[]
  /** The session's cookie now: the store keeps it and expires the session with it, as `set` and `touch` do. */
  cookie: Cookie | Record<string, unknown>
  /** Whether the cookie differs from the one loaded (its expiry is refreshed either way). */
  cookieChanged: boolean
}

/**
 * The contract of a session store, with the signatures of `@types/express-session` 1.19. `get`, `set` and
 * `destroy` are required; `touch` is used when present; `all`, `length` and `clear` are optional. Methods may
 * call back, or return a promise instead. Callback errors are `any`, as in `@types/express-session`, so that
 * callbacks written against it (`(err) => err.code`) compile.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the error type of @types/express-session 1.19's callbacks, which stores and apps are typed against */
export interface Store extends EventEmitter {
  /** Calls back with the session `sid`, or `null`/`undefined` when there is none. */
  get(sid: string, callback: (err: any, session?: SessionData | null) => void): unknown
  /** Stores `session` under `sid` (insert or update). */
  set(sid: string, session: SessionData, callback?: (err?: any) => void): unknown
  /** Removes the session `sid`; not finding it is not an error. */
  destroy(sid: string, callback?: (err?: any) => void): unknown
  /** Optional: pushes back the expiry of `sid` without rewriting its data. */
  touch?(sid: string, session: SessionData, callback?: (err?: any) => void): unknown
  /**
   * Optional: applies `changes` atomically to the stored session `sid` (set and remove keys, replace the cookie,
   * refresh the expiry) and calls back with whether the session still existed. A patch never recreates a session
   * that is gone: it then changes nothing and calls back `false`. May return a promise of that boolean instead.
   * When a store has it, the middleware saves a modified loaded session as a patch, so that requests of one
   * session running in parallel lose no update and cannot undo a `destroy()`.
   */
  patch?(sid: string, changes: SessionChanges, callback?: (err: any, existed?: boolean) => void): unknown
  /**
   * Optional, with {@link destroyOwner}: the owner index. Calls back with up to `options.limit` live sessions
   * whose data names `owner` under `__sessionOwner` (the `owner` option writes it), in no particular order,
   * without scanning the store. A store without it is searched with `all()`.
   */
  sessionsOf?(owner: string, options: SessionsOfOptions, callback: (err: any, sessions?: OwnedSession[]) => void): unknown
  /**
   * Optional, with {@link sessionsOf}: destroys every session of `owner` except `options.except`, and calls back
   * with how many it destroyed. A destroyed session must not come back through a racing `set`, `patch` or `touch`
   * any more than after `destroy`.
   */
  destroyOwner?(owner: string, options: DestroyOwnerOptions, callback: (err: any, destroyed?: number) => void): unknown
  /** Optional: every stored session, as an array or keyed by session ID. */
  all?(callback: (err: any, obj?: SessionData[] | { [sid: string]: SessionData } | null) => void): unknown
  /** Optional: the number of stored sessions. */
  length?(callback: (err: any, length?: number) => void): unknown
  /** Optional: removes every stored session. */
  clear?(callback?: (err?: any) => void): unknown
  /**
   * Set by the session middleware: creates a new session on `req`. May return a promise (async `genid`).
   * `req` is the request (Express's, Connect's or Node's; `load` passes just `{ sessionID, sessionStore }`).
   */
  generate(req: object): void | Promise<void>
  /** Destroys the session of `req` in the store, then gives `req` a new one. */
  regenerate(req: object, callback: (err?: any) => any): void
  /** Loads the session `sid` as a `Session`; calls back with nothing when there is none. */
  load(sid: string, callback: (err: any, session?: Session & SessionData) => any): void
  /** Builds `req.session` from stored data. */
  createSession(req: object, session: SessionData): Session & SessionData
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** The `Store` constructor: callable with `Store.call(this)` (util.inherits style) and extendable with `class`. */
export interface StoreConstructor {
  new (options?: unknown): Store
  (this: unknown, options?: unknown): void
  prototype: Store
}

function isThenable(value: unknown): value is PromiseLike<void> {
  return typeof (value as PromiseLike<void> | undefined)?.then === 'function'
}

/**
 * Base of all session stores. A plain function constructor inheriting from EventEmitter, because real
 * stores call `Store.call(this)` and set prototypes by hand; its methods depend on no constructor state.
 */
export const Store = function Store(this: EventEmitter) {
  EventEmitter.call(this)
} as unknown as StoreConstructor

inherits(Store, EventEmitter)

Store.prototype.regenerate = function regenerate(this: Store, req: SessionRequest, callback: (err?: unknown) => void): void {
  callStore(this, 'destroy', [req.sessionID], storeTimeoutOf(req), (err) => {
    let pending: void | Promise<void>
    try {
      pending = this.generate(req)
    } catch (generateError) {
      callback(generateError)
      return
    }
    if (isThenable(pending)) pending.then(() => callback(err ?? undefined), callback)
    else callback(err ?? undefined)
  }, req)
}

Store.prototype.load = function load(this: Store, sid: string, callback: (err?: unknown, session?: Session & SessionData) => void): void {
  callStore<StoredSession>(this, 'get', [sid], 0, (err, data) => {
    if (err) return callback(err)
    if (!data) return callback()
    const req = { sessionID: sid, sessionStore: this }
    let session: Session & SessionData
    try {
      // stored data has a plain cookie object, which createSession turns into a Cookie
      session = this.createSession(req, data as unknown as SessionData)
    } catch (createError) {
      return callback(createError)
    }
    callback(null, session)
  })
}

Store.prototype.createSession = function createSession(this: Store, req: SessionRequest, sessionData: SessionData): Session & SessionData {
  const data = sessionData as unknown as StoredSession
  // the store's data is not to be trusted: it may have no cookie, or be no object at all
  const stored = (data as { cookie?: unknown } | null | undefined)?.cookie as Partial<StoredSession['cookie']> | null | undefined
  if (stored === null || typeof stored !== 'object') {
    throw new TypeError('Cannot read property "cookie" of the stored session: the store returned data without a cookie object')
  }
  const expires = stored.expires
  const originalMaxAge = stored.originalMaxAge

  const cookie = new Cookie(stored)
  if (typeof expires === 'string') cookie.expires = new Date(expires)
  // keep the stored lifetime: setting `expires` above recomputed it
  cookie.originalMaxAge = originalMaxAge as number | null
  data.cookie = cookie

  const session = new Session(req, data)
  req.session = session
  return session
}
