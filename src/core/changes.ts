/**
 * Change sets: what a request changed in a session, compared key by key with the data JSON the store holds,
 * and how a change set applies to stored data.
 */

import type { Session } from './session.js'
import type { SessionChanges, StoredSession } from './store.js'

/**
 * The changes that turn the stored data JSON `storedJson` (see `sessionDataJson`) into `sess`'s data: the keys
 * whose JSON form differs, with their current values, and the keys gone or now omitted by JSON (such as
 * `undefined` or a function). Computed only for a session that changed, so an unchanged request pays nothing.
 */
export function changesSince(storedJson: string, sess: Session, cookieChanged: boolean): SessionChanges {
  const stored = JSON.parse(storedJson) as Record<string, unknown>
  const data = sess as unknown as Record<string, unknown>
  const set: Record<string, unknown> = {}
  const unset: string[] = []
  for (const key of Object.keys(data)) {
    if (key === 'cookie') continue
    const json = JSON.stringify(data[key]) as string | undefined
    if (json === undefined) {
      if (Object.hasOwn(stored, key)) unset.push(key)
    } else if (!Object.hasOwn(stored, key) || JSON.stringify(stored[key]) !== json) {
      set[key] = data[key]
    }
  }
  for (const key of Object.keys(stored)) {
    if (!Object.hasOwn(data, key)) unset.push(key)
  }
  return { set, unset, cookie: sess.cookie, cookieChanged }
}

/** Applies `changes` to `stored` (the data of a store's `get`), in place, and returns it. */
export function applyChanges(stored: StoredSession, changes: SessionChanges): StoredSession {
  for (const key of Object.keys(changes.set)) {
    if (key !== 'cookie' && key !== '__proto__') stored[key] = changes.set[key]
  }
  for (const key of changes.unset) {
    if (key !== 'cookie') Reflect.deleteProperty(stored, key)
  }
  stored.cookie = changes.cookie
  return stored
}
