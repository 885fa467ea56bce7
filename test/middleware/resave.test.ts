/**
 * The `resave` option of `session(options)`: whether an unmodified session is saved back to the store.
 * Store calls are counted by wrapping a MemoryStore.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import request from 'supertest'
import session from 'express-session'
import {
  CountingStore,
  cookie,
  createExpressApp,
  delay,
  shouldNotSetCookie,
  shouldSetCookie,
  sid,
  maybeModify,
  deprecationsSilenced,
  warningsFrom,
} from '../support/http.js'

describe('resave option', () => {
  describe('when undefined', () => {
    it('warns that the default is deprecated, and which value to choose and why', { skip: deprecationsSilenced && 'deprecations are silenced' }, async () => {
      const warnings = await warningsFrom(() => session({ secret: 'keyboard cat', saveUninitialized: false }))
      const warning = warnings.find((w) => w.startsWith('DeprecationWarning: express-session deprecated undefined resave option; provide resave option'))
      assert.ok(warning, JSON.stringify(warnings))
      // the value to choose, and why
      assert.match(warning, /resave: false suits most apps/)
      assert.match(warning, /can undo a parallel request's changes/)
    })

    it('defaults to true: an unmodified session is saved again', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store, resave: undefined }, maybeModify)
      const res = await request(app).get('/').expect(200)
      store.resetCalls()
      await request(app).get('/').set('Cookie', cookie(res)).expect(200)
      assert.equal(store.calls.set, 1)
    })
  })

  describe('when true', () => {
    it('saves an unmodified session on every request', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store, resave: true }, maybeModify)
      const res = await request(app).get('/').expect(200)
      assert.equal(store.calls.set, 1)
      await request(app).get('/').set('Cookie', cookie(res)).expect(200)
      await request(app).get('/').set('Cookie', cookie(res)).expect(200)
      assert.equal(store.calls.set, 3)
      assert.deepEqual(store.setIds, [sid(res), sid(res), sid(res)])
      // saved, hence not touched as well
      assert.equal(store.calls.touch, 0)
    })

    it('rewrites the stored expiry of an unmodified session', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store, resave: true, cookie: { maxAge: 60_000 } }, maybeModify)
      const res = await request(app).get('/').expect(200)
      const firstExpiry = store.stored(sid(res))!.cookie.expires
      await delay(20)
      await request(app).get('/').set('Cookie', cookie(res)).expect(200)
      assert.ok(new Date(store.stored(sid(res))!.cookie.expires) > new Date(firstExpiry))
    })

    it('does not save a new, unmodified session when saveUninitialized is false', async () => {
      const store = new CountingStore()
      await request(createExpressApp({ store, resave: true, saveUninitialized: false }, maybeModify))
        .get('/')
        .expect(shouldNotSetCookie())
        .expect(200)
      assert.equal(store.calls.set, 0)
    })
  })

  describe('when false', () => {
    it('does not save an unmodified session', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store, resave: false }, maybeModify)
      const res = await request(app).get('/').set('X-Set', 'a').expect(200)
      store.resetCalls()
      await request(app).get('/').set('Cookie', cookie(res)).expect(shouldNotSetCookie()).expect(200)
      assert.equal(store.calls.set, 0)
      assert.equal(store.stored(sid(res))?.value, 'a')
    })

    it('touches an unmodified session instead, when the store has touch', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store, resave: false }, maybeModify)
      const res = await request(app).get('/').expect(200)
      store.resetCalls()
      await request(app).get('/').set('Cookie', cookie(res)).expect(200)
      assert.deepEqual(store.calls, { get: 1, set: 0, patch: 0, destroy: 0, touch: 1 })
    })

    it('still saves a new session', async () => {
      const store = new CountingStore()
      const res = await request(createExpressApp({ store, resave: false }, maybeModify)).get('/').expect(shouldSetCookie()).expect(200)
      assert.equal(store.calls.set, 1)
      assert.ok(store.stored(sid(res)))
    })

    it('still saves a modified session', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store, resave: false }, maybeModify)
      const res = await request(app).get('/').set('X-Set', 'a').expect(200)
      store.resetCalls()
      await request(app).get('/').set('Cookie', cookie(res)).set('X-Set', 'b').expect(200)
      assert.equal(store.calls.set, 1)
      assert.equal(store.stored(sid(res))?.value, 'b')
    })

    it('does not save a session set to the same values again', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store, resave: false }, maybeModify)
      const res = await request(app).get('/').set('X-Set', 'a').expect(200)
      store.resetCalls()
      await request(app).get('/').set('Cookie', cookie(res)).set('X-Set', 'a').expect(200)
      assert.equal(store.calls.set, 0)
    })

    it('does not count a change to req.session.cookie as a modification', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store, resave: false }, (req, res) => {
        req.session.cookie.httpOnly = false
        res.end(req.session.id)
      })
      const res = await request(app).get('/').expect(200)
      store.resetCalls()
      await request(app).get('/').set('Cookie', cookie(res)).expect(200)
      assert.equal(store.calls.set, 0)
    })

    it('detects a nested property named "cookie" as a modification', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store, resave: false }, (req, res) => {
        req.session.user = req.session.user ?? {}
        req.session.user.name = 'bob'
        req.session.user.cookie = (req.session.user.cookie ?? 0) + 1
        res.end(req.session.id)
      })
      const res = await request(app).get('/').expect(200)
      await request(app).get('/').set('Cookie', cookie(res)).expect(200)
      assert.equal(store.calls.set, 2)
      assert.deepEqual(store.stored(sid(res))?.user, { name: 'bob', cookie: 2 })
    })

    it('does not save again at the end after an explicit save()', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store, resave: false }, (req, res, next) => {
        req.session.value = 'saved by hand'
        req.session.save((err: unknown) => (err ? next(err) : res.end(req.session.id)))
      })
      const res = await request(app).get('/').expect(200)
      assert.equal(store.calls.set, 1)
      assert.equal(store.stored(sid(res))?.value, 'saved by hand')
    })

    it('passes a store.touch error to next(err)', async () => {
      const store = new CountingStore()
      const errors: unknown[] = []
      const app = createExpressApp({ store, resave: false }, maybeModify, { errors })
      const res = await request(app).get('/').expect(200)
      store.touch = (_sid, _sess, callback) => {
        callback?.(new Error('boom!'))
      }
      await request(app).get('/').set('Cookie', cookie(res)).expect(200, sid(res))
      await delay(10)
      assert.deepEqual(errors.map((err) => (err as Error).message), ['boom!'])
    })
  })
})
