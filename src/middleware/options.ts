/**
 * `session(options)` normalised and validated once, at construction.
 * @internal
 */

import { Cookie, MAX_AGE_ACCEPTED, MAX_AGE_HINT } from '../core/cookie.js'
import type { Session } from '../core/session.js'
import type { Store } from '../core/store.js'
import { deprecate, warnOnce } from '../lib/deprecate.js'
import { describeValue, optionMessage } from '../lib/describe-value.js'
import { generateSessionId } from '../lib/ids.js'
import { ACCEPTED, refusedAttribute, type CheckedAttribute } from '../lib/set-cookie.js'
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
  /** The `concurrency` option (`undefined`: patch when the store can, else overwrite). */
  concurrency: 'serialize' | 'overwrite' | undefined
  /** The `owner` option: names the user a session belongs to. */
  owner: ((session: Session) => unknown) | undefined
  /** `track: true`: record created, last seen and User-Agent in each session. */
  track: boolean
  /** The `header` option, lower-cased: the request header carrying the signed session ID, if any. */
  header: string | undefined
  /** Whether the session cookie is sent (`false` only with `cookie: false` and a `header`). */
  sendCookie: boolean
  /** The `touchAfter` option (ms, 0: touch on every request that changed nothing). */
  touchAfter: number
}

/** Header names as RFC 9110 §5.1 allows them (a token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** Header names that cannot carry a session ID: the request's own framing and cookies. */
const RESERVED_HEADERS = new Set(['cookie', 'set-cookie', 'host', 'content-length', 'transfer-encoding', 'connection'])

function headerOption(value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !HEADER_NAME.test(value) || RESERVED_HEADERS.has(value.toLowerCase())) {
    throw new TypeError(optionMessage('header option', 'an HTTP header name such as "x-session-id" (not cookie, set-cookie, host or a framing header)', value))
  }
  return value.toLowerCase()
}

function optionalMilliseconds(value: unknown, name: string, max = Infinity): number {
  if (value === undefined || value === null || value === 0) return 0
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value) || value > max) {
    const range = max === Infinity ? 'a positive, finite number of milliseconds' : `a number of milliseconds from 1 to ${max}`
    throw new TypeError(optionMessage(`${name} option`, `${range}, or 0 for none`, value))
  }
  return value
}

const SECRET_ACCEPTED = 'a non-empty string or Buffer, or an array of them (the first signs, all verify)'
const SECRET_HINT = 'set it to a long random value, e.g. session({ secret: process.env.SESSION_SECRET }) with that ' +
  'variable set, or leave it out and mount cookie-parser with a secret before the session middleware'

function isEmptySecret(secret: unknown): boolean {
  return secret === '' || (Buffer.isBuffer(secret) && secret.length === 0)
}

/** The secrets to sign with; `undefined` (after a warning) when `req.secret` is to be used. An empty secret throws. */
function normaliseSecrets(secret: SessionOptions['secret']): Secrets | undefined {
  if (Array.isArray(secret)) {
    const empty = secret.findIndex(isEmptySecret)
    if (secret.length === 0 || empty !== -1) {
      // an empty secret would sign with an empty HMAC key; the value of a secret is never shown
      const got = empty === -1 ? 'an empty array' : `an array whose item ${empty} is ${describeValue(secret[empty])}`
      throw new TypeError(`secret option must be ${SECRET_ACCEPTED} (got ${got}); ${SECRET_HINT}`)
    }
    // a non-string, non-Buffer member fails when it is used to sign, as in 1.19.0
    return secret.slice() as unknown as Secrets
  }
  if (isEmptySecret(secret)) throw new TypeError(optionMessage('secret option', SECRET_ACCEPTED, secret, SECRET_HINT))
  if (secret) return [secret]
  warnOnce('EXPRESS_SESSION_NO_SECRET')
  return undefined
}

/** Where the cookie settings being checked come from: the option itself, or what `cookie(req)` returned. */
type CookieSource = 'option' | 'function'

function cookieOptionName(key: string, source: CookieSource): string {
  return source === 'option' ? `cookie.${key} option` : `cookie.${key} option (returned by the cookie function)`
}

/** What the option accepts for each checked cookie attribute: the serializer's rules, and `'auto'` for sameSite. */
const COOKIE_ACCEPTED: Readonly<Record<Exclude<CheckedAttribute, 'name'>, string>> = {
  ...ACCEPTED,
  sameSite: 'true, false, "lax", "strict", "none" or "auto"',
}

/** The last of `maxAge` and `expires` in `cookie`: the one that set the cookie's expiry date (the last one wins). */
function expirySetter(cookie: object): 'maxAge' | 'expires' {
  let last: 'maxAge' | 'expires' = 'expires'
  for (const key in cookie) {
    if (key === 'maxAge' || key === 'expires') last = key
  }
  return last
}

/**
 * Throws a `TypeError` naming the option for cookie settings that could never be sent (bad maxAge, expires,
 * domain, path, sameSite or priority), instead of failing on every response after its headers are written.
 */
function validateCookie(name: string, cookie: CookieOptions, source: CookieSource): void {
  const settings = cookie as Record<string, unknown>
  const maxAge = settings.maxAge
  if (maxAge && typeof maxAge !== 'number' && !(maxAge instanceof Date)) {
    throw new TypeError(optionMessage(cookieOptionName('maxAge', source), MAX_AGE_ACCEPTED, maxAge, MAX_AGE_HINT))
  }
  const probe = new Cookie(settings)
  const expires: unknown = probe.expires
  if (expires && !(expires instanceof Date && Number.isFinite(expires.valueOf()))) {
    const key = expirySetter(cookie)
    throw new TypeError(key === 'maxAge'
      ? optionMessage(cookieOptionName('maxAge', source), MAX_AGE_ACCEPTED, maxAge, MAX_AGE_HINT)
      : optionMessage(cookieOptionName('expires', source), 'a valid Date', settings.expires, 'for a lifetime, give maxAge in milliseconds instead'))
  }
  // serialized as every response will be, with 'auto' values resolved as on an insecure request
  const sameSite: unknown = probe.sameSite
  const refused = refusedAttribute(name, { ...probe.data, sameSite: sameSite === 'auto' ? 'lax' : sameSite })
  if (refused !== undefined && refused !== 'name') {
    throw new TypeError(optionMessage(cookieOptionName(refused, source), COOKIE_ACCEPTED[refused], settings[refused]))
  }
}

/** The cookie name from the `name` (or `key`) option; throws a `TypeError` for one no cookie can have. */
function cookieName(opts: SessionOptions): string {
  // as in 1.19.0 a missing name falls back to key, then the default; an empty one is a mistake, not a default
  if (opts.name === '' || (!opts.name && opts.key === '')) {
    const option = opts.name === '' ? 'name option' : 'key option'
    throw new TypeError(optionMessage(option, ACCEPTED.name, '', 'leave it out for the default, "connect.sid"'))
  }
  const name: unknown = opts.name || opts.key || 'connect.sid'
  if (typeof name !== 'string' || refusedAttribute(name, {}) === 'name') {
    throw new TypeError(optionMessage(opts.name ? 'name option' : 'key option', ACCEPTED.name, name))
  }
  return name
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
  // any falsy value means the default, as in 1.x (`opts.genid || ...`)
  // eslint-disable-next-line @typescript-eslint/unbound-method -- read as a value to be validated, then called plainly
  const genid: unknown = opts.genid || generateSessionId
  if (!isGenid(genid)) {
    throw new TypeError(optionMessage('genid option', 'a function (req) => string, or returning a Promise of a string', genid))
  }

  const name = cookieName(opts)

  let resave: unknown = opts.resave
  if (resave === undefined) {
    deprecate('undefined resave option; provide resave option: resave: false suits most apps and stores (the ' +
      "default, true, writes every session back on every request, which can undo a parallel request's changes); " +
      'keep true only for a store without touch that expires idle sessions')
    resave = true
  }
  let saveUninitialized: unknown = opts.saveUninitialized
  if (saveUninitialized === undefined) {
    deprecate('undefined saveUninitialized option; provide saveUninitialized option: saveUninitialized: false ' +
      'stores a session and sends its cookie only once something is put in it, as login sessions and ' +
      'cookie-consent rules need (the default, true, stores one for every visitor)')
    saveUninitialized = true
  }

  const unset: unknown = opts.unset
  if (unset && unset !== 'destroy' && unset !== 'keep') {
    throw new TypeError(optionMessage('unset option', '"destroy" or "keep"', unset))
  }

  const storeErrors: unknown = opts.storeErrors ?? 'fail'
  if (storeErrors !== 'fail' && storeErrors !== 'continue' && storeErrors !== 'strict') {
    throw new TypeError(optionMessage('storeErrors option', '"fail", "continue" or "strict"', storeErrors))
  }

  const concurrency: unknown = opts.concurrency
  if (concurrency !== undefined && concurrency !== 'serialize' && concurrency !== 'overwrite') {
    throw new TypeError(optionMessage('concurrency option', '"serialize" or "overwrite", or left out (patch when the store has patch)', concurrency))
  }

  const owner: unknown = opts.owner
  if (owner !== undefined && typeof owner !== 'function') {
    throw new TypeError(optionMessage('owner option', 'a function (session) => string | undefined naming the user a session belongs to', owner))
  }
  const track: unknown = opts.track
  if (track !== undefined && typeof track !== 'boolean') {
    throw new TypeError(optionMessage('track option', 'true or false', track))
  }
  const header = headerOption(opts.header)
  // with a header to carry the ID, `cookie: false` turns the cookie off; otherwise any falsy value means no
  // settings, as in 1.x
  const sendCookie = !(header !== undefined && opts.cookie === false)

  // any falsy value means no settings, as in 1.x
  const cookie: unknown = opts.cookie || {}
  if (typeof cookie === 'object' && cookie !== null) {
    validateCookie(name, cookie, 'option')
  } else if (typeof cookie !== 'function') {
    throw new TypeError(optionMessage('cookie option', 'an object of cookie settings or a function (req) => settings', cookie))
  }

  const store: unknown = opts.store ?? defaultStore()
  if (store === null || typeof store !== 'object' || typeof (store as { on?: unknown }).on !== 'function') {
    throw new TypeError(optionMessage('store option', 'a session store: an EventEmitter with get, set and destroy, ' +
      'such as an instance of a class extending session.Store', store,
    typeof store === 'function' ? `pass an instance (new ${store.name || 'Store'}(...)), not the class` : undefined))
  }

  const secrets = normaliseSecrets(opts.secret)
  const touchAfter = optionalMilliseconds(opts.touchAfter, 'touchAfter')
  const maxAge = typeof cookie === 'object' ? (cookie as CookieOptions).maxAge : undefined
  if (touchAfter > 0 && typeof maxAge === 'number' && touchAfter >= maxAge) {
    // the stored expiry would never be pushed forward by a request that changes nothing
    throw new TypeError(optionMessage('touchAfter option', `fewer milliseconds than cookie.maxAge (${maxAge})`, touchAfter,
      'a small part of it, e.g. a minute for a day'))
  }

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
    concurrency,
    owner: owner as MiddlewareConfig['owner'],
    track: track === true,
    header,
    sendCookie,
    touchAfter,
  }
}

/** The cookie options in force for `req`. A throwing or non-object `cookie(req)` is reported as an error. */
export function cookieOptionsFor(config: MiddlewareConfig, req: SessionRequest): CookieOptions {
  if (typeof config.cookie !== 'function') return config.cookie
  const options = config.cookie(req)
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`cookie option function must return an object of cookie settings (got ${describeValue(options)})`)
  }
  validateCookie(config.name, options, 'function')
  return options
}
