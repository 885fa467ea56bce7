/**
 * The owner index: which user a session belongs to, as the `owner` option names it, and the device facts
 * `track: true` records. Stores that keep an index read the owner from the session data under
 * {@link OWNER_KEY}; every other store is searched through `all()`.
 */

import type { SessionData } from '../index.js'
import { describeValue } from '../lib/describe-value.js'

/** Key under which the `owner` option records a session's owner (a non-empty string) in its data. */
export const OWNER_KEY = '__sessionOwner'
/** Key under which `track: true` records the `User-Agent` the session was created with. */
export const USER_AGENT_KEY = '__sessionUserAgent'
/** Key under which `track: true` records when the session was last seen (ms since the epoch). */
export const LAST_SEEN_KEY = '__sessionLastSeen'

/** The longest owner accepted from the `owner` option, in characters. */
export const MAX_OWNER_LENGTH = 1024
/** The longest `User-Agent` `track: true` records; a longer one is cut to this length. */
export const MAX_USER_AGENT_LENGTH = 512
/** How many sessions of one owner a listing returns at most, unless told otherwise. */
export const DEFAULT_OWNER_LIST_LIMIT = 1000

/** One session of an owner, as {@link Store.sessionsOf} lists it: its ID and its stored data. */
export interface OwnedSession {
  id: string
  session: SessionData
}

/** Options of {@link Store.sessionsOf}. */
export interface SessionsOfOptions {
  /** The most sessions to list (a positive integer). The store picks which when the owner has more. */
  limit: number
}

/** Options of {@link Store.destroyOwner}. */
export interface DestroyOwnerOptions {
  /** A session ID to keep (the current session, when logging out the others). */
  except?: string
}

/** Every key the middleware reserves in session data for its own bookkeeping (besides `cookie`). */
export const RESERVED_KEYS: ReadonlySet<string> = new Set([OWNER_KEY, USER_AGENT_KEY, LAST_SEEN_KEY, '__sessionCreatedAt'])

/**
 * The owner `owner(session)` names: a non-empty string of at most {@link MAX_OWNER_LENGTH} characters, or
 * `undefined` for none (`null` and `''` count as none). Throws an error saying what went wrong otherwise, so that
 * nothing is saved under a wrong owner.
 */
export function ownerFrom(owner: (session: never) => unknown, session: object): string | undefined {
  let value: unknown
  try {
    value = owner(session as never)
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    throw Object.assign(new Error(`owner option function threw: ${message}; the session was not saved`), { cause: err })
  }
  if (value === undefined || value === null || value === '') return undefined
  if (typeof value !== 'string' || value.length > MAX_OWNER_LENGTH) {
    const got = typeof value === 'string' ? `a string of ${value.length} characters` : describeValue(value)
    throw new TypeError(`owner option function must return a non-empty string of at most ${MAX_OWNER_LENGTH} characters, or undefined (got ${got}); the session was not saved`)
  }
  return value
}

/** The owner recorded in stored or live session data, when it is a valid one. */
export function recordedOwner(data: unknown): string | undefined {
  const value = (data as Record<string, unknown> | null | undefined)?.[OWNER_KEY]
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** Options of `req.session.listOwnSessions()`. */
export interface ListOwnSessionsOptions {
  /** The most sessions to list, the current one included. Default {@link DEFAULT_OWNER_LIST_LIMIT}. */
  limit?: number
}

/** One session of the current user, as `req.session.listOwnSessions()` gives it. */
export interface OwnSession {
  /** The session ID. Show it to nobody but its owner: it is what the session cookie carries. */
  id: string
  /** Whether it is the session of the request that lists them. */
  current: boolean
  /** When it expires, or `null` for a browser-session cookie. */
  expires: Date | null
  /** When it was created, when recorded (`track: true`, or `absoluteTimeout`). */
  createdAt: Date | undefined
  /** When it was last seen (`track: true`). */
  lastSeen: Date | undefined
  /** The `User-Agent` it was created with (`track: true`). */
  userAgent: string | undefined
  /** Its data, as the store holds it (the current session's as this request has it). */
  session: SessionData
}

function dateAt(value: unknown): Date | undefined {
  if (typeof value !== 'number' && typeof value !== 'string' && !(value instanceof Date)) return undefined
  const date = new Date(value)
  return Number.isNaN(date.getTime()) ? undefined : date
}

/** Describes the session `id` with data `data` for a listing. */
export function describeOwnSession(id: string, data: SessionData, current: boolean): OwnSession {
  const fields = data as unknown as Record<string, unknown>
  const userAgent = fields[USER_AGENT_KEY]
  return {
    id,
    current,
    expires: dateAt((fields.cookie as { expires?: unknown } | null | undefined)?.expires) ?? null,
    createdAt: dateAt(fields.__sessionCreatedAt),
    lastSeen: dateAt(fields[LAST_SEEN_KEY]),
    userAgent: typeof userAgent === 'string' ? userAgent : undefined,
    session: data,
  }
}

/** The order of a listing: the current session first, then the most recently seen (or created). */
export function byRecency(a: OwnSession, b: OwnSession): number {
  if (a.current !== b.current) return a.current ? -1 : 1
  const time = (s: OwnSession): number => (s.lastSeen ?? s.createdAt)?.getTime() ?? 0
  return time(b) - time(a)
}
