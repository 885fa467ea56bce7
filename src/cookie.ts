import { serialize, type SerializeOptions } from 'cookie'
import { isoString } from './date-strings.js'
import { deprecate } from './deprecate.js'

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

/**
 * The session ID cookie of one session. `expires` is the source of truth; `maxAge` reads and writes it
 * in milliseconds from now, and `originalMaxAge` remembers the lifetime it was given.
 */
export class Cookie {
  /** Lifetime in ms this cookie was given, or `null` for a browser-session cookie. */
  declare originalMaxAge: number | null
  declare partitioned?: boolean
  declare priority?: 'low' | 'medium' | 'high'
  declare secure?: boolean
  declare httpOnly: boolean
  declare domain?: string
  declare path: string
  declare sameSite?: SameSiteOption
  /** Backing field of `expires`; an own property because stores read it (express-mysql-session). */
  declare _expires: Date | null | undefined

  constructor(options?: CookieInit | null) {
    this.path = '/'
    this.maxAge = null
    this.httpOnly = true

    if (options) {
      if (typeof options !== 'object') {
        throw new TypeError('argument options must be a object')
      }
      for (const key in options) {
        if (key !== 'data') (this as Record<string, unknown>)[key] = options[key]
      }
    }

    if (this.originalMaxAge === undefined || this.originalMaxAge === null) {
      this.originalMaxAge = this.maxAge
    }
  }

  /** When the cookie expires, or `null`/`undefined` for a browser-session cookie. */
  get expires(): Date | null | undefined {
    return this._expires
  }

  set expires(date: Date | null | undefined) {
    this._expires = date
    this.originalMaxAge = this.maxAge
  }

  /** Milliseconds left before the cookie expires; setting it moves `expires` to now + ms. */
  get maxAge(): number | null {
    const expires = this._expires
    return expires instanceof Date ? expires.valueOf() - Date.now() : (expires as null)
  }

  set maxAge(ms: number | Date | null | undefined) {
    if (ms && typeof ms !== 'number' && !(ms instanceof Date)) {
      throw new TypeError('maxAge must be a number or Date')
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
    return {
      originalMaxAge: this.originalMaxAge,
      partitioned: this.partitioned,
      priority: this.priority,
      expires: this._expires,
      secure: this.secure,
      httpOnly: this.httpOnly,
      domain: this.domain,
      path: this.path,
      sameSite: this.sameSite,
    }
  }

  /** Serializes a `Set-Cookie` header value for `name=value` with this cookie's attributes. */
  serialize(name: string, value: string): string {
    return serialize(name, value, this.data as SerializeOptions)
  }

  /** The JSON form stores persist: exactly the keys of {@link Cookie.data}. */
  toJSON(): CookieData {
    return this.data
  }
}

// As in 1.x, the prototype's members are enumerable (a `for...in` over a cookie sees them).
for (const key of ['expires', 'maxAge', 'data', 'serialize', 'toJSON'] as const) {
  const descriptor = Object.getOwnPropertyDescriptor(Cookie.prototype, key)!
  Object.defineProperty(Cookie.prototype, key, { ...descriptor, enumerable: true })
}

const cookieToJSON = Cookie.prototype.toJSON

/** Whether `value` is a `Cookie` itself (not a subclass), serialized by `Cookie.prototype.toJSON`. */
export function isPlainCookie(value: unknown): value is Cookie {
  return value instanceof Cookie && Object.getPrototypeOf(value) === Cookie.prototype && value.toJSON === cookieToJSON
}

const dateToJSON = Date.prototype.toJSON
/** Strings JSON writes as they are: printable ASCII without `"` and `\\`. */
const PLAIN_STRING = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

/**
 * `"key":<JSON of value>` as `JSON.stringify` writes a member; `''` for a member it omits (`undefined`);
 * `undefined` when the value needs `JSON.stringify` itself (objects, functions, dates with their own `toJSON`).
 */
function jsonMember(key: string, value: unknown): string | undefined {
  switch (typeof value) {
    case 'undefined':
      return ''
    case 'boolean':
      return '"' + key + '":' + value
    case 'number':
      return '"' + key + '":' + (Number.isFinite(value) ? String(value) : 'null')
    case 'string':
      return '"' + key + '":' + (PLAIN_STRING.test(value) ? '"' + value + '"' : JSON.stringify(value))
    case 'object':
      if (value === null) return '"' + key + '":null'
      if (value instanceof Date && value.toJSON === dateToJSON) {
        const time = value.getTime()
        return '"' + key + '":' + (Number.isNaN(time) ? 'null' : '"' + isoString(time) + '"')
      }
      return undefined
    default:
      return undefined
  }
}

/**
 * `JSON.stringify(cookie)`, the same text, without building `cookie.data` and with dates formatted once per
 * second: what stores write on every save and touch.
 */
export function cookieJson(cookie: unknown): string {
  if (!isPlainCookie(cookie)) return JSON.stringify(cookie)
  const members = [
    jsonMember('originalMaxAge', cookie.originalMaxAge),
    jsonMember('partitioned', cookie.partitioned),
    jsonMember('priority', cookie.priority),
    jsonMember('expires', cookie._expires),
    jsonMember('secure', cookie.secure),
    jsonMember('httpOnly', cookie.httpOnly),
    jsonMember('domain', cookie.domain),
    jsonMember('path', cookie.path),
    jsonMember('sameSite', cookie.sameSite),
  ]
  let json = ''
  for (const member of members) {
    if (member === undefined) return JSON.stringify(cookie)
    if (member !== '') json = json === '' ? member : json + ',' + member
  }
  return '{' + json + '}'
}
