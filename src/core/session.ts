/**
 * `Session`: the session of one request (`req.session`), and its data JSON, the form change detection compares.
 */

import type { Cookie } from './cookie.js'
import { debug } from '../lib/debug.js'
import { publishSessionEvent } from '../lib/diagnostics.js'
import { callStore } from '../lib/store-call.js'
import { destroyOwnerSessions, listOwnerSessions } from './owner-index.js'
import {
  byRecency, DEFAULT_OWNER_LIST_LIMIT, describeOwnSession, RESERVED_KEYS,
  type ListOwnSessionsOptions, type OwnSession,
} from './owner.js'
import type { Store } from './store.js'
import type { SessionData } from '../index.js'
import type { SessionRequest } from '../types.js'

/** Callback of the Session methods: called with the store's error, if any. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the callback type of @types/express-session 1.19
export type SessionCallback = (err?: any) => void

/** Options of {@link Session.regenerate}. */
export interface RegenerateOptions {
  /** Copy the session's data to the new session (the cookie settings are renewed). Default `false`. */
  keepData?: boolean
}

/** Key under which `absoluteTimeout` records a session's creation time (ms since the epoch). */
export const CREATED_AT_KEY = '__sessionCreatedAt'

/**
 * What the session middleware tracks about the request a session belongs to. A session's saves and destroys
 * go through it, so that it knows what the store holds and can write only the changes.
 * @internal
 */
export interface RequestTracker {
  /** The request. */
  readonly req: object
  /** The `storeTimeout` option (ms, 0 for none). */
  readonly storeTimeout: number
  /** The data JSON of `sess` in the form this request compares (throws for data JSON cannot represent). */
  dataJson(sess: Session): string
  /** Writes `sess`, whose data JSON is `json`, to `store` (whole, or its changes), then calls back. */
  save(sess: Session, json: string, store: Store, done: SessionCallback): void
  /** Destroys the session `id` in `store`, then calls back. */
  destroy(id: string, store: Store, done: SessionCallback): void
  /** Destroys another session, `id`, in `store` (the request's own session stays), then calls back. */
  destroyOther(id: string, store: Store, done: SessionCallback): void
  /** The owner the `owner` option names for `sess`; throws when there is no such option or it fails. */
  ownerOf(sess: Session): string | undefined
}

/** Where the tracker hangs: a non-enumerable symbol-keyed property of the request's sessions. */
const kTracker: unique symbol = Symbol('express-session.request-tracker')

type TrackerHolder = { [kTracker]?: RequestTracker }

/**
 * Records that `sess` belongs to the request `tracker` tracks (once: a session's request never changes).
 * @internal
 */
export function attachTracker(sess: object, tracker: RequestTracker): void {
  if ((sess as TrackerHolder)[kTracker] === undefined) Object.defineProperty(sess, kTracker, { value: tracker })
}

/**
 * The tracker of the request `req`, found through its current session; `undefined` when it has none.
 * @internal
 */
export function trackerOf(req: object | undefined): RequestTracker | undefined {
  const sess = (req as { session?: object | null } | undefined)?.session
  const tracker = sess == null ? undefined : (sess as TrackerHolder)[kTracker]
  return tracker !== undefined && tracker.req === req ? tracker : undefined
}

/** The tracker of the request of `sess`: the one it joined, else its request's current one. */
function trackerOfSession(sess: Session): RequestTracker | undefined {
  return (sess as TrackerHolder)[kTracker] ?? trackerOf(sess.req)
}

/** The `storeTimeout` in force for a request, 0 for none. */
export function storeTimeoutOf(req: object): number {
  return trackerOf(req)?.storeTimeout ?? 0
}

/**
 * The data JSON of a session: `JSON.stringify` of its data without its top-level `cookie`. It is what change
 * detection compares. The cookie is set aside for the duration of the call (`JSON.stringify` omits
 * `undefined` members).
 */
export function sessionDataJson(sess: Session): string {
  const cookie = sess.cookie as Cookie | undefined
  if (cookie === undefined) return JSON.stringify(sess)
  ;(sess as { cookie: Cookie | undefined }).cookie = undefined
  try {
    return JSON.stringify(sess)
  } finally {
    sess.cookie = cookie
  }
}

function noop(): void {}

/** The request members a session works with, as the middleware (or the app) attached them. */
interface SessionHost {
  session?: Session | null
  sessionStore?: Store
}

/** The request of `sess` and its store; throws when no store is attached (the middleware did not run). */
function hostOf(sess: Session): { req: SessionHost; store: Store } {
  const req = sess.req as SessionHost
  const store = req.sessionStore
  if (store === undefined) throw new TypeError('req.sessionStore is not set: the session middleware did not run for this request')
  return { req, store }
}

/* eslint-disable @typescript-eslint/no-explicit-any -- callbacks typed as @types/express-session 1.19 types them */
/**
 * Runs a store operation for a Session method: with a callback, as in 1.x (returns the session for
 * chaining); without one, returns a promise. Nobody awaiting it never makes an unhandled rejection.
 */
function complete<T, R = void>(
  self: T, callback: ((err?: any, result?: R) => void) | undefined, run: (done: (err?: unknown, result?: R) => void) => void,
): T | Promise<R> {
  if (typeof callback === 'function') {
    run(callback)
    return self
  }
  const promise = new Promise<R>((resolve, reject) => {
    run((err, result) => {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the store's error, passed on as it gave it
      if (err) reject(err)
      else resolve(result as R)
    })
  })
  promise.catch(noop)
  return promise
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** Callback of {@link Session.listOwnSessions}. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the error type of the other session callbacks
export type OwnSessionsCallback = (err: any, sessions?: OwnSession[]) => void
/** Callback of {@link Session.destroyOtherSessions}: the number of sessions destroyed. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the error type of the other session callbacks
export type DestroyedCallback = (err: any, destroyed?: number) => void

/**
 * The owner of `sess` under the `owner` option. When there is none, answers `done` for the caller (with `none` for a
 * session without an owner, with the error when the owner cannot be known) and returns `undefined`.
 */
function ownerOrAnswer<R>(sess: Session, tracker: RequestTracker | undefined, done: (err?: unknown, result?: R) => void, none: R): string | undefined {
  let owner: string | undefined
  try {
    if (tracker === undefined) throw new TypeError('this session was not made by the session middleware, which alone knows its owner')
    owner = tracker.ownerOf(sess)
  } catch (err) {
    done(err)
    return undefined
  }
  if (owner === undefined) done(null, none)
  return owner
}

/**
 * The session of one request (`req.session`). Its own enumerable properties are the session data;
 * `id` and `req` are read-only and not enumerable, and the methods live on the prototype.
 */
export class Session {
  /** The session ID (same as `req.sessionID`); read-only. */
  declare readonly id: string
  /** The request this session belongs to; read-only, not serialized. */
  declare readonly req: Express.Request
  /** The session ID cookie. */
  declare cookie: Cookie
  /** @internal Creation time recorded for `absoluteTimeout` (see {@link CREATED_AT_KEY}). */
  declare __sessionCreatedAt?: number

  /** Creates the session of `req` (with `req.sessionID` as its ID), copying `data` except reserved keys. */
  constructor(req: object, data?: object | null) {
    Object.defineProperty(this, 'req', { value: req })
    Object.defineProperty(this, 'id', { value: (req as SessionRequest).sessionID })
    // a session replacing the request's current one (regenerate, reload, or made by the app) joins its request
    const tracker = trackerOf(req)
    if (tracker !== undefined) attachTracker(this, tracker)

    if (typeof data === 'object' && data !== null) {
      // keys that collide with members (id, req, methods, Object.prototype) are dropped
      for (const prop in data) {
        if (!(prop in this)) (this as Record<string, unknown>)[prop] = (data as Record<string, unknown>)[prop]
      }
    }
  }

  /** Resets the cookie's `maxAge` to its original value, so it does not expire while in use. */
  touch(): this {
    return this.resetMaxAge()
  }

  /** Resets `cookie.maxAge` to `cookie.originalMaxAge`. */
  resetMaxAge(): this {
    this.cookie.maxAge = this.cookie.originalMaxAge
    return this
  }

  /** Writes the session to the store. Without a callback, returns a promise. */
  save(callback: SessionCallback): this
  save(): Promise<void>
  save(callback?: SessionCallback): this | Promise<void> {
    const tracker = trackerOfSession(this)
    debug(this.req, 'saving %s', this.id)
    // serialized first: data JSON cannot represent throws here, as in 1.x
    const json = tracker?.dataJson(this)
    return complete(this, callback, (done) => {
      const { store } = hostOf(this)
      if (tracker !== undefined && json !== undefined) tracker.save(this, json, store, done)
      else callStore(store, 'set', [this.id, this], 0, done, this.req)
    })
  }

  /** Replaces `req.session` with the session as the store has it now. Without a callback, returns a promise. */
  reload(callback: SessionCallback): this
  reload(): Promise<void>
  reload(callback?: SessionCallback): this | Promise<void> {
    const tracker = trackerOfSession(this)
    debug(this.req, 'reloading %s', this.id)
    return complete(this, callback, (done) => {
      const { req, store } = hostOf(this)
      callStore<SessionData>(store, 'get', [this.id], tracker?.storeTimeout ?? 0, (err, data) => {
        if (err) return done(err)
        if (!data) {
          debug(req, 'session %s not found in the store on reload', this.id)
          return done(new Error('failed to load session'))
        }
        try {
          const reloaded = store.createSession(req, data) as unknown
          if (tracker !== undefined && reloaded !== null && typeof reloaded === 'object') attachTracker(reloaded, tracker)
        } catch (createError) {
          return done(createError)
        }
        done()
      }, req)
    })
  }

  /** Removes the session from the store and unsets `req.session`. Without a callback, returns a promise. */
  destroy(callback: SessionCallback): this
  destroy(): Promise<void>
  destroy(callback?: SessionCallback): this | Promise<void> {
    const req = this.req as SessionHost
    const tracker = trackerOfSession(this)
    const id = this.id
    delete req.session
    debug(req, 'destroying %s', id)
    return complete(this, callback, (done) => {
      const { store } = hostOf(this)
      const destroyed = (err?: unknown): void => {
        if (!err) {
          debug(req, 'destroyed %s', id)
          publishSessionEvent('destroyed', id, req)
        }
        done(err)
      }
      if (tracker !== undefined) tracker.destroy(id, store, destroyed)
      else callStore(store, 'destroy', [id], 0, destroyed, req)
    })
  }

  /**
   * Lists the live sessions of this session's owner (the `owner` option), this one included and first, then the
   * most recently seen; at most `limit` (default 1000). Empty when the session has no owner. Without a callback,
   * returns a promise. A store without an owner index is scanned with `all()`.
   */
  listOwnSessions(callback: OwnSessionsCallback): this
  listOwnSessions(options: ListOwnSessionsOptions, callback: OwnSessionsCallback): this
  listOwnSessions(options?: ListOwnSessionsOptions): Promise<OwnSession[]>
  listOwnSessions(
    optionsOrCallback?: ListOwnSessionsOptions | OwnSessionsCallback,
    maybeCallback?: OwnSessionsCallback,
  ): this | Promise<OwnSession[]> {
    const callback = typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback
    const limit = (optionsOrCallback as ListOwnSessionsOptions | null | undefined)?.limit ?? DEFAULT_OWNER_LIST_LIMIT
    const tracker = trackerOfSession(this)
    return complete<this, OwnSession[]>(this, callback, (done) => {
      if (!Number.isInteger(limit) || limit < 1) {
        done(new TypeError(`listOwnSessions() limit must be a positive integer (got ${String(limit)})`))
        return
      }
      const owner = ownerOrAnswer(this, tracker, done, [])
      if (owner === undefined) return
      const { req, store } = hostOf(this)
      listOwnerSessions(store, owner, limit, tracker?.storeTimeout ?? 0, req, (err, owned) => {
        if (err) return done(err)
        const listed = (owned ?? []).filter((entry) => entry.id !== this.id).map((entry) => describeOwnSession(entry.id, entry.session, false))
        listed.sort(byRecency)
        let current: OwnSession
        try {
          current = describeCurrent(this)
        } catch (describeError) {
          return done(describeError)
        }
        done(null, [current, ...listed].slice(0, limit))
      })
    })
  }

  /**
   * Destroys every other session of this session's owner (the `owner` option): "log out everywhere else".
   * Calls back with how many were destroyed (0 when the session has no owner). Without a callback, returns a
   * promise. A store without an owner index is scanned with `all()`.
   */
  destroyOtherSessions(callback: DestroyedCallback): this
  destroyOtherSessions(): Promise<number>
  destroyOtherSessions(callback?: DestroyedCallback): this | Promise<number> {
    const tracker = trackerOfSession(this)
    return complete<this, number>(this, callback, (done) => {
      const owner = ownerOrAnswer(this, tracker, done, 0)
      if (owner === undefined) return
      const { req, store } = hostOf(this)
      debug(req, 'destroying the other sessions of the owner of %s', this.id)
      const destroyOne = (id: string, destroyed: SessionCallback): void => {
        if (tracker === undefined) callStore(store, 'destroy', [id], 0, destroyed, req)
        else tracker.destroyOther(id, store, destroyed)
      }
      destroyOwnerSessions(store, owner, this.id, tracker?.storeTimeout ?? 0, req, destroyOne, (err, destroyed) => {
        if (!err) debug(req, 'destroyed %d other sessions', destroyed)
        done(err, destroyed)
      })
    })
  }

  /**
   * Replaces the session with a new one under a new ID, destroying the old one in the store.
   * With `{ keepData: true }` the data moves to the new session. Without a callback, returns a promise.
   */
  regenerate(callback: SessionCallback): this
  regenerate(options: RegenerateOptions, callback: SessionCallback): this
  regenerate(options?: RegenerateOptions): Promise<void>
  regenerate(
    optionsOrCallback?: RegenerateOptions | SessionCallback,
    maybeCallback?: SessionCallback,
  ): this | Promise<void> {
    const callback = typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback
    const keepData = (optionsOrCallback as RegenerateOptions | null | undefined)?.keepData === true
    const previousId = this.id
    const kept = keepData ? dataOf(this) : undefined
    debug(this.req, keepData ? 'regenerating %s, keeping its data' : 'regenerating %s', previousId)
    return complete(this, callback, (done) => {
      const { req, store } = hostOf(this)
      store.regenerate(req, (err?: unknown) => {
        const fresh = req.session
        if (fresh) {
          if (kept !== undefined) Object.assign(fresh, kept)
          debug(req, 'regenerated %s as %s', previousId, fresh.id)
          publishSessionEvent('regenerated', fresh.id, req, previousId)
        }
        done(err)
      })
    })
  }
}

/** The session's own data, without its cookie and bookkeeping keys. */
function dataOf(sess: Session): Record<string, unknown> {
  const data: Record<string, unknown> = {}
  for (const key of Object.keys(sess)) {
    if (key !== 'cookie' && !RESERVED_KEYS.has(key)) data[key] = (sess as unknown as Record<string, unknown>)[key]
  }
  return data
}

/** A listing entry for the live session `sess`, with its data as this request has it. */
function describeCurrent(sess: Session): OwnSession {
  const data = JSON.parse(JSON.stringify(sess)) as SessionData
  return describeOwnSession(sess.id, data, true)
}
