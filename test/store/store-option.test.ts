/**
 * The `store` option of `session(options)`: the default MemoryStore, a custom store, `store.generate`,
 * the store's connect/disconnect events and whether `touch` is used.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { inherits } from 'node:util'
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

/** Counts views in the session and answers `<id> <views>`. */
const countViews: ExpressHandler = (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1
  res.end(`${req.session.id} ${req.session.views}`)
}

/** Answers the session ID, leaving the session unmodified. */
const readOnly: ExpressHandler = (req, res) => {
  res.end(req.session ? req.session.id : 'no session')
}

/**
 * A minimal third-party store in the 1.x style: a function constructor calling `Store.call(this)`,
 * keeping plain objects, with get/set/destroy and no touch.
 */
interface PlainStore extends session.Store {
  data: Map<string, string>
  calls: string[]
}
const PlainStore = function PlainStore(this: PlainStore) {
  session.Store.call(this)
  this.data = new Map()
  this.calls = []
} as unknown as { new (): PlainStore; (this: PlainStore): void }
inherits(PlainStore, session.Store)
PlainStore.prototype.get = function get(this: PlainStore, sid: string, callback: (err: unknown, sess?: unknown) => void) {
  this.calls.push('get')
  const json = this.data.get(sid)
  setImmediate(callback, null, json === undefined ? null : JSON.parse(json))
}
PlainStore.prototype.set = function set(this: PlainStore, sid: string, sess: unknown, callback?: (err?: unknown) => void) {
  this.calls.push('set')
  this.data.set(sid, JSON.stringify(sess))
  if (callback) setImmediate(callback)
}
PlainStore.prototype.destroy = function destroy(this: PlainStore, sid: string, callback?: (err?: unknown) => void) {
  this.calls.push('destroy')
  this.data.delete(sid)
  if (callback) setImmediate(callback)
}

describe('store option', () => {
  it('defaults to a MemoryStore, exposed as req.sessionStore', async () => {
    const app = createExpressApp({ resave: false }, (req, res) => {
      req.session.views = 1
      const store = req.sessionStore as session.MemoryStore
      assert.ok(store instanceof session.MemoryStore)
      res.end(JSON.stringify(Object.keys(store.sessions)))
    })
    const first = await request(app).get('/').expect(200, '[]')
    // the session saved at the end of the first request is there for the second one
    await request(app).get('/').set('Cookie', cookie(first)).expect(200, JSON.stringify([sid(first)]))
  })

  it('gives each middleware its own default MemoryStore', async () => {
    const one = createExpressApp({ resave: false }, countViews)
    const two = createExpressApp({ resave: false }, countViews)
    const first = await request(one).get('/').expect(200)
    const other = await request(two).get('/').set('Cookie', cookie(first)).expect(200)
    assert.notEqual(sid(other), sid(first))
  })

  it('uses the given store and exposes it as req.sessionStore', async () => {
    const store = new CountingStore()
    let seen: unknown
    const app = createExpressApp({ store }, (req, res) => {
      seen = req.sessionStore
      countViews(req, res, () => undefined)
    })
    const res = await request(app).get('/').expect(200)
    assert.equal(seen, store)
    assert.equal(store.stored(sid(res))?.views, 1)
  })

  it('works with a 1.x-style store built on Store.call(this), without touch', async () => {
    const store = new PlainStore()
    const errors: unknown[] = []
    const app = createExpressApp({ store, resave: false }, countViews, { errors })
    const first = await request(app).get('/').expect(200)
    const id = sid(first)
    assert.equal(JSON.parse(store.data.get(id)!).views, 1)
    await request(app).get('/').set('Cookie', cookie(first)).expect(200, `${id} 2`)
    assert.equal(JSON.parse(store.data.get(id)!).views, 2)
    assert.deepEqual(store.calls, ['set', 'get', 'set'])
    assert.deepEqual(errors, [])
  })

  it('sets store.generate, which gives a request a new session', async () => {
    const store = new CountingStore()
    assert.equal((store as { generate?: unknown }).generate, undefined)
    const app = createExpressApp({ store, genid: () => `id-${Math.random().toString(36).slice(2)}` }, (req, res) => {
      const before = req.sessionID
      req.sessionStore.generate(req)
      res.end(`${before} ${req.sessionID} ${req.session.id}`)
    })
    assert.equal(typeof store.generate, 'function')
    const res = await request(app).get('/').expect(200)
    const [before, after, sessionId] = res.text.split(' ')
    assert.notEqual(after, before)
    assert.equal(sessionId, after)
    assert.equal(sid(res), after)
  })

  describe('in production (NODE_ENV=production)', () => {
    /** What a fresh process prints (stdout and stderr) when it creates two middlewares with the store `storeExpression`. */
    function outputOf(storeExpression: string): string {
      const script = [
        "const session = require('express-session')",
        `for (let i = 0; i < 2; i++) session({ secret: 'x', resave: false, saveUninitialized: false, store: ${storeExpression} })`,
      ].join('\n')
      const result = spawnSync(process.execPath, ['-e', script], {
        cwd: __dirname,
        env: { ...process.env, NODE_ENV: 'production' },
        encoding: 'utf8',
      })
      assert.equal(result.status, 0, result.stderr)
      return result.stdout + result.stderr
    }

    it('warns once that the MemoryStore is not meant for production', () => {
      const output = outputOf('undefined')
      assert.equal(output.match(/MemoryStore is not\s+designed for a production environment/g)?.length, 1, output)
    })

    it('does not warn with another store', () => {
      const output = outputOf('new session.Store()')
      assert.doesNotMatch(output, /MemoryStore/)
    })
  })

  describe('when the store disconnects', () => {
    it('lets requests through without req.session, then back with it on "connect"', async () => {
      const store = new CountingStore()
      const errors: unknown[] = []
      const app = createExpressApp({ store }, readOnly, { errors })
      const first = await request(app).get('/').expect(200)
      store.resetCalls()

      store.emit('disconnect')
      await request(app).get('/').expect(shouldNotSetCookie()).expect(200, 'no session')
      await request(app).get('/').set('Cookie', cookie(first)).expect(shouldNotSetCookie()).expect(200, 'no session')
      assert.deepEqual(store.calls, { get: 0, set: 0, patch: 0, destroy: 0, touch: 0 })

      store.emit('connect')
      await request(app).get('/').set('Cookie', cookie(first)).expect(200, sid(first))
      await request(app).get('/').expect(shouldSetCookie()).expect(200, /^[\w-]{32}$/)
      assert.deepEqual(errors, [])
    })

    it('affects every middleware using that store', async () => {
      const store = new CountingStore()
      const one = createExpressApp({ store }, readOnly)
      const two = createExpressApp({ store }, readOnly)
      store.emit('disconnect')
      await request(one).get('/').expect(200, 'no session')
      await request(two).get('/').expect(200, 'no session')
      store.emit('connect')
      await request(one).get('/').expect(200, /^[\w-]{32}$/)
    })
  })

  describe('touch', () => {
    it('is called for an unmodified existing session when the store has it', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store, resave: false, cookie: { maxAge: 60_000 } }, readOnly)
      const first = await request(app).get('/').expect(200)
      store.resetCalls()
      await request(app).get('/').set('Cookie', cookie(first)).expect(200)
      assert.equal(store.calls.touch, 1)
      assert.equal(store.calls.set, 0)
    })

    it('is never called on a store without it, and nothing fails', async () => {
      const store = new PlainStore()
      const errors: unknown[] = []
      const app = createExpressApp({ store, resave: false, rolling: true, cookie: { maxAge: 60_000 } }, readOnly, { errors })
      const first = await request(app).get('/').expect(200)
      store.calls.length = 0
      await request(app).get('/').set('Cookie', cookie(first)).expect(shouldSetCookie()).expect(200, sid(first))
      await request(app).get('/').set('Cookie', cookie(first)).expect(200, sid(first))
      await delay(10)
      assert.deepEqual(store.calls, ['get', 'get'])
      assert.deepEqual(errors, [])
    })
  })

  describe('errors', () => {
    it('passes a store.get error to next(err)', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store }, readOnly)
      const first = await request(app).get('/').expect(200)
      store.get = (_sid, callback) => {
        setImmediate(callback, new Error('store is on fire'))
      }
      await request(app).get('/').set('Cookie', cookie(first)).expect(shouldNotSetCookie()).expect(500, 'store is on fire')
    })

    it('treats a store.get error with code ENOENT as "not found"', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store }, readOnly)
      const first = await request(app).get('/').expect(200)
      store.get = (_sid, callback) => {
        setImmediate(callback, Object.assign(new Error('no such session'), { code: 'ENOENT' }))
      }
      const res = await request(app).get('/').set('Cookie', cookie(first)).expect(shouldSetCookie()).expect(200)
      assert.notEqual(res.text, sid(first))
    })

    it('throws at construction when the store is not an EventEmitter', () => {
      const notAStore = { get() {}, set() {}, destroy() {} }
      assert.throws(() => session({ secret: 'x', resave: false, saveUninitialized: false, store: notAStore as never }), {
        name: 'TypeError',
        message: /store option must be a session store/,
      })
    })
  })
})
