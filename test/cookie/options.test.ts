/**
 * The `cookie` option of `session(options)`: every attribute of the session ID cookie, the path the
 * middleware runs under, secure/sameSite 'auto', and `cookie` given as a function of the request.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import request from 'supertest'
import session from 'express-session'
import {
  CountingStore,
  cookie,
  createExpressApp,
  expires,
  setCookieFor,
  shouldNotSetCookie,
  shouldSetCookie,
  shouldSetCookieWithAttribute,
  shouldSetCookieWithoutAttribute,
  warningsFrom,
  sid,
  type ExpressHandler,
  deprecationsSilenced,
} from '../support/http.js'

const NAME = 'connect.sid'

/** The handler most tests use: marks the session as modified, then answers its ID. */
const touchSession: ExpressHandler = (req, res) => {
  req.session.touched = true
  res.end(req.session.id)
}

/** The `Expires` attribute of the session cookie as milliseconds since the epoch. */
function expiresAt(res: request.Response): number {
  const value = expires(res)
  assert.ok(value, `expected an Expires attribute: ${setCookieFor(res)}`)
  return new Date(value).getTime()
}

/** Asserts that no `Max-Age` attribute is ever emitted: only `Expires` carries the lifetime. */
function shouldNotHaveMaxAge(res: request.Response): void {
  const header = setCookieFor(res)
  assert.ok(header, 'should set the session cookie')
  assert.doesNotMatch(header, /max-age/i)
}

/** GET `path` as given on the request line (e.g. an absolute URL), which supertest cannot send. */
function rawGet(app: http.RequestListener, path: string): Promise<{ status: number; setCookie: string[]; body: string }> {
  return new Promise((resolve, reject) => {
    const server = http.createServer(app).listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      const req = http.request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (body += chunk))
        res.on('end', () => {
          server.close()
          resolve({ status: res.statusCode!, setCookie: res.headers['set-cookie'] ?? [], body })
        })
      })
      req.on('error', (err) => {
        server.close()
        reject(err)
      })
      req.end()
    })
  })
}

describe('cookie option', () => {
  it('defaults to Path=/ and HttpOnly, with no Expires, Max-Age, Domain, Secure, SameSite, Partitioned or Priority', async () => {
    const res = await request(createExpressApp(null)).get('/').expect(200)
    const header = setCookieFor(res)
    assert.ok(header)
    const attributes = header.split(';').slice(1).map((part) => part.trim()).sort()
    assert.deepEqual(attributes, ['HttpOnly', 'Path=/'])
  })

  it('accepts null as the defaults', async () => {
    await request(createExpressApp({ cookie: null as never }))
      .get('/')
      .expect(shouldSetCookieWithAttribute(NAME, 'Path', '/'))
      .expect(200)
  })

  it('throws at construction when it is neither an object nor a function', () => {
    assert.throws(() => session({ secret: 'x', resave: false, saveUninitialized: false, cookie: 'path=/' as never }), {
      name: 'TypeError',
      message: /^cookie option must be an object of cookie settings or a function \(req\) => settings \(got string "path=\/"\)/,
    })
  })

  describe('path', () => {
    const app = () => createExpressApp({ cookie: { path: '/foo/bar' } })

    it('sets Path on the cookie', async () => {
      await request(app()).get('/foo/bar').expect(shouldSetCookieWithAttribute(NAME, 'Path', '/foo/bar')).expect(200)
    })

    it('gives no session to a request for "/"', async () => {
      await request(app()).get('/').expect(shouldNotSetCookie()).expect(200, 'no session')
    })

    it('gives a session to a request for the path itself', async () => {
      await request(app()).get('/foo/bar').expect(shouldSetCookie()).expect(200, /^[\w-]{32}$/)
    })

    it('gives a session to a request under the path', async () => {
      await request(app()).get('/foo/bar/baz').expect(shouldSetCookie()).expect(200)
      await request(app()).get('/foo/bar/').expect(shouldSetCookie()).expect(200)
    })

    it('ignores the query string', async () => {
      await request(app()).get('/foo/bar?next=/').expect(shouldSetCookie()).expect(200)
    })

    it('is case-sensitive', async () => {
      await request(app()).get('/Foo/Bar').expect(shouldNotSetCookie()).expect(200, 'no session')
    })

    it('uses the pathname of an absolute-form request target', async () => {
      const matching = await rawGet(createExpressApp({ cookie: { path: '/foo/bar' } }), 'http://example.com/foo/bar')
      assert.equal(matching.status, 200)
      assert.equal(matching.setCookie.length, 1)

      // the pathname of http://foo/bar is /bar
      const other = await rawGet(createExpressApp({ cookie: { path: '/foo/bar' } }), 'http://foo/bar')
      assert.equal(other.status, 200)
      assert.equal(other.body, 'no session')
      assert.deepEqual(other.setCookie, [])
    })

    describe('RFC 6265 path-match (fixed upstream bug: a plain prefix test)', () => {
      const admin = () => createExpressApp({ cookie: { path: '/admin' } })

      it('matches /admin, /admin/ and /admin/users', async () => {
        for (const path of ['/admin', '/admin/', '/admin/users']) {
          await request(admin()).get(path).expect(shouldSetCookieWithAttribute(NAME, 'Path', '/admin')).expect(200)
        }
      })

      it('does not match /administrator or /adminx', async () => {
        for (const path of ['/administrator', '/adminx', '/admin.html']) {
          await request(admin()).get(path).expect(shouldNotSetCookie()).expect(200, 'no session')
        }
      })

      it('does not touch the store for a request outside the path', async () => {
        const store = new CountingStore()
        const app = createExpressApp({ store, cookie: { path: '/admin' } })
        const res = await request(app).get('/admin').expect(200)
        store.resetCalls()
        await request(app).get('/administrator').set('Cookie', cookie(res)).expect(200, 'no session')
        assert.deepEqual(store.calls, { get: 0, set: 0, patch: 0, destroy: 0, touch: 0 })
      })

      it('with a trailing slash, matches only paths below it', async () => {
        const app = () => createExpressApp({ cookie: { path: '/admin/' } })
        await request(app()).get('/admin/users').expect(shouldSetCookie()).expect(200)
        await request(app()).get('/admin/').expect(shouldSetCookie()).expect(200)
        await request(app()).get('/admin').expect(shouldNotSetCookie()).expect(200, 'no session')
      })
    })

    describe('when the middleware is mounted at "/foo"', () => {
      const mounted = () => createExpressApp({ cookie: { path: '/foo/bar' } }, undefined, { mount: '/foo' })

      it('matches against the original URL: /foo/bar gets a session', async () => {
        await request(mounted()).get('/foo/bar').expect(shouldSetCookieWithAttribute(NAME, 'Path', '/foo/bar')).expect(200)
      })

      it('matches against the original URL: /foo/foo/bar gets none', async () => {
        await request(mounted()).get('/foo/foo/bar').expect(shouldNotSetCookie()).expect(200, 'no session')
      })
    })

    it('throws at construction for a path the cookie cannot carry', () => {
      assert.throws(() => session({ secret: 'x', resave: false, saveUninitialized: false, cookie: { path: '/a;b' } }), {
        message: /^cookie\.path option must be a path .*\(got string "\/a;b"\)/,
      })
    })
  })

  describe('domain', () => {
    it('sets Domain on the cookie', async () => {
      await request(createExpressApp({ cookie: { domain: 'example.com' } }))
        .get('/')
        .expect(shouldSetCookieWithAttribute(NAME, 'Domain', 'example.com'))
        .expect(200)
    })

    it('is absent by default', async () => {
      await request(createExpressApp(null)).get('/').expect(shouldSetCookieWithoutAttribute(NAME, 'Domain')).expect(200)
    })

    it('throws at construction for an invalid domain', () => {
      assert.throws(() => session({ secret: 'x', resave: false, saveUninitialized: false, cookie: { domain: 'bad domain' } }), {
        message: /^cookie\.domain option must be a domain name .*\(got string "bad domain"\)/,
      })
    })
  })

  describe('expires', () => {
    it('sets Expires from the date', async () => {
      const date = new Date(Date.now() + 60_000)
      const res = await request(createExpressApp({ cookie: { expires: date } })).get('/').expect(200)
      assert.ok(Math.abs(expiresAt(res) - date.getTime()) <= 1500, `${expires(res)} vs ${date.toUTCString()}`)
      shouldNotHaveMaxAge(res)
    })

    it('loses to maxAge given after it (the last one wins)', async () => {
      const res = await request(createExpressApp({ cookie: { expires: new Date(Date.now() + 3_600_000), maxAge: 60_000 } }))
        .get('/')
        .expect(200)
      assert.ok(Math.abs(expiresAt(res) - (Date.now() + 60_000)) <= 2000, String(expires(res)))
    })

    it('wins over maxAge given before it (the last one wins)', async () => {
      const res = await request(createExpressApp({ cookie: { maxAge: 60_000, expires: new Date(Date.now() + 3_600_000) } }))
        .get('/')
        .expect(200)
      assert.ok(Math.abs(expiresAt(res) - (Date.now() + 3_600_000)) <= 2000, String(expires(res)))
    })

    it('throws at construction for an invalid date', () => {
      assert.throws(
        () => session({ secret: 'x', resave: false, saveUninitialized: false, cookie: { expires: new Date(NaN) } }),
        { name: 'TypeError', message: /expires/ },
      )
    })
  })

  describe('httpOnly', () => {
    it('sets HttpOnly by default', async () => {
      await request(createExpressApp(null)).get('/').expect(shouldSetCookieWithAttribute(NAME, 'HttpOnly')).expect(200)
    })

    it('sets HttpOnly when true', async () => {
      await request(createExpressApp({ cookie: { httpOnly: true } }))
        .get('/')
        .expect(shouldSetCookieWithAttribute(NAME, 'HttpOnly'))
        .expect(200)
    })

    it('omits HttpOnly when false', async () => {
      await request(createExpressApp({ cookie: { httpOnly: false } }))
        .get('/')
        .expect(shouldSetCookieWithoutAttribute(NAME, 'HttpOnly'))
        .expect(200)
    })
  })

  describe('maxAge', () => {
    it('sets Expires to now + maxAge, and never Max-Age', async () => {
      const before = Date.now()
      const res = await request(createExpressApp({ cookie: { maxAge: 2000 } })).get('/').expect(200)
      const at = expiresAt(res)
      // Expires has one-second resolution
      assert.ok(at >= before + 2000 - 1000 && at <= Date.now() + 2000, String(expires(res)))
      shouldNotHaveMaxAge(res)
    })

    it('is what the session stores as originalMaxAge', async () => {
      const store = new CountingStore()
      const res = await request(createExpressApp({ store, cookie: { maxAge: 5000 } })).get('/').expect(200)
      const stored = store.stored(sid(res))
      assert.ok(stored)
      assert.equal(stored.cookie.originalMaxAge, 5000)
      const left = new Date(stored.cookie.expires).getTime() - Date.now()
      assert.ok(left > 4000 && left <= 5000, String(left))
    })

    it('is exposed as the time left on req.session.cookie.maxAge', async () => {
      const res = await request(createExpressApp({ cookie: { maxAge: 5000 } }, (req, res) => {
        res.end(String(req.session.cookie.maxAge))
      })).get('/').expect(200)
      const left = Number(res.text)
      assert.ok(left > 4000 && left <= 5000, res.text)
    })

    it('sets no Expires when null', async () => {
      await request(createExpressApp({ cookie: { maxAge: null } }))
        .get('/')
        .expect(shouldSetCookieWithoutAttribute(NAME, 'Expires'))
        .expect(shouldSetCookieWithoutAttribute(NAME, 'Max-Age'))
        .expect(200)
    })

    it('of 0 expires the cookie at once', async () => {
      const res = await request(createExpressApp({ cookie: { maxAge: 0 } })).get('/').expect(200)
      assert.ok(expiresAt(res) <= Date.now(), String(expires(res)))
    })

    for (const bad of ['1000', true, {}, [60]] as unknown[]) {
      it(`throws at construction when it is ${JSON.stringify(bad)}`, () => {
        assert.throws(() => session({ secret: 'x', resave: false, saveUninitialized: false, cookie: { maxAge: bad as number } }), {
          name: 'TypeError',
          message: /^cookie\.maxAge option must be a number of milliseconds .*\(got /,
        })
      })
    }

    for (const bad of [Infinity, NaN, 1e20]) {
      it(`throws at construction when it is ${bad} (no valid Expires)`, () => {
        assert.throws(() => session({ secret: 'x', resave: false, saveUninitialized: false, cookie: { maxAge: bad } }), {
          name: 'TypeError',
          message: new RegExp(`^cookie\\.maxAge option must be a number of milliseconds giving a valid expiry date.*\\(got number ${String(bad)}\\)`),
        })
      })
    }

    it('given as a Date is deprecated, and used as the expiry date', { skip: deprecationsSilenced && 'deprecations are silenced' }, async () => {
      const date = new Date(Date.now() + 60_000)
      let middleware: ReturnType<typeof session> | undefined
      const warnings = await warningsFrom(() => {
        middleware = session({ secret: 'keyboard cat', resave: false, saveUninitialized: true, cookie: { maxAge: date as never } })
      })
      assert.ok(
        warnings.includes('DeprecationWarning: express-session deprecated maxAge as Date; pass number of milliseconds instead'),
        JSON.stringify(warnings),
      )
      const res = await request(createExpressApp(middleware!)).get('/').expect(200)
      assert.ok(Math.abs(expiresAt(res) - date.getTime()) <= 1500, `${expires(res)} vs ${date.toUTCString()}`)
    })
  })

  describe('partitioned', () => {
    it('sets Partitioned when true', async () => {
      await request(createExpressApp({ cookie: { partitioned: true } }))
        .get('/')
        .expect(shouldSetCookieWithAttribute(NAME, 'Partitioned'))
        .expect(200)
    })

    it('omits Partitioned when false or by default', async () => {
      await request(createExpressApp({ cookie: { partitioned: false } }))
        .get('/')
        .expect(shouldSetCookieWithoutAttribute(NAME, 'Partitioned'))
        .expect(200)
      await request(createExpressApp(null)).get('/').expect(shouldSetCookieWithoutAttribute(NAME, 'Partitioned')).expect(200)
    })

    it('is stored with the session', async () => {
      const store = new CountingStore()
      const res = await request(createExpressApp({ store, cookie: { partitioned: true } })).get('/').expect(200)
      assert.equal(store.stored(sid(res))?.cookie.partitioned, true)
    })
  })

  describe('priority', () => {
    for (const [value, attribute] of [['low', 'Low'], ['medium', 'Medium'], ['high', 'High']] as const) {
      it(`sets Priority=${attribute} for '${value}'`, async () => {
        await request(createExpressApp({ cookie: { priority: value } }))
          .get('/')
          .expect(shouldSetCookieWithAttribute(NAME, 'Priority', attribute))
          .expect(200)
      })
    }

    it('is absent by default', async () => {
      await request(createExpressApp(null)).get('/').expect(shouldSetCookieWithoutAttribute(NAME, 'Priority')).expect(200)
    })

    it('throws at construction for an unknown priority', () => {
      assert.throws(
        () => session({ secret: 'x', resave: false, saveUninitialized: false, cookie: { priority: 'urgent' as never } }),
        { name: 'TypeError', message: /^cookie\.priority option must be "low", "medium" or "high" \(got string "urgent"\)/ },
      )
    })
  })

  describe('sameSite', () => {
    for (const [value, attribute] of [[true, 'Strict'], ['strict', 'Strict'], ['lax', 'Lax'], ['none', 'None']] as const) {
      it(`sets SameSite=${attribute} for ${JSON.stringify(value)}`, async () => {
        await request(createExpressApp({ cookie: { sameSite: value } }))
          .get('/')
          .expect(shouldSetCookieWithAttribute(NAME, 'SameSite', attribute))
          .expect(200)
      })
    }

    it('omits SameSite when false or by default', async () => {
      await request(createExpressApp({ cookie: { sameSite: false } }))
        .get('/')
        .expect(shouldSetCookieWithoutAttribute(NAME, 'SameSite'))
        .expect(200)
      await request(createExpressApp(null)).get('/').expect(shouldSetCookieWithoutAttribute(NAME, 'SameSite')).expect(200)
    })

    it('throws at construction for an unknown value', () => {
      assert.throws(
        () => session({ secret: 'x', resave: false, saveUninitialized: false, cookie: { sameSite: 'sometimes' as never } }),
        { name: 'TypeError', message: /^cookie\.sameSite option must be true, false, "lax", "strict", "none" or "auto" \(got string "sometimes"\)/ },
      )
    })

    describe('set to "auto"', () => {
      it('is Lax on an insecure request', async () => {
        await request(createExpressApp({ cookie: { sameSite: 'auto' } }))
          .get('/')
          .expect(shouldSetCookieWithAttribute(NAME, 'SameSite', 'Lax'))
          .expect(200)
      })

      it('is None when "proxy" is true and X-Forwarded-Proto is https', async () => {
        await request(createExpressApp({ proxy: true, cookie: { sameSite: 'auto' } }))
          .get('/')
          .set('X-Forwarded-Proto', 'https')
          .expect(shouldSetCookieWithAttribute(NAME, 'SameSite', 'None'))
          .expect(200)
      })

      it('is Lax when "proxy" is true and X-Forwarded-Proto is http', async () => {
        await request(createExpressApp({ proxy: true, cookie: { sameSite: 'auto' } }))
          .get('/')
          .set('X-Forwarded-Proto', 'http')
          .expect(shouldSetCookieWithAttribute(NAME, 'SameSite', 'Lax'))
          .expect(200)
      })

      it('is Lax when "proxy" is false, whatever X-Forwarded-Proto says', async () => {
        await request(createExpressApp({ proxy: false, cookie: { sameSite: 'auto' } }, undefined, {
          before: (app) => app.set('trust proxy', true),
        }))
          .get('/')
          .set('X-Forwarded-Proto', 'https')
          .expect(shouldSetCookieWithAttribute(NAME, 'SameSite', 'Lax'))
          .expect(200)
      })

      it('follows req.secure ("trust proxy") when "proxy" is undefined', async () => {
        const trusting = createExpressApp({ cookie: { sameSite: 'auto' } }, undefined, {
          before: (app) => app.set('trust proxy', true),
        })
        await request(trusting)
          .get('/')
          .set('X-Forwarded-Proto', 'https')
          .expect(shouldSetCookieWithAttribute(NAME, 'SameSite', 'None'))
          .expect(200)
        await request(createExpressApp({ cookie: { sameSite: 'auto' } }))
          .get('/')
          .set('X-Forwarded-Proto', 'https')
          .expect(shouldSetCookieWithAttribute(NAME, 'SameSite', 'Lax'))
          .expect(200)
      })

      it('goes with secure "auto": Secure; SameSite=None over HTTPS', async () => {
        await request(createExpressApp({ proxy: true, cookie: { secure: 'auto', sameSite: 'auto' } }))
          .get('/')
          .set('X-Forwarded-Proto', 'https')
          .expect(shouldSetCookieWithAttribute(NAME, 'Secure'))
          .expect(shouldSetCookieWithAttribute(NAME, 'SameSite', 'None'))
          .expect(200)
      })
    })
  })

  describe('secure', () => {
    it('is absent by default, even over HTTPS', async () => {
      await request(createExpressApp({ proxy: true }))
        .get('/')
        .set('X-Forwarded-Proto', 'https')
        .expect(shouldSetCookieWithoutAttribute(NAME, 'Secure'))
        .expect(200)
    })

    it('is absent when false, even over HTTPS', async () => {
      await request(createExpressApp({ proxy: true, cookie: { secure: false } }))
        .get('/')
        .set('X-Forwarded-Proto', 'https')
        .expect(shouldSetCookieWithoutAttribute(NAME, 'Secure'))
        .expect(200)
    })

    describe('set to true', () => {
      it('sets Secure on an HTTPS request (proxy: true, X-Forwarded-Proto)', async () => {
        await request(createExpressApp({ proxy: true, cookie: { secure: true } }))
          .get('/')
          .set('X-Forwarded-Proto', 'https')
          .expect(shouldSetCookieWithAttribute(NAME, 'Secure'))
          .expect(200)
      })

      it('sets Secure on an HTTPS request (app "trust proxy")', async () => {
        await request(createExpressApp({ cookie: { secure: true } }, undefined, { before: (app) => app.set('trust proxy', 1) }))
          .get('/')
          .set('X-Forwarded-Proto', 'https')
          .expect(shouldSetCookieWithAttribute(NAME, 'Secure'))
          .expect(200)
      })

      it('sends no cookie over HTTP, but still saves the session', async () => {
        const store = new CountingStore()
        const app = createExpressApp({ store, cookie: { secure: true } }, (req, res) => {
          req.session.user = 'tj'
          res.end(req.session.id)
        })
        const res = await request(app).get('/').expect(shouldNotSetCookie()).expect(200)
        assert.equal(store.stored(res.text)?.user, 'tj')
      })

      it('sends no cookie when X-Forwarded-Proto is https but nothing trusts it', async () => {
        await request(createExpressApp({ cookie: { secure: true } }))
          .get('/')
          .set('X-Forwarded-Proto', 'https')
          .expect(shouldNotSetCookie())
          .expect(200)
      })
    })

    describe('set to "auto"', () => {
      describe('when "proxy" is true', () => {
        const app = () => createExpressApp({ proxy: true, cookie: { secure: 'auto' } })

        it('sets Secure when X-Forwarded-Proto is https', async () => {
          await request(app()).get('/').set('X-Forwarded-Proto', 'https').expect(shouldSetCookieWithAttribute(NAME, 'Secure')).expect(200)
        })

        it('sends the cookie without Secure when X-Forwarded-Proto is http', async () => {
          await request(app()).get('/').set('X-Forwarded-Proto', 'http').expect(shouldSetCookieWithoutAttribute(NAME, 'Secure')).expect(200)
        })
      })

      describe('when "proxy" is false', () => {
        it('sends the cookie without Secure even when X-Forwarded-Proto is https and Express trusts it', async () => {
          const app = createExpressApp({ proxy: false, cookie: { secure: 'auto' } }, undefined, {
            before: (app) => app.set('trust proxy', true),
          })
          await request(app).get('/').set('X-Forwarded-Proto', 'https').expect(shouldSetCookieWithoutAttribute(NAME, 'Secure')).expect(200)
        })
      })

      describe('when "proxy" is undefined', () => {
        it('sets Secure when req.secure is true ("trust proxy" and X-Forwarded-Proto https)', async () => {
          const app = createExpressApp({ cookie: { secure: 'auto' } }, undefined, {
            before: (app) => app.set('trust proxy', true),
          })
          await request(app).get('/').set('X-Forwarded-Proto', 'https').expect(shouldSetCookieWithAttribute(NAME, 'Secure')).expect(200)
        })

        it('sends the cookie without Secure when req.secure is false', async () => {
          const app = createExpressApp({ cookie: { secure: 'auto' } })
          await request(app).get('/').set('X-Forwarded-Proto', 'https').expect(shouldSetCookieWithoutAttribute(NAME, 'Secure')).expect(200)
        })
      })

      it('is resolved when the session is created and kept with it', async () => {
        const store = new CountingStore()
        const app = createExpressApp({ store, proxy: true, rolling: true, cookie: { secure: 'auto' } })
        const created = await request(app)
          .get('/')
          .set('X-Forwarded-Proto', 'https')
          .expect(shouldSetCookieWithAttribute(NAME, 'Secure'))
          .expect(200)
        assert.equal(store.stored(sid(created))?.cookie.secure, true)

        // the stored cookie is Secure: an insecure request still sees the session, but gets no cookie
        await request(app).get('/').set('Cookie', cookie(created)).expect(shouldNotSetCookie()).expect(200, sid(created))
        const again = await request(app)
          .get('/')
          .set('Cookie', cookie(created))
          .set('X-Forwarded-Proto', 'https')
          .expect(shouldSetCookieWithAttribute(NAME, 'Secure'))
          .expect(200, sid(created))
        assert.equal(sid(again), sid(created))
      })

      it('stores secure: false for a session created over HTTP', async () => {
        const store = new CountingStore()
        const res = await request(createExpressApp({ store, proxy: true, cookie: { secure: 'auto' } })).get('/').expect(200)
        assert.equal(store.stored(sid(res))?.cookie.secure, false)
      })
    })
  })

  describe('as a function (req) => options', () => {
    it('is called with the request and its options are applied', async () => {
      const seen: string[] = []
      const app = createExpressApp({
        cookie: (req) => {
          const r = req as unknown as http.IncomingMessage & { originalUrl: string }
          seen.push(r.originalUrl)
          return { domain: String(r.headers['x-domain']), sameSite: 'strict', httpOnly: false }
        },
      })
      await request(app)
        .get('/page?x=1')
        .set('X-Domain', 'example.org')
        .expect(shouldSetCookieWithAttribute(NAME, 'Domain', 'example.org'))
        .expect(shouldSetCookieWithAttribute(NAME, 'SameSite', 'Strict'))
        .expect(shouldSetCookieWithoutAttribute(NAME, 'HttpOnly'))
        .expect(200)
      assert.ok(seen.includes('/page?x=1'), JSON.stringify(seen))
      await request(app)
        .get('/')
        .set('X-Domain', 'example.net')
        .expect(shouldSetCookieWithAttribute(NAME, 'Domain', 'example.net'))
        .expect(200)
    })

    it('decides the path the middleware runs under, per request', async () => {
      const app = createExpressApp({ cookie: (req) => ({ path: (req as unknown as http.IncomingMessage).headers['x-area'] === 'admin' ? '/admin' : '/' }) })
      await request(app).get('/administrator').set('X-Area', 'admin').expect(shouldNotSetCookie()).expect(200, 'no session')
      await request(app).get('/admin/x').set('X-Area', 'admin').expect(shouldSetCookieWithAttribute(NAME, 'Path', '/admin')).expect(200)
      await request(app).get('/administrator').expect(shouldSetCookieWithAttribute(NAME, 'Path', '/')).expect(200)
    })

    it('gives maxAge as Expires only, never Max-Age', async () => {
      const res = await request(createExpressApp({ cookie: () => ({ maxAge: 60_000 }) })).get('/').expect(200)
      shouldNotHaveMaxAge(res)
      assert.ok(Math.abs(expiresAt(res) - (Date.now() + 60_000)) <= 2000, String(expires(res)))
    })

    describe('with "auto" values (fixed upstream bug: they were not resolved)', () => {
      it('secure "auto" gives a cookie without Secure over HTTP', async () => {
        await request(createExpressApp({ proxy: true, cookie: () => ({ secure: 'auto' }) }))
          .get('/')
          .expect(shouldSetCookieWithoutAttribute(NAME, 'Secure'))
          .expect(200)
      })

      it('secure "auto" gives a Secure cookie over HTTPS', async () => {
        await request(createExpressApp({ proxy: true, cookie: () => ({ secure: 'auto' }) }))
          .get('/')
          .set('X-Forwarded-Proto', 'https')
          .expect(shouldSetCookieWithAttribute(NAME, 'Secure'))
          .expect(200)
      })

      it('sameSite "auto" gives SameSite=Lax over HTTP', async () => {
        await request(createExpressApp({ proxy: true, cookie: () => ({ sameSite: 'auto' }) }))
          .get('/')
          .expect(shouldSetCookieWithAttribute(NAME, 'SameSite', 'Lax'))
          .expect(200)
      })

      it('sameSite "auto" gives SameSite=None over HTTPS', async () => {
        await request(createExpressApp({ proxy: true, cookie: () => ({ sameSite: 'auto', secure: 'auto' }) }))
          .get('/')
          .set('X-Forwarded-Proto', 'https')
          .expect(shouldSetCookieWithAttribute(NAME, 'SameSite', 'None'))
          .expect(shouldSetCookieWithAttribute(NAME, 'Secure'))
          .expect(200)
      })
    })

    it('with secure: true sends no cookie over HTTP, but still saves the session', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store, cookie: () => ({ secure: true }) }, touchSession)
      const res = await request(app).get('/').expect(shouldNotSetCookie()).expect(200)
      assert.equal(store.stored(res.text)?.touched, true)
    })

    it('passes an error it throws to next(err), before any response is written', async () => {
      const store = new CountingStore()
      const app = createExpressApp({
        store,
        cookie: () => {
          throw new Error('no cookie options for you')
        },
      })
      await request(app).get('/').expect(shouldNotSetCookie()).expect(500, 'no cookie options for you')
      assert.equal(store.calls.set, 0)
    })

    it('passes an error to next(err) when it returns no object', async () => {
      const app = createExpressApp({ cookie: (() => 'secure') as never })
      await request(app).get('/').expect(shouldNotSetCookie()).expect(500, /^cookie option function must return an object of cookie settings \(got string "secure"\)/)
    })

    it('passes an error to next(err) when it returns options the cookie cannot carry', async () => {
      const app = createExpressApp({ cookie: () => ({ sameSite: 'sometimes' as never }) })
      await request(app).get('/').expect(shouldNotSetCookie()).expect(500, /^cookie\.sameSite option \(returned by the cookie function\) must be true, false, "lax", "strict", "none" or "auto" \(got string "sometimes"\)/)
    })
  })
})
