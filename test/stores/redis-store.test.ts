/**
 * The bundled RedisStore (`express-session/redis`) on a throwaway redis-server, over node-redis 6, node-redis 4
 * and ioredis: the shared HTTP scenarios and the conformance kit for each client, then the store's own behaviour
 * (hash layout, atomic patch, Dates, refusals, options, entry points).
 *   node scripts/test.js test/stores/redis-store.test.ts
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createClient } from 'redis'
import { createClient as createClient4 } from 'redis4'
import { Redis } from 'ioredis'
import session from 'express-session'
import { RedisStore } from 'express-session/redis'
import { runNode } from '../support/node-process.js'
import { skipUnless, startRedis, type RedisServer } from '../support/servers.js'
import { describeStore, pkgVersion, serverVersion } from '../support/store-harness.js'

let serverStart: Promise<RedisServer> | undefined
/** The one redis-server of this file, started on first use. */
function server(): Promise<RedisServer> {
  return (serverStart ??= startRedis())
}

after(async () => {
  if (serverStart) await (await serverStart).stop()
})

interface ClientKind {
  name: string
  /** A connected client and how to close it. */
  connect(url: string): Promise<{ client: any; close(): Promise<unknown> }>
}

const kinds: ClientKind[] = [
  {
    name: `redis ${pkgVersion('redis')}`,
    connect: async (url) => {
      const client = createClient({ url })
      await client.connect()
      return { client, close: () => client.close() }
    },
  },
  {
    name: `redis ${pkgVersion('redis4')}`,
    connect: async (url) => {
      const client = createClient4({ url })
      await client.connect()
      return { client, close: () => client.quit() }
    },
  },
  {
    name: `ioredis ${pkgVersion('ioredis')}`,
    connect: async (url) => {
      const client = new Redis(url, { lazyConnect: true })
      await client.connect()
      return { client, close: () => client.quit() }
    },
  },
]

/** A raw node-redis client for looking below the store. */
async function probeClient(): Promise<ReturnType<typeof createClient>> {
  const probe = createClient({ url: (await server()).url })
  await probe.connect()
  return probe
}

const sample = (data: Record<string, unknown>, maxAge: number | null = 60_000): any => {
  const sid = 'x'
  const sess = new session.Session({ sessionID: sid, sessionStore: undefined } as any, data) as any
  sess.cookie = new session.Cookie(maxAge === null ? {} : { maxAge })
  return sess
}

kinds.forEach((kind, index) => {
  const closers = new Map<RedisStore, () => Promise<unknown>>()
  let probe: ReturnType<typeof createClient>
  const prefixes = { http: `rs${index}-http:`, conformance: `rs${index}-conf:` }
  describeStore<RedisStore>({
    title: `RedisStore (${kind.name}) on redis-server ${serverVersion('redis')}`,
    requires: ['redis'],
    setup: async () => {
      probe = await probeClient()
    },
    teardown: async () => {
      await probe?.close()
    },
    createStore: async (purpose) => {
      const { client, close } = await kind.connect((await server()).url)
      const store = new RedisStore({ client, prefix: prefixes[purpose] })
      closers.set(store, close)
      return store
    },
    closeStore: async (store) => {
      await closers.get(store)?.()
    },
    inspect: async (store, sid) => {
      const pttl = await probe.pTTL(store.prefix + sid)
      if (pttl === -2) return { present: false }
      return { present: true, expiresAt: pttl >= 0 ? Date.now() + pttl : undefined }
    },
    expiryResolutionMs: 1,
    shortMaxAgeMs: 1000,
    expiryMechanism: 'Redis expires the key (PEXPIRE from cookie.expires, in ms)',
    conformance: { capabilities: { touch: true, all: true, length: true, clear: true } },
  })
})

describe('RedisStore', { skip: skipUnless('redis') }, () => {
  let probe: ReturnType<typeof createClient>
  before(async () => {
    probe = await probeClient()
  })
  after(async () => {
    await probe?.close()
  })

  for (const kind of kinds) {
    describe(`over ${kind.name}`, () => {
      let close: () => Promise<unknown>
      let store: RedisStore
      let n = 0
      const prefix = `direct-${kind.name.replace(/\W+/g, '-')}:`
      const sid = (label: string): string => `${label}-${++n}`

      before(async () => {
        const connected = await kind.connect((await server()).url)
        close = connected.close
        store = new RedisStore({ client: connected.client, prefix })
      })
      after(async () => {
        await close?.()
      })

      it('stores a session as a hash: one field of JSON per top-level key, plus the cookie; the key expires with the cookie', async () => {
        const id = sid('layout')
        const sess = sample({ user: { name: 'ada', roles: ['admin'] }, views: 3, when: new Date('2020-02-29T12:34:56.789Z') })
        await store.set(id, sess)
        const hash = await probe.hGetAll(prefix + id)
        assert.deepEqual(Object.keys(hash).sort(), ['cookie', 'user', 'views', 'when'])
        assert.equal(hash.user, '{"name":"ada","roles":["admin"]}')
        assert.equal(hash.views, '3')
        assert.equal(hash.when, '"2020-02-29T12:34:56.789Z"')
        assert.deepEqual(JSON.parse(hash.cookie as string), JSON.parse(JSON.stringify(sess.cookie)))
        const pttl = await probe.pTTL(prefix + id)
        assert.ok(pttl > 50_000 && pttl <= 60_000, `PTTL ${pttl} follows the cookie's 60 s`)
        const got: any = await store.get(id)
        assert.deepEqual(got.user, { name: 'ada', roles: ['admin'] })
        assert.equal(got.when, '2020-02-29T12:34:56.789Z')
        assert.equal(got.cookie.originalMaxAge, 60_000)
      })

      it('set replaces the whole session (fields it no longer has are gone)', async () => {
        const id = sid('replace')
        await store.set(id, sample({ a: 1, b: 2 }))
        await store.set(id, sample({ a: 3 }))
        assert.deepEqual(Object.keys(await probe.hGetAll(prefix + id)).sort(), ['a', 'cookie'])
      })

      it('patch sets and removes fields, keeps the others, replaces the cookie and moves the expiry', async () => {
        const id = sid('patch')
        await store.set(id, sample({ keep: 'k', change: 1, drop: true }, 10_000))
        const cookie = new session.Cookie({ maxAge: 120_000 })
        const existed = await store.patch(id, { set: { change: 2, added: { x: [1] } }, unset: ['drop'], cookie, cookieChanged: true })
        assert.equal(existed, true)
        const hash = await probe.hGetAll(prefix + id)
        assert.deepEqual(Object.keys(hash).sort(), ['added', 'change', 'cookie', 'keep'])
        assert.equal(hash.keep, '"k"')
        assert.equal(hash.change, '2')
        assert.equal(hash.cookie, JSON.stringify(cookie))
        const pttl = await probe.pTTL(prefix + id)
        assert.ok(pttl > 100_000, `PTTL ${pttl} follows the new cookie`)
      })

      it('a session of 3000 keys: set, then a patch setting 1500 keys and removing 1500 (scripts unpack in chunks)', async () => {
        const id = sid('wide')
        const keys = Array.from({ length: 3000 }, (_, i) => `k${i}`)
        await store.set(id, sample(Object.fromEntries(keys.map((key) => [key, 0]))))
        const set = Object.fromEntries(keys.slice(0, 1500).map((key) => [key, 1]))
        const existed = await store.patch(id, { set, unset: keys.slice(1500), cookie: new session.Cookie({ maxAge: 60_000 }), cookieChanged: false })
        assert.equal(existed, true)
        const hash = await probe.hGetAll(prefix + id)
        assert.equal(Object.keys(hash).length, 1501)
        assert.ok(keys.slice(0, 1500).every((key) => hash[key] === '1'))
      })

      it('patch of a missing or destroyed session calls back false and creates nothing', async () => {
        const id = sid('gone')
        const changes = { set: { a: 1 }, unset: [], cookie: new session.Cookie({ maxAge: 60_000 }), cookieChanged: false }
        assert.equal(await store.patch(id, changes), false)
        assert.equal(await probe.exists(prefix + id), 0)
        await store.set(id, sample({ a: 0 }))
        await store.destroy(id)
        const existed = await new Promise((resolve, reject) => {
          store.patch(id, changes, (err, result) => (err ? reject(err) : resolve(result)))
        })
        assert.equal(existed, false)
        assert.equal(await probe.exists(prefix + id), 0)
        assert.equal(await store.get(id), null)
      })

      it('a Date survives a patch byte-exact: an untouched Date field, and a patched Date as set stores it', async () => {
        const id = sid('dates')
        const created = new Date('2021-01-02T03:04:05.006Z')
        await store.set(id, sample({ created, other: 1 }))
        const before = await probe.hGet(prefix + id, 'created')
        const later = new Date('2022-06-07T08:09:10.011Z')
        await store.patch(id, { set: { other: 2, seen: later }, unset: [], cookie: new session.Cookie({ maxAge: 60_000 }), cookieChanged: false })
        assert.equal(await probe.hGet(prefix + id, 'created'), before)
        const reference = sid('dates-ref')
        await store.set(reference, sample({ seen: later }))
        assert.equal(await probe.hGet(prefix + id, 'seen'), await probe.hGet(prefix + reference, 'seen'))
        const got: any = await store.get(id)
        assert.equal(got.created, created.toISOString())
        assert.equal(got.seen, later.toISOString())
      })

      it('refuses session data that is not a plain object, or that JSON cannot represent, writing nothing', async () => {
        const id = sid('refuse')
        await store.set(id, sample({ kept: 'yes' }))
        const circular: any = { a: 1 }
        circular.self = circular
        for (const bad of [null, 'text', [1, 2], new Date(), new Map(), sample({ big: 10n }), sample({ ok: 1, loop: circular })]) {
          await assert.rejects(store.set(id, bad as any), (err: Error) => {
            assert.ok(err instanceof TypeError, String(err))
            assert.match(err.message, /RedisStore cannot store session .*nothing was written/)
            return true
          })
        }
        assert.deepEqual(await probe.hGetAll(prefix + id), { kept: '"yes"', cookie: (await probe.hGet(prefix + id, 'cookie')) as string })
        await assert.rejects(
          store.patch(id, { set: { kept: 'no', big: 1n }, unset: ['kept'], cookie: new session.Cookie(), cookieChanged: true }),
          /key "big" cannot be represented as JSON/)
        assert.equal(await probe.hGet(prefix + id, 'kept'), '"yes"')
      })

      it('a field that is not JSON: get fails with an error naming the session and the field', async () => {
        const id = sid('corrupt')
        await store.set(id, sample({ a: 1 }))
        await probe.hSet(prefix + id, 'a', '{not json')
        await assert.rejects(store.get(id), new RegExp(`session ${id}: its field "a"`))
      })

      it('all, length and clear (SCAN; no MGET, no KEYS)', async () => {
        const own = new RedisStore({ client: (store as any).client, prefix: `${prefix}scan-`, scanCount: 2 })
        const ids = Array.from({ length: 7 }, (_, i) => `s${i}`)
        await Promise.all(ids.map((id, i) => own.set(id, sample({ i }))))
        await probe.configResetStat()
        const all: any = await own.all()
        assert.deepEqual(Object.keys(all).sort(), ids)
        assert.equal(all.s3.i, 3)
        assert.equal(await own.length(), 7)
        const stats = await probe.info('commandstats')
        assert.doesNotMatch(stats, /cmdstat_(mget|keys):/)
        assert.match(stats, /cmdstat_scan:calls=(\d+)/)
        const scans = Number(/cmdstat_scan:calls=(\d+)/.exec(stats)?.[1])
        assert.ok(scans >= 4, `scanCount 2 pages the SCAN (${scans} calls)`)
        await own.clear()
        assert.equal(await own.length(), 0)
        assert.deepEqual(await own.all(), {})
        assert.equal(await probe.exists(`${prefix}scan-s0`), 0)
      })

      it('touch rewrites the cookie and the expiry of a stored session only', async () => {
        const id = sid('touch')
        await store.set(id, sample({ a: 1 }, 10_000))
        const touched = sample({ a: 1 }, 90_000)
        await store.touch(id, touched)
        assert.ok((await probe.pTTL(prefix + id)) > 80_000)
        assert.equal(await probe.hGet(prefix + id, 'cookie'), JSON.stringify(touched.cookie))
        const missing = sid('touch-missing')
        await store.touch(missing, touched)
        assert.equal(await probe.exists(prefix + missing), 0)
      })
    })
  }

  describe('options and calling conventions (node-redis 6)', () => {
    let client: ReturnType<typeof createClient>
    before(async () => {
      client = createClient({ url: (await server()).url })
      await client.connect()
    })
    after(async () => {
      await client?.close()
    })

    it('defaults: prefix sess:, 86400 s for a browser-session cookie', async () => {
      const store = new RedisStore({ client })
      assert.equal(store.prefix, 'sess:')
      await store.set('defaults', sample({ a: 1 }, null))
      const ttl = await probe.ttl('sess:defaults')
      assert.ok(ttl > 86_300 && ttl <= 86_400, `TTL ${ttl}`)
      await store.destroy('defaults')
    })

    it('ttl: a number is the lifetime without cookie expiry; a function decides every lifetime; 0 or less removes', async () => {
      const fixed = new RedisStore({ client, prefix: 'ttl-n:', ttl: 30 })
      await fixed.set('a', sample({ a: 1 }, null))
      const pttl = await probe.pTTL('ttl-n:a')
      assert.ok(pttl > 25_000 && pttl <= 30_000, `PTTL ${pttl}`)
      await fixed.set('b', sample({ a: 1 }, 60_000))
      assert.ok((await probe.pTTL('ttl-n:b')) > 50_000, 'a cookie expiry wins over a number ttl')

      const seen: unknown[] = []
      const byFunction = new RedisStore({ client, prefix: 'ttl-f:', ttl: (sess: any) => { seen.push(sess); return sess.long ? 500 : 5 } })
      await byFunction.set('long', sample({ long: true }, 60_000))
      await byFunction.set('short', sample({ long: false }, 60_000))
      assert.ok((await probe.pTTL('ttl-f:long')) > 490_000)
      const short = await probe.pTTL('ttl-f:short')
      assert.ok(short > 3000 && short <= 5000, `PTTL ${short}`)
      assert.equal((seen[0] as any).long, true)

      const removing = new RedisStore({ client, prefix: 'ttl-0:', ttl: () => 0 })
      await new RedisStore({ client, prefix: 'ttl-0:' }).set('x', sample({ a: 1 }))
      await removing.touch('x', sample({ a: 1 }))
      assert.equal(await probe.exists('ttl-0:x'), 0, 'a touch with ttl 0 removes the session')
      await removing.set('x', sample({ a: 1 }))
      assert.equal(await probe.exists('ttl-0:x'), 0, 'a set with ttl 0 stores nothing')

      const expired = sample({ a: 1 })
      expired.cookie.expires = new Date(Date.now() - 1000)
      await fixed.set('c', sample({ a: 1 }))
      await fixed.set('c', expired)
      assert.equal(await probe.exists('ttl-n:c'), 0, 'a session whose cookie has expired is removed')
    })

    it('disableTouch: touch changes nothing', async () => {
      const store = new RedisStore({ client, prefix: 'notouch:', disableTouch: true })
      await store.set('a', sample({ a: 1 }, 10_000))
      await store.touch('a', sample({ a: 1 }, 90_000))
      assert.ok((await probe.pTTL('notouch:a')) <= 10_000)
    })

    it('callbacks and promises', async () => {
      const store = new RedisStore({ client, prefix: 'conv:' })
      const viaCallback = <T>(fn: (cb: (err: any, value?: T) => void) => unknown): Promise<T | undefined> =>
        new Promise((resolve, reject) => {
          const out = fn((err, value) => (err ? reject(err) : resolve(value)))
          assert.equal(out, undefined, 'a call with a callback returns nothing')
        })
      await viaCallback((cb) => store.set('a', sample({ v: 1 }), cb))
      assert.equal(((await viaCallback((cb) => store.get('a', cb))) as any).v, 1)
      assert.equal(await viaCallback((cb) => store.length(cb)), 1)
      assert.deepEqual(Object.keys((await viaCallback((cb) => store.all(cb))) as object), ['a'])
      await viaCallback((cb) => store.touch('a', sample({ v: 1 }), cb))
      assert.equal(await viaCallback((cb) => store.patch('a', { set: { v: 2 }, unset: [], cookie: new session.Cookie(), cookieChanged: false }, cb)), true)
      assert.equal((await store.get('a') as any).v, 2)
      await viaCallback((cb) => store.destroy('a', cb))
      assert.equal(await viaCallback((cb) => store.get('a', cb)), null)
      const err = await new Promise<Error>((resolve) => store.set('bad', null as any, (e) => resolve(e as Error)))
      assert.ok(err instanceof TypeError)
      await viaCallback((cb) => store.clear(cb))
    })

    it('prefix glob characters are matched literally by all/length/clear', async () => {
      const star = new RedisStore({ client, prefix: 'p*:' })
      const other = new RedisStore({ client, prefix: 'pX:' })
      await star.set('a', sample({ a: 1 }))
      await other.set('b', sample({ b: 1 }))
      assert.equal(await star.length(), 1)
      await star.clear()
      assert.equal(await probe.exists('pX:b'), 1)
      await other.clear()
    })

    it('reads a session stored as one JSON string (connect-redis), and replaces it with a hash on set', async () => {
      const store = new RedisStore({ client, prefix: 'legacy:' })
      const sess = sample({ user: 'ada' })
      await probe.set('legacy:a', JSON.stringify(sess), { EX: 60 })
      assert.equal((await store.get('a') as any).user, 'ada')
      await store.touch('a', sess)
      await store.set('a', sess)
      assert.equal(await probe.type('legacy:a'), 'hash')

      const other = sample({ user: 'bob', created: new Date('2020-01-01T00:00:00.000Z'), gone: 1 })
      await probe.set('legacy:b', JSON.stringify(other), { EX: 60 })
      const cookie = new session.Cookie({ maxAge: 120_000 })
      assert.equal(await store.patch('b', { set: { user: 'eve' }, unset: ['gone'], cookie, cookieChanged: true }), true)
      assert.equal(await probe.type('legacy:b'), 'hash', 'a patch converts the string to a hash')
      const hash = await probe.hGetAll('legacy:b')
      assert.deepEqual(hash, { user: '"eve"', created: '"2020-01-01T00:00:00.000Z"', cookie: JSON.stringify(cookie) })
      assert.ok((await probe.pTTL('legacy:b')) > 100_000)

      await probe.set('legacy:c', '"just a string"')
      await assert.rejects(store.patch('c', { set: {}, unset: [], cookie, cookieChanged: false }), /holds no session/)
      assert.equal(await probe.get('legacy:c'), '"just a string"')
    })

    it('ioredis keyPrefix: the keys carry it, and all/length/clear find them', async () => {
      const io = new Redis((await server()).url, { keyPrefix: 'app:', lazyConnect: true })
      await io.connect()
      try {
        const store = new RedisStore({ client: io, prefix: 'kp:' })
        await store.set('a', sample({ a: 1 }))
        await store.set('b', sample({ b: 2 }))
        assert.equal(await probe.exists('app:kp:a'), 1)
        assert.equal(await store.length(), 2)
        assert.deepEqual(Object.keys(await store.all()).sort(), ['a', 'b'])
        await store.clear()
        assert.equal(await probe.exists('app:kp:a'), 0)
      } finally {
        await io.quit()
      }
    })

    it('validates its options with clear errors', () => {
      const cases: Array<[unknown, RegExp]> = [
        [undefined, /RedisStore options must be an object with a client \(got undefined\)/],
        [{}, /RedisStore option client must be a node-redis \(4 or later\) or ioredis client \(got undefined\)/],
        [{ client: {} }, /option client must be .* \(got an object\)/],
        [{ client, prefix: '' }, /option prefix must be a non-empty string \(got an empty string\)/],
        [{ client, prefix: 1 }, /option prefix must be a non-empty string \(got number 1\)/],
        [{ client, ttl: -1 }, /option ttl must be a positive number of seconds .* \(got number -1\)/],
        [{ client, ttl: '1d' }, /option ttl .* \(got string "1d"\)/],
        [{ client, disableTouch: 'yes' }, /option disableTouch must be a boolean \(got string "yes"\)/],
        [{ client, scanCount: 0 }, /option scanCount must be a positive integer \(got number 0\)/],
      ]
      for (const [options, message] of cases) {
        assert.throws(() => new RedisStore(options as any), (err: Error) => err instanceof TypeError && message.test(err.message))
      }
    })
  })

  it('loads as require("express-session/redis") and import { RedisStore } from "express-session/redis", one class', async () => {
    const cjs = await runNode(['-e', `
      const { RedisStore } = require('express-session/redis')
      const session = require('express-session')
      const store = new RedisStore({ client: { sendCommand: async () => null } })
      console.log(typeof RedisStore, store instanceof session.Store, store.prefix)`])
    assert.equal(cjs.code, 0, cjs.output)
    assert.equal(cjs.output.trim(), 'function true sess:')
    const esm = await runNode(['--input-type=module', '-e', `
      import { RedisStore } from 'express-session/redis'
      import { createRequire } from 'node:module'
      const require = createRequire(process.cwd() + '/')
      console.log(RedisStore === require('express-session/redis').RedisStore)`])
    assert.equal(esm.code, 0, esm.output)
    assert.equal(esm.output.trim(), 'true')
  })
})
