/**
 * The `genid` option of `session(options)`: how new session IDs are made.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import request from 'supertest'
import session from 'express-session'
import { CountingStore, cookie, createExpressApp, setCookieFor, sid } from '../support/http.js'

describe('genid option', () => {
  for (const bad of ['bogus!', 42, {}, true]) {
    it(`throws at construction when it is ${JSON.stringify(bad)}`, () => {
      assert.throws(() => session({ secret: 'x', resave: false, saveUninitialized: false, genid: bad as never }), {
        name: 'TypeError',
        message: /^genid option must be a function \(req\) => string, or returning a Promise of a string \(got /,
      })
    })
  }

  it('defaults to 32 base64url characters (24 random bytes)', async () => {
    const app = createExpressApp(null)
    const ids = new Set<string>()
    for (let i = 0; i < 5; i++) {
      const res = await request(app).get('/').expect(200)
      assert.match(sid(res), /^[A-Za-z0-9_-]{32}$/)
      assert.equal(res.text, sid(res))
      ids.add(sid(res))
    }
    assert.equal(ids.size, 5)
  })

  it('uses the ID the function returns', async () => {
    const store = new CountingStore()
    const res = await request(createExpressApp({ store, genid: () => 'apple' })).get('/').expect(200, 'apple')
    assert.equal(sid(res), 'apple')
    assert.ok(store.stored('apple'), 'the session is stored under the generated ID')
  })

  it('is given the request', async () => {
    const app = createExpressApp({
      genid: (req) => {
        const r = req as unknown as { headers: Record<string, string>; originalUrl: string }
        return `${r.headers['x-user']}-${r.originalUrl.slice(1)}`
      },
    })
    const res = await request(app).get('/checkout').set('X-User', 'bob').expect(200, 'bob-checkout')
    assert.equal(sid(res), 'bob-checkout')
  })

  it('URL-encodes unsafe characters in the cookie value', async () => {
    const res = await request(createExpressApp({ genid: () => '%' })).get('/').expect(200, '%')
    assert.equal(cookie(res), 'connect.sid=s%3A%25.kzQ6x52kKVdF35Qh62AWk4ZekS28K5XYCXKa%2FOTZ01g')
  })

  it('finds a session with an encoded ID again', async () => {
    const app = createExpressApp({ genid: () => 'a b;c%d=é' }, (req, res) => {
      req.session.views = (req.session.views ?? 0) + 1
      res.end(`${req.session.id} ${req.session.views}`)
    })
    const first = await request(app).get('/').expect(200, 'a b;c%d=é 1')
    assert.ok(setCookieFor(first)?.startsWith('connect.sid=s%3Aa%20b%3Bc%25d%3D%C3%A9.'), setCookieFor(first))
    await request(app).get('/').set('Cookie', cookie(first)).expect(200, 'a b;c%d=é 2')
  })

  it('is called only for new sessions', async () => {
    let calls = 0
    const app = createExpressApp({ genid: () => `id-${++calls}` })
    const res = await request(app).get('/').expect(200, 'id-1')
    await request(app).get('/').set('Cookie', cookie(res)).expect(200, 'id-1')
    assert.equal(calls, 1)
  })

  it('makes the ID of a regenerated session', async () => {
    let calls = 0
    const app = createExpressApp({ genid: () => `id-${++calls}` }, (req, res, next) => {
      req.session.regenerate((err: unknown) => (err ? next(err) : res.end(req.session.id)))
    })
    const res = await request(app).get('/').expect(200, 'id-2')
    assert.equal(sid(res), 'id-2')
  })

  it('may return a promise of the ID', async () => {
    const res = await request(createExpressApp({ genid: async () => 'from-a-promise' })).get('/').expect(200, 'from-a-promise')
    assert.equal(sid(res), 'from-a-promise')
  })

  it('passes a rejected promise to next(err)', async () => {
    await request(createExpressApp({ genid: () => Promise.reject(new Error('no ids left')) }))
      .get('/')
      .expect(500, 'no ids left')
  })

  it('passes an error it throws to next(err)', async () => {
    await request(createExpressApp({
      genid: () => {
        throw new Error('id generator broken')
      },
    }))
      .get('/')
      .expect(500, 'id generator broken')
  })
})
