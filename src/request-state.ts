/**
 * Per-request state and the pure decisions made from it: whether to set the cookie, save, touch or
 * destroy. One small object per request instead of a dozen closures.
 * @internal
 */

import type { Cookie } from './cookie.js'
import { serializeWithLazyMembers } from './lazy-members.js'
import type { MiddlewareConfig } from './options.js'
import type { Session } from './session.js'
import type { SessionRequest, AnyResponse, NextFunction, CookieOptions } from './types.js'

/**
 * Where the state hangs: on the request's sessions (a non-enumerable symbol-keyed property), not on the request,
 * which then carries only the properties of 1.x's API. A Session's hidden classes are shared by all sessions.
 */
const kState: unique symbol = Symbol('express-session.request-state')

/** What the middleware remembers about one request. */
export class RequestState {
  /** The session ID the client sent (validly signed), if any. */
  cookieId: string | undefined = undefined
  /** ID of the session as loaded or created. */
  originalId: string | undefined = undefined
  /** Serialized data (without `cookie`) as loaded or created. */
  originalJson: string | undefined = undefined
  /** ID and serialized data last written to the store during this request (or as loaded, with `resave: false`). */
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
  /** The ID destroyed through `destroy()` during this request. */
  destroyedId: string | undefined = undefined
  /** {@link serializeData} of the session, cached within one decision point (see {@link currentJson}). */
  snapshot: string | undefined = undefined
  /** The response's `end` before this middleware replaced it. */
  originalEnd: AnyResponse['end'] | undefined = undefined

  constructor(
    readonly config: MiddlewareConfig,
    readonly req: SessionRequest,
    readonly res: AnyResponse,
    readonly next: NextFunction,
    readonly secrets: ReadonlyArray<string | Buffer>,
    readonly cookieOptions: CookieOptions,
  ) {}

  /** Records that `sess` (serialized as `json`) was written to the store. */
  markSaved(sess: Session, json: string): void {
    this.savedId = sess.id
    this.savedJson = json
  }
}

/** A session the middleware's state may hang on. */
type StateHolder = { [kState]?: RequestState }

/** The state of the request `sess` was created for, if the middleware handles that request. */
export function stateOfSession(sess: object | null | undefined): RequestState | undefined {
  return sess == null ? undefined : (sess as StateHolder)[kState]
}

/** The state of the request `req`, found through its current session; `undefined` when it has none. */
export function stateOf(req: object | undefined): RequestState | undefined {
  const state = stateOfSession((req as { session?: object | null } | undefined)?.session)
  return state !== undefined && state.req === req ? state : undefined
}

/** Records that `sess` belongs to the request of `state` (once: a session's request never changes). */
export function attachState(sess: object, state: RequestState): void {
  if ((sess as StateHolder)[kState] === undefined) Object.defineProperty(sess, kState, { value: state })
}

/**
 * The session's data as JSON, without its top-level `cookie`: what change detection compares.
 * Members still unparsed (see lazy-members.ts) are written as the text they were read from. The cookie is
 * set aside for the duration of the call, which `JSON.stringify` omits as `undefined`.
 */
export function serializeData(sess: Session): string {
  const lazy = serializeWithLazyMembers(sess)
  if (lazy !== undefined) return lazy
  const cookie = sess.cookie
  if (cookie === undefined) return JSON.stringify(sess)
  ;(sess as { cookie: Cookie | undefined }).cookie = undefined
  try {
    return JSON.stringify(sess)
  } finally {
    sess.cookie = cookie
  }
}

/**
 * The session's serialized data, computed at most once per decision point: callers reset
 * `state.snapshot` when a new decision point (headers, end) starts.
 */
export function currentJson(state: RequestState, sess: Session): string {
  return (state.snapshot ??= serializeData(sess))
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
