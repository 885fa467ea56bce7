/**
 * connect-redis 7 (installed as connect-redis7) with the redis 4 client (installed as redis4), on a throwaway
 * redis-server. connect-redis 7 takes a connected client; it is an ES class extending our Store.
 *   node --import tsx --test test/stores/connect-redis7.test.ts
 */
import RedisStore from 'connect-redis7'
import { createClient } from 'redis4'
import { startRedis, type RedisServer } from '../support/servers.js'
import { describeStore, pkgVersion, serverVersion } from '../support/store-harness.js'

type Client = ReturnType<typeof createClient>

let server: RedisServer
/** Each store's own client, to close with it. */
const clients = new Map<RedisStore, { quit(): Promise<unknown> }>()
let probe: Client

const prefixes = { http: 'sess:', conformance: 'conformance-sess:' }

describeStore<RedisStore>({
  title: `connect-redis ${pkgVersion('connect-redis7')} (redis ${pkgVersion('redis4')}) on redis-server ${serverVersion('redis')}`,
  requires: ['redis'],
  setup: async () => {
    server = await startRedis()
    probe = createClient({ url: server.url })
    await probe.connect()
  },
  teardown: async () => {
    await probe?.quit()
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
    await clients.get(store)?.quit()
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
