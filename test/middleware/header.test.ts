/**
 * The `header` option: the signed session ID in a request header for clients without cookies, sent back in the
 * response header when a session is created or regenerated, with or without the cookie (`cookie: false`).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import { sign } from 'cookie-signature'
import express5 from 'express5'
import request from 'supertest'
import session from 'express-session'
import { runScriptWithDebug } from '../support/debug-output.js'
import {
  cookie,
  createExpressApp,
  createServer,
  setCookieFor,
  setCookies,
  sid,
  signedCookie,
  type ExpressHandler,
  type Handler,
} from '../support/http.js'

const HEADER = 'x-session-id'

/** Counts views in the session and answers `<id> <views>`. */
const countViews: Handler = (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1
  res.end(`${req.session.id} ${req.session.views}`)
}

/** A node:http server with the middleware (`header: 'x-session-id'` unless `options` says otherwise) and `handler`. */
function headerServer(options: session.SessionOptions = {}, handler: Handler = countViews): http.Server {
  return createServer({ header: HEADER, resave: false, saveUninitialized: false, ...options }, handler)
}

/** The session ID in a signed header value `s:<id>.<signature>` (verified with 'keyboard cat'). */
function idIn(value: unknown): string {
  assert.equal(typeof value, 'string', `expected a ${HEADER} header`)
  const match = /^s:([^.]+)\.[A-Za-z0-9+/]{43}$/.exec(value as string)
  assert.ok(match, `not a signed session ID: ${String(value)}`)
  return match[1]!
}

/** `s:<id>.<signature>` signed with `secret`. */
function signedId(id: string, secret = 'keyboard cat'): string {
  return 's:' + sign(id, secret)
}

describe('header option', () => {
  it('a new session sends the signed ID in the header, as the cookie carries it before URL-encoding', async () => {
    const res = await request(headerServer()).get('/').expect(200)
    const id = idIn(res.headers[HEADER])
    assert.equal(id, sid(res))
    assert.equal(encodeURIComponent(res.headers[HEADER] as string), cookie(res).slice('connect.sid='.length))
    assert.equal(res.text, `${id} 1`)
  })

  it('a request with the header continues the same session, and the response does not repeat the header', async () => {
    const server = headerServer()
    const first = await request(server).get('/').expect(200)
    const value = first.headers[HEADER] as string
    const second = await request(server).get('/').set(HEADER, value).expect(200, `${idIn(value)} 2`)
    assert.equal(second.headers[HEADER], undefined)
    assert.deepEqual(setCookies(second), [])
    await request(server).get('/').set(HEADER, value).expect(200, `${idIn(value)} 3`)
  })

  it('accepts the URL-encoded form copied from the cookie (s%3A...)', async () => {
    const server = headerServer()
    const first = await request(server).get('/').expect(200)
    const encoded = cookie(first).slice('connect.sid='.length)
    assert.match(encoded, /^s%3A/)
    await request(server).get('/').set(HEADER, encoded).expect(200, `${sid(first)} 2`)
  })

  it('the header name is case-insensitive, in the option and in the request', async () => {
    const server = headerServer({ header: 'X-Session-ID' })
    const first = await request(server).get('/').expect(200)
    const value = first.headers[HEADER] as string
    idIn(value)
    await request(server).get('/').set('X-SESSION-ID', value).expect(200, `${idIn(value)} 2`)
  })

  it('reads the header only when the option is set', async () => {
    const server = createServer({ resave: false, saveUninitialized: false }, countViews)
    const first = await request(server).get('/').expect(200)
    assert.equal(first.headers[HEADER], undefined)
    const second = await request(server).get('/').set(HEADER, decodeURIComponent(cookie(first).slice(12))).expect(200)
    assert.notEqual(second.text, `${sid(first)} 2`)
  })

  describe('a value that fails verification starts a new session, as a bad cookie does', () => {
    const cases: [string, (value: string) => string][] = [
      ['tampered ID', (value) => value.replace(/^s:./, (s) => s.slice(0, 2) + (s[2] === 'a' ? 'b' : 'a'))],
      ['tampered signature', (value) => value.slice(0, -1) + (value.endsWith('A') ? 'B' : 'A')],
      ['unsigned (the bare ID)', (value) => idIn(value)],
      ['without the s: prefix', (value) => value.slice(2)],
      ['signed with another secret', (value) => signedId(idIn(value), 'another secret')],
      ['empty', () => ''],
      ['garbage', () => 's:%E0%A4%A'],
    ]
    for (const [what, change] of cases) {
      it(what, async () => {
        const server = headerServer()
        const first = await request(server).get('/').expect(200)
        const value = first.headers[HEADER] as string
        const res = await request(server).get('/').set(HEADER, change(value)).expect(200)
        const id = idIn(res.headers[HEADER])
        assert.notEqual(id, idIn(value))
        assert.equal(res.text, `${id} 1`)
      })
    }
  })

  it('verifies with every secret of the array: an ID signed with an older one still works, new ones are signed with the first', async () => {
    const store = new session.MemoryStore()
    const before = await request(headerServer({ store, secret: 'old secret' })).get('/').expect(200)
    const value = before.headers[HEADER] as string
    assert.equal(value, signedId(idIn(value), 'old secret'))
    const rotated = headerServer({ store, secret: ['new secret', 'old secret'] })
    await request(rotated).get('/').set(HEADER, value).expect(200, `${idIn(value)} 2`)
    const fresh = await request(rotated).get('/').expect(200)
    const freshValue = fresh.headers[HEADER] as string
    assert.equal(freshValue, signedId(idIn(freshValue), 'new secret'))
    // once the old secret is dropped, the old value starts a new session
    const dropped = await request(headerServer({ store, secret: 'new secret' })).get('/').set(HEADER, value).expect(200)
    assert.notEqual(idIn(dropped.headers[HEADER]), idIn(value))
  })

  it('a value signed with an older secret is sent back signed with the first, so that the client follows the rotation', async () => {
    const store = new session.MemoryStore()
    const readOnly: Handler = (req, res) => res.end(String(req.session.views ?? 0))
    const before = await request(headerServer({ store, secret: 'old secret', cookie: false })).get('/').expect(200)
    const old = before.headers[HEADER] as string
    const rotated = headerServer({ store, secret: ['new secret', 'old secret'], cookie: false }, readOnly)
    // a request that changes nothing still gets the re-signed value, and nothing else
    const resigned = await request(rotated).get('/').set(HEADER, old).expect(200, '1')
    assert.equal(resigned.headers[HEADER], signedId(idIn(old), 'new secret'))
    assert.equal(resigned.headers['set-cookie'], undefined)
    // with it, the session survives the old secret's removal
    await request(headerServer({ store, secret: 'new secret', cookie: false })).get('/').set(HEADER, resigned.headers[HEADER] as string)
      .expect(200, `${idIn(old)} 2`)
    // a value signed with the first secret is not sent again
    const current = await request(rotated).get('/').set(HEADER, resigned.headers[HEADER] as string).expect(200)
    assert.equal(current.headers[HEADER], undefined)
  })

  it('a response carrying the ID in the header is kept out of shared caches, unless the app chose its Cache-Control', async () => {
    const res = await request(headerServer({ cookie: false })).get('/').expect(200)
    assert.equal(res.headers['cache-control'], 'private, no-store')
    const chosen: Handler = (req, res) => {
      req.session.views = 1
      res.setHeader('Cache-Control', 'no-cache')
      res.end('ok')
    }
    const own = await request(headerServer({ cookie: false }, chosen)).get('/').expect(200)
    assert.equal(own.headers['cache-control'], 'no-cache')
    assert.ok(own.headers[HEADER])
    const unsent = await request(headerServer({}, (req, res) => res.end('no session data'))).get('/').expect(200)
    assert.equal(unsent.headers['cache-control'], undefined, 'no header, no Cache-Control')
  })

  it('a request with both: a valid cookie wins over the header', async () => {
    const server = headerServer()
    const a = await request(server).get('/').expect(200)
    const b = await request(server).get('/').expect(200)
    await request(server).get('/').set('Cookie', cookie(a)).set(HEADER, b.headers[HEADER] as string)
      .expect(200, `${sid(a)} 2`)
  })

  it('a cookie that does not verify leaves the header to be read', async () => {
    const server = headerServer()
    const first = await request(server).get('/').expect(200)
    await request(server).get('/').set('Cookie', signedCookie(sid(first), 'another secret'))
      .set(HEADER, first.headers[HEADER] as string).expect(200, `${sid(first)} 2`)
  })

  it('regenerate() sends the new ID in the header; the old one is gone', async () => {
    const server = headerServer({}, (req, res) => {
      if (req.url === '/login') {
        req.session.regenerate((err: unknown) => {
          if (err) throw err
          req.session.user = 'ada'
          res.end(req.session.id)
        })
      } else countViews(req, res)
    })
    const first = await request(server).get('/').expect(200)
    const before = first.headers[HEADER] as string
    const login = await request(server).post('/login').set(HEADER, before).expect(200)
    const after = login.headers[HEADER] as string
    assert.equal(idIn(after), login.text)
    assert.notEqual(idIn(after), idIn(before))
    assert.equal(sid(login), idIn(after))
    await request(server).get('/').set(HEADER, after).expect(200, `${idIn(after)} 1`)
    const old = await request(server).get('/').set(HEADER, before).expect(200)
    assert.notEqual(old.text, `${idIn(before)} 2`)
  })

  it('no header when no cookie would be sent: an uninitialized session with saveUninitialized: false', async () => {
    const res = await request(headerServer({}, (req, res) => res.end('nothing stored'))).get('/').expect(200)
    assert.equal(res.headers[HEADER], undefined)
    assert.deepEqual(setCookies(res), [])
  })

  it('follows the cookie on an insecure request: neither is sent for a Secure cookie', async () => {
    const res = await request(headerServer({ cookie: { secure: true } })).get('/').expect(200)
    assert.equal(res.headers[HEADER], undefined)
    assert.deepEqual(setCookies(res), [])
  })

  describe('bad input: a new session, never a crash', () => {
    it('the header sent twice (Node joins the values with a comma)', async () => {
      const server = headerServer()
      const first = await request(server).get('/').expect(200)
      const value = first.headers[HEADER] as string
      const res = await request(server).get('/').set(HEADER, [value, value]).expect(200)
      assert.notEqual(idIn(res.headers[HEADER]), idIn(value))
    })

    it('a value with a comma in it', async () => {
      const server = headerServer()
      const first = await request(server).get('/').expect(200)
      const value = first.headers[HEADER] as string
      const res = await request(server).get('/').set(HEADER, `${value},x`).expect(200)
      assert.notEqual(idIn(res.headers[HEADER]), idIn(value))
    })

    it('a value over 1024 characters, even validly signed', async () => {
      const long = 'a'.repeat(1000)
      const store = new session.MemoryStore()
      await new Promise<void>((resolve, reject) => {
        store.set(long, { cookie: { originalMaxAge: null }, views: 5 } as never, (err) => (err ? reject(err) : resolve()))
      })
      const server = headerServer({ store, genid: () => 'a'.repeat(1000) })
      const value = signedId(long)
      assert.ok(value.length > 1024)
      // the same ID in a cookie is read: only the header has the bound
      await request(server).get('/').set('Cookie', signedCookie(long)).expect(200, `${long} 6`)
      const res = await request(server).get('/').set(HEADER, value).expect(200)
      assert.notEqual(res.text, `${long} 7`)
    })

    it('a huge header (8 KB)', async () => {
      const res = await request(headerServer()).get('/').set(HEADER, 's:' + 'x'.repeat(8192)).expect(200)
      idIn(res.headers[HEADER])
    })

    it('an ID with characters a header cannot carry as one value is sent URL-encoded, and read back', async () => {
      let n = 0
      const server = headerServer({ genid: () => `id, é %41 ${++n}` })
      const first = await request(server).get('/').expect(200)
      const value = first.headers[HEADER] as string
      assert.match(value, /^s%3Aid%2C%20%C3%A9%20%2541%201\./)
      await request(server).get('/').set(HEADER, value).expect(200, 'id, é %41 1 2')
    })
  })

  it('says in the debug output why a value was ignored, and which ID it sends, never the signature', () => {
    const script = `
const http = require('node:http')
const session = require('express-session')
const middleware = session({ secret: 'keyboard cat', resave: false, saveUninitialized: true, header: 'x-session-id', cookie: false })
const server = http.createServer((req, res) => middleware(req, res, () => res.end()))
server.listen(0, '127.0.0.1', async () => {
  const url = 'http://127.0.0.1:' + server.address().port
  const value = (await fetch(url)).headers.get('x-session-id')
  const headers = new Headers()
  headers.append('x-session-id', value)
  headers.append('x-session-id', value)
  for (const h of [headers, { 'x-session-id': 's:' + 'x'.repeat(1025) }, { 'x-session-id': 'bare' }, { 'x-session-id': value + 'x' }]) {
    await fetch(url, { headers: h })
  }
  server.close()
  console.log(value)
})
`
    const result = runScriptWithDebug(script)
    const value = result.stdout.trim()
    const lines = result.stderr.split('\n').filter((line) => line.includes('express-session GET /'))
    const expected = [
      `sending ${idIn(value)} in the x-session-id header`,
      'x-session-id header has several values, ignored',
      'x-session-id header longer than 1024 characters, ignored',
      'x-session-id header unsigned',
      'x-session-id header signature invalid',
    ]
    for (const fragment of expected) assert.ok(lines.some((line) => line.includes(fragment)), `no "${fragment}" in:\n${lines.join('\n')}`)
    assert.ok(!result.stderr.includes(value.slice(value.lastIndexOf('.') + 1)), 'the signature is not shown')
  })

  describe('cookie: false', () => {
    it('with a header: no Set-Cookie at all, the header carries the session', async () => {
      const server = headerServer({ cookie: false })
      const first = await request(server).get('/').expect(200)
      assert.deepEqual(setCookies(first), [])
      const value = first.headers[HEADER] as string
      await request(server).get('/').set(HEADER, value).expect(200, `${idIn(value)} 2`)
    })

    it('with a header: a session cookie sent anyway is not read', async () => {
      const server = headerServer({ cookie: false })
      const a = await request(server).get('/').expect(200)
      const id = idIn(a.headers[HEADER])
      const res = await request(server).get('/').set('Cookie', signedCookie(id)).expect(200)
      assert.notEqual(res.text, `${id} 2`)
    })

    it('with a header and clearCookieOnDestroy: destroy() sends no clearing cookie', async () => {
      const server = headerServer({ cookie: false, clearCookieOnDestroy: true }, (req, res) => {
        if (req.url === '/logout') req.session.destroy(() => res.end('bye'))
        else countViews(req, res)
      })
      const first = await request(server).get('/').expect(200)
      const logout = await request(server).post('/logout').set(HEADER, first.headers[HEADER] as string).expect(200, 'bye')
      assert.deepEqual(setCookies(logout), [])
      assert.equal(logout.headers[HEADER], undefined)
    })

    it('without a header: 1.x behaviour, the cookie with the default settings', async () => {
      const res = await request(createServer({ cookie: false as never }, countViews)).get('/').expect(200)
      assert.equal(setCookieFor(res), `connect.sid=${cookie(res).slice(12)}; Path=/; HttpOnly`)
      assert.equal(res.headers[HEADER], undefined)
    })
  })

  it("storeErrors: 'strict': a failed save drops the header with the cookie", async () => {
    class FailingStore extends session.MemoryStore {
      override set(_sid: string, _sess: session.SessionData, callback?: (err?: unknown) => void): void {
        setImmediate(() => callback?.(new Error('store is down')))
      }
    }
    for (const cookieOption of [undefined, false] as const) {
      const res = await request(headerServer({ store: new FailingStore(), storeErrors: 'strict', cookie: cookieOption }))
        .get('/').expect(500, 'store is down')
      assert.equal(res.headers[HEADER], undefined)
      assert.deepEqual(setCookies(res), [])
    }
  })

  describe('frameworks', () => {
    const login: ExpressHandler = (req, res) => {
      req.session.user = req.session.user ?? 'ada'
      res.json({ id: req.session.id, user: req.session.user })
    }

    it('Express 4', async () => {
      const app = createExpressApp({ header: HEADER, cookie: false, resave: false, saveUninitialized: false }, login)
      const first = await request(app).get('/').expect(200)
      assert.deepEqual(setCookies(first), [])
      const value = first.headers[HEADER] as string
      await request(app).get('/').set(HEADER, value).expect(200, { id: idIn(value), user: 'ada' })
    })

    it('Express 5', async () => {
      const app = express5()
      app.use(session({ secret: 'keyboard cat', header: HEADER, cookie: false, resave: false, saveUninitialized: false }))
      app.get('/', login as never)
      const first = await request(app).get('/').expect(200)
      assert.deepEqual(setCookies(first), [])
      const value = first.headers[HEADER] as string
      await request(app).get('/').set(HEADER, value).expect(200, { id: idIn(value), user: 'ada' })
    })

    it('HTTP/2 (compatibility API, cleartext)', async () => {
      const middleware = session({ secret: 'keyboard cat', header: HEADER, cookie: false, resave: false, saveUninitialized: false })
      const server = http2.createServer((req, res) => {
        middleware(req, res, () => countViews(req as never, res as never))
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
      const get = (headers: http2.OutgoingHttpHeaders) => new Promise<{ headers: http2.IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const stream = client.request({ ':path': '/', ...headers })
        let body = ''
        let responseHeaders: http2.IncomingHttpHeaders = {}
        stream.setEncoding('utf8')
        stream.on('response', (h) => (responseHeaders = h))
        stream.on('data', (chunk: string) => (body += chunk))
        stream.on('end', () => resolve({ headers: responseHeaders, body }))
        stream.on('error', reject)
      })
      try {
        const first = await get({})
        assert.equal(first.headers['set-cookie'], undefined)
        const value = first.headers[HEADER] as string
        assert.equal(first.body, `${idIn(value)} 1`)
        assert.equal((await get({ [HEADER]: value })).body, `${idIn(value)} 2`)
      } finally {
        client.close()
        await new Promise((resolve) => server.close(resolve))
      }
    })
  })

  describe('validation', () => {
    const cases: [unknown, string][] = [
      ['', 'an empty string'],
      ['a b', 'string "a b"'],
      ['cookie', 'string "cookie"'],
      ['Set-Cookie', 'string "Set-Cookie"'],
      ['x-session-id\r\n', 'string "x-session-id\\r\\n"'],
      [42, 'number 42'],
      [true, 'boolean true'],
    ]
    for (const [value, shown] of cases) {
      it(`refuses header: ${JSON.stringify(value)}`, () => {
        assert.throws(() => session({ secret: 'keyboard cat', resave: false, saveUninitialized: false, header: value as string }), {
          name: 'TypeError',
          message: `header option must be an HTTP header name such as "x-session-id" (not cookie, set-cookie, host or a framing header) (got ${shown})`,
        })
      })
    }
  })
})
