/**
 * connect-redis 10 with the redis 6 client, on a throwaway redis-server.
 *   node --import tsx --test test/stores/connect-redis.test.ts
 */
import { RedisStore } from 'connect-redis'
import { createClient } from 'redis'
import { startRedis, type RedisServer } from '../support/servers.js'
import { describeStore, pkgVersion, serverVersion } from '../support/store-harness.js'

type Client = ReturnType<typeof createClient>

let server: RedisServer
/** Each store's own client, to close with it. */
const clients = new Map<RedisStore, { close(): Promise<unknown> }>()
let probe: Client

/** connect-redis's default key prefix; the conformance run uses its own. */
const prefixes = { http: 'sess:', conformance: 'conformance-sess:' }

describeStore<RedisStore>({
  title: `connect-redis ${pkgVersion('connect-redis')} (redis ${pkgVersion('redis')}) on redis-server ${serverVersion('redis')}`,
  requires: ['redis'],
  setup: async () => {
    server = await startRedis()
    probe = createClient({ url: server.url })
    await probe.connect()
  },
  teardown: async () => {
    await probe?.close()
    await server?.stop()
  },
  createStore: async (purpose) => {
    const client = createClient({ url: server.url })
    await client.connect()
    const store = new RedisStore({ client, prefix: prefixes[purpose] })
    clients.set(store, client)
    return store
  },
  closeStore: async (store) => {
    await clients.get(store)?.close()
  },
  // the key's TTL is the store's expiry
  inspect: async (store, sid) => {
    const pttl = await probe.pTTL(store.prefix + sid)
    if (pttl === -2) return { present: false }
    return { present: true, expiresAt: pttl >= 0 ? Date.now() + pttl : undefined }
  },
  expiryResolutionMs: 1000,
  shortMaxAgeMs: 1000,
  expiryMechanism: 'Redis expires the key (TTL from cookie.expires, in whole seconds)',
})
