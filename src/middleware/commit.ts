/**
 * The response side: the Set-Cookie decision when headers are written, and the commit to the store
 * (destroy, save or touch) before the response ends. The response is ended exactly once, in a single
 * call to the original `end`, after the store has answered.
 * @internal
 */

import { debug, debugSetCookie } from '../lib/debug.js'
import { warnOnce } from '../lib/deprecate.js'
import { publishSessionEvent } from '../lib/diagnostics.js'
import { isSecure } from '../lib/secure.js'
import { appendSetCookie, removeSetCookie, serializeClearingCookie, serializeSessionCookie } from '../lib/set-cookie.js'
import { keepOutOfSharedCaches, removeSessionHeader, sessionHeaderValue } from '../lib/session-header.js'
import { signSessionId } from '../lib/signing.js'
import { callStore } from '../lib/store-call.js'
import { ServerResponse } from 'node:http'
import type { AnyResponse } from '../types.js'
import {
  currentJson,
  leavesExpiry,
  RequestState,
  shouldDestroy,
  shouldSave,
  shouldSetCookie,
  shouldTouch,
} from './request-state.js'
import { destroySession, saveSession, savesChanges } from './save.js'

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
  if (state.headersHandled || state.disabled || state.gone) return
  state.headersHandled = true
  const { req, config } = state
  const sess = req.session

  try {
    if (!sess) {
      debug(req, 'no session')
      if (config.clearCookieOnDestroy && config.sendCookie && state.cookieId !== undefined &&
          (state.destroyedId !== undefined || shouldDestroy(state, req))) {
        clearSessionCookie(state)
      }
      return
    }

    const setCookie = shouldSetCookie(state, req, sess)
    // a header signed with an older secret is signed anew, as long as the session goes on under that ID
    const resignHeader = state.staleHeader && state.cookieId === req.sessionID
    if (!setCookie && !resignHeader) return

    if (sess.cookie.secure && !isSecure(req, config.trustProxy)) {
      debug(req, '%s: Secure cookie not sent on an insecure request', req.sessionID)
      warnOnce('EXPRESS_SESSION_SECURE_COOKIE_NOT_SENT', config)
      return
    }

    // touchAfter: an unchanged session keeps its stored expiry in the cookie; a later change still pushes the store's
    if (setCookie && !state.touched && !leavesExpiry(state, req, sess)) {
      sess.touch()
      state.touched = true
    }

    // both decisions say yes only for a string ID; the value the client sent is that ID signed with the first secret
    const signed = state.receivedSigned !== undefined && state.cookieId === req.sessionID
      ? state.receivedSigned
      : signSessionId(req.sessionID as string, state.secrets)
    if (config.header !== undefined && (state.cookieId !== req.sessionID || resignHeader)) {
      // a new or regenerated session, or a rotated secret: the client learns the value from the header too
      state.sessionHeader = sessionHeaderValue(signed)
      state.res.setHeader(config.header, state.sessionHeader)
      keepOutOfSharedCaches(state.res)
      debug(req, 'sending %s in the %s header', req.sessionID, config.header)
    }
    if (!setCookie || !config.sendCookie) return
    const value = serializeSessionCookie(config.name, signed, sess.cookie)
    debugSetCookie(req, value)
    appendSetCookie(state.res, value)
    state.sessionCookie = value
  } catch (err) {
    state.failed = true
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

/** The body chunk of `end(chunk?, encoding?, callback?)` arguments, if any. */
function endChunk(args: EndArgs): unknown {
  return typeof args[0] === 'function' ? undefined : args[0]
}

/** Whether node's `end` accepts the chunk (it throws on a truthy chunk that is not a string or bytes). */
function isEndableChunk(chunk: unknown): boolean {
  return !chunk || typeof chunk === 'string' || chunk instanceof Uint8Array
}

/**
 * Whether node would add `Content-Length` for a body given to `end()` (HTTP/1.1, a response that has a body, and
 * no framing header set by the application).
 */
function framedByContentLength(req: RequestState['req'], res: ServerResponse): boolean {
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor < 1 || req.method === 'HEAD') return false
  const status = res.statusCode
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) return false
  return !res.hasHeader('content-length') && !res.hasHeader('transfer-encoding') && !res.hasHeader('trailer')
}

/** Node's error for a header change once the headers are sent. */
function headersSentError(): Error {
  return Object.assign(new Error('Cannot set headers after they are sent to the client'), { code: 'ERR_HTTP_HEADERS_SENT' })
}

/** Replaces the response's method `name` until `state.releaseResponse()` puts the previous one back. */
function replaceUntilRelease(state: RequestState, res: ServerResponse, name: keyof ServerResponse, replacement: unknown): void {
  const own = Object.getOwnPropertyDescriptor(res, name)
  Object.defineProperty(res, name, { value: replacement, configurable: true, writable: true, enumerable: own?.enumerable ?? false })
  const releasePrevious = state.releaseResponse
  state.releaseResponse = () => {
    if (own) Object.defineProperty(res, name, own)
    else Reflect.deleteProperty(res, name)
    releasePrevious?.()
  }
}

/**
 * Makes an HTTP/1 response ended, as the application sees it, while the store works, and sends it in one write
 * once the store has answered. Its headers are committed now, with the `Content-Length` node would give the
 * body, so that a header set after `end()` throws as it would on a bare server; with `headersOpen` (the
 * `'strict'` policy, whose failed save gives the error handler's response) they stay open and header changes
 * throw node's error all the same. A `write()` meanwhile writes nothing and returns `false`, as after node's
 * own `end`; the error node would also emit on the response (fatal without a listener) goes to the write's
 * callback only. Under HTTP/2 the headers stay open until the store answered.
 */
function holdResponse(state: RequestState, args: EndArgs, headersOpen: boolean): void {
  const { req } = state
  if (req.httpVersionMajor !== 1) return
  const res = state.res as ServerResponse
  if (headersOpen) {
    const refuse = (): never => {
      throw headersSentError()
    }
    for (const name of ['setHeader', 'appendHeader', 'removeHeader', 'writeHead'] as const) replaceUntilRelease(state, res, name, refuse)
  } else if (!res.headersSent) {
    if (framedByContentLength(req, res)) {
      const chunk = endChunk(args)
      const encoding = typeof args[1] === 'string' ? (args[1] as BufferEncoding) : undefined
      const length = !chunk ? 0 : typeof chunk === 'string' ? Buffer.byteLength(chunk, encoding) : (chunk as Uint8Array).byteLength
      res.setHeader('Content-Length', length)
    }
    res.writeHead(res.statusCode)
  }
  replaceUntilRelease(state, res, 'write', function write(chunk: unknown, ...rest: unknown[]): boolean {
    if (chunk == null || !isEndableChunk(chunk)) {
      // node's own write throws on these before anything else
      return ServerResponse.prototype.write.call(res, chunk, ...(rest as [BufferEncoding]))
    }
    const callback = rest.find((arg) => typeof arg === 'function') as ((err: Error) => void) | undefined
    debug(req, 'write after end() ignored')
    if (callback) process.nextTick(callback, Object.assign(new Error('write after end'), { code: 'ERR_STREAM_WRITE_AFTER_END' }))
    return false
  })
}

/** Takes the session cookie and ID header this response carries back out: the session they name is not kept. */
function withdrawSessionId(state: RequestState): void {
  const { res, config } = state
  if (state.sessionCookie !== undefined) removeSetCookie(res, state.sessionCookie)
  if (state.sessionHeader !== undefined && config.header !== undefined) removeSessionHeader(res, config.header, state.sessionHeader)
}

/** Headers that describe the body of a dropped response, not the one the error handler will send. */
const DROPPED_BODY_HEADERS = ['Content-Length', 'Transfer-Encoding', 'Content-Type', 'Content-Encoding', 'ETag', 'Last-Modified']

/**
 * `storeErrors: 'strict'`: the route's response, held while its session was saved, is dropped for a failed save
 * (with its session cookie and the headers describing its body), and the error goes to the error handler, whose response is sent instead.
 */
function abandonResponse(state: RequestState, err: Error): void {
  state.releaseResponse?.()
  state.releaseResponse = undefined
  const { res } = state
  debug(state.req, 'dropping the response of a failed save (storeErrors: strict)')
  withdrawSessionId(state)
  for (const name of DROPPED_BODY_HEADERS) res.removeHeader(name)
  // the error handler's end() ends the response, without another commit
  state.ended = false
  state.disabled = true
  setImmediate(state.next, err)
}

/** What the end of the response does with the store. */
type Commit = 'destroy' | 'save' | 'touch' | undefined

function decideCommit(state: RequestState): Commit {
  const { req, config } = state
  if (shouldDestroy(state, req)) return 'destroy'
  const sess = req.session
  if (!sess || state.gone) return undefined

  // touchAfter: nothing to save and an expiry pushed forward recently: neither the cookie nor the store is touched
  if (leavesExpiry(state, req, sess)) return undefined
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
 * application's `chunk`, `encoding` and `callback` through. Until then the response is held (see
 * {@link holdResponse}). A second call returns `false` and writes nothing, as in 1.x.
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
    // e.g. session data that JSON cannot represent: passed on after the response, as store errors are, and once
    // (the Set-Cookie decision, which serializes the session too, may have passed it on already)
    if (!state.failed) setImmediate(state.next, err)
    commit = undefined
  }

  // a chunk node refuses: its end throws now and the response stays open for a later end()
  if (commit === undefined || !isEndableChunk(endChunk(args))) {
    finish(state, args)
    return res
  }
  const strict = commit === 'save' && config.strictSave
  // a save of the changes may find the session gone: its cookie is then taken out, so the headers wait
  // eslint-disable-next-line @typescript-eslint/no-non-null-assertion -- a 'save' commit has a session
  const changesOnly = commit === 'save' && savesChanges(state, config.store, req.session!)
  try {
    holdResponse(state, args, strict || changesOnly)
  } catch (err) {
    // node's end would have thrown the same (e.g. a Trailer header without chunked encoding): not ended
    state.ended = false
    throw err
  }

  // the ID as the application leaves it, passed to the store as 1.19.0 does (the middleware set it)
  const id = req.sessionID as string
  const done = (err: Error | null): void => {
    if (err && strict && !res.headersSent) {
      abandonResponse(state, err)
      return
    }
    if (err && !config.continueOnStoreError) setImmediate(state.next, err)
    state.releaseResponse?.()
    if (state.gone && !res.headersSent) withdrawSessionId(state)
    try {
      finish(state, args)
    } catch (endError) {
      // thrown in a store callback: passed on instead of crashing the process
      setImmediate(state.next, endError)
    }
  }

  if (commit === 'destroy') {
    debug(req, 'destroying %s (unset)', id)
    destroySession(state, config.store, id, (err) => {
      if (!err) {
        debug(req, 'destroyed %s', id)
        publishSessionEvent('destroyed', id, req)
      }
      done(err)
    })
  } else if (commit === 'save') {
    debug(req, 'saving %s', id)
    // eslint-disable-next-line @typescript-eslint/no-non-null-assertion -- decideCommit says 'save' only for a session whose JSON it took
    saveSession(state, config.store, id, req.session!, state.snapshot!, done)
  } else {
    debug(req, 'touching %s', id)
    callStore(config.store, 'touch', [id, req.session], config.storeTimeout, (err) => {
      if (!err) debug(req, 'touched %s', id)
      done(err)
    }, req)
  }
  return res
}
