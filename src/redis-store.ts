/**
 * `RedisStore`: the bundled Redis session store (`express-session/redis`), over the application's own client:
 * node-redis 4 or later or ioredis, standalone or cluster. No client package is imported: the client is
 * recognized by its methods.
 *
 * A session is a Redis hash `prefix + sid`: one field per top-level data key holding that value's JSON, and the
 * field `cookie` holding the cookie's JSON; the key expires with the cookie. The owner index is a sorted set per
 * owner, kept by the same scripts on a single server and written before the session on a cluster, where every
 * command and script touches one key (`all`, `length` and `clear` SCAN every master).
 */

import { createHash } from 'node:crypto'
import { AsyncStore, type AsyncStoreCallback } from './core/async-store.js'
import type { SessionChanges } from './core/store.js'
import { DEFAULT_OWNER_LIST_LIMIT, OWNER_KEY, type DestroyOwnerOptions, type OwnedSession, type SessionsOfOptions } from './core/owner.js'
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
  /**
   * Prefix of the owner index's keys: the sessions of an owner are a sorted set `ownerPrefix + JSON of the owner`.
   * Neither it nor `prefix` may start with the other (the SCANs of `all`, `length` and `clear` then never take an
   * owner's set for a session). Default `'owner:' + prefix` (`'Owner:' + prefix` for a prefix that starts it).
   */
  ownerPrefix?: string
  /**
   * On a cluster: how old (ms) a member of an owner's set must be before a read that finds it stale (its session
   * gone, or another owner's now) removes it, so that a write in flight, whose member is added before its session
   * is written, is never removed. Longer than any write can take, command timeouts and clock skew between the
   * application's machines included. Default 60000.
   */
  ownerGraceMs?: number
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
  /** Whether the client is a cluster client (a script may then touch only the keys it declares). */
  cluster: boolean
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
        cluster: true,
      }
    }
    return { command: (_key, args) => run(args), masters: () => Promise.resolve([run]), keyPrefix, cluster: false }
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
      cluster: true,
    }
  }
  const node = client as NodeRedisClientLike
  const run: Runner = (args) => node.sendCommand(args)
  return { command: (_key, args) => run(args), masters: () => Promise.resolve([run]), keyPrefix: '', cluster: false }
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

/**
 * The owner index, for the scripts on a session key. Every such script gets ARGV[1] = the owner key prefix (ioredis
 * `keyPrefix` included), or '' when the script must leave the index alone (on a cluster, where the owner's set
 * lives in another slot and the store maintains it with separate commands); ARGV[2] = the time in ms; ARGV[3] =
 * the session key prefix (`keyPrefix` included). On a single server the owner's set is then updated in the same
 * script as the session: its key is computed here, which Redis allows outside cluster mode.
 */
const INDEX_LUA = `
local OWNER_FIELD = '${OWNER_KEY}'
-- the session's ID (its key without the prefix)
local sid = string.sub(KEYS[1], #ARGV[3] + 1)
-- the set of the owner whose JSON is json, or nil when there is none (no owner, not a string, or no index here)
local function owner_key(json)
  if ARGV[1] == '' or not json or string.sub(json, 1, 1) ~= '"' or json == '""' then return nil end
  return ARGV[1] .. json
end
-- the owner field of the session at key (false when none, or when the key holds no hash)
local function stored_owner(key)
  if redis.call('TYPE', key).ok ~= 'hash' then return false end
  return redis.call('HGET', key, OWNER_FIELD)
end
-- moves the session from the set of owner old to that of owner new (JSON, or false); the new set lives at least
-- ttl ms; the two oldest members of the new set are dropped if their session is gone or has another owner now
local function reindex(old, new, ttl)
  local okey, nkey = owner_key(old), owner_key(new)
  if okey and okey ~= nkey then redis.call('ZREM', okey, sid) end
  if not nkey then return end
  redis.call('ZADD', nkey, ARGV[2], sid)
  if redis.call('PTTL', nkey) < ttl then redis.call('PEXPIRE', nkey, ttl) end
  for _, member in ipairs(redis.call('ZRANGE', nkey, 0, 1)) do
    if stored_owner(ARGV[3] .. member) ~= new then redis.call('ZREM', nkey, member) end
  end
end
-- deletes the session and its member in its owner's set (old: the stored owner field)
local function remove_session(old)
  redis.call('DEL', KEYS[1])
  reindex(old, false, 0)
end
-- with ARGV[i] = '' nothing is expected; '=' .. json expects the stored owner field to be json ('=' alone: none)
local function unexpected(i, owner)
  return ARGV[i] ~= '' and ARGV[i] ~= '=' .. (owner or '')
end
`

/** `set`: ARGV = index (3), ttl ms, then field/value pairs. Replaces the whole hash and sets its expiry. */
const SET_SCRIPT = `${CHUNK_LUA}${INDEX_LUA}
local old = stored_owner(KEYS[1])
redis.call('DEL', KEYS[1])
in_chunks('HSET', KEYS[1], 5, #ARGV)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
reindex(old, redis.call('HGET', KEYS[1], OWNER_FIELD), tonumber(ARGV[4]))
return 1
`

/** `destroy` on a single server: ARGV = index (3). Deletes the session and its member in its owner's set. */
const DESTROY_SCRIPT = `${INDEX_LUA}
remove_session(stored_owner(KEYS[1]))
return 1
`

/**
 * `patch`: ARGV = index (3), ttl ms, number of field/value pairs n, expected owner (see `unexpected`), the n pairs,
 * then the fields to delete. Only when the key exists (and is a hash); returns 1, or 0 when the session is gone,
 * or -1 when the key holds another type, or {'owner', json} (writing nothing) when the owner is not the expected one.
 */
const PATCH_SCRIPT = `${CHUNK_LUA}${INDEX_LUA}
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then return 0 end
if t ~= 'hash' then return -1 end
local old = redis.call('HGET', KEYS[1], OWNER_FIELD)
if unexpected(6, old) then return {'owner', old or ''} end
local ttl = tonumber(ARGV[4])
if ttl <= 0 then
  remove_session(old)
  return 1
end
local last = 6 + 2 * tonumber(ARGV[5])
in_chunks('HDEL', KEYS[1], last + 1, #ARGV)
in_chunks('HSET', KEYS[1], 7, last)
redis.call('PEXPIRE', KEYS[1], ttl)
reindex(old, redis.call('HGET', KEYS[1], OWNER_FIELD), ttl)
return 1
`

/**
 * `touch`: ARGV = index (3), ttl ms, cookie JSON ('' for none: keep the stored one), expected owner. Only when the
 * key exists: rewrites the cookie (of a hash) and the expiry, and moves the owner's set along; returns as `patch`.
 */
const TOUCH_SCRIPT = `${INDEX_LUA}
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then return 0 end
local old = stored_owner(KEYS[1])
if unexpected(6, old) then return {'owner', old or ''} end
local ttl = tonumber(ARGV[4])
if ttl <= 0 then
  remove_session(old)
  return 1
end
if t == 'hash' and ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'cookie', ARGV[5]) end
redis.call('PEXPIRE', KEYS[1], ttl)
reindex(old, old, ttl)
return 1
`

/**
 * Conversion of a session stored as one JSON string (connect-redis's format) into a hash, for a patch: ARGV =
 * index (3), the string as read, ttl ms, then field/value pairs. Only when the key still holds that string: returns
 * 1, 0 when the key is gone, -1 when it changed since it was read (the caller reads it again).
 */
const CONVERT_SCRIPT = `${CHUNK_LUA}${INDEX_LUA}
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then return 0 end
if t ~= 'string' or redis.call('GET', KEYS[1]) ~= ARGV[4] then return -1 end
redis.call('DEL', KEYS[1])
local ttl = tonumber(ARGV[5])
if ttl <= 0 or #ARGV < 7 then return 1 end
in_chunks('HSET', KEYS[1], 6, #ARGV)
redis.call('PEXPIRE', KEYS[1], ttl)
reindex(false, redis.call('HGET', KEYS[1], OWNER_FIELD), ttl)
return 1
`

/**
 * The owner's listing on a single server (KEYS[1] = the owner's set): ARGV = index (3), the owner's JSON, the
 * limit. Most recent first; members whose session is gone or has another owner now are removed on the way.
 * Returns sid, HGETALL reply, sid, HGETALL reply, ...
 */
const LIST_SCRIPT = `${INDEX_LUA}
local found, limit, start, out = 0, tonumber(ARGV[5]), 0, {}
while found < limit do
  local page = redis.call('ZREVRANGE', KEYS[1], start, start + 99)
  if #page == 0 then break end
  local removed = 0
  for _, member in ipairs(page) do
    if found == limit then break end
    local key = ARGV[3] .. member
    if stored_owner(key) == ARGV[4] then
      found = found + 1
      out[#out + 1] = member
      out[#out + 1] = redis.call('HGETALL', key)
    else
      redis.call('ZREM', KEYS[1], member)
      removed = removed + 1
    end
  end
  start = start + #page - removed
end
return out
`

/**
 * `destroyOwner` on a single server (KEYS[1] = the owner's set): ARGV = index (3), the owner's JSON, '1' and the
 * session to keep, or '0'. Deletes every session of the set whose owner is still that owner, and empties the set
 * but for the one kept; returns how many sessions it deleted.
 */
const DESTROY_OWNER_SCRIPT = `${INDEX_LUA}
local destroyed = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if ARGV[5] ~= '1' or member ~= ARGV[6] then
    local key = ARGV[3] .. member
    if stored_owner(key) == ARGV[4] then
      redis.call('DEL', key)
      destroyed = destroyed + 1
    end
    redis.call('ZREM', KEYS[1], member)
  end
end
return destroyed
`

/**
 * On a cluster, on the owner's set (KEYS[1]), before the session is written: ARGV = time ms, sid, ttl ms. Adds the
 * session (or moves its score to now) and makes the set live at least ttl ms.
 */
const OWNER_ADD_SCRIPT = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local ttl = tonumber(ARGV[3])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`

/**
 * On a cluster, the repair of an owner's set (KEYS[1]): ARGV = sid, score, sid, score, ... of members found stale.
 * Removes each only if its score is still the one read (no write put it there again since).
 */
const OWNER_REPAIR_SCRIPT = `
local removed = 0
for i = 1, #ARGV, 2 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[i + 1]) then
    removed = removed + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return removed
`

/** On a cluster, `destroyOwner` on one session key: ARGV = the owner's JSON. Deletes it only if that is its owner. */
const DESTROY_IF_OWNER_SCRIPT = `
if redis.call('TYPE', KEYS[1]).ok == 'hash' and redis.call('HGET', KEYS[1], '${OWNER_KEY}') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
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
const DESTROY = script(DESTROY_SCRIPT)
const LIST = script(LIST_SCRIPT)
const DESTROY_OWNER = script(DESTROY_OWNER_SCRIPT)
const OWNER_ADD = script(OWNER_ADD_SCRIPT)
const OWNER_REPAIR = script(OWNER_REPAIR_SCRIPT)
const DESTROY_IF_OWNER = script(DESTROY_IF_OWNER_SCRIPT)

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
const DEFAULT_OWNER_GRACE_MS = 60_000
/** How many members of an owner's set a cluster read fetches at a time, and how many sessions it works on at once. */
const OWNER_PAGE = 1000

/** The default `ownerPrefix`: `'owner:' + prefix`, or `'Owner:' + prefix` when that would start with the prefix. */
function defaultOwnerPrefix(prefix: string): string {
  const lower = `owner:${prefix}`
  return lower.startsWith(prefix) ? `Owner:${prefix}` : lower
}

/** Whether the stored JSON of an owner field names an owner the index keeps: a non-empty string. */
function isIndexed(json: string | undefined): json is string {
  return json !== undefined && json.startsWith('"') && json !== '""'
}

/** The owner a listing or a destruction is for: a non-empty string, else a TypeError. */
function checkOwner(method: string, owner: unknown): string {
  if (typeof owner !== 'string' || owner === '') {
    throw new TypeError(`RedisStore.${method}(): the owner must be a non-empty string (got ${describeValue(owner)})`)
  }
  return owner
}

/** The members and scores of a ZRANGE ... WITHSCORES or ZSCAN reply: a flat array (RESP2) or an array of pairs (RESP3). */
function scoredMembers(reply: unknown): Array<[string, number]> {
  const members: Array<[string, number]> = []
  if (!Array.isArray(reply)) return members
  if (reply.length > 0 && Array.isArray(reply[0])) {
    for (const pair of reply as unknown[][]) members.push([text(pair[0]), Number(text(pair[1]))])
    return members
  }
  for (let i = 0; i + 1 < reply.length; i += 2) members.push([text(reply[i]), Number(text(reply[i + 1]))])
  return members
}

/** Runs `work` on every item, `OWNER_PAGE` at a time; resolves the results in order. */
async function inBatches<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = []
  for (let i = 0; i < items.length; i += OWNER_PAGE) {
    results.push(...await Promise.all(items.slice(i, i + OWNER_PAGE).map(work)))
  }
  return results
}

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

interface ValidOptions {
  adapter: Adapter
  client: RedisClientLike
  prefix: string
  ttl: number | ((session: SessionData) => number)
  disableTouch: boolean
  scanCount: number
  ownerPrefix: string
  ownerGraceMs: number
}

function validateOptions(options: unknown): ValidOptions {
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
  const { ownerPrefix = defaultOwnerPrefix(prefix), ownerGraceMs = DEFAULT_OWNER_GRACE_MS } = options as Partial<RedisStoreOptions>
  if (typeof ownerPrefix !== 'string' || ownerPrefix === '' || ownerPrefix.startsWith(prefix) || prefix.startsWith(ownerPrefix)) {
    throw new TypeError(optionMessage('RedisStore option ownerPrefix', `a non-empty string that neither starts with the prefix ${JSON.stringify(prefix)} nor begins it`, ownerPrefix,
      'the SCANs of all(), length() and clear() must not take an owner\'s set for a session'))
  }
  if (typeof ownerGraceMs !== 'number' || !Number.isFinite(ownerGraceMs) || ownerGraceMs < 0) {
    throw new TypeError(optionMessage('RedisStore option ownerGraceMs', 'a number of ms, 0 or more', ownerGraceMs))
  }
  return { adapter, client: client as RedisClientLike, prefix, ttl, disableTouch, scanCount, ownerPrefix, ownerGraceMs }
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
  /** Prefix of the owner index's keys (a sorted set of session IDs per owner). */
  readonly ownerPrefix: string
  /** On a cluster, the age in ms a stale member of an owner's set must reach before a read removes it. */
  readonly ownerGraceMs: number
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
    this.ownerPrefix = valid.ownerPrefix
    this.ownerGraceMs = valid.ownerGraceMs
    this.#adapter = valid.adapter
  }

  /** The session `sid`, or `null` when there is none (or it expired). */
  override get(sid: string): Promise<SessionData | null>
  override get(sid: string, callback: AsyncStoreCallback<SessionData | null>): void
  override async get(sid: string): Promise<SessionData | null> {
    return this.read(sid, this.prefix + sid)
  }

  /**
   * Stores `session` under `sid`, replacing what was there, in one atomic script; expires it with its cookie. Moves
   * the session to the owner index of its `__sessionOwner` (in the same script on a single server; on a cluster, the
   * owner's set first).
   */
  override set(sid: string, session: SessionData): Promise<void>
  override set(sid: string, session: SessionData, callback?: AsyncStoreCallback): void
  override async set(sid: string, session: SessionData): Promise<void> {
    if (!isPlainObject(session)) throw notPlain(sid, 'the session', session)
    const pairs: string[] = []
    let owner: string | undefined
    for (const key of Object.keys(session)) {
      const json = toJson(sid, key, session[key as keyof SessionData])
      if (json === undefined) continue
      pairs.push(key, json)
      if (key === OWNER_KEY) owner = json
    }
    const ttl = this.ttlMs(session)
    const key = this.prefix + sid
    // a session with no keys at all cannot be a hash: nothing is stored, as for one that expired
    if (ttl <= 0 || pairs.length === 0) return this.destroy(sid)
    if (this.#adapter.cluster && isIndexed(owner)) await this.addToOwner(owner, sid, ttl)
    await evalScript(this.#adapter, SET, key, [...this.indexArgs(), String(ttl), ...pairs])
  }

  /** Removes the session `sid` (and, on a single server, its entry in its owner's set); an unknown `sid` is not an error. */
  override destroy(sid: string): Promise<void>
  override destroy(sid: string, callback?: AsyncStoreCallback): void
  override async destroy(sid: string): Promise<void> {
    const key = this.prefix + sid
    const adapter = this.#adapter
    // on a cluster the owner's set keeps the member, which a read finds stale and removes
    if (adapter.cluster) await adapter.command(key, ['DEL', key])
    else await evalScript(adapter, DESTROY, key, this.indexArgs())
  }

  /**
   * Moves the expiry of `sid` to its cookie's and rewrites the stored cookie, only if it is still stored; the set
   * of its owner lives at least as long.
   */
  override touch(sid: string, session: SessionData): Promise<void>
  override touch(sid: string, session: SessionData, callback?: AsyncStoreCallback): void
  override async touch(sid: string, session: SessionData): Promise<void> {
    if (this.disableTouch) return
    if (!isPlainObject(session)) throw notPlain(sid, 'the session', session)
    const cookie = toJson(sid, COOKIE_FIELD, (session as { cookie?: unknown }).cookie) ?? ''
    const ttl = this.ttlMs(session)
    const key = this.prefix + sid
    await this.withOwner(sid, ttl, toJson(sid, OWNER_KEY, session[OWNER_KEY as keyof SessionData]) ?? '',
      (expected) => evalScript(this.#adapter, TOUCH, key, [...this.indexArgs(), String(ttl), cookie, expected]))
  }

  /**
   * Applies `changes` to the stored session `sid` in one atomic script: sets and removes keys, replaces the cookie,
   * moves the expiry, moves the session in the owner index. Resolves `false`, writing nothing, when the session is
   * no longer stored.
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
    const run = (expected: string): Promise<unknown> =>
      evalScript(this.#adapter, PATCH, key, [...this.indexArgs(), String(ttl), String(pairs.length / 2), expected, ...pairs, ...removed])
    let result: unknown
    const ownerAt = pairs.findIndex((field, i) => i % 2 === 0 && field === OWNER_KEY)
    if (!this.#adapter.cluster || ttl <= 0 || removed.includes(OWNER_KEY)) {
      // the index is kept by the script itself, or the session leaves it
      result = await run('')
    } else if (ownerAt >= 0) {
      // a new owner: its set first, then the session
      const owner = pairs[ownerAt + 1]
      if (isIndexed(owner)) await this.addToOwner(owner, sid, ttl)
      result = await run('')
    } else {
      // the owner stays: its set must live as long as the session, whoever it is when the script runs
      result = await this.withOwner(sid, ttl, '', run)
    }
    if (Number(result) === -1) return this.convertAndPatch(sid, key, ttl, pairs, removed)
    return Number(result) === 1
  }

  /**
   * Up to `options.limit` (default 1000) live sessions of `owner`, the most recently written first, from the
   * owner's set: no scan. One script on a single server; on a cluster one ZREVRANGE per 1000 members plus one read
   * per session. Members found stale (session gone, or another owner's now) are removed on the way (on a cluster
   * only once older than `ownerGraceMs`).
   */
  override sessionsOf(owner: string, options?: SessionsOfOptions): Promise<OwnedSession[]>
  override sessionsOf(owner: string, options: SessionsOfOptions, callback: AsyncStoreCallback<OwnedSession[]>): void
  override sessionsOf(owner: string, callback: AsyncStoreCallback<OwnedSession[]>): void
  override sessionsOf(owner: string, options?: SessionsOfOptions | AsyncStoreCallback<OwnedSession[]>): Promise<OwnedSession[]> | undefined {
    // the two-argument callback form: AsyncStore's wrapper takes a callback only in the third place
    if (typeof options === 'function') {
      this.sessionsOf(owner, { limit: DEFAULT_OWNER_LIST_LIMIT }, options)
      return undefined
    }
    return this.listOwner(owner, options)
  }

  /**
   * Destroys every session of `owner` except `options.except`, and resolves how many. A session that has moved to
   * another owner is left alone. One script on a single server, whatever the number of sessions; on a cluster a
   * ZSCAN of the set, one conditional delete per session (sent concurrently), then one repair of the set.
   */
  override destroyOwner(owner: string, options?: DestroyOwnerOptions): Promise<number>
  override destroyOwner(owner: string, options: DestroyOwnerOptions, callback: AsyncStoreCallback<number>): void
  override destroyOwner(owner: string, callback: AsyncStoreCallback<number>): void
  override destroyOwner(owner: string, options?: DestroyOwnerOptions | AsyncStoreCallback<number>): Promise<number> | undefined {
    if (typeof options === 'function') {
      this.destroyOwner(owner, {}, options)
      return undefined
    }
    return this.destroyOwned(owner, options)
  }

  private async listOwner(owner: string, options: SessionsOfOptions | undefined): Promise<OwnedSession[]> {
    checkOwner('sessionsOf', owner)
    const limit = options?.limit ?? DEFAULT_OWNER_LIST_LIMIT
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new TypeError(`RedisStore.sessionsOf(): options.limit must be a positive integer (got ${describeValue(limit)})`)
    }
    const json = JSON.stringify(owner)
    const ownerKey = this.ownerPrefix + json
    const adapter = this.#adapter
    const listed: OwnedSession[] = []
    if (!adapter.cluster) {
      const reply = await evalScript(adapter, LIST, ownerKey, [...this.indexArgs(), json, String(limit)])
      const flat = Array.isArray(reply) ? reply : []
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const sid = text(flat[i])
        listed.push({ id: sid, session: this.parseHash(sid, this.prefix + sid, entriesOf(flat[i + 1])) })
      }
      return listed
    }
    const seen = new Set<string>()
    const stale: Array<[string, number]> = []
    const page = Math.min(limit, OWNER_PAGE)
    for (let start = 0; listed.length < limit; start += page) {
      const members = scoredMembers(await adapter.command(ownerKey, ['ZREVRANGE', ownerKey, String(start), String(start + page - 1), 'WITHSCORES']))
      const sessions = await Promise.all(members.map(([sid]) => this.read(sid, this.prefix + sid)))
      for (const [i, [sid, score]] of members.entries()) {
        const stored = sessions[i]
        if (stored !== null && (stored as unknown as Record<string, unknown>)[OWNER_KEY] === owner) {
          if (listed.length < limit && !seen.has(sid)) listed.push({ id: sid, session: stored })
          seen.add(sid)
        } else {
          stale.push([sid, score])
        }
      }
      if (members.length < page) break
    }
    await this.repairOwner(ownerKey, stale)
    return listed
  }

  private async destroyOwned(owner: string, options: DestroyOwnerOptions | undefined): Promise<number> {
    checkOwner('destroyOwner', owner)
    const except = options?.except
    if (except !== undefined && typeof except !== 'string') {
      throw new TypeError(`RedisStore.destroyOwner(): options.except must be a session ID (got ${describeValue(except)})`)
    }
    const json = JSON.stringify(owner)
    const ownerKey = this.ownerPrefix + json
    const adapter = this.#adapter
    if (!adapter.cluster) {
      const keep = except === undefined ? ['0'] : ['1', except]
      return Number(await evalScript(adapter, DESTROY_OWNER, ownerKey, [...this.indexArgs(), json, ...keep]))
    }
    // ZSCAN, not pages by rank: a write meanwhile moves its member to the end, which would shift another past a
    // page boundary; a scan returns every member present from its start to its end (some twice)
    const members = new Map<string, number>()
    let cursor = '0'
    do {
      const reply = await adapter.command(ownerKey, ['ZSCAN', ownerKey, cursor, 'COUNT', String(OWNER_PAGE)]) as unknown[]
      cursor = text(reply[0])
      for (const [sid, score] of scoredMembers(reply[1])) members.set(sid, score)
    } while (cursor !== '0')
    const targets = [...members].filter(([sid]) => sid !== except)
    const results = await inBatches(targets, ([sid]) => evalScript(adapter, DESTROY_IF_OWNER, this.prefix + sid, [json]))
    // every target is stale now: destroyed, gone, or another owner's
    await this.repairOwner(ownerKey, targets)
    return results.reduce<number>((sum, result) => sum + Number(result), 0)
  }

  /** The first three arguments of a script on a session key: the index prefixes, or '' on a cluster, and the time. */
  private indexArgs(): string[] {
    const { cluster, keyPrefix } = this.#adapter
    return [cluster ? '' : keyPrefix + this.ownerPrefix, String(Date.now()), keyPrefix + this.prefix]
  }

  /**
   * On a cluster: adds `sid` to the set of the owner `json` (its score: now), which then lives at least `ttl` ms plus
   * `ownerGraceMs`: the session's expiry is set later, when its own script runs, by as long as the write takes.
   */
  private async addToOwner(json: string, sid: string, ttl: number): Promise<void> {
    const ownerKey = this.ownerPrefix + json
    await evalScript(this.#adapter, OWNER_ADD, ownerKey, [String(Date.now()), sid, String(ttl + Math.ceil(this.ownerGraceMs))])
  }

  /**
   * Runs a touch or patch script that moves the expiry of `sid` and keeps its owner. On a single server the script
   * keeps the index itself. On a cluster the set of the owner must live as long as the session before the session's
   * expiry moves: `run(expected)` makes the script do nothing unless the stored owner is `expected` (JSON, '' for
   * none), and answer the stored owner instead; the set of that owner is then extended and the script run again.
   */
  private async withOwner(sid: string, ttl: number, guess: string, run: (expected: string) => Promise<unknown>): Promise<unknown> {
    if (!this.#adapter.cluster || ttl <= 0) return run('')
    let expected = guess
    for (let attempt = 0; attempt < CONVERT_ATTEMPTS; attempt++) {
      if (isIndexed(expected)) await this.addToOwner(expected, sid, ttl)
      const result = await run(`=${expected}`)
      if (!Array.isArray(result)) return result
      expected = text(result[1])
    }
    throw new Error(`RedisStore cannot update session ${sid}: its owner kept changing while its expiry was moved`)
  }

  /**
   * On a cluster: removes from the owner's set the members found stale, each only if it is older than
   * `ownerGraceMs` (no write in flight, which adds the member before it writes the session) and still has the score
   * read (nothing put it there again since).
   */
  private async repairOwner(ownerKey: string, stale: Array<[string, number]>): Promise<void> {
    const before = Date.now() - this.ownerGraceMs
    const old = stale.filter(([, score]) => score < before)
    for (let i = 0; i < old.length; i += OWNER_PAGE) {
      const args = old.slice(i, i + OWNER_PAGE).flatMap(([sid, score]) => [sid, String(score)])
      await evalScript(this.#adapter, OWNER_REPAIR, ownerKey, args)
    }
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
      const owner = fields.get(OWNER_KEY)
      if (adapter.cluster && ttl > 0 && isIndexed(owner)) await this.addToOwner(owner, sid, ttl)
      const result = Number(await evalScript(adapter, CONVERT, key, [...this.indexArgs(), stored, String(ttl), ...[...fields].flat()]))
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

  /** Removes every stored session and the owner index (SCAN on every master, then one DEL per key). */
  override clear(): Promise<void>
  override clear(callback?: AsyncStoreCallback): void
  override async clear(): Promise<void> {
    const adapter = this.#adapter
    const remove = async (keys: string[]): Promise<void> => {
      await Promise.all(keys.map((key) => adapter.command(key, ['DEL', key])))
    }
    await this.scan(remove)
    await this.scan(remove, this.ownerPrefix)
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
    return this.parseHash(sid, key, entries)
  }

  /** The session of the fields of the hash at `key`. */
  private parseHash(sid: string, key: string, entries: Array<[string, unknown]>): SessionData {
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

  /** Calls `onKeys` with each page of keys with `prefix` (the sessions'), SCANning every master in turn; a key is seen once. */
  private async scan(onKeys: (keys: string[]) => Promise<void>, prefix = this.prefix): Promise<void> {
    const adapter = this.#adapter
    const pattern = globEscape(adapter.keyPrefix + prefix) + '*'
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
