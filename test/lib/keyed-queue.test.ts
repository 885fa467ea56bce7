/**
 * KeyedQueue: the per-session queue of `concurrency: 'serialize'`.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { KeyedQueue } from '../../src/lib/keyed-queue.js'

describe('KeyedQueue', () => {
  it('runs the tasks of one key one after another, in order, and the tasks of other keys meanwhile', () => {
    const queue = new KeyedQueue()
    const log: string[] = []
    const finish = new Map<string, () => void>()
    // each task ends when the test says so: no timer, so no order that depends on the machine's speed
    const task = (name: string) => (done: () => void) => {
      log.push(`start ${name}`)
      finish.set(name, () => {
        log.push(`end ${name}`)
        done()
      })
    }
    queue.run('a', task('a1'))
    queue.run('a', task('a2'))
    queue.run('b', task('b1'))
    assert.equal(queue.size, 2)
    assert.deepEqual(log, ['start a1', 'start b1'], 'a2 waits for a1; b1 does not')
    finish.get('b1')!()
    finish.get('a1')!()
    assert.deepEqual(log, ['start a1', 'start b1', 'end b1', 'end a1', 'start a2'])
    finish.get('a2')!()
    assert.deepEqual(log.slice(-1), ['end a2'])
    assert.equal(queue.size, 0, 'no memory kept for idle keys')
  })

  it('ignores a second done(), and goes on after a task that throws', () => {
    const queue = new KeyedQueue()
    const ran: number[] = []
    let first!: () => void
    queue.run('k', (done) => {
      first = done
    })
    queue.run('k', () => {
      ran.push(2)
      throw new Error('boom')
    })
    queue.run('k', (done) => {
      ran.push(3)
      done()
    })
    assert.throws(() => first(), /boom/)
    first()
    assert.deepEqual(ran, [2, 3])
    assert.equal(queue.size, 0)
  })
})
