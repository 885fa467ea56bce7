/**
 * The bundled MemoryStore, with the 1.x behaviour: JSON copies, expired entries dropped as they are
 * read, touch replacing only the cookie, every callback deferred.
 */
import { describe, it } from 'node:test'
import { inspect } from 'node:util'
import assert from 'node:assert/strict'
import express from 'express'
import request from 'supertest'
import session from 'express-session'
import { cookie, delay, sid } from '../support/http.js'

const { MemoryStore, Store } = session

type Store = InstanceType<typeof MemoryStore>

/** Promisified store calls that also check the callback was not called synchronously. */
function call<T = unknown>(store: Store, method: 'get' | 'set' | 'destroy' | 'touch' | 'all' | 'length' | 'clear', ...args: unknown[]): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let returned = false
    ;(store as any)[method](...args, (err: any, value: T) => {
      if (!returned) return reject(new Error(`store.${method}() called back synchronously`))
      if (err) return reject(err)
      resolve(value)
    })
    returned = true
  })
}

function data(extra: Record<string, unknown> = {}, expires: Date | null = null) {
  return { cookie: { originalMaxAge: null, expires, httpOnly: true, path: '/' }, ...extra }
}

const future = () => new Date(Date.now() + 60000)
const past = () => new Date(Date.now() - 1000)

describe('MemoryStore', () => {
  it('is a Store', () => {
    const store = new MemoryStore()
    assert.ok(store instanceof Store)
    assert.equal(typeof store.on, 'function')
  })

  it('set then get gives a copy of the data', async () => {
    const store = new MemoryStore()
    const expires = future()
    await call(store, 'set', 'a', data({ user: 'tj', nested: { n: 1 } }, expires))
    const got: any = await call(store, 'get', 'a')
    assert.equal(got.user, 'tj')
    assert.deepEqual(got.nested, { n: 1 })
    assert.equal(got.cookie.expires, expires.toISOString(), 'stored as JSON')
    got.user = 'changed'
    const again: any = await call(store, 'get', 'a')
    assert.equal(again.user, 'tj', 'mutating what get() gave does not change the store')
  })

  it('get gives exactly the parsed JSON: deep-equal to it, nothing extra when printed or copied', async () => {
    const store = new MemoryStore()
    await call(store, 'set', 'a', data({ user: 'tj' }))
    const got: any = await call(store, 'get', 'a')
    assert.deepStrictEqual(got, JSON.parse(store.sessions.a!))
    assert.doesNotMatch(inspect(got), /Symbol/)
    assert.deepStrictEqual({ ...got }, JSON.parse(store.sessions.a!))
  })

  it('keeps sessions as JSON strings in store.sessions, keyed by ID', async () => {
    const store = new MemoryStore()
    await call(store, 'set', 'a', data({ user: 'tj' }))
    assert.equal(typeof store.sessions.a, 'string')
    assert.equal(JSON.parse(store.sessions.a!).user, 'tj')
  })

  it('get gives undefined for an unknown ID', async () => {
    const store = new MemoryStore()
    assert.equal(await call(store, 'get', 'nope'), undefined)
  })

  it('set replaces an existing session', async () => {
    const store = new MemoryStore()
    await call(store, 'set', 'a', data({ v: 1 }))
    await call(store, 'set', 'a', data({ v: 2 }))
    assert.equal(((await call(store, 'get', 'a')) as any).v, 2)
    assert.equal(await call(store, 'length'), 1)
  })

  it('destroy removes a session', async () => {
    const store = new MemoryStore()
    await call(store, 'set', 'a', data())
    await call(store, 'set', 'b', data())
    await call(store, 'destroy', 'a')
    assert.equal(await call(store, 'get', 'a'), undefined)
    assert.ok(await call(store, 'get', 'b'))
    await call(store, 'destroy', 'unknown')
  })

  it('all gives an object keyed by session ID', async () => {
    const store = new MemoryStore()
    await call(store, 'set', 'a', data({ n: 1 }))
    await call(store, 'set', 'b', data({ n: 2 }))
    const all: any = await call(store, 'all')
    assert.ok(!Array.isArray(all))
    assert.deepEqual(Object.keys(all).sort(), ['a', 'b'])
    assert.equal(all.a.n, 1)
    assert.equal(all.b.n, 2)
  })

  it('length counts the sessions and clear removes them all', async () => {
    const store = new MemoryStore()
    assert.equal(await call(store, 'length'), 0)
    await call(store, 'set', 'a', data())
    await call(store, 'set', 'b', data())
    assert.equal(await call(store, 'length'), 2)
    await call(store, 'clear')
    assert.equal(await call(store, 'length'), 0)
    assert.equal(await call(store, 'get', 'a'), undefined)
    assert.deepEqual(Object.keys(await call<object>(store, 'all')), [])
  })

  it('get drops an expired session', async () => {
    const store = new MemoryStore()
    await call(store, 'set', 'old', data({}, past()))
    assert.equal(await call(store, 'get', 'old'), undefined)
    assert.equal(store.sessions.old, undefined, 'removed as it was read')
  })

  it('all and length drop expired sessions', async () => {
    const store = new MemoryStore()
    await call(store, 'set', 'old', data({}, past()))
    await call(store, 'set', 'new', data({}, future()))
    await call(store, 'set', 'forever', data())
    assert.deepEqual(Object.keys(await call<object>(store, 'all')).sort(), ['forever', 'new'])
    assert.equal(store.sessions.old, undefined)
    assert.equal(await call(store, 'length'), 2)
  })

  it('a session expires once its cookie does', async () => {
    const store = new MemoryStore()
    await call(store, 'set', 'short', data({}, new Date(Date.now() + 40)))
    assert.ok(await call(store, 'get', 'short'))
    await delay(60)
    assert.equal(await call(store, 'get', 'short'), undefined)
  })

  it('touch replaces only the cookie', async () => {
    const store = new MemoryStore()
    await call(store, 'set', 'a', data({ user: 'tj' }, future()))
    const later = new Date(Date.now() + 3600000)
    await call(store, 'touch', 'a', { cookie: { originalMaxAge: 3600000, expires: later, httpOnly: false, path: '/x' }, user: 'ignored' })
    const got: any = await call(store, 'get', 'a')
    assert.equal(got.user, 'tj')
    assert.deepEqual(got.cookie, { originalMaxAge: 3600000, expires: later.toISOString(), httpOnly: false, path: '/x' })
  })

  it('touch replaces the cookie of a session stored with its cookie last, or stored twice in the text', async () => {
    const store = new MemoryStore()
    const later = new Date(Date.now() + 3600000)
    const cookie = { originalMaxAge: 3600000, expires: later, httpOnly: true, path: '/' }
    store.sessions.last = JSON.stringify({ user: 'tj', cookie: { originalMaxAge: 1, expires: future(), path: '/' } })
    store.sessions.twice = `{"cookie":{"path":"/"},"user":"tj","cookie":${JSON.stringify({ originalMaxAge: 1, expires: future() })}}`
    for (const id of ['last', 'twice']) {
      await call(store, 'touch', id, { cookie })
      assert.deepEqual(JSON.parse(store.sessions[id]), { ...(id === 'last' ? { user: 'tj' } : {}), cookie: { ...cookie, expires: later.toISOString() }, ...(id === 'twice' ? { user: 'tj' } : {}) }, id)
    }
  })

  it('touch does not create a missing or expired session', async () => {
    const store = new MemoryStore()
    await call(store, 'touch', 'missing', data({}, future()))
    assert.equal(await call(store, 'get', 'missing'), undefined)
    await call(store, 'set', 'old', data({}, past()))
    await call(store, 'touch', 'old', data({}, future()))
    assert.equal(await call(store, 'get', 'old'), undefined)
  })

  it('touch keeps a session alive past its old expiry', async () => {
    const store = new MemoryStore()
    await call(store, 'set', 'a', data({ user: 'tj' }, new Date(Date.now() + 40)))
    await call(store, 'touch', 'a', data({}, future()))
    await delay(60)
    assert.equal(((await call(store, 'get', 'a')) as any)?.user, 'tj')
  })

  it('defers every callback, also on errors and misses', async () => {
    const store = new MemoryStore()
    // call() rejects when a callback comes synchronously
    await call(store, 'get', 'missing')
    await call(store, 'set', 'a', data())
    await call(store, 'get', 'a')
    await call(store, 'touch', 'a', data())
    await call(store, 'touch', 'missing', data())
    await call(store, 'all')
    await call(store, 'length')
    await call(store, 'destroy', 'a')
    await call(store, 'clear')
  })

  it('works without callbacks on set, destroy, touch and clear', async () => {
    const store = new MemoryStore()
    store.set('a', data({ v: 1 }))
    store.touch('a', data({}, future()))
    assert.equal(((await call(store, 'get', 'a')) as any).v, 1)
    store.destroy('a')
    assert.equal(await call(store, 'get', 'a'), undefined)
    store.set('b', data())
    store.clear()
    assert.equal(await call(store, 'length'), 0)
  })

  it('is the default store of the middleware, and holds the sessions it saves', async () => {
    const store = new MemoryStore()
    const app = express()
    app.use(session({ store, secret: 'keyboard cat', resave: false, saveUninitialized: false, cookie: { maxAge: 60000 } }))
    app.use((req: any, res) => {
      req.session.views = (req.session.views ?? 0) + 1
      res.end(String(req.session.views))
    })
    const first = await request(app).get('/').expect(200, '1')
    await request(app).get('/').set('Cookie', cookie(first)).expect(200, '2')
    const all: any = await call(store, 'all')
    assert.deepEqual(Object.keys(all), [sid(first)])
    assert.equal(all[sid(first)].views, 2)
    assert.equal(all[sid(first)].cookie.originalMaxAge, 60000)
  })
})
