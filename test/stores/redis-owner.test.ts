/**
 * The owner index of the bundled RedisStore (`sessionsOf`, `destroyOwner`) on a throwaway redis-server and on a real
 * Redis Cluster (3 masters + 3 replicas), over node-redis 6 and ioredis (and node-redis 4 on the single server):
 * listing, logging out the other sessions, owner changes, expiry, parallel logins/logouts/expiries checked against
 * the stored sessions, an owner with 3000 sessions, and the round trips of destroyOwner (no SCAN).
 *   node scripts/test.js test/stores/redis-owner.test.ts
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { RedisStore } from 'express-session/redis'
import { redisEnvs } from '../support/redis-envs.js'
import { pkgVersion } from '../support/store-harness.js'

const OWNER = '__sessionOwner'
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const envs = redisEnvs({ withRedis4: true })

/** Session data of `owner` (none when undefined), expiring in `maxAge` ms. */
function data(owner: string | undefined, maxAge = 600_000, extra: Record<string, unknown> = {}): any {
  const sess: Record<string, unknown> = {
    cookie: { originalMaxAge: maxAge, expires: new Date(Date.now() + maxAge).toISOString(), httpOnly: true, path: '/' },
    ...extra,
  }
  if (owner !== undefined) sess[OWNER] = owner
  return sess
}

function cookie(maxAge = 600_000): any {
  return { originalMaxAge: maxAge, expires: new Date(Date.now() + maxAge).toISOString(), httpOnly: true, path: '/' }
}

const ids = (listed: Array<{ id: string }>): string[] => listed.map((s) => s.id).sort()

let run = 0
for (const env of envs) {
  describe(`RedisStore owner index (${env.name})`, { skip: env.skip }, () => {
    /** A store on a fresh prefix, its probe, and the key of an owner's set. */
    async function open(options: Record<string, unknown> = {}) {
      const { client, probe, close } = await env.connect()
      const prefix = `own${++run}-${Date.now()}:`
      const store = new RedisStore({ client, prefix, ...options })
      const ownerKey = (owner: string): string => store.ownerPrefix + JSON.stringify(owner)
      return { store, probe, close, client, ownerKey }
    }

    it('lists the sessions of an owner; destroyOwner keeps `except` and leaves other owners alone', async () => {
      const { store, probe, close, ownerKey } = await open()
      try {
        await store.set('a1', data('alice', 600_000, { n: 1 }))
        await store.set('a2', data('alice'))
        await store.set('b1', data('bob'))
        await store.set('x1', data(undefined))
        const listed = await store.sessionsOf('alice')
        assert.deepEqual(ids(listed), ['a1', 'a2'])
        const a1 = listed.find((s) => s.id === 'a1')!
        assert.equal((a1.session as any)[OWNER], 'alice', 'the listed data is the stored data, owner field included')
        assert.equal((a1.session as any).n, 1)
        assert.deepEqual(a1.session, await store.get('a1'))
        assert.deepEqual(ids(await store.sessionsOf('bob', { limit: 10 })), ['b1'])
        assert.deepEqual(await store.sessionsOf('nobody'), [])
        // the callback forms
        const viaCallback = await new Promise<any[]>((resolve, reject) => {
          store.sessionsOf('alice', (err, sessions) => (err ? reject(err) : resolve(sessions!)))
        })
        assert.deepEqual(ids(viaCallback), ['a1', 'a2'])

        assert.equal(await store.destroyOwner('alice', { except: 'a1' }), 1)
        assert.deepEqual(ids(await store.sessionsOf('alice')), ['a1'])
        assert.equal(await store.get('a2'), null)
        assert.ok(await store.get('b1'))
        assert.ok(await store.get('x1'))
        // a cluster leaves the destroyed session's member, recent, to a later read (see the cluster test below)
        if (!env.cluster) assert.deepEqual(await probe.zRange(ownerKey('alice'), 0, -1), ['a1'])

        const destroyed = await new Promise<number>((resolve, reject) => {
          store.destroyOwner('alice', {}, (err, n) => (err ? reject(err) : resolve(n!)))
        })
        assert.equal(destroyed, 1)
        assert.equal(await store.get('a1'), null)
        assert.deepEqual(await store.sessionsOf('alice'), [])
        assert.deepEqual(ids(await store.sessionsOf('bob')), ['b1'])
        assert.equal(await store.destroyOwner('alice'), 0)

        // all() and length() count sessions only; clear() removes the owner sets too
        assert.equal(await store.length(), 2)
        assert.deepEqual(Object.keys(await store.all()).sort(), ['b1', 'x1'])
        await store.clear()
        assert.equal(await probe.exists(ownerKey('bob')), 0)
      } finally {
        await close()
      }
    })

    it('refuses a bad owner, limit or except, and an ownerPrefix that overlaps the prefix', async () => {
      const { store, close, client } = await open()
      try {
        await assert.rejects(store.sessionsOf(''), TypeError)
        await assert.rejects(store.sessionsOf('a', { limit: 0 }), /limit must be a positive integer/)
        await assert.rejects(store.destroyOwner('a', { except: 3 as any }), /except must be a session ID/)
        assert.throws(() => new RedisStore({ client, prefix: 'sess:', ownerPrefix: 'sess:owner:' }), /ownerPrefix/)
        assert.throws(() => new RedisStore({ client, prefix: 'sess:', ownerPrefix: 'se' }), /ownerPrefix/)
        assert.equal(new RedisStore({ client }).ownerPrefix, 'owner:sess:')
        assert.equal(new RedisStore({ client, prefix: 'o' }).ownerPrefix, 'Owner:o')
      } finally {
        await close()
      }
    })

    it('moves a session when its owner changes (set, patch setting or removing the owner), drops it on destroy', async () => {
      const { store, probe, close, ownerKey } = await open()
      try {
        await store.set('s', data('alice'))
        await store.set('s', data('bob'))
        assert.deepEqual(await store.sessionsOf('alice'), [])
        assert.deepEqual(ids(await store.sessionsOf('bob')), ['s'])

        assert.equal(await store.patch('s', { set: { [OWNER]: 'carol', n: 1 }, unset: [], cookie: cookie(), cookieChanged: false }), true)
        assert.deepEqual(await store.sessionsOf('bob'), [])
        assert.deepEqual(ids(await store.sessionsOf('carol')), ['s'])
        // a patch that leaves the owner alone keeps the session listed
        assert.equal(await store.patch('s', { set: { n: 2 }, unset: [], cookie: cookie(), cookieChanged: false }), true)
        const [listed] = await store.sessionsOf('carol')
        assert.equal((listed!.session as any).n, 2)
        await store.touch('s', data('carol'))
        assert.deepEqual(ids(await store.sessionsOf('carol')), ['s'])

        assert.equal(await store.patch('s', { set: {}, unset: [OWNER], cookie: cookie(), cookieChanged: false }), true)
        assert.deepEqual(await store.sessionsOf('carol'), [])
        assert.equal((await store.get('s') as any)[OWNER], undefined)

        await store.set('s', data('dave'))
        await store.destroy('s')
        assert.deepEqual(await store.sessionsOf('dave'), [])
        if (!env.cluster) {
          // a single server keeps the sets exact at every write
          for (const owner of ['alice', 'bob', 'carol', 'dave']) assert.equal(await probe.exists(ownerKey(owner)), 0, owner)
        }
        // a destroyed session is not brought back by a patch or touch
        assert.equal(await store.patch('s', { set: { [OWNER]: 'dave' }, unset: [], cookie: cookie(), cookieChanged: false }), false)
        await store.touch('s', data('dave'))
        assert.equal(await store.get('s'), null)
        assert.deepEqual(await store.sessionsOf('dave'), [])
      } finally {
        await close()
      }
    })

    it('an expired session drops out of the listing, and the owner set expires with its last session', async () => {
      // on a cluster the set outlives its sessions by ownerGraceMs (their expiry is set after the set's)
      const grace = env.cluster ? 500 : 0
      const { store, probe, close, ownerKey } = await open({ ownerGraceMs: 500 })
      try {
        await store.set('short', data('erin', 1500))
        await store.set('longer', data('erin', 4000))
        const ttl = await probe.pTTL(ownerKey('erin'))
        assert.ok(ttl > 1500 && ttl <= 4000 + grace, `the owner set lives as long as its longest session (PTTL ${ttl})`)
        assert.deepEqual(ids(await store.sessionsOf('erin')), ['longer', 'short'])
        await sleep(1700)
        assert.deepEqual(ids(await store.sessionsOf('erin')), ['longer'])
        // a touch moves the set's expiry with the session's
        await store.touch('longer', data('erin', 5000))
        const moved = await probe.pTTL(ownerKey('erin'))
        assert.ok(moved > 3000, `touch extends the owner set (PTTL ${moved})`)
        await sleep(5200 + grace)
        assert.deepEqual(await store.sessionsOf('erin'), [])
        assert.equal(await probe.exists(ownerKey('erin')), 0, 'the set expired with its last session')
      } finally {
        await close()
      }
    })

    if (env.cluster) {
      it('on a cluster, a read removes stale members only once older than ownerGraceMs', async () => {
        const fresh = await open()
        try {
          await fresh.store.set('m', data('frank'))
          await fresh.store.set('m', data('gina'))
          assert.deepEqual(await fresh.probe.zRange(fresh.ownerKey('frank'), 0, -1), ['m'], 'the old owner keeps a stale member')
          assert.deepEqual(await fresh.store.sessionsOf('frank'), [], 'which the listing does not show')
          assert.deepEqual(await fresh.probe.zRange(fresh.ownerKey('frank'), 0, -1), ['m'], 'nor removes while it is recent')
          assert.equal(await fresh.store.destroyOwner('frank'), 0, 'destroyOwner leaves a session that moved to another owner')
          assert.ok(await fresh.store.get('m'))
        } finally {
          await fresh.close()
        }
        const repairing = await open({ ownerGraceMs: 0 })
        try {
          const { store, probe, ownerKey } = repairing
          await store.set('m', data('frank'))
          await store.set('m', data('gina'))
          await store.set('d', data('frank'))
          await store.destroy('d')
          assert.deepEqual((await probe.zRange(ownerKey('frank'), 0, -1)).sort(), ['d', 'm'])
          await sleep(5)
          assert.deepEqual(await store.sessionsOf('frank'), [])
          assert.equal(await probe.exists(ownerKey('frank')), 0, 'the read removed both stale members')
          assert.deepEqual(ids(await store.sessionsOf('gina')), ['m'])
        } finally {
          await repairing.close()
        }
      })
    }

    it('parallel logins, owner changes, logouts, destroyOwner and expiries leave an index equal to the stored owners', async () => {
      const { store, probe, close, ownerKey } = await open()
      try {
        const owners = ['o0', 'o1', 'o2', 'o3']
        const sids = Array.from({ length: 24 }, (_, i) => `p${i}`)
        let seed = 7
        const random = (n: number): number => {
          seed = (seed * 1103515245 + 12345) % 2147483648
          return seed % n
        }
        const pick = <T>(list: readonly T[]): T => list[random(list.length)]!
        for (const sid of sids) await store.set(sid, data(pick(owners)))
        for (let round = 0; round < 3; round++) {
          const ops: Array<Promise<unknown>> = []
          for (let i = 0; i < 100; i++) {
            const sid = pick(sids)
            const owner = pick(owners)
            switch (random(9)) {
              case 0: case 1: ops.push(store.set(sid, data(owner))); break
              case 2: ops.push(store.set(sid, data(owner, 300))); break
              case 3: ops.push(store.patch(sid, { set: { [OWNER]: owner }, unset: [], cookie: cookie(), cookieChanged: false })); break
              case 4: ops.push(store.patch(sid, { set: { n: i }, unset: [], cookie: cookie(), cookieChanged: false })); break
              case 5: ops.push(store.patch(sid, { set: {}, unset: [OWNER], cookie: cookie(), cookieChanged: false })); break
              case 6: ops.push(store.touch(sid, data(owner))); break
              case 7: ops.push(store.destroy(sid)); break
              default: ops.push(store.destroyOwner(owner, random(2) === 0 ? { except: sid } : {})); break
            }
          }
          await Promise.all(ops)
        }
        await sleep(500)
        const truth = new Map<string, string[]>(owners.map((o) => [o, []]))
        for (const sid of sids) {
          const stored: any = await store.get(sid)
          if (stored?.[OWNER] !== undefined) truth.get(stored[OWNER])!.push(sid)
        }
        let live = 0
        for (const owner of owners) {
          const expected = truth.get(owner)!.sort()
          live += expected.length
          const members = await probe.zRange(ownerKey(owner), 0, -1)
          for (const sid of expected) {
            assert.ok(members.includes(sid), `${sid}, stored with owner ${owner}, is in ${owner}'s set`)
            // the set's first: a later read of it could only show less
            const setTtl = await probe.pTTL(ownerKey(owner))
            const sessionTtl = await probe.pTTL(store.prefix + sid)
            assert.ok(setTtl >= sessionTtl, `${owner}'s set (PTTL ${setTtl}) outlives ${sid} (PTTL ${sessionTtl})`)
          }
          assert.deepEqual(ids(await store.sessionsOf(owner)), expected, `the listing of ${owner}`)
          // on a single server every write and read keeps the set exact
          if (!env.cluster) assert.deepEqual((await probe.zRange(ownerKey(owner), 0, -1)).sort(), expected, `${owner}'s set after a listing`)
        }
        assert.ok(live > 0, 'some sessions of some owner survived')
      } finally {
        await close()
      }
    })

    it('an owner with 3000 sessions: a listing is bounded by its limit; destroyOwner destroys all but the one kept', async () => {
      const { store, probe, close, ownerKey } = await open()
      try {
        const sids = Array.from({ length: 3000 }, (_, i) => `big${i}`)
        for (let i = 0; i < sids.length; i += 200) await Promise.all(sids.slice(i, i + 200).map((sid) => store.set(sid, data('zed'))))
        await store.set('other', data('yan'))
        const listed = await store.sessionsOf('zed', { limit: 50 })
        assert.equal(listed.length, 50)
        assert.equal(new Set(ids(listed)).size, 50)
        assert.equal((await store.sessionsOf('zed')).length, 1000, 'the default limit is 1000')
        assert.equal(await store.destroyOwner('zed', { except: 'big7' }), 2999)
        assert.deepEqual(ids(await store.sessionsOf('zed')), ['big7'])
        assert.ok(await store.get('big7'))
        assert.equal(await store.get('big8'), null)
        assert.ok(await store.get('other'))
        assert.equal(await store.length(), 2)
        if (!env.cluster) assert.deepEqual(await probe.zRange(ownerKey('zed'), 0, -1), ['big7'])
      } finally {
        await close()
      }
    })

    if (env.cluster && env.name.includes(`redis ${pkgVersion('redis')}`)) {
      it('on a cluster, destroyOwner misses no session while other sessions of the owner are written meanwhile', async () => {
        const { client, close } = await env.connect()
        const prefix = `moving${++run}:`
        let store: RedisStore | undefined
        let reads = 0
        // after each read of the owner's set, a device of the owner is touched (a poll), moving its member
        const meddling: any = {
          sendCommand: async (key: string, ro: boolean, args: string[]) => {
            const reply = await client.sendCommand(key, ro, args)
            if (/^(ZRANGE|ZSCAN)$/i.test(args[0]!) && reads < 5) {
              reads++
              await store!.touch(`m${String(reads).padStart(5, '0')}`, data('mover'))
            }
            return reply
          },
          masters: client.masters,
          nodeClient: (node: unknown) => client.nodeClient(node),
        }
        try {
          store = new RedisStore({ client: meddling, prefix })
          const n = 2500
          for (let start = 0; start < n; start += 250) {
            await Promise.all(Array.from({ length: 250 }, (_, i) => store!.set(`m${String(start + i).padStart(5, '0')}`, data('mover'))))
          }
          assert.equal(await store.destroyOwner('mover', { except: 'm00000' }), n - 1)
          assert.deepEqual(ids(await store.sessionsOf('mover', { limit: 5000 })), ['m00000'])
        } finally {
          await close()
        }
      })
    }

    if (env.name.includes(`redis ${pkgVersion('redis')}`)) {
      it('round trips of destroyOwner and sessionsOf, counted at the client; no SCAN or KEYS', async () => {
        const { client, close } = await env.connect()
        const prefix = `rt${++run}:`
        const sent: string[][] = []
        // a client that counts what the store sends (each call is one round trip)
        const counting: any = env.cluster
          ? {
              sendCommand: (key: string, ro: boolean, args: string[]) => { sent.push(args); return client.sendCommand(key, ro, args) },
              masters: client.masters,
              nodeClient: (node: unknown) => client.nodeClient(node),
            }
          : { sendCommand: (args: string[]) => { sent.push(args); return client.sendCommand(args) } }
        try {
          const store = new RedisStore({ client: counting, prefix })
          const figures: string[] = []
          const scans = await env.calls('scan')
          const keys = await env.calls('keys')
          // first, so that every master has the scripts cached (a first call may add an EVAL after NOSCRIPT)
          for (let i = 0; i < 30; i++) await store.set(`warm-${i}`, data('warm-up'))
          await store.sessionsOf('warm-up')
          await store.destroyOwner('warm-up')
          for (const n of [10, 200]) {
            const owner = `n${n}`
            for (let i = 0; i < n; i++) await store.set(`${owner}-${i}`, data(owner))
            sent.length = 0
            assert.equal((await store.sessionsOf(owner, { limit: 5 })).length, 5)
            const listTrips = sent.length
            sent.length = 0
            assert.equal(await store.destroyOwner(owner, { except: `${owner}-0` }), n - 1)
            const destroyTrips = sent.length
            figures.push(`N=${n}: sessionsOf(limit 5) ${listTrips}, destroyOwner ${destroyTrips}`)
            if (env.cluster) {
              // one ZRANGE, one conditional delete per session, no repair (the members are recent)
              assert.equal(destroyTrips, 1 + (n - 1))
              assert.equal(listTrips, 1 + 5)
            } else {
              assert.equal(destroyTrips, 1, 'one script, whatever the number of sessions')
              assert.equal(listTrips, 1)
            }
          }
          assert.ok(!sent.some((args) => /^(SCAN|KEYS)$/i.test(args[0]!)))
          assert.equal(await env.calls('scan'), scans, 'no SCAN')
          assert.equal(await env.calls('keys'), keys, 'no KEYS')
          console.log(`# round trips (${env.name}): ${figures.join('; ')}`)
        } finally {
          await close()
        }
      })
    }
  })
}
