/**
 * `clearCookieOnDestroy: true`: after `req.session.destroy()` or an `unset: 'destroy'`, the response expires the
 * session cookie in the browser, with the same name, path and domain. Default off, as in 1.x.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import express from 'express'
import request from 'supertest'
import session from 'express-session'
import { CountingStore, cookie, setCookies, shouldNotSetCookie, shouldSetCookie, sid } from '../support/http.js'

declare module 'express-session' {
  interface SessionData {
    user: string
  }
}

const EPOCH = 'Thu, 01 Jan 1970 00:00:00 GMT'

/** Mounted at /app: /app/login stores a user, /app/logout destroys (callback), /app/logout-await (promise), /app/unset unsets. */
function createApp(store: session.Store, options: Partial<session.SessionOptions>) {
  const app = express()
  const router = express.Router()
  router.get('/login', (req, res) => {
    req.session.user = 'tj'
    res.end('logged in')
  })
  router.get('/logout', (req, res, next) => {
    req.session.destroy((err) => (err ? next(err) : res.end('logged out')))
  })
  router.get('/logout-await', async (req, res, next) => {
    try {
      await req.session.destroy()
      res.redirect('/app/')
    } catch (err) {
      next(err)
    }
  })
  router.get('/unset', (req, res) => {
    ;(req as { session: unknown }).session = null
    res.end('unset')
  })
  router.get('/', (req, res) => {
    res.end('user: ' + (req.session.user ?? 'none'))
  })
  app.use('/app', session({ store, secret: 'keyboard cat', resave: false, saveUninitialized: false, ...options }), router)
  return app
}

/** The attributes of a Set-Cookie value, lower-cased names: { path: '/app', ... }. */
function attributes(header: string): Record<string, string> {
  const attrs: Record<string, string> = {}
  for (const part of header.split(';').slice(1)) {
    const [name, ...value] = part.trim().split('=')
    attrs[name!.toLowerCase()] = value.join('=')
  }
  return attrs
}

/** The one Set-Cookie that expires cookie `name`. */
function clearingCookie(res: request.Response, name = 'connect.sid'): string {
  const found = setCookies(res).filter((value) => value.startsWith(name + '='))
  assert.equal(found.length, 1, `one Set-Cookie for ${name}: ${JSON.stringify(setCookies(res))}`)
  assert.equal(found[0]!.split(';')[0], name + '=', 'empty value')
  return found[0]!
}

const cookieOptions = { path: '/app', domain: 'example.test', maxAge: 60_000 }

describe('clearCookieOnDestroy', () => {
  it('destroy(): the response expires the cookie with the same name, path and domain', async () => {
    const store = new CountingStore()
    const app = createApp(store, { clearCookieOnDestroy: true, cookie: cookieOptions, name: 'shop.sid' })
    const login = await request(app).get('/app/login').expect(shouldSetCookie('shop.sid')).expect(200)
    const set = attributes(setCookies(login)[0]!)

    const res = await request(app).get('/app/logout').set('Cookie', cookie(login, 'shop.sid')).expect(200, 'logged out')
    const attrs = attributes(clearingCookie(res, 'shop.sid'))
    assert.equal(attrs.expires, EPOCH)
    assert.equal(attrs.path, '/app')
    assert.equal(attrs.path, set.path)
    assert.equal(attrs.domain, 'example.test')
    assert.equal(attrs.domain, set.domain)
    assert.ok(!('max-age' in attrs), 'only Expires, as for the session cookie')
    assert.equal(store.stored(sid(login, 'shop.sid')), undefined, 'destroyed in the store')
  })

  it('destroy() as a promise, followed by a redirect', async () => {
    const store = new CountingStore()
    const app = createApp(store, { clearCookieOnDestroy: true, cookie: cookieOptions })
    const login = await request(app).get('/app/login').expect(200)
    const res = await request(app).get('/app/logout-await').set('Cookie', cookie(login)).expect(302)
    assert.equal(attributes(clearingCookie(res)).expires, EPOCH)
    assert.equal(store.stored(sid(login)), undefined)
  })

  it("unset: 'destroy': the response expires the cookie, and the store no longer has the session", async () => {
    const store = new CountingStore()
    const app = createApp(store, { clearCookieOnDestroy: true, unset: 'destroy', cookie: cookieOptions })
    const login = await request(app).get('/app/login').expect(200)
    const res = await request(app).get('/app/unset').set('Cookie', cookie(login)).expect(200, 'unset')
    const attrs = attributes(clearingCookie(res))
    assert.equal(attrs.expires, EPOCH)
    assert.equal(attrs.path, '/app')
    assert.equal(attrs.domain, 'example.test')
    assert.equal(store.stored(sid(login)), undefined)
    assert.equal(store.calls.destroy, 1)
  })

  it('keeps the cookie attributes a browser needs to match it (Secure, SameSite)', async () => {
    const app = createApp(new CountingStore(), {
      clearCookieOnDestroy: true,
      proxy: true,
      cookie: { ...cookieOptions, secure: true, sameSite: 'none' },
    })
    const login = await request(app).get('/app/login').set('X-Forwarded-Proto', 'https').expect(shouldSetCookie()).expect(200)
    const res = await request(app).get('/app/logout').set('X-Forwarded-Proto', 'https').set('Cookie', cookie(login)).expect(200)
    const attrs = attributes(clearingCookie(res))
    assert.ok('secure' in attrs, 'Secure kept')
    assert.equal(attrs.samesite, 'None')
  })

  it('keeps Set-Cookie headers set by the application', async () => {
    const app = express()
    app.use(session({ secret: 'keyboard cat', resave: false, saveUninitialized: false, clearCookieOnDestroy: true }))
    app.get('/login', (req, res) => {
      req.session.user = 'tj'
      res.end()
    })
    app.get('/logout', (req, res) => {
      res.cookie('flash', 'bye')
      req.session.destroy(() => res.end())
    })
    const login = await request(app).get('/login').expect(200)
    const res = await request(app).get('/logout').set('Cookie', cookie(login)).expect(200)
    assert.ok(setCookies(res).some((value) => value.startsWith('flash=bye')), 'the flash cookie is still sent')
    assert.equal(attributes(clearingCookie(res)).expires, EPOCH)
  })

  it('sends nothing when the browser had no session cookie', async () => {
    const app = createApp(new CountingStore(), { clearCookieOnDestroy: true, saveUninitialized: true })
    await request(app).get('/app/logout').expect(shouldNotSetCookie()).expect(200, 'logged out')
  })

  it('is off by default: destroy() and unset send no Set-Cookie', async () => {
    const store = new CountingStore()
    const app = createApp(store, { cookie: cookieOptions })
    const login = await request(app).get('/app/login').expect(200)
    await request(app).get('/app/logout').set('Cookie', cookie(login)).expect(shouldNotSetCookie()).expect(200, 'logged out')
    assert.equal(store.stored(sid(login)), undefined)

    const unsetting = createApp(store, { cookie: cookieOptions, unset: 'destroy' })
    const again = await request(unsetting).get('/app/login').expect(200)
    await request(unsetting).get('/app/unset').set('Cookie', cookie(again)).expect(shouldNotSetCookie()).expect(200, 'unset')
    assert.equal(store.stored(sid(again)), undefined)
  })
})
