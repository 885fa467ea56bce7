/**
 * connect-memcached (memcached client) on a throwaway memcached. It sets the item's lifetime from
 * cookie.maxAge in whole seconds (truncated: a maxAge under 1 s would mean "never expires"), and its
 * touch() is a full set(). memcached expires items itself.
 *   node --import tsx --test test/stores/connect-memcached.test.ts
 */
import * as net from 'node:net'
import session from 'express-session'
import MemcachedStoreFactory from 'connect-memcached'
import { startMemcached, type MemcachedServer } from '../support/servers.js'
import { describeStore, pkgVersion, serverVersion } from '../support/store-harness.js'

interface MemcachedStore extends session.Store {
  prefix: string
  client: { end(): void }
}

const MemcachedStore = MemcachedStoreFactory(session) as unknown as new (options: object) => MemcachedStore

let server: MemcachedServer

const prefixes = { http: 'sess:', conformance: 'conformance-sess:' }

/** memcached's meta get with the `t` flag: the item's remaining lifetime in seconds (-1: none), or undefined on a miss. */
function remainingTtl(key: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: server.host, port: server.port })
    let buf = ''
    socket.setEncoding('latin1')
    socket.on('connect', () => socket.write(`mg ${key} t\r\n`))
    socket.on('data', (chunk: string) => {
      buf += chunk
      if (!buf.includes('\r\n')) return
      socket.destroy()
      const line = buf.slice(0, buf.indexOf('\r\n'))
      if (line === 'EN') return resolve(undefined)
      const ttl = /^HD(?: .*)? t(-?\d+)/.exec(line)
      if (ttl) resolve(Number(ttl[1]))
      else reject(new Error(`unexpected memcached answer: ${line}`))
    })
    socket.on('error', reject)
  })
}

describeStore<MemcachedStore>({
  title: `connect-memcached ${pkgVersion('connect-memcached')} (memcached ${pkgVersion('memcached')}) on memcached ${serverVersion('memcached')}`,
  requires: ['memcached'],
  setup: async () => {
    server = await startMemcached()
  },
  teardown: async () => {
    await server?.stop()
  },
  createStore: (purpose) => new MemcachedStore({ hosts: [server.location], prefix: prefixes[purpose] }),
  closeStore: (store) => store.client.end(),
  // the item's remaining lifetime is the store's expiry
  inspect: async (store, sid) => {
    const ttl = await remainingTtl(store.prefix + sid)
    if (ttl === undefined) return { present: false }
    return { present: true, expiresAt: ttl >= 0 ? Date.now() + ttl * 1000 : undefined }
  },
  expiryResolutionMs: 1000,
  shortMaxAgeMs: 2000,
  expiryMechanism: 'memcached expires the item (lifetime from cookie.maxAge, in whole seconds)',
  conformance: {
    knownIssues: {
      touch: 'its touch() is a full set(), so touching a destroyed or expired ID stores the session again',
      length: "its length() calls back with memcached's item statistics, not a count",
    },
  },
})
