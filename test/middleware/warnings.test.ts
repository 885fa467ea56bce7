/**
 * The package's process warnings: each has a code, says what to do, is emitted once (per process for a setup
 * warning, per middleware for what a request showed, never per request), and is silenced as Node's warnings are.
 */
import { before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import express from 'express'
import request from 'supertest'
import session from 'express-session'
import sessionV1 from 'express-session-1.19.0'
import { createExpressApp, shouldNotSetCookie, shouldSetCookie } from '../support/http.js'
import { ensureBuilt, runNode } from '../support/node-process.js'

const root = path.join(__dirname, '..', '..')
const options = { secret: 'keyboard cat', resave: false, saveUninitialized: true }

interface SeenWarning {
  name: string
  code: string | undefined
  message: string
}

/** The warnings Node emits while `fn` runs (and one turn after). */
async function warningsDuring(fn: () => Promise<unknown>): Promise<SeenWarning[]> {
  const seen: SeenWarning[] = []
  const listener = (warning: Error & { code?: string }): void => {
    seen.push({ name: warning.name, code: warning.code, message: warning.message })
  }
  process.on('warning', listener)
  try {
    await fn()
    await new Promise((resolve) => setImmediate(resolve))
  } finally {
    process.off('warning', listener)
  }
  return seen
}

function withCode(warnings: SeenWarning[], code: string): SeenWarning[] {
  return warnings.filter((warning) => warning.code === code)
}

/** Runs `script` in a fresh node process (dist/), with `flags`; resolves with what it printed. */
async function runScript(script: string, flags: string[] = []): Promise<string> {
  const result = await runNode([...flags, '-e', script])
  assert.equal(result.code, 0, result.output)
  return result.output
}

describe('warnings', () => {
  describe('no secret (EXPRESS_SESSION_NO_SECRET)', () => {
    before(ensureBuilt)

    const CREATE_TWO = `
      const session = require('express-session')
      session({ resave: false, saveUninitialized: false })
      session({ resave: false, saveUninitialized: false })
    `

    it('warns once per process at creation, with a code, saying to set secret or mount cookie-parser', async () => {
      const output = await runScript(`
        const seen = []
        process.on('warning', (w) => seen.push({ name: w.name, code: w.code, message: w.message }))
        ${CREATE_TWO}
        setImmediate(() => console.log(JSON.stringify(seen)))
      `, ['--no-warnings'])
      const seen = JSON.parse(output) as SeenWarning[]
      const warnings = withCode(seen, 'EXPRESS_SESSION_NO_SECRET')
      assert.equal(warnings.length, 1, output)
      assert.equal(warnings[0]!.name, 'Warning')
      const { message } = warnings[0]!
      assert.match(message, /^express-session: no secret option: every request will fail with "secret option required for sessions"/)
      assert.match(message, /unless cookie-parser with a secret runs before the session middleware \(app\.use\(cookieParser\(secret\)\)\)/)
      assert.match(message, /Set the secret option: session\(\{ secret: process\.env\.SESSION_SECRET, \.\.\. \}\)/)
      // instead of 1.19.0's misleading "deprecated req.secret; provide secret option"
      assert.deepEqual(seen.filter((w) => /req\.secret/.test(w.message)), [])
    })

    it('is printed on stderr with its code', async () => {
      const output = await runScript(CREATE_TWO)
      assert.equal(output.match(/\[EXPRESS_SESSION_NO_SECRET\] Warning: express-session: no secret option/g)?.length, 1, output)
    })

    it('is silenced by node --no-warnings', async () => {
      const output = await runScript(CREATE_TWO, ['--no-warnings'])
      assert.doesNotMatch(output, /EXPRESS_SESSION_NO_SECRET|secret option/)
    })

    it('is silenced by node --disable-warning=EXPRESS_SESSION_NO_SECRET', {
      skip: !process.allowedNodeEnvironmentFlags.has('--disable-warning') && 'this node has no --disable-warning',
    }, async () => {
      const output = await runScript(CREATE_TWO, ['--disable-warning=EXPRESS_SESSION_NO_SECRET'])
      assert.doesNotMatch(output, /EXPRESS_SESSION_NO_SECRET|secret option/)
    })

    it('is not emitted when a secret is given', async () => {
      const output = await runScript(`
        const session = require('express-session')
        session({ secret: 'keyboard cat', resave: false, saveUninitialized: false })
      `)
      assert.doesNotMatch(output, /EXPRESS_SESSION_NO_SECRET/)
    })
  })

  describe('secure cookie on a plain-HTTP request (EXPRESS_SESSION_SECURE_COOKIE_NOT_SENT)', () => {
    const CODE = 'EXPRESS_SESSION_SECURE_COOKIE_NOT_SENT'

    it('warns once per middleware that no cookie was sent, pointing to trust proxy and secure: "auto"', async () => {
      const app = createExpressApp({ ...options, cookie: { secure: true } })
      const warnings = await warningsDuring(async () => {
        await request(app).get('/').expect(shouldNotSetCookie()).expect(200)
        await request(app).get('/').expect(shouldNotSetCookie()).expect(200)
      })
      const sent = withCode(warnings, CODE)
      assert.equal(sent.length, 1, JSON.stringify(warnings))
      const { message } = sent[0]!
      assert.match(message, /^express-session: cookie\.secure is true but a request came over plain HTTP, so no session cookie was sent/)
      assert.match(message, /app\.set\('trust proxy', 1\)/)
      assert.match(message, /use secure: 'auto'/)
    })

    it('warns again for another middleware', async () => {
      const first = createExpressApp({ ...options, cookie: { secure: true } })
      const second = createExpressApp({ ...options, cookie: { secure: true } })
      const warnings = await warningsDuring(async () => {
        await request(first).get('/').expect(200)
        await request(second).get('/').expect(200)
        await request(second).get('/').expect(200)
      })
      assert.equal(withCode(warnings, CODE).length, 2, JSON.stringify(warnings))
    })

    it('is not emitted over HTTPS, with secure "auto", or without secure', async () => {
      const warnings = await warningsDuring(async () => {
        await request(createExpressApp({ ...options, cookie: { secure: true } }, undefined, { before: (app) => app.set('trust proxy', 1) }))
          .get('/').set('X-Forwarded-Proto', 'https').expect(shouldSetCookie()).expect(200)
        await request(createExpressApp({ ...options, cookie: { secure: 'auto' } })).get('/').expect(shouldSetCookie()).expect(200)
        await request(createExpressApp(options)).get('/').expect(shouldSetCookie()).expect(200)
      })
      assert.deepEqual(withCode(warnings, CODE), [])
    })
  })

  describe('mounted twice', () => {
    /** An app running `first`, then `second`, then a handler answering the session ID (or what the app set). */
    function twice(first: express.RequestHandler, second: express.RequestHandler): express.Express {
      const app = express()
      app.use(first)
      app.use(second)
      app.use((req, res) => {
        const sess = (req as unknown as { session?: { id?: string; user?: string } }).session
        res.end(sess?.id ?? sess?.user ?? 'no session')
      })
      return app
    }

    it('warns once when the same middleware runs twice on a request, and still calls next', async () => {
      const middleware = session(options) as express.RequestHandler
      const app = twice(middleware, middleware)
      const warnings = await warningsDuring(async () => {
        await request(app).get('/').expect(shouldSetCookie()).expect(200, /^[\w-]{32}$/)
        await request(app).get('/').expect(200, /^[\w-]{32}$/)
      })
      const mounted = withCode(warnings, 'EXPRESS_SESSION_MOUNTED_TWICE')
      assert.equal(mounted.length, 1, JSON.stringify(warnings))
      assert.match(mounted[0]!.message, /^express-session: the same session middleware ran twice on one request .*the second run does nothing\. Mount it once$/)
    })

    it('warns once when another session middleware of this package already gave the request a session', async () => {
      const app = twice(session(options) as express.RequestHandler, session({ ...options, name: 'other.sid' }) as express.RequestHandler)
      const warnings = await warningsDuring(async () => {
        await request(app).get('/').expect(shouldSetCookie('connect.sid')).expect(shouldNotSetCookie('other.sid')).expect(200)
        await request(app).get('/').expect(200)
      })
      const other = withCode(warnings, 'EXPRESS_SESSION_OTHER_MIDDLEWARE_FIRST')
      assert.equal(other.length, 1, JSON.stringify(warnings))
      assert.match(other[0]!.message, /its own name, store and cookie options are not used for that request\. Mount one session middleware on each route/)
    })

    it('does not warn when the app sets req.session itself, or another package did', async () => {
      const own: express.RequestHandler = (req, _res, next) => {
        ;(req as unknown as { session: object }).session = { user: 'set by the app' }
        next()
      }
      const warnings = await warningsDuring(async () => {
        await request(twice(own, session(options) as express.RequestHandler)).get('/').expect(shouldNotSetCookie()).expect(200, 'set by the app')
        await request(twice(sessionV1(options) as never, session(options) as express.RequestHandler)).get('/').expect(200)
      })
      assert.deepEqual(warnings.filter((w) => w.code?.startsWith('EXPRESS_SESSION')), [])
    })
  })

  it('docs/production.md lists every warning code', () => {
    const doc = readFileSync(path.join(root, 'docs', 'production.md'), 'utf8')
    for (const code of ['EXPRESS_SESSION_NO_SECRET', 'EXPRESS_SESSION_SECURE_COOKIE_NOT_SENT', 'EXPRESS_SESSION_MOUNTED_TWICE',
      'EXPRESS_SESSION_OTHER_MIDDLEWARE_FIRST']) {
      assert.ok(doc.includes(code), `${code} is not in docs/production.md`)
    }
  })
})
