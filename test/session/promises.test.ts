/**
 * Promises from the Session methods: `save()`, `reload()`, `regenerate()` and `destroy()` without a callback
 * return a Promise that settles when the store has answered; with a callback they return the session, as in
 * 1.x; a rejection nobody awaits never becomes an unhandled rejection.
 */
import { describe, it, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import express from 'express'
import request from 'supertest'
import session from 'express-session'
import { cookie, delay, shouldNotSetCookie, shouldSetCookie, sid } from '../support/http.js'

declare module 'express-session' {
  interface SessionData {
    views: number
    user: string
  }
}

type Route = (req: express.Request, res: express.Response) => Promise<void> | void

/** An Express 4 app: the session middleware, then `routes` by path (async handlers; errors answer 500 + message). */
function createApp(store: session.Store, routes: Record<string, Route>, options: Partial<session.SessionOptions> = {}) {
  const app = express()
  app.use(session({ store, secret: 'keyboard cat', resave: false, saveUninitialized: false, ...options }))
  app.use((req, res, next) => {
    const route = routes[req.path]
    if (!route) {
      res.end('views: ' + String(req.session?.views) + ', user: ' + String(req.session?.user))
      return
    }
    Promise.resolve().then(() => route(req, res)).catch(next)
  })
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).end('error: ' + err.message)
  })
  return app
}

/**
 * A MemoryStore whose calls answer after `latency` ms, logging when each answers; `failing` makes the named
 * methods call back with an error.
 */
class SlowStore extends session.MemoryStore {
  log: string[] = []
  failing = new Set<string>()

  constructor(readonly latency = 15) {
    super()
  }

  private answer(method: string, sid: string, run: (cb: (err?: any, value?: any) => void) => void, callback?: (err?: any, value?: any) => void): void {
    setTimeout(() => {
      if (this.failing.has(method)) {
        this.log.push(`${method} failed`)
        callback?.(new Error(`${method} failed in the store`))
        return
      }
      run((err, value) => {
        this.log.push(`${method} ${sid} answered`)
        callback?.(err, value)
      })
    }, this.latency)
  }

  override get(sid: string, callback: (err: any, sess?: any) => void): void {
    this.answer('get', sid, (cb) => super.get(sid, cb), callback)
  }

  override set(sid: string, sess: object, callback?: (err?: any) => void): void {
    this.answer('set', sid, (cb) => super.set(sid, sess, cb), callback)
  }

  override destroy(sid: string, callback?: (err?: any) => void): void {
    this.answer('destroy', sid, (cb) => super.destroy(sid, cb), callback)
  }

  /** The stored data of `sid`, or undefined. */
  stored(sid: string): Record<string, any> | undefined {
    const json = this.sessions[sid]
    return json === undefined ? undefined : JSON.parse(json)
  }
}

/** A first request that stores `{ views: 1, user: 'tj' }` and returns the response (its cookie identifies it). */
async function login(app: express.Express) {
  return request(app).get('/login').expect(shouldSetCookie()).expect(200)
}

const loginRoute: Route = (req, res) => {
  req.session.views = 1
  req.session.user = 'tj'
  res.end('logged in')
}

describe('Session methods without a callback return a Promise', () => {
  describe('save()', () => {
    it('settles once the store has saved, so a redirect that follows sees the data', async () => {
      const store = new SlowStore()
      let storedWhenSettled: unknown
      const app = createApp(store, {
        '/login': async (req, res) => {
          req.session.user = 'tj'
          req.session.views = 1
          const result = await req.session.save()
          store.log.push('save() settled')
          storedWhenSettled = store.stored(req.sessionID)?.user
          assert.equal(result, undefined)
          res.redirect('/')
        },
      })
      const res = await request(app).get('/login').expect(shouldSetCookie()).expect(302)
      assert.equal(storedWhenSettled, 'tj', 'the store held the data when the promise settled')
      const id = sid(res)
      assert.deepEqual(store.log.slice(0, 2), [`set ${id} answered`, 'save() settled'])
      assert.equal(store.log.filter((line) => line.startsWith('set ')).length, 1, 'not saved again at the end')

      await request(app).get(res.headers.location!).set('Cookie', cookie(res)).expect(200, 'views: 1, user: tj')
    })

    it('rejects with the store error', async () => {
      const store = new SlowStore(1)
      store.failing.add('set')
      const app = createApp(store, {
        '/save': async (req, res) => {
          req.session.user = 'tj'
          try {
            await req.session.save()
            res.end('saved')
          } catch (err) {
            res.end('rejected: ' + (err as Error).message)
          }
        },
      }, { storeErrors: 'continue' })
      await request(app).get('/save').expect(200, 'rejected: set failed in the store')
    })
  })

  describe('reload()', () => {
    it('settles with req.session replaced by what the store holds now', async () => {
      const store = new SlowStore()
      const app = createApp(store, {
        '/login': loginRoute,
        '/reload': async (req, res) => {
          const json = store.sessions[req.sessionID]!
          store.sessions[req.sessionID] = JSON.stringify({ ...JSON.parse(json), user: 'changed elsewhere' })
          await req.session.reload()
          res.end('user: ' + req.session.user)
        },
      })
      const first = await login(app)
      await request(app).get('/reload').set('Cookie', cookie(first)).expect(200, 'user: changed elsewhere')
    })

    it("rejects with 'failed to load session' when the store no longer has it", async () => {
      const store = new SlowStore(1)
      const app = createApp(store, {
        '/login': loginRoute,
        '/reload': async (req, res) => {
          delete store.sessions[req.sessionID]
          await req.session.reload()
          res.end('reloaded')
        },
      })
      const first = await login(app)
      await request(app).get('/reload').set('Cookie', cookie(first)).expect(500, 'error: failed to load session')
    })
  })

  describe('regenerate()', () => {
    it('settles with a new, empty session and the old one destroyed in the store', async () => {
      const store = new SlowStore()
      const app = createApp(store, {
        '/login': loginRoute,
        '/regenerate': async (req, res) => {
          const before = req.sessionID
          await req.session.regenerate()
          assert.equal(store.stored(before), undefined, 'old session destroyed when the promise settled')
          req.session.views = 99
          res.end(`${before} -> ${req.sessionID}, user: ${String(req.session.user)}`)
        },
      })
      const first = await login(app)
      const res = await request(app).get('/regenerate').set('Cookie', cookie(first)).expect(shouldSetCookie()).expect(200)
      const oldId = sid(first)
      const newId = sid(res)
      assert.notEqual(newId, oldId)
      assert.equal(res.text, `${oldId} -> ${newId}, user: undefined`)
      assert.equal(store.stored(oldId), undefined)
      assert.equal(store.stored(newId)?.views, 99)
    })
  })

  describe('destroy()', () => {
    it('settles once the store has destroyed the session; req.session is unset', async () => {
      const store = new SlowStore()
      const app = createApp(store, {
        '/login': loginRoute,
        '/logout': async (req, res) => {
          const id = req.sessionID
          await req.session.destroy()
          store.log.push('destroy() settled')
          res.end(`stored: ${String(store.stored(id))}, session: ${String(req.session)}`)
        },
      })
      const first = await login(app)
      await request(app).get('/logout').set('Cookie', cookie(first)).expect(shouldNotSetCookie()).expect(200, 'stored: undefined, session: undefined')
      assert.deepEqual(store.log.slice(-2), [`destroy ${sid(first)} answered`, 'destroy() settled'])
      await request(app).get('/').set('Cookie', cookie(first)).expect(200, 'views: undefined, user: undefined')
    })

    it('rejects with the store error', async () => {
      const store = new SlowStore(1)
      const app = createApp(store, {
        '/login': loginRoute,
        '/logout': async (req, res) => {
          store.failing.add('destroy')
          await req.session.destroy()
          res.end('destroyed')
        },
      })
      const first = await login(app)
      await request(app).get('/logout').set('Cookie', cookie(first)).expect(500, 'error: destroy failed in the store')
    })
  })
})

describe('Session methods with a callback behave as in 1.x', () => {
  it('return the session (for chaining) and call the callback once when the store answered', async () => {
    const store = new SlowStore()
    const seen: string[] = []
    const app = createApp(store, {
      '/login': loginRoute,
      '/all': (req, res) => {
        const sess = req.session
        const saved = sess.save((err) => {
          seen.push('save ' + (err ? 'failed' : 'ok'))
          assert.equal(sess.reload((err2) => {
            seen.push('reload ' + (err2 ? 'failed' : 'ok'))
            const current = req.session
            assert.equal(current.regenerate((err3) => {
              seen.push('regenerate ' + (err3 ? 'failed' : 'ok'))
              const fresh = req.session
              assert.equal(fresh.destroy((err4) => {
                seen.push('destroy ' + (err4 ? 'failed' : 'ok'))
                setTimeout(() => res.end(seen.join(', ')), 20)
              }), fresh)
            }), current)
          }), sess)
        })
        assert.equal(saved, sess)
        assert.ok(!(saved instanceof Promise))
      },
    })
    const first = await login(app)
    await request(app).get('/all').set('Cookie', cookie(first))
      .expect(200, 'save ok, reload ok, regenerate ok, destroy ok')
  })

  it('pass store errors to the callback, not to a promise', async () => {
    const store = new SlowStore(1)
    store.failing.add('set')
    const app = createApp(store, {
      '/save': (req, res) => {
        req.session.user = 'tj'
        req.session.save((err) => res.end('callback: ' + (err as Error).message))
      },
    }, { storeErrors: 'continue' })
    await request(app).get('/save').expect(200, 'callback: set failed in the store')
  })
})

describe('a rejected promise nobody awaits', () => {
  const unhandled: unknown[] = []
  const listener = (reason: unknown): void => {
    unhandled.push(reason)
  }
  afterEach(() => {
    process.removeListener('unhandledRejection', listener)
  })

  it('never triggers unhandledRejection (save, reload, regenerate, destroy)', async () => {
    process.on('unhandledRejection', listener)
    const store = new SlowStore(1)
    const app = createApp(store, {
      '/login': loginRoute,
      '/ignore': (req, res) => {
        store.failing.add('set')
        store.failing.add('destroy')
        store.failing.add('get')
        // none of these is awaited, and all of them fail
        void req.session.save()
        void req.session.reload()
        void req.session.regenerate()
        void req.session.destroy()
        setTimeout(() => res.end('ignored'), 20)
      },
    }, { storeErrors: 'continue' })
    const first = await login(app)
    await request(app).get('/ignore').set('Cookie', cookie(first)).expect(200, 'ignored')
    assert.ok(store.log.includes('set failed') && store.log.includes('get failed') && store.log.includes('destroy failed'),
      'the store calls failed: ' + store.log.join(', '))
    // unhandled rejections are reported after the microtask queue drains; give them a few turns
    await delay(20)
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(unhandled, [])
  })
})
