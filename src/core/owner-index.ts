/**
 * Listing and destroying the sessions of one owner through a store: its owner index (`sessionsOf`,
 * `destroyOwner`) when it has one, else a scan of `all()`, which the debug log warns about.
 */

import { debug } from '../lib/debug.js'
import { callStore } from '../lib/store-call.js'
import { recordedOwner, type OwnedSession } from './owner.js'
import type { Store, StoredSession } from './store.js'
import type { SessionData } from '../index.js'

/** Calls back with an error, or `null` and a result. */
type Done<T> = (err: Error | null, result?: T) => void

/** Whether a stored cookie's expiry has passed (a store's `all()` may still return such sessions). */
function isExpired(data: StoredSession, now: number): boolean {
  const expires = (data.cookie as { expires?: unknown } | null | undefined)?.expires
  if (expires == null) return false
  const time = new Date(expires as string | Date).getTime()
  return !Number.isNaN(time) && time <= now
}

/**
 * The sessions of `owner` among everything `all()` returned (an array of sessions carrying `id`, or an object by
 * ID). An error when some of them come without their ID: listing or destroying only the others would leave
 * sessions logged in that the caller believes logged out.
 */
function ownedAmong(all: unknown, owner: string): OwnedSession[] | Error {
  const found: OwnedSession[] = []
  if (all === null || typeof all !== 'object') return found
  const now = Date.now()
  const entries: Array<[unknown, unknown]> = Array.isArray(all)
    ? all.map((data: unknown) => [(data as { id?: unknown } | null)?.id, data])
    : Object.entries(all)
  let unnamed = 0
  for (const [id, data] of entries) {
    if (data === null || typeof data !== 'object' || recordedOwner(data) !== owner) continue
    if (typeof id !== 'string' || id === '') unnamed++
    else if (!isExpired(data as StoredSession, now)) found.push({ id, session: data as SessionData })
  }
  if (unnamed === 0) return found
  return new Error(`store.all() gave ${unnamed} session(s) of this owner without their ID (an array of sessions without an id field): ` +
    'they can be neither listed nor destroyed; use a store with an owner index, or whose all() gives IDs')
}

/** Finds the sessions of `owner` by reading every session with `all()`; an error when the store has no `all`. */
function scanForOwner(store: Store, owner: string, timeout: number, req: object | undefined, done: Done<OwnedSession[]>): void {
  if (typeof store.all !== 'function') {
    done(new Error('the store has neither an owner index (sessionsOf, destroyOwner) nor all(): the sessions of an owner cannot be found; use a store with an owner index, such as the bundled MemoryStore or RedisStore'))
    return
  }
  debug(req, 'the store has no owner index: scanning every session with all() for those of one owner')
  callStore<unknown>(store, 'all', [], timeout, (err, all) => {
    if (err) return done(err)
    const owned = ownedAmong(all, owner)
    if (owned instanceof Error) done(owned)
    else done(null, owned)
  }, req)
}

/** Lists up to `limit` sessions of `owner`. */
export function listOwnerSessions(
  store: Store, owner: string, limit: number, timeout: number, req: object | undefined, done: Done<OwnedSession[]>,
): void {
  if (typeof store.sessionsOf === 'function') {
    callStore<unknown>(store, 'sessionsOf', [owner, { limit }], timeout, (err, sessions) => {
      if (err) return done(err)
      if (!Array.isArray(sessions)) return done(new TypeError(`store.sessionsOf() must call back with an array of { id, session } (got ${typeof sessions})`))
      done(null, (sessions as OwnedSession[]).slice(0, limit))
    }, req)
    return
  }
  scanForOwner(store, owner, timeout, req, (err, found) => {
    if (err) return done(err)
    done(null, (found ?? []).slice(0, limit))
  })
}

/**
 * Destroys every session of `owner` but `except`, and calls back with how many were destroyed. Without an owner
 * index, each is destroyed with `destroyOne`, which keeps the request's order of saves and destroys.
 */
export function destroyOwnerSessions(
  store: Store, owner: string, except: string | undefined, timeout: number, req: object | undefined,
  destroyOne: (id: string, done: (err?: unknown) => void) => void, done: Done<number>,
): void {
  if (typeof store.destroyOwner === 'function') {
    callStore<unknown>(store, 'destroyOwner', [owner, { except }], timeout, (err, count) => {
      if (err) return done(err)
      done(null, typeof count === 'number' ? count : 0)
    }, req)
    return
  }
  scanForOwner(store, owner, timeout, req, (err, found) => {
    if (err) return done(err)
    const doomed = (found ?? []).filter((owned) => owned.id !== except)
    let pending = doomed.length
    let failure: Error | null = null
    let destroyed = 0
    if (pending === 0) return done(null, 0)
    for (const { id } of doomed) {
      destroyOne(id, (destroyError) => {
        if (destroyError) failure ??= destroyError as Error
        else destroyed++
        if (--pending === 0) done(failure, destroyed)
      })
    }
  })
}
