/**
 * Node's HTTP/2 compatibility API over TLS: `http2.createSecureServer({ allowHTTP1: false })` with a plain request
 * handler that runs the middleware, then the application. The certificate is self-signed, built at test time.
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import session from 'express-session'
import { delay } from '../support/http.js'

declare module 'express-session' {
  interface SessionData {
    views: number
  }
}

/** A DER TLV. */
function der(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts)
  const length: number[] = []
  if (body.length < 0x80) length.push(body.length)
  else {
    for (let n = body.length; n > 0; n >>= 8) length.unshift(n & 0xff)
    length.unshift(0x80 | length.length)
  }
  return Buffer.concat([Buffer.from([tag, ...length]), body])
}

/** A self-signed X.509 certificate for CN=localhost (EC P-256, ECDSA-SHA256, valid for a day), built with node:crypto. */
function selfSignedCertificate(): { key: string; cert: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const sequence = (...parts: Buffer[]) => der(0x30, ...parts)
  const ecdsaWithSha256 = sequence(Buffer.from('06082a8648ce3d040302', 'hex')) // OID 1.2.840.10045.4.3.2
  const name = sequence(der(0x31, sequence(Buffer.from('0603550403', 'hex') /* CN */, der(0x0c, Buffer.from('localhost')))))
  const utcTime = (date: Date) => der(0x17, Buffer.from(date.toISOString().replace(/^\d\d|[-:T]|\.\d+/g, '')))
  const now = Date.now()
  const tbs = sequence(
    der(0xa0, der(0x02, Buffer.from([2]))), // v3
    der(0x02, Buffer.from([1])), // serial number
    ecdsaWithSha256,
    name,
    sequence(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 86_400_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
  )
  const signature = crypto.sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' })
  const certificate = sequence(tbs, ecdsaWithSha256, der(0x03, Buffer.from([0]), signature))
  const cert = `-----BEGIN CERTIFICATE-----\n${certificate.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`
  return { key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, cert }
}

/** A MemoryStore whose `set` answers after `latency` ms, recording when it did. */
class SlowStore extends session.MemoryStore {
  setsAnswered = 0
  constructor(readonly latency = 20) {
    super()
  }
  override set(sid: string, sess: object, callback?: (err?: any) => void): void {
    setTimeout(() => super.set(sid, sess, (err?: any) => {
      this.setsAnswered++
      callback?.(err)
    }), this.latency)
  }
  stored(sid: string): Record<string, any> | undefined {
    const json = this.sessions[sid]
    return json === undefined ? undefined : JSON.parse(json)
  }
}

type Http2Request = http2.Http2ServerRequest & Express.Request

interface Answer {
  status: number
  headers: http2.IncomingHttpHeaders
  body: string
  /** What the store held for `id` when the response headers reached the client. */
  storedAtHeaders?: Record<string, any>
}

describe('HTTP/2 compatibility API over TLS (createSecureServer, allowHTTP1: false)', () => {
  const store = new SlowStore()
  const thrown: unknown[] = []
  let server: http2.Http2SecureServer
  let client: http2.ClientHttp2Session

  const routes: Record<string, (req: Http2Request, res: http2.Http2ServerResponse) => void | Promise<void>> = {
    '/count': (req, res) => {
      req.session.views = (req.session.views ?? 0) + 1
      res.setHeader('Content-Type', 'text/plain')
      res.end('views: ' + req.session.views)
    },
    '/read': (req, res) => {
      res.end('views: ' + String(req.session.views))
    },
    '/write-then-end': (req, res) => {
      req.session.views = (req.session.views ?? 0) + 10
      res.write('views: ')
      res.end(String(req.session.views))
    },
    '/write-then-change': (req, res) => {
      // headers (and so the cookie decision) go out with the first chunk; the change is still saved at the end
      res.write('changing after the headers: ')
      req.session.views = (req.session.views ?? 0) + 100
      res.end(String(req.session.views))
    },
    '/write-head': (req, res) => {
      req.session.views = 1
      res.writeHead(201, { 'Content-Type': 'text/plain' })
      res.end('created')
    },
    '/await-save': async (req, res) => {
      req.session.views = 7
      await req.session.save()
      res.writeHead(303, { Location: '/read' })
      res.end()
    },
    '/destroy': async (req, res) => {
      await req.session.destroy()
      res.end('destroyed')
    },
  }

  before(async () => {
    const middleware = session({ store, secret: 'keyboard cat', resave: false, saveUninitialized: false })
    server = http2.createSecureServer({ ...selfSignedCertificate(), allowHTTP1: false }, (req, res) => {
      middleware(req, res, (err?: unknown) => {
        if (err) {
          res.statusCode = 500
          res.end(String((err as Error).message))
          return
        }
        const route = routes[req.url] ?? routes['/read']!
        Promise.resolve()
          .then(() => route(req as Http2Request, res))
          .catch((error: unknown) => {
            thrown.push(error)
            res.statusCode = 500
            res.end(String((error as Error).message))
          })
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    client = http2.connect(`https://localhost:${(server.address() as AddressInfo).port}`, { rejectUnauthorized: false })
    client.on('error', (err) => thrown.push(err))
  })

  after(async () => {
    client?.close()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })

  /** A GET over the shared HTTP/2 connection. `id`: record what the store holds for it when headers arrive. */
  function get(path: string, cookieHeader?: string, id?: string): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const stream = client.request({ ':path': path, ...(cookieHeader ? { cookie: cookieHeader } : {}) })
      const answer: Answer = { status: 0, headers: {}, body: '' }
      stream.setEncoding('utf8')
      stream.on('response', (headers) => {
        answer.headers = headers
        answer.status = Number(headers[':status'])
        if (id !== undefined) answer.storedAtHeaders = store.stored(id)
      })
      stream.on('data', (chunk: string) => {
        answer.body += chunk
      })
      stream.on('end', () => resolve(answer))
      stream.on('error', reject)
      stream.end()
    })
  }

  function setCookie(answer: Answer): string | undefined {
    const header = answer.headers['set-cookie']
    return header?.find((value) => value.startsWith('connect.sid='))
  }

  function sessionCookie(answer: Answer): { pair: string; id: string } {
    const value = setCookie(answer)
    assert.ok(value, 'a session cookie was set: ' + JSON.stringify(answer.headers))
    const pair = value.split(';')[0]!
    const id = /^s:([^.]+)\./.exec(decodeURIComponent(pair.slice('connect.sid='.length)))![1]!
    return { pair, id }
  }

  it('runs over HTTP/2 (not HTTP/1.1)', async () => {
    const answer = await get('/read')
    assert.equal(answer.status, 200)
    assert.equal(client.alpnProtocol, 'h2')
  })

  it('sets the cookie of a new session; the next request sees its data; the store answered before the response', async () => {
    const first = await get('/count')
    assert.equal(first.status, 200)
    assert.equal(first.body, 'views: 1')
    const { pair, id } = sessionCookie(first)
    assert.match(setCookie(first)!, /; Path=\/; HttpOnly/)
    assert.equal(store.stored(id)?.views, 1)

    const second = await get('/count', pair, id)
    assert.equal(second.body, 'views: 2')
    assert.equal(setCookie(second), undefined, 'an existing session gets no new cookie')
    assert.equal(second.storedAtHeaders?.views, 2, 'the save was done before the response was sent')

    const third = await get('/read', pair)
    assert.equal(third.body, 'views: 2')
  })

  it('res.write() then res.end(): the cookie goes out with the first chunk and the data is saved', async () => {
    const first = await get('/write-then-end')
    assert.equal(first.body, 'views: 10')
    const { pair, id } = sessionCookie(first)
    assert.equal(store.stored(id)?.views, 10)
    const second = await get('/read', pair)
    assert.equal(second.body, 'views: 10')
  })

  it('a change made after res.write() is still saved before the response ends', async () => {
    const first = await get('/count')
    const { pair, id } = sessionCookie(first)
    const changed = await get('/write-then-change', pair, id)
    assert.equal(changed.body, 'changing after the headers: 101')
    const second = await get('/read', pair)
    assert.equal(second.body, 'views: 101')
  })

  it('res.writeHead() then res.end() carries the cookie', async () => {
    const answer = await get('/write-head')
    assert.equal(answer.status, 201)
    assert.equal(answer.body, 'created')
    const { id } = sessionCookie(answer)
    assert.equal(store.stored(id)?.views, 1)
  })

  it('await req.session.save() before a redirect: the redirected request sees the data', async () => {
    const before = store.setsAnswered
    const redirect = await get('/await-save')
    assert.equal(redirect.status, 303)
    assert.equal(redirect.headers.location, '/read')
    const { pair, id } = sessionCookie(redirect)
    assert.equal(store.setsAnswered - before, 1, 'saved once, not again at the end')
    assert.equal(store.stored(id)?.views, 7)
    const followed = await get(redirect.headers.location as string, pair)
    assert.equal(followed.body, 'views: 7')
  })

  it('destroy() removes the session', async () => {
    const first = await get('/count')
    const { pair, id } = sessionCookie(first)
    const destroyed = await get('/destroy', pair)
    assert.equal(destroyed.body, 'destroyed')
    assert.equal(store.stored(id), undefined)
    const after = await get('/read', pair)
    assert.equal(after.body, 'views: undefined')
  })

  it('nothing threw on the server', async () => {
    await delay(5)
    assert.deepEqual(thrown, [])
  })
})
