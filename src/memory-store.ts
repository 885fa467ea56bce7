import { inherits } from 'node:util'
import { applyChangesToJson } from './core/changes.js'
import { cookieJson, expiryTime } from './core/cookie.js'
import {
  DEFAULT_OWNER_LIST_LIMIT, OWNER_KEY, recordedOwner,
  type DestroyOwnerOptions, type OwnedSession, type SessionsOfOptions,
} from './core/owner.js'
import { Store, type SessionChanges, type StoredSession } from './core/store.js'
import { publishSessionEvent } from './lib/diagnostics.js'
import { jsonMembers, jsonObject, withFirstMember } from './lib/json-members.js'
import type { SessionData } from './index.js'

/** Options of the bundled {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most sessions kept; past it the least recently used is evicted. Default: unbounded (as in 1.x).
   */
  max?: number
  /**
   * Milliseconds between sweeps that remove expired sessions (without parsing them). `0` disables the
   * sweep. Default: 60000. The sweep's timer never keeps the process alive.
   */
  checkPeriod?: number
}

/** The bundled in-memory store (one process only). */
/* eslint-disable @typescript-eslint/no-explicit-any -- the error type of @types/express-session 1.19's MemoryStore callbacks */
export interface MemoryStore extends Store {
  /** Stored sessions as JSON strings, by session ID. */
  sessions: Record<string, string>
  get(sid: string, callback: (err: any, session?: SessionData | null) => void): void
  set(sid: string, session: SessionData, callback?: (err?: any) => void): void
  destroy(sid: string, callback?: (err?: any) => void): void
  touch(sid: string, session: SessionData, callback?: (err?: any) => void): void
  patch(sid: string, changes: SessionChanges, callback?: (err: any, existed?: boolean) => void): void
  all(callback: (err: any, obj?: { [sid: string]: SessionData } | null) => void): void
  length(callback: (err: any, length?: number) => void): void
  clear(callback?: (err?: any) => void): void
  /** Up to `options.limit` (default 1000) live sessions of `owner`, from its owner index. */
  sessionsOf(owner: string, callback: OwnedSessionsCallback): void
  sessionsOf(owner: string, options: SessionsOfOptions, callback: OwnedSessionsCallback): void
  /** Destroys the sessions of `owner` except `options.except`; calls back with how many. */
  destroyOwner(owner: string, callback: DestroyedCallback): void
  destroyOwner(owner: string, options: DestroyOwnerOptions, callback: DestroyedCallback): void
  /* eslint-enable @typescript-eslint/no-explicit-any */
  /** Stops the periodic sweep. */
  close(): void
}

/** Callback of {@link MemoryStore.sessionsOf}. */
type OwnedSessionsCallback = (err: Error | null, sessions?: OwnedSession[]) => void
/** Callback of {@link MemoryStore.destroyOwner}. */
type DestroyedCallback = (err: Error | null, destroyed?: number) => void

/** The `MemoryStore` constructor (also callable as `MemoryStore.call(this, options)`). */
export interface MemoryStoreConstructor {
  new (options?: MemoryStoreOptions): MemoryStore
  (this: unknown, options?: MemoryStoreOptions): void
  prototype: MemoryStore
}

/** Bookkeeping kept beside the JSON, so that neither expiry nor `max` needs parsing or scanning. */
interface MemoryStoreInternals {
  /**
   * Session IDs from least to most recently used (a Map keeps insertion order; a use moves the ID to the end),
   * with the expiry time in ms of each ({@link NO_EXPIRY} for none). Its size is the count `max` bounds.
   * Entries written straight into `sessions` join it when first read.
   */
  order: Map<string, number>
  max: number
  timer: NodeJS.Timeout | undefined
  /** The owner index: the IDs of each owner's sessions, and the owner of each indexed session. */
  owners: Map<string, Set<string>>
  ownerOf: Map<string, string>
}

const kInternals = Symbol('express-session.memory-store')
const DEFAULT_CHECK_PERIOD = 60_000
/** Longest delay `setInterval` accepts; longer ones fire every millisecond instead. */
const MAX_TIMER_DELAY = 2 ** 31 - 1
const NO_EXPIRY = Infinity
/** A write that leaves the session's owner as it was (a touch, or a patch that does not change it). */
const KEEP_OWNER = Symbol('keep owner')

type Internal = MemoryStore & { [kInternals]?: MemoryStoreInternals }

function validateOptions(options: MemoryStoreOptions): { max: number; checkPeriod: number } {
  const { max = Infinity, checkPeriod = DEFAULT_CHECK_PERIOD } = options
  if (max !== Infinity && (!Number.isInteger(max) || max < 1)) {
    throw new TypeError(`MemoryStore option max must be a positive integer (got ${typeof max === 'number' ? max : typeof max}); leave it out for no limit`)
  }
  if (typeof checkPeriod !== 'number' || !(checkPeriod >= 0) || checkPeriod > MAX_TIMER_DELAY) {
    throw new TypeError(
      `MemoryStore option checkPeriod must be a number of milliseconds from 0 (no sweep) to ${MAX_TIMER_DELAY} (got ${typeof checkPeriod === 'number' ? checkPeriod : typeof checkPeriod})`,
    )
  }
  return { max, checkPeriod }
}

/** The store's bookkeeping, created on first use so methods work even if the constructor never ran. */
function internalsOf(store: MemoryStore): MemoryStoreInternals {
  const self = store as Internal
  return (self[kInternals] ??= {
    order: new Map(), max: Infinity, timer: undefined, owners: new Map(), ownerOf: new Map(),
  })
}

function sessionRecords(store: MemoryStore): Record<string, string | undefined> {
  // `sessions` is public: an app or a subclass may have replaced or removed it
  const self = store as { sessions?: Record<string, string | undefined> }
  return (self.sessions ??= Object.create(null) as Record<string, string | undefined>)
}

/** Files `sid` under `owner` in the owner index (under none for `undefined`), out of any other owner's. */
function indexOwner(store: MemoryStore, sid: string, owner: string | undefined): void {
  const { owners, ownerOf } = internalsOf(store)
  const previous = ownerOf.get(sid)
  if (previous === owner) return
  if (previous !== undefined) {
    const ids = owners.get(previous)
    ids?.delete(sid)
    if (ids?.size === 0) owners.delete(previous)
    ownerOf.delete(sid)
  }
  if (owner === undefined) return
  let ids = owners.get(owner)
  if (ids === undefined) owners.set(owner, (ids = new Set()))
  ids.add(sid)
  ownerOf.set(sid, owner)
}

/** Removes `sid` from the store. */
function remove(store: MemoryStore, sid: string): void {
  Reflect.deleteProperty(sessionRecords(store), sid)
  internalsOf(store).order.delete(sid)
  indexOwner(store, sid, undefined)
}

/** Removes `sid` as expired (`reason` `'maxAge'`) or evicted to stay within `max` (`'max'`). */
function expire(store: MemoryStore, sid: string, reason: 'maxAge' | 'max' = 'maxAge'): void {
  remove(store, sid)
  publishSessionEvent('expired', sid, undefined, undefined, reason)
}

/** Marks `sid` as the most recently used entry, expiring at `expiry`. */
function use(order: Map<string, number>, sid: string, expiry: number): void {
  order.delete(sid)
  order.set(sid, expiry)
}

/** The parsed session `sid`, or undefined when missing or expired (which removes it). */
function readSession(store: MemoryStore, sid: string): StoredSession | null | undefined {
  const json = sessionRecords(store)[sid]
  // an empty entry is none, as in 1.x
  if (!json) return undefined
  const now = Date.now()
  const order = internalsOf(store).order
  const expiry = order.get(sid)
  if (expiry !== undefined && expiry <= now) {
    expire(store, sid)
    return undefined
  }
  const session = JSON.parse(json) as StoredSession | null
  // entries written straight into `sessions` have no recorded expiry: check the data itself
  if (expiry === undefined) {
    const own = expiryTime(session?.cookie) ?? NO_EXPIRY
    if (own <= now) {
      expire(store, sid)
      return undefined
    }
    order.set(sid, own)
    indexOwner(store, sid, recordedOwner(session))
  }
  return session
}

/**
 * Writes `json` for `sid`, owned by `owner` (`KEEP_OWNER`: as before), as the most recently used entry,
 * evicting the least recently used past `max`.
 */
function writeSession(store: MemoryStore, sid: string, json: string, expiry: number | undefined, owner: string | undefined | typeof KEEP_OWNER): void {
  const { order, max } = internalsOf(store)
  sessionRecords(store)[sid] = json
  if (owner !== KEEP_OWNER) indexOwner(store, sid, owner)
  // without `max` the order does not matter: update the expiry in place
  if (max === Infinity) order.set(sid, expiry ?? NO_EXPIRY)
  else use(order, sid, expiry ?? NO_EXPIRY)
  while (order.size > max) {
    expire(store, order.keys().next().value as string, 'max')
  }
}

/** Removes every expired session, reading only the expiry times. */
export function sweep(store: MemoryStore): number {
  const now = Date.now()
  const sessions = sessionRecords(store)
  let removed = 0
  for (const [sid, expiry] of internalsOf(store).order) {
    if (expiry <= now) {
      expire(store, sid)
      removed++
    } else if (!(sid in sessions)) {
      // deleted straight from `sessions`, or `sessions` replaced
      internalsOf(store).order.delete(sid)
    }
  }
  return removed
}

/**
 * The bundled in-memory store: sessions as JSON strings, every callback deferred. Expired sessions are
 * swept periodically and `max` bounds the count (least recently used first). One process only: use a
 * shared store (Redis, PostgreSQL, ...) as soon as there is more than one.
 */
export const MemoryStore = function MemoryStore(this: MemoryStore, options?: MemoryStoreOptions) {
  Store.call(this)
  const { max, checkPeriod } = validateOptions(options ?? {})
  this.sessions = Object.create(null) as Record<string, string>
  const internals = internalsOf(this)
  internals.max = max
  if (checkPeriod > 0) {
    // The timer holds the store weakly: a store the application dropped is collected, and its timer stopped.
    const ref = new WeakRef(this)
    const timer = setInterval(() => {
      const store = ref.deref()
      if (store === undefined) clearInterval(timer)
      else sweep(store)
    }, checkPeriod)
    timer.unref()
    internals.timer = timer
  }
} as unknown as MemoryStoreConstructor

inherits(MemoryStore, Store)

const proto = MemoryStore.prototype

proto.all = function all(callback) {
  const sessions = Object.create(null) as Record<string, StoredSession>
  for (const sid of Object.keys(sessionRecords(this))) {
    const session = readSession(this, sid)
    if (session) sessions[sid] = session
  }
  // optional in 1.x, whatever the type says; a non-function is refused by setImmediate, as in 1.x
  // JSON-parsed: each cookie is a plain object, as every store hands sessions back
  if (callback as unknown) setImmediate(callback, null, sessions as unknown as Record<string, SessionData>)
}

proto.clear = function clear(callback) {
  this.sessions = Object.create(null) as Record<string, string>
  const internals = internalsOf(this)
  internals.order.clear()
  internals.owners.clear()
  internals.ownerOf.clear()
  if (callback) setImmediate(callback)
}

proto.destroy = function destroy(sid, callback) {
  remove(this, sid)
  if (callback) setImmediate(callback)
}

proto.get = function get(sid, callback) {
  let session: StoredSession | null | undefined
  try {
    session = readSession(this, sid)
  } catch (err) {
    setImmediate(callback, err)
    return
  }
  const { order, max } = internalsOf(this)
  // reading counts as use for the least-recently-used order
  if (session !== undefined && max !== Infinity) {
    const expiry = order.get(sid)
    if (expiry !== undefined) use(order, sid, expiry)
  }
  setImmediate(callback, null, session as SessionData | null | undefined)
}

proto.set = function set(sid, session, callback) {
  let json: string
  try {
    json = JSON.stringify(session)
  } catch (err) {
    if (callback) setImmediate(callback, err)
    return
  }
  writeSession(this, sid, json, expiryTime((session as { cookie?: unknown } | null)?.cookie), recordedOwner(session))
  if (callback) setImmediate(callback)
}

proto.length = function length(callback) {
  this.all((err, sessions) => {
    if (err) return callback(err)
    callback(null, Object.keys(sessions ?? {}).length)
  })
}

/**
 * The stored text of `sid` with its cookie replaced by `cookie`; `undefined` when `sid` is not stored (or stored as
 * `null`). A session this store wrote starts with its cookie (a `Session` holds it first): only that member is
 * rewritten, without parsing the rest; any other text is parsed, given the cookie and serialized again.
 */
function touchedText(store: MemoryStore, sid: string, cookie: unknown): string | undefined {
  if (!isStored(store, sid)) return undefined
  const text = sessionRecords(store)[sid] as string
  const json = cookieJson(cookie)
  const touched = json === undefined ? undefined : withFirstMember(text, 'cookie', json)
  if (touched !== undefined) return touched
  const current = JSON.parse(text) as StoredSession | null
  if (!current) return undefined
  current.cookie = cookie as StoredSession['cookie']
  return JSON.stringify(current)
}

proto.touch = function touch(sid, session, callback) {
  try {
    const text = touchedText(this, sid, session.cookie)
    if (text !== undefined) writeSession(this, sid, text, expiryTime(session.cookie), KEEP_OWNER)
  } catch (err) {
    if (callback) setImmediate(callback, err)
    return
  }
  if (callback) setImmediate(callback)
}

/** Whether `sid` is stored and not expired; parses the entry only when its expiry is not recorded. */
function isStored(store: MemoryStore, sid: string): boolean {
  const expiry = internalsOf(store).order.get(sid)
  // entries written straight into `sessions` have no recorded expiry: readSession reads it from their data
  if (expiry === undefined) return readSession(store, sid) != null
  if (!sessionRecords(store)[sid]) return false
  if (expiry > Date.now()) return true
  expire(store, sid)
  return false
}

/** The owner a patch gives its session: the one it sets, none when it removes it, else unchanged. */
function ownerAfter(changes: SessionChanges): string | undefined | typeof KEEP_OWNER {
  if (Object.hasOwn(changes.set, OWNER_KEY)) return recordedOwner(changes.set)
  return changes.unset.includes(OWNER_KEY) ? undefined : KEEP_OWNER
}

proto.patch = function patch(sid, changes, callback) {
  let existed = false
  try {
    // only the changed keys are serialized: the others keep their JSON text as stored
    const members = isStored(this, sid) ? jsonMembers(sessionRecords(this)[sid] as string) : undefined
    if (members !== undefined) {
      existed = true
      writeSession(this, sid, jsonObject(applyChangesToJson(members, changes)), expiryTime(changes.cookie), ownerAfter(changes))
    }
  } catch (err) {
    if (callback) setImmediate(callback, err)
    return
  }
  if (callback) setImmediate(callback, null, existed)
}

/** `(owner, callback)` or `(owner, options, callback)`: the options and the callback. */
function ownerArguments<O extends object, C>(optionsOrCallback: O | C | undefined, callback: C | undefined): [Partial<O>, C | undefined] {
  return typeof optionsOrCallback === 'function' ? [{}, optionsOrCallback] : [(optionsOrCallback ?? {}), callback]
}

proto.sessionsOf = function sessionsOf(owner: string, optionsOrCallback?: unknown, maybeCallback?: unknown) {
  const [options, callback] = ownerArguments<SessionsOfOptions, OwnedSessionsCallback>(
    optionsOrCallback as SessionsOfOptions | OwnedSessionsCallback | undefined, maybeCallback as OwnedSessionsCallback | undefined)
  const limit = options.limit ?? DEFAULT_OWNER_LIST_LIMIT
  const found: OwnedSession[] = []
  try {
    for (const sid of [...(internalsOf(this).owners.get(owner) ?? [])]) {
      if (found.length >= limit) break
      // expired sessions are removed as they are read; a session written straight into `sessions` is checked
      const session = readSession(this, sid)
      if (session && recordedOwner(session) === owner) found.push({ id: sid, session: session as unknown as SessionData })
      // gone from `sessions` behind the store's back (deleted or replaced by the app), or rewritten there
      else indexOwner(this, sid, recordedOwner(session))
    }
  } catch (err) {
    if (callback) setImmediate(callback, err as Error)
    return
  }
  if (callback) setImmediate(callback, null, found)
}

proto.destroyOwner = function destroyOwner(owner: string, optionsOrCallback?: unknown, maybeCallback?: unknown) {
  const [options, callback] = ownerArguments<DestroyOwnerOptions, DestroyedCallback>(
    optionsOrCallback as DestroyOwnerOptions | DestroyedCallback | undefined, maybeCallback as DestroyedCallback | undefined)
  let destroyed = 0
  try {
    for (const sid of [...(internalsOf(this).owners.get(owner) ?? [])]) {
      if (sid === options.except) continue
      // as in sessionsOf: only a live session still of this owner (the app may have changed `sessions` itself)
      const session = readSession(this, sid)
      if (session && recordedOwner(session) === owner) {
        remove(this, sid)
        destroyed++
      } else indexOwner(this, sid, recordedOwner(session))
    }
  } catch (err) {
    if (callback) setImmediate(callback, err as Error)
    return
  }
  if (callback) setImmediate(callback, null, destroyed)
}

proto.close = function close() {
  const internals = internalsOf(this)
  if (internals.timer !== undefined) clearInterval(internals.timer)
  internals.timer = undefined
}
