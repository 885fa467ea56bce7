/**
 * The `touchAfter` option: a request that changes nothing does not touch the store while the stored expiry was
 * pushed forward less than `touchAfter` ago, and then leaves the cookie's expiry as stored too. The clock is
 * node's mocked `Date`, so that time passes exactly.
 */
import { describe, it, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import request from 'supertest'
import session from 'express-session'
import { expiryFresh } from '../../src/middleware/request-state.js'
import {
  CountingStore,
  cookie,
  createExpressApp,
  expires,
  maybeModify,
  setCookieFor,
  shouldNotSetCookie,
  sid,
  type ExpressHandler,
} from '../support/http.js'

const MAX_AGE = 3_600_000
const TOUCH_AFTER = 60_000
/** The mocked clock's start, on a whole second (the cookie's `Expires` has one-second resolution). */
const T0 = Date.UTC(2030, 0, 1)

/** An app on a {@link CountingStore}, with the clock mocked at {@link T0}; `touchAfter` and `maxAge` set unless overridden. */
function setup(t: TestContext, options: session.SessionOptions = {}, handler: ExpressHandler = maybeModify, store = new CountingStore()) {
  t.mock.timers.enable({ apis: ['Date'], now: T0 })
  const app = createExpressApp({
    store, resave: false, saveUninitialized: true, touchAfter: TOUCH_AFTER, cookie: { maxAge: MAX_AGE }, ...options,
  }, handler)
  return { app, store }
}

/** Creates a session (at {@link T0}), then resets the store's counters; answers its `Cookie` header and ID. */
async function start(app: ReturnType<typeof createExpressApp>, store: CountingStore): Promise<{ jar: string; id: string }> {
  const res = await request(app).get('/').expect(200)
  store.resetCalls()
  return { jar: cookie(res), id: sid(res) }
}

/** The expiry the store holds for `id` (ms since the epoch). */
function storedExpiry(store: CountingStore, id: string): number {
  const stored = store.stored(id)
  assert.ok(stored, `session ${id} not in the store`)
  return new Date(stored.cookie.expires).getTime()
}

/** The store's writes: set, patch and touch calls. */
function writes(store: CountingStore): number {
  return store.calls.set + store.calls.patch + store.calls.touch
}

describe('touchAfter option', () => {
  it('skips the touch of unchanged requests within touchAfter, touches once it has passed, then skips again', async (t) => {
    const { app, store } = setup(t)
    const { jar, id } = await start(app, store)
    for (let i = 0; i < 5; i++) {
      t.mock.timers.tick(10_000)
      await request(app).get('/').set('Cookie', jar).expect(shouldNotSetCookie()).expect(200, id)
    }
    t.mock.timers.tick(9_999)
    await request(app).get('/').set('Cookie', jar).expect(200, id)
    assert.equal(writes(store), 0, 'no store write within touchAfter')
    assert.equal(storedExpiry(store, id), T0 + MAX_AGE)

    t.mock.timers.tick(1)
    await request(app).get('/').set('Cookie', jar).expect(200, id)
    assert.deepEqual(store.calls, { get: 7, set: 0, patch: 0, destroy: 0, touch: 1 })
    assert.equal(storedExpiry(store, id), T0 + TOUCH_AFTER + MAX_AGE)

    t.mock.timers.tick(TOUCH_AFTER - 1)
    await request(app).get('/').set('Cookie', jar).expect(200, id)
    assert.equal(store.calls.touch, 1, 'skipped again: the touch pushed the expiry')
    t.mock.timers.tick(1)
    await request(app).get('/').set('Cookie', jar).expect(200, id)
    assert.equal(store.calls.touch, 2)
  })

  for (const touchAfter of [undefined, 0]) {
    it(`touches on every unchanged request with touchAfter ${String(touchAfter)}, as 1.x does`, async (t) => {
      const { app, store } = setup(t, { touchAfter })
      const { jar, id } = await start(app, store)
      for (let i = 1; i <= 3; i++) {
        t.mock.timers.tick(1_000)
        await request(app).get('/').set('Cookie', jar).expect(200, id)
        assert.equal(storedExpiry(store, id), T0 + i * 1_000 + MAX_AGE)
      }
      assert.equal(store.calls.touch, 3)
    })
  }

  it('saves a modified session within touchAfter, its expiry pushed; the save counts as the last push', async (t) => {
    const { app, store } = setup(t)
    const { jar, id } = await start(app, store)
    t.mock.timers.tick(10_000)
    const res = await request(app).get('/').set('Cookie', jar).set('X-Set', 'x').expect(200, id)
    assert.equal(store.calls.set, 1)
    assert.equal(store.stored(id)?.value, 'x')
    assert.equal(storedExpiry(store, id), T0 + 10_000 + MAX_AGE)
    assert.equal(expires(res), new Date(T0 + 10_000 + MAX_AGE).toUTCString())

    t.mock.timers.tick(TOUCH_AFTER - 1)
    await request(app).get('/').set('Cookie', jar).expect(200, id)
    assert.equal(writes(store), 1)
    t.mock.timers.tick(1)
    await request(app).get('/').set('Cookie', jar).expect(200, id)
    assert.equal(store.calls.touch, 1)
  })

  describe('with rolling', () => {
    it('sends the stored expiry while the touch is skipped, and the pushed one when it happens', async (t) => {
      const { app, store } = setup(t, { rolling: true })
      const { jar, id } = await start(app, store)
      t.mock.timers.tick(10_500)
      const skipped = await request(app).get('/').set('Cookie', jar).expect(200, id)
      assert.ok(setCookieFor(skipped), 'rolling sets the cookie on every response')
      assert.equal(expires(skipped), new Date(storedExpiry(store, id)).toUTCString())
      assert.equal(expires(skipped), new Date(T0 + MAX_AGE).toUTCString())
      assert.equal(writes(store), 0)

      t.mock.timers.tick(TOUCH_AFTER)
      const touched = await request(app).get('/').set('Cookie', jar).expect(200, id)
      assert.equal(store.calls.touch, 1)
      assert.equal(storedExpiry(store, id), T0 + 10_500 + TOUCH_AFTER + MAX_AGE)
      assert.equal(expires(touched), new Date(storedExpiry(store, id)).toUTCString())
    })

    it('sends the pushed expiry when the session is modified', async (t) => {
      const { app, store } = setup(t, { rolling: true })
      const { jar, id } = await start(app, store)
      t.mock.timers.tick(5_000)
      const res = await request(app).get('/').set('Cookie', jar).set('X-Set', 'y').expect(200, id)
      assert.equal(store.calls.set, 1)
      assert.equal(storedExpiry(store, id), T0 + 5_000 + MAX_AGE)
      assert.equal(expires(res), new Date(T0 + 5_000 + MAX_AGE).toUTCString())
    })

    it('headers written before a change: the cookie has the stored expiry, the save pushes the store\'s', async (t) => {
      const streaming: ExpressHandler = (req, res) => {
        res.write('a')
        req.session.value = req.headers['x-set']
        res.end('b')
      }
      const { app, store } = setup(t, { rolling: true }, streaming)
      const { jar, id } = await start(app, store)
      t.mock.timers.tick(5_000)
      const res = await request(app).get('/').set('Cookie', jar).set('X-Set', 'late').expect(200, 'ab')
      assert.equal(expires(res), new Date(T0 + MAX_AGE).toUTCString(), 'the browser\'s cookie ends first')
      assert.equal(store.calls.set, 1)
      assert.equal(storedExpiry(store, id), T0 + 5_000 + MAX_AGE)
    })
  })

  it('honours an explicit req.session.touch(): the cookie is reset and the store touched', async (t) => {
    const handler: ExpressHandler = (req, res) => {
      if (req.headers['x-touch'] !== undefined) req.session.touch()
      res.end(req.session.id)
    }
    const { app, store } = setup(t, { rolling: true }, handler)
    const { jar, id } = await start(app, store)
    t.mock.timers.tick(5_000)
    const res = await request(app).get('/').set('Cookie', jar).set('X-Touch', '1').expect(200, id)
    assert.equal(store.calls.touch, 1)
    assert.equal(storedExpiry(store, id), T0 + 5_000 + MAX_AGE)
    assert.equal(expires(res), new Date(T0 + 5_000 + MAX_AGE).toUTCString())
  })

  it('gives a regenerated session a new expiry', async (t) => {
    const handler: ExpressHandler = (req, res, next) => {
      req.session.regenerate((err: unknown) => (err ? next(err) : res.end(req.session.id)))
    }
    const { app, store } = setup(t, {}, handler)
    const { jar, id } = await start(app, store)
    t.mock.timers.tick(5_000)
    const res = await request(app).get('/').set('Cookie', jar).expect(200)
    assert.notEqual(sid(res), id)
    assert.equal(storedExpiry(store, sid(res)), T0 + 5_000 + MAX_AGE)
    assert.equal(expires(res), new Date(T0 + 5_000 + MAX_AGE).toUTCString())
  })

  describe('changes nothing', () => {
    it('for a browser-session cookie (no maxAge): touched on every request', async (t) => {
      const { app, store } = setup(t, { cookie: {} })
      const { jar, id } = await start(app, store)
      for (let i = 0; i < 3; i++) {
        t.mock.timers.tick(1_000)
        await request(app).get('/').set('Cookie', jar).expect(200, id)
      }
      assert.equal(store.calls.touch, 3)
    })

    it('with resave: true: saved on every request, its expiry pushed', async (t) => {
      const { app, store } = setup(t, { resave: true, rolling: true })
      const { jar, id } = await start(app, store)
      for (let i = 1; i <= 3; i++) {
        t.mock.timers.tick(1_000)
        const res = await request(app).get('/').set('Cookie', jar).expect(200, id)
        assert.equal(storedExpiry(store, id), T0 + i * 1_000 + MAX_AGE)
        assert.equal(expires(res), new Date(T0 + i * 1_000 + MAX_AGE).toUTCString())
      }
      assert.equal(store.calls.set, 3)
      assert.equal(store.calls.touch, 0)
    })

    it('with a store without touch: the rolling cookie restarts on every request, as in 1.x', async (t) => {
      const store = new CountingStore()
      ;(store as { touch?: unknown }).touch = undefined
      const { app } = setup(t, { rolling: true }, maybeModify, store)
      const { jar, id } = await start(app, store)
      t.mock.timers.tick(5_000)
      const res = await request(app).get('/').set('Cookie', jar).expect(200, id)
      assert.equal(expires(res), new Date(T0 + 5_000 + MAX_AGE).toUTCString())
      assert.equal(writes(store), 0)
    })
  })

  it('with a patch store: unchanged requests write nothing, a change is patched with the pushed expiry', async (t) => {
    const store = new CountingStore({ patch: true })
    const { app } = setup(t, {}, maybeModify, store)
    const { jar, id } = await start(app, store)
    t.mock.timers.tick(5_000)
    await request(app).get('/').set('Cookie', jar).expect(200, id)
    assert.equal(writes(store), 0)
    t.mock.timers.tick(5_000)
    await request(app).get('/').set('Cookie', jar).set('X-Set', 'p').expect(200, id)
    assert.deepEqual([store.calls.patch, store.calls.set, store.calls.touch], [1, 0, 0])
    assert.equal(store.stored(id)?.value, 'p')
    assert.equal(storedExpiry(store, id), T0 + 10_000 + MAX_AGE)
  })

  describe('option validation', () => {
    const accepted = 'a positive, finite number of milliseconds, or 0 for none'
    const cases: Array<[unknown, string]> = [[-1, 'number -1'], [Number.NaN, 'number NaN'], ['60000', 'string "60000"'], [Infinity, 'number Infinity']]
    for (const [value, got] of cases) {
      it(`refuses ${got}`, () => {
        assert.throws(
          () => session({ secret: 'keyboard cat', resave: false, saveUninitialized: false, touchAfter: value as number }),
          { name: 'TypeError', message: `touchAfter option must be ${accepted} (got ${got})` },
        )
      })
    }
    it('refuses a touchAfter not below cookie.maxAge: a session that never changes would never be touched', () => {
      assert.throws(
        () => session({ secret: 'keyboard cat', resave: false, saveUninitialized: false, cookie: { maxAge: 60_000 }, touchAfter: 60_000 }),
        { name: 'TypeError', message: 'touchAfter option must be fewer milliseconds than cookie.maxAge (60000) (got number 60000); a small part of it, e.g. a minute for a day' },
      )
      session({ secret: 'keyboard cat', resave: false, saveUninitialized: false, cookie: { maxAge: 60_001 }, touchAfter: 60_000 })
    })
  })
})

describe('expiryFresh', () => {
  const state = { config: { touchAfter: TOUCH_AFTER } } as Parameters<typeof expiryFresh>[0]
  const now = T0 + MAX_AGE
  const pushedAt = (at: number) => ({ expires: new Date(at + MAX_AGE), originalMaxAge: MAX_AGE })

  it('is true while the expiry was pushed less than touchAfter ago', () => {
    assert.equal(expiryFresh(state, pushedAt(now), now), true)
    assert.equal(expiryFresh(state, pushedAt(now - TOUCH_AFTER + 1), now), true)
    assert.equal(expiryFresh(state, pushedAt(now - TOUCH_AFTER), now), false)
  })

  it('counts an expiry later than now + originalMaxAge as fresh', () => {
    assert.equal(expiryFresh(state, pushedAt(now + 5_000), now), true)
  })

  it('is false with touchAfter 0, and for a cookie without expires or originalMaxAge', () => {
    const off = { config: { touchAfter: 0 } } as Parameters<typeof expiryFresh>[0]
    assert.equal(expiryFresh(off, pushedAt(now), now), false)
    assert.equal(expiryFresh(state, { expires: null, originalMaxAge: null }, now), false)
    assert.equal(expiryFresh(state, { expires: new Date(now + MAX_AGE), originalMaxAge: null }, now), false)
  })
})
