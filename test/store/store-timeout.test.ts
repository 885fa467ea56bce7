/**
 * The `storeTimeout` option: a store call that has not answered in time fails with an error whose `code` is
 * `'ESTORETIMEOUT'`. The request never hangs on a silent store, and a late answer is ignored safely.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import express from 'express'
import request from 'supertest'
import session from 'express-session'
import { cookie, delay, shouldSetCookie, sid, signedCookie, waitFor } from '../support/http.js'

type Method = 'get' | 'set' | 'patch' | 'touch' | 'destroy'
type Callback = (err?: any, value?: any) => void

/** A MemoryStore whose methods in `silent` never answer; their callbacks are kept in `pending` to answer late. */
class SilentStore extends session.MemoryStore {
  silent = new Set<Method>()
  pending: Array<{ method: Method; callback: Callback }> = []

  private hold(method: Method, callback: Callback | undefined): boolean {
    if (!this.silent.has(method)) return false
    this.pending.push({ method, callback: callback ?? (() => undefined) })
    return true
  }

  override get(sid: string, callback: Callback): void {
    if (!this.hold('get', callback)) super.get(sid, callback)
  }

  override set(sid: string, sess: object, callback?: Callback): void {
    if (!this.hold('set', callback)) super.set(sid, sess, callback)
  }

  override patch(sid: string, changes: session.SessionChanges, callback?: Callback): void {
    if (!this.hold('patch', callback)) super.patch(sid, changes, callback)
  }

  override touch(sid: string, sess: { cookie: unknown }, callback?: Callback): void {
    if (!this.hold('touch', callback)) super.touch(sid, sess, callback)
  }

  override destroy(sid: string, callback?: Callback): void {
    if (!this.hold('destroy', callback)) super.destroy(sid, callback)
  }

  /** Answers every held call now (late): with success, then again with an error. */
  answerLate(): void {
    for (const { callback } of this.pending.splice(0)) {
      callback(null, { cookie: { expires: null, originalMaxAge: null } })
      callback(new Error('late failure'))
    }
  }
}

interface Setup {
  store: SilentStore
  /** Every error that reached the error handler, with the time it arrived. */
  errors: Array<{ err: any; at: number }>
  /** How many times the response's `end` (as patched by a middleware before the session) was called, by URL. */
  ends: Map<string, number>
  app: express.Express
}

/**
 * An Express app with a {@link SilentStore}: `/login` stores a user, `/logout` unsets `req.session` (with
 * `unset: 'destroy'`), `/` answers the user. A middleware before the session one counts calls to `res.end`.
 */
function createApp(options: session.SessionOptions = {}): Setup {
  const store = new SilentStore()
  const errors: Setup['errors'] = []
  const ends = new Map<string, number>()
  const app = express()
  app.use((req, res, next) => {
    const end = res.end
    res.end = function (this: express.Response, ...args: any[]) {
      ends.set(req.url, (ends.get(req.url) ?? 0) + 1)
      return (end as any).apply(this, args)
    } as any
    next()
  })
  app.use(session({ secret: 'keyboard cat', store, resave: false, saveUninitialized: false, unset: 'destroy', storeTimeout: 100, ...options }))
  app.get('/login', (req: any, res) => {
    req.session.user = 'tj'
    res.end('logged in')
  })
  app.get('/logout', (req: any, res) => {
    req.session = null
    res.end('logged out')
  })
  app.get('/', (req: any, res) => res.end(req.session ? `user: ${req.session.user ?? 'nobody'}` : 'no session'))
  app.use((err: any, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    errors.push({ err, at: Date.now() })
    if (res.headersSent) return
    res.status(500).end(`${err.code}: ${err.message}`)
  })
  return { store, errors, ends, app }
}

function assertTimeoutError(err: any, method: Method): void {
  assert.ok(err instanceof Error, `an Error: ${err}`)
  assert.equal((err as Error & { code?: unknown }).code, 'ESTORETIMEOUT')
  assert.match(err.message, new RegExp(`store\\.${method}\\(\\) did not answer within 100 ms`))
}

describe('storeTimeout', () => {
  describe('when loading the session', () => {
    it('passes ESTORETIMEOUT to next(err) within the timeout: a 500, no hang', async () => {
      const { app, store, errors } = createApp()
      const login = await request(app).get('/login').expect(200)
      store.silent.add('get')
      const started = Date.now()
      const res = await request(app).get('/').set('Cookie', cookie(login)).timeout(2000).expect(500)
      const elapsed = Date.now() - started
      assert.match(res.text, /^ESTORETIMEOUT: store\.get\(\) did not answer within 100 ms/)
      assert.ok(elapsed >= 95 && elapsed < 1000, `answered after ${elapsed} ms`)
      assert.equal(errors.length, 1)
      assertTimeoutError(errors[0]!.err, 'get')
    })

    it("lets the request go on without a session with storeErrors: 'continue'", async () => {
      const { app, store, errors } = createApp({ storeErrors: 'continue' })
      const login = await request(app).get('/login').expect(200)
      store.silent.add('get')
      await request(app).get('/').set('Cookie', cookie(login)).timeout(2000).expect(200, 'no session')
      assert.deepEqual(errors, [])
    })

    it('ignores the late answer: no second response, no crash, the next requests work', async () => {
      const { app, store, errors, ends } = createApp()
      const login = await request(app).get('/login').expect(200)
      store.silent.add('get')
      await request(app).get('/').set('Cookie', cookie(login)).expect(500)
      assert.equal(store.pending.length, 1)

      store.silent.clear()
      store.answerLate()
      await delay(20)
      assert.equal(errors.length, 1, 'the late answers reached nobody')
      assert.equal(ends.get('/'), 1, 'the response was ended once')
      await request(app).get('/').set('Cookie', cookie(login)).expect(200, 'user: tj')
    })
  })

  describe('at the end of the response', () => {
    const cases: Array<[Method, string, (setup: Setup, login: request.Response) => request.Test, string]> = [
      ['set', 'a save', ({ app }) => request(app).get('/login'), 'logged in'],
      ['touch', 'a touch', ({ app }, login) => request(app).get('/').set('Cookie', cookie(login)), 'user: tj'],
      ['destroy', 'a destroy (unset: destroy)', ({ app }, login) => request(app).get('/logout').set('Cookie', cookie(login)), 'logged out'],
    ]
    for (const [method, title, send, body] of cases) {
      it(`ends the response after the timeout of ${title}, then passes ESTORETIMEOUT to next(err)`, async () => {
        const setup = createApp()
        const login = await request(setup.app).get('/login').expect(200)
        setup.store.silent.add(method)
        const started = Date.now()
        await send(setup, login).timeout(2000).expect(200, body)
        const elapsed = Date.now() - started
        assert.ok(elapsed >= 95 && elapsed < 1000, `answered after ${elapsed} ms`)
        assert.equal(setup.store.pending.length, 1, `store.${method}() was called`)

        await waitFor(() => setup.errors.length === 1, 1000, 'the error to reach next(err)')
        assertTimeoutError(setup.errors[0]!.err, method)

        setup.store.answerLate()
        await delay(20)
        assert.equal(setup.errors.length, 1, 'the late answers reached nobody')
        assert.equal([...setup.ends.values()].reduce((a, b) => a + b), 2, 'each response was ended once')
      })

      it(`ends the response normally after the timeout of ${title} with storeErrors: 'continue'`, async () => {
        const setup = createApp({ storeErrors: 'continue' })
        const login = await request(setup.app).get('/login').expect(200)
        setup.store.silent.add(method)
        await send(setup, login).timeout(2000).expect(200, body)
        await delay(20)
        assert.deepEqual(setup.errors, [])
      })
    }

    it('sends the cookie of a new session whose save timed out; the next request starts over', async () => {
      const { app, store } = createApp({ storeErrors: 'continue' })
      store.silent.add('set')
      const login = await request(app).get('/login').expect(shouldSetCookie()).expect(200, 'logged in')
      store.silent.clear()
      store.answerLate()
      await request(app).get('/').set('Cookie', cookie(login)).expect(200, 'user: nobody')
      assert.equal(store.sessions[sid(login)], undefined, 'the late answer stored nothing')
    })
  })

  describe('Session methods', () => {
    /** An app whose route calls `req.session[method]` with the store silent for `silent`, answering the outcome. */
    function methodApp(method: 'save' | 'reload' | 'destroy' | 'regenerate', silent: Method, promise: boolean) {
      const setup = createApp()
      // a store without patch writes the whole session
      if (silent === 'set') (setup.store as { patch?: unknown }).patch = undefined
      setup.app.get('/call', (req: any, res) => {
        setup.store.silent.add(silent)
        const started = Date.now()
        const report = (err: any) => res.end(`${err?.code ?? 'ok'} after ${Date.now() - started} ms`)
        if (promise) req.session[method]().then(() => report(undefined), report)
        else req.session[method](report)
      })
      return setup
    }

    const cases: Array<['save' | 'reload' | 'destroy' | 'regenerate', Method]> = [
      ['save', 'set'],
      ['save', 'patch'],
      ['reload', 'get'],
      ['destroy', 'destroy'],
      ['regenerate', 'destroy'],
    ]
    for (const [method, silent] of cases) {
      for (const promise of [false, true]) {
        it(`${method}() ${promise ? 'rejects' : 'calls back'} with ESTORETIMEOUT when store.${silent}() is silent`, async () => {
          const setup = methodApp(method, silent, promise)
          const login = await request(setup.app).get('/login').expect(200)
          const res = await request(setup.app).get('/call').set('Cookie', cookie(login)).timeout(3000).expect(200)
          const match = /^ESTORETIMEOUT after (\d+) ms$/.exec(res.text)
          assert.ok(match, res.text)
          assert.ok(Number(match[1]) >= 95 && Number(match[1]) < 1000, res.text)
          setup.store.answerLate()
          await delay(20)
        })
      }
    }
  })

  describe('a promise-returning store', () => {
    it('times out a promise that never settles', async () => {
      const store = new session.Store() as session.Store & Record<string, unknown>
      store.get = () => new Promise(() => undefined)
      store.set = () => Promise.resolve()
      store.destroy = () => Promise.resolve()
      const app = express()
      app.use(session({ secret: 'keyboard cat', store, resave: false, saveUninitialized: false, storeTimeout: 50 }))
      app.use((_req, res) => res.end('ok'))
      app.use((err: any, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        res.status(500).end(String(err.code))
      })
      await request(app).get('/').set('Cookie', signedCookie('some-id')).timeout(2000).expect(500, 'ESTORETIMEOUT')
    })
  })

  describe('off (the default)', () => {
    it('waits for a slow store however long it takes', async () => {
      const store = new SilentStore()
      const app = express()
      app.use(session({ secret: 'keyboard cat', store, resave: false, saveUninitialized: false }))
      app.use((req: any, res) => {
        req.session.user = 'tj'
        res.end('ok')
      })
      store.silent.add('set')
      const pending = request(app).get('/').timeout(3000).expect(200, 'ok').then((res) => res)
      await delay(250)
      assert.equal(store.pending.length, 1, 'the save is waiting')
      store.silent.clear()
      // answer the save once, successfully
      store.pending.splice(0)[0]!.callback()
      await pending
    })
  })

  describe('invalid values', () => {
    for (const value of [-1, NaN, Infinity, 2 ** 31, '100']) {
      it(`throws a TypeError for ${typeof value === 'string' ? `'${value}'` : String(value)}`, () => {
        assert.throws(() => session({ secret: 'x', resave: false, saveUninitialized: false, storeTimeout: value as number }), {
          name: 'TypeError',
          message: /^storeTimeout option must be a number of milliseconds from 1 to 2147483647, or 0 for none/,
        })
      })
    }
  })
})
