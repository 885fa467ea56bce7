/**
 * The per-request flow, top to bottom: find the session ID, load or create the session, expose
 * `req.session`, and arrange the commit at the end of the response.
 * @internal
 */

import onHeaders from 'on-headers'
import parseUrl from 'parseurl'
import { Cookie } from '../core/cookie.js'
import { attachTracker, CREATED_AT_KEY, Session } from '../core/session.js'
import { LAST_SEEN_KEY, MAX_USER_AGENT_LENGTH, USER_AGENT_KEY } from '../core/owner.js'
import type { SessionData, StoredSession } from '../core/store.js'
import { debug } from '../lib/debug.js'
import { warnOnce } from '../lib/deprecate.js'
import { publishSessionEvent } from '../lib/diagnostics.js'
import { isSecure } from '../lib/secure.js'
import { readSessionIdHeader } from '../lib/session-header.js'
import { readSessionId } from '../lib/signing.js'
import { callStore } from '../lib/store-call.js'
import type { AnyRequest, AnyResponse, NextFunction, SessionRequest } from '../types.js'
import { endResponse, writeSessionCookie } from './commit.js'
import { cookieOptionsFor, type MiddlewareConfig } from './options.js'
import { RequestState, stateOf } from './request-state.js'
import { destroySession } from './save.js'

/** The session middleware's request handler. */
export type SessionMiddleware = (req: AnyRequest, res: AnyResponse, next: NextFunction) => void

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null | undefined)?.then === 'function'
}

/** RFC 6265 §5.1.4 path-match: `/admin` matches `/admin` and `/admin/x`, not `/administrator`. */
export function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (!requestPath.startsWith(cookiePath)) return false
  return requestPath.length === cookiePath.length || cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/'
}

/** The state of the request whose first session the middleware is generating (see {@link startNewSession}). */
let generatingFor: RequestState | undefined

/**
 * Gives `req` a new session with ID `id`, its cookie resolved for this request. `state` is the request's, when
 * the middleware handles it.
 */
function attachNewSession(config: MiddlewareConfig, req: SessionRequest, id: unknown, state: RequestState | undefined): void {
  req.sessionID = id as string
  const sess = new Session(req)
  if (state !== undefined) attachTracker(sess, state)
  const options = state?.cookieOptions ?? cookieOptionsFor(config, req)
  sess.cookie = new Cookie(options as Record<string, unknown>)
  if (options.secure === 'auto' || options.sameSite === 'auto') {
    const secure = isSecure(req, config.trustProxy)
    if (options.secure === 'auto') sess.cookie.secure = secure
    if (options.sameSite === 'auto') sess.cookie.sameSite = secure ? 'none' : 'lax'
  }
  if (config.absoluteTimeout > 0 || config.track) sess[CREATED_AT_KEY] = Date.now()
  if (config.track) recordDeviceFacts(sess, req)
  req.session = sess
}

/** `track: true`: records the request's `User-Agent` (cut to a bounded length) and the time as last seen. */
function recordDeviceFacts(sess: Session, req: SessionRequest): void {
  const data = sess as unknown as Record<string, unknown>
  const userAgent = req.headers['user-agent']
  if (typeof userAgent === 'string' && userAgent !== '') data[USER_AGENT_KEY] = userAgent.slice(0, MAX_USER_AGENT_LENGTH)
  data[LAST_SEEN_KEY] = Date.now()
}

/**
 * `track: true` on a loaded session: refreshes when it was last seen, at most once per `touchAfter` (on every
 * request without it), which saves the session.
 */
function refreshLastSeen(config: MiddlewareConfig, sess: Session): void {
  const data = sess as unknown as Record<string, unknown>
  const lastSeen = data[LAST_SEEN_KEY]
  const now = Date.now()
  if (typeof lastSeen !== 'number' || !(now - lastSeen < config.touchAfter)) data[LAST_SEEN_KEY] = now
}

/**
 * `store.generate(req)`: a new session on `req`. Returns a promise when `genid` does; its rejection, or a
 * promised non-string, is an error with a message saying so.
 */
export function generateSession(config: MiddlewareConfig, req: SessionRequest): void | Promise<void> {
  // the request's current session carries its state (regenerate); a first session gets it from startNewSession
  const state = stateOf(req) ?? (generatingFor?.req === req ? generatingFor : undefined)
  const id = config.genid(req)
  if (!isThenable(id)) {
    attachNewSession(config, req, id, state)
    return
  }
  return Promise.resolve(id).then(
    (value) => {
      if (typeof value !== 'string') {
        throw new TypeError(`genid option must return a string or a Promise of a string (got ${typeof value})`)
      }
      attachNewSession(config, req, value, state)
    },
    (reason: unknown) => {
      throw reason instanceof Error ? reason : new Error(`genid option rejected: ${String(reason)}`)
    },
  )
}

/** Creates a new session for the request, then continues (`next`). */
function startNewSession(state: RequestState): void {
  const { req, config, next } = state
  const done = (): void => {
    const sess = req.session
    if (!sess) {
      next(new TypeError('store.generate(req) did not set req.session'))
      return
    }
    state.remember(sess, false)
    debug(req, 'new session %s', sess.id)
    publishSessionEvent('created', sess.id, req)
    next()
  }
  let pending: void | Promise<void>
  generatingFor = state
  try {
    pending = config.store.generate(req)
  } catch (err) {
    generatingFor = undefined
    next(err)
    return
  }
  generatingFor = undefined
  if (isThenable(pending)) pending.then(done, (err: unknown) => next(err))
  else done()
}

/** Whether a loaded session is past `absoluteTimeout`; missing creation times are recorded as now. */
function pastAbsoluteTimeout(config: MiddlewareConfig, sess: Session): boolean {
  const created = sess[CREATED_AT_KEY]
  if (typeof created === 'number') return Date.now() - created > config.absoluteTimeout
  sess[CREATED_AT_KEY] = Date.now()
  return false
}

/** Handles the store's answer to `get`: adopt the stored session, or start a new one. */
function onLoaded(state: RequestState, err: Error | null, data: StoredSession | null | undefined): void {
  const { req, config, next } = state
  if (err && (err as { code?: unknown }).code !== 'ENOENT') {
    // callStore reported the failure; no session was loaded: the end of the response must not save, touch or
    // (unset: 'destroy') destroy one
    state.disabled = true
    if (config.continueOnStoreError) {
      debug(req, 'continuing without a session (storeErrors: continue)')
      next()
    } else next(err)
    return
  }

  if (err || !data) {
    debug(req, 'session %s not found in the store, generating a new one', req.sessionID)
    startNewSession(state)
    return
  }

  debug(req, 'session %s found', req.sessionID)
  let sess: Session
  let expired = false
  try {
    // stored data has a plain cookie object, which createSession turns into a Cookie
    const storedCookie = (data as { cookie?: unknown }).cookie
    sess = config.store.createSession(req, data as unknown as SessionData)
    attachTracker(sess, state)
    // remembered before the creation time may be added, so that adding it is saved
    state.remember(sess, true)
    state.savedCookie = storedCookie
    if (config.absoluteTimeout > 0) expired = pastAbsoluteTimeout(config, sess)
    if (config.track) refreshLastSeen(config, sess)
  } catch (createError) {
    // the stored data cannot make a session: report it once, and leave the end of the response alone
    state.disabled = true
    next(createError)
    return
  }

  if (expired) {
    const id = sess.id
    debug(req, 'session %s past absoluteTimeout', id)
    publishSessionEvent('expired', id, req, undefined, 'absoluteTimeout')
    // a failure is reported by callStore; the request goes on with the fresh session either way
    destroySession(state, config.store, id, () => undefined)
    // the store no longer holds it: the fresh session is saved only as any new one would be
    state.savedId = state.savedJson = state.savedKeys = undefined
    startNewSession(state)
    return
  }

  publishSessionEvent('loaded', sess.id, req)
  next()
}

/** Builds the middleware for resolved options. */
export function createMiddleware(config: MiddlewareConfig): SessionMiddleware {
  const { store } = config
  store.generate = (req: SessionRequest) => generateSession(config, req)

  // a disconnected store means: no sessions, no errors, until it connects again
  let storeReady = true
  store.on('disconnect', () => {
    storeReady = false
  })
  store.on('connect', () => {
    storeReady = true
  })

  return function session(request: AnyRequest, response: AnyResponse, next: NextFunction): void {
    const req = request as SessionRequest
    if (req.session) {
      // a session this package's middleware gave the request (not one the app set itself): mounted twice
      const earlier = stateOf(req)
      if (earlier !== undefined) {
        warnOnce(earlier.config === config ? 'EXPRESS_SESSION_MOUNTED_TWICE' : 'EXPRESS_SESSION_OTHER_MIDDLEWARE_FIRST', config)
      }
      next()
      return
    }
    if (!storeReady) {
      debug(req, 'store is disconnected')
      next()
      return
    }

    let cookieOptions
    try {
      cookieOptions = cookieOptionsFor(config, req)
    } catch (err) {
      next(err)
      return
    }
    const cookiePath = cookieOptions.path || '/'
    const url = req.originalUrl ?? req.url
    // every origin-form URL is under '/': parse only when the answer can be no
    if (cookiePath !== '/' || typeof url !== 'string' || url.charCodeAt(0) !== 0x2f) {
      const originalPath = parseUrl.original(req)?.pathname || '/'
      if (!pathMatches(originalPath, cookiePath)) {
        debug(req, 'path %s is outside the cookie path, no session', originalPath)
        next()
        return
      }
    }

    const secrets = config.secrets ?? (req.secret ? [req.secret] : undefined)
    if (!secrets) {
      next(new Error('secret option required for sessions: set the secret option, or mount cookie-parser with a secret ' +
        '(app.use(cookieParser(secret))) before the session middleware'))
      return
    }

    const state = new RequestState(config, req, response, next, secrets, cookieOptions)
    req.sessionStore = store
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called later with .apply(res), as a wrapper must
    state.originalEnd = response.end
    response.end = function end(...args: unknown[]) {
      return endResponse(state, args) as never
    }
    // a valid session cookie wins over the header; with the cookie off (`cookie: false`) it is not read
    const fromCookie = config.sendCookie ? readSessionId(req, config.name, secrets) : undefined
    const fromHeader = fromCookie === undefined ? readSessionIdHeader(req, config.header, secrets) : undefined
    const received = fromCookie ?? fromHeader
    state.staleHeader = fromHeader !== undefined && fromHeader.signed === undefined
    state.cookieId = req.sessionID = received?.id
    state.receivedSigned = received?.signed

    onHeaders(response as Parameters<typeof onHeaders>[0], () => {
      state.snapshot = undefined
      writeSessionCookie(state)
    })

    if (!req.sessionID) {
      debug(req, 'no SID sent, generating session')
      startNewSession(state)
      return
    }

    debug(req, 'fetching %s', req.sessionID)
    callStore<StoredSession>(store, 'get', [req.sessionID], config.storeTimeout, (err, data) => {
      onLoaded(state, err, data)
    }, req)
  }
}
