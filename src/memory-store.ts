import { inherits } from 'node:util'
import { cookieJson } from './cookie.js'
import { publishSessionEvent } from './diagnostics.js'
import { largeMembersOf, largeMemberSpans, LAZY_MIN_LENGTH, parseWithLazyMembers, valueEnd } from './lazy-members.js'
import type { MemberSpan } from './lazy-members.js'
import { Store } from './store.js'
import type { StoredSession } from './store.js'

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
  /**
   * Let the middleware leave a session's large members (1 KB of JSON or more) unparsed until a request uses
   * them. Default `true`. Turn it off if the application relies on property descriptors of `req.session`.
   */
  lazyMembers?: boolean
}

/** The bundled in-memory store (one process only). */
export interface MemoryStore extends Store {
  /** Stored sessions as JSON strings, by session ID. */
  sessions: Record<string, string>
  get(sid: string, callback: (err: any, session?: StoredSession | null) => void): void
  set(sid: string, session: object, callback?: (err?: any) => void): void
  destroy(sid: string, callback?: (err?: any) => void): void
  touch(sid: string, session: { cookie: unknown }, callback?: (err?: any) => void): void
  all(callback: (err: any, sessions?: Record<string, StoredSession>) => void): void
  length(callback: (err: any, length?: number) => void): void
  clear(callback?: (err?: any) => void): void
  /** Stops the periodic sweep. */
  close(): void
}

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
  /**
   * The large sessions this store wrote itself (valid, canonical JSON): what the middleware's loads may leave
   * partly unparsed (see lazy-members.ts). Valid while `json` is still the entry in `sessions`.
   */
  written: Map<string, Written>
  /** The `sessions` object `written` is about: replacing `sessions` forgets it. */
  writtenFor: Record<string, string> | undefined
  /** The `lazyMembers` option. */
  lazyMembers: boolean
  max: number
  timer: NodeJS.Timeout | undefined
}

const kInternals = Symbol('express-session.memory-store')
const DEFAULT_CHECK_PERIOD = 60_000
/** Longest delay `setInterval` accepts; longer ones fire every millisecond instead. */
const MAX_TIMER_DELAY = 2 ** 31 - 1
const NO_EXPIRY = Infinity

type Internal = MemoryStore & { [kInternals]: MemoryStoreInternals }

/** A large session this store wrote itself. */
interface Written {
  json: string
  /** Its large members, once known. */
  spans: MemberSpan[] | undefined
  /**
   * Saves left for which the whole session is parsed at once, because the application used all its large
   * members recently (a session so loaded is saved without `spans`; each such save counts one down).
   */
  eagerSaves: number
}

function validateOptions(options: MemoryStoreOptions): { max: number; checkPeriod: number; lazyMembers: boolean } {
  const { max = Infinity, checkPeriod = DEFAULT_CHECK_PERIOD, lazyMembers = true } = options
  if (typeof lazyMembers !== 'boolean') {
    throw new TypeError(`MemoryStore option lazyMembers must be a boolean (got ${typeof lazyMembers})`)
  }
  if (max !== Infinity && (!Number.isInteger(max) || max < 1)) {
    throw new TypeError(`MemoryStore option max must be a positive integer (got ${typeof max === 'number' ? max : typeof max}); leave it out for no limit`)
  }
  if (typeof checkPeriod !== 'number' || !(checkPeriod >= 0) || checkPeriod > MAX_TIMER_DELAY) {
    throw new TypeError(
      `MemoryStore option checkPeriod must be a number of milliseconds from 0 (no sweep) to ${MAX_TIMER_DELAY} (got ${typeof checkPeriod === 'number' ? checkPeriod : typeof checkPeriod})`,
    )
  }
  return { max, checkPeriod, lazyMembers }
}

/** The store's bookkeeping, created on first use so methods work even if the constructor never ran. */
function internalsOf(store: MemoryStore): MemoryStoreInternals {
  const self = store as Internal
  return (self[kInternals] ??= {
    order: new Map(), written: new Map(), writtenFor: undefined, lazyMembers: true, max: Infinity, timer: undefined,
  })
}

function sessionsOf(store: MemoryStore): Record<string, string> {
  return (store.sessions ??= Object.create(null) as Record<string, string>)
}

/** Reads the expiry (ms) of a stored or live cookie; `undefined` when it has none. */
function expiryOf(cookie: unknown): number | undefined {
  if (cookie === null || typeof cookie !== 'object') return undefined
  const expires = (cookie as { expires?: unknown }).expires
  if (expires == null || expires === false) return undefined
  const time = expires instanceof Date ? expires.getTime() : new Date(expires as string).getTime()
  return Number.isNaN(time) ? undefined : time
}

/** Removes `sid` from the store. */
function remove(store: MemoryStore, sid: string): void {
  delete sessionsOf(store)[sid]
  forget(internalsOf(store), sid)
}

/** Drops the bookkeeping of `sid`. */
function forget(internals: MemoryStoreInternals, sid: string): void {
  internals.order.delete(sid)
  internals.written.delete(sid)
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

/**
 * The parsed session `sid`, or undefined when missing or expired (which removes it). With `lazily`, large
 * members of a session this store wrote are left unparsed until used.
 */
function readSession(store: MemoryStore, sid: string, lazily = false): StoredSession | undefined {
  const json = sessionsOf(store)[sid]
  const internals = internalsOf(store)
  if (json === undefined) {
    // deleted straight from `sessions`
    internals.written.delete(sid)
    return undefined
  }
  const now = Date.now()
  const order = internals.order
  const expiry = order.get(sid)
  if (expiry !== undefined && expiry <= now) {
    expire(store, sid)
    return undefined
  }
  if (lazily) {
    const written = writtenOf(store, internals).get(sid)
    if (written !== undefined && written.json === json && written.eagerSaves === 0) {
      const spans = (written.spans ??= largeMemberSpans(json) ?? [])
      if (spans.length > 0) return parseWithLazyMembers(json, spans) as StoredSession
    }
  }
  const session = JSON.parse(json) as StoredSession
  // entries written straight into `sessions` have no recorded expiry: check the data itself
  if (expiry === undefined) {
    const own = expiryOf(session?.cookie) ?? NO_EXPIRY
    if (own <= now) {
      expire(store, sid)
      return undefined
    }
    order.set(sid, own)
  }
  return session
}

/** `written`, emptied if `sessions` was replaced since it was last used. */
function writtenOf(store: MemoryStore, internals: MemoryStoreInternals): Map<string, Written> {
  const sessions = sessionsOf(store)
  if (internals.writtenFor !== sessions) {
    internals.written.clear()
    internals.writtenFor = sessions
  }
  return internals.written
}

/**
 * Writes `json` for `sid` as the most recently used entry, evicting the least recently used past `max`.
 * `large` is given when `json` is valid, canonical JSON (written by `JSON.stringify` or from such pieces):
 * what is known of its large members.
 */
function writeSession(store: MemoryStore, sid: string, json: string, expiry: number | undefined, large?: Omit<Written, 'json'>): void {
  const internals = internalsOf(store)
  const { order, max } = internals
  const written = writtenOf(store, internals)
  // Written JSON is usually built by concatenation (a tree of string pieces in V8). Reading a character makes
  // V8 flatten it into one string: a small session written by the middleware then takes ~300 bytes of heap
  // instead of ~940 (bench/memory-per-session.js).
  json.charCodeAt(0)
  sessionsOf(store)[sid] = json
  if (large !== undefined && json.length >= LAZY_MIN_LENGTH) written.set(sid, { json, ...large })
  else written.delete(sid)
  // without `max` the order does not matter: update the expiry in place
  if (max === Infinity) order.set(sid, expiry ?? NO_EXPIRY)
  else use(order, sid, expiry ?? NO_EXPIRY)
  while (order.size > max) {
    expire(store, order.keys().next().value as string, 'max')
  }
}

/*
 * Fast paths shared with the middleware. Stored JSON usually starts with the cookie (`{"cookie":{...},...}`);
 * then the rest is exactly the data the middleware compares to detect changes, so neither side has to
 * serialize it again. Anything that does not have that shape takes the ordinary path.
 */

const COOKIE_PREFIX = '{"cookie":{'
/** What precedes the cookie's own JSON. */
const COOKIE_MEMBER = '{"cookie":'

/**
 * Index of the `}` closing the leading cookie object of `json`, or -1 when `json` does not start with one.
 * @internal
 */
export function cookieEnd(json: string): number {
  if (!json.startsWith(COOKIE_PREFIX)) return -1
  // the cookie object ends just before the `,` or `}` that ends its value
  const end = valueEnd(json, COOKIE_MEMBER.length)
  return end === -1 ? -1 : end - 1
}

/** `{"cookie":<cookieText>,<the keys of dataJson>}`. */
function joinCookie(cookieText: string, dataJson: string): string {
  return dataJson === '{}' ? '{"cookie":' + cookieText + '}' : '{"cookie":' + cookieText + ',' + dataJson.slice(1)
}

/**
 * How many more saves the session is parsed whole: while the application uses all its large members, parsing
 * them with the rest costs less than leaving them unparsed (`spans` come from a save of a session loaded with
 * members left unparsed; none from a session loaded whole).
 */
function eagerSavesOf(previous: Written | undefined, spans: MemberSpan[] | undefined): number {
  if (spans === undefined) return previous === undefined ? 0 : Math.max(0, previous.eagerSaves - 1)
  let least = spans.length === 0 ? 0 : Infinity
  for (const { eager } of spans) least = Math.min(least, eager)
  return least
}

/** `spans` moved by `offset` characters. */
function shifted(spans: MemberSpan[] | undefined, offset: number): MemberSpan[] | undefined {
  return spans?.map(({ key, start, end, eager }) => ({ key, start: start + offset, end: end + offset, eager }))
}

/**
 * Key of the JSON each object handed out by `get` was parsed from: a non-enumerable symbol-keyed property, so
 * the object still deep-equals, prints and copies as the parsed JSON alone. (Not a WeakMap: one entry per
 * request keyed by a short-lived object makes every garbage collection slower.)
 */
const kReadJson = Symbol('express-session.memory-store.json')

/**
 * The data of a session this store's `get` handed out, as JSON without its cookie, exactly as the middleware
 * would serialize it; `undefined` when unknown (another store, an overridden `get`, an unusual shape).
 * @internal
 */
export function storedDataJson(store: object, session: object): string | undefined {
  if ((store as MemoryStore).get !== proto.get) return undefined
  const json = (session as { [kReadJson]?: string })[kReadJson]
  if (json === undefined) return undefined
  const end = cookieEnd(json)
  if (end === -1) return undefined
  return json.charCodeAt(end + 1) === 0x2c ? '{' + json.slice(end + 2) : '{}'
}

let offered: object | undefined
let offeredDataJson: string | undefined
let lazyLoad = false

/**
 * Runs `call` (the middleware's `get` from `store`) with this store's `get` leaving large members unparsed
 * until used. Only when `store` is a MemoryStore as bundled (with `lazyMembers`), which always calls back
 * later, not within `call`.
 * @internal
 */
export function withLazyMembers<T>(store: object, call: () => T): T {
  const self = store as MemoryStore
  // a store that overrides `get` or `createSession` (which would see the unparsed members) gets plain data
  if (self.get !== proto.get || self.createSession !== Store.prototype.createSession || !internalsOf(self).lazyMembers) {
    return call()
  }
  lazyLoad = true
  try {
    return call()
  } finally {
    lazyLoad = false
  }
}

/**
 * Offers the data JSON (without cookie) of `session` to the `set` call made right after, so that it is not
 * serialized twice; `withOfferedDataJson` withdraws it as soon as that call returns.
 * @internal
 */
export function withOfferedDataJson<T>(session: object, dataJson: string, call: () => T): T {
  offered = session
  offeredDataJson = dataJson
  try {
    return call()
  } finally {
    offered = undefined
    offeredDataJson = undefined
  }
}

/** Removes every expired session, reading only the expiry times. */
export function sweep(store: MemoryStore): number {
  const now = Date.now()
  const sessions = sessionsOf(store)
  let removed = 0
  for (const [sid, expiry] of internalsOf(store).order) {
    if (expiry <= now) {
      expire(store, sid)
      removed++
    } else if (!(sid in sessions)) {
      // deleted straight from `sessions`, or `sessions` replaced
      forget(internalsOf(store), sid)
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
  const { max, checkPeriod, lazyMembers } = validateOptions(options ?? {})
  this.sessions = Object.create(null) as Record<string, string>
  const internals = internalsOf(this)
  internals.max = max
  internals.lazyMembers = lazyMembers
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
  for (const sid of Object.keys(sessionsOf(this))) {
    const session = readSession(this, sid)
    if (session) sessions[sid] = session
  }
  if (callback) setImmediate(callback, null, sessions)
}

proto.clear = function clear(callback) {
  this.sessions = Object.create(null) as Record<string, string>
  internalsOf(this).order.clear()
  internalsOf(this).written.clear()
  if (callback) setImmediate(callback)
}

proto.destroy = function destroy(sid, callback) {
  remove(this, sid)
  if (callback) setImmediate(callback)
}

proto.get = function get(sid, callback) {
  let session: StoredSession | undefined
  try {
    session = readSession(this, sid, lazyLoad)
  } catch (err) {
    setImmediate(callback, err)
    return
  }
  if (session !== undefined) {
    const internals = internalsOf(this)
    // reading counts as use for the least-recently-used order
    if (internals.max !== Infinity) use(internals.order, sid, internals.order.get(sid)!)
    Object.defineProperty(session, kReadJson, { value: sessionsOf(this)[sid] })
  }
  setImmediate(callback, null, session)
}

proto.set = function set(sid, session, callback) {
  const cookie = (session as { cookie?: unknown }).cookie
  let json: string
  let spans: MemberSpan[] | undefined
  try {
    if (offered === session && cookie !== undefined) {
      const cookieText = cookieJson(cookie)
      json = joinCookie(cookieText, offeredDataJson!)
      // the data's text starts after `{"cookie":<cookieText>,` where its own `{` was
      spans = shifted(largeMembersOf(session, offeredDataJson!), COOKIE_MEMBER.length + cookieText.length)
    } else json = JSON.stringify(session)
  } catch (err) {
    if (callback) setImmediate(callback, err)
    return
  }
  writeSession(this, sid, json, expiryOf(cookie), { spans, eagerSaves: eagerSavesOf(writtenOf(this, internalsOf(this)).get(sid), spans) })
  if (callback) setImmediate(callback)
}

proto.length = function length(callback) {
  this.all((err, sessions) => {
    if (err) return callback(err)
    callback(null, Object.keys(sessions!).length)
  })
}

proto.touch = function touch(sid, session, callback) {
  const json = sessionsOf(this)[sid]
  const expiry = json === undefined ? undefined : internalsOf(this).order.get(sid)
  const end = expiry === undefined ? -1 : cookieEnd(json!)
  if (end !== -1) {
    // fast path: splice the new cookie in, no parsing
    if (expiry! <= Date.now()) expire(this, sid)
    else {
      const head = COOKIE_MEMBER + cookieJson(session.cookie)
      // only what this store wrote stays known as canonical: text written straight into `sessions` is not
      const written = writtenOf(this, internalsOf(this)).get(sid)
      const large = written?.json === json
        ? { spans: shifted(written!.spans, head.length - (end + 1)), eagerSaves: written!.eagerSaves }
        : undefined
      writeSession(this, sid, head + json!.slice(end + 1), expiryOf(session.cookie), large)
    }
    if (callback) setImmediate(callback)
    return
  }
  let current: StoredSession | undefined
  try {
    current = readSession(this, sid)
  } catch (err) {
    if (callback) setImmediate(callback, err)
    return
  }
  if (current) {
    current.cookie = session.cookie as StoredSession['cookie']
    writeSession(this, sid, JSON.stringify(current), expiryOf(session.cookie), { spans: undefined, eagerSaves: 0 })
  }
  if (callback) setImmediate(callback)
}

proto.close = function close() {
  const internals = internalsOf(this)
  if (internals.timer !== undefined) clearInterval(internals.timer)
  internals.timer = undefined
}
