/**
 * Reading and writing the signed session ID cookie: `s:<id>.<base64 HMAC-SHA256 without padding>`,
 * URL-encoded on the wire.
 * @internal
 */

import { parse, serialize, type SerializeOptions } from 'cookie'
import { sign, unsign } from 'cookie-signature'
import { isPlainCookie, type Cookie, type CookieData } from './cookie.js'
import { utcString } from './date-strings.js'
import { debug } from './debug.js'
import { deprecate } from './deprecate.js'
import type { AnyResponse, SessionRequest } from './types.js'

/** Verifies `value` (without its `s:` prefix) with each secret in turn; `false` when none matches. */
export function unsignWithAny(value: string, secrets: ReadonlyArray<string | Buffer>): string | false {
  for (const secret of secrets) {
    const result = unsign(value, secret)
    if (result !== false) return result
  }
  return false
}

/** Most entries a {@link SignatureCache} map holds before it starts over. */
const CACHE_LIMIT = 1000

/**
 * Recent signing results for one fixed list of secrets, so that a returning client's cookie costs a map
 * lookup instead of URL-decoding it and an HMAC: cookie values that verified, as the client sent them
 * (value → ID), and IDs signed (ID → value). Only values that verified are kept, so nothing an attacker sends
 * without a valid signature is remembered.
 */
export class SignatureCache {
  private readonly verified = new Map<string, string>()
  private readonly signed = new Map<string, string>()

  constructor(readonly secrets: ReadonlyArray<string | Buffer>) {}

  /** The ID of the cookie value `sent` (URL-encoded, as the client sent it) if it verified recently. */
  verifiedId(sent: string): string | undefined {
    return this.verified.get(sent)
  }

  /** Records that the cookie value `sent` verified, carrying `id`. */
  rememberVerified(sent: string, id: string): void {
    remember(this.verified, sent, id)
  }

  /** `s:<id>.<signature>` with the first secret. */
  sign(id: string): string {
    let value = this.signed.get(id)
    if (value === undefined) {
      value = 's:' + sign(id, this.secrets[0]!)
      remember(this.signed, id, value)
    }
    return value
  }
}

function remember(map: Map<string, string>, key: string, value: string): void {
  if (map.size >= CACHE_LIMIT) map.clear()
  map.set(key, value)
}

/** Unsigns a decoded cookie value; `undefined` when it is unsigned or its signature does not verify. */
function unsignRaw(raw: unknown, secrets: ReadonlyArray<string | Buffer>): string | undefined {
  if (typeof raw !== 'string' || raw === '') return undefined
  if (!raw.startsWith('s:')) {
    debug('cookie unsigned')
    return undefined
  }
  const id = unsignWithAny(raw.slice(2), secrets)
  if (id === false) {
    debug('cookie signature invalid')
    return undefined
  }
  return id
}

/** `cookie`'s parse option that keeps values as sent: they are decoded only when not found in the cache. */
const AS_SENT = { decode: (value: string): string => value }

/** URL-decodes a cookie value as `cookie.parse` does: left as it is when it is not valid percent-encoding. */
function decodeCookieValue(value: string): string {
  if (!value.includes('%')) return value
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

/** The session ID in the cookie value `sent` (URL-encoded), verified; through the cache when there is one. */
function unsignSent(sent: string | undefined, secrets: ReadonlyArray<string | Buffer>, cache: SignatureCache | undefined): string | undefined {
  if (sent === undefined) return undefined
  if (cache === undefined) return unsignRaw(decodeCookieValue(sent), secrets)
  const known = cache.verifiedId(sent)
  if (known !== undefined) return known
  const id = unsignRaw(decodeCookieValue(sent), secrets)
  if (id !== undefined) cache.rememberVerified(sent, id)
  return id
}

/**
 * The session ID the request carries, verified: from the `Cookie` header (first cookie of that name),
 * else from cookie-parser's `req.signedCookies` / `req.cookies` (deprecated).
 */
export function readSessionId(
  req: SessionRequest,
  name: string,
  secrets: ReadonlyArray<string | Buffer>,
  cache?: SignatureCache,
): string | undefined {
  const header = req.headers.cookie
  let id: string | undefined
  if (typeof header === 'string' && header !== '') {
    id = unsignSent(parse(header, AS_SENT)[name], secrets, cache)
  }

  if (!id && req.signedCookies) {
    const value = req.signedCookies[name]
    if (typeof value === 'string' && value !== '') {
      id = value
      deprecate('cookie should be available in req.headers.cookie')
    }
  }

  if (!id && req.cookies) {
    id = unsignRaw(req.cookies[name], secrets)
    if (id) deprecate('cookie should be available in req.headers.cookie')
  }

  return id
}

/**
 * `Set-Cookie` values of the session cookie `name`: exactly `cookie.serialize(name, signed, cookie.data)`, with
 * the attribute text (validated by `cookie`) remembered for the attributes last seen, and `Expires` formatted
 * once per second. Throws what `cookie` throws for attributes it rejects.
 */
export class SessionCookieSerializer {
  private domain: unknown = undefined
  private path: unknown = undefined
  private httpOnly: unknown = undefined
  private secure: unknown = undefined
  private partitioned: unknown = undefined
  private priority: unknown = undefined
  private sameSite: unknown = undefined
  /** `; Domain=...; Path=...` and `; HttpOnly; ...; SameSite=...` for the attributes above; `undefined` before the first. */
  private beforeExpires: string | undefined = undefined
  private afterExpires = ''

  constructor(readonly name: string) {}

  serialize(signed: string, cookie: Cookie): string {
    const expires = isPlainCookie(cookie) ? cookie._expires : false
    // anything but no expiry or a valid Date goes through `cookie`, for its exact errors
    if (expires === false || (expires != null && !(expires instanceof Date && Number.isFinite(expires.getTime())))) {
      return serialize(this.name, signed, cookie.data as SerializeOptions)
    }
    if (this.beforeExpires === undefined || !this.holds(cookie)) this.remember(cookie)
    const text = this.name + '=' + encodeURIComponent(signed) + this.beforeExpires!
    return expires == null ? text + this.afterExpires : text + '; Expires=' + utcString(expires.getTime()) + this.afterExpires
  }

  /** Whether the remembered attribute text is `cookie`'s. */
  private holds(cookie: Cookie): boolean {
    return this.domain === cookie.domain && this.path === cookie.path && this.httpOnly === cookie.httpOnly &&
      this.secure === cookie.secure && this.partitioned === cookie.partitioned && this.priority === cookie.priority &&
      this.sameSite === cookie.sameSite
  }

  /** Builds (and validates, through `cookie`) the attribute text of `cookie`. */
  private remember(cookie: Cookie): void {
    const { domain, path, httpOnly, secure, partitioned, priority, sameSite } = cookie
    const all = serialize(this.name, '', { domain, path, httpOnly, secure, partitioned, priority, sameSite } as SerializeOptions)
    const before = serialize(this.name, '', { domain, path } as SerializeOptions)
    Object.assign(this, { domain, path, httpOnly, secure, partitioned, priority, sameSite })
    this.beforeExpires = before.slice(this.name.length + 1)
    this.afterExpires = all.slice(before.length)
  }
}

/** `s:<id>.<signature>`, through the cache when there is one. */
export function signSessionId(id: string, secrets: ReadonlyArray<string | Buffer>, cache: SignatureCache | undefined): string {
  return cache !== undefined ? cache.sign(id) : 's:' + sign(id, secrets[0]!)
}

/** Appends a `Set-Cookie` header, keeping any set before. */
export function appendSetCookie(res: AnyResponse, value: string): void {
  const previous = res.getHeader('Set-Cookie')
  let header: string | string[]
  if (previous === undefined) header = [value]
  else if (Array.isArray(previous)) header = [...previous, value]
  else header = [String(previous), value]
  res.setHeader('Set-Cookie', header)
}

/** A `Set-Cookie` value that expires the cookie `name` set with `options` (same path and domain). */
export function serializeClearingCookie(name: string, options: Partial<CookieData>): string {
  return serialize(name, '', {
    path: options.path ?? '/',
    domain: options.domain,
    httpOnly: options.httpOnly ?? true,
    secure: options.secure,
    sameSite: options.sameSite,
    partitioned: options.partitioned,
    expires: new Date(0),
  } as SerializeOptions)
}
