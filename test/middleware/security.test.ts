/**
 * Security properties (see SECURITY.md): constant-time signature comparison, no adoption of validly signed
 * IDs the store does not know (session fixation), 192-bit random IDs, no cookie attribute injection through
 * name, domain or path, secret rotation, and regenerating the session on login.
 *
 *   node --import tsx --test test/middleware/security.test.ts
 */
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { describe, it } from 'node:test'
import express from 'express'
import session from 'express-session'
import request from 'supertest'
import { CountingStore, cookie, setCookieFor, sid, signedCookie } from '../support/http.js'
import { cookieValue, invoke, type Middleware } from '../support/in-process.js'

// eslint-disable-next-line @typescript-eslint/no-require-imports
const crypto = require('node:crypto') as typeof import('node:crypto')

function signature(id: string, secret: string): string {
  return createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, '')
}

/** A store holding one session `id` with `user: 'alice'`. */
function storeWith(id: string): CountingStore {
  const store = new CountingStore({ checkPeriod: 0 })
  store.sessions[id] = JSON.stringify({ cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' }, user: 'alice' })
  return store
}

function middleware(options: Partial<session.SessionOptions>): Middleware {
  return session({ secret: 'keyboard cat', resave: false, saveUninitialized: false, ...options }) as Middleware
}

describe('security', () => {
  describe('signature verification', () => {
    /** Counts calls of crypto.timingSafeEqual while `run` runs. */
    async function countTimingSafeEqual(run: () => Promise<unknown>): Promise<number> {
      const original = crypto.timingSafeEqual
      let calls = 0
      crypto.timingSafeEqual = function counted(a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView): boolean {
        calls++
        return original(a, b)
      }
      try {
        await run()
      } finally {
        crypto.timingSafeEqual = original
      }
      return calls
    }

    const id = 'known-session-id'
    const secrets = ['new secret', 'old secret']

    it('compares a same-length signature with crypto.timingSafeEqual, once per secret tried, and refuses a forgery', async () => {
      const store = storeWith(id)
      const mw = middleware({ store, secret: secrets })
      const real = signature(id, 'new secret')
      // the forgery shares all but the last character with the real signature: as long as it, as close as it gets
      const forged = real.slice(0, -1) + (real.endsWith('A') ? 'B' : 'A')
      let result
      const calls = await countTimingSafeEqual(async () => {
        result = await invoke(mw, { headers: { cookie: `connect.sid=${encodeURIComponent(`s:${id}.${forged}`)}` } })
      })
      assert.equal(calls, 2, 'both secrets were tried, each through timingSafeEqual')
      assert.notEqual(result!.sessionID, id)
      assert.equal(result!.session?.user, undefined)
      assert.equal(store.calls.get, 0, 'a forged ID never reaches the store')
    })

    it('verifies a valid signature through crypto.timingSafeEqual: the old secret after the new one', async () => {
      const store = storeWith(id)
      const mw = middleware({ store, secret: secrets })
      for (const [secret, expectedCalls] of [['new secret', 1], ['old secret', 2]] as const) {
        let result
        const calls = await countTimingSafeEqual(async () => {
          result = await invoke(mw, { headers: { cookie: signedCookie(id, secret) } })
        })
        assert.equal(calls, expectedCalls, `signed with the ${secret}`)
        assert.equal(result!.sessionID, id)
        assert.equal(result!.session?.user, 'alice')
      }
    })

    it('verifies every request afresh: a cookie that verified before is compared again, and a forgery of it is refused', async () => {
      const store = storeWith(id)
      const mw = middleware({ store, secret: secrets })
      const good = signedCookie(id, 'new secret')
      const real = signature(id, 'new secret')
      const forged = `connect.sid=${encodeURIComponent(`s:${id}.${real.slice(0, -1) + (real.endsWith('A') ? 'B' : 'A')}`)}`
      for (let i = 0; i < 2; i++) {
        let again
        assert.equal(await countTimingSafeEqual(async () => (again = await invoke(mw, { headers: { cookie: good } }))), 1)
        assert.equal(again!.session?.user, 'alice')
      }
      for (let i = 0; i < 2; i++) {
        let result
        assert.equal(await countTimingSafeEqual(async () => (result = await invoke(mw, { headers: { cookie: forged } }))), 2)
        assert.notEqual(result!.sessionID, id)
      }
    })

    it('refuses signatures of another length without comparing them (the length is public: 43 characters)', async () => {
      const mw = middleware({ store: storeWith(id), secret: secrets })
      for (const sig of ['', signature(id, 'new secret').slice(0, 42), signature(id, 'new secret') + 'A', signature(id, 'new secret') + '=']) {
        let result
        const calls = await countTimingSafeEqual(async () => {
          result = await invoke(mw, { headers: { cookie: `connect.sid=${encodeURIComponent(`s:${id}.${sig}`)}` } })
        })
        assert.equal(calls, 0)
        assert.notEqual(result!.sessionID, id)
      }
    })
  })

  describe('session fixation', () => {
    it('never adopts a validly signed ID that the store does not know, even when the route writes to the session', async () => {
      const store = new CountingStore({ checkPeriod: 0 })
      const app = express()
      app.use(session({ secret: 'keyboard cat', store, resave: false, saveUninitialized: false }))
      app.get('/', (req: any, res) => {
        req.session.user = 'victim'
        res.end(req.sessionID)
      })
      const planted = 'attacker-chosen-session-id'
      const res = await request(app).get('/').set('Cookie', signedCookie(planted)).expect(200)
      assert.notEqual(res.text, planted)
      assert.match(res.text, /^[\w-]{32}$/)
      assert.equal(sid(res), res.text, 'the cookie carries the new ID')
      assert.equal(store.stored(planted), undefined, 'nothing stored under the planted ID')
      assert.deepEqual(store.setIds, [res.text])
    })

    it('never adopts an unsigned or tampered ID of a session that does exist', async () => {
      const id = 'existing-session'
      const store = storeWith(id)
      const mw = middleware({ store })
      const good = signedCookie(id)
      for (const value of [`connect.sid=${id}`, `connect.sid=s%3A${id}`, good.slice(0, -1), good.replace('s%3A', 'S%3A'), signedCookie(id, 'another secret')]) {
        const result = await invoke(mw, { headers: { cookie: value } })
        assert.notEqual(result.sessionID, id, value)
        assert.equal(result.session?.user, undefined, value)
      }
      const result = await invoke(mw, { headers: { cookie: good } })
      assert.equal(result.session?.user, 'alice', 'the genuine cookie works')
    })
  })

  describe('session IDs', () => {
    it('are 192-bit random values: 32 base64url characters, unique, every bit balanced', async () => {
      const mw = middleware({ saveUninitialized: true, store: new session.MemoryStore({ checkPeriod: 0 }) })
      const count = 2000
      const ids = new Set<string>()
      const ones = new Array<number>(192).fill(0)
      for (let i = 0; i < count; i++) {
        const result = await invoke(mw)
        const id = result.sessionID as string
        assert.match(id, /^[A-Za-z0-9_-]{32}$/)
        assert.equal(cookieValue(result.setCookies, 'connect.sid')?.slice(2, 34), id, 'the cookie carries it')
        const bytes = Buffer.from(id, 'base64url')
        assert.equal(bytes.length, 24, '24 bytes = 192 bits')
        assert.equal(bytes.toString('base64url'), id)
        ids.add(id)
        for (let bit = 0; bit < 192; bit++) ones[bit]! += (bytes[bit >> 3]! >> (7 - (bit & 7))) & 1
      }
      assert.equal(ids.size, count, 'no ID repeats')
      // each bit is set in half of the IDs: 6 standard deviations (~134 of 2000) is a bound a fair coin
      // exceeds with probability ~1e-9 per bit, while a constant or biased bit (e.g. a counter, a timestamp) fails
      const sigma = Math.sqrt(count * 0.25)
      for (let bit = 0; bit < 192; bit++) {
        assert.ok(Math.abs(ones[bit]! - count / 2) < 6 * sigma, `bit ${bit} set in ${ones[bit]} of ${count} IDs`)
      }
      // and the characters: about 6 bits of entropy each, 192 in all
      const frequency = new Map<string, number>()
      for (const id of ids) for (const ch of id) frequency.set(ch, (frequency.get(ch) ?? 0) + 1)
      const total = count * 32
      let entropy = 0
      for (const n of frequency.values()) entropy -= (n / total) * Math.log2(n / total)
      assert.ok(entropy > 5.98, `character entropy ${entropy.toFixed(4)} bits (max 6)`)
    })
  })

  describe('cookie attribute injection', () => {
    const base = { secret: 'keyboard cat', resave: false, saveUninitialized: true }

    it('refuses a name, domain or path that would add attributes, when the middleware is created', () => {
      assert.throws(() => session({ ...base, name: 'sid; Domain=evil.example' }), { name: 'TypeError', message: /^name option must be a cookie name: .*\(got string "sid; Domain=evil\.example"\)/ })
      assert.throws(() => session({ ...base, name: 'sid=x' }), { name: 'TypeError', message: /^name option must be a cookie name/ })
      assert.throws(() => session({ ...base, cookie: { domain: 'example.com; SameSite=None' } }), { name: 'TypeError', message: /^cookie\.domain option must be .*\(got string "example\.com; SameSite=None"\)/ })
      assert.throws(() => session({ ...base, cookie: { domain: 'example.com\r\nSet-Cookie: admin=1' } }), { name: 'TypeError', message: /^cookie\.domain option must be/ })
      assert.throws(() => session({ ...base, cookie: { path: '/; Domain=evil.example' } }), { name: 'TypeError', message: /^cookie\.path option must be .*\(got string "\/; Domain=evil\.example"\)/ })
      assert.throws(() => session({ ...base, cookie: { path: '/\nx' } }), { name: 'TypeError', message: /^cookie\.path option must be/ })
      // what is allowed still is
      assert.doesNotThrow(() => session({ ...base, name: 'my.app-sid', cookie: { domain: 'app.example.com', path: '/app' } }))
    })

    it('passes an injection through cookie(req) to next(err), and sends no cookie', async () => {
      const mw = session({ ...base, cookie: (req: any) => ({ domain: req.headers['x-tenant'], path: req.headers['x-base'] ?? '/' }) }) as Middleware
      const fine = await invoke(mw, { headers: { 'x-tenant': 'tenant.example' } })
      assert.equal(fine.status, 200)
      assert.match(fine.setCookies[0]!, /; Domain=tenant\.example(;|$)/)

      const viaDomain = await invoke(mw, { headers: { 'x-tenant': 'tenant.example; Domain=evil.example' } })
      assert.equal(viaDomain.status, 500)
      assert.match(String((viaDomain.errors[0] as Error).message), /^cookie\.domain option \(returned by the cookie function\) must be/)
      assert.deepEqual(viaDomain.setCookies, [])

      const viaPath = await invoke(mw, { url: '/', headers: { 'x-tenant': 'tenant.example', 'x-base': '/; Domain=evil.example' } })
      assert.equal(viaPath.status, 500)
      assert.match(String((viaPath.errors[0] as Error).message), /^cookie\.path option \(returned by the cookie function\) must be/)
      assert.deepEqual(viaPath.setCookies, [])
    })

    it('encodes whatever genid returns: an ID cannot add attributes either', async () => {
      const mw = session({ ...base, genid: () => 'id; Domain=evil.example; Path=/x' }) as Middleware
      const result = await invoke(mw)
      assert.equal(result.setCookies.length, 1)
      const attributes = result.setCookies[0]!.split('; ').slice(1).map((attribute) => attribute.split('=')[0])
      assert.deepEqual(attributes, ['Path', 'HttpOnly'])
      assert.equal(cookieValue(result.setCookies, 'connect.sid'), `s:id; Domain=evil.example; Path=/x.${signature('id; Domain=evil.example; Path=/x', 'keyboard cat')}`)
    })
  })

  describe('secret rotation', () => {
    const store = new CountingStore({ checkPeriod: 0 })
    const app = (secret: string | string[]) => {
      const a = express()
      // a maxAge cookie is re-sent whenever the session changes: that is when the new secret re-signs it
      a.use(session({ secret, store, resave: false, saveUninitialized: false, cookie: { maxAge: 3600_000 } }))
      a.get('/login', (req: any, res) => {
        req.session.user = 'alice'
        res.end(req.sessionID)
      })
      a.get('/me', (req: any, res) => {
        req.session.seen = ((req.session.seen as number | undefined) ?? 0) + 1
        res.end(String(req.session.user ?? 'anonymous'))
      })
      return a
    }

    it('the old secret still verifies, the new one signs, a removed one no longer verifies', async () => {
      const before = app('secret 2024')
      const login = await request(before).get('/login').expect(200)
      const oldCookie = cookie(login)

      // rotated: new secret first, old one kept for verification
      const rotating = app(['secret 2025', 'secret 2024'])
      const me = await request(rotating).get('/me').set('Cookie', oldCookie).expect(200, 'alice')
      const reissued = decodeURIComponent(cookie(me).slice('connect.sid='.length))
      assert.equal(reissued, `s:${login.text}.${signature(login.text, 'secret 2025')}`, 'same session, re-signed with the new secret')

      // the old secret removed: cookies signed with it no longer verify; re-signed ones do
      const after = app(['secret 2025'])
      const stale = await request(after).get('/me').set('Cookie', oldCookie).expect(200, 'anonymous')
      assert.notEqual(sid(stale), login.text)
      await request(after).get('/me').set('Cookie', cookie(me)).expect(200, 'alice')
    })
  })

  describe('regenerate on login', () => {
    function loginApp() {
      const store = new CountingStore({ checkPeriod: 0 })
      const app = express()
      app.use(session({ secret: 'keyboard cat', store, resave: false, saveUninitialized: true }))
      app.get('/', (req: any, res) => {
        req.session.cart = ['book']
        res.end('anonymous visit')
      })
      // the recommended login: a new session ID once the user is authenticated (data carried over on request)
      app.post('/login', (req: any, res, next) => {
        req.session.regenerate({ keepData: true }, (err: unknown) => {
          if (err) return next(err)
          req.session.user = 'alice'
          req.session.save((saveErr: unknown) => (saveErr ? next(saveErr) : res.end(req.sessionID)))
        })
      })
      // for contrast: logging in on the pre-login session
      app.post('/login-in-place', (req: any, res) => {
        req.session.user = 'alice'
        res.end(req.sessionID)
      })
      app.get('/me', (req: any, res) => {
        res.json({ user: req.session.user ?? null, cart: req.session.cart ?? null })
      })
      return { app, store }
    }

    it('gives the logged-in session a new ID; the pre-login ID (possibly planted by an attacker) stays anonymous', async () => {
      const { app, store } = loginApp()
      const visit = await request(app).get('/').expect(200)
      const planted = cookie(visit)
      const preLoginId = sid(visit)

      const login = await request(app).post('/login').set('Cookie', planted).expect(200)
      assert.ok(setCookieFor(login), 'a new cookie')
      assert.notEqual(sid(login), preLoginId)
      assert.equal(login.text, sid(login))
      assert.equal(store.stored(preLoginId), undefined, 'the pre-login session is destroyed')

      await request(app).get('/me').set('Cookie', cookie(login)).expect(200, { user: 'alice', cart: ['book'] })
      const withPlanted = await request(app).get('/me').set('Cookie', planted).expect(200)
      assert.deepEqual(withPlanted.body, { user: null, cart: null }, 'whoever holds the old cookie is not logged in')
    })

    it('(why) logging in without regenerate leaves the pre-login cookie logged in', async () => {
      const { app } = loginApp()
      const visit = await request(app).get('/').expect(200)
      const planted = cookie(visit)
      await request(app).post('/login-in-place').set('Cookie', planted).expect(200, sid(visit))
      await request(app).get('/me').set('Cookie', planted).expect(200, { user: 'alice', cart: ['book'] })
    })
  })

  describe('secure defaults', () => {
    it('the session cookie is HttpOnly, host-only, Path=/, signed, and a browser-session cookie unless maxAge is set', async () => {
      const mw = middleware({ saveUninitialized: true })
      const result = await invoke(mw)
      assert.equal(result.setCookies.length, 1)
      const [pair, ...attributes] = result.setCookies[0]!.split('; ')
      assert.match(pair!, /^connect\.sid=s%3A[\w-]{32}\.[A-Za-z0-9%]+$/)
      assert.deepEqual(attributes, ['Path=/', 'HttpOnly'])
    })
  })
})
