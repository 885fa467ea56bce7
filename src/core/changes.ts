/**
 * Change sets: what a request changed in a session, compared key by key with the data JSON the store holds,
 * and how a change set applies to stored data.
 */

import { cookieJson } from './cookie.js'
import type { Session } from './session.js'
import type { SessionChanges, StoredSession } from './store.js'

/**
 * A session's data key by key: `[key, json, key, json, ...]`, each top-level data key (never `cookie`) followed by
 * its value's JSON. A key that is empty, starts with a quote or holds a NUL is written as its JSON string, so that
 * joined with NUL (which JSON text never holds) two different sessions never give the same text.
 */
export type KeyedJson = string[]

const NUL = '\u0000'

/** `key` as it stands in a {@link KeyedJson}. */
function keyToken(key: string): string {
  return key === '' || key.charCodeAt(0) === 0x22 || key.includes(NUL) ? JSON.stringify(key) : key
}

/** The key a {@link keyToken} stands for. */
function tokenKey(token: string): string {
  return token === '' || token.charCodeAt(0) !== 0x22 ? token : JSON.parse(token) as string
}

/**
 * The data of `sess` key by key (keys whose value JSON omits, such as `undefined` or a function, are left out),
 * and its data JSON in this form: the members joined with NUL. Costs about one `JSON.stringify` of the session,
 * and makes a change set a comparison of strings.
 */
export function keyedDataJson(sess: Session): { json: string; keys: KeyedJson } {
  const data = sess as unknown as Record<string, unknown>
  const keys: KeyedJson = []
  for (const key of Object.keys(data)) {
    if (key === 'cookie') continue
    const value = JSON.stringify(data[key]) as string | undefined
    if (value !== undefined) keys.push(keyToken(key), value)
  }
  return { json: keys.join(NUL), keys }
}

/** A {@link KeyedJson} as a map from token to value JSON. */
function byToken(keyed: KeyedJson): Map<string, string> {
  const map = new Map<string, string>()
  for (let i = 0; i < keyed.length; i += 2) map.set(keyed[i], keyed[i + 1])
  return map
}

/**
 * The changes from the data the store holds (`stored`, key by key) to `sess`'s data now (`current`): the keys whose
 * JSON differs or is new, with their current values, and the keys gone.
 */
export function changesBetween(stored: KeyedJson, current: KeyedJson, sess: Session, cookieChanged: boolean): SessionChanges {
  const data = sess as unknown as Record<string, unknown>
  const before = byToken(stored)
  const now = byToken(current)
  const set: Record<string, unknown> = {}
  const unset: string[] = []
  for (const [token, json] of now) {
    if (before.get(token) !== json) {
      const key = tokenKey(token)
      set[key] = data[key]
    }
  }
  for (const token of before.keys()) {
    if (!now.has(token)) unset.push(tokenKey(token))
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
  const cookie = cookieJson(changes.cookie)
  if (cookie !== undefined && cookie !== 'null') members.set('cookie', cookie)
  return members
}
