/**
 * What a store calls back with is read as express-session 1.19.0 reads it, side by side: a falsy error is no
 * error, any other value is passed on as the store gave it (a string, an object with `status`), and an
 * `ENOENT` object is "not found". Falsy `genid`/`cookie` options mean the defaults, as 1.x's `||` did.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import request from 'supertest'
import ours from 'express-session'
import { cookie } from '../support/http.js'

// eslint-disable-next-line @typescript-eslint/no-require-imports
const upstream = require('express-session-1.19.0') as typeof ours

type Answer = (callback: (...args: unknown[]) => void, stored: unknown) => void

/** A store of `pkg` whose `get` (and `set`, when given) answers as told. */
function storeOf(pkg: typeof ours, get: Answer, set?: (callback: (...args: unknown[]) => void) => void): ours.Store {
  const store = new pkg.MemoryStore()
  const realGet = store.get.bind(store)
  store.get = (sid, callback) => realGet(sid, (_err, stored) => get(callback as never, stored))
  if (set) store.set = (_sid, _sess, callback) => set(callback as never)
  return store
}

/** A server counting visits; errors answer with what reached the error handler. */
function serve(pkg: typeof ours, store: ours.Store, options: Record<string, unknown> = {}): { server: http.Server; errors: unknown[] } {
  const errors: unknown[] = []
  const middleware = pkg({ secret: 'keyboard cat', resave: false, saveUninitialized: false, store, ...options })
  const server = http.createServer((req: any, res) => {
    middleware(req, res, (err?: unknown) => {
      if (err) {
        errors.push(err)
        res.statusCode = 500
        res.end('error')
        return
      }
      req.session.visits = (req.session.visits ?? 0) + 1
      res.end(String(req.session.visits))
    })
  })
  return { server, errors }
}

/** A first visit on a normal store, then the second visit's status and body with `get` answering as told. */
async function secondVisit(pkg: typeof ours, get: Answer): Promise<{ status: number; body: string; errors: unknown[] }> {
  const store = new pkg.MemoryStore()
  const first = await request(serve(pkg, store).server).get('/').expect(200, '1')
  const answering = storeOf(pkg, get)
  ;(answering as unknown as { sessions: unknown }).sessions = (store as unknown as { sessions: unknown }).sessions
  const { server, errors } = serve(pkg, answering)
  const res = await request(server).get('/').set('Cookie', cookie(first))
  return { status: res.status, body: res.text, errors }
}

const packages = [['ours', ours], ['1.19.0', upstream]] as const

describe('store callback values, as 1.19.0 reads them', () => {
  for (const falsy of [false, 0, '']) {
    it(`get calling back (${JSON.stringify(falsy)}, data) loads the session`, async () => {
      for (const [label, pkg] of packages) {
        const seen = await secondVisit(pkg, (callback, stored) => callback(falsy, stored))
        assert.deepEqual([seen.status, seen.body], [200, '2'], label)
      }
    })
  }

  it('get calling back a string passes that string to the error handler', async () => {
    for (const [label, pkg] of packages) {
      const seen = await secondVisit(pkg, (callback) => callback('store is down'))
      assert.deepEqual([seen.status, seen.errors], [500, ['store is down']], label)
    }
  })

  it('get calling back an object with a status passes that object on', async () => {
    const failure = { message: 'unavailable', status: 503 }
    for (const [label, pkg] of packages) {
      const seen = await secondVisit(pkg, (callback) => callback(failure))
      assert.equal(seen.errors[0], failure, label)
    }
  })

  it("get calling back { code: 'ENOENT' } is not found: a new session", async () => {
    for (const [label, pkg] of packages) {
      const seen = await secondVisit(pkg, (callback) => callback({ code: 'ENOENT' }))
      assert.deepEqual([seen.status, seen.body], [200, '1'], label)
    }
  })

  it('set calling back false is a successful save', async () => {
    for (const [label, pkg] of packages) {
      const { server, errors } = serve(pkg, storeOf(pkg, (callback, stored) => callback(null, stored), (callback) => callback(false)))
      await request(server).get('/').expect(200, '1')
      await new Promise((resolve) => setTimeout(resolve, 20))
      assert.deepEqual(errors, [], label)
    }
  })

  it('falsy genid and cookie options mean the defaults', async () => {
    for (const [label, pkg] of packages) {
      for (const options of [{ genid: false }, { genid: '' }, { cookie: false }, { cookie: 0 }, { cookie: null }]) {
        const { server } = serve(pkg, new pkg.MemoryStore(), options)
        const res = await request(server).get('/').expect(200, '1')
        assert.match(cookie(res), /^connect\.sid=s%3A/, `${label} ${JSON.stringify(options)}`)
      }
    }
  })
})

describe('MemoryStore edge cases, as in 1.19.0', () => {
  it('an empty stored entry is not found', async () => {
    for (const [label, pkg] of packages) {
      const store = new pkg.MemoryStore()
      ;(store as unknown as { sessions: Record<string, string> }).sessions.empty = ''
      const found = await new Promise((resolve, reject) => store.get('empty', (err, value) => (err ? reject(err as Error) : resolve(value))))
      assert.equal(found, undefined, label)
    }
  })

  it('set(sid, null) does not throw', () => {
    for (const [label, pkg] of packages) {
      const store = new pkg.MemoryStore()
      assert.doesNotThrow(() => store.set('x', null as never), label)
    }
  })
})
