/**
 * The `storeErrors` option: `'fail'` (the default) passes store failures to `next(err)` as 1.x does;
 * `'continue'` keeps serving: a failed load lets the request go on without `req.session`, a failed save,
 * touch or destroy still ends the response normally. Either way the failure is published on the tracing
 * channel of the store call.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import express from 'express'
import request from 'supertest'
import session from 'express-session'
import { cookie, delay, setCookieFor, shouldNotSetCookie, sid, waitFor } from '../support/http.js'

type Method = 'get' | 'set' | 'patch' | 'touch' | 'destroy'

/** A MemoryStore whose methods in `failing` call back with an error (`failure`, by default `<method> failed`). */
class FailingStore extends session.MemoryStore {
  failing = new Set<Method>()
  failure: ((method: Method) => Error) = (method) => new Error(`${method} failed`)
  calls: Method[] = []

  private fail(method: Method, callback: ((err?: any) => void) | undefined): boolean {
    this.calls.push(method)
    if (!this.failing.has(method)) return false
    const err = this.failure(method)
    setImmediate(() => callback?.(err))
    return true
  }

  override get(sid: string, callback: (err: any, sess?: any) => void): void {
    if (!this.fail('get', callback)) super.get(sid, callback)
  }

  override set(sid: string, sess: object, callback?: (err?: any) => void): void {
    if (!this.fail('set', callback)) super.set(sid, sess, callback)
  }

  override patch(sid: string, changes: session.SessionChanges, callback?: (err?: any, existed?: boolean) => void): void {
    if (!this.fail('patch', callback)) super.patch(sid, changes, callback)
  }

  override touch(sid: string, sess: { cookie: unknown }, callback?: (err?: any) => void): void {
    if (!this.fail('touch', callback)) super.touch(sid, sess, callback)
  }

  override destroy(sid: string, callback?: (err?: any) => void): void {
    if (!this.fail('destroy', callback)) super.destroy(sid, callback)
  }
}

interface Setup {
  app: express.Express
  store: FailingStore
  /** Every error that reached the error handler, also after the response was sent. */
  errors: any[]
}

/**
 * An Express app: `/login` stores a user, `/logout` unsets `req.session` (`unset: 'destroy'`), `/destroy` calls
 * `destroy()`, `/` answers the user, or 'no session'. The error handler answers `500 <message>`.
 */
function createApp(options: session.SessionOptions = {}): Setup {
  const store = new FailingStore()
  const errors: any[] = []
  const app = express()
  app.use(session({ secret: 'keyboard cat', store, resave: false, saveUninitialized: false, unset: 'destroy', ...options }))
  app.get('/login', (req: any, res) => {
    req.session.user = 'tj'
    res.end('logged in')
  })
  app.get('/logout', (req: any, res) => {
    req.session = null
    res.end('logged out')
  })
  app.get('/destroy', (req: any, res) => {
    req.session.destroy((err: any) => res.end(err ? `destroy failed: ${err.message}` : 'destroyed'))
  })
  app.get('/save', (req: any, res) => {
    req.session.user = 'ada'
    req.session.save((err: any) => res.end(err ? `save failed: ${err.message}` : 'saved'))
  })
  app.get('/', (req: any, res) => res.end(req.session ? `user: ${req.session.user ?? 'nobody'}` : 'no session'))
  app.use((err: any, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    errors.push(err)
    if (res.headersSent) return
    res.status(500).end(String(err.message))
  })
  return { app, store, errors }
}

/** Collects what the `error` event of the tracing channels of `methods` publishes, until `stop()`. */
function watchErrors(methods: Method[]) {
  const seen: Array<{ method: string; sessionId: string | undefined; error: Error }> = []
  const handlers = {
    error(message: unknown) {
      const context = message as { method: string; sessionId?: string; error: Error }
      seen.push({ method: context.method, sessionId: context.sessionId, error: context.error })
    },
  }
  const channels = methods.map((method) => diagnostics.tracingChannel(`express-session:store:${method}`))
  for (const channel of channels) channel.subscribe(handlers as any)
  return {
    seen,
    stop: () => {
      for (const channel of channels) channel.unsubscribe(handlers as any)
    },
  }
}

describe('storeErrors', () => {
  describe("'fail' (the default)", () => {
    it('passes a failed load to next(err)', async () => {
      const { app, store, errors } = createApp()
      const login = await request(app).get('/login').expect(200)
      store.failing.add('get')
      await request(app).get('/').set('Cookie', cookie(login)).expect(shouldNotSetCookie()).expect(500, 'get failed')
      assert.equal(errors.length, 1)
    })

    // set: a new session (no cookie) is saved; touch: a read-only request with the cookie; destroy: unset
    for (const [method, path, body] of [['set', '/login', 'logged in'], ['touch', '/', 'user: tj'], ['destroy', '/logout', 'logged out']] as const) {
      it(`ends the response, then passes a failed ${method} to next(err)`, async () => {
        const { app, store, errors } = createApp()
        const login = await request(app).get('/login').expect(200)
        store.failing.add(method)
        await request(app).get(path).set('Cookie', method === 'set' ? '' : cookie(login)).expect(200, body)
        await waitFor(() => errors.length === 1, 1000, 'the error to reach next(err)')
        assert.equal(errors[0].message, `${method} failed`)
      })
    }

    it('never destroys the stored session after a failed load (unset: destroy)', async () => {
      const { app, store } = createApp()
      const login = await request(app).get('/login').expect(200)
      store.failing.add('get')
      store.calls = []
      await request(app).get('/').set('Cookie', cookie(login)).expect(500)
      await delay(20)
      assert.deepEqual(store.calls, ['get'], 'no save, touch or destroy of a session that was never loaded')
      store.failing.clear()
      await request(app).get('/').set('Cookie', cookie(login)).expect(200, 'user: tj')
    })

    it("still treats code 'ENOENT' as not found: a new session", async () => {
      const { app, store, errors } = createApp({ saveUninitialized: true })
      const login = await request(app).get('/login').expect(200)
      store.failing.add('get')
      store.failure = () => Object.assign(new Error('no such session'), { code: 'ENOENT' })
      const res = await request(app).get('/').set('Cookie', cookie(login)).expect(200, 'user: nobody')
      assert.notEqual(sid(res), sid(login))
      assert.deepEqual(errors, [])
    })
  })

  describe("'continue'", () => {
    it('lets a request whose load failed go on without req.session: 200, no cookie', async () => {
      const { app, store, errors } = createApp({ storeErrors: 'continue' })
      const login = await request(app).get('/login').expect(200)
      store.failing.add('get')
      store.calls = []
      await request(app).get('/').set('Cookie', cookie(login)).expect(shouldNotSetCookie()).expect(200, 'no session')
      await delay(20)
      assert.deepEqual(errors, [])
      assert.deepEqual(store.calls, ['get'], 'nothing saved, touched or destroyed')

      store.failing.clear()
      await request(app).get('/').set('Cookie', cookie(login)).expect(200, 'user: tj')
    })

    it('keeps serving requests without a cookie as usual', async () => {
      const { app, store } = createApp({ storeErrors: 'continue' })
      store.failing.add('get')
      const res = await request(app).get('/login').expect(200, 'logged in')
      assert.ok(setCookieFor(res), 'get is not called without a cookie: a new session as usual')
    })

    // set: a new session (no cookie) is saved; touch: a read-only request with the cookie; destroy: unset
    for (const [method, path, body] of [['set', '/login', 'logged in'], ['touch', '/', 'user: tj'], ['destroy', '/logout', 'logged out']] as const) {
      it(`ends the response normally when ${method} fails: 200 with the body, no next(err)`, async () => {
        const { app, store, errors } = createApp({ storeErrors: 'continue' })
        const login = await request(app).get('/login').expect(200)
        store.failing.add(method)
        store.calls = []
        await request(app).get(path).set('Cookie', method === 'set' ? '' : cookie(login)).expect(200, body)
        await delay(20)
        assert.ok(store.calls.includes(method), `store.${method}() was called`)
        assert.deepEqual(errors, [])
      })
    }

    it('still gives an explicit save() or destroy() callback its error: the application asked', async () => {
      const { app, store } = createApp({ storeErrors: 'continue' })
      const login = await request(app).get('/login').expect(200)
      store.failing.add('patch')
      store.failing.add('destroy')
      await request(app).get('/save').set('Cookie', cookie(login)).expect(200, 'save failed: patch failed')
      await request(app).get('/destroy').set('Cookie', cookie(login)).expect(200, 'destroy failed: destroy failed')
    })

    it('publishes each failure on the error event of its tracing channel', async () => {
      const { app, store, errors } = createApp({ storeErrors: 'continue' })
      const watch = watchErrors(['get', 'set', 'touch', 'destroy'])
      try {
        const login = await request(app).get('/login').expect(200)
        const id = sid(login)
        store.failing = new Set(['get'])
        await request(app).get('/').set('Cookie', cookie(login)).expect(200, 'no session')
        store.failing = new Set(['touch'])
        await request(app).get('/').set('Cookie', cookie(login)).expect(200, 'user: tj')
        store.failing = new Set(['destroy'])
        await request(app).get('/logout').set('Cookie', cookie(login)).expect(200, 'logged out')
        store.failing = new Set(['set'])
        const second = await request(app).get('/login').expect(200)
        await delay(20)

        assert.deepEqual(errors, [])
        assert.deepEqual(
          watch.seen.map(({ method, sessionId, error }) => [method, sessionId, error.message]),
          [
            ['get', id, 'get failed'],
            ['touch', id, 'touch failed'],
            ['destroy', id, 'destroy failed'],
            ['set', sid(second), 'set failed'],
          ],
        )
        assert.ok(watch.seen.every(({ error }) => error instanceof Error))
      } finally {
        watch.stop()
      }
    })
  })

  describe('invalid values', () => {
    for (const value of ['ignore', 'Fail', '', true, 1]) {
      it(`throws a TypeError for ${JSON.stringify(value)}`, () => {
        assert.throws(() => session({ secret: 'x', resave: false, saveUninitialized: false, storeErrors: value as 'fail' }), {
          name: 'TypeError',
          message: /^storeErrors option must be "fail", "continue" or "strict" \(got /,
        })
      })
    }

    it("accepts 'fail', 'continue' and undefined", () => {
      for (const storeErrors of ['fail', 'continue', undefined] as const) {
        session({ secret: 'x', resave: false, saveUninitialized: false, storeErrors, store: new session.MemoryStore({ checkPeriod: 0 }) })
      }
    })
  })
})
