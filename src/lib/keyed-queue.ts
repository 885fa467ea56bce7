/**
 * A queue per key: the tasks of one key run one after another, in the order they were queued; tasks of
 * different keys do not wait for each other. A key with nothing queued holds no memory.
 * @internal
 */

/** A queued task: it calls `done` once when it has finished, which starts the next task of its key. */
export type QueuedTask = (done: () => void) => void

export class KeyedQueue {
  /** The tasks waiting behind the running one, by key; a key is present while one of its tasks runs. */
  private readonly waiting = new Map<string, QueuedTask[]>()

  /** Runs `task` now when nothing of `key` runs, else after the tasks of `key` queued before it. */
  run(key: string, task: QueuedTask): void {
    const queue = this.waiting.get(key)
    if (queue !== undefined) {
      queue.push(task)
      return
    }
    this.waiting.set(key, [])
    this.start(key, task)
  }

  /** The number of keys with a running task (for tests: 0 once everything has finished). */
  get size(): number {
    return this.waiting.size
  }

  private start(key: string, task: QueuedTask): void {
    let finished = false
    const done = (): void => {
      if (finished) return
      finished = true
      const next = this.waiting.get(key)?.shift()
      if (next === undefined) this.waiting.delete(key)
      else this.start(key, next)
    }
    try {
      task(done)
    } catch (err) {
      done()
      throw err
    }
  }
}
