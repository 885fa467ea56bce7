/**
 * The `name` option of `session(options)` (and its alias `key`): the name of the session ID cookie.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import request from 'supertest'
import session from 'express-session'
import {
  CountingStore,
  cookie,
  createExpressApp,
  setCookies,
  shouldNotSetCookie,
  shouldSetCookie,
  signedCookie,
  type ExpressHandler,
} from '../support/http.js'

/** Counts views in the session and answers `<id> <views>`. */
const countViews: ExpressHandler = (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1
  res.end(`${req.session.id} ${req.session.views}`)
}

describe('name option', () => {
  it('defaults to "connect.sid"', async () => {
    const res = await request(createExpressApp(null)).get('/').expect(shouldSetCookie('connect.sid')).expect(200)
    assert.equal(setCookies(res).length, 1)
  })

  it('names the cookie', async () => {
    const res = await request(createExpressApp({ name: 'session_id' }))
      .get('/')
      .expect(shouldSetCookie('session_id'))
      .expect(shouldNotSetCookie('connect.sid'))
      .expect(200)
    assert.equal(setCookies(res).length, 1)
  })

  it('is the cookie read back', async () => {
    const app = createExpressApp({ name: 'session_id' }, countViews)
    const first = await request(app).get('/').expect(200)
    const id = first.text.split(' ')[0]
    await request(app).get('/').set('Cookie', cookie(first, 'session_id')).expect(200, `${id} 2`)
  })

  it('ignores a session cookie of another name', async () => {
    const store = new CountingStore()
    const app = createExpressApp({ store, name: 'session_id' }, countViews)
    const first = await request(app).get('/').expect(200)
    const id = first.text.split(' ')[0]!
    store.resetCalls()
    const res = await request(app).get('/').set('Cookie', signedCookie(id, 'keyboard cat', 'connect.sid')).expect(200)
    assert.notEqual(res.text.split(' ')[0], id)
    assert.equal(store.calls.get, 0)
  })

  it('keeps the sessions of two apps on the same host apart', async () => {
    const store = new CountingStore()
    const one = createExpressApp({ store, name: 'one.sid' }, countViews)
    const two = createExpressApp({ store, name: 'two.sid' }, countViews)
    const a = await request(one).get('/').expect(200)
    const b = await request(two).get('/').expect(200)
    const both = `${cookie(a, 'one.sid')}; ${cookie(b, 'two.sid')}`
    await request(one).get('/').set('Cookie', both).expect(200, `${a.text.split(' ')[0]} 2`)
    await request(two).get('/').set('Cookie', both).expect(200, `${b.text.split(' ')[0]} 2`)
  })

  it('reads the first of several cookies with that name', async () => {
    const app = createExpressApp(null, countViews)
    const first = await request(app).get('/').expect(200)
    const second = await request(app).get('/').expect(200)
    const [id1] = first.text.split(' ')
    await request(app).get('/').set('Cookie', `${cookie(first)}; ${cookie(second)}`).expect(200, `${id1} 2`)
  })

  it('throws at construction when it is not a string', () => {
    assert.throws(() => session({ secret: 'x', resave: false, saveUninitialized: false, name: 42 as never }), {
      name: 'TypeError',
      message: /^name option must be a cookie name: .*\(got number 42\)/,
    })
  })

  it('throws at construction when it is not a valid cookie name', () => {
    assert.throws(() => session({ secret: 'x', resave: false, saveUninitialized: false, name: 'my session' }), {
      message: /^name option must be a cookie name: printable ASCII without spaces, ';' or '=' .*\(got string "my session"\)/,
    })
  })
})

describe('key option', () => {
  it('is an alias of name', async () => {
    const app = createExpressApp({ key: 'legacy.sid' }, countViews)
    const first = await request(app).get('/').expect(shouldSetCookie('legacy.sid')).expect(shouldNotSetCookie('connect.sid')).expect(200)
    const id = first.text.split(' ')[0]
    await request(app).get('/').set('Cookie', cookie(first, 'legacy.sid')).expect(200, `${id} 2`)
  })

  it('loses to name when both are given', async () => {
    await request(createExpressApp({ name: 'named.sid', key: 'keyed.sid' }))
      .get('/')
      .expect(shouldSetCookie('named.sid'))
      .expect(shouldNotSetCookie('keyed.sid'))
      .expect(200)
  })
})
