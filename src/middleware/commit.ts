/**
 * The response side: the Set-Cookie decision when headers are written, and the commit to the store
 * (destroy, save or touch) before the response ends. The response is ended exactly once, in a single
 * call to the original `end`, after the store has answered.
 * @internal
 */

import { debug } from '../lib/debug.js'
import { warnOnce } from '../lib/deprecate.js'
import { publishSessionEvent } from '../lib/diagnostics.js'
import { isSecure } from '../lib/secure.js'
import { appendSetCookie, serializeClearingCookie, serializeSessionCookie } from '../lib/set-cookie.js'
import { signSessionId } from '../lib/signing.js'
import { callStore } from '../lib/store-call.js'
import type { AnyResponse } from '../types.js'
import {
  currentJson,
  RequestState,
  shouldDestroy,
  shouldSave,
  shouldSetCookie,
  shouldTouch,
} from './request-state.js'

/** Expires the session cookie in the browser (`clearCookieOnDestroy`), with the attributes it was set with. */
function clearSessionCookie(state: RequestState): void {
  const { config, cookieOptions, req } = state
  const secure = cookieOptions.secure === 'auto' ? isSecure(req, config.trustProxy) : cookieOptions.secure
  const sameSite = cookieOptions.sameSite === 'auto' ? (secure ? 'none' : 'lax') : cookieOptions.sameSite
  appendSetCookie(state.res, serializeClearingCookie(config.name, { ...cookieOptions, secure, sameSite }))
}

/**
 * Decides and writes the session cookie; runs once, when headers are written or at `end()`. Callers start
 * the decision point (reset `state.snapshot`).
 */
export function writeSessionCookie(state: RequestState): void {
  if (state.headersHandled || state.disabled) return
  state.headersHandled = true
  const { req, config } = state
  const sess = req.session

  try {
    if (!sess) {
      debug('no session')
      if (config.clearCookieOnDestroy && state.cookieId !== undefined &&
          (state.destroyedId !== undefined || shouldDestroy(state, req))) {
        clearSessionCookie(state)
      }
      return
    }

    if (!shouldSetCookie(state, req, sess)) return

    if (sess.cookie.secure && !isSecure(req, config.trustProxy)) {
      debug('%s: Secure cookie not sent on an insecure request', req.sessionID)
      warnOnce('EXPRESS_SESSION_SECURE_COOKIE_NOT_SENT', config)
      return
    }

    if (!state.touched) {
      sess.touch()
      state.touched = true
    }

    // shouldSetCookie said yes only for a string ID
    const value = serializeSessionCookie(config.name, signSessionId(req.sessionID as string, state.secrets), sess.cookie.data)
    debug('set-cookie %s', value)
    appendSetCookie(state.res, value)
  } catch (err) {
    setImmediate(state.next, err)
  }
}

/** What the application passed to `res.end(chunk?, encoding?, callback?)`. */
type EndArgs = unknown[]

/**
 * Calls the response's original `end` with the arguments the application gave. When that throws (e.g. a
 * chunk of the wrong type) the response is not ended, so a later `end()`, an error handler's, goes through.
 */
function finish(state: RequestState, args: EndArgs): void {
  try {
    ;(state.originalEnd as (...a: unknown[]) => unknown).apply(state.res, args)
  } catch (err) {
    state.ended = false
    throw err
  }
}

/** What the end of the response does with the store. */
type Commit = 'destroy' | 'save' | 'touch' | undefined

function decideCommit(state: RequestState): Commit {
  const { req, config } = state
  if (shouldDestroy(state, req)) return 'destroy'
  const sess = req.session
  if (!sess) return undefined

  if (!state.touched) {
    sess.touch()
    state.touched = true
  }
  const saving = shouldSave(state, req, sess, currentJson(state, sess))
  if (saving) return 'save'
  if (typeof config.store.touch === 'function' && shouldTouch(state, req, saving)) return 'touch'
  return undefined
}

/**
 * The replacement of `res.end`: commits the session, then ends the response once, passing the
 * application's `chunk`, `encoding` and `callback` through. A second call returns `false`.
 */
export function endResponse(state: RequestState, args: EndArgs): AnyResponse | false {
  if (state.ended) return false
  state.ended = true
  const { res, req, config } = state

  let commit: Commit
  try {
    if (state.disabled) commit = undefined
    else {
      // one decision point: the session is serialized at most once for the cookie and the commit
      state.snapshot = undefined
      if (!res.headersSent) writeSessionCookie(state)
      commit = decideCommit(state)
    }
  } catch (err) {
    // e.g. session data that JSON cannot represent: passed on after the response, as store errors are
    setImmediate(state.next, err)
    commit = undefined
  }

  if (commit === undefined) {
    finish(state, args)
    return res
  }

  // the ID as the application leaves it, passed to the store as 1.19.0 does (the middleware set it)
  const id = req.sessionID as string
  const done = (err: Error | null): void => {
    if (err && !config.continueOnStoreError) setImmediate(state.next, err)
    try {
      finish(state, args)
    } catch (endError) {
      // thrown in a store callback: passed on instead of crashing the process
      setImmediate(state.next, endError)
    }
  }

  if (commit === 'destroy') {
    debug('destroying %s (unset)', id)
    callStore(config.store, 'destroy', [id], config.storeTimeout, (err) => {
      if (!err) {
        debug('destroyed %s', id)
        publishSessionEvent('destroyed', id, req)
      }
      done(err)
    })
  } else if (commit === 'save') {
    debug('saving %s', id)
    // eslint-disable-next-line @typescript-eslint/no-non-null-assertion -- decideCommit says 'save' only for a session whose JSON it took
    state.saved(req.session!, state.snapshot!)
    callStore(config.store, 'set', [id, req.session], config.storeTimeout, done)
  } else {
    debug('touching %s', id)
    callStore(config.store, 'touch', [id, req.session], config.storeTimeout, (err) => {
      if (!err) debug('touched %s', id)
      done(err)
    })
  }
  return res
}
