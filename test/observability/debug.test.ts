/**
 * `DEBUG=express-session` output lets one follow a request: what came in, what the store had, what the end
 * of the response did, with the session ID on every line that concerns a session.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import path from 'node:path'

const script = `
const http = require('node:http')
const session = require('express-session')
const middleware = session({ secret: 'keyboard cat', resave: false, saveUninitialized: false, cookie: { maxAge: 60000 } })
const server = http.createServer((req, res) => middleware(req, res, () => {
  if (req.url === '/count') req.session.count = (req.session.count || 0) + 1
  res.end('ok')
}))
server.listen(0, '127.0.0.1', async () => {
  const url = 'http://127.0.0.1:' + server.address().port
  const first = await fetch(url + '/count')
  const cookie = first.headers.get('set-cookie').split(';')[0]
  await fetch(url + '/', { headers: { cookie } })
  await fetch(url + '/', { headers: { cookie: 'connect.sid=s%3Aforged.signature' } })
  server.close()
})
`

test('DEBUG=express-session follows each request by session ID', () => {
  const result = spawnSync(process.execPath, ['-e', script], {
    cwd: path.join(__dirname, '..', '..'),
    env: { ...process.env, DEBUG: 'express-session', DEBUG_COLORS: 'no', NODE_V8_COVERAGE: '' },
    encoding: 'utf8',
    timeout: 20_000,
  })
  assert.equal(result.status, 0, result.stderr)
  const lines = result.stderr.split('\n').filter((line) => line.includes('express-session'))
  const id = /new session (\S+)/.exec(result.stderr)?.[1]
  assert.ok(id, result.stderr)
  const expected = [
    'no SID sent, generating session',
    `new session ${id}`,
    'set-cookie connect.sid=s%3A' + id,
    `saving ${id}`,
    `fetching ${id}`,
    `session ${id} found`,
    `touching ${id}`,
    'cookie signature invalid',
  ]
  let from = 0
  for (const fragment of expected) {
    const at = lines.findIndex((line, index) => index >= from && line.includes(fragment))
    assert.ok(at !== -1, `expected "${fragment}" after line ${from} in:\n${lines.join('\n')}`)
    from = at + 1
  }
})
