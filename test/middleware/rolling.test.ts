/**
 * The `rolling` option of `session(options)`: the session cookie on every response, its expiry restarted.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import request from 'supertest'
import {
  CountingStore,
  cookie,
  createExpressApp,
  delay,
  expires,
  setCookieFor,
  shouldNotSetCookie,
  shouldSetCookie,
  sid,
  maybeModify,
} from '../support/http.js'

describe('rolling option', () => {
  it('defaults to false: an unmodified existing session gets no cookie', async () => {
    const app = createExpressApp({ resave: false }, maybeModify)
    const res = await request(app).get('/').expect(shouldSetCookie()).expect(200)
    await request(app).get('/').set('Cookie', cookie(res)).expect(shouldNotSetCookie()).expect(200, sid(res))
  })

  it('when false, an existing session with a maxAge gets the cookie again only when modified', async () => {
    const app = createExpressApp({ resave: false, rolling: false, cookie: { maxAge: 60_000 } }, maybeModify)
    const res = await request(app).get('/').expect(200)
    await request(app).get('/').set('Cookie', cookie(res)).expect(shouldNotSetCookie()).expect(200)
    const modified = await request(app).get('/').set('Cookie', cookie(res)).set('X-Set', 'x').expect(shouldSetCookie()).expect(200)
    assert.equal(sid(modified), sid(res))
  })

  describe('when true', () => {
    it('sets the cookie of an unmodified existing session on every response', async () => {
      const app = createExpressApp({ resave: false, rolling: true }, maybeModify)
      const res = await request(app).get('/').expect(shouldSetCookie()).expect(200)
      for (let i = 0; i < 2; i++) {
        const again = await request(app).get('/').set('Cookie', cookie(res)).expect(shouldSetCookie()).expect(200, sid(res))
        assert.equal(sid(again), sid(res))
      }
    })

    it('restarts the expiry from maxAge, in the cookie and in the store', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store, resave: false, rolling: true, cookie: { maxAge: 60_000 } }, maybeModify)
      const res = await request(app).get('/').expect(200)
      const firstStored = new Date(store.stored(sid(res))!.cookie.expires).getTime()
      await delay(30)
      const before = Date.now()
      const again = await request(app).get('/').set('Cookie', cookie(res)).expect(200)
      const header = setCookieFor(again)
      assert.ok(header)
      assert.doesNotMatch(header, /max-age/i)
      const at = new Date(expires(again)!).getTime()
      // Expires has one-second resolution
      assert.ok(at >= before + 60_000 - 1000 && at <= Date.now() + 60_000, String(expires(again)))
      // the store (touched, as the session is unmodified) has the new expiry, to the millisecond
      assert.equal(store.calls.touch, 1)
      const secondStored = new Date(store.stored(sid(res))!.cookie.expires).getTime()
      assert.ok(secondStored >= firstStored + 30, `${secondStored} vs ${firstStored}`)
    })

    it('does not set the cookie of a new, unmodified session when saveUninitialized is false', async () => {
      const store = new CountingStore()
      await request(createExpressApp({ store, rolling: true, saveUninitialized: false }, maybeModify))
        .get('/')
        .expect(shouldNotSetCookie())
        .expect(200)
      assert.equal(store.calls.set, 0)
    })

    it('sets the cookie of a new, unmodified session and saves it when saveUninitialized is true', async () => {
      const store = new CountingStore()
      const res = await request(createExpressApp({ store, rolling: true, saveUninitialized: true }, maybeModify))
        .get('/')
        .expect(shouldSetCookie())
        .expect(200)
      assert.equal(store.calls.set, 1)
      assert.ok(store.stored(sid(res)))
    })

    it('sets the cookie of a new, modified session and saves it even when saveUninitialized is false', async () => {
      const store = new CountingStore()
      const res = await request(createExpressApp({ store, rolling: true, saveUninitialized: false }, maybeModify))
        .get('/')
        .set('X-Set', 'x')
        .expect(shouldSetCookie())
        .expect(200)
      assert.equal(store.stored(sid(res))?.value, 'x')
    })

    it('sets no cookie once the session is destroyed', async () => {
      const app = createExpressApp({ resave: false, rolling: true }, (req, res, next) => {
        if (req.headers['x-logout']) req.session.destroy((err: unknown) => (err ? next(err) : res.end('bye')))
        else res.end(req.session.id)
      })
      const res = await request(app).get('/').expect(200)
      await request(app).get('/').set('Cookie', cookie(res)).set('X-Logout', '1').expect(shouldNotSetCookie()).expect(200, 'bye')
    })

    it('does not send a Secure cookie over HTTP', async () => {
      const app = createExpressApp({ resave: false, rolling: true, proxy: true, cookie: { secure: true } }, maybeModify)
      const res = await request(app).get('/').set('X-Forwarded-Proto', 'https').expect(shouldSetCookie()).expect(200)
      await request(app).get('/').set('Cookie', cookie(res)).expect(shouldNotSetCookie()).expect(200, sid(res))
    })
  })
})
