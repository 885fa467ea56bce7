/**
 * `session(options)` normalised and validated once, at construction.
 * @internal
 */

import { serialize, type SerializeOptions } from 'cookie'
import uid from 'uid-safe'
import { Cookie } from './cookie.js'
import { deprecate } from './deprecate.js'
import { SessionCookieSerializer, SignatureCache } from './signed-cookie.js'
import { MemoryStore } from './memory-store.js'
import type { Store } from './store.js'
import type { CookieOptions, SessionOptions, SessionRequest, StoreErrorPolicy } from './types.js'

/** Everything the middleware needs, resolved from the options. */
export interface MiddlewareConfig {
  name: string
  store: Store
  /** The static cookie options, or `undefined` when `cookie` is a function. */
  cookieObject: CookieOptions | undefined
  cookieFunction: ((req: SessionRequest) => CookieOptions) | undefined
  genid: (req: SessionRequest) => unknown
  trustProxy: boolean | undefined
  resave: boolean
  rolling: boolean
  saveUninitialized: boolean
  /** Secrets to sign with (first) and verify with (all); `undefined` to use `req.secret`. */
  secrets: ReadonlyArray<string | Buffer> | undefined
  /** Recent signatures for `secrets` (absent with `req.secret`, which may change per request). */
  signatures: SignatureCache | undefined
  /** Builds the session cookie's `Set-Cookie` values. */
  setCookie: SessionCookieSerializer
  unsetDestroy: boolean
  clearCookieOnDestroy: boolean
  absoluteTimeout: number
  storeTimeout: number
  continueOnStoreError: boolean
}

/** IDs generated per call to the random source: one `uid-safe` string cut into 32-character IDs. */
const IDS_PER_BATCH = 64
/** 24 bytes are exactly 32 base64url characters, so each slice is the encoding of its own 24 random bytes. */
const ID_LENGTH = 32
let idBatch = ''
let idOffset = 0

/**
 * The default ID: 24 random bytes from the CSPRNG, base64url (32 characters, 192 bits). The random bytes
 * are drawn 64 IDs at a time, which costs one system call instead of 64.
 */
export function generateSessionId(): string {
  if (idOffset === idBatch.length) {
    idBatch = uid.sync(24 * IDS_PER_BATCH)
    idOffset = 0
  }
  const id = idBatch.slice(idOffset, idOffset + ID_LENGTH)
  idOffset += ID_LENGTH
  return id
}

const PRODUCTION_WARNING =
  'Warning: connect.session() MemoryStore is not\n' +
  'designed for a production environment: it keeps sessions in this\n' +
  'process only, so they are lost on restart and not shared between processes.\n' +
  'Expired sessions are swept, but sessions without cookie.maxAge never expire:\n' +
  'bound their number with new MemoryStore({ max }).\n' +
  'Use a shared store (Redis, PostgreSQL, ...) in production.'

let warnedProduction = false

function optionalMilliseconds(value: unknown, name: string, max = Infinity): number {
  if (value === undefined || value === null || value === 0) return 0
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value) || value > max) {
    const range = max === Infinity ? 'a positive, finite number of milliseconds' : `a number of milliseconds from 1 to ${max}`
    throw new TypeError(`${name} option must be ${range}, or 0 for none (got ${typeof value === 'number' ? value : typeof value})`)
  }
  return value
}

function normaliseSecrets(secret: SessionOptions['secret']): ReadonlyArray<string | Buffer> | undefined {
  if (Array.isArray(secret)) {
    if (secret.length === 0) throw new TypeError('secret option array must contain one or more strings')
    return secret.slice()
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
    serialize(name, 'probe', { ...probe.data, sameSite: sameSite === 'auto' ? 'lax' : probe.sameSite } as SerializeOptions)
  } catch (err) {
    const message = (err as Error).message
    throw new TypeError(message.startsWith('argument name')
      ? `name option must be a cookie name (letters, digits and !#$%&'*+-.^_\`|~ only): ${message}`
      : `cookie ${message}`)
  }
}

/** Validates `options` and resolves the defaults. Throws a `TypeError` naming the bad option. */
export function resolveOptions(options: SessionOptions | undefined): MiddlewareConfig {
  const opts: SessionOptions = options ?? {}
  const genid = opts.genid ?? generateSessionId
  if (typeof genid !== 'function') throw new TypeError('genid option must be a function')

  const name = opts.name || opts.key || 'connect.sid'
  if (typeof name !== 'string') throw new TypeError('name option must be a string')

  let resave = opts.resave
  if (resave === undefined) {
    deprecate('undefined resave option; provide resave option')
    resave = true
  }
  let saveUninitialized = opts.saveUninitialized
  if (saveUninitialized === undefined) {
    deprecate('undefined saveUninitialized option; provide saveUninitialized option')
    saveUninitialized = true
  }

  if (opts.unset && opts.unset !== 'destroy' && opts.unset !== 'keep') {
    throw new TypeError('unset option must be "destroy" or "keep"')
  }

  const storeErrors: StoreErrorPolicy = opts.storeErrors ?? 'fail'
  if (storeErrors !== 'fail' && storeErrors !== 'continue') {
    throw new TypeError('storeErrors option must be "fail" or "continue"')
  }

  const cookie = opts.cookie ?? {}
  let cookieObject: CookieOptions | undefined
  let cookieFunction: MiddlewareConfig['cookieFunction']
  if (typeof cookie === 'function') {
    cookieFunction = cookie as (req: SessionRequest) => CookieOptions
  } else if (typeof cookie === 'object' && cookie !== null) {
    cookieObject = cookie
    validateCookie(name, cookie)
  } else {
    throw new TypeError('cookie option must be an object or a function returning one')
  }

  const store = opts.store ?? new MemoryStore()
  if (store === null || typeof store !== 'object' || typeof store.on !== 'function') {
    throw new TypeError('store option must be a session store (an EventEmitter with get, set and destroy)')
  }

  const secrets = normaliseSecrets(opts.secret)

  if (process.env.NODE_ENV === 'production' && store instanceof MemoryStore && !warnedProduction) {
    warnedProduction = true
    console.warn(PRODUCTION_WARNING)
  }

  return {
    name,
    store,
    cookieObject,
    cookieFunction,
    genid: genid as (req: SessionRequest) => unknown,
    trustProxy: opts.proxy,
    resave: Boolean(resave),
    rolling: Boolean(opts.rolling),
    saveUninitialized: Boolean(saveUninitialized),
    secrets,
    signatures: secrets === undefined ? undefined : new SignatureCache(secrets),
    setCookie: new SessionCookieSerializer(name),
    unsetDestroy: opts.unset === 'destroy',
    clearCookieOnDestroy: opts.clearCookieOnDestroy === true,
    absoluteTimeout: optionalMilliseconds(opts.absoluteTimeout, 'absoluteTimeout'),
    // longer delays overflow setTimeout, which then fires at once
    storeTimeout: optionalMilliseconds(opts.storeTimeout, 'storeTimeout', 2 ** 31 - 1),
    continueOnStoreError: storeErrors === 'continue',
  }
}

/** The cookie options in force for `req`. A throwing or non-object `cookie(req)` is reported as an error. */
export function cookieOptionsFor(config: MiddlewareConfig, req: SessionRequest): CookieOptions {
  if (config.cookieObject !== undefined) return config.cookieObject
  const options = config.cookieFunction!(req)
  if (options === null || typeof options !== 'object') {
    throw new TypeError('cookie option function must return an object of cookie options')
  }
  validateCookie(config.name, options)
  return options
}
