/**
 * The MemoryStore soak in `npm test`: a fixed amount of work (3,000 new sessions of 4 KB each, 8 requests at a time)
 * on three stores, each in a process of its own, and bounds on what is left: entries and heap, never a rate.
 *   - with the sweep, the store empties once the sessions expire, and the heap comes back down;
 *   - with `max`, the count never exceeds max (checked after every write) and stays at max;
 *   - the control, without a sweep, keeps every session, and its heap shows it: the checks above can fail.
 * The long run with figures over time is `npm run soak` (bench/soak.js).
 *
 *   node --import tsx --test test/memory-store/soak.test.ts
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, it, before } from 'node:test'
import { envWithoutCoverage } from '../support/node-process.js'

const worker = path.join(__dirname, '..', 'support', 'soak-worker.ts')
const REQUESTS = 3000
const MB = 1024 * 1024

interface SoakResult {
  requests: number
  writes: number
  maxCount: number
  max: number
  countAfterLoad: number
  countSettled: number
  middlewareErrors: number
  statuses: Record<string, number>
  heapBefore: number
  heapAfterLoad: number
  heapSettled: number
}

async function soak(mode: 'sweep' | 'max' | 'control'): Promise<SoakResult> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', worker, mode, String(REQUESTS)], {
    cwd: path.join(__dirname, '..', '..'),
    env: envWithoutCoverage(),
    timeout: 240_000,
  })
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '))
  assert.ok(line, `the ${mode} soak printed its figures:\n${stdout}`)
  return JSON.parse(line.slice('RESULT '.length)) as SoakResult
}

function answeredAll(result: SoakResult): void {
  assert.deepEqual(result.statuses, { 200: REQUESTS }, 'every request answered 200')
  assert.equal(result.middlewareErrors, 0)
  assert.equal(result.writes, REQUESTS, 'one session written per request')
}

describe('MemoryStore soak (fixed work: 3,000 sessions of 4 KB)', { timeout: 600_000 }, () => {
  let sweep: SoakResult
  let max: SoakResult
  let control: SoakResult
  before(async () => {
    // one at a time: each has the machine's cores to itself as far as the rest of the suite allows
    sweep = await soak('sweep')
    max = await soak('max')
    control = await soak('control')
  })

  it('without a sweep nothing is removed, and the heap holds every session (the control)', () => {
    answeredAll(control)
    assert.equal(control.countSettled, REQUESTS)
    assert.ok(control.heapSettled - control.heapBefore > (REQUESTS * 4096) * 0.8,
      `the heap grew by ${((control.heapSettled - control.heapBefore) / MB).toFixed(1)} MB for ${REQUESTS} sessions of 4 KB`)
  })

  it('with the sweep, the store empties once its sessions expire and the heap comes back down', () => {
    answeredAll(sweep)
    assert.equal(sweep.countSettled, 0, 'every expired session was swept')
    const kept = sweep.heapSettled - sweep.heapBefore
    const controlKept = control.heapSettled - control.heapBefore
    assert.ok(kept < controlKept / 4,
      `the heap kept ${(kept / MB).toFixed(1)} MB after the sweep (the control kept ${(controlKept / MB).toFixed(1)} MB)`)
  })

  it('with max, the count never exceeds max and stays at it', () => {
    answeredAll(max)
    assert.equal(max.maxCount, max.max, `highest count after a write: ${max.maxCount}`)
    assert.equal(max.countSettled, max.max)
  })
})
