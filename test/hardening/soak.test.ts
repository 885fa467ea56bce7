/**
 * The short soak: `bench/soak.js --short` for a few seconds (`npm run soak` is the two-minute run).
 * New-session load on three MemoryStore servers at once: with a sweep and a short maxAge the store stays
 * bounded (sessions older than maxAge + checkPeriod are gone, heap flat), with `max` the count never
 * exceeds it, and without a sweep (the control) nothing is removed and the bound check notices.
 *
 *   node --import tsx --test test/hardening/soak.test.ts
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { it } from 'node:test'

const script = path.join(__dirname, '..', '..', 'bench', 'soak.js')

it('short soak: the sweep bounds the MemoryStore, max caps it, and a store without sweep shows the difference', { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, [script, '--duration', '6', '--short', '--json', '--connections', '4'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '))
  assert.ok(line, `soak printed its figures\n${stdout}\n${stderr}`)
  const result = JSON.parse(line.slice('RESULT '.length))
  assert.deepEqual(result.failures, [], stdout)
  assert.equal(code, 0, stdout + stderr)

  const { sweep, max, control } = result.servers
  for (const server of [sweep, max, control]) {
    assert.ok(server.requests > 500, `load reached the server: ${server.requests} requests`)
    assert.equal(server.non2xx + server.socketErrors + server.timeouts, 0, 'every request answered 2xx')
  }
  assert.equal(sweep.boundViolations, 0, 'no session outlived maxAge + checkPeriod (+1 s)')
  assert.ok(sweep.finalCount < sweep.sessionsWritten, 'the sweep removed sessions')
  assert.ok(max.maxCount <= result.settings.max && max.maxCount === result.settings.max, `max: ${max.maxCount}`)
  assert.equal(max.countChecks, max.sessionsWritten, 'the count was checked after every write')
  assert.equal(control.finalCount, control.sessionsWritten)
  assert.ok(control.boundViolations > 0)
})
