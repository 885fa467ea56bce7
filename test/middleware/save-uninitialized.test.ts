/**
 * The `saveUninitialized` option of `session(options)`: whether a new, unmodified session is saved
 * (and its cookie set).
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

describe('saveUninitialized option', () => {
  describe('when undefined', () => {
    it('warns that the default is deprecated, and which value to choose and why', { skip: deprecationsSilenced && 'deprecations are silenced' }, async () => {
      const warnings = await warningsFrom(() => session({ secret: 'keyboard cat', resave: false }))
      const warning = warnings.find((w) =>
        w.startsWith('DeprecationWarning: express-session deprecated undefined saveUninitialized option; provide saveUninitialized option'))
      assert.ok(warning, JSON.stringify(warnings))
      // the value to choose, and why
      assert.match(warning, /saveUninitialized: false stores a session and sends its cookie only once something is put in it/)
      assert.match(warning, /login sessions/)
    })

    it('defaults to true: a new, unmodified session is saved and its cookie set', async () => {
      const store = new CountingStore()
      const res = await request(createExpressApp({ store, saveUninitialized: undefined }, maybeModify))
        .get('/')
        .expect(shouldSetCookie())
        .expect(200)
      assert.equal(store.calls.set, 1)
      assert.ok(store.stored(sid(res)))
    })
  })

  describe('when true', () => {
    it('saves a new, unmodified session and sets its cookie', async () => {
      const store = new CountingStore()
      const res = await request(createExpressApp({ store, resave: false, saveUninitialized: true }, maybeModify))
        .get('/')
        .expect(shouldSetCookie())
        .expect(200)
      assert.equal(store.calls.set, 1)
      assert.deepEqual(Object.keys(store.stored(sid(res))!), ['cookie'])
    })
  })

  describe('when false', () => {
    it('neither saves a new, unmodified session nor sets its cookie', async () => {
      const store = new CountingStore()
      await request(createExpressApp({ store, resave: false, saveUninitialized: false }, maybeModify))
        .get('/')
        .expect(shouldNotSetCookie())
        .expect(200)
      assert.equal(store.calls.set, 0)
      assert.deepEqual(Object.keys(store.sessions), [])
    })

    it('does not save it even with resave: true', async () => {
      const store = new CountingStore()
      await request(createExpressApp({ store, resave: true, saveUninitialized: false }, maybeModify))
        .get('/')
        .expect(shouldNotSetCookie())
        .expect(200)
      assert.equal(store.calls.set, 0)
    })

    it('does not touch a new, unmodified session', async () => {
      const store = new CountingStore()
      await request(createExpressApp({ store, resave: false, saveUninitialized: false, cookie: { maxAge: 60_000 } }, maybeModify))
        .get('/')
        .expect(shouldNotSetCookie())
        .expect(200)
      assert.deepEqual(store.calls, { get: 0, set: 0, patch: 0, destroy: 0, touch: 0 })
    })

    it('still saves a modified session and sets its cookie', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store, resave: false, saveUninitialized: false }, maybeModify)
      const res = await request(app).get('/').set('X-Set', 'hello').expect(shouldSetCookie()).expect(200)
      assert.equal(store.calls.set, 1)
      assert.equal(store.stored(sid(res))?.value, 'hello')
      // and it is an ordinary session from then on
      await request(app).get('/').set('Cookie', cookie(res)).expect(shouldNotSetCookie()).expect(200, sid(res))
    })

    it('gives a request whose cookie names an unknown session no cookie unless it is modified', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store, resave: false, saveUninitialized: false }, maybeModify)
      const res = await request(app).get('/').set('X-Set', 'hello').expect(200)
      await new Promise<void>((resolve) => store.clear(() => resolve()))
      const fresh = await request(app).get('/').set('Cookie', cookie(res)).expect(shouldNotSetCookie()).expect(200)
      assert.notEqual(fresh.text, sid(res))
      assert.deepEqual(Object.keys(store.sessions), [])
    })

    it('passes a store.set error to next(err)', async () => {
      const store = new CountingStore()
      store.set = (_sid, _sess, callback) => {
        callback?.(new Error('boom!'))
      }
      const errors: unknown[] = []
      await request(createExpressApp({ store, resave: false, saveUninitialized: false }, maybeModify, { errors }))
        .get('/')
        .set('X-Set', 'x')
        .expect(200)
      await delay(10)
      assert.deepEqual(errors.map((err) => (err as Error).message), ['boom!'])
    })
  })
})
