/**
 * `DEBUG=express-session` output lets one follow a request: what came in, what the store had, what the end
 * of the response did, with the request's method and path on every line about it and the session ID on
 * every line that concerns a session. It logs regenerate and every failed store call, and never shows the
 * signature of a session cookie.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import request from 'supertest'
import { signedCookie, waitFor } from '../support/http.js'
import { createFailingApp, FailingStore, POLICIES, runStoreFailure, STORE_FAILURES } from './store-failures.js'
import { concurrencyApp, logoutRacingSlowRequest } from '../support/concurrency.js'
import { captureDebug, runScriptWithDebug } from '../support/debug-output.js'

const script = `
const http = require('node:http')
const session = require('express-session')
const middleware = session({ secret: 'keyboard cat', resave: false, saveUninitialized: false, cookie: { maxAge: 60000 } })
const server = http.createServer((req, res) => middleware(req, res, () => {
  if (req.url.startsWith('/count')) req.session.count = (req.session.count || 0) + 1
  if (req.url === '/regenerate') return req.session.regenerate(() => res.end(req.sessionID))
  res.end('ok')
}))
server.listen(0, '127.0.0.1', async () => {
  const url = 'http://127.0.0.1:' + server.address().port
  const setCookies = []
  const first = await fetch(url + '/count?token=query-secret')
  setCookies.push(first.headers.get('set-cookie'))
  const cookie = setCookies[0].split(';')[0]
  await fetch(url + '/', { headers: { cookie } })
  const regenerated = await fetch(url + '/regenerate', { headers: { cookie } })
  setCookies.push(regenerated.headers.get('set-cookie'))
  await fetch(url + '/', { headers: { cookie: 'connect.sid=s%3Aforged.signature' } })
  server.close()
  console.log(JSON.stringify(setCookies))
})
`

/** Runs the script with DEBUG=express-session: its debug lines, and the Set-Cookie headers it received. */
function runWithDebug(): { lines: string[]; output: string; setCookies: string[] } {
  const result = runScriptWithDebug(script)
  const lines = result.stderr.split('\n').filter((line) => line.includes('express-session'))
  return { lines, output: result.stderr, setCookies: JSON.parse(result.stdout) as string[] }
}

/** Asserts that `fragments` appear in `lines` in this order. */
function assertInOrder(lines: string[], fragments: string[]): void {
  let from = 0
  for (const fragment of fragments) {
    const at = lines.findIndex((line, index) => index >= from && line.includes(fragment))
    assert.ok(at !== -1, `expected "${fragment}" after line ${from} in:\n${lines.join('\n')}`)
    from = at + 1
  }
}

describe('DEBUG=express-session', () => {
  const run = runWithDebug()
  const { lines, output, setCookies } = run
  const id = /new session (\S+)/.exec(output)?.[1]
  const newId = /regenerated \S+ as (\S+)/.exec(output)?.[1]

  it('follows each request by session ID', () => {
    assert.ok(id, output)
    assertInOrder(lines, [
      'no SID sent, generating session',
      `new session ${id}`,
      'set-cookie connect.sid=s%3A' + id,
      `saving ${id}`,
      `fetching ${id}`,
      `session ${id} found`,
      `touching ${id}`,
      'cookie signature invalid',
    ])
  })

  it('starts every line with the method and path of its request, without the query string', () => {
    assertInOrder(lines, [
      'GET /count no SID sent, generating session',
      `GET /count new session ${id}`,
      'GET /count set-cookie connect.sid=s%3A' + id,
      `GET /count saving ${id}`,
      `GET / fetching ${id}`,
      `GET / session ${id} found`,
      `GET / touching ${id}`,
      `GET /regenerate fetching ${id}`,
      'GET / cookie signature invalid',
    ])
    for (const line of lines) assert.match(line, /express-session GET \/\S* /, 'every line names its request')
    assert.ok(!output.includes('query-secret'), 'the query string is not shown')
  })

  it('logs regenerate: the ID replaced and the new one', () => {
    assert.ok(newId, output)
    assert.notEqual(newId, id)
    assertInOrder(lines, [
      `GET /regenerate regenerating ${id}`,
      `GET /regenerate regenerated ${id} as ${newId}`,
      `GET /regenerate set-cookie connect.sid=s%3A${newId}.<redacted>; Path=/; Expires=`,
      `GET /regenerate saving ${newId}`,
    ])
  })

  it('never shows the signature of a cookie it set', () => {
    assert.equal(setCookies.length, 2)
    for (const setCookie of setCookies) {
      const value = setCookie.split(';')[0]!.slice('connect.sid='.length)
      const signature = value.slice(value.lastIndexOf('.') + 1)
      assert.ok(signature.length >= 40, `a signature: ${setCookie}`)
      assert.ok(!output.includes(signature), `the signature ${signature} is printed:\n${output}`)
      assert.ok(!output.includes(decodeURIComponent(signature)), 'nor decoded')
    }
    const shown = lines.filter((line) => line.includes('set-cookie'))
    assert.equal(shown.length, 2)
    for (const line of shown) assert.match(line, /set-cookie connect\.sid=s%3A[\w-]+\.<redacted>; Path=\/; Expires=[^;]+; HttpOnly/)
  })
})


describe('DEBUG=express-session logs every failed store call, with the operation and the error', () => {
  for (const policy of POLICIES) {
    for (const failure of STORE_FAILURES) {
      it(`${failure.callSite} (store.${failure.method}), storeErrors: '${policy}'`, async () => {
        const expected = `GET ${failure.path} store.${failure.method} %s failed: ${failure.method} failed`
        let line = ''
        const lines = await captureDebug(async (lines) => {
          const { sessionId } = await runStoreFailure(failure, policy)
          line = expected.replace('%s', sessionId)
          await waitFor(() => lines.some((logged) => logged.includes(line)), 1000, `the line "${line}"`)
        })
        assert.equal(lines.filter((logged) => logged.includes(line)).length, 1, `once:\n${lines.join('\n')}`)
      })
    }
  }
})

it("DEBUG=express-session: a get answering ENOENT is 'not found', not a failure", async () => {
  const store = new FailingStore()
  store.get = (_sid, callback) => setImmediate(callback, Object.assign(new Error('no such file'), { code: 'ENOENT' }))
  const app = createFailingApp(store)
  const published: unknown[] = []
  const onMessage = (message: unknown) => published.push(message)
  diagnostics.subscribe('express-session:store:error', onMessage)
  try {
    const lines = await captureDebug(() => request(app).get('/').set('Cookie', signedCookie('gone')).expect(200, 'user: nobody'))
    assert.ok(lines.some((line) => line.includes('GET / session gone not found in the store')), lines.join('\n'))
    assert.ok(!lines.some((line) => line.includes('failed')), lines.join('\n'))
  } finally {
    diagnostics.unsubscribe('express-session:store:error', onMessage)
  }
  assert.deepEqual(published, [])
})

it('DEBUG=express-session: a save that finds its session destroyed by a parallel request says so', async () => {
  const target = concurrencyApp()
  const lines = await captureDebug(() => logoutRacingSlowRequest(target))
  assert.ok(lines.some((line) => /GET \/slow\/late session \S+ is no longer in the store \(destroyed or expired meanwhile\): not saved again/.test(line)),
    lines.join('\n'))
})
