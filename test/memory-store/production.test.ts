/**
 * The bundled MemoryStore in production: `new MemoryStore({ max, checkPeriod })`. Expired sessions are swept
 * without being read, the sweep never keeps the process alive, `max` bounds the count (least recently used
 * evicted first) and `close()` stops the sweep. The 1.x behaviour is covered by test/memory-store/memory-store.test.ts.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import * as path from 'node:path'
import express from 'express'
import request from 'supertest'
import session from 'express-session'
import { cookie, delay, sid, waitFor } from '../support/http.js'

const { MemoryStore } = session
type MemoryStore = InstanceType<typeof MemoryStore>

const root = path.join(__dirname, '..', '..')

/** Stored session data whose cookie expires in `ms` milliseconds (`null`: never). */
function data(ms: number | null, extra: Record<string, unknown> = {}) {
  const expires = ms === null ? null : new Date(Date.now() + ms)
  return { cookie: { originalMaxAge: ms, expires, httpOnly: true, path: '/' }, ...extra }
}

/** `store.set()` as a promise. */
function set(store: MemoryStore, sid: string, sess: object): Promise<void> {
  return new Promise((resolve, reject) => store.set(sid, sess, (err) => (err ? reject(err) : resolve())))
}

/** `store.get()` as a promise. */
function get(store: MemoryStore, sid: string): Promise<any> {
  return new Promise((resolve, reject) => store.get(sid, (err, sess) => (err ? reject(err) : resolve(sess))))
}

/** The IDs the store holds, read straight from `store.sessions` (reading through the store would drop expired ones). */
function storedIds(store: MemoryStore): string[] {
  return Object.keys(store.sessions).sort()
}

/** Runs `script` in a fresh Node process from the project root; fails if it does not exit by itself within 10 s. */
function runNode(script: string, args: string[] = []) {
  const result = spawnSync(process.execPath, [...args, '-e', script], { cwd: root, encoding: 'utf8', timeout: 10_000 })
  assert.equal(result.signal, null, `the process did not exit by itself (killed by ${result.signal}): ${result.stderr}`)
  assert.equal(result.status, 0, result.stderr)
  return result
}

describe('MemoryStore in production', () => {
  describe('the periodic sweep', () => {
    it('removes expired sessions that are never read, and keeps the others', async () => {
      const store = new MemoryStore({ checkPeriod: 20 })
      try {
        // set synchronously (the store writes at once; only its callback is deferred): no sweep in between
        store.set('short-1', data(40))
        store.set('short-2', data(40))
        store.set('long', data(60_000))
        store.set('browser-session', data(null))
        assert.deepEqual(storedIds(store), ['browser-session', 'long', 'short-1', 'short-2'])

        await waitFor(() => storedIds(store).length === 2, 1000, 'the sweep to remove the expired sessions')
        assert.deepEqual(storedIds(store), ['browser-session', 'long'])
        assert.equal((await get(store, 'long'))?.cookie.originalMaxAge, 60_000)
        assert.ok(await get(store, 'browser-session'))
      } finally {
        store.close()
      }
    })

    it('is what frees them: with checkPeriod 0 unread expired sessions stay in memory', async () => {
      const store = new MemoryStore({ checkPeriod: 0 })
      await set(store, 'short', data(20))
      await delay(100)
      assert.deepEqual(storedIds(store), ['short'], 'no sweep: still held')
      assert.equal(await get(store, 'short'), undefined, 'but never handed out (1.x: dropped when read)')
      assert.deepEqual(storedIds(store), [])
    })

    it('uses the expiry a touch() gave, not the one first stored', async () => {
      const store = new MemoryStore({ checkPeriod: 20 })
      try {
        store.set('a', data(60, { user: 'tj' }))
        store.touch('a', data(60_000))
        await delay(150)
        assert.deepEqual(storedIds(store), ['a'], 'touched: kept past the first expiry')
        assert.equal((await get(store, 'a'))?.user, 'tj')
      } finally {
        store.close()
      }
    })

    it('frees the expired sessions of a running app without any request reading them', async () => {
      const store = new MemoryStore({ checkPeriod: 20 })
      try {
        const app = express()
        app.use(session({ secret: 'keyboard cat', store, resave: false, saveUninitialized: false, cookie: { maxAge: 150 } }))
        app.get('/', (req: any, res) => {
          req.session.user = 'tj'
          res.end('ok')
        })
        for (let i = 0; i < 5; i++) {
          const res = await request(app).get('/').expect(200)
          assert.ok(store.sessions[sid(res)], 'stored')
        }
        await waitFor(() => storedIds(store).length === 0, 2000, 'the sweep to free every expired session')
      } finally {
        store.close()
      }
    })

    it('runs every 60 seconds by default', async (t) => {
      t.mock.timers.enable({ apis: ['setInterval'] })
      const store = new MemoryStore()
      try {
        await set(store, 'expired', data(-1000))
        await set(store, 'live', data(10 * 60_000))
        t.mock.timers.tick(59_999)
        assert.deepEqual(storedIds(store), ['expired', 'live'])
        t.mock.timers.tick(1)
        assert.deepEqual(storedIds(store), ['live'])
      } finally {
        store.close()
      }
    })

    it('never keeps the process alive', () => {
      const result = runNode(`
        const session = require('express-session')
        const stores = [new session.MemoryStore(), new session.MemoryStore({ checkPeriod: 20 })]
        session({ secret: 'x', resave: false, saveUninitialized: false }) // its default MemoryStore
        for (const store of stores) store.set('a', { cookie: { expires: new Date(Date.now() + 30) } })
        setTimeout(() => console.log('swept:', Object.keys(stores[1].sessions).length === 0), 100)
      `)
      assert.equal(result.stdout.trim(), 'swept: true')
    })

    it('does not keep a store the application dropped in memory', () => {
      // 20 stores of 500 sessions each, created and dropped: each must be garbage collected
      const result = runNode(`
        const session = require('express-session')
        let collected = 0
        const registry = new FinalizationRegistry(() => collected++)
        function createAndDrop() {
          const store = new session.MemoryStore({ checkPeriod: 10 })
          for (let i = 0; i < 500; i++) store.set('id' + i, { cookie: { expires: null }, n: i })
          registry.register(store, null)
        }
        for (let i = 0; i < 20; i++) createAndDrop()
        ;(async () => {
          for (let i = 0; i < 20 && collected < 20; i++) {
            await new Promise((resolve) => setTimeout(resolve, 20))
            global.gc()
          }
          console.log('collected', collected)
        })()
      `, ['--expose-gc'])
      assert.equal(result.stdout.trim(), 'collected 20')
    })
  })

  describe('close()', () => {
    it('stops the sweep; reading still drops expired sessions', async () => {
      const store = new MemoryStore({ checkPeriod: 20 })
      store.close()
      await set(store, 'short', data(20))
      await delay(120)
      assert.deepEqual(storedIds(store), ['short'], 'not swept after close()')
      assert.equal(await get(store, 'short'), undefined)
    })

    it('keeps the store usable, and may be called more than once', async () => {
      const store = new MemoryStore({ checkPeriod: 0 })
      store.close()
      store.close()
      await set(store, 'a', data(60_000, { user: 'tj' }))
      assert.equal((await get(store, 'a'))?.user, 'tj')
    })
  })

  describe('max', () => {
    it('is never exceeded, however many sessions are set', async () => {
      const store = new MemoryStore({ max: 50, checkPeriod: 0 })
      let most = 0
      for (let i = 0; i < 500; i++) {
        store.set('sid-' + i, data(60_000, { n: i }))
        most = Math.max(most, Object.keys(store.sessions).length)
      }
      assert.equal(most, 50)
      const length = await new Promise<number>((resolve, reject) => store.length((err, n) => (err ? reject(err) : resolve(n!))))
      assert.equal(length, 50)
      const expected = Array.from({ length: 50 }, (_, i) => 'sid-' + (450 + i)).sort()
      assert.deepEqual(storedIds(store), expected, 'the 50 most recent remain')
    })

    it('evicts the least recently used first: a get or a set counts as use', async () => {
      const store = new MemoryStore({ max: 3, checkPeriod: 0 })
      await set(store, 'a', data(60_000))
      await set(store, 'b', data(60_000))
      await set(store, 'c', data(60_000))
      assert.ok(await get(store, 'a'), 'a is now the most recently used')
      await set(store, 'd', data(60_000))
      assert.deepEqual(storedIds(store), ['a', 'c', 'd'], 'b was the least recently used')

      await set(store, 'c', data(60_000, { updated: true }))
      await set(store, 'e', data(60_000))
      assert.deepEqual(storedIds(store), ['c', 'd', 'e'], 'c, the oldest, was set again: a was the least recently used')
    })

    it('counts a touch() as use, and does not count a destroyed session', async () => {
      const store = new MemoryStore({ max: 2, checkPeriod: 0 })
      await set(store, 'a', data(60_000))
      await set(store, 'b', data(60_000))
      await new Promise<void>((resolve) => store.touch('a', data(60_000), () => resolve()))
      await set(store, 'c', data(60_000))
      assert.deepEqual(storedIds(store), ['a', 'c'])

      await new Promise<void>((resolve) => store.destroy('a', () => resolve()))
      await set(store, 'd', data(60_000))
      assert.deepEqual(storedIds(store), ['c', 'd'], 'room was made by the destroy: nothing evicted')
    })

    it('does not count sessions deleted straight from store.sessions (as 1.x code may do) once swept', async () => {
      const store = new MemoryStore({ max: 2, checkPeriod: 20 })
      try {
        await set(store, 'a', data(60_000))
        await set(store, 'b', data(60_000))
        assert.ok(await get(store, 'a'))
        delete store.sessions.a
        await delay(60)
        await set(store, 'c', data(60_000))
        assert.deepEqual(storedIds(store), ['b', 'c'], 'two sessions fit: b was not evicted')
      } finally {
        store.close()
      }
    })

    it('counts a session written straight into store.sessions once it is read', async () => {
      const store = new MemoryStore({ max: 2, checkPeriod: 0 })
      store.sessions.a = JSON.stringify(data(60_000, { user: 'tj' }))
      assert.equal((await get(store, 'a'))?.user, 'tj')
      await set(store, 'b', data(60_000))
      await set(store, 'c', data(60_000))
      assert.deepEqual(storedIds(store), ['b', 'c'])

      store.sessions.old = JSON.stringify(data(-1000))
      assert.equal(await get(store, 'old'), undefined, 'an expired one is dropped when read, as in 1.x')
      assert.deepEqual(storedIds(store), ['b', 'c'])
    })

    it('stays fast at a large max (eviction does not scan the store)', () => {
      const store = new MemoryStore({ max: 10_000, checkPeriod: 0 })
      const started = Date.now()
      for (let i = 0; i < 20_000; i++) store.set('sid-' + i, data(60_000))
      const elapsed = Date.now() - started
      assert.equal(Object.keys(store.sessions).length, 10_000)
      // linear: well under a second here; a scan of the store per eviction took about 10 s
      assert.ok(elapsed < 4000, `20000 sets at max 10000 took ${elapsed} ms`)
    })

    it('ends the least recently used session of an app: that client starts a new one', async () => {
      const store = new MemoryStore({ max: 2, checkPeriod: 0 })
      const app = express()
      app.use(session({ secret: 'keyboard cat', store, resave: false, saveUninitialized: false }))
      app.get('/login/:user', (req: any, res) => {
        req.session.user = req.params.user
        res.end('ok')
      })
      app.get('/', (req: any, res) => res.end(String(req.session.user ?? 'nobody')))

      const ada = await request(app).get('/login/ada').expect(200)
      const bob = await request(app).get('/login/bob').expect(200)
      await request(app).get('/').set('Cookie', cookie(ada)).expect(200, 'ada')
      const cy = await request(app).get('/login/cy').expect(200)

      await request(app).get('/').set('Cookie', cookie(bob)).expect(200, 'nobody')
      await request(app).get('/').set('Cookie', cookie(ada)).expect(200, 'ada')
      await request(app).get('/').set('Cookie', cookie(cy)).expect(200, 'cy')
      assert.deepEqual(storedIds(store), [sid(ada), sid(cy)].sort())
    })
  })

  describe('invalid options', () => {
    const invalid: Array<[string, object, RegExp]> = [
      ['max: 0', { max: 0 }, /max must be a positive integer \(got 0\)/],
      ['max: -1', { max: -1 }, /max must be a positive integer/],
      ['max: 1.5', { max: 1.5 }, /max must be a positive integer/],
      ['max: NaN', { max: NaN }, /max must be a positive integer/],
      ["max: '10'", { max: '10' }, /max must be a positive integer \(got string\)/],
      ['checkPeriod: -1', { checkPeriod: -1 }, /checkPeriod must be a number of milliseconds/],
      ['checkPeriod: NaN', { checkPeriod: NaN }, /checkPeriod must be a number of milliseconds/],
      ['checkPeriod: Infinity', { checkPeriod: Infinity }, /checkPeriod must be a number of milliseconds/],
      ['checkPeriod: 2 ** 31 (longer than a timer can wait)', { checkPeriod: 2 ** 31 }, /checkPeriod must be .* to 2147483647/],
      ["checkPeriod: '1000'", { checkPeriod: '1000' }, /checkPeriod must be a number of milliseconds/],
    ]
    for (const [title, options, message] of invalid) {
      it(`throws a TypeError for ${title}`, () => {
        assert.throws(() => new MemoryStore(options as session.MemoryStoreOptions), (err: unknown) => {
          assert.ok(err instanceof TypeError)
          assert.match(err.message, message)
          assert.match(err.message, /^MemoryStore option /)
          return true
        })
      })
    }

    it('accepts no options, max: Infinity and checkPeriod: 0', () => {
      for (const options of [undefined, {}, { max: Infinity }, { checkPeriod: 0 }, { max: 1, checkPeriod: 2 ** 31 - 1 }]) {
        new MemoryStore(options).close()
      }
    })
  })

  describe('the warning with NODE_ENV=production', () => {
    it('says what is true of this MemoryStore: one process only, swept, bounded only with max', () => {
      const result = spawnSync(process.execPath, ['-e', "require('express-session')({ secret: 'x', resave: false, saveUninitialized: false })"], {
        cwd: root,
        env: { ...process.env, NODE_ENV: 'production' },
        encoding: 'utf8',
      })
      assert.equal(result.status, 0, result.stderr)
      const text = (result.stdout + result.stderr).replace(/\s+/g, ' ')
      assert.match(text, /MemoryStore is not designed for a production environment/)
      assert.match(text, /this process only, so they are lost on restart and not shared between processes/)
      assert.doesNotMatch(text, /leak/, 'it no longer leaks expired sessions')
      assert.match(text, /sessions without cookie\.maxAge never expire: bound their number with new MemoryStore\(\{ max \}\)/)
    })
  })

  describe('memory per session', () => {
    it('is measured by bench/memory-per-session.js, within 150 bytes of 1.19.0', () => {
      const result = spawnSync(process.execPath, ['--expose-gc', 'bench/memory-per-session.js', '20000'], {
        cwd: root,
        encoding: 'utf8',
        timeout: 60_000,
      })
      assert.equal(result.status, 0, result.stderr)
      const lines = result.stdout.trim().split('\n')
      const figures = JSON.parse(lines[lines.length - 1]!) as { bytesPerSession: Record<string, number> }
      const ours = figures.bytesPerSession['this package, MemoryStore()']!
      const upstream = figures.bytesPerSession['express-session 1.19.0, MemoryStore()']!
      console.log(lines.slice(0, -1).join('\n'))
      assert.ok(ours > 112, `at least the JSON: ${ours}`)
      assert.ok(ours - upstream < 150, `${ours} bytes per session, 1.19.0: ${upstream}`)
    })
  })
})
