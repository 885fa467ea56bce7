/**
 * memorystore: an in-process LRU cache (lru-cache 4) whose entries expire after cookie.maxAge. Stale entries
 * are dropped when read and by prune(), which it runs every `checkPeriod` ms (here: called directly).
 *   node --import tsx --test test/stores/memorystore.test.ts
 */
import session from 'express-session'
import MemoryStoreFactory from 'memorystore'
import { describeStore, pkgVersion } from '../support/store-harness.js'

interface LruCache {
  keys(): string[]
  dump(): Array<{ k: string; v: string; e: number }>
}

interface LruMemoryStore extends session.Store {
  store: LruCache
  prune(): void
  stopInterval(): void
}

const MemoryStore = MemoryStoreFactory(session) as unknown as new (options: object) => LruMemoryStore

describeStore<LruMemoryStore>({
  title: `memorystore ${pkgVersion('memorystore')} (lru-cache ${pkgVersion('memorystore/node_modules/lru-cache')}, in process)`,
  createStore: () => new MemoryStore({ checkPeriod: 60_000 }),
  closeStore: (store) => store.stopInterval(),
  // the cache entry and its expiry (stale entries are listed by keys() until pruned or read)
  inspect: async (store, sid) => {
    if (!store.store.keys().includes(sid)) return { present: false }
    const entry = store.store.dump().find((e) => e.k === sid)
    return { present: true, expiresAt: entry?.e }
  },
  expiryResolutionMs: 10,
  shortMaxAgeMs: 1000,
  expiryMechanism: 'the cache drops stale entries when read and on prune() (every checkPeriod)',
  prune: async (store) => store.prune(),
})
