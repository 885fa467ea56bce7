// The public error classes are exported from both entry points (CommonJS and ESM), as one class, and are the
// class of the errors the middleware really passes on: `err instanceof session.StoreTimeoutError` works.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import express from 'express'
import request from 'supertest'
import session from 'express-session'
import { signedCookie } from '../support/http.js'
import { ensureBuilt, runNode } from '../support/node-process.js'

/** A MemoryStore whose get never answers. */
class SilentStore extends session.MemoryStore {
  override get(): void {}
}

test('a timed-out store call fails with an instance of the exported StoreTimeoutError', async () => {
  assert.equal(typeof session.StoreTimeoutError, 'function')
  let passed: unknown
  const app = express()
  app.use(session({ secret: 'x', store: new SilentStore(), storeTimeout: 50, resave: false, saveUninitialized: false }))
  app.use(((err, _req, res, _next) => {
    passed = err
    res.status(500).end()
  }) as express.ErrorRequestHandler)
  await request(app).get('/').set('Cookie', signedCookie('some-id', 'x')).expect(500)

  assert.ok(passed instanceof session.StoreTimeoutError, `an instance of StoreTimeoutError: ${String(passed)}`)
  assert.ok(passed instanceof Error)
  assert.equal(passed.name, 'StoreTimeoutError')
  assert.equal(passed.code, 'ESTORETIMEOUT')
  assert.equal(passed.method, 'get')
  assert.equal(passed.timeout, 50)
  assert.match(passed.message, /^store\.get\(\) did not answer within 50 ms \(storeTimeout\)$/)
  assert.deepEqual(Object.keys(passed).sort(), ['code', 'method', 'timeout'])
})

test('the ESM entry exports the same error classes as the CommonJS entry, named and on the default export', async () => {
  await ensureBuilt()
  const script = [
    "import { createRequire } from 'node:module'",
    "import session, { StoreTimeoutError } from 'express-session'",
    'const cjs = createRequire(import.meta.url)("express-session")',
    'console.log(JSON.stringify({',
    "  named: typeof StoreTimeoutError === 'function' && StoreTimeoutError === cjs.StoreTimeoutError,",
    '  onDefault: session.StoreTimeoutError === cjs.StoreTimeoutError,',
    "  instance: new StoreTimeoutError('set', 10) instanceof cjs.StoreTimeoutError,",
    '}))',
  ].join('\n')
  const result = await runNode(['--input-type=module', '-e', script])
  assert.equal(result.code, 0, result.output)
  assert.deepEqual(JSON.parse(result.output), { named: true, onDefault: true, instance: true })
})
