/**
 * The bundled RedisStore (`express-session/redis`) on a real Redis Cluster (three masters, three replicas, from
 * test/support/redis-cluster.ts), over node-redis 6's and 4's `createCluster` and ioredis's `Cluster`: the shared
 * HTTP scenarios and the conformance kit for each client; then `all()`, `length()` and `clear()` over sessions spread
 * on every master, beside connect-redis, whose MGET-based `all()` works only where the client splits MGET by slot.
 *   node scripts/test.js test/stores/redis-store-cluster.test.ts
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { RedisStore as ConnectRedisStore } from 'connect-redis'
import { Cluster } from 'ioredis'
import { createCluster } from 'redis'
import { createCluster as createCluster4 } from 'redis4'
import { RedisStore } from 'express-session/redis'
import { clusterSkipReason, keySlot, startRedisCluster, type RedisCluster } from '../support/redis-cluster.js'
import { describeStore, pkgVersion, serverVersion } from '../support/store-harness.js'

const skip = clusterSkipReason()

let clusterStart: Promise<RedisCluster> | undefined
/** The one Redis Cluster of this file, started on first use. */
function cluster(): Promise<RedisCluster> {
  return (clusterStart ??= startRedisCluster())
}

after(async () => {
  if (clusterStart) await (await clusterStart.catch(() => undefined))?.stop()
})

interface ClusterKind {
  name: string
  /** A connected cluster client and how to close it. */
  connect(c: RedisCluster): Promise<{ client: any; close(): Promise<unknown> }>
}

const clusterKinds: ClusterKind[] = [
  {
    name: `redis ${pkgVersion('redis')} createCluster`,
    connect: async (c) => {
      const client = createCluster({ rootNodes: c.rootNodes.map((n) => ({ url: n.url })) })
      client.on('error', () => undefined)
      await client.connect()
      return { client, close: () => client.close() }
    },
  },
  {
    name: `redis ${pkgVersion('redis4')} createCluster`,
    connect: async (c) => {
      const client = createCluster4({ rootNodes: c.rootNodes.map((n) => ({ url: n.url })) })
      client.on('error', () => undefined)
      await client.connect()
      return { client, close: () => client.quit() }
    },
  },
  {
    name: `ioredis ${pkgVersion('ioredis')} Cluster`,
    connect: async (c) => {
      const client = new Cluster(c.rootNodes.map(({ host, port }) => ({ host, port })), { lazyConnect: true })
      client.on('error', () => undefined)
      await client.connect()
      return { client, close: () => client.quit() }
    },
  },
]

/** A node-redis 6 cluster client for looking below the store. */
async function probeClient(): Promise<ReturnType<typeof createCluster>> {
  const c = await cluster()
  const probe = createCluster({ rootNodes: c.rootNodes.map((n) => ({ url: n.url })) })
  probe.on('error', () => undefined)
  await probe.connect()
  return probe
}

clusterKinds.forEach((kind, index) => {
  const closers = new Map<RedisStore, () => Promise<unknown>>()
  let probe: ReturnType<typeof createCluster> | undefined
  const prefixes = { http: `rsc${index}-http:`, conformance: `rsc${index}-conf:` }
  describeStore<RedisStore>({
    title: `RedisStore (${kind.name}) on a Redis Cluster of 3 masters + 3 replicas, redis-server ${serverVersion('redis')}`,
    requires: ['redis'],
    setup: async () => {
      probe = await probeClient()
    },
    teardown: async () => {
      await probe?.close()
    },
    createStore: async (purpose) => {
      const { client, close } = await kind.connect(await cluster())
      const store = new RedisStore({ client, prefix: prefixes[purpose] })
      closers.set(store, close)
      return store
    },
    closeStore: async (store) => {
      await closers.get(store)?.()
    },
    inspect: async (store, sid) => {
      const pttl = await probe!.pTTL(store.prefix + sid)
      if (pttl === -2) return { present: false }
      return { present: true, expiresAt: pttl >= 0 ? Date.now() + pttl : undefined }
    },
    expiryResolutionMs: 1,
    shortMaxAgeMs: 1000,
    expiryMechanism: 'Redis expires the key (PEXPIRE from cookie.expires, in ms), on the master of its slot',
    conformance: { capabilities: { touch: true, all: true, length: true, clear: true } },
  })
})

describe('RedisStore on a Redis Cluster: all(), length(), clear() over every master', { skip }, () => {
  const N = 60
  const session = (i: number): any => ({ cookie: { originalMaxAge: 600_000, expires: new Date(Date.now() + 600_000).toISOString() }, n: i })

  for (const kind of clusterKinds) {
    it(`over ${kind.name}: sees and removes the sessions of every master`, async () => {
      const c = await cluster()
      const { client, close } = await kind.connect(c)
      const prefix = `spread-${kind.name.replace(/\W+/g, '-')}:`
      try {
        const store = new RedisStore({ client, prefix })
        const sids = Array.from({ length: N }, (_, i) => `s${i}`)
        // the sessions live on all three masters
        const holders = new Set(await Promise.all(sids.map((sid) => c.masterOfSlot(keySlot(prefix + sid)))))
        assert.equal(holders.size, 3, 'the sessions are spread over the three masters')
        for (const [i, sid] of sids.entries()) await store.set(sid, session(i))

        assert.equal(await store.length(), N)
        const all = await store.all()
        assert.deepEqual(Object.keys(all).sort(), [...sids].sort())
        for (const [i, sid] of sids.entries()) assert.equal((all[sid] as any).n, i)

        await store.clear()
        assert.equal(await store.length(), 0)
        assert.deepEqual(await store.all(), {})
      } finally {
        await close()
      }
    })
  }

  it(`beside connect-redis ${pkgVersion('connect-redis')}: its MGET-based all() works on node-redis 6 (which splits MGET by slot) and the same MGET fails with CROSSSLOT on node-redis 4; RedisStore's all() works on both`, async () => {
    const c = await cluster()
    const six = await clusterKinds[0]!.connect(c)
    const four = await clusterKinds[1]!.connect(c)
    try {
      const theirs = new ConnectRedisStore({ client: six.client, prefix: 'cr-side:' })
      const sids = Array.from({ length: 20 }, (_, i) => `side${i}`)
      for (const [i, sid] of sids.entries()) await theirs.set(sid, session(i))
      assert.equal(Object.keys(await theirs.all()).length, sids.length, "connect-redis's all() on node-redis 6's cluster client")
      // what connect-redis's all() sends, through a client that does not split it: one MGET of keys in many slots
      await assert.rejects(four.client.mGet(sids.map((sid) => `cr-side:${sid}`)), /CROSSSLOT/)
      for (const kind of [six, four]) {
        const ours = new RedisStore({ client: kind.client, prefix: 'rs-side:' })
        for (const [i, sid] of sids.entries()) await ours.set(sid, session(i))
        assert.equal(Object.keys(await ours.all()).length, sids.length)
        await ours.clear()
        assert.equal(await ours.length(), 0)
      }
      await theirs.clear()
    } finally {
      await six.close()
      await four.close()
    }
  })
})
