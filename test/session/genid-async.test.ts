/**
 * `genid` returning a Promise of a string: used for new sessions and for regenerate(); a rejection or a
 * promised non-string goes to next(err) with a message that says what went wrong.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import type express from 'express'
import request from 'supertest'
import session from 'express-session'
import { CountingStore, cookie, createExpressApp, delay, shouldNotSetCookie, shouldSetCookie, sid } from '../support/http.js'

declare module 'express-session' {
  interface SessionData {
    views: number
  }
}

/** A genid that answers after a few ms with `prefix` + a counter (and the request's X-Tenant header, if any). */
function asyncGenid(prefix = 'async-') {
  let n = 0
  return async (req: express.Request): Promise<string> => {
    await delay(2)
    const tenant = req.get('X-Tenant') ? req.get('X-Tenant') + '-' : ''
    return `${prefix}${tenant}${++n}`
  }
}

describe('genid returning a Promise', () => {
  it('names new sessions: cookie and store use the resolved ID', async () => {
    const store = new CountingStore()
    const app = createExpressApp({ store, genid: asyncGenid(), resave: false, saveUninitialized: false }, (req, res) => {
      req.session.views = 1
      res.end(req.sessionID)
    })
    const res = await request(app).get('/').expect(shouldSetCookie()).expect(200, 'async-1')
    assert.equal(sid(res), 'async-1')
    assert.equal(store.stored('async-1')?.views, 1)

    const again = await request(app).get('/').set('Cookie', cookie(res)).expect(200, 'async-1')
    assert.equal(again.headers['set-cookie'], undefined, 'an existing session is not renamed')
  })

  it('receives the request', async () => {
    const app = createExpressApp({ genid: asyncGenid('t-') })
    const res = await request(app).get('/').set('X-Tenant', 'acme').expect(200, 't-acme-1')
    assert.equal(sid(res), 't-acme-1')
  })

  it('names the new session of regenerate(), with a callback and as a promise', async () => {
    const store = new CountingStore()
    const app = createExpressApp({ store, genid: asyncGenid(), resave: false, saveUninitialized: false }, async (req, res, next) => {
      try {
        if (req.path === '/login') {
          req.session.views = 1
          res.end(req.sessionID)
        } else if (req.path === '/callback') {
          req.session.regenerate((err: Error | undefined) => (err ? next(err) : res.end(req.sessionID)))
        } else {
          await req.session.regenerate()
          req.session.views = 2
          res.end(req.sessionID)
        }
      } catch (err) {
        next(err)
      }
    })
    const first = await request(app).get('/login').expect(200, 'async-1')
    const second = await request(app).get('/callback').set('Cookie', cookie(first)).expect(shouldSetCookie()).expect(200, 'async-2')
    assert.equal(sid(second), 'async-2')
    assert.equal(store.stored('async-1'), undefined, 'old ID destroyed')
    const third = await request(app).get('/promise').set('Cookie', cookie(first)).expect(200)
    assert.match(third.text, /^async-\d+$/)
    assert.equal(sid(third), third.text)
    assert.equal(store.stored(third.text)?.views, 2)
  })

  describe('failures go to next(err), answered 500 with a clear message', () => {
    const cases: Array<[string, () => Promise<unknown>, string]> = [
      ['a rejection with an Error passes that Error', () => Promise.reject(new Error('ID service unavailable')), 'ID service unavailable'],
      ['a rejection with a non-Error says genid rejected', () => Promise.reject('quota exceeded'), 'genid option rejected: quota exceeded'],
      ['a promised number', () => Promise.resolve(42), 'genid option must return a string or a Promise of a string (got number)'],
      ['a promised undefined', () => Promise.resolve(undefined), 'genid option must return a string or a Promise of a string (got undefined)'],
    ]
    for (const [title, genid, message] of cases) {
      it(`new session: ${title}`, async () => {
        const store = new CountingStore()
        let handled = false
        const app = createExpressApp({ store, genid: genid as () => Promise<string> }, (_req, res) => {
          handled = true
          res.end('handled')
        })
        await request(app).get('/').expect(shouldNotSetCookie()).expect(500, message)
        assert.equal(handled, false, 'the route did not run')
        assert.equal(store.calls.set, 0, 'nothing saved')
      })
    }

    it('regenerate(): the callback gets the error; the promise rejects with it', async () => {
      let fail = false
      const genid = async (): Promise<string> => {
        if (fail) throw new Error('ID service unavailable')
        return 'first-id'
      }
      const app = createExpressApp({ genid, resave: false, saveUninitialized: false }, async (req, res, next) => {
        if (req.path === '/login') {
          req.session.views = 1
          res.end('ok')
          return
        }
        fail = true
        if (req.path === '/callback') {
          req.session.regenerate((err: Error | undefined) => next(err ?? new Error('expected an error')))
          return
        }
        try {
          await req.session.regenerate({ keepData: true })
          res.end('regenerated')
        } catch (err) {
          next(err)
        }
      })
      const first = await request(app).get('/login').expect(200)
      await request(app).get('/callback').set('Cookie', cookie(first)).expect(500, 'ID service unavailable')
      fail = false
      const again = await request(app).get('/login').expect(200)
      await request(app).get('/promise').set('Cookie', cookie(again)).expect(500, 'ID service unavailable')
    })
  })
})
