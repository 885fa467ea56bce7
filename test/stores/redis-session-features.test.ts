/**
 * The new session features end to end, through the middleware over HTTP (supertest agents), on the bundled
 * RedisStore: on a throwaway redis-server and on a real Redis Cluster (3 masters + 3 replicas), over node-redis 6
 * and ioredis on each. `owner` with `req.session.listOwnSessions()` / `destroyOtherSessions()` (listing, logging
 * the other devices out, expiry, owner change, regenerate, destroy, 30 devices in parallel checked against the
 * stored sessions), `track: true`, `header: 'x-session-id'` with `cookie: false`, and `touchAfter` (the writes
 * Redis receives, counted in INFO commandstats, and the key's PTTL).
 *   node scripts/test.js test/stores/redis-session-features.test.ts
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import express from 'express'
import request from 'supertest'
import session from 'express-session'
import { RedisStore } from 'express-session/redis'
import { redisEnvs } from '../support/redis-envs.js'

type Agent = ReturnType<typeof request.agent>

const OWNER = '__sessionOwner'
const LAST_SEEN = '__sessionLastSeen'
const HEADER = 'x-session-id'
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const envs = redisEnvs()

/** An Express app with the session middleware on `store` (owner: the `user` in the session, track: true). */
function app(store: session.Store, options: Partial<session.SessionOptions> = {}, errors: unknown[] = []): express.Express {
  const server = express()
  server.use(session({
    secret: 'keyboard cat', resave: false, saveUninitialized: false, store,
    owner: (s: any) => s.user, track: true, cookie: { maxAge: 600_000 }, ...options,
  }))
  server.post('/login/:user', (req: any, res) => {
    req.session.user = req.params.user
    res.end(req.session.id)
  })
  server.post('/relogin/:user', (req: any, res, next) => {
    req.session.regenerate((err: unknown) => {
      if (err) return next(err)
      req.session.user = req.params.user
      res.end(req.session.id)
    })
  })
  // sign in here and out everywhere else, in one request: the session is saved after the others are destroyed
  server.post('/login-here-only/:user', async (req: any, res, next) => {
    try {
      req.session.user = req.params.user
      const destroyed = await req.session.destroyOtherSessions()
      res.json({ id: req.session.id, destroyed })
    } catch (err) {
      next(err)
    }
  })
  server.post('/logout', (req: any, res, next) => {
    req.session.destroy((err: unknown) => (err ? next(err) : res.end('bye')))
  })
  server.get('/me', (req: any, res) => { res.end(req.session.user ?? 'anonymous') })
  server.get('/id', (req: any, res) => { res.end(req.session.id) })
  server.get('/list', async (req: any, res, next) => {
    try {
      res.json(await req.session.listOwnSessions())
    } catch (err) {
      next(err)
    }
  })
  server.post('/others', async (req: any, res, next) => {
    try {
      res.json({ destroyed: await req.session.destroyOtherSessions() })
    } catch (err) {
      next(err)
    }
  })
  server.use((err: any, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    errors.push(err)
    if (res.headersSent) return
    res.status(500).end(String(err?.message ?? err))
  })
  return server
}

interface Listed { id: string; current: boolean; userAgent?: string; createdAt?: string; lastSeen?: string; expires: string | null; session: any }

/** A new agent logged in as `user`, and its session ID. */
async function login(server: express.Express, user: string, userAgent = 'test-agent'): Promise<Agent & { sid: string }> {
  const agent = request.agent(server)
  const res = await agent.post(`/login/${user}`).set('User-Agent', userAgent).expect(200)
  return Object.assign(agent, { sid: res.text })
}

async function me(agent: Agent): Promise<string> {
  return (await agent.get('/me').expect(200)).text
}

async function list(agent: Agent): Promise<Listed[]> {
  return (await agent.get('/list').expect(200)).body as Listed[]
}

const sorted = (values: string[]): string[] => [...values].sort()

let run = 0
for (const env of envs) {
  describe(`session features through the middleware on RedisStore (${env.name})`, { skip: env.skip }, () => {
    /** A store on a fresh prefix over a new client, its probe, and the key of an owner's set. */
    async function open(options: Record<string, unknown> = {}) {
      const { client, probe, close } = await env.connect()
      const prefix = `e2e${++run}-${Date.now()}:`
      const store = new RedisStore({ client, prefix, ...options })
      const ownerKey = (owner: string): string => store.ownerPrefix + JSON.stringify(owner)
      /** The sessions of each owner, read from every stored session (SCAN, then a get of each). */
      const truth = async (): Promise<Map<string, string[]>> => {
        const owners = new Map<string, string[]>()
        for (const sid of Object.keys(await store.all())) {
          const stored: any = await store.get(sid)
          const owner = stored?.[OWNER]
          if (typeof owner === 'string') owners.set(owner, sorted([...(owners.get(owner) ?? []), sid]))
        }
        return owners
      }
      const listedIds = async (owner: string): Promise<string[]> => sorted((await store.sessionsOf(owner)).map((s) => s.id))
      return { store, probe, close, ownerKey, truth, listedIds }
    }

    it('two sessions of one owner and one of another: listed current first; destroyOtherSessions leaves exactly the current one', async () => {
      const { store, probe, close, ownerKey } = await open()
      try {
        const server = app(store)
        const alice1 = await login(server, 'alice', 'UA one')
        const alice2 = await login(server, 'alice', 'UA two')
        const bob = await login(server, 'bob')

        const first = await list(alice1)
        assert.deepEqual(first.map((s) => s.id), [alice1.sid, alice2.sid], 'the current session first')
        assert.deepEqual(first.map((s) => s.current), [true, false])
        assert.deepEqual(first.map((s) => s.session.user), ['alice', 'alice'])
        assert.deepEqual((await list(alice2)).map((s) => s.id), [alice2.sid, alice1.sid])
        assert.deepEqual((await list(bob)).map((s) => s.id), [bob.sid])
        if (!env.cluster) assert.deepEqual(sorted(await probe.zRange(ownerKey('alice'), 0, -1)), sorted([alice1.sid, alice2.sid]))

        assert.deepEqual((await alice1.post('/others').expect(200)).body, { destroyed: 1 })
        assert.equal(await store.get(alice2.sid), null, 'the other session is gone from Redis')
        assert.equal(await probe.exists(store.prefix + alice2.sid), 0)
        assert.equal(await me(alice1), 'alice')
        assert.equal(await me(alice2), 'anonymous', 'the other device is logged out on its next request')
        assert.equal(await me(bob), 'bob', 'another owner is untouched')
        const after = await list(alice1)
        assert.deepEqual(after.map((s) => [s.id, s.current]), [[alice1.sid, true]])
        assert.deepEqual((await list(bob)).map((s) => s.id), [bob.sid])
        assert.deepEqual((await alice1.post('/others').expect(200)).body, { destroyed: 0 })
        if (!env.cluster) assert.deepEqual(await probe.zRange(ownerKey('alice'), 0, -1), [alice1.sid])
      } finally {
        await close()
      }
    })

    it('signing in and out everywhere else in one request: the session, not saved yet, survives; the others are gone', async () => {
      const { store, close, listedIds } = await open()
      try {
        const server = app(store)
        const old = await Promise.all([login(server, 'alice'), login(server, 'alice'), login(server, 'alice')])
        const bob = await login(server, 'bob')
        const agent = request.agent(server)
        const { id, destroyed } = (await agent.post('/login-here-only/alice').expect(200)).body
        assert.equal(destroyed, 3)
        assert.deepEqual(await listedIds('alice'), [id])
        assert.equal(await me(agent), 'alice')
        for (const device of old) assert.equal(await me(device), 'anonymous')
        assert.equal(await me(bob), 'bob')
        assert.deepEqual((await list(agent)).map((s) => [s.id, s.current]), [[id, true]])
      } finally {
        await close()
      }
    })

    it('touchAfter 6 s: no write while deferred, one touch once it has passed (PTTL reset), then deferred again', async () => {
      const { store, probe, close } = await open()
      try {
        const server = app(store, { track: false, touchAfter: 6000, cookie: { maxAge: 3_600_000 } })
        const device = await login(server, 'alice')
        const key = store.prefix + device.sid
        const touches = { n: 0 }
        const touch = store.touch
        ;(store as any).touch = function (this: unknown, ...args: unknown[]) {
          touches.n++
          return (touch as any).apply(this, args)
        }
        for (let i = 0; i < 5; i++) assert.equal(await me(device), 'alice')
        assert.equal(touches.n, 0)
        await sleep(6100)
        const stale = await probe.pTTL(key)
        assert.ok(stale < 3_600_000 - 6000, `PTTL ${stale}`)
        assert.equal(await me(device), 'alice')
        assert.equal(touches.n, 1, 'one touch once touchAfter has passed')
        const reset = await probe.pTTL(key)
        assert.ok(reset > stale + 300, `the touch reset the PTTL (${stale} -> ${reset})`)
        for (let i = 0; i < 5; i++) assert.equal(await me(device), 'alice')
        assert.equal(touches.n, 1, 'deferred again')
        assert.equal(JSON.parse((await probe.hGet(key, 'user'))!), 'alice')
      } finally {
        await close()
      }
    })

    it('an expired session (a 3 s cookie on one device) drops out of the listing', async () => {
      const { store, probe, close } = await open()
      try {
        const lasting = app(store)
        const brief = app(store, { cookie: { maxAge: 3000 } })
        const alice = await login(lasting, 'alice')
        const phone = await login(brief, 'alice')
        const pttl = await probe.pTTL(store.prefix + phone.sid)
        assert.ok(pttl > 0 && pttl <= 3000, `the brief session expires with its cookie (PTTL ${pttl})`)
        assert.deepEqual(sorted((await list(alice)).map((s) => s.id)), sorted([alice.sid, phone.sid]))
        await sleep(3200)
        assert.deepEqual((await list(alice)).map((s) => s.id), [alice.sid])
        assert.equal(await me(phone), 'anonymous')
        assert.deepEqual((await alice.post('/others').expect(200)).body, { destroyed: 0 })
        assert.equal(await me(alice), 'alice')
      } finally {
        await close()
      }
    })

    it('logging in as another user moves the session; regenerate and destroy update the listing', async () => {
      const { store, probe, close, ownerKey, listedIds } = await open()
      try {
        const server = app(store)
        const device = await login(server, 'alice')
        const alice = await login(server, 'alice')
        await device.post('/login/bob').expect(200)
        assert.deepEqual((await list(alice)).map((s) => s.id), [alice.sid], 'alice lost the session that logged in as bob')
        assert.deepEqual((await list(device)).map((s) => s.id), [device.sid], 'bob has it')
        assert.deepEqual(await listedIds('alice'), [alice.sid])
        assert.deepEqual(await listedIds('bob'), [device.sid])
        if (!env.cluster) assert.deepEqual(await probe.zRange(ownerKey('alice'), 0, -1), [alice.sid])

        const regenerated = (await device.post('/relogin/alice').expect(200)).text
        assert.notEqual(regenerated, device.sid)
        assert.equal(await store.get(device.sid), null, 'the old ID is gone from Redis')
        assert.deepEqual(sorted((await list(alice)).map((s) => s.id)), sorted([alice.sid, regenerated]), 'the regenerated session is alice\'s under its new ID only')
        assert.deepEqual(await listedIds('bob'), [], 'and no longer bob\'s')
        assert.equal(await me(device), 'alice')
        if (!env.cluster) {
          assert.deepEqual(sorted(await probe.zRange(ownerKey('alice'), 0, -1)), sorted([alice.sid, regenerated]))
          assert.equal(await probe.exists(ownerKey('bob')), 0)
        }

        await device.post('/logout').expect(200)
        assert.equal(await store.get(regenerated), null)
        assert.deepEqual((await list(alice)).map((s) => s.id), [alice.sid])
        assert.equal(await me(device), 'anonymous')
        if (!env.cluster) assert.deepEqual(await probe.zRange(ownerKey('alice'), 0, -1), [alice.sid])
      } finally {
        await close()
      }
    })

    it('30 devices logging in, switching user, regenerating, logging out and expiring in parallel: each listing equals the stored owners', async () => {
      const { store, probe, close, ownerKey, truth, listedIds } = await open()
      try {
        const server = app(store)
        const brief = app(store, { cookie: { maxAge: 5000 } })
        const users = ['ann', 'ben', 'cat']
        const devices = await Promise.all(Array.from({ length: 30 }, (_, i) => login(i % 5 === 0 ? brief : server, users[i % 3]!)))
        const before = await truth()
        for (const user of users) assert.equal(before.get(user)?.length, 10, `${user} logged in on 10 devices`)
        await Promise.all(devices.map(async (device, i) => {
          if (i % 4 === 1) await device.post('/logout').expect(200)
          else if (i % 4 === 2) await device.post(`/login/${users[(i + 1) % 3]!}`).expect(200)
          else if (i % 7 === 3) await device.post('/relogin/ann').expect(200)
          else if (i === 8) await device.post('/others').expect(200)
          else await device.get('/me').expect(200)
        }))
        await sleep(5200)
        const expected = await truth()
        let live = 0
        for (const user of users) {
          const sids = expected.get(user) ?? []
          live += sids.length
          assert.deepEqual(await listedIds(user), sids, `the store's listing of ${user}`)
          // through HTTP: a new device of the user lists itself first, then exactly the stored others
          const fresh = await login(server, user)
          const viaHttp = await list(fresh)
          assert.equal(viaHttp[0]?.id, fresh.sid)
          assert.deepEqual(sorted(viaHttp.slice(1).map((s) => s.id)), sids, `listOwnSessions of ${user}`)
          if (!env.cluster) {
            assert.deepEqual(sorted(await probe.zRange(ownerKey(user), 0, -1)), sorted([...sids, fresh.sid]), `${user}'s set after a listing`)
          }
        }
        assert.ok(live > 0 && live < 30, `some sessions survived, some were logged out or expired (${live} live)`)
        // the expired ones are gone: every device of the brief app is anonymous now
        for (let i = 0; i < devices.length; i += 5) assert.equal(await me(devices[i]!), 'anonymous', `brief device ${i}`)
      } finally {
        await close()
      }
    })

    it('track: listOwnSessions gives userAgent, createdAt and lastSeen as Redis holds them', async () => {
      const { store, probe, close } = await open()
      try {
        const server = app(store)
        const before = Date.now()
        const laptop = await login(server, 'alice', 'Mozilla/5.0 (X11; Linux) Firefox/130')
        const phone = await login(server, 'alice', 'x'.repeat(5000))
        await sleep(30)
        await phone.get('/me').expect(200)
        const listed = await list(laptop)
        assert.deepEqual(listed.map((s) => s.id), [laptop.sid, phone.sid])
        assert.equal(listed[0]!.userAgent, 'Mozilla/5.0 (X11; Linux) Firefox/130')
        assert.equal(listed[1]!.userAgent, 'x'.repeat(512), 'a long User-Agent is cut')
        for (const entry of listed) {
          const created = Date.parse(entry.createdAt!)
          const seen = Date.parse(entry.lastSeen!)
          assert.ok(created >= before && seen >= created, `${entry.id}: created ${entry.createdAt}, last seen ${entry.lastSeen}`)
          assert.ok(Date.parse(entry.expires!) > Date.now())
        }
        // the other device's facts are read from Redis: its last request refreshed them there
        const phoneSeen = Number(await probe.hGet(store.prefix + phone.sid, LAST_SEEN))
        assert.equal(Date.parse(listed[1]!.lastSeen!), phoneSeen)
        assert.ok(phoneSeen >= Date.parse(listed[1]!.createdAt!) + 30, 'the later request moved last seen')
        assert.equal(JSON.parse((await probe.hGet(store.prefix + phone.sid, '__sessionUserAgent'))!), 'x'.repeat(512))
      } finally {
        await close()
      }
    })

    it('header: x-session-id with cookie: false carries the session across requests, regenerate and logout', async () => {
      const { store, probe, close, listedIds } = await open()
      try {
        const server = app(store, { header: HEADER, cookie: false })
        const created = await request(server).post('/login/alice').expect(200)
        assert.equal(created.headers['set-cookie'], undefined, 'no cookie')
        const value = created.headers[HEADER] as string
        const sid = created.text
        assert.match(value, new RegExp(`^s:${sid.replace(/[-_]/g, '\\$&')}\\.`))
        const pttl = await probe.pTTL(store.prefix + sid)
        assert.ok(pttl > 0, `stored in Redis with an expiry (PTTL ${pttl})`)
        assert.deepEqual(await listedIds('alice'), [sid])

        const next = await request(server).get('/me').set(HEADER, value).expect(200, 'alice')
        assert.equal(next.headers[HEADER], undefined, 'the header is not repeated')
        assert.equal((await request(server).get('/id').set(HEADER, value).expect(200)).text, sid)
        const listed = (await request(server).get('/list').set(HEADER, value).expect(200)).body as Listed[]
        assert.deepEqual(listed.map((s) => [s.id, s.current]), [[sid, true]])
        await request(server).get('/me').expect(200, 'anonymous')

        const regenerated = await request(server).post('/relogin/bob').set(HEADER, value).expect(200)
        const newValue = regenerated.headers[HEADER] as string
        assert.ok(newValue && newValue !== value, 'a regenerated session sends its new ID in the header')
        assert.equal(await store.get(sid), null)
        await request(server).get('/me').set(HEADER, value).expect(200, 'anonymous')
        await request(server).get('/me').set(HEADER, newValue).expect(200, 'bob')
        assert.deepEqual(await listedIds('alice'), [])
        assert.deepEqual(await listedIds('bob'), [regenerated.text])

        await request(server).post('/logout').set(HEADER, newValue).expect(200)
        assert.equal(await store.get(regenerated.text), null)
        await request(server).get('/me').set(HEADER, newValue).expect(200, 'anonymous')
        assert.deepEqual(await listedIds('bob'), [])
      } finally {
        await close()
      }
    })

    for (const track of [false, true]) {
      it(`touchAfter${track ? ', with track: true' : ''}: 20 read-only requests write to Redis every time without it, never with it; PTTL not reset`, async () => {
        const { store, probe, close } = await open()
        try {
          const figures: string[] = []
          for (const touchAfter of [undefined, 60_000]) {
            const server = app(store, { track, touchAfter, cookie: { maxAge: 3_600_000 } })
            const device = await login(server, 'alice')
            // counted at the store, to tell touches from saves
            const calls = { set: 0, patch: 0, touch: 0 }
            for (const method of ['set', 'patch', 'touch'] as const) {
              const original = (store as any)[method]
              ;(store as any)[method] = function (this: unknown, ...args: unknown[]) {
                calls[method]++
                return original.apply(this, args)
              }
            }
            try {
              // one request first: every master involved has the scripts cached (no NOSCRIPT + EVAL counted)
              assert.equal(await me(device), 'alice')
              calls.set = calls.patch = calls.touch = 0
              // long enough that the requests' touches move the expiry past any delay in reading it
              await sleep(1000)
              const key = store.prefix + device.sid
              const pttlBefore = await probe.pTTL(key)
              const evalBefore = (await env.calls('evalsha')) + (await env.calls('eval'))
              for (let i = 0; i < 20; i++) assert.equal(await me(device), 'alice')
              // PTTL first: on a cluster the counting runs redis-cli on every master, which takes tens of ms
              const pttlAfter = await probe.pTTL(key)
              const evals = (await env.calls('evalsha')) + (await env.calls('eval')) - evalBefore
              figures.push(`touchAfter ${String(touchAfter)}: store set/patch/touch ${calls.set}/${calls.patch}/${calls.touch}, ` +
                `Redis EVALSHA+EVAL ${evals}, PTTL ${pttlBefore} -> ${pttlAfter}`)
              if (touchAfter === undefined) {
                // every request writes: a touch, or with track a save of the refreshed last seen
                if (track) assert.deepEqual(calls, { set: 0, patch: 20, touch: 0 })
                else assert.deepEqual(calls, { set: 0, patch: 0, touch: 20 })
                if (!env.cluster) assert.equal(evals, 20, figures.at(-1))
                else {
                  // on a cluster a touch first extends the owner's set (OWNER_ADD on the set's master, then TOUCH: 40);
                  // a patch that keeps the owner does not know it: PATCH answers the stored owner, then OWNER_ADD,
                  // then PATCH again (60)
                  assert.ok(evals >= 20 && evals <= (track ? 60 : 40), figures.at(-1))
                }
                assert.ok(pttlAfter > pttlBefore, `the expiry moved (${figures.at(-1)})`)
              } else {
                assert.deepEqual(calls, { set: 0, patch: 0, touch: 0 }, figures.at(-1))
                assert.equal(evals, 0, figures.at(-1))
                assert.ok(pttlAfter < pttlBefore, `the expiry did not move (${figures.at(-1)})`)
              }
            } finally {
              for (const method of ['set', 'patch', 'touch'] as const) delete (store as any)[method]
            }
          }
          console.log(`# touchAfter (${env.name}${track ? ', track' : ''}): ${figures.join('; ')}`)
        } finally {
          await close()
        }
      })
    }
  })
}
