/**
 * `storeErrors: 'strict'`: a save that fails at the end of the response gives the error handler's response
 * instead of the route's 200 with a cookie for a session the store does not hold.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import request from 'supertest'
import session from 'express-session'
import { createExpressApp, setCookies } from '../support/http.js'

/** A MemoryStore whose `set` fails (after 10 ms) while `failing` is true. */
class FailingStore extends session.MemoryStore {
  failing = true
  override set(sid: string, sess: session.SessionData, callback?: (err?: unknown) => void): void {
    setTimeout(() => {
      if (this.failing) callback?.(new Error('store is down'))
      else super.set(sid, sess, callback)
    }, 10)
  }
}

const options = { resave: false, saveUninitialized: false } as const

describe("storeErrors: 'strict'", () => {
  it("a failed save gives the error handler's response, without the session cookie", async () => {
    const errors: unknown[] = []
    const store = new FailingStore()
    const app = createExpressApp({ ...options, store, storeErrors: 'strict' }, (req, res) => {
      req.session.user = 'tj'
      res.setHeader('X-Route', 'yes')
      res.send('logged in')
    }, { errors })
    const res = await request(app).get('/').expect(500, 'store is down')
    assert.deepEqual(setCookies(res), [])
    // the route's own headers stay, as for any error after setHeader; those describing its body go
    assert.equal(res.headers['x-route'], 'yes')
    assert.equal(res.headers['content-type'], undefined)
    assert.equal(res.headers['etag'], undefined)
    assert.deepEqual(errors.map((err) => (err as Error).message), ['store is down'])
  })

  it("under 'fail' (the default, as 1.x) the route's response and cookie go out and the error follows", async () => {
    const errors: unknown[] = []
    const app = createExpressApp({ ...options, store: new FailingStore() }, (req, res) => {
      req.session.user = 'tj'
      res.send('logged in')
    }, { errors })
    const res = await request(app).get('/').expect(200, 'logged in')
    assert.equal(setCookies(res).length, 1)
    await new Promise((resolve) => setTimeout(resolve, 20))
    assert.deepEqual(errors.map((err) => (err as Error).message), ['store is down'])
  })

  it("a save that succeeds sends the route's response as node frames it", async () => {
    const store = new FailingStore()
    store.failing = false
    const app = createExpressApp({ ...options, store, storeErrors: 'strict' }, (req, res) => {
      req.session.user = 'tj'
      res.end('hello')
    })
    const res = await request(app).get('/').expect(200, 'hello')
    assert.equal(setCookies(res).length, 1)
    assert.equal(res.headers['content-length'], '5')
  })

  it('a header set after end() throws as on a bare server, and the response completes', async () => {
    const store = new FailingStore()
    store.failing = false
    const thrown: unknown[] = []
    const app = createExpressApp({ ...options, saveUninitialized: true, store, storeErrors: 'strict' }, (_req, res) => {
      res.end()
      try {
        res.setHeader('Content-Length', '3')
      } catch (err) {
        thrown.push((err as NodeJS.ErrnoException).code)
      }
      res.end('foo')
    })
    const res = await request(app).get('/').timeout(3000).expect(200, '')
    assert.equal(res.headers['content-length'], '0')
    assert.deepEqual(thrown, ['ERR_HTTP_HEADERS_SENT'])
  })

  it('a response already streaming when the save fails goes out, and the error follows (as under fail)', async () => {
    const errors: unknown[] = []
    const app = createExpressApp({ ...options, store: new FailingStore(), storeErrors: 'strict' }, (req, res) => {
      req.session.user = 'tj'
      res.write('part ')
      res.end('two')
    }, { errors })
    await request(app).get('/').expect(200, 'part two')
    await new Promise((resolve) => setTimeout(resolve, 20))
    assert.deepEqual(errors.map((err) => (err as Error).message), ['store is down'])
  })

  it('a save past storeTimeout gives the error response too', async () => {
    const store = new session.MemoryStore()
    store.set = () => undefined
    const app = createExpressApp({ ...options, store, storeErrors: 'strict', storeTimeout: 50 }, (req, res) => {
      req.session.user = 'tj'
      res.send('logged in')
    })
    const res = await request(app).get('/').expect(500)
    assert.match(res.text, /storeTimeout/)
    assert.deepEqual(setCookies(res), [])
  })
})
