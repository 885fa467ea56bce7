/**
 * The `secret` option of `session(options)`: signing the session ID cookie, verifying it, rotating
 * secrets, and cookie-parser's `req.secret` when the option is missing.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createSecretKey } from 'node:crypto'
import cookieParser from 'cookie-parser'
import { unsign } from 'cookie-signature'
import request from 'supertest'
import session from 'express-session'
import {
  CountingStore,
  cookie,
  createExpressApp,
  shouldNotSetCookie,
  shouldSetCookie,
  sid,
  signedCookie,
  type ExpressHandler,
} from '../support/http.js'

/** Counts views in the session and answers `<id> <views>`. */
const countViews: ExpressHandler = (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1
  res.end(`${req.session.id} ${req.session.views}`)
}

/** The signed value of the session cookie (`<id>.<signature>`, without the `s:` prefix). */
function signedValue(res: request.Response): string {
  const value = decodeURIComponent(cookie(res).slice('connect.sid='.length))
  assert.ok(value.startsWith('s:'), value)
  return value.slice(2)
}

describe('secret option', () => {
  it('signs with a string: s:<id>.<base64 HMAC-SHA256 without padding>', async () => {
    const res = await request(createExpressApp({ secret: 'keyboard cat' })).get('/').expect(200)
    assert.match(signedValue(res), /^[\w-]{32}\.[A-Za-z0-9+/]{43}$/)
    assert.equal(unsign(signedValue(res), 'keyboard cat'), sid(res))
    assert.equal(unsign(signedValue(res), 'another secret'), false)
  })

  it('verifies what it signed with a string', async () => {
    const app = createExpressApp({ secret: 'keyboard cat' }, countViews)
    const first = await request(app).get('/').expect(200)
    await request(app).get('/').set('Cookie', cookie(first)).expect(200, `${sid(first)} 2`)
  })

  it('signs and verifies with a Buffer, as with the same bytes as a string', async () => {
    const app = createExpressApp({ secret: Buffer.from('keyboard cat') }, countViews)
    const first = await request(app).get('/').expect(200)
    assert.equal(unsign(signedValue(first), 'keyboard cat'), sid(first))
    await request(app).get('/').set('Cookie', cookie(first)).expect(200, `${sid(first)} 2`)
  })

  it('accepts any HMAC key, such as a KeyObject', async () => {
    const app = createExpressApp({ secret: createSecretKey(Buffer.from('keyboard cat')) as never }, countViews)
    const first = await request(app).get('/').expect(200)
    assert.equal(unsign(signedValue(first), 'keyboard cat'), sid(first))
    await request(app).get('/').set('Cookie', cookie(first)).expect(200, `${sid(first)} 2`)
  })

  describe('as an array', () => {
    it('throws at construction when empty', () => {
      assert.throws(() => session({ secret: [], resave: false, saveUninitialized: false }), {
        name: 'TypeError',
        message: /^secret option must be a non-empty string or Buffer, or an array of them .*\(got an empty array\); set it to a long random value/,
      })
    })

    // 1.19.0 signed with an empty HMAC key
    for (const [what, secrets] of [
      ['an empty string', ['current', '']],
      ['an empty Buffer', [Buffer.alloc(0), 'old']],
    ] as const) {
      it(`throws at construction when an item is ${what} (difference from 1.19.0)`, () => {
        const index = secrets.findIndex((s) => s.length === 0)
        assert.throws(() => session({ secret: secrets as unknown as string[], resave: false, saveUninitialized: false }), {
          name: 'TypeError',
          message: new RegExp(`^secret option must be .*\\(got an array whose item ${index} is ${what}\\); set it to a long random value`),
        })
      })
    }

    it('signs with the first element', async () => {
      const res = await request(createExpressApp({ secret: ['first secret', 'second secret'] })).get('/').expect(200)
      assert.equal(unsign(signedValue(res), 'first secret'), sid(res))
      assert.equal(unsign(signedValue(res), 'second secret'), false)
    })

    it('verifies with every element', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store, secret: ['one', Buffer.from('two'), 'three'] }, countViews)
      const first = await request(app).get('/').expect(200)
      const id = sid(first)
      await request(app).get('/').set('Cookie', signedCookie(id, 'one')).expect(200, `${id} 2`)
      await request(app).get('/').set('Cookie', signedCookie(id, 'two')).expect(200, `${id} 3`)
      await request(app).get('/').set('Cookie', signedCookie(id, 'three')).expect(200, `${id} 4`)
    })

    it('rotates: the old secret still verifies, the new one signs, a removed one no longer verifies', async () => {
      const store = new CountingStore()
      const before = createExpressApp({ store, secret: 'old secret' }, countViews)
      const issued = await request(before).get('/').expect(200)
      const id = sid(issued)
      assert.equal(unsign(signedValue(issued), 'old secret'), id)

      // rotated in: ['new', 'old'] still reads the cookie signed with the old secret, and re-signs with the new one
      const during = createExpressApp({ store, secret: ['new secret', 'old secret'], rolling: true }, countViews)
      const resigned = await request(during).get('/').set('Cookie', cookie(issued)).expect(shouldSetCookie()).expect(200, `${id} 2`)
      assert.equal(unsign(signedValue(resigned), 'new secret'), id)
      assert.equal(unsign(signedValue(resigned), 'old secret'), false)

      // rotated out: only ['new'] left; the old cookie means a new session, the re-signed one still works
      const after = createExpressApp({ store, secret: ['new secret'] }, countViews)
      store.resetCalls()
      const fresh = await request(after).get('/').set('Cookie', cookie(issued)).expect(200)
      assert.notEqual(sid(fresh), id)
      assert.equal(fresh.text, `${sid(fresh)} 1`)
      assert.equal(store.calls.get, 0, 'a cookie no secret verifies is not looked up')
      await request(after).get('/').set('Cookie', cookie(resigned)).expect(200, `${id} 3`)
    })

    it('sends a cookie the first secret signed back as it came, quoted or not, and signs a regenerated ID anew', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store, secret: ['first secret', 'second secret'], rolling: true }, (req, res) => {
        if (req.query.regenerate === undefined) return countViews(req, res, () => undefined)
        req.session.regenerate(() => res.end(req.session.id))
      })
      const issued = await request(app).get('/').expect(200)
      const id = sid(issued)
      const again = await request(app).get('/').set('Cookie', cookie(issued)).expect(shouldSetCookie()).expect(200, `${id} 2`)
      assert.equal(cookie(again), cookie(issued))
      const value = cookie(issued).slice('connect.sid='.length)
      const quoted = await request(app).get('/').set('Cookie', `connect.sid="${value}"`).expect(200, `${id} 3`)
      assert.equal(cookie(quoted), cookie(issued))

      const regenerated = await request(app).get('/?regenerate').set('Cookie', cookie(issued)).expect(200)
      assert.notEqual(regenerated.text, id)
      assert.equal(sid(regenerated), regenerated.text)
      assert.equal(unsign(signedValue(regenerated), 'first secret'), regenerated.text)
    })
  })

  describe('empty (difference from 1.19.0: it took \'\' as missing and signed with an empty Buffer)', () => {
    for (const [what, secret] of [['an empty string', ''], ['an empty Buffer', Buffer.alloc(0)]] as const) {
      it(`throws at construction when it is ${what}, naming secret and saying what to do`, () => {
        assert.throws(() => session({ secret: secret as string, resave: false, saveUninitialized: true }), {
          name: 'TypeError',
          message: new RegExp(`^secret option must be a non-empty string or Buffer, or an array of them .*\\(got ${what}\\); ` +
            'set it to a long random value, e\\.g\\. session\\(\\{ secret: process\\.env\\.SESSION_SECRET \\}\\) with that variable set, ' +
            'or leave it out and mount cookie-parser with a secret'),
        })
      })
    }
  })

  describe('an invalid cookie', () => {
    for (const [what, value] of [
      ['a tampered signature', (id: string) => signedCookie(id).replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))],
      ['a tampered ID', (id: string) => signedCookie(id).replace('s%3A', 's%3AX')],
      ['an unsigned ID', (id: string) => `connect.sid=${id}`],
      ['an s:-prefixed ID without signature', (id: string) => `connect.sid=s%3A${id}`],
      ['an ID signed with another secret', (id: string) => signedCookie(id, 'not the secret')],
    ] as const) {
      it(`means a new session, without store.get: ${what}`, async () => {
        const store = new CountingStore()
        const app = createExpressApp({ store }, countViews)
        const first = await request(app).get('/').expect(200)
        const id = sid(first)
        store.resetCalls()
        const res = await request(app).get('/').set('Cookie', value(id)).expect(shouldSetCookie()).expect(200)
        assert.notEqual(sid(res), id)
        assert.equal(res.text, `${sid(res)} 1`)
        assert.equal(store.calls.get, 0)
        assert.equal(store.stored(id)?.views, 1, 'the real session is left alone')
      })
    }
  })

  describe('when missing', () => {
    it('uses req.secret, set by cookie-parser', async () => {
      const middleware = session({ resave: false, saveUninitialized: true })
      const app = createExpressApp(middleware, countViews, { before: (app) => app.use(cookieParser('parser secret')) })
      const first = await request(app).get('/').expect(shouldSetCookie()).expect(200)
      assert.equal(unsign(signedValue(first), 'parser secret'), sid(first))
      await request(app).get('/').set('Cookie', cookie(first)).expect(200, `${sid(first)} 2`)
    })

    it('passes "secret option required for sessions" to next(err) without req.secret, saying what to do', async () => {
      const store = new CountingStore()
      const middleware = session({ store, resave: false, saveUninitialized: true })
      const res = await request(createExpressApp(middleware)).get('/').expect(shouldNotSetCookie()).expect(500)
      assert.match(res.text, /^secret option required for sessions: set the secret option, or mount cookie-parser with a secret/)
      assert.match(res.text, /\(app\.use\(cookieParser\(secret\)\)\) before the session middleware/)
      assert.deepEqual(store.calls, { get: 0, set: 0, patch: 0, destroy: 0, touch: 0 })
    })

    it('prefers the secret option over req.secret', async () => {
      const app = createExpressApp({ secret: 'option secret' }, undefined, { before: (app) => app.use(cookieParser('parser secret')) })
      const res = await request(app).get('/').expect(200)
      assert.equal(unsign(signedValue(res), 'option secret'), sid(res))
    })
  })
})
