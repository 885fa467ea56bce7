/**
 * The owner index: which user a session belongs to, as the `owner` option names it, and the device facts
 * `track: true` records. Stores that keep an index read the owner from the session data under
 * {@link OWNER_KEY}; every other store is searched through `all()`.
 */

import type { SessionData } from '../index.js'

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
