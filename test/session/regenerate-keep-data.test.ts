/**
 * `req.session.regenerate({ keepData: true }, callback?)`: the login case. A new ID and a new cookie, the old
 * ID destroyed in the store (no session fixation), the data kept (the cart survives). Also as a promise.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import express from 'express'
import request from 'supertest'
import session from 'express-session'
import { CountingStore, cookie, expires, shouldSetCookie, sid } from '../support/http.js'

declare module 'express-session' {
  interface SessionData {
    cart: string[]
    user: string
  }
}

type Route = (req: express.Request, res: express.Response) => Promise<void> | void

/** The shop: /add?item= puts an item in the cart, /login regenerates with `login`, / shows cart and user. */
function createShop(store: session.Store, login: Route, options: Partial<session.SessionOptions> = {}) {
  const app = express()
  app.use(session({ store, secret: 'keyboard cat', resave: false, saveUninitialized: false, ...options }))
  app.get('/add', (req, res) => {
    req.session.cart = [...(req.session.cart ?? []), String(req.query.item)]
    res.end('added')
  })
  app.get('/shorten', (req, res) => {
    req.session.cookie.maxAge = 5_000
    res.end('shortened')
  })
  app.get('/login', (req, res, next) => {
    Promise.resolve().then(() => login(req, res)).catch(next)
  })
  app.get('/', (req, res) => {
    res.end(`cart: ${(req.session.cart ?? []).join('+') || 'empty'}, user: ${req.session.user ?? 'none'}`)
  })
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).end('error: ' + err.message)
  })
  return app
}

/** Logs in with the callback form of regenerate({ keepData: true }). */
const loginWithCallback: Route = (req, res) => {
  req.session.regenerate({ keepData: true }, (err) => {
    if (err) throw err
    req.session.user = 'tj'
    res.end(req.sessionID)
  })
}

/** Logs in with the promise form of regenerate({ keepData: true }). */
const loginWithPromise: Route = async (req, res) => {
  await req.session.regenerate({ keepData: true })
  req.session.user = 'tj'
  res.end(req.sessionID)
}

/** A cart with two items; returns the response carrying the pre-login cookie. */
async function fillCart(app: express.Express) {
  const first = await request(app).get('/add?item=apple').expect(shouldSetCookie()).expect(200)
  await request(app).get('/add?item=pear').set('Cookie', cookie(first)).expect(200)
  return first
}

describe('regenerate({ keepData: true })', () => {
  for (const [form, login] of [['callback', loginWithCallback], ['promise', loginWithPromise]] as const) {
    it(`${form}: new ID and cookie, old ID destroyed in the store, data kept`, async () => {
      const store = new CountingStore()
      const app = createShop(store, login)
      const before = await fillCart(app)
      const oldId = sid(before)

      const after = await request(app).get('/login').set('Cookie', cookie(before)).expect(shouldSetCookie()).expect(200)
      const newId = sid(after)
      assert.notEqual(newId, oldId)
      assert.equal(after.text, newId)
      assert.equal(store.stored(oldId), undefined, 'the pre-login ID is gone from the store')
      assert.deepEqual(store.stored(newId)?.cart, ['apple', 'pear'])
      assert.equal(store.stored(newId)?.user, 'tj')

      await request(app).get('/').set('Cookie', cookie(after)).expect(200, 'cart: apple+pear, user: tj')
      // a planted (pre-login) ID is now worthless
      await request(app).get('/').set('Cookie', cookie(before)).expect(200, 'cart: empty, user: none')
    })
  }

  it('without keepData the new session starts empty', async () => {
    const store = new CountingStore()
    const app = createShop(store, async (req, res) => {
      await req.session.regenerate()
      req.session.user = 'tj'
      res.end(req.sessionID)
    })
    const before = await fillCart(app)
    const after = await request(app).get('/login').set('Cookie', cookie(before)).expect(200)
    assert.notEqual(sid(after), sid(before))
    await request(app).get('/').set('Cookie', cookie(after)).expect(200, 'cart: empty, user: tj')
  })

  it('renews the cookie from the options (a per-session maxAge is not carried over)', async () => {
    const store = new CountingStore()
    const app = createShop(store, loginWithPromise, { cookie: { maxAge: 3_600_000 } })
    const before = await fillCart(app)
    await request(app).get('/shorten').set('Cookie', cookie(before)).expect(200)
    const after = await request(app).get('/login').set('Cookie', cookie(before)).expect(200)
    const lifetime = Date.parse(expires(after)!) - Date.now()
    assert.ok(lifetime > 3_500_000, `Expires about an hour ahead, got ${lifetime} ms`)
    assert.equal(store.stored(sid(after))?.cookie.originalMaxAge, 3_600_000)
  })

  it('copies the data: the old session object no longer shares it with the new one', async () => {
    const store = new CountingStore()
    const app = createShop(store, async (req, res) => {
      const old = req.session
      await req.session.regenerate({ keepData: true })
      old.user = 'written to the old object'
      res.end(String(req.session.user ?? 'none'))
    })
    const before = await fillCart(app)
    const after = await request(app).get('/login').set('Cookie', cookie(before)).expect(200, 'none')
    assert.equal(store.stored(sid(after))?.user, undefined)
    assert.deepEqual(store.stored(sid(after))?.cart, ['apple', 'pear'])
  })

  it('on a store failure, the callback gets the error and the promise rejects', async () => {
    class FailingDestroy extends CountingStore {
      override destroy(_sid: string, callback?: (err?: any) => void): void {
        setImmediate(() => callback?.(new Error('destroy failed')))
      }
    }
    const app = createShop(new FailingDestroy(), loginWithPromise)
    const before = await fillCart(app)
    await request(app).get('/login').set('Cookie', cookie(before)).expect(500, 'error: destroy failed')

    const viaCallback = createShop(new FailingDestroy(), (req, res) => {
      req.session.regenerate({ keepData: true }, (err) => res.end('callback: ' + String((err as Error | undefined)?.message)))
    })
    const cart = await fillCart(viaCallback)
    await request(viaCallback).get('/login').set('Cookie', cookie(cart)).expect(200, 'callback: destroy failed')
  })
})
