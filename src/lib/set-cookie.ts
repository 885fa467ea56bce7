/**
 * `Set-Cookie` header values of the session cookie, built by the `cookie` package's serializer.
 * @internal
 */

import { stringifySetCookie, type SerializeOptions, type SetCookie } from 'cookie'
import type { AnyResponse } from '../types.js'
import { optionMessage } from './describe-value.js'

/** The attributes of a cookie, as a session's `cookie.data` holds them (validated by the serializer). */
export type CookieAttributes = Readonly<Partial<Record<keyof SerializeOptions, unknown>>>

/** The cookie name and the attributes whose values the serializer checks. */
export type CheckedAttribute = 'name' | 'domain' | 'path' | 'expires' | 'priority' | 'sameSite'

/** What the serializer accepts for each, as error messages say it. */
export const ACCEPTED: Readonly<Record<CheckedAttribute, string>> = {
  name: `a cookie name: printable ASCII without spaces, ';' or '=' (e.g. "connect.sid")`,
  domain: 'a domain name such as "example.com" (letters, digits, hyphens and dots; no scheme, port or path)',
  path: `a path such as "/" or "/app" (printable ASCII without ';' or '<')`,
  expires: 'a valid Date',
  priority: '"low", "medium" or "high"',
  sameSite: 'true, false, "lax", "strict" or "none"',
}

const REFUSAL = /^(?:argument|option) (name|domain|path|expires|priority|sameSite) is invalid/

/** The attribute a `cookie` package error is about, if it is one the serializer checks. */
function refusalOf(err: unknown): CheckedAttribute | undefined {
  const match = err instanceof TypeError ? REFUSAL.exec(err.message) : null
  return match ? (match[1] as CheckedAttribute) : undefined
}

/**
 * The cookie `name=value` with the `Set-Cookie` attributes of `attributes` (a cookie's other members, such as
 * `originalMaxAge`, left out), in the object form the serializer takes as it is: the `name, value, options` form
 * copies the options into a new object on every call, which costs more than the rest of the serialization.
 */
function setCookieOf(name: string, value: string, attributes: CookieAttributes): SetCookie {
  return {
    name,
    value,
    expires: attributes.expires,
    domain: attributes.domain,
    path: attributes.path,
    httpOnly: attributes.httpOnly,
    secure: attributes.secure,
    partitioned: attributes.partitioned,
    priority: attributes.priority,
    sameSite: attributes.sameSite,
  } as SetCookie
}

/** The attribute (or `'name'`) the serializer refuses for a cookie `name` with `attributes`; `undefined` if none. */
export function refusedAttribute(name: string, attributes: CookieAttributes): CheckedAttribute | undefined {
  try {
    stringifySetCookie(setCookieOf(name, 'probe', attributes))
    return undefined
  } catch (err) {
    const attribute = refusalOf(err)
    if (attribute === undefined) throw err
    return attribute
  }
}

/**
 * `name=<value URL-encoded>` with the cookie's attributes. A refused attribute throws a `TypeError` naming it,
 * what it was given and what it accepts.
 */
export function serializeSessionCookie(name: string, value: string, attributes: CookieAttributes): string {
  try {
    return stringifySetCookie(setCookieOf(name, value, attributes))
  } catch (err) {
    const attribute = refusalOf(err)
    if (attribute === undefined) throw err
    const given = attribute === 'name' ? name : attributes[attribute]
    throw new TypeError(optionMessage(attribute === 'name' ? 'cookie name' : `cookie.${attribute}`, ACCEPTED[attribute], given))
  }
}

/** A `Set-Cookie` value that expires the cookie `name` set with `attributes` (same path and domain). */
export function serializeClearingCookie(name: string, attributes: CookieAttributes): string {
  return stringifySetCookie(setCookieOf(name, '', {
    path: attributes.path ?? '/',
    domain: attributes.domain,
    httpOnly: attributes.httpOnly ?? true,
    secure: attributes.secure,
    sameSite: attributes.sameSite,
    partitioned: attributes.partitioned,
    expires: new Date(0),
  }))
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
