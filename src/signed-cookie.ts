/**
 * Reading and writing the signed session ID cookie: `s:<id>.<base64 HMAC-SHA256 without padding>`,
 * URL-encoded on the wire.
 * @internal
 */

import { parse, serialize, type SerializeOptions } from 'cookie'
import { sign, unsign } from 'cookie-signature'
import debugFactory from 'debug'
import type { CookieData } from './cookie.js'
import { deprecate } from './deprecate.js'
import type { AnyResponse, SessionRequest } from './types.js'

const debug = debugFactory('express-session')

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
 * lookup instead of an HMAC: cookie values that verified (value → ID) and IDs signed (ID → value). Only
 * values that verified are kept, so nothing an attacker sends without a valid signature is remembered.
 */
export class SignatureCache {
  private readonly verified = new Map<string, string>()
  private readonly signed = new Map<string, string>()

  constructor(readonly secrets: ReadonlyArray<string | Buffer>) {}

  /** The ID inside the signed cookie value `raw` (`s:<id>.<signature>`), or `false`. */
  unsign(raw: string): string | false {
    const hit = this.verified.get(raw)
    if (hit !== undefined) return hit
    const id = unsignWithAny(raw.slice(2), this.secrets)
    if (id !== false) remember(this.verified, raw, id)
    return id
  }

  /** `s:<id>.<signature>` with the first secret. */
  sign(id: string): string {
    let value = this.signed.get(id)
    if (value === undefined) {
      value = 's:' + sign(id, this.secrets[0]!)
      remember(this.signed, id, value)
      remember(this.verified, value, id)
    }
    return value
  }
}

function remember(map: Map<string, string>, key: string, value: string): void {
  if (map.size >= CACHE_LIMIT) map.clear()
  map.set(key, value)
}

/** Unsigns a raw cookie value; `undefined` when it is unsigned or its signature does not verify. */
function unsignRaw(raw: unknown, secrets: ReadonlyArray<string | Buffer>, cache: SignatureCache | undefined): string | undefined {
  if (typeof raw !== 'string' || raw === '') return undefined
  if (!raw.startsWith('s:')) {
    debug('cookie unsigned')
    return undefined
  }
  const id = cache !== undefined ? cache.unsign(raw) : unsignWithAny(raw.slice(2), secrets)
  if (id === false) {
    debug('cookie signature invalid')
    return undefined
  }
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
    id = unsignRaw(parse(header)[name], secrets, cache)
  }

  if (!id && req.signedCookies) {
    const value = req.signedCookies[name]
    if (typeof value === 'string' && value !== '') {
      id = value
      deprecate('cookie should be available in req.headers.cookie')
    }
  }

  if (!id && req.cookies) {
    id = unsignRaw(req.cookies[name], secrets, cache)
    if (id) deprecate('cookie should be available in req.headers.cookie')
  }

  return id
}

/** The `Set-Cookie` value carrying the signed ID `signed`. Throws on attributes `cookie` rejects. */
export function serializeSessionCookie(name: string, signed: string, data: CookieData): string {
  return serialize(name, signed, data as SerializeOptions)
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
