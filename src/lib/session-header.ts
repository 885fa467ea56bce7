/**
 * The session ID in a request and response header (the `header` option), for clients without cookies: the
 * signed value the cookie carries, `s:<id>.<signature>`, without its URL-encoding.
 * @internal
 */

import type { AnyResponse, SessionRequest } from '../types.js'
import { debug } from './debug.js'
import { decodeCookieValue, verifiedId, type Secrets, type VerifiedId } from './signing.js'

/**
 * The longest header value read, in characters: a default signed ID is 78; anything longer than this is not one
 * this middleware sent (a custom `genid` would have to make IDs of some 950 characters).
 */
export const MAX_HEADER_VALUE_LENGTH = 1024

/**
 * A signed ID sent as it is: visible ASCII without the comma, which joins repeated header lines, and the `%`,
 * which reading decodes.
 */
const PLAIN_HEADER_VALUE = /^[\x21-\x24\x26-\x2b\x2d-\x7e]+$/

/**
 * The verified session ID in request header `name` (lower case), if any. A value sent twice (Node joins repeated
 * lines with commas), longer than {@link MAX_HEADER_VALUE_LENGTH}, unsigned or whose signature no secret
 * verifies is ignored, with a debug line, as a bad cookie is. The URL-encoded form (`s%3A...`) is accepted too.
 * A value an older secret signed has no `signed`: the response sends it signed with the first, so that the client
 * follows a rotation.
 */
export function readSessionIdHeader(req: SessionRequest, name: string | undefined, secrets: Secrets): VerifiedId | undefined {
  if (name === undefined) return undefined
  const value: unknown = req.headers[name]
  if (value === undefined || value === '') return undefined
  if (typeof value !== 'string' || value.includes(',')) {
    debug(req, '%s header has several values, ignored', name)
    return undefined
  }
  if (value.length > MAX_HEADER_VALUE_LENGTH) {
    debug(req, '%s header longer than %s characters, ignored', name, MAX_HEADER_VALUE_LENGTH)
    return undefined
  }
  return verifiedId(req, decodeCookieValue(value), secrets, `${name} header`)
}

/**
 * A response that carries a session ID in a header must not be kept by a shared cache: without a `Set-Cookie`
 * (`cookie: false`), caches and CDNs would store it like any other response and give the ID to other clients.
 * Sets `Cache-Control: private, no-store` unless the application set a `Cache-Control` itself.
 */
export function keepOutOfSharedCaches(res: AnyResponse): void {
  if (!res.hasHeader('cache-control')) res.setHeader('Cache-Control', 'private, no-store')
}

/**
 * The response header value for signed ID `signed`: as it is, or URL-encoded (as the cookie is) when a custom
 * `genid` put characters in it that a header cannot carry as one value.
 */
export function sessionHeaderValue(signed: string): string {
  return PLAIN_HEADER_VALUE.test(signed) ? signed : encodeURIComponent(signed)
}

/** Removes response header `name` when it still is `value`, the one this middleware set. */
export function removeSessionHeader(res: AnyResponse, name: string, value: string): void {
  if (res.getHeader(name) === value) res.removeHeader(name)
}
