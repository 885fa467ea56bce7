/**
 * Per-request state and the pure decisions made from it: whether to set the cookie, save, touch or
 * destroy. One small object per request instead of a dozen closures.
 * @internal
 */

import { keyedDataJson, type KeyedJson } from '../core/changes.js'
import { expiryTime, type CookieData } from '../core/cookie.js'
import { sessionDataJson, trackerOf, type RequestTracker, type Session, type SessionCallback } from '../core/session.js'
import { OWNER_KEY, ownerFrom } from '../core/owner.js'
import type { Store } from '../core/store.js'
import type { Secrets } from '../lib/signing.js'
import type { MiddlewareConfig } from './options.js'
import { destroySession, saveModeOf, saveSession } from './save.js'
import type { SessionRequest, AnyResponse, NextFunction, CookieOptions } from '../types.js'

/** What the middleware remembers about one request. */
export class RequestState implements RequestTracker {
  /** The session ID the client sent (validly signed), in the cookie or the `header`, if any. */
  cookieId: string | undefined = undefined
  /** The signed value that carried {@link cookieId}, when the first secret signed it: the value to send it back with. */
  receivedSigned: string | undefined = undefined
  /** ID of the session as loaded or created. */
  originalId: string | undefined = undefined
  /** Data JSON of the session as loaded or created. */
  originalJson: string | undefined = undefined
  /** ID and data JSON last written to the store during this request (or as loaded, with `resave: false`). */
  savedId: string | undefined = undefined
  savedJson: string | undefined = undefined
  /** Whether `touch()` already ran for this request. */
  touched = false
  /** Whether the Set-Cookie decision was already made. */
  headersHandled = false
  /** Whether `res.end()` was called. */
  ended = false
  /** Whether the session handling is off for this request (store failed with `storeErrors: 'continue'`, or its data could not be loaded). */
  disabled = false
  /** The stored data key by key (see {@link savedJson}), when saves may write only the changes. */
  savedKeys: KeyedJson | undefined = undefined
  /** The last data JSON computed key by key, with its keys. */
  private lastKeyed: { json: string; keys: KeyedJson } | undefined = undefined
  /** Whether saves of a loaded session may write only its changes: data JSON is then computed key by key. */
  private readonly keyed: boolean
  /** The cookie as the store holds it (its stored form as loaded, or its data as last saved), when known. */
  savedCookie: unknown = undefined
  /** Whether a save found the session gone from the store (destroyed or expired meanwhile): no cookie for it. */
  gone = false
  /** The ID destroyed through `destroy()` during this request. */
  destroyedId: string | undefined = undefined
  /** The session's data JSON, computed once within one decision point (see {@link currentJson}). */
  snapshot: string | undefined = undefined
  /** The session's `Set-Cookie` value this response carries, if any. */
  sessionCookie: string | undefined = undefined
  /** The session ID header value (the `header` option) this response carries, if any. */
  sessionHeader: string | undefined = undefined
  /** Whether the session ID came in the `header`, signed with an older secret: the response signs it anew. */
  staleHeader = false
  /** Whether an error of the Set-Cookie decision was passed on: the end of the response does not pass it again. */
  failed = false
  /** Undoes the hold on the response (see `holdResponse`) before it is really ended. */
  releaseResponse: (() => void) | undefined = undefined
  /** The response's `end` before this middleware replaced it. */
  originalEnd: AnyResponse['end'] | undefined = undefined
  /**
   * `touchAfter`: the expiry (ms since the epoch) of the session as loaded, when it was pushed forward less than
   * `touchAfter` ago (see {@link expiryFresh}), so that a request saving nothing may leave it as it is: the store is
   * not touched and the cookie not reset. `undefined` otherwise, and always with `resave: true` (every request saves)
   * or a store without `touch`. Set once, at load; {@link leavesExpiry} adds what the request did.
   */
  freshExpiry: number | undefined = undefined

  constructor(
    readonly config: MiddlewareConfig,
    readonly req: SessionRequest,
    readonly res: AnyResponse,
    readonly next: NextFunction,
    readonly secrets: Secrets,
    readonly cookieOptions: CookieOptions,
  ) {
    this.keyed = !config.resave && saveModeOf(config, config.store) !== 'overwrite'
  }

  /** The data JSON of `sess` as it is to be saved: with its owner recorded first (the `owner` option). */
  dataJson(sess: Session): string {
    if (this.config.owner !== undefined) recordOwner(sess, ownerFrom(this.config.owner, sess))
    return this.serialize(sess)
  }

  private serialize(sess: Session): string {
    if (!this.keyed) return sessionDataJson(sess)
    this.lastKeyed = keyedDataJson(sess)
    return this.lastKeyed.json
  }

  ownerOf(sess: Session): string | undefined {
    const { owner } = this.config
    if (owner === undefined) {
      throw new TypeError('the owner option is not set: name the user a session belongs to, e.g. session({ owner: (s) => s.userId, ... })')
    }
    return ownerFrom(owner, sess)
  }

  /** The data of `sess`, whose data JSON is `json`, key by key. */
  keysOf(sess: Session, json: string): KeyedJson {
    const last = this.lastKeyed
    return last !== undefined && last.json === json ? last.keys : keyedDataJson(sess).keys
  }

  get storeTimeout(): number {
    return this.config.storeTimeout
  }

  save(sess: Session, json: string, store: Store, done: SessionCallback): void {
    saveSession(this, store, sess.id, sess, json, done)
  }

  destroy(id: string, store: Store, done: SessionCallback): void {
    this.destroyedId = id
    destroySession(this, store, id, done)
  }

  destroyOther(id: string, store: Store, done: SessionCallback): void {
    destroySession(this, store, id, done)
  }

  /** Records that the store now holds `sess` with data JSON `json`. */
  saved(sess: Session, json: string): void {
    this.savedId = sess.id
    this.savedJson = json
    // kept only when the next save may be a patch, which compares with them
    if (this.keyed) {
      this.savedKeys = this.keysOf(sess, json)
      this.savedCookie = sess.cookie.data
    }
  }

  /** Whether `sess`'s cookie differs from the one the store holds (`true` when that is not known). */
  cookieChanged(sess: Session): boolean {
    const saved = this.savedCookie
    if (saved === undefined) return true
    // a touch moves the expiry: two valid expiries that differ decide it without serializing both cookies
    const before = expiryTime(saved)
    const now = expiryTime(sess.cookie)
    if (before !== undefined && now !== undefined && before !== now) return true
    return JSON.stringify(saved) !== JSON.stringify(sess.cookie)
  }

  /**
   * Records the session as loaded (`loaded`) or created, for change detection, and whether a loaded one's touch
   * may be deferred ({@link freshExpiry}). Its owner is not recorded first: a loaded session whose owner is not
   * yet stored is then saved with it.
   */
  remember(sess: Session, loaded: boolean, json = this.serialize(sess)): void {
    this.originalId = sess.id
    this.originalJson = json
    if (loaded && !this.config.resave) {
      this.savedId = this.originalId
      this.savedJson = this.originalJson
      if (this.keyed) this.savedKeys = this.keysOf(sess, json)
      const { cookie } = sess
      if (typeof this.config.store.touch === 'function' && expiryFresh(this, cookie)) {
        this.freshExpiry = (cookie.expires as Date).getTime()
      }
    }
  }
}

/** Records `owner` in the session's data, or removes the one recorded when it has none. */
function recordOwner(sess: Session, owner: string | undefined): void {
  const data = sess as unknown as Record<string, unknown>
  if (owner === undefined) {
    if (OWNER_KEY in data) Reflect.deleteProperty(data, OWNER_KEY)
  } else if (data[OWNER_KEY] !== owner) data[OWNER_KEY] = owner
}

/**
 * `touchAfter`: whether the expiry of `cookie` was pushed forward less than `touchAfter` ago, at `now` (ms since the
 * epoch). It was pushed at `expires - originalMaxAge` (a touch or save sets `expires` to then + `originalMaxAge`), so
 * no extra field is stored; an expiry later than `now + originalMaxAge` counts as fresh. `false` when `touchAfter`
 * is 0 and for a cookie without both `expires` and `originalMaxAge` (a browser-session cookie). Pure: the caller
 * gives the cookie as loaded, before anything resets it.
 */
export function expiryFresh(
  state: Pick<RequestState, 'config'>,
  cookie: Pick<CookieData, 'expires' | 'originalMaxAge'>,
  now: number = Date.now(),
): boolean {
  const { touchAfter } = state.config
  if (touchAfter <= 0) return false
  const { expires, originalMaxAge } = cookie
  if (!(expires instanceof Date) || typeof originalMaxAge !== 'number') return false
  return now - (expires.getTime() - originalMaxAge) < touchAfter
}

/** The state of the request `req`, when the middleware handles it and it has a session. */
export function stateOf(req: object | undefined): RequestState | undefined {
  const tracker = trackerOf(req)
  return tracker instanceof RequestState ? tracker : undefined
}

/**
 * The session's data JSON, computed at most once per decision point: callers reset `state.snapshot` when a
 * new decision point (headers, end) starts.
 */
export function currentJson(state: RequestState, sess: Session): string {
  return (state.snapshot ??= state.dataJson(sess))
}

/** Whether the session changed since it was loaded or created. */
export function isModified(state: RequestState, sess: Session, json: string): boolean {
  return state.originalId !== sess.id || state.originalJson !== json
}

/** Whether the session, as it is now, is what the store holds. */
export function isSaved(state: RequestState, sess: Session, json: string): boolean {
  return state.savedId === sess.id && state.savedJson === json
}

/** Whether the end of the response should save the session. */
export function shouldSave(state: RequestState, req: SessionRequest, sess: Session, json: string): boolean {
  if (typeof req.sessionID !== 'string') return false
  return !state.config.saveUninitialized && state.savedJson === undefined && state.cookieId !== req.sessionID
    ? isModified(state, sess, json)
    : !isSaved(state, sess, json)
}

/** Whether the end of the response should touch the stored session (when it is not saved). */
export function shouldTouch(state: RequestState, req: SessionRequest, saving: boolean): boolean {
  return typeof req.sessionID === 'string' && state.cookieId === req.sessionID && !saving
}

/**
 * `touchAfter`: whether the request leaves the session's expiry as the store holds it, in the store (no `touch`) and
 * in the cookie (not reset): its touch is deferred ({@link RequestState.freshExpiry}), the session is still the
 * one loaded with its expiry unchanged (an application's `touch()` or new `maxAge` moves it, and is honoured), and
 * nothing is to be saved.
 */
export function leavesExpiry(state: RequestState, req: SessionRequest, sess: Session): boolean {
  if (state.freshExpiry === undefined || req.sessionID !== state.cookieId || sess.id !== state.originalId) return false
  const expires = sess.cookie.expires
  return expires instanceof Date && expires.getTime() === state.freshExpiry &&
    !shouldSave(state, req, sess, currentJson(state, sess))
}

/** Whether the end of the response should destroy the stored session (`unset: 'destroy'`). */
export function shouldDestroy(state: RequestState, req: SessionRequest): boolean {
  return Boolean(req.sessionID) && state.config.unsetDestroy && req.session == null &&
    state.destroyedId !== req.sessionID
}

/** Whether the response should carry the session cookie. The data is serialized only when needed. */
export function shouldSetCookie(state: RequestState, req: SessionRequest, sess: Session): boolean {
  if (typeof req.sessionID !== 'string') return false
  const { config } = state
  return state.cookieId !== req.sessionID
    ? config.saveUninitialized || isModified(state, sess, currentJson(state, sess))
    : config.rolling || (sess.cookie.expires != null && isModified(state, sess, currentJson(state, sess)))
}
