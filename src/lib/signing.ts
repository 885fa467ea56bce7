/**
 * Reading and signing the session ID cookie: `s:<id>.<base64 HMAC-SHA256 without padding>`, URL-encoded on
 * the wire.
 * @internal
 */

import { parse } from 'cookie'
import type { CipherKey } from 'node:crypto'
import { sign, unsign } from 'cookie-signature'
import { debug } from './debug.js'
import { deprecate } from './deprecate.js'
import type { SessionRequest } from '../types.js'

/** Secrets to sign with (the first) and to verify with (all, in turn). */
export type Secrets = readonly [CipherKey, ...CipherKey[]]

/**
 * Decodes one cookie value as the `cookie` 0.7 parser of express-session 1.19.0 does: a value in double quotes
 * (RFC 6265 allows them) loses the quotes, then `%`-escapes are decoded when they are valid.
 */
export function decodeCookieValue(raw: string): string {
  const value = raw.charCodeAt(0) === 0x22 && raw.charCodeAt(raw.length - 1) === 0x22 ? raw.slice(1, -1) : raw
  if (!value.includes('%')) return value
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}

const parseOptions = { decode: decodeCookieValue }

/** Verifies `value` (without its `s:` prefix) with each secret in turn; `false` when none matches. */
export function unsignWithAny(value: string, secrets: Secrets): string | false {
  for (const secret of secrets) {
    const result = unsign(value, secret)
    if (result !== false) return result
  }
  return false
}

/**
 * The session ID in a decoded signed value of `req` (`s:<id>.<signature>`); `undefined` when it is unsigned or its
 * signature does not verify. `source` names what carried it in the debug lines.
 */
export function verifiedId(req: SessionRequest, value: unknown, secrets: Secrets, source = 'cookie'): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined
  if (!value.startsWith('s:')) {
    debug(req, '%s unsigned', source)
    return undefined
  }
  const id = unsignWithAny(value.slice(2), secrets)
  if (id === false) {
    debug(req, '%s signature invalid', source)
    return undefined
  }
  return id
}

/**
 * The session ID the request carries, verified: from the `Cookie` header (the first cookie named `name`),
 * else from cookie-parser's `req.signedCookies` / `req.cookies` (deprecated).
 */
export function readSessionId(req: SessionRequest, name: string, secrets: Secrets): string | undefined {
  const header = req.headers.cookie
  let id: string | undefined
  if (typeof header === 'string' && header !== '') id = verifiedId(req, parse(header, parseOptions)[name], secrets)

  if (!id && req.signedCookies) {
    const value = req.signedCookies[name]
    if (typeof value === 'string' && value !== '') {
      id = value
      deprecate('cookie should be available in req.headers.cookie')
    }
  }

  if (!id && req.cookies) {
    id = verifiedId(req, req.cookies[name], secrets)
    if (id) deprecate('cookie should be available in req.headers.cookie')
  }

  return id
}

/** `s:<id>.<signature>` with the first secret. */
export function signSessionId(id: string, secrets: Secrets): string {
  return 's:' + sign(id, secrets[0])
}
