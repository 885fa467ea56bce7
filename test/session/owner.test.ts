/**
 * The owner index through the middleware: `owner`, `req.session.listOwnSessions()` and
 * `req.session.destroyOtherSessions()` on MemoryStore (its index) and on a store without one (a scan of `all()`),
 * `track: true`'s device facts, and bad input (a throwing owner, a non-string owner, thousands of sessions).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import express from 'express'
import request from 'supertest'
import session from 'express-session'
import { captureDebug } from '../support/debug-output.js'
import { CountingStore, delay, waitFor } from '../support/http.js'

type Agent = ReturnType<typeof request.agent>

/** A MemoryStore without the owner index: the middleware falls back to scanning `all()`. */
class ScannedStore extends CountingStore {
  scans = 0
  constructor() {
    super({ patch: true })
    ;(this as { sessionsOf?: unknown }).sessionsOf = undefined
    ;(this as { destroyOwner?: unknown }).destroyOwner = undefined
  }
  override all(callback: (err: any, obj?: any) => void): void {
    this.scans++
    super.all(callback)
  }
}

/** A MemoryStore counting the owner-index calls too. */
class IndexedStore extends CountingStore {
  index = { sessionsOf: 0, destroyOwner: 0, all: 0 }
  constructor() {
    super({ patch: true })
  }
  override sessionsOf(owner: string, options: any, callback?: any): void {
    this.index.sessionsOf++
    super.sessionsOf(owner, options, callback)
  }
  override destroyOwner(owner: string, options: any, callback?: any): void {
    this.index.destroyOwner++
    super.destroyOwner(owner, options, callback)
  }
  override all(callback: (err: any, obj?: any) => void): void {
    this.index.all++
    super.all(callback)
  }
}

function app(store: session.Store, options: Partial<session.SessionOptions> = {}, errors: unknown[] = []): express.Express {
  const server = express()
  server.use(session({
    secret: 'keyboard cat', resave: false, saveUninitialized: false, store,
    owner: (s: any) => s.user, cookie: { maxAge: 60_000 }, ...options,
  }))
  server.post('/login/:user', (req: any, res) => {
    req.session.user = req.params.user
    res.end('ok')
  })
  server.post('/relogin/:user', (req: any, res, next) => {
    req.session.regenerate((err: unknown) => {
      if (err) return next(err)
      req.session.user = req.params.user
      res.end('ok')
    })
  })
  server.post('/logout', (req: any, res, next) => {
    req.session.destroy((err: unknown) => (err ? next(err) : res.end('bye')))
  })
  server.get('/me', (req: any, res) => { res.end(req.session.user ?? 'anonymous') })
  server.get('/list', async (req: any, res, next) => {
    try {
      const limit = req.query.limit === undefined ? undefined : Number(req.query.limit)
      res.json(await req.session.listOwnSessions(limit === undefined ? undefined : { limit }))
    } catch (err) {
      next(err)
    }
  })
  server.get('/list-cb', (req: any, res, next) => {
    req.session.listOwnSessions((err: unknown, sessions: unknown) => (err ? next(err) : res.json(sessions)))
  })
  server.post('/others', async (req: any, res, next) => {
    try {
      res.json({ destroyed: await req.session.destroyOtherSessions() })
    } catch (err) {
      next(err)
    }
  })
  server.post('/others-cb', (req: any, res, next) => {
    req.session.destroyOtherSessions((err: unknown, destroyed: number) => (err ? next(err) : res.json({ destroyed })))
  })
  server.use((err: any, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    errors.push(err)
    if (res.headersSent) return
    res.status(500).end(String(err?.message ?? err))
  })
  return server
}

async function login(server: express.Express, user: string, userAgent = 'test-agent'): Promise<Agent> {
  const agent = request.agent(server)
  await agent.post(`/login/${user}`).set('User-Agent', userAgent).expect(200)
  return agent
}

async function me(agent: Agent): Promise<string> {
  return (await agent.get('/me').expect(200)).text
}

/** The IDs each owner has in the store, read from every stored session: what the index must agree with. */
function truth(store: session.MemoryStore): Map<string, string[]> {
  const owners = new Map<string, string[]>()
  for (const [sid, json] of Object.entries(store.sessions)) {
    const owner = JSON.parse(json).__sessionOwner
    if (typeof owner === 'string') owners.set(owner, [...(owners.get(owner) ?? []), sid].sort())
  }
  return owners
}

function listed(store: session.MemoryStore, owner: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    store.sessionsOf(owner, (err, sessions) => (err ? reject(err) : resolve(sessions!.map((s) => s.id).sort())))
  })
}

for (const [kind, makeStore] of [['MemoryStore (its owner index)', () => new IndexedStore()], ['a store without an index (a scan of all())', () => new ScannedStore()]] as const) {
  describe(`owner index on ${kind}`, () => {
    it('lists the two sessions of one owner, not the other owner\'s; destroyOtherSessions leaves exactly the current one', async () => {
      const store = makeStore()
      const server = app(store)
      const [alice1, alice2, bob] = [await login(server, 'alice', 'UA one'), await login(server, 'alice', 'UA two'), await login(server, 'bob')]

      const list = (await alice1.get('/list').expect(200)).body as Array<{ id: string; current: boolean; session: any }>
      assert.equal(list.length, 2)
      assert.equal(list[0]!.current, true)
      assert.equal(list[1]!.current, false)
      assert.deepEqual(list.map((s) => s.session.user), ['alice', 'alice'])
      assert.deepEqual((await alice2.get('/list-cb').expect(200)).body.map((s: any) => s.current), [true, false])
      assert.equal((await bob.get('/list').expect(200)).body.length, 1)

      assert.deepEqual((await alice1.post('/others').expect(200)).body, { destroyed: 1 })
      assert.equal(await me(alice1), 'alice')
      assert.equal(await me(alice2), 'anonymous', 'the other device is logged out')
      assert.equal(await me(bob), 'bob', 'another owner is untouched')
      const after = (await alice1.get('/list').expect(200)).body
      assert.equal(after.length, 1)
      assert.equal(after[0].current, true)
      assert.deepEqual((await alice1.post('/others-cb').expect(200)).body, { destroyed: 0 })
    })

    it('drops an expired session from the listing', async (t) => {
      t.mock.timers.enable({ apis: ['Date'], now: Date.now() })
      const store = makeStore()
      const lasting = app(store)
      const brief = app(store, { cookie: { maxAge: 300 } })
      const alice = await login(lasting, 'alice')
      await login(brief, 'alice')
      assert.equal((await alice.get('/list').expect(200)).body.length, 2)
      t.mock.timers.tick(450)
      assert.equal((await alice.get('/list').expect(200)).body.length, 1)
      assert.deepEqual((await alice.post('/others').expect(200)).body, { destroyed: 0 })
    })

    it('moves a session to its new owner, and follows regenerate and destroy', async () => {
      const store = makeStore()
      const server = app(store)
      const device = await login(server, 'alice')
      const alice = await login(server, 'alice')
      await device.post('/login/bob').expect(200)
      assert.equal((await alice.get('/list').expect(200)).body.length, 1, 'alice lost the session that logged in as bob')
      assert.equal((await device.get('/list').expect(200)).body.length, 1, 'bob has it')

      await device.post('/relogin/alice').expect(200)
      const ids = (await alice.get('/list').expect(200)).body.map((s: any) => s.id)
      assert.equal(ids.length, 2, 'the regenerated session is alice\'s, under its new ID only')
      await device.post('/logout').expect(200)
      assert.equal((await alice.get('/list').expect(200)).body.length, 1)
    })

    it('has no owner, so nothing to list or destroy, before login', async () => {
      const store = makeStore()
      const server = app(store, { saveUninitialized: true })
      const anonymous = request.agent(server)
      assert.deepEqual((await anonymous.get('/list').expect(200)).body, [])
      assert.deepEqual((await anonymous.post('/others').expect(200)).body, { destroyed: 0 })
    })
  })
}

describe('owner index: store round trips', () => {
  it('destroyOtherSessions with N sessions is one destroyOwner call on MemoryStore, never a scan', async () => {
    const store = new IndexedStore()
    const server = app(store)
    const devices = await Promise.all(Array.from({ length: 25 }, () => login(server, 'alice')))
    store.resetCalls()
    assert.deepEqual((await devices[0]!.post('/others').expect(200)).body, { destroyed: 24 })
    assert.deepEqual(store.index, { sessionsOf: 0, destroyOwner: 1, all: 0 })
    assert.deepEqual(store.calls, { get: 1, set: 0, patch: 0, destroy: 0, touch: 1 })
    await devices[0]!.get('/list').expect(200)
    assert.deepEqual(store.index, { sessionsOf: 1, destroyOwner: 1, all: 0 })
  })

  it('a store without an index: one all() and a destroy per other session, with a debug line saying it scans', async () => {
    const store = new ScannedStore()
    const server = app(store)
    const devices = await Promise.all(Array.from({ length: 5 }, () => login(server, 'alice')))
    await login(server, 'bob')
    store.resetCalls()
    const lines = await captureDebug(async () => {
      assert.deepEqual((await devices[0]!.post('/others').expect(200)).body, { destroyed: 4 })
    })
    assert.equal(store.scans, 1)
    assert.equal(store.calls.destroy, 4)
    assert.ok(lines.some((line) => line.includes('no owner index: scanning every session with all()')), lines.join('\n'))
  })

  it('a store with neither an index nor all(): a clear error', async () => {
    const store = new ScannedStore()
    ;(store as { all?: unknown }).all = undefined
    const alice = await login(app(store), 'alice')
    const res = await alice.get('/list').expect(500)
    assert.match(res.text, /neither an owner index \(sessionsOf, destroyOwner\) nor all\(\)/)
  })
})

describe('owner index: bad input', () => {
  it('an owner function that throws: its error reaches the error handler and nothing is saved', async () => {
    const store = new IndexedStore()
    const errors: any[] = []
    const server = app(store, { owner: (s: any) => { if (s.user === 'mallory') throw new Error('no such user'); return s.user } }, errors)
    const agent = request.agent(server)
    // the route answered before the session was saved: the error comes after its response, as a store error does
    const res = await agent.post('/login/mallory')
    assert.equal(res.status, 200)
    assert.equal(res.headers['set-cookie'], undefined, 'no cookie for a session that was not saved')
    await delay(20)
    assert.match(errors[0]?.message, /owner option function threw: no such user; the session was not saved/)
    assert.equal(errors[0].cause.message, 'no such user')
    assert.equal(errors.length, 1, 'reported once')
    assert.equal(Object.keys(store.sessions).length, 0)
    assert.equal(store.calls.set + store.calls.patch, 0)
  })

  it('an owner function that throws in save(): save() throws it, as for data JSON cannot represent', async () => {
    const server = express()
    server.use(session({ secret: 's', resave: false, saveUninitialized: false, owner: () => { throw new Error('boom') } }))
    server.get('/', (req: any, res) => {
      req.session.user = 'x'
      try {
        req.session.save(() => res.end('saved'))
      } catch (err: any) {
        res.end(`thrown: ${err.message}`)
      }
    })
    server.use((_err: any, _req: express.Request, _res: express.Response, _next: express.NextFunction) => undefined)
    assert.match((await request(server).get('/').expect(200)).text, /^thrown: owner option function threw: boom/)
  })

  for (const [label, value, message] of [
    ['a number', 42, /got number 42/],
    ['an object', { id: 1 }, /got an object/],
    ['a very long string', 'x'.repeat(2000), /got a string of 2000 characters/],
  ] as const) {
    it(`an owner function that returns ${label}: a TypeError saying what it must return, nothing saved`, async () => {
      const store = new IndexedStore()
      const errors: any[] = []
      const server = app(store, { owner: (() => value) as any }, errors)
      await request(server).post('/login/alice').expect(200)
      await delay(20)
      assert.match(errors[0]?.message, /owner option function must return a non-empty string of at most 1024 characters, or undefined/)
      assert.match(errors[0].message, message)
      assert.equal(Object.keys(store.sessions).length, 0)
    })
  }

  it('owner: a non-function is refused when the middleware is created', () => {
    assert.throws(() => session({ secret: 's', owner: 'userId' as any }), /owner option must be a function \(session\) => string \| undefined/)
    assert.throws(() => session({ secret: 's', track: 'yes' as any }), /track option must be true or false/)
  })

  it('listOwnSessions without the owner option: a clear error; a bad limit: a clear error', async () => {
    const server = app(new session.MemoryStore(), { owner: undefined })
    const agent = await login(server, 'alice')
    assert.match((await agent.get('/list').expect(500)).text, /the owner option is not set/)
    const owned = await login(app(new session.MemoryStore()), 'alice')
    assert.match((await owned.get('/list?limit=0').expect(500)).text, /limit must be a positive integer \(got 0\)/)
  })

  it('an owner with 3000 sessions: the listing is bounded by its limit, and all the others are destroyed', async () => {
    const store = new IndexedStore()
    for (let i = 0; i < 3000; i++) {
      store.set(`s${i}`, { cookie: { expires: new Date(Date.now() + 60_000), originalMaxAge: 60_000 }, __sessionOwner: 'alice' } as any)
    }
    const alice = await login(app(store), 'alice')
    assert.equal((await alice.get('/list?limit=50').expect(200)).body.length, 50)
    assert.equal((await alice.get('/list').expect(200)).body.length, 1000, 'the default limit')
    assert.deepEqual((await alice.post('/others').expect(200)).body, { destroyed: 3000 })
    assert.equal(Object.keys(store.sessions).length, 1)
  })
})

describe('owner index under parallel logins, logouts and expiries (MemoryStore)', () => {
  it('lists exactly the sessions each owner has in the store', async () => {
    const store = new session.MemoryStore({ checkPeriod: 50 })
    const server = app(store)
    const brief = app(store, { cookie: { maxAge: 200 } })
    const users = ['ann', 'ben', 'cat']
    const devices = await Promise.all(Array.from({ length: 30 }, (_, i) => login(i % 5 === 0 ? brief : server, users[i % 3]!)))
    await Promise.all(devices.map(async (device, i) => {
      if (i % 4 === 1) await device.post('/logout').expect(200)
      else if (i % 4 === 2) await device.post(`/login/${users[(i + 1) % 3]!}`).expect(200)
      else if (i % 7 === 3) await device.post('/relogin/ann').expect(200)
      else if (i === 8) await device.post('/others').expect(200)
    }))
    await delay(300)
    const expected = truth(store)
    const live = [...expected.values()].reduce((sum, sids) => sum + sids.length, 0)
    assert.ok(live > 0, 'some sessions are still owned: the comparison below means something')
    for (const user of users) assert.deepEqual(await listed(store, user), expected.get(user) ?? [], `the sessions of ${user}`)
    store.close()
  })
})

describe('track: true', () => {
  it('records created, last seen and the User-Agent, and listOwnSessions returns them', async () => {
    const store = new session.MemoryStore()
    const server = app(store, { track: true })
    const before = Date.now()
    const alice = await login(server, 'alice', 'Mozilla/5.0 (X11; Linux) Firefox/130')
    await login(server, 'alice', 'x'.repeat(5000))
    const list = (await alice.get('/list').expect(200)).body
    assert.equal(list[0].userAgent, 'Mozilla/5.0 (X11; Linux) Firefox/130')
    assert.equal(list[1].userAgent.length, 512, 'a long User-Agent is cut')
    for (const entry of list) {
      assert.ok(Date.parse(entry.createdAt) >= before && Date.parse(entry.lastSeen) >= Date.parse(entry.createdAt))
      assert.ok(Date.parse(entry.expires) > Date.now())
    }
  })

  it('refreshes last seen at most once per touchAfter', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() })
    const store = new CountingStore({ patch: true })
    const server = app(store, { track: true, touchAfter: 400 })
    const alice = await login(server, 'alice')
    const sid = Object.keys(store.sessions)[0]!
    const first = store.stored(sid)!.__sessionLastSeen
    t.mock.timers.tick(399)
    await alice.get('/me')
    assert.equal(store.stored(sid)!.__sessionLastSeen, first, 'not refreshed within touchAfter')
    t.mock.timers.tick(1)
    await alice.get('/me')
    assert.ok(store.stored(sid)!.__sessionLastSeen > first, 'refreshed after touchAfter')
  })

  it('records nothing unless asked', async () => {
    const store = new CountingStore()
    const server = app(store)
    await login(server, 'alice', 'some agent')
    const stored = store.stored(Object.keys(store.sessions)[0]!)!
    assert.deepEqual(Object.keys(stored).sort(), ['__sessionOwner', 'cookie', 'user'])
    const plain = new CountingStore()
    await login(app(plain, { owner: undefined }), 'alice')
    assert.deepEqual(Object.keys(plain.stored(Object.keys(plain.sessions)[0]!)!).sort(), ['cookie', 'user'])
  })
})

describe('MemoryStore owner index and its public sessions object', () => {
  it('follows entries the app deletes from or writes into store.sessions', async () => {
    const store = new session.MemoryStore()
    const cookie = { expires: new Date(Date.now() + 60_000), originalMaxAge: 60_000 }
    store.set('a', { cookie, __sessionOwner: 'ann' } as any)
    store.set('b', { cookie, __sessionOwner: 'ann' } as any)
    delete store.sessions.a
    store.sessions.b = JSON.stringify({ cookie, __sessionOwner: 'ben' })
    assert.deepEqual(await listed(store, 'ann'), [])
    assert.deepEqual(await listed(store, 'ben'), ['b'])
    store.close()
  })

  it('destroyOwner destroys only live sessions still of that owner', async () => {
    const store = new session.MemoryStore()
    const cookie = { expires: new Date(Date.now() + 60_000), originalMaxAge: 60_000 }
    store.set('a', { cookie, __sessionOwner: 'ann' } as any)
    store.set('b', { cookie, __sessionOwner: 'ann' } as any)
    store.set('c', { cookie: { expires: new Date(Date.now() - 1), originalMaxAge: 1 }, __sessionOwner: 'ann' } as any)
    store.sessions.b = JSON.stringify({ cookie, __sessionOwner: 'ben' })
    const destroyed = await new Promise((resolve) => store.destroyOwner('ann', (_err, n) => resolve(n)))
    assert.equal(destroyed, 1, 'only a: b is ben\'s now, c has expired')
    assert.deepEqual(Object.keys(store.sessions), ['b'])
    store.close()
  })
})

describe('owner index: errors reported once, and destroys in turn with saves', () => {
  it('an owner function that throws reaches next(err) once, with cookie decisions that serialize the session too', async () => {
    const middleware = session({ secret: 's', resave: false, saveUninitialized: false, owner: () => { throw new Error('bad owner') } })
    const errors: unknown[] = []
    const server = http.createServer((req: any, res) => {
      middleware(req, res, (err?: unknown) => {
        if (err) return void errors.push(err)
        req.session.user = 'alice'
        res.end('ok')
      })
    })
    await request(server).get('/').expect(200, 'ok')
    await delay(50)
    assert.equal(errors.length, 1)
  })

  it('concurrency: serialize: a store without an index destroys the other sessions in turn with their saves', async () => {
    /** A store without patch nor index that holds the answer to the save's re-read of one session until released. */
    class GatedStore extends ScannedStore {
      gated: string | undefined
      reads = 0
      release: (() => void) | undefined
      private rereadStarted!: () => void
      readonly reread = new Promise<void>((resolve) => { this.rereadStarted = resolve })
      override get(sid: string, callback: (err: any, sess?: any) => void): void {
        // the first read is the request's load; the second, the save's re-read: read now, answered when released
        if (sid !== this.gated || ++this.reads === 1) return super.get(sid, callback)
        super.get(sid, (err, sess) => {
          this.release = () => callback(err, sess)
          this.rereadStarted()
        })
      }
    }
    const store = new GatedStore()
    ;(store as { patch?: unknown }).patch = undefined
    const server = app(store, { concurrency: 'serialize' })
    server.get('/work', (req: any, res) => {
      req.session.n = 1
      res.end('worked')
    })
    const alice = await login(server, 'alice')
    const other = await login(server, 'alice')
    const aliceId = (await alice.get('/list').expect(200)).body[0].id
    const otherId = Object.keys(store.sessions).find((sid) => sid !== aliceId)!
    store.gated = otherId
    store.scans = 0
    // the other device's save has re-read its session; the logout of the others runs while it waits
    const working = other.get('/work').then((res) => res)
    await store.reread
    const others = alice.post('/others').then((res) => res)
    await waitFor(() => store.scans === 1, 5000, 'the logout of the others read the sessions')
    await new Promise((resolve) => setImmediate(resolve))
    store.release!()
    assert.deepEqual((await others).body, { destroyed: 1 })
    assert.equal((await working).text, 'worked')
    assert.equal(store.sessions[otherId], undefined, 'the racing save did not bring the session back')
  })
})
