/**
 * The differences from express-session 1.19.0 that docs/differences.md declares about the end of the
 * response, shown side by side with 1.19.0 so that the document stays true.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import request from 'supertest'
import ours from 'express-session'

// eslint-disable-next-line @typescript-eslint/no-require-imports
const upstream = require('express-session-1.19.0') as typeof ours

/** A MemoryStore of `pkg` counting its `set` calls, answering after 20 ms. */
function slowCountingStore(pkg: typeof ours): ours.MemoryStore & { sets: number } {
  const store = new pkg.MemoryStore() as ours.MemoryStore & { sets: number }
  store.sets = 0
  const set = store.set.bind(store)
  store.set = (sid, sess, callback) => {
    store.sets++
    setTimeout(() => set(sid, sess, callback), 20)
  }
  return store
}

/** A node:http server with `pkg`'s middleware (new sessions saved) running `handler`. */
function serve(pkg: typeof ours, store: ours.Store, handler: (req: any, res: http.ServerResponse) => void): http.Server {
  const middleware = pkg({ secret: 'keyboard cat', resave: false, saveUninitialized: true, store })
  return http.createServer((req, res) => {
    middleware(req as never, res as never, (err?: unknown) => {
      assert.ifError(err)
      handler(req, res)
    })
  })
}

describe('declared differences from 1.19.0 at the end of the response', () => {
  it('res.end() returns the response (as node does) where 1.19.0 returns true while the save is pending', async () => {
    const returned: Record<string, unknown> = {}
    for (const [label, pkg] of [['ours', ours], ['1.19.0', upstream]] as const) {
      const server = serve(pkg, slowCountingStore(pkg), (_req, res) => {
        const result = res.end('hello')
        returned[label] = result === res ? 'res' : result
      })
      await request(server).get('/').expect(200, 'hello')
    }
    assert.deepEqual(returned, { ours: 'res', '1.19.0': true })
  })

  it('the response is framed by Content-Length (as node frames it) where 1.19.0 sends it chunked', async () => {
    const framing: Record<string, unknown> = {}
    for (const [label, pkg] of [['ours', ours], ['1.19.0', upstream]] as const) {
      const server = serve(pkg, slowCountingStore(pkg), (_req, res) => res.end('hello'))
      const res = await request(server).get('/').expect(200, 'hello')
      framing[label] = [res.headers['content-length'], res.headers['transfer-encoding']]
    }
    assert.deepEqual(framing, { ours: ['5', undefined], '1.19.0': [undefined, 'chunked'] })
  })

  it('store.generate(req) then save() writes the store once where 1.19.0 writes it twice', async () => {
    const writes: Record<string, number> = {}
    for (const [label, pkg] of [['ours', ours], ['1.19.0', upstream]] as const) {
      const store = slowCountingStore(pkg)
      const server = serve(pkg, store, (req, res) => {
        req.sessionStore.generate(req)
        req.session.user = 'tj'
        req.session.save((err: unknown) => {
          assert.ifError(err)
          res.end('saved')
        })
      })
      await request(server).get('/').expect(200, 'saved')
      writes[label] = store.sets
    }
    assert.deepEqual(writes, { ours: 1, '1.19.0': 2 })
  })
})
