/**
 * The end of the response: the session is committed (saved, touched or destroyed) before the response
 * finishes, whatever way the application ends it, and without breaking other middleware.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import express from 'express'
import request from 'supertest'
import session from 'express-session'
import { CountingStore, cookie, delay, setCookieFor, setCookies, shouldSetCookie, sid, waitFor } from '../support/http.js'

type Handler = (req: any, res: any, next: express.NextFunction) => void

interface TestApp {
  app: express.Express
  /** Messages of the errors that reached the error handler. */
  errors: string[]
}

/**
 * An Express 4 app: `before` middleware, the session middleware (resave/saveUninitialized false unless
 * given), `after` middleware, then `handler`. The error handler records errors and answers 500 if it still can.
 */
function createApp(options: Partial<session.SessionOptions>, handler: Handler, middleware: { before?: Handler; after?: Handler } = {}): TestApp {
  const errors: string[] = []
  const app = express()
  if (middleware.before) app.use(middleware.before)
  app.use(session({ secret: 'keyboard cat', resave: false, saveUninitialized: false, ...options }))
  if (middleware.after) app.use(middleware.after)
  app.use(handler)
  app.use((err: any, _req: any, res: any, _next: any) => {
    errors.push(err.message)
    if (!res.headersSent) res.status(500).end('error: ' + err.message)
  })
  return { app, errors }
}

/** A MemoryStore whose `set` takes `ms` to complete. */
class SlowStore extends CountingStore {
  constructor(private readonly ms: number) {
    super()
  }

  override set(sid: string, sess: object, callback?: (err?: any) => void): void {
    const json = JSON.stringify(sess)
    setTimeout(() => super.set(sid, JSON.parse(json), callback), this.ms)
  }
}

describe('commit before the response finishes', () => {
  it('a client following a redirect sees the saved session (slow store)', async () => {
    const store = new SlowStore(100)
    const { app } = createApp({ store }, (req, res) => {
      if (req.path === '/login') {
        req.session.user = 'tj'
        return res.redirect('/profile')
      }
      res.end('user: ' + (req.session.user ?? 'none'))
    })
    const agent = request.agent(app)
    const start = Date.now()
    const res = await agent.get('/login').redirects(1).expect(200)
    assert.equal(res.text, 'user: tj')
    assert.ok(Date.now() - start >= 90, 'the redirect answer waited for the store')
  })

  it('the response body arrives only after the store answered', async () => {
    const store = new SlowStore(80)
    const { app } = createApp({ store }, (req, res) => {
      req.session.user = 'tj'
      res.end('done')
    })
    const start = Date.now()
    const res = await request(app).get('/').expect(200, 'done')
    assert.ok(Date.now() - start >= 70)
    assert.equal(store.stored(sid(res))?.user, 'tj')
  })
})

describe('res.end(chunk, encoding, callback)', () => {
  const variants: Array<[string, (res: any, cb: () => void) => void, string]> = [
    ['res.end(callback)', (res, cb) => res.end(cb), ''],
    ['res.end(chunk, callback)', (res, cb) => res.end('hello', cb), 'hello'],
    ['res.end(chunk, encoding, callback) (upstream #477)', (res, cb) => res.end('68656c6c6f', 'hex', cb), 'hello'],
  ]
  for (const [name, end, body] of variants) {
    it(`${name} calls the callback, when saving, touching or with no session`, async () => {
      let calls = 0
      const { app } = createApp({}, (req, res) => {
        if (req.path === '/save') req.session.user = 'tj'
        if (req.path === '/none') req.session = null
        end(res, () => calls++)
      })
      const saved = await request(app).get('/save').expect(shouldSetCookie()).expect(200, body)
      await waitFor(() => calls === 1, 1000, 'callback on save')
      await request(app).get('/touch').set('Cookie', cookie(saved)).expect(200, body)
      await waitFor(() => calls === 2, 1000, 'callback on touch')
      await request(app).get('/none').expect(200, body)
      await waitFor(() => calls === 3, 1000, 'callback without session')
    })
  }
})

describe('res.end() called twice', () => {
  for (const path of ['/save', '/plain']) {
    it(`the second call returns false and writes nothing (${path})`, async () => {
      const results: unknown[] = []
      const { app } = createApp({}, (req, res) => {
        if (req.path === '/save') req.session.user = 'tj'
        res.end('one')
        results.push(res.end('two'))
      })
      await request(app).get(path).expect(200, 'one')
      assert.deepEqual(results, [false])
    })
  }
})

describe('ways of ending the response', () => {
  it('res.end(null)', async () => {
    const store = new CountingStore()
    const { app } = createApp({ store }, (req, res) => {
      req.session.user = 'tj'
      res.end(null)
    })
    const res = await request(app).get('/').expect(shouldSetCookie()).expect(200, '')
    assert.equal(store.stored(sid(res))?.user, 'tj')
  })

  it('res.end() with an empty body', async () => {
    const store = new CountingStore()
    const { app } = createApp({ store }, (req, res) => {
      req.session.user = 'tj'
      res.statusCode = 204
      res.end()
    })
    const res = await request(app).get('/').expect(shouldSetCookie()).expect(204)
    assert.equal(res.text, '')
    assert.equal(store.stored(sid(res))?.user, 'tj')
  })

  it('res.write() several times, then res.end(chunk)', async () => {
    const store = new SlowStore(20)
    const { app } = createApp({ store }, (req, res) => {
      req.session.user = 'tj'
      res.write('a')
      res.write(Buffer.from('b'))
      res.end('c')
    })
    const res = await request(app).get('/').expect(shouldSetCookie()).expect(200, 'abc')
    assert.equal(store.stored(sid(res))?.user, 'tj')
  })

  for (const [name, end] of [
    ['a string', (res: any) => res.end('héllo')],
    ['a Buffer', (res: any) => res.end(Buffer.from('héllo'))],
    ['an encoded string', (res: any) => res.end(Buffer.from('héllo').toString('base64'), 'base64')],
  ] as const) {
    it(`a Content-Length response (not chunked) ended with ${name}`, async () => {
      const store = new SlowStore(20)
      const { app } = createApp({ store }, (req, res) => {
        req.session.user = 'tj'
        res.setHeader('Content-Type', 'text/plain; charset=utf-8')
        res.setHeader('Content-Length', Buffer.byteLength('héllo'))
        end(res)
      })
      const res = await request(app).get('/').expect(shouldSetCookie()).expect(200, 'héllo')
      assert.equal(res.headers['content-length'], '6')
      assert.equal(res.headers['transfer-encoding'], undefined)
      assert.equal(store.stored(sid(res))?.user, 'tj')
    })
  }

  it('res.writeHead() (or flushHeaders()) before res.end()', async () => {
    const store = new SlowStore(20)
    const { app } = createApp({ store }, (req, res) => {
      req.session.user = req.path
      if (req.path === '/flush') {
        res.setHeader('Content-Type', 'text/plain')
        res.flushHeaders()
      } else {
        res.writeHead(201, { 'Content-Type': 'text/plain' })
      }
      res.end('written')
    })
    const written = await request(app).get('/writehead').expect(shouldSetCookie()).expect(201, 'written')
    assert.equal(store.stored(sid(written))?.user, '/writehead')
    const flushed = await request(app).get('/flush').expect(shouldSetCookie()).expect(200, 'written')
    assert.equal(store.stored(sid(flushed))?.user, '/flush')
  })

  it('res.send() / res.json() of Express', async () => {
    const store = new CountingStore()
    const { app } = createApp({ store }, (req, res) => {
      req.session.user = 'tj'
      res.json({ ok: true })
    })
    const res = await request(app).get('/').expect(shouldSetCookie()).expect(200, { ok: true })
    assert.equal(store.stored(sid(res))?.user, 'tj')
  })

  it('a HEAD request', async () => {
    const store = new CountingStore()
    const { app } = createApp({ store }, (req, res) => {
      req.session.user = 'tj'
      res.send('hello')
    })
    const res = await request(app).head('/').expect(shouldSetCookie()).expect(200)
    assert.equal(res.headers['content-length'], '5')
    assert.equal(store.stored(sid(res))?.user, 'tj')
  })
})

describe('res.end() with arguments Node rejects', () => {
  for (const path of ['/plain', '/save']) {
    it(`passes the error to next(err) and lets the error handler answer, without crashing (${path})`, async () => {
      const { app, errors } = createApp({}, (req, res) => {
        if (req.path === '/save') req.session.user = 'tj'
        res.end(123)
      })
      await request(app).get(path).timeout(2000).expect(500, /^error: .*chunk/)
      assert.equal(errors.length, 1)
    })
  }
})

describe('res.end and res.write patched by other middleware', () => {
  /** Middleware in the style of compression: upper-cases what the app writes; counts end calls. */
  function upperCaser(counter: { ends: number }): Handler {
    return (_req, res, next) => {
      const write = res.write
      const end = res.end
      res.write = function (chunk: any, ...rest: any[]) {
        return write.call(this, typeof chunk === 'string' ? chunk.toUpperCase() : chunk, ...rest)
      }
      res.end = function (chunk: any, ...rest: any[]) {
        counter.ends++
        return end.call(this, typeof chunk === 'string' ? chunk.toUpperCase() : chunk, ...rest)
      }
      next()
    }
  }

  for (const position of ['before', 'after'] as const) {
    it(`keep working when patched ${position} the session middleware`, async () => {
      const store = new SlowStore(20)
      const counter = { ends: 0 }
      const { app } = createApp({ store }, (req, res) => {
        req.session.user = 'tj'
        res.write('ab')
        res.end('cd')
      }, { [position]: upperCaser(counter) })
      const res = await request(app).get('/').expect(shouldSetCookie()).expect(200, 'ABCD')
      assert.equal(counter.ends, 1)
      assert.equal(store.stored(sid(res))?.user, 'tj')
    })
  }
})

describe('Set-Cookie', () => {
  it('is appended to: a Set-Cookie set by the app is kept', async () => {
    const { app } = createApp({}, (req, res) => {
      req.session.user = 'tj'
      res.setHeader('Set-Cookie', 'foo=bar')
      res.end('ok')
    })
    const res = await request(app).get('/').expect(200)
    const values = setCookies(res)
    assert.equal(values.length, 2)
    assert.ok(values.includes('foo=bar'))
    assert.ok(setCookieFor(res))
  })

  it('keeps several cookies set by the app (array) and by res.cookie()', async () => {
    const { app } = createApp({}, (req, res) => {
      req.session.user = 'tj'
      res.setHeader('Set-Cookie', ['a=1', 'b=2'])
      res.cookie('c', '3')
      res.end('ok')
    })
    const res = await request(app).get('/').expect(200)
    const names = setCookies(res).map((value) => value.split('=')[0]).sort()
    assert.deepEqual(names, ['a', 'b', 'c', 'connect.sid'])
  })

  it('errors from setting the cookie go to next(err)', async () => {
    const { app, errors } = createApp({ saveUninitialized: true }, (req, res) => {
      req.session.cookie.domain = 'bad\ndomain'
      res.end('ok')
    })
    await request(app).get('/').then(() => undefined, () => undefined)
    await waitFor(() => errors.length === 1, 1000, 'the error to reach next(err)')
    assert.match(errors[0]!, /domain/i)
  })
})

describe('store errors at the end of the response', () => {
  class FailingStore extends CountingStore {
    failing: 'set' | 'touch' | 'destroy' | undefined
    override set(sid: string, sess: object, callback?: (err?: any) => void): void {
      if (this.failing === 'set') return void setImmediate(callback!, new Error('set failed'))
      super.set(sid, sess, callback)
    }
    override touch(sid: string, sess: { cookie: unknown }, callback?: (err?: any) => void): void {
      if (this.failing === 'touch') return void setImmediate(callback!, new Error('touch failed'))
      super.touch(sid, sess, callback)
    }
    override destroy(sid: string, callback?: (err?: any) => void): void {
      if (this.failing === 'destroy') return void setImmediate(callback!, new Error('destroy failed'))
      super.destroy(sid, callback)
    }
  }

  for (const method of ['set', 'touch', 'destroy'] as const) {
    it(`an error from store.${method} goes to next(err) after the response`, async () => {
      const store = new FailingStore()
      const { app, errors } = createApp({ store, unset: 'destroy' }, (req, res) => {
        if (req.path === '/login') req.session.user = 'tj'
        if (req.path === '/again' && method === 'set') req.session.user = 'changed'
        if (req.path === '/logout') req.session = null
        res.end('body')
      })
      const first = await request(app).get('/login').expect(200, 'body')
      store.failing = method
      const path = method === 'destroy' ? '/logout' : '/again'
      await request(app).get(path).set('Cookie', cookie(first)).expect(200, 'body')
      await waitFor(() => errors.length === 1, 1000, 'the error to reach next(err)')
      assert.deepEqual(errors, [`${method} failed`])
    })
  }
})

describe('store.touch', () => {
  it('is called on unmodified requests, and not when the session is saved', async () => {
    const store = new CountingStore()
    const { app } = createApp({ store, cookie: { maxAge: 60000 } }, (req, res) => {
      if (req.path === '/set') req.session.user = req.query.user ?? 'tj'
      res.end('ok')
    })
    const first = await request(app).get('/set').expect(200)
    assert.deepEqual([store.calls.set, store.calls.touch], [1, 0], 'new session: saved, not touched')
    const id = sid(first)
    const expiresBefore = Date.parse(store.stored(id)!.cookie.expires)

    await delay(20)
    store.resetCalls()
    await request(app).get('/read').set('Cookie', cookie(first)).expect(200)
    assert.deepEqual([store.calls.set, store.calls.touch], [0, 1], 'unmodified: touched')
    assert.ok(Date.parse(store.stored(id)!.cookie.expires) > expiresBefore, 'the stored expiry moved')

    store.resetCalls()
    await request(app).get('/set?user=other').set('Cookie', cookie(first)).expect(200)
    assert.deepEqual([store.calls.set, store.calls.touch], [1, 0], 'modified: saved, not touched')
  })

  it('is not needed: a store without touch works and is not saved on unmodified requests', async () => {
    const store = new CountingStore()
    ;(store as any).touch = undefined
    const { app } = createApp({ store }, (req, res) => {
      if (req.path === '/set') req.session.user = 'tj'
      res.end(String(req.session.user))
    })
    const first = await request(app).get('/set').expect(200, 'tj')
    store.resetCalls()
    await request(app).get('/read').set('Cookie', cookie(first)).expect(200, 'tj')
    assert.equal(store.calls.set, 0)
  })
})
