/**
 * The core behaviours on every framework the middleware is mounted on: Express 5, Connect and plain
 * node:http (Express 4 is covered by the other files).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import request from 'supertest'
import connect from 'connect'
import express5 from 'express5'
import session from 'express-session'
import {
  CountingStore,
  cookie,
  shouldNotSetCookie,
  shouldSetCookieWithAttribute,
  sid,
} from '../support/http.js'

/** The application, written against node's req/res only. */
function handler(req: any, res: http.ServerResponse, next: (err?: unknown) => void): void {
  const path = new URL(req.originalUrl ?? req.url, 'http://localhost').pathname
  switch (path) {
    case '/set':
      req.session.value = 'stored value'
      res.end('set')
      return
    case '/get':
      res.end(String(req.session.value))
      return
    case '/regenerate':
      req.session.regenerate((err: unknown) => (err ? next(err) : res.end(req.sessionID)))
      return
    case '/destroy':
      req.session.destroy((err: unknown) => (err ? next(err) : res.end(req.session === undefined ? 'destroyed' : 'still there')))
      return
    default:
      res.end('ok')
  }
}

const sessionOptions = (store: CountingStore): session.SessionOptions => ({
  store,
  secret: 'keyboard cat',
  resave: false,
  saveUninitialized: false,
})

const frameworks: Record<string, (store: CountingStore) => http.Server | ((req: any, res: any) => void)> = {
  'Express 5': (store) => {
    const app = express5()
    app.use(session(sessionOptions(store)))
    app.use(handler)
    app.use((err: any, _req: any, res: any, _next: any) => {
      res.status(500).end('error: ' + err.message)
    })
    return app
  },
  Connect: (store) => {
    const app = connect()
    app.use(session(sessionOptions(store)) as any)
    app.use(handler as any)
    app.use(((err: any, _req: any, res: any, _next: any) => {
      res.statusCode = 500
      res.end('error: ' + err.message)
    }) as any)
    return http.createServer(app)
  },
  'node:http': (store) => {
    const middleware = session(sessionOptions(store))
    return http.createServer((req, res) => {
      middleware(req, res, (err?: any) => {
        if (err) {
          res.statusCode = 500
          res.end('error: ' + err.message)
          return
        }
        handler(req, res, (handlerErr?: any) => {
          res.statusCode = 500
          res.end('error: ' + handlerErr.message)
        })
      })
    })
  },
}

for (const [name, create] of Object.entries(frameworks)) {
  describe(name, () => {
    it('creates a new session and sends its cookie', async () => {
      const store = new CountingStore()
      const app = create(store)
      const res = await request(app).get('/set')
        .expect(shouldSetCookieWithAttribute('connect.sid', 'Path', '/'))
        .expect(shouldSetCookieWithAttribute('connect.sid', 'HttpOnly'))
        .expect(200, 'set')
      assert.equal(store.stored(sid(res))?.value, 'stored value')
    })

    it('does not send a cookie for a new, unmodified session (saveUninitialized: false)', async () => {
      const store = new CountingStore()
      await request(create(store)).get('/').expect(shouldNotSetCookie()).expect(200, 'ok')
      assert.equal(store.calls.set, 0)
    })

    it('persists a value across requests', async () => {
      const store = new CountingStore()
      const app = create(store)
      const first = await request(app).get('/set').expect(200)
      await request(app).get('/get').set('Cookie', cookie(first)).expect(200, 'stored value')
      await request(app).get('/get').expect(200, 'undefined')
    })

    it('does not save or re-send the cookie of an unmodified session', async () => {
      const store = new CountingStore()
      const app = create(store)
      const first = await request(app).get('/set').expect(200)
      store.resetCalls()
      await request(app).get('/get').set('Cookie', cookie(first)).expect(shouldNotSetCookie()).expect(200, 'stored value')
      assert.equal(store.calls.set, 0)
      assert.equal(store.calls.touch, 1)
    })

    it('regenerates the session under a new ID', async () => {
      const store = new CountingStore()
      const app = create(store)
      const first = await request(app).get('/set').expect(200)
      const res = await request(app).get('/regenerate').set('Cookie', cookie(first)).expect(200)
      assert.notEqual(res.text, sid(first))
      assert.equal(sid(res), res.text)
      assert.equal(store.stored(sid(first)), undefined)
      await request(app).get('/get').set('Cookie', cookie(res)).expect(200, 'undefined')
    })

    it('destroys the session', async () => {
      const store = new CountingStore()
      const app = create(store)
      const first = await request(app).get('/set').expect(200)
      await request(app).get('/destroy').set('Cookie', cookie(first)).expect(shouldNotSetCookie()).expect(200, 'destroyed')
      assert.equal(store.stored(sid(first)), undefined)
      await request(app).get('/get').set('Cookie', cookie(first)).expect(200, 'undefined')
    })

    it('passes a store error to the error handling', async () => {
      const store = new CountingStore()
      store.get = (_sid: string, callback: (err: any) => void) => setImmediate(callback, new Error('store down'))
      const app = create(store)
      const first = await request(create(new CountingStore())).get('/set').expect(200)
      const res = await request(app).get('/get').set('Cookie', cookie(first)).expect(500)
      assert.match(res.text, /store down/)
    })
  })
}

