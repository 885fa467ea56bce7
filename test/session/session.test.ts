/**
 * req.session and its methods, driven over HTTP through Express 4.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import express from 'express'
import request from 'supertest'
import session from 'express-session'
import {
  CountingStore,
  cookie,
  delay,
  expires,
  setCookieFor,
  shouldNotSetCookie,
  shouldSetCookie,
  signedCookie,
  sid,
} from '../support/http.js'

type Handler = (req: any, res: express.Response, next: express.NextFunction) => void

/** An Express 4 app: the session middleware (resave/saveUninitialized false unless given), then `handler`. */
function createApp(options: session.SessionOptions, handler: Handler): express.Express {
  const app = express()
  app.use(session({ secret: 'keyboard cat', resave: false, saveUninitialized: false, ...options }))
  app.use(handler)
  app.use((err: any, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(err.status || 500).send('error: ' + err.message)
  })
  return app
}

/** A store that keeps structured clones (Dates stay Dates), as non-JSON stores do. */
class CloneStore extends session.Store {
  map = new Map<string, any>()
  sets = 0

  override get(sid: string, callback: (err: any, sess?: any) => void): void {
    const value = this.map.get(sid)
    setImmediate(callback, null, value === undefined ? undefined : structuredClone(value))
  }

  override set(sid: string, sess: any, callback?: (err?: any) => void): void {
    this.sets++
    this.map.set(sid, structuredClone({ ...sess, cookie: sess.cookie.toJSON() }))
    if (callback) setImmediate(callback)
  }

  override destroy(sid: string, callback?: (err?: any) => void): void {
    this.map.delete(sid)
    if (callback) setImmediate(callback)
  }
}

describe('req.session.regenerate()', () => {
  it('gives a new ID and cookie, and removes the old session from the store', async () => {
    const store = new CountingStore()
    const app = createApp({ store }, (req, res, next) => {
      if (req.path === '/login') {
        req.session.user = 'tj'
        res.end('ok')
        return
      }
      const oldId = req.sessionID
      req.session.regenerate((err: any) => {
        if (err) return next(err)
        req.session.fresh = true
        res.json({ oldId, newId: req.sessionID, sessionId: req.session.id, user: req.session.user ?? null })
      })
    })

    const first = await request(app).get('/login').expect(200)
    const oldSid = sid(first)
    assert.equal(store.stored(oldSid)?.user, 'tj')

    const second = await request(app).get('/regenerate').set('Cookie', cookie(first)).expect(200)
    const body = second.body
    assert.equal(body.oldId, oldSid)
    assert.notEqual(body.newId, oldSid)
    assert.equal(body.sessionId, body.newId)
    assert.equal(body.user, null, 'the new session starts empty')
    assert.equal(sid(second), body.newId, 'the cookie carries the new ID')
    assert.equal(store.stored(oldSid), undefined, 'the old session is gone from the store')
    assert.equal(store.stored(body.newId)?.fresh, true)

    // the old cookie no longer leads to the old data
    const third = await request(app).get('/regenerate').set('Cookie', cookie(first)).expect(200)
    assert.equal(third.body.user, null)
  })

  it('passes a store error to its callback', async () => {
    class FailingDestroy extends CountingStore {
      override destroy(_sid: string, callback?: (err?: any) => void): void {
        if (callback) setImmediate(callback, new Error('destroy failed'))
      }
    }
    const store = new FailingDestroy()
    const app = createApp({ store, saveUninitialized: true }, (req, res) => {
      req.session.regenerate((err: any) => res.end(err ? err.message : 'no error'))
    })
    await request(app).get('/').expect(200, 'destroy failed')
  })
})

describe('req.session.destroy()', () => {
  it('unsets req.session, removes the session from the store and calls back', async () => {
    const store = new CountingStore()
    const app = createApp({ store }, (req, res) => {
      if (req.path === '/login') {
        req.session.user = 'tj'
        res.end('ok')
        return
      }
      const returned = req.session.destroy((err: any) => {
        res.json({ err: err ? err.message : null, session: req.session === undefined ? 'unset' : 'set' })
      })
      assert.ok(returned)
    })

    const first = await request(app).get('/login').expect(200)
    const id = sid(first)
    assert.ok(store.stored(id))

    const res = await request(app).get('/logout').set('Cookie', cookie(first)).expect(shouldNotSetCookie()).expect(200)
    assert.deepEqual(res.body, { err: null, session: 'unset' })
    assert.equal(store.stored(id), undefined)
    assert.equal(store.calls.destroy, 1)
  })

  it('does not save the destroyed session at the end of the request', async () => {
    const store = new CountingStore()
    const app = createApp({ store, resave: true }, (req, res) => {
      if (req.path === '/login') {
        req.session.user = 'tj'
        res.end('ok')
        return
      }
      req.session.destroy(() => res.end('bye'))
    })
    const first = await request(app).get('/login').expect(200)
    store.resetCalls()
    await request(app).get('/logout').set('Cookie', cookie(first)).expect(200, 'bye')
    assert.equal(store.calls.set, 0)
    assert.equal(store.stored(sid(first)), undefined)
  })

  it('passes a store error to its callback', async () => {
    class FailingDestroy extends CountingStore {
      override destroy(_sid: string, callback?: (err?: any) => void): void {
        if (callback) setImmediate(callback, new Error('destroy failed'))
      }
    }
    const app = createApp({ store: new FailingDestroy() }, (req, res) => {
      req.session.destroy((err: any) => res.end(err ? err.message : 'no error'))
    })
    await request(app).get('/').expect(200, 'destroy failed')
  })
})

describe('req.session.reload()', () => {
  it('re-populates req.session from the store', async () => {
    const store = new CountingStore()
    const app = createApp({ store }, (req, res, next) => {
      if (req.path === '/set') {
        req.session.count = 1
        res.end('ok')
        return
      }
      req.session.count = 99 // a local change that reload() discards
      const before = req.session
      // another request changes the stored session meanwhile
      store.set(req.sessionID, { ...store.stored(req.sessionID), other: 'x' }, () => {
        req.session.reload((err: any) => {
          if (err) return next(err)
          res.json({ count: req.session.count, other: req.session.other, id: req.session.id, same: before === req.session })
        })
      })
    })
    const first = await request(app).get('/set').expect(200)
    const res = await request(app).get('/reload').set('Cookie', cookie(first)).expect(200)
    assert.equal(res.body.count, 1)
    assert.equal(res.body.other, 'x')
    assert.equal(res.body.id, sid(first))
  })

  it("passes Error('failed to load session') when the session is no longer in the store", async () => {
    const store = new CountingStore()
    const app = createApp({ store, saveUninitialized: true }, (req, res) => {
      if (req.path === '/set') return res.end('ok')
      store.destroy(req.sessionID, () => {
        req.session.reload((err: any) => res.status(err ? 500 : 200).end(err ? err.message : 'reloaded'))
      })
    })
    const first = await request(app).get('/set').expect(200)
    await request(app).get('/reload').set('Cookie', cookie(first)).expect(500, 'failed to load session')
  })

  it('does not save the reloaded session again when unchanged (resave: false)', async () => {
    const store = new CountingStore()
    const app = createApp({ store }, (req, res, next) => {
      if (req.path === '/set') {
        req.session.count = 1
        return res.end('ok')
      }
      req.session.reload((err: any) => (err ? next(err) : res.end(String(req.session.count))))
    })
    const first = await request(app).get('/set').expect(200)
    store.resetCalls()
    await request(app).get('/reload').set('Cookie', cookie(first)).expect(200, '1')
    assert.equal(store.calls.set, 0)
  })

  it('saves changes made to the reloaded session at the end of the request', async () => {
    const store = new CountingStore()
    const app = createApp({ store }, (req, res, next) => {
      if (req.path === '/set') {
        req.session.count = 1
        return res.end('ok')
      }
      req.session.reload((err: any) => {
        if (err) return next(err)
        req.session.count = 2
        res.end('ok')
      })
    })
    const first = await request(app).get('/set').expect(200)
    store.resetCalls()
    await request(app).get('/reload').set('Cookie', cookie(first)).expect(200)
    assert.equal(store.calls.set, 1)
    assert.equal(store.stored(sid(first))?.count, 2)
  })

  it("tracks the reloaded session's own save(): no second save at the end", async () => {
    const store = new CountingStore()
    const app = createApp({ store }, (req, res, next) => {
      if (req.path === '/set') {
        req.session.count = 1
        return res.end('ok')
      }
      req.session.reload((err: any) => {
        if (err) return next(err)
        req.session.count = 3
        req.session.save((saveErr: any) => (saveErr ? next(saveErr) : res.end('saved')))
      })
    })
    const first = await request(app).get('/set').expect(200)
    store.resetCalls()
    await request(app).get('/reload').set('Cookie', cookie(first)).expect(200, 'saved')
    assert.equal(store.calls.set, 1)
    assert.equal(store.stored(sid(first))?.count, 3)
  })

  it('passes an error instead of throwing when the stored session is corrupt (no cookie; upstream #824)', async () => {
    const store = new CountingStore()
    const app = createApp({ store, saveUninitialized: true }, (req, res) => {
      if (req.path === '/set') return res.end('ok')
      store.set(req.sessionID, { foo: 'bar' }, () => {
        req.session.reload((err: any) => res.status(err ? 500 : 200).end(err ? 'reload failed' : 'reloaded'))
      })
    })
    const first = await request(app).get('/set').expect(200)
    await request(app).get('/reload').set('Cookie', cookie(first)).expect(500, 'reload failed')
  })
})

describe('req.session.save()', () => {
  it('writes the session to the store and calls back; the end of the request does not save it again', async () => {
    const store = new CountingStore()
    const app = createApp({ store }, (req, res, next) => {
      req.session.views = 1
      req.session.save((err: any) => {
        if (err) return next(err)
        res.json({ stored: store.stored(req.sessionID)?.views ?? null })
      })
    })
    const res = await request(app).get('/').expect(shouldSetCookie()).expect(200)
    assert.deepEqual(res.body, { stored: 1 }, 'saved before the callback')
    assert.equal(store.calls.set, 1)
  })

  it('saves again at the end when the session changed after save()', async () => {
    const store = new CountingStore()
    const app = createApp({ store }, (req, res, next) => {
      req.session.views = 1
      req.session.save((err: any) => {
        if (err) return next(err)
        req.session.views = 2
        res.end('ok')
      })
    })
    const res = await request(app).get('/').expect(200)
    assert.equal(store.calls.set, 2)
    assert.equal(store.stored(sid(res))?.views, 2)
  })

  it('prevents the end-of-request save after regenerate() (upstream #935)', async () => {
    const store = new CountingStore()
    const app = createApp({ store }, (req, res, next) => {
      if (req.path === '/login') {
        req.session.user = 'anonymous'
        return res.end('ok')
      }
      req.session.regenerate((err: any) => {
        if (err) return next(err)
        req.session.user = 'tj'
        req.session.save((saveErr: any) => (saveErr ? next(saveErr) : res.end(req.sessionID)))
      })
    })
    const first = await request(app).get('/login').expect(200)
    store.resetCalls()
    const res = await request(app).get('/regenerate').set('Cookie', cookie(first)).expect(200)
    const newId = res.text
    assert.equal(sid(res), newId)
    assert.deepEqual(store.setIds, [newId], 'saved once, by save()')
    assert.equal(store.stored(newId)?.user, 'tj')
  })

  describe("the request's sessions share its bookkeeping: save() then the end of the request writes once", () => {
    /** Logs in, then runs `route` on a second request; returns the store's set() IDs of that request. */
    async function setsOf(route: Handler, options: session.SessionOptions = {}): Promise<{ ids: string[]; res: request.Response; store: CountingStore }> {
      const store = new CountingStore()
      const app = createApp({ store, ...options }, (req, res, next) => {
        if (req.path === '/login') {
          req.session.user = 'tj'
          return res.end('ok')
        }
        route(req, res, next)
      })
      const login = await request(app).get('/login').expect(200)
      store.resetCalls()
      const res = await request(app).get('/route').set('Cookie', cookie(login)).expect(200)
      return { ids: store.setIds, res, store }
    }

    const saveThenEnd = (req: any, res: express.Response, next: express.NextFunction) => {
      req.session.views = 1
      req.session.save((err: any) => (err ? next(err) : res.end(req.sessionID)))
    }

    it('after reload()', async () => {
      const { ids, res, store } = await setsOf((req, res, next) => {
        req.session.reload((err: any) => (err ? next(err) : saveThenEnd(req, res, next)))
      })
      assert.deepEqual(ids, [res.text])
      assert.equal(store.stored(res.text)?.views, 1)
    })

    it('after reload() of a session no longer on the request', async () => {
      const { ids, res } = await setsOf((req, res, next) => {
        const loaded = req.session
        req.session = null
        loaded.reload((err: any) => (err ? next(err) : saveThenEnd(req, res, next)))
      })
      assert.deepEqual(ids, [res.text])
    })

    it('for a session the application constructs in place of the loaded one', async () => {
      const { ids, res, store } = await setsOf((req, res, next) => {
        req.session = new session.Session(req, { cookie: req.session.cookie, user: 'ann' })
        saveThenEnd(req, res, next)
      })
      assert.deepEqual(ids, [res.text])
      assert.equal(store.stored(res.text)?.user, 'ann')
    })

    it('for a first session whose ID came from an asynchronous genid', async () => {
      const store = new CountingStore()
      let n = 0
      const app = createApp({ store, genid: async () => `async-id-${++n}` }, saveThenEnd)
      const res = await request(app).get('/').expect(shouldSetCookie()).expect(200)
      assert.equal(res.text, 'async-id-1')
      assert.deepEqual(store.setIds, ['async-id-1'])
    })
  })

  it('passes a store error to its callback', async () => {
    class FailingSet extends CountingStore {
      override set(_sid: string, _sess: object, callback?: (err?: any) => void): void {
        if (callback) setImmediate(callback, new Error('set failed'))
      }
    }
    const app = createApp({ store: new FailingSet() }, (req, res) => {
      req.session.views = 1
      req.session.save((err: any) => res.end(err ? err.message : 'no error'))
    })
    // the end-of-request save fails too, after the response: that error is not the test's concern
    await request(app).get('/').expect('set failed')
  })
})

describe('Session methods on a request the middleware did not handle', () => {
  it('save(), reload(), destroy() and regenerate() with a callback throw a TypeError naming the missing middleware, as 1.19.0 throws', () => {
    const req = { sessionID: 'made-by-hand' } as any
    for (const method of ['save', 'reload', 'destroy', 'regenerate'] as const) {
      const sess = new session.Session(req)
      assert.throws(() => (sess[method] as (cb: () => void) => unknown)(() => undefined),
        { name: 'TypeError', message: /req\.sessionStore is not set: the session middleware did not run/ }, method)
    }
  })

  it('without a callback, the promise rejects with that error', async () => {
    const sess = new session.Session({ sessionID: 'made-by-hand' } as any)
    await assert.rejects(sess.save(), { name: 'TypeError', message: /session middleware did not run/ })
  })
})

describe('req.session.touch() and resetMaxAge()', () => {
  for (const method of ['touch', 'resetMaxAge'] as const) {
    it(`${method}() resets cookie.maxAge to the original maxAge and returns the session`, async () => {
      const app = createApp({ saveUninitialized: true, cookie: { maxAge: 60000 } }, (req, res) => {
        if (req.path === '/set') return res.end('ok')
        const before = req.session.cookie.maxAge
        const returned = req.session[method]()
        res.json({ before, after: req.session.cookie.maxAge, chained: returned === req.session })
      })
      const first = await request(app).get('/set').expect(200)
      await delay(30)
      const res = await request(app).get('/touch').set('Cookie', cookie(first)).expect(200)
      assert.ok(res.body.before <= 60000 - 20, `maxAge counted down: ${res.body.before}`)
      assert.ok(res.body.after > 60000 - 10 && res.body.after <= 60000, `maxAge reset: ${res.body.after}`)
      assert.equal(res.body.chained, true)
    })
  }
})

describe('req.session.id', () => {
  it('is a read-only, non-enumerable alias of req.sessionID', async () => {
    const app = createApp({ saveUninitialized: true }, (req, res) => {
      const assigned = Reflect.set(req.session, 'id', 'forged')
      res.json({
        id: req.session.id,
        sessionID: req.sessionID,
        assigned,
        enumerable: Object.keys(req.session).includes('id'),
      })
    })
    const res = await request(app).get('/').expect(200)
    assert.equal(res.body.id, res.body.sessionID)
    assert.equal(res.body.id, sid(res))
    assert.equal(res.body.assigned, false, 'assigning it fails (a TypeError in strict mode)')
    assert.equal(res.body.enumerable, false)
  })
})

describe('req.session.cookie', () => {
  it('maxAge counts down and originalMaxAge keeps the configured lifetime', async () => {
    const app = createApp({ saveUninitialized: true, cookie: { maxAge: 60000 } }, (req, res) => {
      res.json({ maxAge: req.session.cookie.maxAge, originalMaxAge: req.session.cookie.originalMaxAge })
    })
    const first = await request(app).get('/').expect(200)
    assert.ok(first.body.maxAge > 59000 && first.body.maxAge <= 60000)
    await delay(30)
    const second = await request(app).get('/').set('Cookie', cookie(first)).expect(200)
    assert.ok(second.body.maxAge <= 60000 - 20, `counted down: ${second.body.maxAge}`)
    assert.equal(second.body.originalMaxAge, 60000)
  })

  it('setting maxAge changes the Expires of the cookie sent', async () => {
    const app = createApp({ saveUninitialized: true, cookie: { maxAge: 60000 } }, (req, res) => {
      req.session.cookie.maxAge = 3600000
      res.end(String(req.session.cookie.originalMaxAge))
    })
    const start = Date.now()
    const res = await request(app).get('/').expect(200, '3600000')
    const sent = new Date(expires(res)!).getTime()
    assert.ok(Math.abs(sent - (start + 3600000)) < 3000, `Expires about an hour from now: ${expires(res)}`)
  })

  it('setting expires changes the Expires of the cookie sent', async () => {
    const target = new Date(Date.now() + 7 * 24 * 3600 * 1000)
    const app = createApp({ saveUninitialized: true }, (req, res) => {
      req.session.cookie.expires = target
      res.end('ok')
    })
    const res = await request(app).get('/').expect(200)
    assert.equal(expires(res), target.toUTCString())
  })

  it('expires = false makes a browser-session cookie (no Expires)', async () => {
    const app = createApp({ saveUninitialized: true, cookie: { maxAge: 60000 } }, (req, res) => {
      req.session.cookie.expires = false
      res.end('ok')
    })
    const res = await request(app).get('/').expect(shouldSetCookie()).expect(200)
    assert.equal(expires(res), undefined, setCookieFor(res))
    assert.doesNotMatch(setCookieFor(res)!, /Max-Age/i)
  })
})

describe('req.session data', () => {
  it('only the data and `cookie` are enumerable, and only they are stored', async () => {
    const store = new CountingStore()
    const app = createApp({ store }, (req, res) => {
      req.session.foo = 'bar'
      const forIn: string[] = []
      for (const key in req.session) forIn.push(key)
      res.json({
        keys: Object.keys(req.session).sort(),
        forIn: forIn.sort(),
        json: Object.keys(JSON.parse(JSON.stringify(req.session))).sort(),
      })
    })
    const res = await request(app).get('/').expect(200)
    assert.deepEqual(res.body, { keys: ['cookie', 'foo'], forIn: ['cookie', 'foo'], json: ['cookie', 'foo'] })
    assert.deepEqual(Object.keys(store.stored(sid(res))!).sort(), ['cookie', 'foo'])
  })

  it('drops stored keys that collide with Session members (id, req, methods)', async () => {
    const store = new CountingStore()
    const stored = JSON.parse(JSON.stringify({
      cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' },
      id: 'forged', req: 'forged', save: 'forged', reload: 'forged', destroy: 'forged', regenerate: 'forged',
      touch: 'forged', resetMaxAge: 'forged', constructor: 'forged', hasOwnProperty: 'forged', name: 'kept',
    }))
    stored['__proto__'] = { polluted: true }
    await new Promise<void>((resolve) => store.set('stored-id', stored, () => resolve()))

    const app = createApp({ store }, (req, res) => {
      const s = req.session
      res.json({
        id: s.id,
        name: s.name,
        keys: Object.keys(s).sort(),
        methods: ['save', 'reload', 'destroy', 'regenerate', 'touch', 'resetMaxAge', 'hasOwnProperty'].map((m) => typeof s[m]),
        reqIsRequest: s.req === req,
        polluted: s.polluted ?? null,
      })
    })
    const res = await request(app).get('/').set('Cookie', signedCookie('stored-id')).expect(200)
    assert.deepEqual(res.body, {
      id: 'stored-id',
      name: 'kept',
      keys: ['cookie', 'name'],
      methods: Array(7).fill('function'),
      reqIsRequest: true,
      polluted: null,
    })
  })

  it('sets req.sessionStore to the store', async () => {
    const store = new CountingStore()
    const app = createApp({ store }, (req, res) => res.json({ same: req.sessionStore === store }))
    await request(app).get('/').expect(200, { same: true })
  })

  it('leaves a req.session set before the middleware untouched', async () => {
    const store = new CountingStore()
    const preset = { custom: true }
    const app = express()
    app.use((req: any, _res, next) => {
      req.session = preset
      next()
    })
    app.use(session({ store, secret: 'keyboard cat', resave: true, saveUninitialized: true }))
    app.use((req: any, res) => res.json({ same: req.session === preset, sessionStore: req.sessionStore === undefined ? 'unset' : 'set' }))
    await request(app).get('/').expect(shouldNotSetCookie()).expect(200, { same: true, sessionStore: 'unset' })
    assert.deepEqual(store.calls, { get: 0, set: 0, patch: 0, destroy: 0, touch: 0 })
  })
})

describe('change detection', () => {
  it('does not save an unchanged session with resave: false', async () => {
    const store = new CountingStore()
    const app = createApp({ store }, (req, res) => {
      if (req.path === '/set') req.session.user = 'tj'
      res.end(String(req.session.user))
    })
    const first = await request(app).get('/set').expect(200, 'tj')
    store.resetCalls()
    await request(app).get('/read').set('Cookie', cookie(first)).expect(shouldNotSetCookie()).expect(200, 'tj')
    assert.equal(store.calls.set, 0)
  })

  it('counts a change to a nested key named `cookie` as a modification', async () => {
    const store = new CountingStore()
    const app = createApp({ store }, (req, res) => {
      if (req.path === '/set') req.session.prefs = { cookie: 'chocolate' }
      else req.session.prefs.cookie = 'oatmeal'
      res.end('ok')
    })
    const first = await request(app).get('/set').expect(200)
    store.resetCalls()
    await request(app).get('/change').set('Cookie', cookie(first)).expect(200)
    assert.equal(store.calls.set, 1)
    assert.equal(store.stored(sid(first))?.prefs.cookie, 'oatmeal')
  })

  it('does not count a change of the session cookie alone as a modification', async () => {
    const store = new CountingStore()
    const app = createApp({ store, cookie: { maxAge: 60000 } }, (req, res) => {
      if (req.path === '/set') req.session.user = 'tj'
      else req.session.cookie.maxAge = 120000
      res.end('ok')
    })
    const first = await request(app).get('/set').expect(200)
    store.resetCalls()
    await request(app).get('/cookie').set('Cookie', cookie(first)).expect(shouldNotSetCookie()).expect(200)
    assert.equal(store.calls.set, 0)
  })

  it('handles Dates in the data: loaded as the store gives them, saved only when they change', async () => {
    const store = new CloneStore()
    const app = createApp({ store }, (req, res) => {
      if (req.path === '/set') req.session.when = new Date(0)
      if (req.path === '/change') req.session.when.setTime(1000)
      res.json({ isDate: req.session.when instanceof Date })
    })
    const first = await request(app).get('/set').expect(200)
    assert.equal(store.sets, 1)
    const id = sid(first)

    await request(app).get('/read').set('Cookie', cookie(first)).expect(200, { isDate: true })
    assert.equal(store.sets, 1, 'an unchanged Date is not a modification')

    await request(app).get('/change').set('Cookie', cookie(first)).expect(200, { isDate: true })
    assert.equal(store.sets, 2)
    assert.equal(store.map.get(id).when.getTime(), 1000)
  })
})
