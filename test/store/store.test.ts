/**
 * The Store base class, and how the middleware copes with the stores found in the wild: written with
 * `Store.call(this)` + `util.inherits`, with `class extends`, without calling the constructor at all,
 * calling back synchronously or twice, or returning promises.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { inherits } from 'node:util'
import express from 'express'
import request from 'supertest'
import session from 'express-session'
import { cookie, delay, shouldNotSetCookie, shouldSetCookie, signedCookie, sid } from '../support/http.js'

const { Store, Session, Cookie } = session

type Callback = (err?: any, value?: any) => void

/** An Express 4 app with the session middleware on `store` and a small set of routes. */
function createApp(store: session.Store, options: Partial<session.SessionOptions> = {}) {
  let handled = 0
  const errors: string[] = []
  const app = express()
  app.use(session({ store, secret: 'keyboard cat', resave: false, saveUninitialized: false, ...options }))
  app.use((req: any, res, next) => {
    handled++
    switch (req.path) {
      case '/set':
        req.session.value = req.query.value ?? 'set'
        return res.end('set')
      case '/get':
        return res.end(String(req.session.value))
      case '/regenerate':
        return req.session.regenerate((err: any) => (err ? next(err) : res.end(req.sessionID)))
      case '/destroy':
        return req.session.destroy((err: any) => (err ? next(err) : res.end('destroyed')))
      default:
        return res.end('ok')
    }
  })
  app.use((err: any, _req: any, res: any, _next: any) => {
    errors.push(err.message)
    if (res.headersSent) return
    res.status(err.status || 500).end('error: ' + err.message)
  })
  return { app, errors, handled: () => handled }
}

/** Stored data of a plain session with `extra` fields. */
function storedSession(extra: Record<string, unknown> = {}, cookieData: Record<string, unknown> = {}) {
  return { cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/', ...cookieData }, ...extra }
}

// A store in the util.inherits style (session-file-store, connect-sqlite3, ...).
function InheritsStore(this: any, options?: unknown) {
  Store.call(this, options)
  this.map = new Map<string, string>()
}
inherits(InheritsStore, Store)
InheritsStore.prototype.get = function (this: any, sid: string, fn: Callback) {
  const json = this.map.get(sid)
  setImmediate(fn, null, json === undefined ? null : JSON.parse(json))
}
InheritsStore.prototype.set = function (this: any, sid: string, sess: object, fn: Callback) {
  this.map.set(sid, JSON.stringify(sess))
  setImmediate(fn)
}
InheritsStore.prototype.destroy = function (this: any, sid: string, fn: Callback) {
  this.map.delete(sid)
  setImmediate(fn)
}

// A store written as an ES class.
class ClassStore extends Store {
  map = new Map<string, string>()
  override get(sid: string, fn: Callback) {
    const json = this.map.get(sid)
    setImmediate(fn, null, json === undefined ? null : JSON.parse(json))
  }
  override set(sid: string, sess: object, fn: Callback) {
    this.map.set(sid, JSON.stringify(sess))
    setImmediate(fn)
  }
  override destroy(sid: string, fn: Callback) {
    this.map.delete(sid)
    setImmediate(fn)
  }
}

// A store whose constructor never calls Store (express-mysql-session).
function NoSuperStore(this: any) {
  this.map = new Map<string, string>()
}
inherits(NoSuperStore, Store)
NoSuperStore.prototype.get = InheritsStore.prototype.get
NoSuperStore.prototype.set = InheritsStore.prototype.set
NoSuperStore.prototype.destroy = InheritsStore.prototype.destroy

/** The usual round trip: set a value, read it back, regenerate, destroy. */
async function roundTrip(store: any) {
  const { app } = createApp(store)
  const first = await request(app).get('/set?value=hello').expect(shouldSetCookie()).expect(200, 'set')
  const id = sid(first)
  assert.ok(store.map.has(id))
  await request(app).get('/get').set('Cookie', cookie(first)).expect(200, 'hello')

  const regenerated = await request(app).get('/regenerate').set('Cookie', cookie(first)).expect(200)
  assert.notEqual(regenerated.text, id)
  assert.ok(!store.map.has(id))

  const second = await request(app).get('/set?value=again').expect(200)
  await request(app).get('/destroy').set('Cookie', cookie(second)).expect(200, 'destroyed')
  assert.ok(!store.map.has(sid(second)))
}

describe('Store', () => {
  it('is an EventEmitter constructor that can be called with Store.call(this)', async () => {
    const store = new (InheritsStore as any)()
    assert.ok(store instanceof Store)
    assert.ok(store instanceof EventEmitter)
    await roundTrip(store)
  })

  it('can be extended with class', async () => {
    const store = new ClassStore()
    assert.ok(store instanceof Store)
    assert.ok(store instanceof EventEmitter)
    await roundTrip(store)
  })

  it('works for a store whose constructor never calls Store', async () => {
    const store: any = new (NoSuperStore as any)()
    assert.equal(store instanceof Store, true)
    await roundTrip(store)

    store.map.set('loaded', JSON.stringify(storedSession({ name: 'x' })))
    const loaded = await new Promise<any>((resolve, reject) => store.load('loaded', (err: any, sess: any) => (err ? reject(err) : resolve(sess))))
    assert.ok(loaded instanceof Session)
    assert.equal(loaded.name, 'x')
  })

  it('reports disconnect and connect: no session while disconnected, and no error', async () => {
    const store = new ClassStore()
    const { app } = createApp(store, { saveUninitialized: true })
    store.emit('disconnect')
    await request(app).get('/').expect(shouldNotSetCookie()).expect(200, 'ok')
    store.emit('connect')
    await request(app).get('/').expect(shouldSetCookie()).expect(200, 'ok')
  })
})

describe('store.generate(req)', () => {
  it('replaced by one that sets no req.session: the request gets an error saying so, not a crash', async () => {
    const store = new session.MemoryStore()
    const app = express()
    app.use(session({ store, secret: 'keyboard cat', resave: false, saveUninitialized: true }))
    store.generate = () => undefined
    app.use((_req, res) => res.end('reached the route'))
    app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).end(err.message)
    })
    const res = await request(app).get('/').expect(500)
    assert.equal(res.text, 'store.generate(req) did not set req.session')
    assert.equal(res.headers['set-cookie'], undefined)
  })
})

describe('store.regenerate(req, fn)', () => {
  it('destroys the old session, then generates a new one even if destroy failed, then calls fn(err)', async () => {
    class FailingDestroy extends ClassStore {
      override destroy(_sid: string, fn: Callback) {
        setImmediate(fn, new Error('destroy failed'))
      }
    }
    const store = new FailingDestroy()
    const app = express()
    app.use(session({ store, secret: 'keyboard cat', resave: false, saveUninitialized: false }))
    app.use((req: any, res) => {
      if (req.path === '/set') {
        req.session.value = 'old'
        return res.end('set')
      }
      const oldId = req.sessionID
      req.session.regenerate((err: any) => {
        res.json({ err: err ? err.message : null, changed: req.sessionID !== oldId, value: req.session.value ?? null })
      })
    })
    const first = await request(app).get('/set').expect(200)
    const res = await request(app).get('/regenerate').set('Cookie', cookie(first)).expect(200)
    assert.deepEqual(res.body, { err: 'destroy failed', changed: true, value: null })
  })
})

describe('store.load(sid, fn)', () => {
  it('calls fn() with no arguments when the session is not found', async () => {
    const store = new ClassStore()
    const args = await new Promise<unknown[]>((resolve) => store.load('missing', (...a: unknown[]) => resolve(a)))
    assert.deepEqual(args, [])
  })

  it('calls fn(null, session) with a Session when found', async () => {
    const store = new ClassStore()
    store.map.set('abc', JSON.stringify(storedSession({ user: 'tj' }, { originalMaxAge: 60000, expires: new Date(Date.now() + 30000) })))
    const [err, sess] = await new Promise<any[]>((resolve) => store.load('abc', (...a: any[]) => resolve(a)))
    assert.equal(err, null)
    assert.ok(sess instanceof Session)
    assert.equal(sess.id, 'abc')
    assert.equal(sess.user, 'tj')
    assert.ok(sess.cookie instanceof Cookie)
    assert.ok(sess.cookie.expires instanceof Date)
    assert.equal(sess.cookie.originalMaxAge, 60000)
    assert.equal(typeof sess.save, 'function')
  })

  it('gives a session that can be changed and saved back', async () => {
    const store = new ClassStore()
    store.map.set('abc', JSON.stringify(storedSession({ user: 'tj' })))
    const sess: any = await new Promise((resolve, reject) => store.load('abc', (err: any, s: any) => (err ? reject(err) : resolve(s))))
    sess.user = 'changed'
    await new Promise<void>((resolve, reject) => sess.save((err: any) => (err ? reject(err) : resolve())))
    assert.equal(JSON.parse(store.map.get('abc')!).user, 'changed')
  })

  it('passes a store error on', async () => {
    class FailingGet extends ClassStore {
      override get(_sid: string, fn: Callback) {
        setImmediate(fn, new Error('get failed'))
      }
    }
    const [err] = await new Promise<any[]>((resolve) => new FailingGet().load('abc', (...a: any[]) => resolve(a)))
    assert.equal(err.message, 'get failed')
  })
})

describe('store.createSession(req, data)', () => {
  it('turns a string expires into a Date and keeps the stored originalMaxAge', () => {
    const store = new ClassStore()
    const expires = new Date(Date.now() + 30000)
    const req: any = { sessionID: 'abc' }
    const sess = store.createSession(req, storedSession({ n: 1 }, { originalMaxAge: 60000, expires: expires.toISOString() }))
    assert.ok(sess instanceof Session)
    assert.equal(req.session, sess)
    assert.ok(sess.cookie instanceof Cookie)
    assert.ok(sess.cookie.expires instanceof Date)
    assert.equal((sess.cookie.expires as Date).getTime(), expires.getTime())
    assert.equal(sess.cookie.originalMaxAge, 60000)
    assert.equal(sess.n, 1)
  })

  it('keeps the stored originalMaxAge when the store gives expires as a Date', () => {
    const store = new ClassStore()
    const expires = new Date(Date.now() + 30000)
    const sess = store.createSession({ sessionID: 'abc' }, storedSession({}, { originalMaxAge: 60000, expires }))
    assert.equal((sess.cookie.expires as Date).getTime(), expires.getTime())
    assert.equal(sess.cookie.originalMaxAge, 60000)
  })

  it('over HTTP: touch() resets maxAge to the stored originalMaxAge, not to the time left', async () => {
    for (const asString of [true, false]) {
      const store = new ClassStore()
      const expires = new Date(Date.now() + 30000)
      // a store that hands back Dates (not JSON)
      store.get = (sidValue: string, fn: Callback) => {
        setImmediate(fn, null, sidValue === 'abc' ? storedSession({}, { originalMaxAge: 60000, expires: asString ? expires.toISOString() : expires }) : null)
      }
      const app = express()
      app.use(session({ store, secret: 'keyboard cat', resave: false, saveUninitialized: false }))
      app.use((req: any, res) => {
        const before = req.session.cookie.maxAge
        req.session.touch()
        res.json({ before, after: req.session.cookie.maxAge, original: req.session.cookie.originalMaxAge })
      })
      const res = await request(app).get('/').set('Cookie', signedCookie('abc')).expect(200)
      assert.ok(res.body.before <= 30000, `before: ${res.body.before}`)
      assert.ok(res.body.after > 59000, `after: ${res.body.after}`)
      assert.equal(res.body.original, 60000)
    }
  })
})

describe('store errors and bad data on load', () => {
  it('treats an ENOENT error from get as "not found": a new session', async () => {
    class EnoentStore extends ClassStore {
      override get(_sid: string, fn: Callback) {
        const err: any = new Error('no such file')
        err.code = 'ENOENT'
        setImmediate(fn, err)
      }
    }
    const { app, errors } = createApp(new EnoentStore(), { saveUninitialized: true })
    const res = await request(app).get('/get').set('Cookie', signedCookie('gone')).expect(shouldSetCookie()).expect(200, 'undefined')
    assert.notEqual(sid(res), 'gone')
    assert.deepEqual(errors, [])
  })

  it('passes any other get error to next(err)', async () => {
    class FailingGet extends ClassStore {
      override get(_sid: string, fn: Callback) {
        setImmediate(fn, new Error('connection lost'))
      }
    }
    const { app, handled } = createApp(new FailingGet())
    await request(app).get('/get').set('Cookie', signedCookie('abc')).expect(500, 'error: connection lost')
    assert.equal(handled(), 0)
  })

  it('passes stored data without a cookie to next(err) instead of throwing', async () => {
    class CorruptStore extends ClassStore {
      override get(_sid: string, fn: Callback) {
        setImmediate(fn, null, { value: 'no cookie here' })
      }
    }
    const { app, handled } = createApp(new CorruptStore())
    const res = await request(app).get('/get').set('Cookie', signedCookie('abc')).expect(500)
    assert.match(res.text, /^error: /)
    assert.equal(handled(), 0)
  })

  it('never adopts a validly signed ID the store does not know', async () => {
    const store = new ClassStore()
    const { app } = createApp(store, { saveUninitialized: true })
    const res = await request(app).get('/').set('Cookie', signedCookie('attacker-chosen')).expect(200)
    assert.notEqual(sid(res), 'attacker-chosen')
    assert.ok(!store.map.has('attacker-chosen'))
  })
})

/** A store whose methods call back before returning. */
class SyncStore extends Store {
  map = new Map<string, string>()
  touches = 0
  override get(sid: string, fn: Callback) {
    const json = this.map.get(sid)
    fn(null, json === undefined ? null : JSON.parse(json))
  }
  override set(sid: string, sess: object, fn: Callback) {
    this.map.set(sid, JSON.stringify(sess))
    fn()
  }
  override destroy(sid: string, fn: Callback) {
    this.map.delete(sid)
    fn()
  }
  override touch(_sid: string, _sess: object, fn: Callback) {
    this.touches++
    fn()
  }
}

describe('synchronous stores', () => {
  it('load, save, touch and regenerate work and respond once', async () => {
    const store = new SyncStore()
    const { app, errors } = createApp(store)
    const first = await request(app).get('/set?value=sync').expect(shouldSetCookie()).expect(200, 'set')
    assert.equal(JSON.parse(store.map.get(sid(first))!).value, 'sync')
    await request(app).get('/get').set('Cookie', cookie(first)).expect(200, 'sync')
    assert.equal(store.touches, 1)
    const regenerated = await request(app).get('/regenerate').set('Cookie', cookie(first)).expect(200)
    assert.equal(sid(regenerated), regenerated.text)
    assert.ok(!store.map.has(sid(first)))
    assert.deepEqual(errors, [])
  })

  it('destroy() and unset: destroy respond correctly', async () => {
    const store = new SyncStore()
    const { app } = createApp(store)
    const first = await request(app).get('/set').expect(200)
    await request(app).get('/destroy').set('Cookie', cookie(first)).expect(shouldNotSetCookie()).expect(200, 'destroyed')
    assert.ok(!store.map.has(sid(first)))

    const unsetApp = express()
    unsetApp.use(session({ store, secret: 'keyboard cat', resave: false, saveUninitialized: false, unset: 'destroy' }))
    unsetApp.use((req: any, res) => {
      if (req.path === '/set') req.session.value = 1
      else req.session = null
      res.end('done')
    })
    const second = await request(unsetApp).get('/set').expect(200)
    assert.ok(store.map.has(sid(second)))
    await request(unsetApp).get('/unset').set('Cookie', cookie(second)).expect(200, 'done')
    assert.ok(!store.map.has(sid(second)))
  })
})

describe('stores that call back twice', () => {
  class TwiceStore extends Store {
    map = new Map<string, string>()
    override get(sid: string, fn: Callback) {
      const json = this.map.get(sid)
      const value = json === undefined ? null : JSON.parse(json)
      setImmediate(fn, null, value)
      setImmediate(fn, null, value)
    }
    override set(sid: string, sess: object, fn: Callback) {
      this.map.set(sid, JSON.stringify(sess))
      fn()
      setImmediate(fn)
    }
    override destroy(sid: string, fn: Callback) {
      this.map.delete(sid)
      setImmediate(fn)
      setImmediate(fn, new Error('late second callback'))
    }
    override touch(_sid: string, _sess: object, fn: Callback) {
      fn()
      fn()
    }
  }

  it('neither crash nor answer twice', async () => {
    const store = new TwiceStore()
    const { app, errors, handled } = createApp(store)
    const first = await request(app).get('/set?value=twice').expect(200, 'set')
    await request(app).get('/get').set('Cookie', cookie(first)).expect(200, 'twice')
    await request(app).get('/destroy').set('Cookie', cookie(first)).expect(200, 'destroyed')
    await delay(20)
    assert.equal(handled(), 3, 'the app ran once per request')
    assert.deepEqual(errors, [])
  })
})

describe('stores that return a promise instead of calling back', () => {
  class PromiseStore extends Store {
    map = new Map<string, string>()
    override async get(sid: string) {
      await delay(1)
      const json = this.map.get(sid)
      return json === undefined ? null : JSON.parse(json)
    }
    override async set(sid: string, sess: object) {
      await delay(1)
      this.map.set(sid, JSON.stringify(sess))
    }
    override async destroy(sid: string) {
      await delay(1)
      this.map.delete(sid)
    }
  }

  it('work for load, save, regenerate and destroy', async () => {
    await roundTrip(new PromiseStore())
  })

  it('pass a rejection to next(err)', async () => {
    class RejectingStore extends PromiseStore {
      override async get(): Promise<any> {
        throw new Error('rejected get')
      }
    }
    const { app } = createApp(new RejectingStore())
    await request(app).get('/get').set('Cookie', signedCookie('abc')).expect(500, 'error: rejected get')
  })
})
