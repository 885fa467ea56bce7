/**
 * `session(options)` normalised and validated once, at construction.
 * @internal
 */

import { Cookie } from '../core/cookie.js'
import type { Store } from '../core/store.js'
import { deprecate } from '../lib/deprecate.js'
import { generateSessionId } from '../lib/ids.js'
import { serializeSessionCookie } from '../lib/set-cookie.js'
import type { Secrets } from '../lib/signing.js'
import type { CookieOptions, SessionOptions, SessionRequest } from '../types.js'

/** Everything the middleware needs, resolved from the options. */
export interface MiddlewareConfig {
  name: string
  store: Store
  /** The `cookie` option: static options (validated once) or the app's function of the request. */
  cookie: CookieOptions | ((req: SessionRequest) => unknown)
  genid: (req: SessionRequest) => unknown
  trustProxy: boolean | undefined
  resave: boolean
  rolling: boolean
  saveUninitialized: boolean
  /** Secrets to sign with (first) and verify with (all); `undefined` to use `req.secret`. */
  secrets: Secrets | undefined
  unsetDestroy: boolean
  clearCookieOnDestroy: boolean
  absoluteTimeout: number
  storeTimeout: number
  continueOnStoreError: boolean
  /** `storeErrors: 'strict'`: a failed save at the end replaces the route's response with the error handler's. */
  strictSave: boolean
}

function optionalMilliseconds(value: unknown, name: string, max = Infinity): number {
  if (value === undefined || value === null || value === 0) return 0
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value) || value > max) {
    const range = max === Infinity ? 'a positive, finite number of milliseconds' : `a number of milliseconds from 1 to ${max}`
    throw new TypeError(`${name} option must be ${range}, or 0 for none (got ${typeof value === 'number' ? value : typeof value})`)
  }
  return value
}

function normaliseSecrets(secret: SessionOptions['secret']): Secrets | undefined {
  if (Array.isArray(secret)) {
    if (secret.length === 0) throw new TypeError('secret option array must contain one or more strings')
    // non-empty; a non-string member fails when it is used to sign, as in 1.19.0
    return secret.slice() as unknown as Secrets
  }
  if (secret) return [secret]
  deprecate('req.secret; provide secret option')
  return undefined
}

/**
 * Throws early for cookie options that could never be sent (bad name, domain, path, maxAge, expires,
 * sameSite or priority), instead of failing on every response after its headers are written.
 */
function validateCookie(name: string, cookie: CookieOptions): void {
  // the Cookie constructor validates the type of maxAge
  const probe = new Cookie(cookie as Record<string, unknown>)
  const expires: unknown = probe.expires
  if (expires && !(expires instanceof Date && Number.isFinite(expires.valueOf()))) {
    throw new TypeError('cookie option maxAge must be a finite number of milliseconds, and expires a valid Date')
  }
  // serialized as every response will be, with 'auto' values resolved as on an insecure request
  const sameSite: unknown = probe.sameSite
  try {
    serializeSessionCookie(name, 'probe', { ...probe.data, sameSite: sameSite === 'auto' ? 'lax' : probe.sameSite })
  } catch (err) {
    const message = (err as Error).message
    throw new TypeError(message.startsWith('argument name')
      ? `name option must be a cookie name (letters, digits and !#$%&'*+-.^_\`|~ only): ${message}`
      : `cookie ${message}`)
  }
}

function isGenid(value: unknown): value is MiddlewareConfig['genid'] {
  return typeof value === 'function'
}

/**
 * Validates `options` and resolves the defaults; `defaultStore` makes the store when none is given. Throws a
 * `TypeError` naming the bad option.
 */
export function resolveOptions(options: SessionOptions | undefined, defaultStore: () => Store): MiddlewareConfig {
  const opts: SessionOptions = options ?? {}
  // eslint-disable-next-line @typescript-eslint/unbound-method -- read as a value to be validated, then called plainly
  const genid: unknown = opts.genid ?? generateSessionId
  if (!isGenid(genid)) throw new TypeError('genid option must be a function')

  const name = opts.name || opts.key || 'connect.sid'
  if (typeof name !== 'string') throw new TypeError('name option must be a string')

  let resave: unknown = opts.resave
  if (resave === undefined) {
    deprecate('undefined resave option; provide resave option')
    resave = true
  }
  let saveUninitialized: unknown = opts.saveUninitialized
  if (saveUninitialized === undefined) {
    deprecate('undefined saveUninitialized option; provide saveUninitialized option')
    saveUninitialized = true
  }

  const unset: unknown = opts.unset
  if (unset && unset !== 'destroy' && unset !== 'keep') {
    throw new TypeError('unset option must be "destroy" or "keep"')
  }

  const storeErrors: unknown = opts.storeErrors ?? 'fail'
  if (storeErrors !== 'fail' && storeErrors !== 'continue' && storeErrors !== 'strict') {
    throw new TypeError('storeErrors option must be "fail", "continue" or "strict"')
  }

  const cookie: unknown = opts.cookie ?? {}
  if (typeof cookie === 'object' && cookie !== null) {
    validateCookie(name, cookie)
  } else if (typeof cookie !== 'function') {
    throw new TypeError('cookie option must be an object or a function returning one')
  }

  const store: unknown = opts.store ?? defaultStore()
  if (store === null || typeof store !== 'object' || typeof (store as { on?: unknown }).on !== 'function') {
    throw new TypeError('store option must be a session store (an EventEmitter with get, set and destroy)')
  }

  const secrets = normaliseSecrets(opts.secret)

  return {
    name,
    store: store as Store,
    cookie,
    genid,
    trustProxy: opts.proxy,
    resave: Boolean(resave),
    rolling: Boolean(opts.rolling),
    saveUninitialized: Boolean(saveUninitialized),
    secrets,
    unsetDestroy: opts.unset === 'destroy',
    clearCookieOnDestroy: opts.clearCookieOnDestroy === true,
    absoluteTimeout: optionalMilliseconds(opts.absoluteTimeout, 'absoluteTimeout'),
    // longer delays overflow setTimeout, which then fires at once
    storeTimeout: optionalMilliseconds(opts.storeTimeout, 'storeTimeout', 2 ** 31 - 1),
    continueOnStoreError: storeErrors === 'continue',
    strictSave: storeErrors === 'strict',
  }
}

/** The cookie options in force for `req`. A throwing or non-object `cookie(req)` is reported as an error. */
export function cookieOptionsFor(config: MiddlewareConfig, req: SessionRequest): CookieOptions {
  if (typeof config.cookie !== 'function') return config.cookie
  const options = config.cookie(req)
  if (options === null || typeof options !== 'object') {
    throw new TypeError('cookie option function must return an object of cookie options')
  }
  validateCookie(config.name, options)
  return options
}
