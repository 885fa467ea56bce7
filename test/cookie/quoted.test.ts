/**
 * A session cookie sent in double quotes (`connect.sid="s%3A..."`, allowed by RFC 6265 and sent so by some
 * proxies and clients) loads its session, as it does in express-session 1.19.0, side by side.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import request from 'supertest'
import ours from 'express-session'
import { cookie, setCookies } from '../support/http.js'

// eslint-disable-next-line @typescript-eslint/no-require-imports
const upstream = require('express-session-1.19.0') as typeof ours

/** A server counting visits in the session, with the given package's middleware and MemoryStore. */
function counter(pkg: typeof ours): http.Server {
  const middleware = pkg({ secret: 'keyboard cat', resave: false, saveUninitialized: false, store: new pkg.MemoryStore() })
  return http.createServer((req: any, res) => {
    middleware(req, res, (err?: unknown) => {
      if (err) {
        res.statusCode = 500
        res.end(String(err))
        return
      }
      req.session.visits = (req.session.visits ?? 0) + 1
      res.end(String(req.session.visits))
    })
  })
}

for (const [label, pkg] of [['ours', ours], ['1.19.0', upstream]] as const) {
  describe(`quoted session cookie (${label})`, () => {
    it('loads the session the quoted value names, without a new cookie', async () => {
      const server = counter(pkg)
      const first = await request(server).get('/').expect(200, '1')
      const [name, value] = cookie(first).split('=') as [string, string]
      const second = await request(server).get('/').set('Cookie', `${name}="${value}"`).expect(200, '2')
      assert.deepEqual(setCookies(second), [])
    })

    it('ignores a value with only an opening quote, as a bad signature', async () => {
      const server = counter(pkg)
      const first = await request(server).get('/').expect(200, '1')
      const [name, value] = cookie(first).split('=') as [string, string]
      const second = await request(server).get('/').set('Cookie', `${name}="${value}`).expect(200, '1')
      assert.equal(setCookies(second).length, 1)
    })
  })
}
