/**
 * The `absoluteTimeout` option (OWASP absolute timeout): a session older than the timeout since it was created
 * is destroyed in the store and replaced by a fresh one when it is next loaded, however active it has been.
 * With the option off, nothing a 1.x app or store sees changes.
 */
import { describe, it, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import request from 'supertest'
import session from 'express-session'
import { CountingStore, cookie, createExpressApp, delay, setCookieFor, sid, waitFor } from '../support/http.js'

/** The app of these tests: `/login` stores a user, `/regenerate` regenerates (keeping the data), `/` answers `id user`. */
function createApp(options: session.SessionOptions, store = new CountingStore()) {
  const app = createExpressApp({ store, resave: false, saveUninitialized: false, ...options }, (req, res) => {
    if (req.path === '/login') {
      req.session.user = 'tj'
      res.end(`${req.sessionID} tj`)
    } else if (req.path === '/regenerate') {
      req.session.regenerate({ keepData: true }, (err: unknown) => {
        if (err) throw err
        res.end(`${req.sessionID} ${req.session.user}`)
      })
    } else {
      res.end(`${req.sessionID} ${req.session.user ?? 'nobody'}`)
    }
  })
  return { app, store }
}

/** `[sessionId, user]` as the app answers them. */
function answer(res: { text: string }): [string, string] {
  const [id, user] = res.text.split(' ')
  return [id!, user!]
}

/**
 * Timing without margins that a busy machine could eat: a session created during a request was created after
 * the request was sent and before its response arrived. So a request whose response arrives less than the
 * timeout after `before` of the creating request certainly found the session younger than the timeout, and one
 * sent more than the timeout after `after` certainly found it older.
 */
async function timed<T>(send: () => Promise<T>): Promise<{ res: T; before: number; after: number }> {
  const before = Date.now()
  const res = await send()
  return { res, before, after: Date.now() }
}

/** Waits until `ms` milliseconds have passed since `since`. */
function until(since: number, ms: number): Promise<void> {
  return delay(Math.max(0, since + ms - Date.now()))
}

/** Marks a test skipped (visibly) when the machine was too busy to make its requests within the timeout. */
function tooSlow(t: TestContext): void {
  t.skip('the machine was too busy to make the requests of this test within the timeout')
}

describe('absoluteTimeout', () => {
  it('replaces a session older than the timeout however active it was (rolling: true)', async (t) => {
    const { app, store } = createApp({ absoluteTimeout: 500, rolling: true, cookie: { maxAge: 60_000 } })
    await request(app).get('/').expect(200) // warm up: the first request of a process is slow
    const { res: login, before, after: created } = await timed(() => request(app).get('/login').expect(200))
    const id = sid(login)
    let browserCookie = cookie(login)

    // used every 30 ms: activity renews the idle timeout (rolling) but not the absolute one
    let checked = 0
    while (Date.now() - created < 400) {
      const res = await request(app).get('/').set('Cookie', browserCookie).expect(200)
      if (Date.now() - before < 500) {
        assert.deepEqual(answer(res), [id, 'tj'], 'still the same session before the timeout')
        assert.equal(sid(res), id, 'rolling: the cookie is renewed on every response')
        browserCookie = cookie(res)
        checked++
      }
      await delay(30)
    }
    if (checked < 2) return tooSlow(t)

    await until(created, 520)
    const after = await request(app).get('/').set('Cookie', browserCookie).expect(200)
    const [newId, user] = answer(after)
    assert.notEqual(newId, id, 'a fresh session')
    assert.equal(user, 'nobody', 'without the old data')
    assert.equal(setCookieFor(after), undefined, 'uninitialized, so not sent (saveUninitialized: false)')
    await waitFor(() => store.stored(id) === undefined, 1000, 'the expired session to be destroyed in the store')

    // the old cookie no longer gives the old session
    const again = await request(app).get('/').set('Cookie', browserCookie).expect(200)
    assert.notEqual(answer(again)[0], id)
    assert.equal(answer(again)[1], 'nobody')
  })

  it('keeps a session younger than the timeout', async () => {
    const { app } = createApp({ absoluteTimeout: 60_000 })
    const login = await request(app).get('/login').expect(200)
    await delay(50)
    const res = await request(app).get('/').set('Cookie', cookie(login)).expect(200)
    assert.deepEqual(answer(res), [sid(login), 'tj'])
  })

  it('gives the fresh session the usual treatment: not saved while uninitialized (saveUninitialized: false)', async () => {
    const { app, store } = createApp({ absoluteTimeout: 50 })
    const login = await request(app).get('/login').expect(200)
    const id = sid(login)
    await delay(80)
    store.resetCalls()
    const res = await request(app).get('/').set('Cookie', cookie(login)).expect(200)
    assert.notEqual(answer(res)[0], id)
    assert.equal(setCookieFor(res), undefined, 'no cookie for an uninitialized session')
    await waitFor(() => store.stored(id) === undefined, 1000, 'the expired session to be destroyed')
    assert.equal(store.calls.set, 0, 'the uninitialized replacement is not saved')
    assert.deepEqual(Object.keys(store.sessions), [])
  })

  it('gives the fresh session a cookie and a save when it is used (saveUninitialized: true)', async () => {
    const { app, store } = createApp({ absoluteTimeout: 50, saveUninitialized: true })
    const login = await request(app).get('/login').expect(200)
    const id = sid(login)
    await delay(80)
    const res = await request(app).get('/').set('Cookie', cookie(login)).expect(200)
    const newId = sid(res)
    assert.notEqual(newId, id)
    assert.equal(answer(res)[0], newId)
    await waitFor(() => store.stored(id) === undefined, 1000, 'the expired session to be destroyed')
    assert.ok(store.stored(newId), 'the fresh session is stored')
  })

  it('counts from creation, and regenerate() starts the count again without keepData copying the old start', async (t) => {
    const { app } = createApp({ absoluteTimeout: 400 })
    await request(app).get('/').expect(200) // warm up: the first request of a process is slow
    const { res: login, after: created } = await timed(() => request(app).get('/login').expect(200))
    await delay(250)
    const { res: regenerated, before: regenerating, after: regeneratedAt } =
      await timed(() => request(app).get('/regenerate').set('Cookie', cookie(login)).expect(200))
    const newId = sid(regenerated)
    assert.notEqual(newId, sid(login))
    assert.deepEqual(answer(regenerated), [newId, 'tj'], 'keepData moved the user')

    // sent more than 400 ms after the first session was created, answered within 400 ms of the regeneration
    await until(created, 420)
    const res = await request(app).get('/').set('Cookie', cookie(regenerated)).expect(200)
    if (Date.now() - regenerating >= 400) return tooSlow(t)
    assert.deepEqual(answer(res), [newId, 'tj'], 'the regenerated session is alive')

    await until(regeneratedAt, 420)
    const later = await request(app).get('/').set('Cookie', cookie(regenerated)).expect(200)
    assert.notEqual(answer(later)[0], newId)
    assert.equal(answer(later)[1], 'nobody', 'and expires 400 ms after its own creation')
  })

  it('does not extend a session through reload(), save() or touch', async (t) => {
    const store = new CountingStore()
    const app = createExpressApp({ store, resave: true, saveUninitialized: false, absoluteTimeout: 300 }, (req, res) => {
      if (req.path === '/login') req.session.user = 'tj'
      req.session.reload(() => {
        req.session.touch()
        req.session.save(() => res.end(`${req.sessionID} ${req.session.user ?? 'nobody'}`))
      })
    })
    await request(app).get('/').expect(200) // warm up: the first request of a process is slow
    const { res: login, before, after: created } = await timed(() => request(app).get('/login').expect(200))
    let checked = 0
    for (let i = 0; i < 3; i++) {
      await delay(40)
      const res = await request(app).get('/').set('Cookie', cookie(login)).expect(200)
      if (Date.now() - before < 300) {
        assert.equal(res.text, `${sid(login)} tj`)
        checked++
      }
    }
    if (checked < 1) return tooSlow(t)
    await until(created, 320)
    const res = await request(app).get('/').set('Cookie', cookie(login)).expect(200)
    assert.notEqual(answer(res)[0], sid(login))
  })

  it('starts counting, for a session stored before the option was on, at its first load', async () => {
    const store = new CountingStore()
    const before = createApp({}, store).app
    const login = await request(before).get('/login').expect(200)
    await delay(80)

    const { app } = createApp({ absoluteTimeout: 60 }, store)
    const first = await request(app).get('/').set('Cookie', cookie(login)).expect(200)
    assert.deepEqual(answer(first), [sid(login), 'tj'], 'not expired at once, though older than 60 ms')
    await delay(90)
    const res = await request(app).get('/').set('Cookie', cookie(login)).expect(200)
    assert.equal(answer(res)[1], 'nobody', 'expired 60 ms after the first load')
  })

  it('stores the creation time with the session when on, and nothing extra when off', async () => {
    const off = createApp({})
    const offLogin = await request(off.app).get('/login').expect(200)
    assert.deepEqual(Object.keys(off.store.stored(sid(offLogin))!).sort(), ['cookie', 'user'])

    const on = createApp({ absoluteTimeout: 60_000 })
    const before = Date.now()
    const onLogin = await request(on.app).get('/login').expect(200)
    const stored = on.store.stored(sid(onLogin))!
    const extra = Object.keys(stored).filter((key) => key !== 'cookie' && key !== 'user')
    assert.equal(extra.length, 1, `one bookkeeping key: ${JSON.stringify(stored)}`)
    const createdAt = stored[extra[0]!]
    assert.equal(typeof createdAt, 'number')
    assert.ok(createdAt >= before && createdAt <= Date.now(), 'the creation time in ms')
  })

  it('changes nothing when off (the default) or 0: an old session lives on', async () => {
    for (const absoluteTimeout of [undefined, 0]) {
      const { app, store } = createApp({ absoluteTimeout })
      const login = await request(app).get('/login').expect(200)
      await delay(60)
      store.resetCalls()
      const res = await request(app).get('/').set('Cookie', cookie(login)).expect(200)
      assert.deepEqual(answer(res), [sid(login), 'tj'])
      assert.equal(store.calls.destroy, 0)
    }
  })

  describe('invalid values', () => {
    for (const value of [-1, NaN, Infinity, '1000', true]) {
      it(`throws a TypeError for ${typeof value === 'string' ? `'${value}'` : String(value)}`, () => {
        assert.throws(() => session({ secret: 'x', resave: false, saveUninitialized: false, absoluteTimeout: value as number }), {
          name: 'TypeError',
          message: /^absoluteTimeout option must be a positive, finite number of milliseconds, or 0 for none \(got /,
        })
      })
    }
  })
})
