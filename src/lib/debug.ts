/**
 * The package's `DEBUG=express-session` output. Every line goes through {@link debug}, which returns at once
 * when that output is off: the `debug` package's own function allocates an array for its arguments on every
 * call, on or off, and the request path makes several.
 *
 * A line about a request starts with its method and path (`GET /account saving <id>`), so that the lines of
 * one request can be picked out. The output shows session IDs, never a cookie's signature.
 * @internal
 */

import type { IncomingMessage } from 'node:http'
import debugFactory from 'debug'
import parseUrl from 'parseurl'

const output = debugFactory('express-session')

/** `GET /path` of a request (the path without its query string, which may carry secrets); `undefined` for none. */
function requestLabel(req: object): string | undefined {
  const { method } = req as { method?: unknown }
  if (typeof method !== 'string') return undefined
  let pathname: string | null | undefined
  try {
    pathname = parseUrl.original(req as IncomingMessage)?.pathname
  } catch {
    // a URL parseurl cannot read: the method alone
  }
  return typeof pathname === 'string' ? `${method} ${pathname}` : method
}

/**
 * `debug('express-session')(format, a, b, c)` when `DEBUG` enables it; nothing otherwise. `req`, the request
 * the line is about (`undefined` for none), prefixes the line with its method and path.
 */
export function debug(req: object | undefined, format: string, a?: unknown, b?: unknown, c?: unknown): void {
  if (!output.enabled) return
  // only the arguments given: the debug package prints any extra one
  const args = [a, b, c].slice(0, arguments.length - 2)
  const label = req === undefined ? undefined : requestLabel(req)
  if (label === undefined) output(format, ...args)
  else output('%s ' + format, label, ...args)
}

/**
 * `Set-Cookie` header `name=s%3A<id>.<signature>; ...` with the signature replaced by `<redacted>`: what the
 * `set-cookie` line shows.
 */
export function redactSignature(header: string): string {
  const semicolon = header.indexOf(';')
  const end = semicolon === -1 ? header.length : semicolon
  const equals = header.indexOf('=')
  const dot = header.lastIndexOf('.', end - 1)
  // a value without a dot after the name has no recognizable signature: none of it is shown
  const keep = dot > equals ? dot + 1 : equals + 1
  return header.slice(0, keep) + '<redacted>' + header.slice(end)
}

/** Logs the `Set-Cookie` header written for `req`, its signature redacted (see {@link redactSignature}). */
export function debugSetCookie(req: object, header: string): void {
  if (output.enabled) debug(req, 'set-cookie %s', redactSignature(header))
}
