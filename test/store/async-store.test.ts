/**
 * Stores that do not call back the 1.x way: methods returning promises (no callback at all), calling back
 * synchronously, calling back twice; and `session.AsyncStore`, the base for store authors who write
 * `async get/set/destroy/...` once and are then callable with callbacks or as promises by any consumer.
 *
 * Every kind of store runs the same scenarios: the middleware (load, save, touch, destroy, unset destroy), the
 * Session methods (with callbacks and as promises), and Store.prototype.load / regenerate.
 */
import { describe, it, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import express from 'express'
import request from 'supertest'
import session from 'express-session'
import { cookie, delay, shouldNotSetCookie, shouldSetCookie, sid, signedCookie } from '../support/http.js'

declare module 'express-session' {
  interface SessionData {
    views: number
  }
}

/** A session as these test stores hold it (parsed JSON). */
interface StoredData {
  cookie: { originalMaxAge: number | null; expires?: string | null; [key: string]: unknown }
  views?: number
  [key: string]: unknown
}

/** What every store under test exposes to the tests: its contents, and a log of the calls it received. */
interface Inspectable {
  map: Map<string, string>
  calls: string[]
}

/** The storage behind the test stores: JSON in a Map, every call logged as `method sid`. */
function backing(target: Inspectable) {
  return {
    get(sid: string): StoredData | null {
      target.calls.push('get ' + sid)
      const json = target.map.get(sid)
      return json === undefined ? null : JSON.parse(json)
    },
    set(sid: string, sess: object): void {
      target.calls.push('set ' + sid)
      target.map.set(sid, JSON.stringify(sess))
    },
    destroy(sid: string): void {
      target.calls.push('destroy ' + sid)
      target.map.delete(sid)
    },
    touch(sid: string, sess: { cookie: unknown }): void {
      target.calls.push('touch ' + sid)
      const json = target.map.get(sid)
      if (json !== undefined) target.map.set(sid, JSON.stringify({ ...JSON.parse(json), cookie: sess.cookie }))
    },
  }
}

type Callback = (err?: unknown, value?: unknown) => void

/** Methods return promises and take no callback. */
class PromiseStore extends session.Store implements Inspectable {
  map = new Map<string, string>()
  calls: string[] = []
  private readonly data = backing(this)
  override async get(sid: string) {
    await delay(1)
    return this.data.get(sid)
  }
  override async set(sid: string, sess: object) {
    await delay(1)
    this.data.set(sid, sess)
  }
  override async destroy(sid: string) {
    await delay(1)
    this.data.destroy(sid)
  }
  override async touch(sid: string, sess: { cookie: unknown }) {
    await delay(1)
    this.data.touch(sid, sess)
  }
}

/** Calls back before returning. */
class SyncStore extends session.Store implements Inspectable {
  map = new Map<string, string>()
  calls: string[] = []
  private readonly data = backing(this)
  override get(sid: string, fn: Callback) {
    fn(null, this.data.get(sid))
  }
  override set(sid: string, sess: object, fn?: Callback) {
    this.data.set(sid, sess)
    fn?.()
  }
  override destroy(sid: string, fn?: Callback) {
    this.data.destroy(sid)
    fn?.()
  }
  override touch(sid: string, sess: { cookie: unknown }, fn?: Callback) {
    this.data.touch(sid, sess)
    fn?.()
  }
}

/** Calls back twice: once synchronously, then again later with an error that must be ignored. */
class TwiceStore extends session.Store implements Inspectable {
  map = new Map<string, string>()
  calls: string[] = []
  private readonly data = backing(this)
  private twice(fn: Callback | undefined, value?: unknown) {
    fn?.(null, value)
    setImmediate(() => fn?.(new Error('second callback'), value))
  }
  override get(sid: string, fn: Callback) {
    this.twice(fn, this.data.get(sid))
  }
  override set(sid: string, sess: object, fn?: Callback) {
    this.data.set(sid, sess)
    this.twice(fn)
  }
  override destroy(sid: string, fn?: Callback) {
    this.data.destroy(sid)
    this.twice(fn)
  }
  override touch(sid: string, sess: { cookie: unknown }, fn?: Callback) {
    this.data.touch(sid, sess)
    this.twice(fn)
  }
}

/** Written the AsyncStore way: async methods only, typed with the data it holds. */
class MapStore extends session.AsyncStore<StoredData> implements Inspectable {
  map = new Map<string, string>()
  calls: string[] = []
  private readonly data = backing(this)
  override async get(sid: string): Promise<StoredData | null> {
    await delay(1)
    return this.data.get(sid)
  }
  override async set(sid: string, sess: StoredData): Promise<void> {
    await delay(1)
    this.data.set(sid, sess)
  }
  override async destroy(sid: string): Promise<void> {
    this.data.destroy(sid)
  }
  override async touch(sid: string, sess: StoredData): Promise<void> {
    this.data.touch(sid, sess)
  }
  override async all(): Promise<Record<string, StoredData>> {
    const all: Record<string, StoredData> = {}
    for (const [id, json] of this.map) all[id] = JSON.parse(json)
    return all
  }
  override async length(): Promise<number> {
    return this.map.size
  }
  override async clear(): Promise<void> {
    this.map.clear()
  }
}

type TestStore = session.Store & Inspectable

/** An Express 4 app on `store`; counts the requests handled and the errors that reached the error handler. */
function createApp(store: session.Store, options: Partial<session.SessionOptions> = {}) {
  const errors: string[] = []
  let handled = 0
  const app = express()
  app.use(session({ store, secret: 'keyboard cat', resave: false, saveUninitialized: false, ...options }))
  app.use(async (req, res, next) => {
    handled++
    try {
      switch (req.path) {
        case '/set':
          req.session.views = Number(req.query.views ?? 1)
          res.end('set')
          return
        case '/destroy':
          req.session.destroy((err) => (err ? next(err) : res.end('destroyed')))
          return
        case '/destroy-await':
          await req.session.destroy()
          res.end('destroyed')
          return
        case '/unset':
          ;(req as { session: unknown }).session = null
          res.end('unset')
          return
        case '/methods-await': {
          // save, then a change made elsewhere, reload, then regenerate keeping the data
          req.session.views = 5
          await req.session.save()
          const saved = JSON.parse((store as TestStore).map.get(req.sessionID)!).views
          ;(store as TestStore).map.set(req.sessionID, JSON.stringify({ ...JSON.parse((store as TestStore).map.get(req.sessionID)!), views: 6 }))
          await req.session.reload()
          const reloaded = req.session.views
          await req.session.regenerate({ keepData: true })
          res.end(`saved ${saved}, reloaded ${reloaded}, regenerated ${req.session.views}`)
          return
        }
        case '/methods-callback': {
          const sess = req.session
          sess.views = 5
          const chained = sess.save((err) => {
            if (err) return next(err)
            const saved = JSON.parse((store as TestStore).map.get(req.sessionID)!).views
            ;(store as TestStore).map.set(req.sessionID, JSON.stringify({ ...JSON.parse((store as TestStore).map.get(req.sessionID)!), views: 6 }))
            req.session.reload((err2) => {
              if (err2) return next(err2)
              const reloaded = req.session.views
              req.session.regenerate({ keepData: true }, (err3) => {
                if (err3) return next(err3)
                res.end(`saved ${saved}, reloaded ${reloaded}, regenerated ${req.session.views}`)
              })
            })
          })
          assert.equal(chained, sess, 'with a callback, save() returns the session')
          return
        }
        default:
          res.end('views: ' + String(req.session?.views))
      }
    } catch (err) {
      next(err)
    }
  })
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    errors.push(err.message)
    if (res.headersSent) return
    res.status(500).end('error: ' + err.message)
  })
  return { app, errors, handled: () => handled }
}

const kinds: Array<[string, () => TestStore]> = [
  ['a store whose methods return promises (no callbacks)', () => new PromiseStore()],
  ['a store that calls back synchronously', () => new SyncStore()],
  ['a store that calls back twice', () => new TwiceStore()],
  ['an AsyncStore subclass', () => new MapStore()],
]

for (const [kind, makeStore] of kinds) {
  describe(kind, () => {
    it('middleware: saves a new session and loads it back', async () => {
      const store = makeStore()
      const { app, errors, handled } = createApp(store)
      const first = await request(app).get('/set?views=3').expect(shouldSetCookie()).expect(200, 'set')
      const id = sid(first)
      assert.equal(JSON.parse(store.map.get(id)!).views, 3)
      await request(app).get('/').set('Cookie', cookie(first)).expect(shouldNotSetCookie()).expect(200, 'views: 3')
      await delay(5)
      assert.equal(handled(), 2, 'each request handled once')
      assert.deepEqual(errors, [])
    })

    it('middleware: touches an unchanged session instead of saving it (resave: false)', async () => {
      const store = makeStore()
      const { app, errors } = createApp(store, { cookie: { maxAge: 60_000 } })
      const first = await request(app).get('/set').expect(200)
      const id = sid(first)
      const expiresBefore = JSON.parse(store.map.get(id)!).cookie.expires
      await delay(10)
      store.calls.length = 0
      await request(app).get('/').set('Cookie', cookie(first)).expect(200, 'views: 1')
      assert.deepEqual(store.calls, ['get ' + id, 'touch ' + id])
      assert.ok(JSON.parse(store.map.get(id)!).cookie.expires > expiresBefore, 'the stored expiry moved')
      await delay(5)
      assert.deepEqual(errors, [])
    })

    it('middleware: destroy() with a callback and as a promise', async () => {
      const store = makeStore()
      const { app, errors } = createApp(store)
      for (const path of ['/destroy', '/destroy-await']) {
        const first = await request(app).get('/set').expect(200)
        await request(app).get(path).set('Cookie', cookie(first)).expect(200, 'destroyed')
        assert.equal(store.map.has(sid(first)), false)
        await request(app).get('/').set('Cookie', cookie(first)).expect(200, 'views: undefined')
      }
      await delay(5)
      assert.deepEqual(errors, [])
    })

    it("middleware: unset: 'destroy' destroys the stored session before the response ends", async () => {
      const store = makeStore()
      const { app, errors } = createApp(store, { unset: 'destroy' })
      const first = await request(app).get('/set').expect(200)
      await request(app).get('/unset').set('Cookie', cookie(first)).expect(200, 'unset')
      assert.equal(store.map.has(sid(first)), false)
      assert.equal(store.calls.filter((call) => call.startsWith('destroy ')).length, 1)
      await delay(5)
      assert.deepEqual(errors, [])
    })

    it('Session methods as promises: save, reload, regenerate', async () => {
      const store = makeStore()
      const { app, errors } = createApp(store)
      const first = await request(app).get('/set').expect(200)
      const res = await request(app).get('/methods-await').set('Cookie', cookie(first)).expect(shouldSetCookie())
        .expect(200, 'saved 5, reloaded 6, regenerated 6')
      assert.equal(store.map.has(sid(first)), false, 'old ID destroyed')
      assert.equal(JSON.parse(store.map.get(sid(res))!).views, 6)
      await delay(5)
      assert.deepEqual(errors, [])
    })

    it('Session methods with callbacks: save, reload, regenerate', async () => {
      const store = makeStore()
      const { app, errors, handled } = createApp(store)
      const first = await request(app).get('/set').expect(200)
      const res = await request(app).get('/methods-callback').set('Cookie', cookie(first)).expect(shouldSetCookie())
        .expect(200, 'saved 5, reloaded 6, regenerated 6')
      assert.equal(store.map.has(sid(first)), false, 'old ID destroyed')
      assert.equal(JSON.parse(store.map.get(sid(res))!).views, 6)
      await delay(5)
      assert.equal(handled(), 2)
      assert.deepEqual(errors, [])
    })

    it('Store.prototype.load and Store.prototype.regenerate', async () => {
      const store = makeStore()
      store.map.set('known', JSON.stringify({ cookie: { originalMaxAge: 1000, expires: new Date(Date.now() + 1000).toISOString(), path: '/' }, views: 4 }))

      const loaded = await new Promise<unknown[]>((resolve) => store.load('known', (...args: unknown[]) => resolve(args)))
      assert.equal(loaded[0], null)
      const sess = loaded[1] as session.Session & { views?: number }
      assert.ok(sess instanceof session.Session)
      assert.equal(sess.id, 'known')
      assert.equal(sess.views, 4)
      assert.ok(sess.cookie.expires instanceof Date)

      let missingCalls = 0
      const missing = await new Promise<unknown[]>((resolve) => store.load('unknown', (...args: unknown[]) => {
        missingCalls++
        resolve(args)
      }))
      assert.deepEqual(missing, [], 'not found: called back with no arguments')

      store.generate = (req: { sessionID?: string; session?: unknown }) => {
        req.sessionID = 'generated'
        req.session = new session.Session(req)
      }
      const req: { sessionID?: string; session?: unknown } = { sessionID: 'known' }
      let regenerateCalls = 0
      await new Promise<void>((resolve, reject) => store.regenerate(req, (err?: unknown) => {
        regenerateCalls++
        if (err) reject(err)
        else resolve()
      }))
      assert.equal(store.map.has('known'), false, 'the old session is destroyed')
      assert.equal(req.sessionID, 'generated')
      assert.ok(req.session instanceof session.Session)

      await delay(5)
      assert.equal(missingCalls, 1, 'load called back once')
      assert.equal(regenerateCalls, 1, 'regenerate called back once')
    })
  })
}

describe('a store returning a rejected promise', () => {
  class RejectingStore extends PromiseStore {
    failing = new Set<string>()
    override async get(sid: string) {
      if (this.failing.has('get')) throw new Error('get rejected')
      return super.get(sid)
    }
    override async set(sid: string, sess: object) {
      if (this.failing.has('set')) throw new Error('set rejected')
      return super.set(sid, sess)
    }
    override async destroy(sid: string) {
      if (this.failing.has('destroy')) throw new Error('destroy rejected')
      return super.destroy(sid)
    }
  }

  it('on load: next(err), 500', async () => {
    const store = new RejectingStore()
    const { app } = createApp(store)
    const first = await request(app).get('/set').expect(200)
    store.failing.add('get')
    await request(app).get('/').set('Cookie', cookie(first)).expect(500, 'error: get rejected')
  })

  it('on save at the end of the response: next(err) once the response is sent', async () => {
    const store = new RejectingStore()
    store.failing.add('set')
    const { app, errors } = createApp(store)
    await request(app).get('/set').expect(200, 'set')
    await delay(5)
    assert.deepEqual(errors, ['set rejected'])
  })

  it('in Session methods: the promise rejects, the callback gets the error', async () => {
    const store = new RejectingStore()
    const { app } = createApp(store)
    const first = await request(app).get('/set').expect(200)
    store.failing.add('set')
    await request(app).get('/methods-await').set('Cookie', cookie(first)).expect(500, 'error: set rejected')
    await request(app).get('/methods-callback').set('Cookie', cookie(first)).expect(500, 'error: set rejected')
    store.failing.clear()
    store.failing.add('destroy')
    await request(app).get('/destroy-await').set('Cookie', cookie(first)).expect(500, 'error: destroy rejected')
  })
})

describe('AsyncStore: one async implementation, callable both ways', () => {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason)
  }
  afterEach(() => {
    process.removeListener('unhandledRejection', onUnhandled)
  })

  const data = (views: number): StoredData => ({ cookie: { originalMaxAge: null, expires: null }, views })

  it('is a Store (an EventEmitter), exported by both the CommonJS and the ESM entry', async () => {
    const store = new MapStore()
    assert.ok(store instanceof session.AsyncStore)
    assert.ok(store instanceof session.Store)
    assert.equal(typeof store.on, 'function')
    const esm = await import('express-session')
    assert.equal((esm as unknown as { AsyncStore: unknown }).AsyncStore, session.AsyncStore)
  })

  it('with await: every method returns what the implementation resolved', async () => {
    const store = new MapStore()
    assert.equal(await store.set('a', data(1)), undefined)
    await store.set('b', data(2))
    assert.deepEqual(await store.get('a'), data(1))
    assert.equal(await store.get('missing'), null)
    assert.equal(await store.length(), 2)
    assert.deepEqual(Object.keys(await store.all()).sort(), ['a', 'b'])
    await store.touch('a', { ...data(1), cookie: { originalMaxAge: 5, expires: 'later' } })
    assert.equal((await store.get('a'))?.cookie.expires, 'later')
    await store.destroy('a')
    assert.equal(await store.get('a'), null)
    await store.clear()
    assert.equal(await store.length(), 0)
  })

  /** Calls `call` with a callback; resolves with what it was called with, how often, and whether synchronously. */
  async function viaCallback(call: (cb: (...args: any[]) => void) => void) {
    let calls = 0
    let returned = false
    let sync = false
    const args = await new Promise<any[]>((resolve) => {
      call((...received: any[]) => {
        calls++
        if (!returned) sync = true
        resolve(received)
      })
      returned = true
    })
    await delay(5)
    return { args, calls, sync }
  }

  it('with callbacks: each called once, never synchronously, with (null, result) or nothing', async () => {
    // typed as the base class, as a consumer holding a Store sees it
    const store: session.AsyncStore<StoredData> = new MapStore()
    const seen = [
      await viaCallback((cb) => store.set('a', data(7), cb)),
      await viaCallback((cb) => store.get('a', cb)),
      await viaCallback((cb) => store.length!(cb)),
      await viaCallback((cb) => store.all!(cb)),
      await viaCallback((cb) => store.touch!('a', { ...data(7), cookie: { originalMaxAge: 5, expires: 'later' } }, cb)),
      await viaCallback((cb) => store.destroy('a', cb)),
      await viaCallback((cb) => store.get('a', cb)),
      await viaCallback((cb) => store.clear!(cb)),
    ]
    assert.deepEqual(seen.map(({ args }) => args), [
      [],
      [null, data(7)],
      [null, 1],
      [null, { a: data(7) }],
      [],
      [],
      [null, null],
      [],
    ])
    assert.deepEqual(seen.map(({ calls }) => calls), [1, 1, 1, 1, 1, 1, 1, 1])
    assert.deepEqual(seen.map(({ sync }) => sync), [false, false, false, false, false, false, false, false])
  })

  it('with callbacks, even an implementation that answers synchronously calls back asynchronously', async () => {
    class Immediate extends session.AsyncStore<StoredData> {
      // not async: returns plain values
      override get(): Promise<StoredData | null> {
        return null as unknown as Promise<StoredData | null>
      }
      override set(): Promise<void> {
        return undefined as unknown as Promise<void>
      }
      override destroy(): Promise<void> {
        return undefined as unknown as Promise<void>
      }
    }
    const store: session.AsyncStore<StoredData> = new Immediate()
    const got = await viaCallback((cb) => store.get('x', cb))
    assert.deepEqual(got, { args: [null, null], calls: 1, sync: false })
    assert.equal(await store.get('x'), null, 'without a callback: a promise of the value')
  })

  it('a rejection or a throw goes to the callback as an Error, never to unhandledRejection', async () => {
    process.on('unhandledRejection', onUnhandled)
    class Broken extends session.AsyncStore<StoredData> {
      override async get(): Promise<StoredData | null> {
        throw new Error('database is down')
      }
      // not async: throws synchronously
      override set(): Promise<void> {
        throw new Error('thrown before any promise')
      }
      override destroy(): Promise<void> {
        return Promise.reject('a string, not an Error')
      }
      override touch(): Promise<void> {
        return Promise.reject() // no reason at all
      }
    }
    // typed as the base: consumers see both calling conventions (the subclass type shows the async methods written)
    const store: session.AsyncStore<StoredData> = new Broken()
    const got = await new Promise<unknown[]>((resolve) => store.get('x', (...args: unknown[]) => resolve(args)))
    assert.equal((got[0] as Error).message, 'database is down')

    let thrownToCaller: unknown
    let setCalls = 0
    const setError = await new Promise<unknown>((resolve) => {
      try {
        store.set('x', data(1), (err) => {
          setCalls++
          resolve(err)
        })
      } catch (err) {
        thrownToCaller = err
        resolve(undefined)
      }
    })
    assert.equal(thrownToCaller, undefined, 'nothing thrown into the caller')
    assert.equal((setError as Error).message, 'thrown before any promise')

    const destroyError = await new Promise<unknown>((resolve) => store.destroy('x', resolve))
    assert.ok(destroyError instanceof Error, 'a non-Error rejection arrives as an Error')
    assert.match(destroyError.message, /a string, not an Error/)

    const touchError = await new Promise<unknown>((resolve) => store.touch!('x', data(1), resolve))
    assert.ok(touchError instanceof Error, 'a rejection without a reason still arrives as an Error')
    assert.match(touchError.message, /touch/)

    // an explicitly empty callback slot: nobody listens, as with a 1.x store
    void store.destroy('x', undefined)

    await assert.rejects(store.get('x'), /database is down/)
    await assert.rejects(store.set('x', data(1)), /thrown before any promise/)

    await delay(10)
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(setCalls, 1)
    assert.deepEqual(unhandled, [])
  })

  it('behind the middleware: a failing AsyncStore answers 500 with its error', async () => {
    class DownStore extends MapStore {
      override async get(): Promise<StoredData | null> {
        throw new Error('database is down')
      }
    }
    const { app } = createApp(new DownStore())
    await request(app).get('/').set('Cookie', signedCookie('abc')).expect(500, 'error: database is down')
  })

  it('without touch: the middleware neither touches nor rewrites an unchanged session', async () => {
    class NoTouch extends session.AsyncStore<StoredData> implements Inspectable {
      map = new Map<string, string>()
      calls: string[] = []
      private readonly data = backing(this)
      override async get(sid: string) {
        return this.data.get(sid)
      }
      override async set(sid: string, sess: StoredData) {
        this.data.set(sid, sess)
      }
      override async destroy(sid: string) {
        this.data.destroy(sid)
      }
    }
    const store = new NoTouch()
    assert.equal(store.touch, undefined, 'an optional method not written stays absent')
    const { app } = createApp(store)
    const first = await request(app).get('/set').expect(200)
    store.calls.length = 0
    await request(app).get('/').set('Cookie', cookie(first)).expect(200, 'views: 1')
    assert.deepEqual(store.calls, ['get ' + sid(first)])
  })
})
