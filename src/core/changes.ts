/**
 * Change sets: what a request changed in a session, compared key by key with the data JSON the store holds,
 * and how a change set applies to stored data.
 */

import { jsonObject } from '../lib/json-members.js'
import type { Session } from './session.js'
import type { SessionChanges, StoredSession } from './store.js'

/** A session's data JSON key by key: each top-level data key (never `cookie`) with its value's JSON. */
export type KeyedJson = Map<string, string>

/**
 * The data JSON of `sess` built key by key: the JSON text of its data without the cookie, and the JSON of each key
 * (keys whose value JSON omits, such as `undefined` or a function, are left out of both). Costs about one
 * `JSON.stringify` of the session, and makes a change set a comparison of strings.
 */
export function keyedDataJson(sess: Session): { json: string; keys: KeyedJson } {
  const data = sess as unknown as Record<string, unknown>
  const keys: KeyedJson = new Map()
  for (const key of Object.keys(data)) {
    if (key === 'cookie') continue
    const value = JSON.stringify(data[key]) as string | undefined
    if (value !== undefined) keys.set(key, value)
  }
  return { json: jsonObject(keys), keys }
}

/**
 * The changes from the data the store holds (`stored`, key by key) to `sess`'s data now (`current`): the keys whose
 * JSON differs or is new, with their current values, and the keys gone.
 */
export function changesBetween(stored: KeyedJson, current: KeyedJson, sess: Session, cookieChanged: boolean): SessionChanges {
  const data = sess as unknown as Record<string, unknown>
  const set: Record<string, unknown> = {}
  const unset: string[] = []
  for (const [key, json] of current) {
    if (stored.get(key) !== json) set[key] = data[key]
  }
  for (const key of stored.keys()) {
    if (!current.has(key)) unset.push(key)
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
  // a change set always carries the cookie; a store's caller that leaves it out keeps the stored one
  if ((changes.cookie as unknown) != null) stored.cookie = changes.cookie
  return stored
}

/**
 * Applies `changes` to a stored session given as its JSON members (see `jsonMembers`), in place: only the
 * changed keys are serialized. The result, parsed, is what {@link applyChanges} gives on the parsed session.
 */
export function applyChangesToJson(members: Map<string, string>, changes: SessionChanges): Map<string, string> {
  for (const key of Object.keys(changes.set)) {
    if (key === 'cookie' || key === '__proto__') continue
    const json = JSON.stringify(changes.set[key]) as string | undefined
    if (json === undefined) members.delete(key)
    else members.set(key, json)
  }
  for (const key of changes.unset) {
    if (key !== 'cookie') members.delete(key)
  }
  const cookie = JSON.stringify(changes.cookie) as string | undefined
  if (cookie !== undefined && cookie !== 'null') members.set('cookie', cookie)
  return members
}
