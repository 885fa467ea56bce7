import { deprecate } from '../lib/deprecate.js'
import { optionMessage } from '../lib/describe-value.js'
import { serializeSessionCookie } from '../lib/set-cookie.js'

/** `SameSite` values a session cookie accepts; `'auto'` is resolved per request in the options. */
export type SameSiteOption = boolean | 'lax' | 'strict' | 'none'

/** The attributes of the session ID cookie, as stored with the session. */
export interface CookieData {
  originalMaxAge: number | null
  partitioned?: boolean
  priority?: 'low' | 'medium' | 'high'
  expires?: Date | null
  secure?: boolean
  httpOnly?: boolean
  domain?: string
  path?: string
  sameSite?: SameSiteOption
}

/** Options accepted by the `Cookie` constructor (a stored cookie, or the `cookie` middleware option resolved). */
export interface CookieInit {
  maxAge?: number | Date | null
  expires?: Date | string | null
  originalMaxAge?: number | null
  partitioned?: boolean
  priority?: 'low' | 'medium' | 'high'
  secure?: boolean | 'auto'
  httpOnly?: boolean
  domain?: string
  path?: string
  sameSite?: SameSiteOption | 'auto'
  signed?: boolean
  encode?: (value: string) => string
  [key: string]: unknown
}

/** What `maxAge` really is: its declared `number | undefined`, or `null` for a browser-session cookie. */
type BrowserSessionMaxAge = number | null

/**
 * What `cookie.maxAge` accepts, and how to give a lifetime, as error messages say it.
 * @internal
 */
export const MAX_AGE_ACCEPTED = 'a number of milliseconds giving a valid expiry date, or null for a cookie that ends with the browser session'
/** @internal */
export const MAX_AGE_HINT = 'e.g. 3600000 (60 * 60 * 1000) for one hour'

/**
 * The session ID cookie of one session. `expires` is the source of truth; `maxAge` reads and writes it
 * in milliseconds from now, and `originalMaxAge` remembers the lifetime it was given.
 */
export class Cookie {
  /** Lifetime in ms this cookie was given, or `null` for a browser-session cookie. */
  declare originalMaxAge: number | null
  declare partitioned?: boolean
  declare priority?: 'low' | 'medium' | 'high'
  /** `Secure` attribute. `'auto'` is resolved when the middleware creates the cookie; set later, it acts as `true`. */
  declare secure?: boolean | 'auto'
  /** `HttpOnly` attribute (`true` unless the options say otherwise). */
  declare httpOnly?: boolean
  declare domain?: string
  /** `Path` attribute (`'/'` unless the options say otherwise). */
  declare path?: string
  declare sameSite?: SameSiteOption
  /** Kept from the options for compatibility with `@types/express-session`; the ID cookie is always signed. */
  declare signed?: boolean
  /** Backing field of `expires`; an own property because stores read it (express-mysql-session). */
  declare _expires: Date | null | undefined

  constructor(options?: CookieInit | null) {
    this.path = '/'
    this.maxAge = null
    this.httpOnly = true

    if (options) {
      if (typeof options !== 'object') {
        throw new TypeError(optionMessage('Cookie options', 'an object of cookie settings', options))
      }
      for (const key in options) {
        if (key !== 'data') (this as Record<string, unknown>)[key] = options[key]
      }
    }

    // the options may have set it to anything, `undefined` included
    if ((this.originalMaxAge as unknown) === undefined || this.originalMaxAge === null) {
      this.originalMaxAge = this.maxAge as BrowserSessionMaxAge
    }
  }

  /** When the cookie expires, or `null`/`undefined` for a browser-session cookie. */
  get expires(): Date | null | undefined {
    return this._expires
  }

  set expires(date: Date | null | undefined) {
    this._expires = date
    this.originalMaxAge = this.maxAge as BrowserSessionMaxAge
  }

  /**
   * Milliseconds left before the cookie expires; setting it moves `expires` to now + ms. Typed as in
   * `@types/express-session` (`number | undefined`); for a browser-session cookie the value is `null`, as in
   * 1.x, so test it with `typeof cookie.maxAge === 'number'` or `cookie.maxAge == null`.
   */
  get maxAge(): number | undefined {
    const expires = this._expires
    return expires instanceof Date ? expires.valueOf() - Date.now() : (expires as undefined)
  }

  set maxAge(ms: number | Date | null | undefined) {
    if (ms && typeof ms !== 'number' && !(ms instanceof Date)) {
      throw new TypeError(optionMessage('cookie.maxAge', MAX_AGE_ACCEPTED, ms, MAX_AGE_HINT))
    }
    if (ms instanceof Date) {
      deprecate('maxAge as Date; pass number of milliseconds instead')
    }
    if (typeof ms === 'number') {
      // originalMaxAge is exactly `ms`: recomputing it from `expires` (as 1.x does) gives ms - 1 whenever the
      // clock ticks in between, and every touch() could then shorten it by another millisecond
      this._expires = new Date(Date.now() + ms)
      this.originalMaxAge = ms
      return
    }
    this.expires = ms
  }

  /** The attributes as a plain object: what stores persist and what `Set-Cookie` is built from. */
  get data(): CookieData {
    return attributesOf(this, this._expires)
  }

  /** Serializes a `Set-Cookie` header value for `name=value` with this cookie's attributes. */
  serialize(name: string, value: string): string {
    return serializeSessionCookie(name, value, this)
  }

  /** The JSON form stores persist: exactly the keys of {@link Cookie.data}. */
  toJSON(): CookieData {
    return this.data
  }
}

/** The attributes of `cookie` as {@link Cookie.data} lists them, with `expires` as given. */
function attributesOf<E>(cookie: Cookie, expires: E): Omit<CookieData, 'expires'> & { expires: E } {
  return {
    originalMaxAge: cookie.originalMaxAge,
    partitioned: cookie.partitioned,
    priority: cookie.priority,
    expires,
    // 'auto' set on a live cookie is passed on as it is (truthy: `Secure`), as in 1.x
    secure: cookie.secure as boolean | undefined,
    httpOnly: cookie.httpOnly,
    domain: cookie.domain,
    path: cookie.path,
    sameSite: cookie.sameSite,
  }
}

/**
 * `JSON.stringify(cookie)`, in less time for a {@link Cookie}: its expiry is written as `Date#toJSON` writes it
 * before the rest is serialized, where the engine would call `toJSON` on the cookie and then on the Date, its slow
 * path (about twice the time). Anything else, and a cookie or Date whose `toJSON` is not the standard one, goes to
 * `JSON.stringify` as it is.
 */
export function cookieJson(cookie: unknown): string | undefined {
  if (!(cookie instanceof Cookie) || cookie.toJSON !== Cookie.prototype.toJSON) return JSON.stringify(cookie)
  const expires = cookie._expires
  if (!(expires instanceof Date)) return JSON.stringify(attributesOf(cookie, expires))
  if (expires.toJSON !== Date.prototype.toJSON) return JSON.stringify(cookie)
  // Date#toJSON: null for an invalid date, else its ISO string
  return JSON.stringify(attributesOf(cookie, Number.isFinite(expires.getTime()) ? expires.toISOString() : null))
}

/** The expiry (ms since the epoch) of a live or stored cookie; `undefined` when it has none or an invalid one. */
export function expiryTime(cookie: unknown): number | undefined {
  if (cookie === null || typeof cookie !== 'object') return undefined
  const expires = (cookie as { expires?: unknown }).expires
  if (expires == null || expires === false) return undefined
  const time = expires instanceof Date ? expires.getTime() : new Date(expires as string).getTime()
  return Number.isNaN(time) ? undefined : time
}

// As in 1.x, the prototype's members are enumerable (a `for...in` over a cookie sees them).
for (const key of ['expires', 'maxAge', 'data', 'serialize', 'toJSON'] as const) {
  const descriptor = Object.getOwnPropertyDescriptor(Cookie.prototype, key)
  if (descriptor !== undefined) Object.defineProperty(Cookie.prototype, key, { ...descriptor, enumerable: true })
}
