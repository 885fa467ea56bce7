/**
 * The throwaway Redis Cluster of ./redis-cluster.ts: it starts with three masters and three replicas covering every
 * slot, answers a cluster client, fails a killed master over to its replica, and stops cleanly.
 *   node scripts/test.js test/support/redis-cluster.test.ts
 */
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as net from 'node:net'
import { after, before, describe, it } from 'node:test'
import { createCluster } from 'redis'
import { HOST } from './servers.js'
import { clusterSkipReason, keySlot, startRedisCluster, type RedisCluster } from './redis-cluster.js'

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: HOST, port })
    s.on('connect', () => {
      s.destroy()
      resolve(false)
    })
    s.on('error', () => resolve(true))
  })
}

describe('Redis Cluster support (3 masters, 3 replicas)', { skip: clusterSkipReason() }, () => {
  let cluster: RedisCluster | undefined

  before(async () => {
    cluster = await startRedisCluster()
  })
  after(async () => {
    const nodes = cluster?.nodes ?? []
    await cluster?.stop()
    for (const node of nodes) {
      assert.equal(fs.existsSync(node.server.dir), false, `${node.server.dir} is removed`)
      assert.ok(await refuses(node.port), `port ${node.port} refuses connections after stop()`)
    }
  })

  it('starts healthy: three masters with one replica each, all 16384 slots served', async () => {
    const c = cluster!
    assert.equal(c.nodes.length, 6)
    const masters = await c.masters()
    assert.equal(masters.length, 3)
    const replicas = await c.replicasOf()
    for (const m of masters) assert.equal(replicas.get(m)?.length, 1, `master ${m} has one replica`)
    const info = await c.command(masters[0]!, 'CLUSTER', 'INFO')
    assert.match(info, /cluster_state:ok/)
    assert.match(info, /cluster_slots_assigned:16384/)
    assert.match(info, /cluster_slots_ok:16384/)
    assert.match(info, /cluster_known_nodes:6/)
  })

  it('keySlot() agrees with CLUSTER KEYSLOT', async () => {
    const c = cluster!
    for (const key of ['sess:abc', 'foo', '{user1}.following', 'a{}b', '\u00e9t\u00e9']) {
      assert.equal(keySlot(key), Number((await c.command(c.nodes[0]!.port, 'CLUSTER', 'KEYSLOT', key)).trim()), key)
    }
  })

  it('kills a master: its replica takes over, and data acknowledged by the replica is still there', async (t) => {
    const c = cluster!
    const client = createCluster({ rootNodes: c.rootNodes.map((n) => ({ url: n.url })) })
    client.on('error', () => undefined)
    await client.connect()
    try {
      const keys = Array.from({ length: 60 }, (_, i) => `support-key-${i}`)
      for (const key of keys) await client.set(key, `value of ${key}`)
      await c.waitReplicated()

      const victim = (await c.masters())[1]!
      const onVictim = []
      for (const key of keys) if ((await c.masterOfSlot(keySlot(key))) === victim) onVictim.push(key)
      assert.ok(onVictim.length > 0, 'some keys live on the master to kill')

      const result = await c.killMaster(victim)
      t.diagnostic(`master ${result.killed} failed over to ${result.promoted} in ${result.failoverMs} ms (${onVictim.length} keys on it)`)
      assert.notEqual(result.promoted, result.killed)
      const masters = await c.masters()
      assert.equal(masters.length, 3)
      assert.ok(masters.includes(result.promoted))
      assert.ok(!masters.includes(result.killed))
      assert.equal(c.nodes.find((n) => n.port === result.killed)?.alive, false)
      await c.waitHealthy()
      for (const key of onVictim) {
        assert.equal(await c.masterOfSlot(keySlot(key)), result.promoted)
        assert.equal((await c.command(result.promoted, 'GET', key)).trim(), `value of ${key}`, `${key} survived on the promoted replica`)
      }
    } finally {
      client.destroy()
    }
  })
})
