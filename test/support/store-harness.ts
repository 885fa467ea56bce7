/**
 * The shared part of test/stores/*.test.ts: the same HTTP scenarios through Express 4, and the store
 * conformance kit (`express-session/conformance`), run against each real store.
 *
 * A store test file describes its store as a {@link StoreFixture} (how to create and close it, how to look at a
 * session inside the store itself, how the store expires sessions) and calls {@link describeStore}.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { after, before, describe, it } from 'node:test'
import express from 'express'
import request from 'supertest'
import session from 'express-session'
import { runStoreConformance, type StoreConformanceOptions } from 'express-session/conformance'
import { cookie as cookieOf, expires as expiresOf, setCookieFor, sid as sidOf } from './http.js'
import { findBinary, serverAvailable, skipUnless, type ServerName } from './servers.js'

/** A session store as the tests use it. */
export type AnyStore = session.Store

/** What the store itself holds for a session ID, looked at below the store API where possible. */
export interface RawState {
  /** Whether the store still holds a record (key, row, file, cache entry) for the ID. */
  present: boolean
  /** When the store will expire the record, in ms since the epoch, if it keeps such a time. */
  expiresAt?: number
}

/** How to run one store in the shared tests. */
export interface StoreFixture<S extends AnyStore = AnyStore> {
  /** Suite name: store, version, client, server, e.g. 'connect-redis 10.0.0 (redis 6.3.1) on redis-server 7.0.15'. */
  title: string
  /** Servers that must be installed (skipped locally with one line when missing; a failure with CI=true). */
  requires?: ServerName[]
  /** Starts what the store needs (server, temp dir), once before everything. */
  setup?: () => Promise<void>
  /** Stops it, once after everything (also when tests failed). */
  teardown?: () => Promise<void>
  /** Creates a store instance; `purpose` lets the conformance run use its own table/prefix/dir. */
  createStore: (purpose: 'http' | 'conformance') => S | Promise<S>
  /** Closes a store instance (connections, timers). */
  closeStore: (store: S) => void | Promise<void>
  /** The store's own record of `sid`: present, and when it expires. */
  inspect: (store: S, sid: string) => Promise<RawState>
  /** Granularity of the expiry times the store keeps (1000 when it counts whole seconds). */
  expiryResolutionMs: number
  /** `cookie.maxAge` of the short-lived session (stores counting whole seconds may need 2000). */
  shortMaxAgeMs: number
  /**
   * How the store gets rid of expired sessions, as the output says it. With `prune`, that mechanism is run
   * before each look; with `lazyRecords`, the raw record may stay (filtered on read) until a cleanup not run here.
   */
  expiryMechanism: string
  prune?: (store: S) => Promise<void>
  lazyRecords?: boolean
  /** Extra conformance kit options (capabilities, known issues, expiry settings). */
  conformance?: Partial<Omit<StoreConformanceOptions<S>, 'name' | 'createStore' | 'teardown' | 'test'>>
}

// ---------------------------------------------------------------------------------------------------------------
// Versions for the suite names
// ---------------------------------------------------------------------------------------------------------------

/** Version of an installed package (by its node_modules folder name, so aliases work). */
export function pkgVersion(name: string): string {
  const file = path.join(__dirname, '..', '..', 'node_modules', name, 'package.json')
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version
}

function firstMatch(file: string | undefined, args: string[], pattern: RegExp): string | undefined {
  if (!file) return undefined
  try {
    const out = execFileSync(file, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] })
    return pattern.exec(out)?.[1]
  } catch {
    return undefined
  }
}

/** Version of an installed server binary, for suite names ('not installed' when missing). */
export function serverVersion(name: ServerName): string {
  if (!serverAvailable(name)) return 'not installed'
  let version: string | undefined
  switch (name) {
    case 'redis':
      version = firstMatch(findBinary('redis-server'), ['--version'], /v=(\S+)/)
      break
    case 'postgres': {
      let bin = findBinary('postgres')
      if (!bin) {
        try {
          const versions = fs.readdirSync('/usr/lib/postgresql').sort((a, b) => parseFloat(b) - parseFloat(a))
          bin = versions.map((v) => `/usr/lib/postgresql/${v}/bin/postgres`).find((f) => fs.existsSync(f))
        } catch {
          // none
        }
      }
      version = firstMatch(bin, ['--version'], /\(PostgreSQL\)\s+(\S+)/)
      break
    }
    case 'mariadb':
      version = firstMatch(findBinary('mariadbd', 'mysqld'), ['--version'], /Ver\s+(\S+?)(?:-MariaDB|\s)/)
      break
    case 'memcached':
      version = firstMatch(findBinary('memcached'), ['-V'], /memcached\s+(\S+)/)
      break
  }
  return version ?? 'not installed'
}

// ---------------------------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------------------------

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** `store.get` as a promise: undefined when not found (nothing, or an ENOENT error). Callback or promise, first wins. */
export function storeGet(store: AnyStore, sid: string): Promise<Record<string, any> | undefined> {
  return new Promise((resolve, reject) => {
    let done = false
    const settle = (err: any, data?: any): void => {
      if (done) return
      done = true
      if (err && err.code !== 'ENOENT') reject(err)
      else resolve(err || data == null ? undefined : data)
    }
    const out: any = store.get(sid, settle)
    if (out && typeof out.then === 'function') out.then((data: any) => settle(null, data), settle)
  })
}

/** The date every test stores in session data. */
const SAMPLE_DATE = new Date('2020-02-29T12:34:56.789Z')

/** Cookie `maxAge` of the long-lived sessions. */
const LONG_MAX_AGE = 60_000

/**
 * The app under test: Express 4, the session middleware on `store` with resave/saveUninitialized false, and
 * the cookie chosen by path: `/long/...` a 60 s maxAge, `/short/...` the fixture's short maxAge, `/browser/...`
 * a browser-session cookie (no maxAge). Routes (last segment): incr, get, set-date, regenerate, destroy.
 */
function createApp(store: AnyStore, shortMaxAgeMs: number): express.Express {
  const app = express()
  app.use(session({
    secret: 'store tests',
    store,
    resave: false,
    saveUninitialized: false,
    cookie: (req: express.Request) =>
      req.path.startsWith('/short/') ? { maxAge: shortMaxAgeMs }
        : req.path.startsWith('/browser/') ? {}
          : { maxAge: LONG_MAX_AGE },
  }))
  app.get('/:kind/:action', (req: any, res, next) => {
    const sess = req.session
    switch (req.params.action) {
      case 'incr':
        sess.views = (sess.views ?? 0) + 1
        res.json({ id: req.sessionID, views: sess.views })
        return
      case 'set-date':
        sess.when = new Date(SAMPLE_DATE.getTime())
        res.json({ id: req.sessionID })
        return
      case 'get': {
        const data: Record<string, unknown> = { ...sess }
        delete data.cookie
        res.json({
          id: req.sessionID,
          data,
          whenIsDate: sess.when instanceof Date,
          cookieExpiresIsDate: sess.cookie.expires instanceof Date,
          originalMaxAge: sess.cookie.originalMaxAge,
        })
        return
      }
      case 'regenerate': {
        const old = req.sessionID
        sess.regenerate((err: unknown) => {
          if (err) return next(err)
          req.session.views = 100
          res.json({ old, id: req.sessionID })
        })
        return
      }
      case 'destroy': {
        const id = req.sessionID
        sess.destroy((err: unknown) => (err ? next(err) : res.json({ destroyed: id })))
        return
      }
      default:
        res.status(404).end()
    }
  })
  app.use((err: any, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ error: String(err?.message ?? err) })
  })
  return app
}

/** Polls until `predicate` holds or `timeoutMs` passes; returns whether it held. */
async function eventually(predicate: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await predicate()) return true
    if (Date.now() > deadline) return false
    await sleep(everyMs)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------------------------

/**
 * Registers, under `describe(fixture.title)`: the HTTP scenarios through Express 4, then the conformance kit.
 */
export function describeStore<S extends AnyStore>(fixture: StoreFixture<S>): void {
  const skip = skipUnless(...(fixture.requires ?? []))
  describe(fixture.title, { skip }, () => {
    before(async () => {
      await fixture.setup?.()
    })
    after(async () => {
      await fixture.teardown?.()
    })

    describe('over HTTP through Express 4', () => {
      let store: S
      let app: express.Express
      const inspect = (sid: string): Promise<RawState> => fixture.inspect(store, sid)

      before(async () => {
        store = await fixture.createStore('http')
        app = createApp(store, fixture.shortMaxAgeMs)
      })
      after(async () => {
        if (store) await fixture.closeStore(store)
      })

      /** GET `url` with an optional cookie, expecting 200. */
      const get = async (url: string, cookie?: string) => {
        const req = request(app).get(url)
        if (cookie) req.set('Cookie', cookie)
        const res = await req
        assert.equal(res.status, 200, `GET ${url}: ${res.status} ${res.text}`)
        return res
      }

      it('saves a new session in the store', async () => {
        const res = await get('/long/incr')
        const id = sidOf(res)
        assert.equal(res.body.id, id)
        const stored = await storeGet(store, id)
        assert.ok(stored, 'store.get finds the new session')
        assert.equal(stored.views, 1)
        assert.equal((await inspect(id)).present, true, 'the store holds a record of it')
      })

      it('keeps a value across requests', async () => {
        const first = await get('/long/incr')
        const cookie = cookieOf(first)
        await get('/long/incr', cookie)
        const third = await get('/long/incr', cookie)
        assert.equal(third.body.views, 3)
        assert.equal((await get('/long/get', cookie)).body.data.views, 3)
        assert.equal((await storeGet(store, sidOf(first)))?.views, 3)
      })

      it('an unmodified request touches the session (its expiry moves in the store)', async () => {
        const first = await get('/long/incr')
        const id = sidOf(first)
        const before = (await inspect(id)).expiresAt
        assert.ok(before !== undefined, 'the store keeps an expiry time for the session')
        // long enough for the store's clock to move on (stores counting whole seconds need more than a second)
        await sleep(fixture.expiryResolutionMs * 1.5 + 100)
        const res = await get('/long/get', cookieOf(first))
        assert.equal(setCookieFor(res), undefined, 'an unmodified session sets no cookie (resave: false, not rolling)')
        assert.equal(res.body.data.views, 1)
        const after = (await inspect(id)).expiresAt
        assert.ok(after !== undefined && after > before,
          `the store's expiry moved: ${new Date(before).toISOString()} -> ${after && new Date(after).toISOString()}`)
        assert.equal((await storeGet(store, id))?.views, 1, 'touch kept the data')
      })

      it('regenerate issues a new ID and the old ID no longer loads', async () => {
        const first = await get('/long/incr')
        const oldCookie = cookieOf(first)
        const oldId = sidOf(first)
        const res = await get('/long/regenerate', oldCookie)
        const newId = sidOf(res)
        assert.equal(res.body.old, oldId)
        assert.notEqual(newId, oldId)
        assert.equal(res.body.id, newId)
        assert.equal(await storeGet(store, oldId), undefined, 'the old ID is gone from the store')
        assert.equal((await inspect(oldId)).present, false, 'the store holds no record of the old ID')
        assert.equal((await storeGet(store, newId))?.views, 100)
        const withOld = await get('/long/get', oldCookie)
        assert.notEqual(withOld.body.id, oldId, 'the old cookie does not bring the old session back')
        assert.equal(withOld.body.data.views, undefined)
        assert.equal((await get('/long/get', cookieOf(res))).body.data.views, 100)
      })

      it('destroy removes the session', async () => {
        const first = await get('/long/incr')
        const id = sidOf(first)
        const res = await get('/long/destroy', cookieOf(first))
        assert.equal(res.body.destroyed, id)
        assert.equal(await storeGet(store, id), undefined)
        assert.equal((await inspect(id)).present, false, 'the store holds no record of it')
        const again = await get('/long/get', cookieOf(first))
        assert.notEqual(again.body.id, id)
        assert.equal(again.body.data.views, undefined)
      })

      it(`a short maxAge session is gone from the store after it lapses (${fixture.expiryMechanism})`, async (t) => {
        const first = await get('/short/incr')
        const id = sidOf(first)
        const expires = Date.parse(expiresOf(first) ?? '')
        assert.ok(Number.isFinite(expires), 'the cookie has an Expires attribute')
        const stored = await storeGet(store, id)
        assert.equal(stored?.views, 1, 'present before it lapses')
        const lapse = new Date(stored?.cookie?.expires).getTime()
        assert.ok(Math.abs(lapse - expires) < 1000, 'the stored cookie expires when the browser cookie does')
        await sleep(Math.max(0, lapse - Date.now()))
        const grace = fixture.expiryResolutionMs + 2000
        const started = Date.now()
        const goneFromApi = await eventually(async () => {
          if (fixture.prune) await fixture.prune(store)
          return (await storeGet(store, id)) === undefined
        }, grace)
        assert.ok(goneFromApi, `store.get still returns the session ${grace} ms after it lapsed`)
        const goneRaw = await eventually(async () => {
          if (fixture.prune) await fixture.prune(store)
          const raw = await inspect(id)
          return !raw.present || (fixture.lazyRecords === true && raw.expiresAt !== undefined && raw.expiresAt <= Date.now())
        }, grace)
        assert.ok(goneRaw, 'the store itself removed the record (or, for stores that clean up lazily, marks it expired)')
        const raw = await inspect(id)
        t.diagnostic(`gone ${Date.now() - started} ms after lapsing; record ${raw.present ? 'still stored, expired (removed by a later cleanup)' : 'removed'}`)
        const again = await get('/short/get', cookieOf(first))
        assert.notEqual(again.body.id, id, 'the lapsed session is not loaded')
        assert.equal(again.body.data.views, undefined)
      })

      it('a maxAge cookie and a browser-session cookie', async (t) => {
        const long = await get('/long/incr')
        const expires = Date.parse(expiresOf(long) ?? '')
        assert.ok(Math.abs(expires - (Date.now() + LONG_MAX_AGE)) < 5000, `Expires is about 60 s ahead: ${expiresOf(long)}`)
        const longStored = await storeGet(store, sidOf(long))
        assert.equal(longStored?.cookie?.originalMaxAge, LONG_MAX_AGE)

        const browser = await get('/browser/incr')
        assert.ok(setCookieFor(browser), 'the browser-session cookie is set')
        assert.equal(expiresOf(browser), undefined, 'a browser-session cookie has no Expires')
        const id = sidOf(browser)
        const stored = await storeGet(store, id)
        assert.ok(stored, 'the browser-session session is stored')
        assert.equal(stored.cookie?.expires ?? null, null)
        assert.equal(stored.cookie?.originalMaxAge ?? null, null)
        const second = await get('/browser/incr', cookieOf(browser))
        assert.equal(second.body.views, 2, 'it persists across requests')
        assert.equal(setCookieFor(second), undefined, 'a loaded browser-session session sets no new cookie')
        const raw = await inspect(id)
        assert.ok(raw.present)
        t.diagnostic(raw.expiresAt === undefined
          ? 'the store keeps a browser-session session without an expiry'
          : `the store keeps a browser-session session for its default lifetime: ${Math.round((raw.expiresAt - Date.now()) / 60_000)} min`)
      })

      it('owner: the sessions of one user are listed, and logged out everywhere else (the store\'s owner index, or the fallback over all())', async (t) => {
        const brokenAll = fixture.conformance?.knownIssues?.all
        if (brokenAll !== undefined) {
          t.skip(`the fallback needs all() to give sessions: ${brokenAll}`)
          return
        }
        // long enough to be listed once on a loaded machine, however slow the store's all() is
        const lapsingMs = Math.max(fixture.shortMaxAgeMs, 3000)
        const owned = express()
        owned.use(session({
          secret: 'keyboard cat', resave: false, saveUninitialized: false, store,
          owner: (s: any) => s.user, cookie: { maxAge: LONG_MAX_AGE },
        }))
        owned.post('/login/:user', (req: any, res) => { req.session.user = req.params.user; res.end('ok') })
        owned.post('/short/:user', (req: any, res) => {
          req.session.cookie.maxAge = lapsingMs
          req.session.user = req.params.user
          res.end('ok')
        })
        owned.get('/me', (req: any, res) => { res.end(req.session.user ?? 'anonymous') })
        owned.get('/list', (req: any, res, next) => { req.session.listOwnSessions().then((list: unknown) => res.json(list), next) })
        owned.post('/others', (req: any, res, next) => { req.session.destroyOtherSessions().then((n: number) => res.json(n), next) })
        owned.use((err: any, _req: express.Request, res: express.Response, _next: express.NextFunction) => { res.status(500).end(String(err.message)) })
        const user = `user-${Math.random().toString(36).slice(2)}`
        const devices = [request.agent(owned), request.agent(owned), request.agent(owned)]
        await devices[0]!.post(`/login/${user}`).expect(200)
        await devices[1]!.post(`/login/${user}`).expect(200)
        await devices[2]!.post(`/login/${user}-other`).expect(200)
        if (typeof store.all !== 'function') {
          assert.match((await devices[0]!.get('/list').expect(500)).text, /neither an owner index .* nor all\(\)/)
          t.diagnostic('the store has no all(): listing by owner fails with a clear error')
          return
        }
        const listing = await devices[0]!.get('/list')
        if (listing.status === 500 && /without their ID/.test(listing.text)) {
          // an all() that gives sessions without IDs cannot find whom to log out: an error, never a silent 0
          assert.match((await devices[0]!.post('/others').expect(500)).text, /without their ID/)
          assert.equal((await devices[1]!.get('/me').expect(200)).text, user, 'nothing was destroyed')
          t.diagnostic('the store\'s all() gives sessions without their IDs: listing and destroying by owner fail with a clear error')
          return
        }
        assert.equal(listing.status, 200, listing.text)
        assert.equal(listing.body.length, 2, 'two sessions of one owner')
        assert.equal((await devices[2]!.get('/list').expect(200)).body.length, 1, 'one of the other owner')
        const lapsing = request.agent(owned)
        await lapsing.post(`/short/${user}`).expect(200)
        assert.equal((await devices[0]!.get('/list').expect(200)).body.length, 3)
        await sleep(lapsingMs + fixture.expiryResolutionMs + 100)
        if (fixture.prune) await fixture.prune(store)
        assert.equal((await devices[0]!.get('/list').expect(200)).body.length, 2, 'the expired session dropped out')
        assert.equal((await devices[0]!.post('/others').expect(200)).body, 1)
        assert.equal((await devices[1]!.get('/me').expect(200)).text, 'anonymous', 'the other session is logged out')
        assert.equal((await devices[0]!.get('/me').expect(200)).text, user, 'the current one stays')
        assert.equal((await devices[2]!.get('/me').expect(200)).text, `${user}-other`, 'another owner stays')
        assert.equal((await devices[0]!.get('/list').expect(200)).body.length, 1)
      })

      it('Dates in session data survive the round trip as the store defines (JSON: ISO strings)', async () => {
        const first = await get('/long/set-date')
        const res = await get('/long/get', cookieOf(first))
        const when = res.body.data.when
        assert.equal(new Date(when).getTime(), SAMPLE_DATE.getTime(), `the Date came back as ${JSON.stringify(when)}`)
        // every store here serializes with JSON: a Date comes back as its ISO string (as with express-session 1.x)
        assert.equal(res.body.whenIsDate, false)
        assert.equal(when, SAMPLE_DATE.toISOString())
        assert.equal(res.body.cookieExpiresIsDate, true, 'the loaded cookie.expires is a Date again')
        assert.equal(res.body.originalMaxAge, LONG_MAX_AGE)
        const stored = await storeGet(store, sidOf(first))
        assert.equal(new Date(stored?.when).getTime(), SAMPLE_DATE.getTime())
      })
    })

    runStoreConformance<S>({
      ...fixture.conformance,
      expiry: fixture.conformance?.expiry ?? { maxAgeMs: fixture.shortMaxAgeMs, prune: fixture.prune as ((s: unknown) => Promise<void>) | undefined },
      name: fixture.title,
      createStore: () => fixture.createStore('conformance'),
      teardown: (store) => fixture.closeStore(store),
    })
  })
}
