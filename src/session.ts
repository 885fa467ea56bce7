import { inspect } from 'node:util'
import type { Cookie } from './cookie.js'
import { debug } from './debug.js'
import { publishSessionEvent } from './diagnostics.js'
import { copyMember, hasLazyMembers, materializeAll } from './lazy-members.js'
import { withOfferedDataJson } from './memory-store.js'
import { attachState, serializeData, stateOf, stateOfSession } from './request-state.js'
import type { RequestState } from './request-state.js'
import { callStore } from './store-call.js'
import type { SessionRequest } from './types.js'

/** Callback of the Session methods: called with the store's error, if any. */
export type SessionCallback = (err?: any) => void

/** Options of {@link Session.regenerate}. */
export interface RegenerateOptions {
  /** Copy the session's data to the new session (the cookie settings are renewed). Default `false`. */
  keepData?: boolean
}

/** Key under which `absoluteTimeout` records a session's creation time (ms since the epoch). */
export const CREATED_AT_KEY = '__sessionCreatedAt'

function noop(): void {}

/**
 * Runs a store operation for a Session method: with a callback, as in 1.x (returns the session for
 * chaining); without one, returns a promise. Nobody awaiting it never makes an unhandled rejection.
 */
function complete<T>(self: T, callback: SessionCallback | undefined, run: (done: SessionCallback) => void): T | Promise<void> {
  if (typeof callback === 'function') {
    run(callback)
    return self
  }
  const promise = new Promise<void>((resolve, reject) => run((err) => (err ? reject(err) : resolve())))
  promise.catch(noop)
  return promise
}

/** The `storeTimeout` of a request the middleware handles, 0 for none. */
function storeTimeout(state: RequestState | undefined): number {
  return state?.config.storeTimeout ?? 0
}

/** The `storeTimeout` in force for a request, 0 for none. */
export function storeTimeoutOf(req: object): number {
  return storeTimeout(stateOf(req))
}

/** The middleware's state for the request of `sess` (the one it joined, else its request's current one). */
function requestStateOf(sess: Session): RequestState | undefined {
  return stateOfSession(sess) ?? stateOf(sess.req)
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
    const state = stateOf(req)
    if (state !== undefined) attachState(this, state)

    if (typeof data === 'object' && data !== null) {
      // Keys that collide with members (id, req, methods, Object.prototype) are dropped.
      if (hasLazyMembers(data)) {
        // unparsed large members stay unparsed (see lazy-members.ts)
        for (const prop in data) if (!(prop in this)) copyMember(this, data, prop)
      } else {
        for (const prop in data) {
          if (!(prop in this)) (this as Record<string, unknown>)[prop] = (data as Record<string, unknown>)[prop]
        }
      }
    }
  }

  /** Prints the session's data as values: members still unparsed (see lazy-members.ts) are parsed first. */
  [inspect.custom](): this {
    materializeAll(this)
    return this
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
    const req = this.req as SessionRequest
    const state = requestStateOf(this)
    debug('saving %s', this.id)
    const json = state === undefined ? undefined : serializeData(this)
    if (json !== undefined) state!.markSaved(this, json)
    const set = (done: SessionCallback): void =>
      callStore(req.sessionStore!, 'set', [this.id, this], storeTimeout(state), done)
    return complete(this, callback, (done) =>
      json === undefined ? set(done) : withOfferedDataJson(this, json, () => set(done)))
  }

  /** Replaces `req.session` with the session as the store has it now. Without a callback, returns a promise. */
  reload(callback: SessionCallback): this
  reload(): Promise<void>
  reload(callback?: SessionCallback): this | Promise<void> {
    const req = this.req as SessionRequest
    const store = req.sessionStore!
    const state = requestStateOf(this)
    debug('reloading %s', this.id)
    return complete(this, callback, (done) =>
      callStore<object>(store, 'get', [this.id], storeTimeout(state), (err, data) => {
        if (err) return done(err)
        if (!data) return done(new Error('failed to load session'))
        try {
          const reloaded = store.createSession(req, data)
          if (state !== undefined && reloaded !== null && typeof reloaded === 'object') attachState(reloaded, state)
        } catch (createError) {
          return done(createError)
        }
        done()
      }),
    )
  }

  /** Removes the session from the store and unsets `req.session`. Without a callback, returns a promise. */
  destroy(callback: SessionCallback): this
  destroy(): Promise<void>
  destroy(callback?: SessionCallback): this | Promise<void> {
    const req = this.req as SessionRequest
    const state = requestStateOf(this)
    const id = this.id
    delete req.session
    if (state !== undefined) state.destroyedId = id
    debug('destroying %s', id)
    return complete(this, callback, (done) =>
      callStore(req.sessionStore!, 'destroy', [id], storeTimeout(state), (err) => {
        if (!err) publishSessionEvent('destroyed', id, req)
        done(err)
      }),
    )
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
    const keepData = typeof optionsOrCallback === 'object' && optionsOrCallback !== null && optionsOrCallback.keepData === true
    const req = this.req as SessionRequest
    const previousId = this.id
    const kept = keepData ? dataOf(this) : undefined
    return complete(this, callback, (done) =>
      req.sessionStore!.regenerate(req, (err?: unknown) => {
        const fresh = req.session
        if (fresh) {
          if (kept !== undefined) Object.assign(fresh, kept)
          publishSessionEvent('regenerated', fresh.id, req, previousId)
        }
        done(err)
      }),
    )
  }
}

/** The session's own data, without its cookie and bookkeeping keys. */
function dataOf(sess: Session): Record<string, unknown> {
  const data: Record<string, unknown> = {}
  for (const key of Object.keys(sess)) {
    if (key !== 'cookie' && key !== CREATED_AT_KEY) data[key] = (sess as unknown as Record<string, unknown>)[key]
  }
  return data
}
