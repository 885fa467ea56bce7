/**
 * Requests of one session in parallel: with a store that has `patch` (MemoryStore), and with
 * `concurrency: 'serialize'` on a store without it, no update is lost and a logout stays a logout;
 * `concurrency: 'overwrite'` keeps 1.x's last-writer-wins.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import * as diagnostics from 'node:diagnostics_channel'
import express from 'express'
import request from 'supertest'
import session from 'express-session'
import { CountingStore, cookie, sid } from '../support/http.js'
import { concurrencyApp, expectedKeys, keysAfterParallelSetsOn, logoutRacingSlowRequest } from '../support/concurrency.js'

const setups: Array<[string, () => { store: session.Store; options: Partial<session.SessionOptions> }]> = [
  ['MemoryStore (patch)', () => ({ store: new session.MemoryStore(), options: {} })],
  ['a store without patch, concurrency: serialize', () => ({ store: new CountingStore(), options: { concurrency: 'serialize' } })],
]

for (const [title, setup] of setups) {
  describe(`parallel requests of one session: ${title}`, () => {
    for (const n of [20, 200]) {
      it(`${n} parallel requests, each setting its own key, keep every key`, async () => {
        const { store, options } = setup()
        const { app } = concurrencyApp({ store, ...options })
        const keys = await keysAfterParallelSetsOn(app, n)
        assert.deepEqual(keys, expectedKeys(n))
      })
    }

    it('a logout racing a slower in-flight request stays a logout, and the slow response sends no cookie', async () => {
      const { store, options } = setup()
      const target = concurrencyApp({ store, ...options })
      const gone: string[] = []
      const onGone = (message: unknown) => gone.push((message as { sessionId: string }).sessionId)
      diagnostics.subscribe('express-session:session:gone', onGone)
      try {
        const { slowSetCookie, keysAfter } = await logoutRacingSlowRequest(target)
        assert.equal(slowSetCookie, undefined, 'no cookie for the destroyed session')
        assert.equal(keysAfter, null, 'still logged out')
        const stored = await new Promise<number>((resolve, reject) => {
          store.length?.((err, length) => (err ? reject(err) : resolve(length ?? -1)))
        })
        assert.equal(stored, 0, 'the destroyed session was not recreated')
        assert.equal(gone.length, 1, 'one gone event')
        assert.deepEqual(target.errors, [])
      } finally {
        diagnostics.unsubscribe('express-session:session:gone', onGone)
      }
    })
  })
}

describe("concurrency: 'overwrite'", () => {
  it('writes the whole session, last writer wins, as 1.x (on a store with patch too)', async () => {
    const store = new CountingStore({ patch: true })
    const { app } = concurrencyApp({ store, concurrency: 'overwrite' })
    const keys = await keysAfterParallelSetsOn(app, 20)
    // every request loaded the session before any saved: only the last save's key is kept
    assert.equal(keys.length, 2, JSON.stringify(keys))
    assert.equal(store.calls.patch, 0)
  })

  it('lets a slower request undo a logout, as 1.x', async () => {
    const target = concurrencyApp({ store: new session.MemoryStore(), concurrency: 'overwrite' })
    const { slowSetCookie, keysAfter } = await logoutRacingSlowRequest(target)
    assert.ok(slowSetCookie)
    assert.deepEqual(keysAfter, ['late', 'user'])
  })

  it('is the default for a store without patch: parallel updates are lost, as in 1.x', async () => {
    const store = new CountingStore()
    const { app } = concurrencyApp({ store })
    const keys = await keysAfterParallelSetsOn(app, 20)
    assert.equal(keys.length, 2, JSON.stringify(keys))
  })
})

describe('the concurrency option', () => {
  for (const value of ['patch', 'SERIALIZE', true, 1, null, {}]) {
    it(`refuses ${JSON.stringify(value)} when the middleware is created`, () => {
      assert.throws(() => session({ secret: 'x', resave: false, saveUninitialized: false, concurrency: value as never }), {
        name: 'TypeError',
        message: /^concurrency option must be "serialize" or "overwrite", or left out .*\(got /,
      })
    })
  }
})

/** A MemoryStore that records each write: `['set', sid]` or `['patch', sid, changes]`. */
class RecordingStore extends session.MemoryStore {
  writes: Array<[string, string, session.SessionChanges?]> = []
  override set(sid: string, sess: any, callback?: (err?: any) => void): void {
    this.writes.push(['set', sid])
    super.set(sid, sess, callback)
  }
  override patch(sid: string, changes: session.SessionChanges, callback?: (err: any, existed?: boolean) => void): void {
    // a copy of what the store was given, as JSON would write it
    this.writes.push(['patch', sid, JSON.parse(JSON.stringify(changes))])
    super.patch(sid, changes, callback)
  }
}

describe('saving the changes of a loaded session (store with patch)', () => {
  function app(store: session.Store, handler: (req: any, res: express.Response) => void, options: Partial<session.SessionOptions> = {}) {
    const a = express()
    a.use(session({ secret: 'keyboard cat', resave: false, saveUninitialized: false, store, ...options }))
    a.get('/login', (req: any, res) => {
      req.session.user = { name: 'tj', roles: ['admin'] }
      req.session.keep = 1
      req.session.drop = 2
      req.session.since = new Date(0)
      res.end('ok')
    })
    a.use(handler)
    return a
  }

  it('sends the keys set (nested mutations included), the keys removed, and the cookie; one store call', async () => {
    const store = new RecordingStore()
    const a = app(store, (req, res) => {
      req.session.user.roles.push('ops')
      delete req.session.drop
      req.session.keep = undefined
      req.session.added = new Date(1000)
      res.end('ok')
    })
    const login = await request(a).get('/login').expect(200)
    store.writes = []
    await request(a).get('/x').set('Cookie', cookie(login)).expect(200)
    assert.equal(store.writes.length, 1)
    const [method, id, changes] = store.writes[0]
    assert.equal(method, 'patch')
    assert.equal(id, sid(login))
    assert.deepEqual(changes?.set, { user: { name: 'tj', roles: ['admin', 'ops'] }, added: new Date(1000).toISOString() })
    assert.deepEqual(changes?.unset.sort(), ['drop', 'keep'])
    assert.equal(typeof changes?.cookie, 'object')
    assert.equal(changes?.cookieChanged, false, 'a browser-session cookie the request did not touch')
    const stored = JSON.parse(store.sessions[id])
    assert.deepEqual(stored.user.roles, ['admin', 'ops'])
    assert.equal(stored.since, new Date(0).toISOString(), 'an untouched Date is kept exactly')
    assert.equal(stored.added, new Date(1000).toISOString())
    assert.ok(!('drop' in stored) && !('keep' in stored))
  })

  it('says whether the cookie changed: its expiry moves on each request with maxAge', async () => {
    const store = new RecordingStore()
    const a = app(store, (req, res) => {
      req.session.n = Date.now()
      res.end('ok')
    }, { cookie: { maxAge: 60_000 } })
    const login = await request(a).get('/login').expect(200)
    store.writes = []
    await new Promise((resolve) => setTimeout(resolve, 20))
    await request(a).get('/x').set('Cookie', cookie(login)).expect(200)
    assert.equal(store.writes[0]?.[0], 'patch')
    assert.equal(store.writes[0]?.[2]?.cookieChanged, true)
  })

  it('says the cookie changed when an attribute changes and the expiry does not', async () => {
    const store = new RecordingStore()
    const a = app(store, (req, res) => {
      req.session.n = req.path
      if (req.path === '/strict') req.session.cookie.sameSite = 'strict'
      res.end('ok')
    })
    const login = await request(a).get('/login').expect(200)
    store.writes = []
    await request(a).get('/same').set('Cookie', cookie(login)).expect(200)
    await request(a).get('/strict').set('Cookie', cookie(login)).expect(200)
    assert.deepEqual(store.writes.map((w) => [w[0], w[2]?.cookieChanged]), [['patch', false], ['patch', true]])
  })

  it('writes nothing but a touch for an unchanged session', async () => {
    const store = new CountingStore({ patch: true })
    const a = app(store, (_req, res) => res.end('ok'))
    const login = await request(a).get('/login').expect(200)
    store.resetCalls()
    await request(a).get('/x').set('Cookie', cookie(login)).expect(200)
    assert.deepEqual(store.calls, { get: 1, set: 0, patch: 0, destroy: 0, touch: 1 })
  })

  it('writes a new session, a regenerated one and every session under resave: true whole', async () => {
    const store = new CountingStore({ patch: true })
    const a = app(store, (req, res) => {
      if (req.path === '/regenerate') req.session.regenerate(() => { req.session.user = 'x'; res.end('ok') })
      else {
        req.session.n = 1
        res.end('ok')
      }
    })
    const login = await request(a).get('/login').expect(200)
    assert.equal(store.calls.set, 1)
    store.resetCalls()
    await request(a).get('/regenerate').set('Cookie', cookie(login)).expect(200)
    assert.deepEqual([store.calls.set, store.calls.patch], [1, 0])

    const resaving = new CountingStore({ patch: true })
    const b = app(resaving, (req, res) => { req.session.n = 2; res.end('ok') }, { resave: true })
    const first = await request(b).get('/login').expect(200)
    resaving.resetCalls()
    await request(b).get('/x').set('Cookie', cookie(first)).expect(200)
    assert.deepEqual([resaving.calls.set, resaving.calls.patch], [1, 0])
  })

  it('an explicit save() sends the changes, and the end of the request writes nothing more', async () => {
    const store = new CountingStore({ patch: true })
    const a = app(store, (req, res) => {
      req.session.n = 1
      req.session.save(() => res.end('ok'))
    })
    const login = await request(a).get('/login').expect(200)
    store.resetCalls()
    await request(a).get('/x').set('Cookie', cookie(login)).expect(200)
    // the session is unchanged at the end: touched, as 1.x touches after an explicit save()
    assert.deepEqual(store.calls, { get: 1, set: 0, patch: 1, destroy: 0, touch: 1 })
  })

  it('a store whose patch fails gives the error to next(err), as a failed set does', async () => {
    const store = new session.MemoryStore()
    store.patch = (_sid, _changes, callback) => setImmediate(() => callback?.(new Error('patch failed')))
    const errors: string[] = []
    const a = app(store, (req, res) => { req.session.n = 1; res.end('ok') })
    a.use((err: Error, _req: any, res: express.Response, _next: unknown) => { errors.push(err.message); res.end() })
    const login = await request(a).get('/login').expect(200)
    await request(a).get('/x').set('Cookie', cookie(login)).expect(200)
    await new Promise((resolve) => setTimeout(resolve, 20))
    assert.deepEqual(errors, ['patch failed'])
  })

  it('a promise-returning patch works as its callback form', async () => {
    const memory = new session.MemoryStore()
    const store = new session.MemoryStore()
    store.patch = (sid: string, changes: session.SessionChanges) =>
      new Promise<boolean>((resolve, reject) => memory.patch(sid, changes, (err, existed) => (err ? reject(err) : resolve(existed === true))))
    store.get = memory.get.bind(memory)
    store.set = memory.set.bind(memory)
    store.destroy = memory.destroy.bind(memory)
    const target = concurrencyApp({ store })
    const { slowSetCookie, keysAfter } = await logoutRacingSlowRequest(target)
    assert.equal(slowSetCookie, undefined)
    assert.equal(keysAfter, null)
    const { app } = concurrencyApp({ store })
    const keys = await keysAfterParallelSetsOn(app, 20)
    assert.deepEqual(keys, expectedKeys(20))
  })
})
