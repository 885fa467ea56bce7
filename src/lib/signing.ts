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

/** A session ID a request carried, verified. */
export interface VerifiedId {
  id: string
  /**
   * The signed value as received (`s:<id>.<signature>`) when the first secret signed it: exactly what
   * {@link signSessionId} gives for `id`, so a response can send it back without signing again. `undefined` when an
   * older secret signed it, or the value came already unsigned (cookie-parser's `req.signedCookies`).
   */
  signed: string | undefined
}

/**
 * Verifies `value` (without its `s:` prefix) with each secret in turn; `false` when none matches. A match is
 * byte for byte: the value is the ID signed with that secret.
 */
function unsignWithAny(value: string, secrets: Secrets): { id: string; first: boolean } | false {
  for (let i = 0; i < secrets.length; i++) {
    const id = unsign(value, secrets[i])
    if (id !== false) return { id, first: i === 0 }
  }
  return false
}

/**
 * The session ID in a decoded signed value of `req` (`s:<id>.<signature>`); `undefined` when it is unsigned or its
 * signature does not verify. `source` names what carried it in the debug lines.
 */
export function verifiedId(req: SessionRequest, value: unknown, secrets: Secrets, source = 'cookie'): VerifiedId | undefined {
  if (typeof value !== 'string' || value === '') return undefined
  if (!value.startsWith('s:')) {
    debug(req, '%s unsigned', source)
    return undefined
  }
  const verified = unsignWithAny(value.slice(2), secrets)
  if (verified === false) {
    debug(req, '%s signature invalid', source)
    return undefined
  }
  return { id: verified.id, signed: verified.first ? value : undefined }
}

/**
 * The session ID the request carries, verified: from the `Cookie` header (the first cookie named `name`),
 * else from cookie-parser's `req.signedCookies` / `req.cookies` (deprecated).
 */
export function readSessionId(req: SessionRequest, name: string, secrets: Secrets): VerifiedId | undefined {
  const header = req.headers.cookie
  let verified: VerifiedId | undefined
  if (typeof header === 'string' && header !== '') verified = verifiedId(req, parse(header, parseOptions)[name], secrets)

  if (!verified?.id && req.signedCookies) {
    const value = req.signedCookies[name]
    if (typeof value === 'string' && value !== '') {
      verified = { id: value, signed: undefined }
      deprecate('cookie should be available in req.headers.cookie')
    }
  }

  if (!verified?.id && req.cookies) {
    verified = verifiedId(req, req.cookies[name], secrets)
    if (verified?.id) deprecate('cookie should be available in req.headers.cookie')
  }

  return verified
}

/** `s:<id>.<signature>` with the first secret. */
export function signSessionId(id: string, secrets: Secrets): string {
  return 's:' + sign(id, secrets[0])
}
