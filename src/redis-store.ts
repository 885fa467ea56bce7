/**
 * `RedisStore`: the bundled Redis session store (`express-session/redis`), over the application's own client:
 * node-redis 4 or later or ioredis, standalone or cluster. No client package is imported: the client is
 * recognized by its methods.
 *
 * A session is a Redis hash `prefix + sid`: one field per top-level data key holding that value's JSON, and the
 * field `cookie` holding the cookie's JSON; the key expires with the cookie. Every command and script touches
 * exactly one key, so the store works on a cluster (`all`, `length` and `clear` SCAN every master).
 */

import { createHash } from 'node:crypto'
import { AsyncStore, type AsyncStoreCallback } from './core/async-store.js'
import type { SessionChanges } from './core/store.js'
import { describeValue, optionMessage } from './lib/describe-value.js'
import type { SessionData } from './index.js'

/** A node-redis (4 or later) client, as `createClient()` makes it. */
export interface NodeRedisClientLike {
  sendCommand(args: string[]): Promise<unknown>
}

/** A node-redis (4 or later) cluster client, as `createCluster()` makes it. */
export interface NodeRedisClusterLike {
  sendCommand(firstKey: string | undefined, isReadonly: boolean | undefined, args: string[]): Promise<unknown>
  readonly masters: readonly unknown[]
  nodeClient(node: never): unknown
}

/** An ioredis client, `new Redis()` or `new Cluster()`. */
export interface IoRedisLike {
  call(command: string, ...args: string[]): Promise<unknown>
}

/** A Redis client the store accepts: node-redis 4 or later, or ioredis; standalone or cluster; connected by the app. */
export type RedisClientLike = NodeRedisClientLike | NodeRedisClusterLike | IoRedisLike

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /** The application's connected client: node-redis 4+ (`createClient`, `createCluster`) or ioredis (`Redis`, `Cluster`). */
  client: RedisClientLike
  /** Prefix of the session keys. Default `'sess:'`. */
  prefix?: string
  /**
   * Lifetime in seconds of a session whose cookie has no expiry (a browser-session cookie); a session with one
   * expires with its cookie. A function of the session decides for every session (as in connect-redis); in a
   * patch it gets the changed keys and the cookie. A lifetime of 0 or less removes the session. Default 86400.
   */
  ttl?: number | ((session: SessionData) => number)
  /** Whether `touch` does nothing (the expiry then moves only when the session is saved). Default `false`. */
  disableTouch?: boolean
  /** The `COUNT` hint of the `SCAN`s of `all`, `length` and `clear`. Default 100. */
  scanCount?: number
}

/** Runs one command (an array of arguments) on one server. */
type Runner = (args: string[]) => Promise<unknown>

/** How the store talks to one kind of client. */
interface Adapter {
  /** Runs a command whose only key is `key` on the server holding it. */
  command(key: string, args: string[]): Promise<unknown>
  /** A runner for every master (the one server when standalone), for SCAN. */
  masters(): Promise<Runner[]>
  /** A prefix the client adds to every key it sends (ioredis `keyPrefix`), which SCAN does not add. */
  keyPrefix: string
}

function hasMethod(value: object, name: string): boolean {
  return typeof (value as Record<string, unknown>)[name] === 'function'
}

function ioredisKeyPrefix(client: object): string {
  const options = (client as { options?: { keyPrefix?: unknown; redisOptions?: { keyPrefix?: unknown } } }).options
  const prefix = options?.keyPrefix ?? options?.redisOptions?.keyPrefix
  return typeof prefix === 'string' ? prefix : ''
}

/** What the store reads of a node-redis cluster client to make it pick up a new topology after a failover. */
interface NodeRedisClusterInternals {
  readonly masters: ReadonlyArray<{ client?: { isReady?: boolean } }>
  readonly replicas?: ReadonlyArray<{ client?: { isReady?: boolean } }>
  /** node-redis 5 and later; node-redis 4 keeps its slot map private. */
  readonly _slots?: { rediscover?: (startWith?: unknown) => Promise<void> }
}

/** The least time between two topology refreshes the store asks a node-redis cluster client for. */
const TOPOLOGY_REFRESH_INTERVAL_MS = 250

/**
 * Whether a failed cluster command suggests a changed topology: CLUSTERDOWN (a master failed and no replica took
 * over yet), TRYAGAIN, or an error that is no reply from Redis (a closed socket, a refused connection, a client
 * dropped by a rediscovery); replies from Redis start with an upper-case code (ERR, NOSCRIPT, WRONGTYPE, ...).
 */
function needsTopologyRefresh(err: unknown): boolean {
  const message = (err as { message?: unknown } | null)?.message
  if (typeof message !== 'string') return true
  return /^(CLUSTERDOWN|TRYAGAIN)\b/.test(message) || !/^[A-Z][A-Z_-]*\b/.test(message)
}

/**
 * node-redis's cluster client learns a new topology from MOVED/ASK replies, and (6.x) five seconds after a node
 * started reconnecting: when a master dies, the commands for its slots wait in the offline queue of the dead
 * node's reconnecting client, which never answers MOVED (node-redis issues #2806, #2141). So while a master's
 * client is not connected, or after an error that suggests a new topology, the store asks the client to rediscover
 * it (at most every 250 ms, through `_slots.rediscover`, starting from a connected node) and waits for that before
 * sending. Once a replica has been promoted, the rediscovery drops the dead node (its queued commands fail at once)
 * and routes its slots to the new master. node-redis 4 has no way to ask: it stays on the dead node.
 */
function topologyRefresher(cluster: NodeRedisClusterInternals): (force: boolean) => Promise<void> {
  let last = 0
  let running: Promise<void> | undefined
  return (force) => {
    const slots = cluster._slots
    if (typeof slots?.rediscover !== 'function') return Promise.resolve()
    if (!force && cluster.masters.every((master) => master.client?.isReady !== false)) return Promise.resolve()
    if (running) return running
    const now = Date.now()
    if (now - last < TOPOLOGY_REFRESH_INTERVAL_MS) return Promise.resolve()
    last = now
    const connected = [...cluster.masters, ...(cluster.replicas ?? [])].find((node) => node.client?.isReady === true)?.client
    // a failed rediscovery is reported by the client itself (its 'error' event); the command goes ahead regardless
    running = slots.rediscover(connected).catch(() => undefined).finally(() => {
      running = undefined
    })
    return running
  }
}

/** The adapter of `client`, or undefined when it is no client the store knows. */
function adapterOf(client: unknown): Adapter | undefined {
  if (client === null || typeof client !== 'object') return undefined
  // ioredis (both kinds also have a `sendCommand` of their own, taking a Command object)
  if (hasMethod(client, 'call')) {
    const io = client as { call: (...args: string[]) => Promise<unknown>; nodes?: (role: string) => Array<{ call: (...args: string[]) => Promise<unknown> }>; isCluster?: boolean }
    const run: Runner = (args) => io.call(...args)
    const keyPrefix = ioredisKeyPrefix(client)
    if (io.isCluster === true && typeof io.nodes === 'function') {
      const nodes = io.nodes.bind(io)
      return {
        command: (_key, args) => run(args),
        masters: () => Promise.resolve(nodes('master').map((node): Runner => (args) => node.call(...args))),
        keyPrefix,
      }
    }
    return { command: (_key, args) => run(args), masters: () => Promise.resolve([run]), keyPrefix }
  }
  if (!hasMethod(client, 'sendCommand')) return undefined
  // node-redis cluster: `masters` and `nodeClient(master)` reach each master
  if (hasMethod(client, 'nodeClient') && 'masters' in client) {
    const cluster = client as {
      sendCommand: (firstKey: string, isReadonly: boolean, args: string[]) => Promise<unknown>
      masters: readonly unknown[]
      // node-redis 4 may answer with the client itself, 5 and later with a promise of it
      nodeClient: (node: unknown) => Promise<NodeRedisClientLike>
    }
    const refreshTopology = topologyRefresher(client as NodeRedisClusterInternals)
    return {
      // isReadonly false: sessions are read from the masters (read your writes), even with `useReplicas`
      command: async (key, args) => {
        await refreshTopology(false)
        try {
          return await cluster.sendCommand(key, false, args)
        } catch (err) {
          if (needsTopologyRefresh(err)) void refreshTopology(true)
          throw err
        }
      },
      masters: async () => {
        const clients = await Promise.all(cluster.masters.map((master) => cluster.nodeClient(master)))
        return clients.map((node): Runner => (args) => node.sendCommand(args))
      },
      keyPrefix: '',
    }
  }
  const node = client as NodeRedisClientLike
  const run: Runner = (args) => node.sendCommand(args)
  return { command: (_key, args) => run(args), masters: () => Promise.resolve([run]), keyPrefix: '' }
}

// ---------------------------------------------------------------------------------------------------------------
// Scripts: each runs on one key, atomically. `unpack` is called on at most 1000 values at a time, far
// below Lua's stack limit, so sessions with thousands of keys work.
// ---------------------------------------------------------------------------------------------------------------

const CHUNK_LUA = `
-- calls command(key, ARGV[from..to]) in chunks of 1000 arguments (an even number: field/value pairs stay whole)
local function in_chunks(command, key, from, to)
  local i = from
  while i <= to do
    local last = math.min(i + 999, to)
    redis.call(command, key, unpack(ARGV, i, last))
    i = last + 1
  end
end
`

/** `set`: ARGV = ttl ms, then field/value pairs. Replaces the whole hash and sets its expiry. */
const SET_SCRIPT = `${CHUNK_LUA}
redis.call('DEL', KEYS[1])
in_chunks('HSET', KEYS[1], 2, #ARGV)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`

/**
 * `patch`: ARGV = ttl ms, number of field/value pairs n, the n pairs, then the fields to delete. Only when the key
 * exists (and is a hash); returns 1, or 0 when the session is gone, or -1 when the key holds another type.
 */
const PATCH_SCRIPT = `${CHUNK_LUA}
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then return 0 end
if t ~= 'hash' then return -1 end
local ttl = tonumber(ARGV[1])
if ttl <= 0 then
  redis.call('DEL', KEYS[1])
  return 1
end
local last = 2 + 2 * tonumber(ARGV[2])
in_chunks('HDEL', KEYS[1], last + 1, #ARGV)
in_chunks('HSET', KEYS[1], 3, last)
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`

/**
 * `touch`: ARGV = ttl ms, cookie JSON ('' for none: keep the stored one). Only when the key exists: rewrites the
 * cookie (of a hash) and the expiry.
 */
const TOUCH_SCRIPT = `
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then return 0 end
local ttl = tonumber(ARGV[1])
if ttl <= 0 then
  redis.call('DEL', KEYS[1])
  return 1
end
if t == 'hash' and ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'cookie', ARGV[2]) end
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`

/**
 * Conversion of a session stored as one JSON string (connect-redis's format) into a hash, for a patch: ARGV = the
 * string as read, ttl ms, then field/value pairs. Only when the key still holds that string: returns 1, 0 when the
 * key is gone, -1 when it changed since it was read (the caller reads it again).
 */
const CONVERT_SCRIPT = `${CHUNK_LUA}
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then return 0 end
if t ~= 'string' or redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
local ttl = tonumber(ARGV[2])
if ttl <= 0 or #ARGV < 4 then return 1 end
in_chunks('HSET', KEYS[1], 3, #ARGV)
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`

/** Attempts at converting a string session that keeps changing under a patch before giving up. */
const CONVERT_ATTEMPTS = 5

interface Script {
  source: string
  sha: string
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') }
}

const SET = script(SET_SCRIPT)
const PATCH = script(PATCH_SCRIPT)
const TOUCH = script(TOUCH_SCRIPT)
const CONVERT = script(CONVERT_SCRIPT)

function isNoScript(err: unknown): boolean {
  const message = (err as { message?: unknown } | null)?.message
  return typeof message === 'string' && message.startsWith('NOSCRIPT')
}

function isWrongType(err: unknown): boolean {
  const message = (err as { message?: unknown } | null)?.message
  return typeof message === 'string' && message.startsWith('WRONGTYPE')
}

/**
 * Runs `s` on `key` by EVALSHA, and by EVAL when the server does not have it cached yet (after a restart or a
 * failover, or on a cluster master that has not run it): the script's text travels once per server, not on
 * every call.
 */
async function evalScript(adapter: Adapter, s: Script, key: string, args: string[]): Promise<unknown> {
  try {
    return await adapter.command(key, ['EVALSHA', s.sha, '1', key, ...args])
  } catch (err) {
    if (!isNoScript(err)) throw err
    return adapter.command(key, ['EVAL', s.source, '1', key, ...args])
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Serialization
// ---------------------------------------------------------------------------------------------------------------

const DEFAULT_PREFIX = 'sess:'
const DEFAULT_TTL_SECONDS = 86_400
const DEFAULT_SCAN_COUNT = 100
const COOKIE_FIELD = 'cookie'

/** An object whose JSON is an object of its own keys: a plain object, or a class instance such as a `Session`. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null &&
    Object.prototype.toString.call(value) === '[object Object]' &&
    typeof (value as { toJSON?: unknown }).toJSON !== 'function'
}

/** The JSON of `value` (undefined when JSON leaves it out), or a TypeError naming the session and key. */
function toJson(sid: string, key: string, value: unknown): string | undefined {
  try {
    // JSON.stringify's type omits the undefined it returns for undefined, functions and symbols
    return JSON.stringify(value) as string | undefined // eslint-disable-line @typescript-eslint/no-unnecessary-type-assertion -- see above
  } catch (err) {
    // one line: V8's circular-structure message spans several
    const reason = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ')
    throw new TypeError(`RedisStore cannot store session ${sid}: its key "${key}" cannot be represented as JSON (${reason}); nothing was written`, { cause: err })
  }
}

function notPlain(sid: string, what: string, value: unknown): TypeError {
  return new TypeError(`RedisStore cannot store session ${sid}: ${what} must be a plain object (got ${describeValue(value)}); nothing was written`)
}

/** Adds `key` to `target` as an own data property, whatever its name (`__proto__` included), as JSON.parse does. */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

function text(value: unknown): string {
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value)
}

/** The field/value pairs of an HGETALL reply: a flat array (RESP2), a Map or an object (RESP3). */
function entriesOf(reply: unknown): Array<[string, unknown]> {
  if (Array.isArray(reply)) {
    const entries: Array<[string, unknown]> = []
    for (let i = 0; i + 1 < reply.length; i += 2) entries.push([text(reply[i]), reply[i + 1]])
    return entries
  }
  if (reply instanceof Map) return [...(reply as Map<unknown, unknown>)].map(([k, v]) => [text(k), v])
  if (reply !== null && typeof reply === 'object') return Object.entries(reply)
  return []
}

/** Escapes the glob characters of `text` for SCAN's MATCH. */
function globEscape(value: string): string {
  return value.replace(/[*?[\]\\]/g, '\\$&')
}

/** A TTL of a whole number of ms (0 or less: remove the session). */
function wholeMs(ms: number): number {
  return ms <= 0 ? 0 : Math.ceil(ms)
}

// ---------------------------------------------------------------------------------------------------------------
// The store
// ---------------------------------------------------------------------------------------------------------------

function validateOptions(options: unknown): { adapter: Adapter; client: RedisClientLike; prefix: string; ttl: number | ((session: SessionData) => number); disableTouch: boolean; scanCount: number } {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(optionMessage('RedisStore options', 'an object with a client', options, 'new RedisStore({ client })'))
  }
  const { client, prefix = DEFAULT_PREFIX, ttl = DEFAULT_TTL_SECONDS, disableTouch = false, scanCount = DEFAULT_SCAN_COUNT } = options as Partial<RedisStoreOptions>
  const adapter = adapterOf(client)
  if (adapter === undefined) {
    throw new TypeError(optionMessage('RedisStore option client', 'a node-redis (4 or later) or ioredis client', client,
      'pass the client your application created (createClient() or createCluster() of redis, new Redis() or new Cluster() of ioredis)'))
  }
  if (typeof prefix !== 'string' || prefix === '') {
    throw new TypeError(optionMessage('RedisStore option prefix', 'a non-empty string', prefix, 'clear() removes every key that starts with it'))
  }
  if (typeof ttl !== 'function' && (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0)) {
    throw new TypeError(optionMessage('RedisStore option ttl', 'a positive number of seconds or a function of the session returning one', ttl))
  }
  if (typeof disableTouch !== 'boolean') {
    throw new TypeError(optionMessage('RedisStore option disableTouch', 'a boolean', disableTouch))
  }
  if (!Number.isInteger(scanCount) || scanCount < 1) {
    throw new TypeError(optionMessage('RedisStore option scanCount', 'a positive integer', scanCount))
  }
  return { adapter, client: client as RedisClientLike, prefix, ttl, disableTouch, scanCount }
}

/**
 * A session store on Redis, over the application's own node-redis (4+) or ioredis client, standalone or cluster.
 * Every method takes a callback, or returns a promise when called without one.
 *
 * @example
 * ```ts
 * const client = createClient({ url: 'redis://localhost:6379' })
 * await client.connect()
 * app.use(session({ store: new RedisStore({ client }), secret, resave: false, saveUninitialized: false }))
 * ```
 */
export class RedisStore extends AsyncStore {
  /** The application's client. */
  readonly client: RedisClientLike
  /** Prefix of the session keys. */
  readonly prefix: string
  /** Lifetime in seconds of a session without cookie expiry, or the function that decides every lifetime. */
  readonly ttl: number | ((session: SessionData) => number)
  /** Whether `touch` does nothing. */
  readonly disableTouch: boolean
  /** The COUNT hint of SCAN. */
  readonly scanCount: number
  /** How commands reach the client. */
  readonly #adapter: Adapter

  /** Checks the options (a TypeError says which is wrong); sends no command. */
  constructor(options: RedisStoreOptions) {
    super()
    const valid = validateOptions(options)
    this.client = valid.client
    this.prefix = valid.prefix
    this.ttl = valid.ttl
    this.disableTouch = valid.disableTouch
    this.scanCount = valid.scanCount
    this.#adapter = valid.adapter
  }

  /** The session `sid`, or `null` when there is none (or it expired). */
  override get(sid: string): Promise<SessionData | null>
  override get(sid: string, callback: AsyncStoreCallback<SessionData | null>): void
  override async get(sid: string): Promise<SessionData | null> {
    return this.read(sid, this.prefix + sid)
  }

  /** Stores `session` under `sid`, replacing what was there, in one atomic script; expires it with its cookie. */
  override set(sid: string, session: SessionData): Promise<void>
  override set(sid: string, session: SessionData, callback?: AsyncStoreCallback): void
  override async set(sid: string, session: SessionData): Promise<void> {
    if (!isPlainObject(session)) throw notPlain(sid, 'the session', session)
    const pairs: string[] = []
    for (const key of Object.keys(session)) {
      const json = toJson(sid, key, session[key as keyof SessionData])
      if (json !== undefined) pairs.push(key, json)
    }
    const ttl = this.ttlMs(session)
    const key = this.prefix + sid
    const adapter = this.#adapter
    // a session with no keys at all cannot be a hash: nothing is stored, as for one that expired
    if (ttl <= 0 || pairs.length === 0) await adapter.command(key, ['DEL', key])
    else await evalScript(adapter, SET, key, [String(ttl), ...pairs])
  }

  /** Removes the session `sid`; an unknown `sid` is not an error. */
  override destroy(sid: string): Promise<void>
  override destroy(sid: string, callback?: AsyncStoreCallback): void
  override async destroy(sid: string): Promise<void> {
    const key = this.prefix + sid
    await this.#adapter.command(key, ['DEL', key])
  }

  /** Moves the expiry of `sid` to its cookie's and rewrites the stored cookie, only if it is still stored. */
  override touch(sid: string, session: SessionData): Promise<void>
  override touch(sid: string, session: SessionData, callback?: AsyncStoreCallback): void
  override async touch(sid: string, session: SessionData): Promise<void> {
    if (this.disableTouch) return
    if (!isPlainObject(session)) throw notPlain(sid, 'the session', session)
    const cookie = toJson(sid, COOKIE_FIELD, (session as { cookie?: unknown }).cookie) ?? ''
    const key = this.prefix + sid
    await evalScript(this.#adapter, TOUCH, key, [String(this.ttlMs(session)), cookie])
  }

  /**
   * Applies `changes` to the stored session `sid` in one atomic script: sets and removes keys, replaces the cookie,
   * moves the expiry. Resolves `false`, writing nothing, when the session is no longer stored.
   */
  override patch(sid: string, changes: SessionChanges): Promise<boolean>
  override patch(sid: string, changes: SessionChanges, callback: AsyncStoreCallback<boolean>): void
  override async patch(sid: string, changes: SessionChanges): Promise<boolean> {
    // the changes come from the middleware, or from an application calling patch itself
    if ((changes as unknown) === null || typeof changes !== 'object') throw notPlain(sid, 'the changes', changes)
    const { set, unset, cookie } = changes
    if (!isPlainObject(set)) throw notPlain(sid, 'changes.set', set)
    if (!Array.isArray(unset)) throw new TypeError(`RedisStore cannot patch session ${sid}: changes.unset must be an array of keys (got ${describeValue(unset)}); nothing was written`)
    const pairs: string[] = []
    const removed: string[] = []
    for (const key of Object.keys(set)) {
      if (key === COOKIE_FIELD) continue
      const json = toJson(sid, key, set[key])
      if (json === undefined) removed.push(key)
      else pairs.push(key, json)
    }
    for (const key of unset) {
      if (typeof key === 'string' && key !== COOKIE_FIELD) removed.push(key)
    }
    const cookieJson = toJson(sid, COOKIE_FIELD, cookie)
    if (cookieJson !== undefined) pairs.push(COOKIE_FIELD, cookieJson)
    const ttl = this.ttlMs({ ...set, cookie } as unknown as SessionData)
    const key = this.prefix + sid
    const result = Number(await evalScript(this.#adapter, PATCH, key, [String(ttl), String(pairs.length / 2), ...pairs, ...removed]))
    if (result === -1) return this.convertAndPatch(sid, key, ttl, pairs, removed)
    return result === 1
  }

  /**
   * Patches a session stored as one JSON string (by connect-redis, under the same prefix): applies the changes to
   * the string's data and stores the result as a hash, only if the string is still the one read.
   */
  private async convertAndPatch(sid: string, key: string, ttl: number, pairs: string[], removed: string[]): Promise<boolean> {
    const adapter = this.#adapter
    for (let attempt = 0; attempt < CONVERT_ATTEMPTS; attempt++) {
      const raw = await adapter.command(key, ['GET', key])
      if (raw === null || raw === undefined) return false
      const stored = text(raw)
      const data = this.parseString(sid, key, stored)
      if (data === null) {
        throw new Error(`RedisStore cannot patch session ${sid}: the key ${key} holds no session (a value stored by something else under the prefix?); nothing was written. Remove it, or use another prefix`)
      }
      const fields = new Map<string, string>()
      for (const field of Object.keys(data)) {
        const json = toJson(sid, field, data[field])
        if (json !== undefined) fields.set(field, json)
      }
      for (const field of removed) fields.delete(field)
      for (let i = 0; i < pairs.length; i += 2) fields.set(pairs[i], pairs[i + 1])
      const result = Number(await evalScript(adapter, CONVERT, key, [stored, String(ttl), ...[...fields].flat()]))
      if (result !== -1) return result === 1
    }
    throw new Error(`RedisStore cannot patch session ${sid}: the string at key ${key} kept changing while it was converted to a hash`)
  }

  /** Every stored session, keyed by session ID (SCAN on every master, then one HGETALL per key). */
  override all(): Promise<Record<string, SessionData>>
  override all(callback: AsyncStoreCallback<Record<string, SessionData>>): void
  override async all(): Promise<Record<string, SessionData>> {
    const sessions: Record<string, SessionData> = {}
    await this.scan(async (keys) => {
      await Promise.all(keys.map(async (key) => {
        const sid = key.slice(this.prefix.length)
        const session = await this.read(sid, key)
        // a key removed or expired since the SCAN is no session
        if (session !== null) define(sessions, sid, session)
      }))
    })
    return sessions
  }

  /** The number of stored sessions (keys with the prefix, counted by SCAN on every master). */
  override length(): Promise<number>
  override length(callback: AsyncStoreCallback<number>): void
  override async length(): Promise<number> {
    let count = 0
    await this.scan((keys) => {
      count += keys.length
      return Promise.resolve()
    })
    return count
  }

  /** Removes every stored session (SCAN on every master, then one DEL per key). */
  override clear(): Promise<void>
  override clear(callback?: AsyncStoreCallback): void
  override async clear(): Promise<void> {
    const adapter = this.#adapter
    await this.scan(async (keys) => {
      await Promise.all(keys.map((key) => adapter.command(key, ['DEL', key])))
    })
  }

  /** The session stored at `key`: parsed hash fields; a string (as connect-redis stores) is parsed whole. */
  private async read(sid: string, key: string): Promise<SessionData | null> {
    const adapter = this.#adapter
    let reply: unknown
    try {
      reply = await adapter.command(key, ['HGETALL', key])
    } catch (err) {
      if (!isWrongType(err)) throw err
      return this.readString(sid, key)
    }
    const entries = entriesOf(reply)
    if (entries.length === 0) return null
    const session: Record<string, unknown> = {}
    for (const [field, raw] of entries) {
      let value: unknown
      try {
        value = JSON.parse(text(raw))
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err)
        throw new Error(`RedisStore cannot read session ${sid}: its field "${field}" (key ${key}) is not JSON (${reason})`, { cause: err })
      }
      define(session, field, value)
    }
    return session as unknown as SessionData
  }

  /** A session stored as one JSON string (connect-redis's format), so that sessions of a previous store load. */
  private async readString(sid: string, key: string): Promise<SessionData | null> {
    const raw = await this.#adapter.command(key, ['GET', key])
    if (raw === null || raw === undefined) return null
    return this.parseString(sid, key, text(raw)) as SessionData | null
  }

  /** The session object a string holds, or null when it holds JSON of something else. */
  private parseString(sid: string, key: string, raw: string): Record<string, unknown> | null {
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err)
      throw new Error(`RedisStore cannot read session ${sid}: the string at key ${key} is not JSON (${reason})`, { cause: err })
    }
    return isPlainObject(value) ? value : null
  }

  /** The lifetime in ms of `session`: from the `ttl` function, else from the cookie's expiry, else `ttl`. */
  private ttlMs(session: SessionData): number {
    if (typeof this.ttl === 'function') {
      const seconds = this.ttl(session)
      if (typeof seconds !== 'number' || Number.isNaN(seconds)) {
        throw new TypeError(optionMessage('The RedisStore ttl function\'s result', 'a number of seconds', seconds))
      }
      return wholeMs(Math.min(seconds * 1000, Number.MAX_SAFE_INTEGER))
    }
    const expires = (session as { cookie?: { expires?: unknown } | null }).cookie?.expires
    if (expires !== null && expires !== undefined && expires !== false) {
      const at = expires instanceof Date ? expires.getTime() : new Date(expires as string).getTime()
      if (Number.isFinite(at)) return wholeMs(at - Date.now())
    }
    return this.ttl * 1000
  }

  /** Calls `onKeys` with each page of session keys, SCANning every master in turn; a key is seen once. */
  private async scan(onKeys: (keys: string[]) => Promise<void>): Promise<void> {
    const adapter = this.#adapter
    const pattern = globEscape(adapter.keyPrefix + this.prefix) + '*'
    const seen = new Set<string>()
    for (const run of await adapter.masters()) {
      let cursor = '0'
      do {
        const reply = await run(['SCAN', cursor, 'MATCH', pattern, 'COUNT', String(this.scanCount)])
        const [next, found] = reply as [unknown, unknown[]]
        cursor = text(next)
        const keys: string[] = []
        for (const raw of found) {
          // ioredis adds its keyPrefix to the keys of commands, not to the keys SCAN returns
          const key = text(raw).slice(adapter.keyPrefix.length)
          if (!seen.has(key)) {
            seen.add(key)
            keys.push(key)
          }
        }
        if (keys.length > 0) await onKeys(keys)
      } while (cursor !== '0')
    }
  }
}
