/**
 * Upstream bugs a drop-in fixes (compat-notes.md) that are not covered elsewhere. Each test here fails
 * on express-session 1.19.0, except "secure: 'auto' on an HTTPS request", kept as the counterpart of the
 * HTTP case. The other fixes are tested in:
 * - session.test.ts: manual save() after regenerate() saves twice (#935); reload() throws on corrupt data (#824)
 * - response.test.ts: the callback of res.end(chunk, encoding, callback) is dropped (#477)
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import http2 from 'node:http2'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import request from 'supertest'
import session from 'express-session'
import {
  CountingStore,
  cookie,
  createServer,
  setCookieFor,
  shouldNotSetCookie,
  shouldSetCookie,
  shouldSetCookieWithAttribute,
  shouldSetCookieWithoutAttribute,
  sid,
} from '../support/http.js'

// A self-signed certificate for localhost (EC P-256, valid until 2126), for the TLS tests only.
const TLS_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgMSxfreb//xkS5yjz
0AA2K0EZmZV8mLHqUDx8ozs9JeyhRANCAAQ1VLfLy/Ys6td9z/mwaZVWfGpP89i0
ZjHJrfNjNPDD4YSWWahrH5xdZfdjtC9ggVudkk3ZYdbbQJS/KQTrplD+
-----END PRIVATE KEY-----
`
const TLS_CERT = `-----BEGIN CERTIFICATE-----
MIIBgDCCASWgAwIBAgIUeUxHrcwxs2zwGbg6GB2agBY5ku4wCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyMjEyMDY1MFoYDzIxMjYxMDI5
MTIwNjUwWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQ1VLfLy/Ys6td9z/mwaZVWfGpP89i0ZjHJrfNjNPDD4YSWWahrH5xd
ZfdjtC9ggVudkk3ZYdbbQJS/KQTrplD+o1MwUTAdBgNVHQ4EFgQUBVdbyTys73RP
S/h30PL8DpTk2sIwHwYDVR0jBBgwFoAUBVdbyTys73RPS/h30PL8DpTk2sIwDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEAqJSHZWUKNHoL0mvp0DwV
R0Ul35z8AXysHGlngi/aaDECIQD5IPZRNgzww2fXvEPRRqDACMHu10WD4CprdUOO
219RaQ==
-----END CERTIFICATE-----
`

describe('cookie as a function with secure/sameSite "auto"', () => {
  /** A node:http server whose session cookie options come from a function; `proxy: true` reads X-Forwarded-Proto. */
  function server(cookieOptions: session.CookieOptions, store = new CountingStore()) {
    const app = createServer({ store, proxy: true, resave: false, saveUninitialized: true, cookie: () => cookieOptions }, (req, res) => {
      res.end('ok')
    })
    return { app, store }
  }

  it("resolves secure: 'auto' on an HTTP request: the cookie is sent, without Secure", async () => {
    const { app, store } = server({ secure: 'auto' })
    const res = await request(app).get('/')
      .expect(shouldSetCookieWithoutAttribute('connect.sid', 'Secure'))
      .expect(200, 'ok')
    assert.ok(store.stored(sid(res)))
  })

  it("resolves secure: 'auto' on an HTTPS request: the cookie is sent with Secure", async () => {
    const { app } = server({ secure: 'auto' })
    await request(app).get('/').set('X-Forwarded-Proto', 'https')
      .expect(shouldSetCookieWithAttribute('connect.sid', 'Secure'))
      .expect(200, 'ok')
  })

  it("resolves sameSite: 'auto' to Lax on an HTTP request", async () => {
    const { app } = server({ sameSite: 'auto' })
    await request(app).get('/')
      .expect(shouldSetCookieWithAttribute('connect.sid', 'SameSite', 'Lax'))
      .expect(200, 'ok')
  })

  it("resolves sameSite: 'auto' to None on an HTTPS request", async () => {
    const { app } = server({ sameSite: 'auto', secure: 'auto' })
    await request(app).get('/').set('X-Forwarded-Proto', 'https')
      .expect(shouldSetCookieWithAttribute('connect.sid', 'SameSite', 'None'))
      .expect(shouldSetCookieWithAttribute('connect.sid', 'Secure'))
      .expect(200, 'ok')
  })

  it('keeps the values resolved when the session was created', async () => {
    const app = createServer({ proxy: true, rolling: true, resave: false, saveUninitialized: true, cookie: () => ({ secure: 'auto', sameSite: 'auto' }) })
    const first = await request(app).get('/').set('X-Forwarded-Proto', 'https')
      .expect(shouldSetCookieWithAttribute('connect.sid', 'SameSite', 'None'))
      .expect(200)
    // the same session over HTTP: still the Secure cookie, which is not sent over HTTP
    await request(app).get('/').set('Cookie', cookie(first)).expect(shouldNotSetCookie()).expect(200)
    await request(app).get('/').set('Cookie', cookie(first)).set('X-Forwarded-Proto', 'https')
      .expect(shouldSetCookieWithAttribute('connect.sid', 'SameSite', 'None'))
      .expect(200)
  })
})

describe('HTTP/2 compatibility API (upstream #888: the res.end patch used res._implicitHeader)', () => {
  let server: http2.Http2Server
  let port: number
  const store = new CountingStore()

  /** What res.end() threw, if anything (1.19.0 throws `res._implicitHeader is not a function`). */
  const thrown: string[] = []

  before(async () => {
    const middleware = session({ store, secret: 'keyboard cat', resave: false, saveUninitialized: false })
    const end = (res: any, body: string) => {
      try {
        res.end(body)
      } catch (err: any) {
        thrown.push(err.message)
      }
    }
    server = http2.createServer((req: any, res: any) => {
      middleware(req, res, (err?: any) => {
        if (err) {
          res.statusCode = 500
          end(res, err.message)
          return
        }
        if (req.url === '/set') {
          req.session.user = 'tj'
          res.setHeader('Content-Type', 'text/plain')
          res.write('saved ')
          end(res, 'tj')
          return
        }
        if (req.url === '/destroy') {
          req.session.destroy(() => end(res, 'destroyed'))
          return
        }
        end(res, 'user: ' + (req.session.user ?? 'none'))
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  })

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  function get(path: string, headers: http2.OutgoingHttpHeaders = {}): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
    return new Promise((resolve, reject) => {
      const client = http2.connect(`http://127.0.0.1:${port}`)
      client.on('error', reject)
      const req = client.request({ ':path': path, ...headers })
      let responseHeaders: http2.IncomingHttpHeaders = {}
      let body = ''
      req.setEncoding('utf8')
      req.on('response', (h) => {
        responseHeaders = h
      })
      req.on('data', (chunk: string) => {
        body += chunk
      })
      req.on('end', () => {
        client.close()
        resolve({ status: Number(responseHeaders[':status']), headers: responseHeaders, body })
      })
      req.on('error', reject)
      req.end()
    })
  }

  it('saves a session, sends its cookie, loads it back, and destroys it', async () => {
    const first = await get('/set')
    assert.equal(first.status, 200)
    assert.equal(first.body, 'saved tj')
    const setCookie = first.headers['set-cookie'] as string[] | undefined
    assert.ok(setCookie && setCookie[0]!.startsWith('connect.sid='), 'Set-Cookie sent')
    const pair = setCookie[0]!.split(';')[0]!
    const id = /^s:([^.]+)\./.exec(decodeURIComponent(pair.slice('connect.sid='.length)))![1]!
    assert.equal(store.stored(id)?.user, 'tj')

    const second = await get('/', { cookie: pair })
    assert.equal(second.status, 200)
    assert.equal(second.body, 'user: tj')
    assert.equal(second.headers['set-cookie'], undefined)

    const third = await get('/destroy', { cookie: pair })
    assert.equal(third.body, 'destroyed')
    assert.equal(store.stored(id), undefined)
    assert.deepEqual(thrown, [], 'res.end() did not throw')
  })
})

describe('TLS detected through req.socket, not the deprecated req.connection', () => {
  let server: https.Server

  before(async () => {
    const handler = createServer({ proxy: false, cookie: { secure: true } }).listeners('request')[0] as http.RequestListener
    server = https.createServer({ key: TLS_KEY, cert: TLS_CERT }, (req, res) => {
      // a request object without the deprecated alias (DEP0133)
      Object.defineProperty(req, 'connection', { value: undefined, configurable: true })
      handler(req, res)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  })

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  it('sends a Secure cookie over a TLS socket', async () => {
    const res = await request(server).get('/').disableTLSCerts().expect(shouldSetCookie()).expect(200)
    assert.match(setCookieFor(res)!, /; Secure/)
  })
})

describe("unset: 'destroy' with an explicit destroy()", () => {
  it('calls store.destroy once', async () => {
    const store = new CountingStore()
    const app = createServer({ store, unset: 'destroy', resave: false, saveUninitialized: false }, (req, res) => {
      if (req.url === '/set') {
        req.session.user = 'tj'
        res.end('ok')
        return
      }
      req.session.destroy((err: any) => res.end(err ? err.message : 'destroyed'))
    })
    const first = await request(app).get('/set').expect(200)
    store.resetCalls()
    await request(app).get('/destroy').set('Cookie', cookie(first)).expect(shouldNotSetCookie()).expect(200, 'destroyed')
    assert.equal(store.calls.destroy, 1)
    assert.equal(store.stored(sid(first)), undefined)
  })
})
