/**
 * The `unset` option of `session(options)`: what unsetting `req.session` (delete, null) does to the
 * stored session.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import request from 'supertest'
import session from 'express-session'
import {
  CountingStore,
  cookie,
  createExpressApp,
  delay,
  shouldNotSetCookie,
  shouldSetCookie,
  sid,
  type ExpressHandler,
} from '../support/http.js'

/**
 * X-Unset: 'null' sets req.session to null, 'delete' deletes it, 'destroy' calls destroy() then sets it
 * to null; otherwise the view count goes up. X-Views sets the count before that.
 */
const handler: ExpressHandler = (req, res, next) => {
  const id = req.session.id
  if (req.headers['x-views']) req.session.views = Number(req.headers['x-views'])
  switch (req.headers['x-unset']) {
    case 'null':
      req.session = null
      return res.end(`unset ${id}`)
    case 'delete':
      delete req.session
      return res.end(`unset ${id}`)
    case 'destroy':
      return req.session.destroy((err: unknown) => {
        if (err) return next(err)
        req.session = null
        res.end(`destroyed ${id}`)
      })
    default:
      req.session.views = (req.session.views ?? 0) + 1
      return res.end(`${id} ${req.session.views}`)
  }
}

describe('unset option', () => {
  for (const bad of ['bogus', 'DESTROY', true, 1]) {
    it(`throws at construction when it is ${JSON.stringify(bad)}`, () => {
      assert.throws(() => session({ secret: 'x', resave: false, saveUninitialized: false, unset: bad as never }), {
        name: 'TypeError',
        message: `unset option must be "destroy" or "keep" (got ${typeof bad} ${typeof bad === 'string' ? JSON.stringify(bad) : String(bad)})`,
      })
    })
  }

  for (const unset of [undefined, 'keep'] as const) {
    describe(unset === undefined ? 'by default ("keep")' : 'when "keep"', () => {
      for (const how of ['null', 'delete']) {
        it(`keeps the stored session when req.session is unset (${how})`, async () => {
          const store = new CountingStore()
          const app = createExpressApp({ store, unset }, handler)
          const first = await request(app).get('/').expect(200)
          const id = sid(first)
          store.resetCalls()
          await request(app).get('/').set('Cookie', cookie(first)).set('X-Unset', how).expect(shouldNotSetCookie()).expect(200, `unset ${id}`)
          assert.equal(store.calls.destroy, 0)
          assert.equal(store.stored(id)?.views, 1)
          await request(app).get('/').set('Cookie', cookie(first)).expect(200, `${id} 2`)
        })
      }

      it('ignores the changes made before req.session was unset', async () => {
        const store = new CountingStore()
        const app = createExpressApp({ store, unset }, handler)
        const first = await request(app).get('/').expect(200)
        store.resetCalls()
        await request(app).get('/').set('Cookie', cookie(first)).set('X-Views', '99').set('X-Unset', 'null').expect(200)
        assert.equal(store.calls.set, 0)
        assert.equal(store.stored(sid(first))?.views, 1)
      })

      it('neither saves nor sets the cookie of a new session that is unset', async () => {
        const store = new CountingStore()
        await request(createExpressApp({ store, unset }, handler)).get('/').set('X-Unset', 'null').expect(shouldNotSetCookie()).expect(200)
        assert.deepEqual(store.calls, { get: 0, set: 0, patch: 0, destroy: 0, touch: 0 })
      })
    })
  }

  describe('when "destroy"', () => {
    for (const how of ['null', 'delete']) {
      it(`destroys the stored session when req.session is unset (${how})`, async () => {
        const store = new CountingStore()
        const app = createExpressApp({ store, unset: 'destroy' }, handler)
        const first = await request(app).get('/').expect(200)
        const id = sid(first)
        store.resetCalls()
        await request(app).get('/').set('Cookie', cookie(first)).set('X-Unset', how).expect(shouldNotSetCookie()).expect(200, `unset ${id}`)
        assert.equal(store.calls.destroy, 1)
        assert.equal(store.calls.set, 0)
        assert.equal(store.stored(id), undefined)
        const next = await request(app).get('/').set('Cookie', cookie(first)).expect(200)
        assert.notEqual(sid(next), id)
        assert.equal(next.text, `${sid(next)} 1`)
      })
    }

    it('neither saves nor sets the cookie of a new session that is unset', async () => {
      const store = new CountingStore()
      await request(createExpressApp({ store, unset: 'destroy' }, handler)).get('/').set('X-Unset', 'null').expect(shouldNotSetCookie()).expect(200)
      assert.equal(store.calls.set, 0)
      assert.deepEqual(Object.keys(store.sessions), [])
    })

    it('saves the session as usual when req.session is left alone', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store, unset: 'destroy' }, handler)
      const first = await request(app).get('/').expect(shouldSetCookie()).expect(200)
      await request(app).get('/').set('Cookie', cookie(first)).expect(200, `${sid(first)} 2`)
      assert.equal(store.calls.destroy, 0)
      assert.equal(store.stored(sid(first))?.views, 2)
    })

    it('calls store.destroy once with an explicit destroy() (fixed upstream bug: twice)', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store, unset: 'destroy' }, handler)
      const first = await request(app).get('/').expect(200)
      const id = sid(first)
      store.resetCalls()
      await request(app).get('/').set('Cookie', cookie(first)).set('X-Unset', 'destroy').expect(shouldNotSetCookie()).expect(200, `destroyed ${id}`)
      await delay(10)
      assert.equal(store.calls.destroy, 1)
      assert.equal(store.stored(id), undefined)
    })

    it('finishes the response only after the store has destroyed the session', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store, unset: 'destroy' }, handler)
      const first = await request(app).get('/').expect(200)
      let destroyedAt = 0
      const destroy = store.destroy.bind(store)
      store.destroy = (id, callback) => {
        setTimeout(() => destroy(id, (err?: unknown) => {
          destroyedAt = Date.now()
          callback?.(err)
        }), 50)
      }
      await request(app).get('/').set('Cookie', cookie(first)).set('X-Unset', 'null').expect(200)
      assert.ok(destroyedAt > 0 && destroyedAt <= Date.now(), 'destroyed before the response arrived')
      assert.equal(store.stored(sid(first)), undefined)
    })

    it('passes a store.destroy error to next(err)', async () => {
      const store = new CountingStore()
      const errors: unknown[] = []
      const app = createExpressApp({ store, unset: 'destroy' }, handler, { errors })
      const first = await request(app).get('/').expect(200)
      store.destroy = (_id, callback) => {
        setImmediate(() => callback?.(new Error('cannot destroy')))
      }
      await request(app).get('/').set('Cookie', cookie(first)).set('X-Unset', 'null').expect(200)
      await delay(10)
      assert.deepEqual(errors.map((err) => (err as Error).message), ['cannot destroy'])
    })
  })
})
