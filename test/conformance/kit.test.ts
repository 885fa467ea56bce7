/**
 * The conformance kit itself: it passes a correct store, catches broken ones (each check can fail), reports
 * optional methods, honours capabilities/knownIssues/expiry options, and runs under a mocha-style runner
 * (test functions passed in, `this.skip()` / `this.timeout()`, bodies declaring no `done` parameter).
 *   node --import tsx --test test/conformance/kit.test.ts
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import session from 'express-session'
import {
  runStoreConformance,
  type ConformanceCheckId,
  type ConformanceStore,
  type ConformanceTestBody,
  type StoreConformanceOptions,
  type StoreConformanceReport,
  type TestFunctions,
} from 'express-session/conformance'

// ---------------------------------------------------------------------------------------------------------------
// A minimal mocha-like runner: collects describe/it/before/after, then runs them in order
// ---------------------------------------------------------------------------------------------------------------

class Pending extends Error {}

interface Outcome { name: string; status: 'pass' | 'fail' | 'skip'; error?: string }

interface MochaLike extends TestFunctions {
  run(): Promise<Outcome[]>
  timeouts: number[]
}

function mochaLike(): MochaLike {
  const tests: Array<{ name: string; body: ConformanceTestBody }> = []
  const befores: ConformanceTestBody[] = []
  const afters: ConformanceTestBody[] = []
  const timeouts: number[] = []
  const context = () => ({
    timeout: (ms: number) => { timeouts.push(ms) },
    skip: () => { throw new Pending('skipped') },
  })
  return {
    timeouts,
    describe: (_name, fn) => fn(),
    it: (name, body) => {
      // mocha treats a body with a declared parameter as callback-style and waits for done()
      assert.equal(body.length, 0, `test body of ${name} declares no parameters`)
      tests.push({ name, body })
    },
    before: (fn) => { befores.push(fn) },
    after: (fn) => { afters.push(fn) },
    async run() {
      for (const fn of befores) await fn.call(context())
      const outcomes: Outcome[] = []
      for (const { name, body } of tests) {
        try {
          await body.call(context())
          outcomes.push({ name, status: 'pass' })
        } catch (err) {
          if (err instanceof Pending) outcomes.push({ name, status: 'skip' })
          else outcomes.push({ name, status: 'fail', error: (err as Error).message })
        }
      }
      for (const fn of afters) await fn.call(context())
      return outcomes
    },
  }
}

/** Runs the kit on `store` under the mocha-like runner; returns the report and each test's outcome by check ID. */
async function runKit(
  createStore: () => ConformanceStore | Promise<ConformanceStore>,
  options: Partial<StoreConformanceOptions> = {},
): Promise<{ report: StoreConformanceReport; outcome: (id: ConformanceCheckId | 'report') => Outcome; reported: boolean }> {
  const runner = mochaLike()
  let reported = false
  const report = runStoreConformance({
    name: 'store under test',
    createStore,
    expiry: { maxAgeMs: 250, graceMs: 300 },
    concurrency: 10,
    callTimeoutMs: 500,
    test: runner,
    onReport: () => { reported = true },
    log: () => undefined,
    ...options,
  })
  const outcomes = await runner.run()
  const outcome = (id: ConformanceCheckId | 'report'): Outcome => {
    const found = outcomes.find((o) => o.name.startsWith(`${id}:`))
    assert.ok(found, `a test for ${id}`)
    return found
  }
  return { report, outcome, reported }
}

// ---------------------------------------------------------------------------------------------------------------
// Stores: a correct one, and ones broken in one way each
// ---------------------------------------------------------------------------------------------------------------

type Cb = (err?: unknown, value?: unknown) => void

/** A correct promise-only store (no callbacks at all): JSON in a Map, expiry from cookie.expires. */
class PromiseStore extends session.Store {
  data = new Map<string, string>()
  override async get(sid: string): Promise<unknown> {
    const json = this.data.get(sid)
    if (json === undefined) return null
    const sess = JSON.parse(json)
    if (sess.cookie?.expires && Date.parse(sess.cookie.expires) <= Date.now()) {
      this.data.delete(sid)
      return null
    }
    return sess
  }
  override async set(sid: string, sess: object): Promise<void> {
    this.data.set(sid, JSON.stringify(sess))
  }
  override async destroy(sid: string): Promise<void> {
    this.data.delete(sid)
  }
  override async touch(sid: string, sess: { cookie: unknown }): Promise<void> {
    const json = this.data.get(sid)
    if (json !== undefined) this.data.set(sid, JSON.stringify({ ...JSON.parse(json), cookie: sess.cookie }))
  }
  override async all(): Promise<unknown> {
    return Object.fromEntries([...this.data].map(([sid, json]) => [sid, JSON.parse(json)]))
  }
  override async length(): Promise<number> {
    return this.data.size
  }
  override async clear(): Promise<void> {
    this.data.clear()
  }
}

/** A callback store calling back synchronously and twice, keeping live objects (Dates stay Dates). */
class SyncTwiceStore extends session.Store {
  data = new Map<string, any>()
  override get(sid: string, cb: Cb): void {
    const sess = this.data.get(sid)
    const expired = sess?.cookie?.expires && new Date(sess.cookie.expires).getTime() <= Date.now()
    const value = sess && !expired ? structuredClone({ ...sess, cookie: { ...sess.cookie } }) : undefined
    cb(null, value)
    cb(null, value)
  }
  override set(sid: string, sess: any, cb: Cb): void {
    this.data.set(sid, structuredClone({ ...sess, cookie: sess.cookie.toJSON() }))
    cb()
    cb()
  }
  override destroy(sid: string, cb: Cb): void {
    this.data.delete(sid)
    cb()
  }
}

// the runs are independent: run them side by side
describe('store conformance kit (express-session/conformance)', { concurrency: true }, () => {
  it('passes a correct store (our MemoryStore) and reports every optional method', async () => {
    const { report, outcome, reported } = await runKit(() => new session.MemoryStore())
    assert.equal(report.requiredPassed(), true, report.summary())
    assert.deepEqual(report.optional(), { touch: true, all: true, length: true, clear: true, patch: true, sessionsOf: true })
    assert.equal(outcome('report').status, 'pass')
    assert.equal(report.observations.dates, 'ISO string')
    assert.equal(report.observations.notFound, 'empty')
    assert.equal(report.observations.allShape, 'object keyed by ID')
    assert.match(report.summary(), /required 9\/9 passed; optional: touch pass, all pass, length pass, clear pass/)
    assert.equal(reported, true, 'onReport is called once the suite has finished')
  })

  it('passes a promise-only store and a synchronous, twice-calling-back store, and says so', async () => {
    const promised = await runKit(() => new PromiseStore())
    assert.equal(promised.report.requiredPassed(), true, promised.report.summary())
    assert.deepEqual(promised.report.observations.conventions,
      { callback: false, promise: 'result', synchronousCallback: false, repeatedCallback: false })

    const sync = await runKit(() => new SyncTwiceStore())
    assert.equal(sync.report.requiredPassed(), true, sync.report.summary())
    assert.equal(sync.report.observations.conventions?.synchronousCallback, true)
    assert.equal(sync.report.observations.conventions?.repeatedCallback, true)
    assert.equal(sync.report.observations.dates, 'Date')
    for (const id of ['touch', 'all', 'length', 'clear'] as const) {
      assert.equal(sync.report.checks[id].status, 'absent')
      assert.equal(sync.outcome(id).status, 'skip', `${id} is skipped (mocha: this.skip())`)
    }
  })

  it('accepts an ENOENT error as "not found", and no other error', async () => {
    class EnoentStore extends PromiseStore {
      override async get(sid: string): Promise<unknown> {
        const value = await super.get(sid)
        if (value === null) throw Object.assign(new Error(`ENOENT: ${sid}`), { code: 'ENOENT' })
        return value
      }
    }
    const enoent = await runKit(() => new EnoentStore())
    assert.equal(enoent.report.requiredPassed(), true, enoent.report.summary())
    assert.equal(enoent.report.observations.notFound, 'ENOENT')

    class FailingGetStore extends PromiseStore {
      override async get(sid: string): Promise<unknown> {
        const value = await super.get(sid)
        if (value === null) throw new Error('no such session')
        return value
      }
    }
    const failing = await runKit(() => new FailingGetStore())
    assert.equal(failing.outcome('get-missing').status, 'fail')
    assert.match(failing.outcome('get-missing').error!, /only code 'ENOENT' means "not found"/)
    assert.equal(failing.outcome('report').status, 'fail', 'the report test fails when a required check failed')
    assert.equal(failing.report.requiredPassed(), false)
  })

  it('catches a store that does not replace, does not destroy, or mixes up sessions', async () => {
    class MergingStore extends PromiseStore {
      override async set(sid: string, sess: object): Promise<void> {
        const old = this.data.get(sid)
        this.data.set(sid, JSON.stringify({ ...(old ? JSON.parse(old) : {}), ...JSON.parse(JSON.stringify(sess)) }))
      }
    }
    assert.match((await runKit(() => new MergingStore())).outcome('overwrite').error!, /set must replace/)

    class ImmortalStore extends PromiseStore {
      override async destroy(): Promise<void> {}
    }
    const immortal = await runKit(() => new ImmortalStore())
    assert.match(immortal.outcome('destroy').error!, /still finds the session after store.destroy/)
    assert.equal(immortal.outcome('concurrency').status, 'fail')

    class ErroringDestroyStore extends PromiseStore {
      override async destroy(sid: string): Promise<void> {
        if (!this.data.delete(sid)) throw new Error('NOT_FOUND')
      }
    }
    assert.match((await runKit(() => new ErroringDestroyStore())).outcome('destroy').error!, /destroy\(\) of an unknown ID failed/)

    class SharedSlotStore extends PromiseStore {
      last: string | undefined
      override async set(sid: string, sess: object): Promise<void> {
        await super.set(sid, sess)
        this.last = JSON.stringify(sess)
      }
      override async get(sid: string): Promise<unknown> {
        await new Promise((resolve) => setTimeout(resolve, 1))
        return this.data.has(sid) ? JSON.parse(this.last!) : null
      }
    }
    assert.match((await runKit(() => new SharedSlotStore())).outcome('concurrency').error!, /another session's data|returned/)
  })

  it('catches lossy data, a missing cookie, and a store that never expires', async () => {
    class LossyStore extends PromiseStore {
      override async set(sid: string, sess: object): Promise<void> {
        const copy = JSON.parse(JSON.stringify(sess))
        if (copy.text) copy.text = copy.text.normalize('NFD')
        if (copy.when) copy.when = 'yesterday'
        this.data.set(sid, JSON.stringify(copy))
      }
    }
    assert.match((await runKit(() => new LossyStore())).outcome('round-trip').error!, /text came back as/)

    class NoCookieStore extends PromiseStore {
      override async set(sid: string, sess: object): Promise<void> {
        const { cookie: _cookie, ...rest } = JSON.parse(JSON.stringify(sess))
        this.data.set(sid, JSON.stringify(rest))
      }
    }
    const noCookie = await runKit(() => new NoCookieStore())
    assert.match(noCookie.outcome('set-get').error!, /no cookie object/)
    assert.equal(noCookie.outcome('load').status, 'fail')

    class ForeverStore extends PromiseStore {
      override async get(sid: string): Promise<unknown> {
        const json = this.data.get(sid)
        return json === undefined ? null : JSON.parse(json)
      }
    }
    const forever = await runKit(() => new ForeverStore())
    assert.match(forever.outcome('expiry').error!, /still returned 300 ms after its cookie expired/)
    assert.equal(forever.report.checks.expiry.status, 'fail')

    const pruned = await runKit(() => new ForeverStore(), {
      expiry: {
        maxAgeMs: 250,
        graceMs: 300,
        prune: (store) => {
          const s = store as ForeverStore
          for (const [sid, json] of s.data) {
            const expires = JSON.parse(json).cookie?.expires
            if (expires && Date.parse(expires) <= Date.now()) s.data.delete(sid)
          }
        },
      },
    })
    assert.equal(pruned.outcome('expiry').status, 'pass', 'expiry.prune runs the store\'s own expiry mechanism')
  })

  it('fails broken optional methods: touch that does not extend or resurrects, all/length/clear that lie', async () => {
    class BadOptionalStore extends PromiseStore {
      override async touch(sid: string, sess: { cookie: unknown }): Promise<void> {
        this.data.set(sid, JSON.stringify({ cookie: sess.cookie })) // loses the data, creates unknown IDs
      }
      override async all(): Promise<unknown> {
        return [...this.data.values()]
      }
      override async length(): Promise<number> {
        return 7
      }
      override async clear(): Promise<void> {}
    }
    const bad = await runKit(() => new BadOptionalStore())
    assert.equal(bad.report.requiredPassed(), true, 'optional failures do not fail the required checks')
    assert.match(bad.outcome('touch').error!, /touch changed the session data/)
    assert.match(bad.outcome('all').error!, /does not list a stored session/)
    assert.match(bad.outcome('length').error!, /went from 7 to 7/)
    assert.match(bad.outcome('clear').error!, /still there after store.clear/)
    assert.deepEqual(bad.report.optional(), { touch: false, all: false, length: false, clear: false })

    class NoExtendStore extends PromiseStore {
      override async touch(): Promise<void> {}
    }
    assert.match((await runKit(() => new NoExtendStore())).outcome('touch').error!, /does not extend it/)

    class ResurrectingStore extends PromiseStore {
      override async touch(sid: string, sess: object): Promise<void> {
        await this.set(sid, sess)
      }
    }
    const resurrecting = await runKit(() => new ResurrectingStore())
    assert.match(resurrecting.outcome('touch').error!, /touch of an unknown .* created a session/)
    assert.equal(resurrecting.report.observations.touchUnknown, 'created a session')
  })

  it('fails a patch that is not atomic, recreates a session that is gone, or loses a Date', async () => {
    /** get, apply, set, with a wait in between: parallel patches overwrite each other. */
    class ReadModifyWriteStore extends session.MemoryStore {
      patch(sid: string, changes: session.SessionChanges, callback?: (err: any, existed?: boolean) => void): void {
        this.get(sid, (err, data: any) => {
          if (err || !data) return callback?.(err, false)
          Object.assign(data, changes.set)
          for (const key of changes.unset) delete data[key]
          data.cookie = changes.cookie
          setTimeout(() => this.set(sid, data, (setErr) => callback?.(setErr, true)), 5)
        })
      }
    }
    assert.match((await runKit(() => new ReadModifyWriteStore())).outcome('patch').error!, /parallel patches lost \d+ of \d+ keys/)

    class RecreatingStore extends session.MemoryStore {
      patch(sid: string, changes: session.SessionChanges, callback?: (err: any, existed?: boolean) => void): void {
        super.patch(sid, changes, (err, existed) => {
          if (existed) return callback?.(err, true)
          this.set(sid, { cookie: changes.cookie, ...changes.set } as any, () => callback?.(null, false))
        })
      }
    }
    assert.match((await runKit(() => new RecreatingStore())).outcome('patch').error!, /patch of a destroyed session recreated it/)

    /** Turns a Date in a patch into `{}`, as connect-redis 6.1 did: it no longer reads back as set stores it. */
    class DateMangler extends session.MemoryStore {
      patch(sid: string, changes: session.SessionChanges, callback?: (err: any, existed?: boolean) => void): void {
        const set = Object.fromEntries(Object.entries(changes.set).map(([k, v]) => [k, v instanceof Date ? {} : v]))
        super.patch(sid, { ...changes, set }, callback)
      }
    }
    assert.match((await runKit(() => new DateMangler())).outcome('patch').error!, /a Date set by patch comes back as \{\}/)
  })

  it('fails an owner index that ignores except, keeps a moved session under its old owner, or lists expired sessions', async () => {
    class IgnoresExcept extends session.MemoryStore {
      override destroyOwner(owner: string, _options: any, callback?: any): void {
        super.destroyOwner(owner, {}, callback)
      }
    }
    assert.match((await runKit(() => new IgnoresExcept())).outcome('sessionsOf').error!, /called back with 3, expected 2|after destroyOwner with except/)

    /** Indexes a session under every owner it ever had. */
    class NeverMoves extends session.MemoryStore {
      private readonly seen = new Map<string, Map<string, any>>()
      override set(sid: string, sess: any, callback?: any): void {
        const owner = sess.__sessionOwner
        if (owner) {
          if (!this.seen.has(owner)) this.seen.set(owner, new Map())
          this.seen.get(owner)!.set(sid, JSON.parse(JSON.stringify(sess)))
        }
        super.set(sid, sess, callback)
      }
      override sessionsOf(owner: string, options: any, callback?: any): void {
        const listed = [...(this.seen.get(owner) ?? new Map())].map(([id, data]) => ({ id, session: data }))
        setImmediate(callback, null, listed.slice(0, options.limit))
      }
    }
    assert.match((await runKit(() => new NeverMoves())).outcome('sessionsOf').error!, /moved to another owner|after destroy/)

    class ListsExpired extends session.MemoryStore {
      private readonly kept = new Map<string, any>()
      override set(sid: string, sess: any, callback?: any): void {
        // remembers short-lived sessions past their expiry
        if (sess.__sessionOwner && sess.cookie.originalMaxAge < 5000) this.kept.set(sid, JSON.parse(JSON.stringify(sess)))
        super.set(sid, sess, callback)
      }
      override destroy(sid: string, callback?: any): void {
        this.kept.delete(sid)
        super.destroy(sid, callback)
      }
      override destroyOwner(owner: string, options: any, callback?: any): void {
        for (const [sid, data] of this.kept) if (data.__sessionOwner === owner && sid !== options.except) this.kept.delete(sid)
        super.destroyOwner(owner, options, callback)
      }
      override sessionsOf(owner: string, options: any, callback?: any): void {
        super.sessionsOf(owner, { limit: 1000 }, (err: any, live: any[]) => {
          const ids = new Set(live.map((entry) => entry.id))
          const expired = [...this.kept].filter(([id, data]) => data.__sessionOwner === owner && !ids.has(id)).map(([id, data]) => ({ id, session: data }))
          callback(err, [...live, ...expired].slice(0, options.limit))
        })
      }
    }
    assert.match((await runKit(() => new ListsExpired())).outcome('sessionsOf').error!, /after the only session of an owner expired/)
  })

  it('honours knownIssues, capabilities and expiry: false', async () => {
    class NoExtendStore extends PromiseStore {
      override async touch(): Promise<void> {}
      override async length(): Promise<number> {
        return -1
      }
    }
    const known = await runKit(() => new NoExtendStore(), {
      knownIssues: { touch: 'touch is a no-op', clear: 'listed, but works' },
      capabilities: { length: false },
    })
    assert.equal(known.outcome('touch').status, 'pass', 'a known issue does not fail the run')
    assert.equal(known.report.checks.touch.status, 'known-issue')
    assert.equal(known.report.checks.clear.status, 'pass', 'a known issue that no longer fails is reported as a pass')
    assert.equal(known.report.checks.length.status, 'disabled')
    assert.equal(known.outcome('length').status, 'skip')
    assert.match(known.report.summary(), /touch known issue, all pass, length disabled, clear pass/)

    class BareStore extends SyncTwiceStore {}
    const required = await runKit(() => new BareStore(), { capabilities: { touch: true } })
    assert.match(required.outcome('touch').error!, /has no touch\(\) but capabilities.touch is true/)

    const noExpiry = await runKit(() => new PromiseStore(), { expiry: false })
    assert.equal(noExpiry.report.checks.expiry.status, 'disabled')
    assert.equal(noExpiry.outcome('expiry').status, 'skip')
    assert.equal(noExpiry.outcome('touch').status, 'pass', 'touch is checked without the expiry phase')
    assert.equal(noExpiry.report.requiredPassed(), true)
  })

  it('reports a store that cannot be created, or does not answer', async () => {
    const broken = await runKit(() => {
      throw new Error('cannot connect')
    })
    assert.match(broken.outcome('set-get').error!, /cannot connect/)
    assert.equal(broken.report.checks['set-get'].status, 'fail')
    assert.match(broken.report.checks['set-get'].error!, /createStore\(\) failed: cannot connect/)

    // get/set/destroy alone are not enough: the middleware needs the Store base (createSession, load, EventEmitter)
    const plain = new PromiseStore()
    const notInherited = await runKit(() => ({
      get: (sid: string) => plain.get(sid),
      set: (sid: string, sess: object) => plain.set(sid, sess),
      destroy: (sid: string) => plain.destroy(sid),
    }))
    assert.match(notInherited.outcome('load').error!, /must inherit from express-session's Store/)
    assert.equal(notInherited.outcome('set-get').status, 'pass')

    const notAStore = await runKit(() => ({}) as ConformanceStore)
    assert.match(notAStore.outcome('get-missing').error!, /not a store with get, set and destroy/)

    class SilentStore extends PromiseStore {
      override get(): Promise<unknown> {
        return new Promise(() => undefined)
      }
    }
    const silent = await runKit(() => new SilentStore(), { callTimeoutMs: 100 })
    assert.match(silent.outcome('get-missing').error!, /did not answer within 100 ms/)
    assert.match(silent.outcome('conventions').error!, /did not settle within 100 ms/)
  })

  it('sets mocha timeouts from the expiry settings and rejects bad options', async () => {
    const runner = mochaLike()
    const printed: string[] = []
    runStoreConformance({
      name: 'x', createStore: () => new session.MemoryStore(), test: runner, expiryMs: 1234, log: (line) => printed.push(line),
    })
    await runner.run()
    assert.match(printed.join('\n'), /^x: required 9\/9 passed/, 'under mocha the report test prints the summary')
    assert.ok(runner.timeouts.some((ms) => ms >= 1234 + 2500), `a timeout covers the expiry wait: ${runner.timeouts}`)

    const create = () => new session.MemoryStore()
    assert.throws(() => runStoreConformance(null as never), /options must be an object/)
    assert.throws(() => runStoreConformance({ name: '', createStore: create }), /options.name/)
    assert.throws(() => runStoreConformance({ name: 'x' } as never), /options.createStore/)
    assert.throws(() => runStoreConformance({ name: 'x', createStore: create, test: { ...runner, it: undefined } as never }),
      /options.test.it must be a function/)
    assert.throws(() => runStoreConformance({ name: 'x', createStore: create, test: runner, concurrency: 0 }), /concurrency/)
  })
})

// And the default: node:test's functions, loaded by the kit itself, registering a real suite here.
runStoreConformance({
  name: 'MemoryStore under node:test (functions loaded by the kit)',
  createStore: () => new session.MemoryStore(),
  teardown: (store) => (store as session.MemoryStore).close(),
  expiryMs: 300,
})
