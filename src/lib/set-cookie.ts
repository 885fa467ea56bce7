/**
 * `Set-Cookie` header values of the session cookie, built by the `cookie` package's serializer.
 * @internal
 */

import { serialize, type SerializeOptions } from 'cookie'
import type { AnyResponse } from '../types.js'

/** The attributes of a cookie, as a session's `cookie.data` holds them (validated by the serializer). */
export type CookieAttributes = Readonly<Partial<Record<keyof SerializeOptions, unknown>>>

/** `name=<value URL-encoded>` with the cookie's attributes. Throws what `cookie` throws for attributes it rejects. */
export function serializeSessionCookie(name: string, value: string, attributes: CookieAttributes): string {
  return serialize(name, value, attributes as SerializeOptions)
}

/** A `Set-Cookie` value that expires the cookie `name` set with `attributes` (same path and domain). */
export function serializeClearingCookie(name: string, attributes: CookieAttributes): string {
  return serialize(name, '', {
    path: attributes.path ?? '/',
    domain: attributes.domain,
    httpOnly: attributes.httpOnly ?? true,
    secure: attributes.secure,
    sameSite: attributes.sameSite,
    partitioned: attributes.partitioned,
    expires: new Date(0),
  } as SerializeOptions)
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

/** Removes one `Set-Cookie` value appended by {@link appendSetCookie}, keeping the others. */
export function removeSetCookie(res: AnyResponse, value: string): void {
  const previous = res.getHeader('Set-Cookie')
  const kept = (Array.isArray(previous) ? previous : [String(previous)]).filter((header) => header !== value)
  if (kept.length === 0) res.removeHeader('Set-Cookie')
  else res.setHeader('Set-Cookie', kept)
}
