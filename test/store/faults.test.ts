/**
 * Fault injection through a store wrapper: every way a store can misbehave (errors, throws, synchronous
 * and double callbacks, promises that reject, calls that never answer, late answers, corrupt data) at
 * every place the middleware calls it (load, save, touch, destroy, regenerate, reload, `unset: 'destroy'`).
 *
 * For each, over HTTP through Express: the documented outcome (an error through `next(err)`, a new
 * session, or the documented fallback of `storeErrors: 'continue'`), the response ended exactly once, and
 * in the end no unhandled rejection, no uncaught exception, no pending timer from `storeTimeout` and no
 * open socket.
 *
 *   node --import tsx --test test/store/faults.test.ts
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import express from 'express'
import session from 'express-session'
import { signedCookie } from '../support/http.js'
import { activeResources, cookieFrom, HttpClient, ProcessWatch, sleep, TimerTracker, type HttpResult } from '../support/in-process.js'

type Method = 'get' | 'set' | 'touch' | 'destroy'

/** How the store misbehaves. */
type Mode =
  | 'ok' // answers on a later turn (the baseline)
  | 'sync' // calls back synchronously
  | 'double' // calls back twice with the answer
  | 'double-error' // calls back with the answer, then with an error
  | 'promise' // returns a promise, never calls back
  | 'promise-and-callback' // both (as connect-redis 10 does)
  | 'sync-then-throw' // calls back synchronously, then throws
  | 'error' // calls back with an Error
  | 'error-string' // calls back with a string
  | 'enoent' // calls back with an error whose code is ENOENT ("not found")
  | 'throw' // throws synchronously
  | 'reject' // returns a rejected promise
  | 'reject-undefined' // returns a promise rejected with undefined
  | 'never' // never answers
  | 'late' // answers after 3 x storeTimeout
  | `corrupt:${CorruptKind}` // `get` answers this data

const CORRUPT = {
  'no-cookie': () => ({ data: 'x' }),
  'cookie-string': () => ({ cookie: 'yes', data: 'x' }),
  'cookie-null': () => ({ cookie: null, data: 'x' }),
  string: () => 'garbage',
  number: () => 42,
  array: () => [1, 2, 3],
  true: () => true,
  null: () => null,
  false: () => false,
  'empty-string': () => '',
  'bad-expires': () => ({ cookie: { originalMaxAge: 60_000, expires: 'not a date', path: '/', httpOnly: true }, data: 'x' }),
  'bad-original-max-age': () => ({ cookie: { originalMaxAge: 'soon', expires: inAnHour(), path: '/', httpOnly: true }, data: 'x' }),
  'bad-max-age': () => ({ cookie: { maxAge: { in: 'an hour' }, path: '/' }, data: 'x' }),
  'bad-path': () => ({ cookie: { originalMaxAge: 60_000, expires: inAnHour(), path: 'a;b', httpOnly: true }, data: 'x' }),
  'reserved-keys': () => ({ cookie: validCookie(), id: 'evil', req: 'evil', save: 'evil', regenerate: 1, data: 'x' }),
  prototype: () => JSON.parse(`{"cookie":${JSON.stringify(validCookie())},"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"data":"x"}`),
  huge: () => ({ cookie: validCookie(), data: 'x', blob: 'y'.repeat(5_000_000) }),
  deep: () => {
    const root: Record<string, unknown> = { cookie: validCookie(), data: 'x' }
    let node = root
    for (let i = 0; i < 20_000; i++) node = (node.next = {}) as Record<string, unknown>
    return root
  },
} as const
type CorruptKind = keyof typeof CORRUPT

function inAnHour(): string {
  return new Date(Date.now() + 3600_000).toISOString()
}
function validCookie() {
  return { originalMaxAge: 3600_000, expires: inAnHour(), path: '/', httpOnly: true }
}

/**
 * A Map-backed store with faults per session ID: `faults.get(sid)` (a method and a mode) applies to every
 * call of that method for that session while set, so that scenarios run concurrently.
 * Callbacks of `never` calls are kept in `held` (see `releaseHeld()`); `late` ones answer after LATE ms.
 */
class FaultyStore extends session.Store {
  readonly data = new Map<string, string>()
  readonly faults = new Map<string, { method: Method; mode: Mode }>()
  held: Array<() => void> = []
  private readonly lateTimers = new Set<NodeJS.Timeout>()

  override get(sid: string, callback: (err: any, sess?: any) => void): unknown {
    return this.run('get', sid, callback, () => {
      const json = this.data.get(sid)
      return json === undefined ? null : JSON.parse(json)
    })
  }

  override set(sid: string, sess: any, callback?: (err?: any) => void): unknown {
    return this.run('set', sid, callback, () => {
      this.data.set(sid, JSON.stringify(sess))
    })
  }

  override touch(sid: string, sess: any, callback?: (err?: any) => void): unknown {
    return this.run('touch', sid, callback, () => {
      const json = this.data.get(sid)
      if (json !== undefined) this.data.set(sid, JSON.stringify({ ...JSON.parse(json), cookie: sess.cookie }))
    })
  }

  override destroy(sid: string, callback?: (err?: any) => void): unknown {
    return this.run('destroy', sid, callback, () => {
      this.data.delete(sid)
    })
  }

  private run(method: Method, sid: string, callback: ((err: any, value?: any) => void) | undefined, operation: () => unknown): unknown {
    const cb = callback ?? (() => undefined)
    const fault = this.faults.get(sid)
    const mode: Mode = fault?.method === method ? fault.mode : 'ok'
    const answer = (): unknown => (mode.startsWith('corrupt:') ? CORRUPT[mode.slice(8) as CorruptKind]() : operation())
    switch (mode) {
      case 'sync':
        cb(null, answer())
        return undefined
      case 'double': {
        const value = answer()
        setImmediate(() => {
          cb(null, value)
          cb(null, value)
        })
        return undefined
      }
      case 'double-error': {
        const value = answer()
        setImmediate(() => {
          cb(null, value)
          cb(new Error(`injected second callback of ${method}`))
        })
        return undefined
      }
      case 'promise':
        return new Promise((resolve) => setImmediate(() => resolve(answer())))
      case 'promise-and-callback':
        return new Promise<void>((resolve) =>
          setImmediate(() => {
            cb(null, answer())
            resolve()
          }),
        )
      case 'sync-then-throw':
        cb(null, answer())
        throw new Error(`injected ${method} throw after answering`)
      case 'error':
        setImmediate(cb, new Error(`injected ${method} error`))
        return undefined
      case 'error-string':
        setImmediate(cb, `injected ${method} string`)
        return undefined
      case 'enoent':
        setImmediate(cb, Object.assign(new Error(`injected ${method} ENOENT`), { code: 'ENOENT' }))
        return undefined
      case 'throw':
        throw new Error(`injected ${method} throw`)
      case 'reject':
        return Promise.reject(new Error(`injected ${method} rejection`))
      case 'reject-undefined':
        return Promise.reject(undefined)
      case 'never':
        this.held.push(() => cb(null, answer()))
        return undefined
      case 'late': {
        const timer = setTimeout(() => {
          this.lateTimers.delete(timer)
          cb(null, answer())
        }, LATE)
        this.lateTimers.add(timer)
        return undefined
      }
      default:
        setImmediate(() => cb(null, answer()))
        return undefined
    }
  }

  /** Answers every call that was never answered (a late answer, after the client gave up). */
  releaseHeld(): void {
    const held = this.held
    this.held = []
    for (const answer of held) answer()
  }

  /** Whether late answers are still due. */
  get lateDue(): number {
    return this.lateTimers.size
  }
}

/** The outcome a scenario must have. */
type Expect =
  | { kind: 'loaded' } // 200, the stored session's data
  | { kind: 'new-session' } // 200, a fresh session (new cookie, no data)
  | { kind: 'no-session' } // 200, no req.session (storeErrors: 'continue')
  | { kind: 'ok'; body: RegExp } // 200 with this body
  | { kind: 'error'; message: RegExp } // 500 from next(err), with this message
  | { kind: 'after-error'; message: RegExp } // 200, then the error reached next(err) after the response
  | { kind: 'hang' } // no response (the store never answers, no storeTimeout)

interface Scenario {
  /** The route: what the request does with its (existing) session. */
  route: 'read' | 'write' | 'touch' | 'destroy' | 'unset' | 'regenerate' | 'reload' | 'save'
  method: Method
  mode: Mode
  timeout: boolean
  policy: 'fail' | 'continue'
  expect: Expect
}

const FAILING: Mode[] = ['error', 'error-string', 'throw', 'reject', 'reject-undefined']
/** Modes in which the store does answer: a throw after the answer is ignored like a second callback. */
const ANSWERING: Mode[] = ['ok', 'sync', 'double', 'double-error', 'promise', 'promise-and-callback', 'sync-then-throw', 'late']
// generous, so that event-loop lag on a loaded machine (the scenarios run concurrently, some parse 5 MB) never
// makes a store that does answer look timed out
const STORE_TIMEOUT = 250
const LATE = 3 * STORE_TIMEOUT
const TIMEOUT = new RegExp(`ESTORETIMEOUT store\\.\\w+\\(\\) did not answer within ${STORE_TIMEOUT} ms`)

function failureMessage(method: Method, mode: Mode): RegExp {
  switch (mode) {
    case 'error':
      return new RegExp(`injected ${method} error`)
    case 'error-string':
      // passed on as the store gave it, as 1.x does
      return new RegExp(`injected ${method} string`)
    case 'throw':
      return new RegExp(`injected ${method} throw`)
    case 'reject':
      return new RegExp(`injected ${method} rejection`)
    default:
      return new RegExp(`store\\.${method}\\(\\) (rejected|failed)`)
  }
}

/** The scenario table: every mode at every call site, with and without storeTimeout. */
function scenarios(): Scenario[] {
  const list: Scenario[] = []
  const add = (s: Omit<Scenario, 'policy'> & { policy?: Scenario['policy'] }) => list.push({ policy: 'fail', ...s })
  for (const timeout of [false, true]) {
    const hangOrTimeout = (onTimeout: Expect): Expect => (timeout ? onTimeout : { kind: 'hang' })
    const slow = (onTimeout: Expect, otherwise: Expect): Expect => (timeout ? onTimeout : otherwise)

    // load: the store's answer to get() decides the session
    for (const mode of ANSWERING) add({ route: 'read', method: 'get', mode, timeout, expect: mode === 'late' ? slow({ kind: 'error', message: TIMEOUT }, { kind: 'loaded' }) : { kind: 'loaded' } })
    add({ route: 'read', method: 'get', mode: 'enoent', timeout, expect: { kind: 'new-session' } })
    for (const mode of FAILING) {
      add({ route: 'read', method: 'get', mode, timeout, expect: { kind: 'error', message: failureMessage('get', mode) } })
      add({ route: 'read', method: 'get', mode, timeout, policy: 'continue', expect: { kind: 'no-session' } })
    }
    add({ route: 'read', method: 'get', mode: 'never', timeout, expect: hangOrTimeout({ kind: 'error', message: TIMEOUT }) })
    add({ route: 'read', method: 'get', mode: 'never', timeout, policy: 'continue', expect: hangOrTimeout({ kind: 'no-session' }) })
    const noCookie: Expect = { kind: 'error', message: /store returned data without a cookie object/ }
    const corrupt: Record<CorruptKind, Expect> = {
      'no-cookie': noCookie,
      'cookie-string': noCookie,
      'cookie-null': noCookie,
      string: noCookie,
      number: noCookie,
      array: noCookie,
      true: noCookie,
      null: { kind: 'new-session' },
      false: { kind: 'new-session' },
      'empty-string': { kind: 'new-session' },
      'bad-expires': { kind: 'loaded' },
      // loads, but cannot be touched: the error reaches next(err) after the response
      'bad-original-max-age': { kind: 'after-error', message: /maxAge must be a number/ },
      'bad-max-age': { kind: 'error', message: /maxAge must be a number/ },
      'bad-path': { kind: 'loaded' },
      'reserved-keys': { kind: 'loaded' },
      prototype: { kind: 'loaded' },
      huge: { kind: 'loaded' },
      deep: { kind: 'error', message: /call stack/ },
    }
    for (const [kind, expect] of Object.entries(corrupt)) add({ route: 'read', method: 'get', mode: `corrupt:${kind as CorruptKind}`, timeout, expect })

    // save, touch and unset-destroy at the end of the response: errors reach next(err) after the response
    for (const [route, method] of [['write', 'set'], ['touch', 'touch'], ['unset', 'destroy']] as const) {
      for (const mode of ANSWERING) add({ route, method, mode, timeout, expect: mode === 'late' && timeout ? { kind: 'after-error', message: TIMEOUT } : { kind: 'ok', body: new RegExp(route) } })
      for (const mode of FAILING) {
        add({ route, method, mode, timeout, expect: { kind: 'after-error', message: failureMessage(method, mode) } })
        add({ route, method, mode, timeout, policy: 'continue', expect: { kind: 'ok', body: new RegExp(route) } })
      }
      add({ route, method, mode: 'never', timeout, expect: hangOrTimeout({ kind: 'after-error', message: TIMEOUT }) })
    }

    // explicit calls from the route: destroy(), regenerate() (destroys), reload() (gets), save() (sets)
    for (const [route, method] of [['destroy', 'destroy'], ['regenerate', 'destroy'], ['reload', 'get'], ['save', 'set']] as const) {
      for (const mode of ANSWERING) add({ route, method, mode, timeout, expect: mode === 'late' && timeout ? { kind: 'error', message: TIMEOUT } : { kind: 'ok', body: new RegExp(route) } })
      for (const mode of FAILING) add({ route, method, mode, timeout, expect: { kind: 'error', message: failureMessage(method, mode) } })
      add({ route, method, mode: 'never', timeout, expect: hangOrTimeout({ kind: 'error', message: TIMEOUT }) })
    }
    for (const [kind, expect] of Object.entries({
      'no-cookie': { kind: 'error', message: /store returned data without a cookie object/ },
      number: { kind: 'error', message: /store returned data without a cookie object/ },
      null: { kind: 'error', message: /failed to load session/ },
      'bad-max-age': { kind: 'error', message: /maxAge must be a number/ },
      'reserved-keys': { kind: 'ok', body: /reload/ },
    } satisfies Partial<Record<CorruptKind, Expect>>)) {
      add({ route: 'reload', method: 'get', mode: `corrupt:${kind as CorruptKind}`, timeout, expect: expect as Expect })
    }
  }
  return list
}

/** One app per (storeTimeout, storeErrors) combination, sharing the store. */
function createApp(
  store: FaultyStore,
  options: { timeout: boolean; policy: 'fail' | 'continue'; unsetDestroy: boolean },
  counts: { ends: Map<string, number>; nexts: Map<string, number> },
  errors: Map<string, unknown[]>,
) {
  const { ends, nexts } = counts
  const app = express()
  // counts calls of the response's own end, beneath the session middleware's wrapper
  app.use((req, res, next) => {
    const tag = String(req.headers['x-case'])
    const ownEnd = res.end
    res.end = function end(this: express.Response, ...args: any[]) {
      ends.set(tag, (ends.get(tag) ?? 0) + 1)
      return (ownEnd as (...a: any[]) => express.Response).apply(this, args)
    } as express.Response['end']
    next()
  })
  const middleware = session({
    secret: 'keyboard cat',
    store,
    resave: false,
    saveUninitialized: false,
    unset: options.unsetDestroy ? 'destroy' : 'keep',
    storeTimeout: options.timeout ? STORE_TIMEOUT : undefined,
    storeErrors: options.policy,
  })
  // counts how often the session middleware passes control on (it must be once per request)
  app.use((req, res, next) => {
    const tag = String(req.headers['x-case'])
    middleware(req, res, (err?: unknown) => {
      nexts.set(tag, (nexts.get(tag) ?? 0) + 1)
      next(err)
    })
  })
  app.use((req: any, res, next) => {
    const arm = () => {
      store.faults.set(req.sessionID, JSON.parse(String(req.headers['x-fault'])))
    }
    const done = (err?: unknown) => (err ? next(err) : res.end(`${req.path.slice(1)} ${req.sessionID}`))
    switch (req.path) {
      case '/read':
      case '/touch':
        res.json({
          sid: req.sessionID ?? null,
          has: Boolean(req.session),
          data: req.session?.data ?? null,
          methods: req.session ? typeof req.session.save === 'function' && typeof req.session.regenerate === 'function' : null,
          polluted: ({} as Record<string, unknown>).polluted ?? null,
          label: req.path.slice(1),
        })
        return
      case '/write':
        req.session.data = 'written'
        res.end('write')
        return
      case '/unset':
        req.session = null
        res.end('unset')
        return
      case '/destroy':
        arm()
        req.session.destroy(done)
        return
      case '/regenerate':
        arm()
        req.session.regenerate(done)
        return
      case '/reload':
        arm()
        req.session.reload(done)
        return
      case '/save':
        arm()
        req.session.data = 'saved'
        req.session.save(done)
        return
    }
    next()
  })
  app.use((err: any, req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const tag = String(req.headers['x-case'])
    errors.set(tag, [...(errors.get(tag) ?? []), err])
    if (res.headersSent) return
    res.status(500).end(`${err?.code ?? ''} ${err?.message ?? String(err)}`)
  })
  return app
}

describe('store fault injection', () => {
  const watch = new ProcessWatch()
  const timers = new TimerTracker('store-call')
  const store = new FaultyStore()
  const ends = new Map<string, number>()
  const nexts = new Map<string, number>()
  const errors = new Map<string, unknown[]>()
  const servers = new Map<string, { port: number; close(): Promise<boolean> }>()
  let resourcesBefore: Record<string, number>
  const hungTags: string[] = []

  before(async () => {
    watch.install()
    timers.enable()
    resourcesBefore = activeResources()
    for (const timeout of [false, true]) {
      for (const policy of ['fail', 'continue'] as const) {
        for (const unsetDestroy of [false, true]) {
          const server = createApp(store, { timeout, policy, unsetDestroy }, { ends, nexts }, errors).listen(0, '127.0.0.1')
          await new Promise((resolve) => server.once('listening', resolve))
          servers.set(`${timeout}/${policy}/${unsetDestroy}`, {
            port: (server.address() as AddressInfo).port,
            close: () => new Promise<boolean>((resolve) => {
              const timer = setTimeout(() => resolve(false), 3000)
              server.close(() => {
                clearTimeout(timer)
                resolve(true)
              })
            }),
          })
        }
      }
    }
  })

  after(() => {
    watch.uninstall()
    timers.disable()
  })

  let caseNumber = 0
  /** Stores a session with `data: 'x'` under a new ID; returns the signed cookie for it. */
  function seedSession(): { sid: string; cookie: string } {
    const sid = `seed-${++caseNumber}-${Math.random().toString(36).slice(2)}`
    store.data.set(sid, JSON.stringify({ cookie: validCookie(), data: 'x' }))
    return { sid, cookie: signedCookie(sid) }
  }

  async function run(s: Scenario): Promise<void> {
    const server = servers.get(`${s.timeout}/${s.policy}/${s.route === 'unset'}`)!
    const http = new HttpClient(server.port, 8)
    const tag = `case-${++caseNumber}`
    const { sid, cookie } = seedSession()
    const explicit = ['destroy', 'regenerate', 'reload', 'save'].includes(s.route)
    if (!explicit) store.faults.set(sid, { method: s.method, mode: s.mode })
    const path = s.route === 'touch' ? '/touch' : `/${s.route}`
    let response: HttpResult | undefined
    let failure: unknown
    try {
      response = await http.request(path, {
        cookie,
        timeout: s.expect.kind === 'hang' ? 200 : 3000,
        headers: { 'x-case': tag, 'x-fault': JSON.stringify({ method: s.method, mode: s.mode }) },
      })
    } catch (err) {
      failure = err
    } finally {
      if (s.expect.kind !== 'hang') store.faults.delete(sid)
      http.close()
    }
    const what = `${s.route} with ${s.method} ${s.mode}${s.timeout ? ` (storeTimeout ${STORE_TIMEOUT})` : ''} [${s.policy}]`

    if (s.expect.kind === 'hang') {
      assert.equal((failure as { code?: string } | undefined)?.code, 'ETIMEDOUT_TEST', `${what}: no response while the store is silent`)
      hungTags.push(tag)
      return
    }
    assert.equal(failure, undefined, `${what}: answered`)
    const res = response!
    // late answers and errors passed after the response arrive on later turns
    await sleep(s.mode === 'late' ? LATE + 100 : 5)
    assert.equal(ends.get(tag), 1, `${what}: the response was ended exactly once`)
    // next() once to run the route; a failure at the end of the response is passed on once more, after it
    const expectedNexts = s.expect.kind === 'after-error' ? 2 : 1
    assert.equal(nexts.get(tag), expectedNexts, `${what}: the middleware passed control on ${expectedNexts} time(s)`)
    const errs = errors.get(tag) ?? []
    const body = res.body
    switch (s.expect.kind) {
      case 'loaded': {
        assert.equal(res.status, 200, `${what}: 200 (${body})`)
        const seen = JSON.parse(body)
        assert.equal(seen.sid, sid, `${what}: the stored session`)
        assert.equal(seen.data, 'x', `${what}: with its data`)
        assert.equal(seen.methods, true, `${what}: stored keys never replace the session's methods`)
        assert.equal(seen.polluted, null, `${what}: no prototype pollution`)
        assert.deepEqual(errs, [], `${what}: no error`)
        break
      }
      case 'new-session': {
        assert.equal(res.status, 200, `${what}: 200 (${body})`)
        const seen = JSON.parse(body)
        assert.equal(seen.has, true)
        assert.notEqual(seen.sid, sid, `${what}: a new session ID`)
        assert.equal(seen.data, null)
        assert.deepEqual(errs, [], `${what}: no error`)
        break
      }
      case 'no-session': {
        assert.equal(res.status, 200, `${what}: 200 (${body})`)
        const seen = JSON.parse(body)
        assert.equal(seen.has, false, `${what}: no req.session`)
        assert.equal(cookieFrom(res), undefined, `${what}: no Set-Cookie`)
        assert.deepEqual(errs, [], `${what}: no error`)
        break
      }
      case 'ok':
        assert.equal(res.status, 200, `${what}: 200 (${body})`)
        assert.match(body, s.expect.body)
        assert.deepEqual(errs, [], `${what}: no error`)
        break
      case 'error':
        assert.equal(res.status, 500, `${what}: 500 (${body})`)
        assert.match(body, s.expect.message, `${what}: the error says what failed`)
        assert.equal(errs.length, 1, `${what}: one error`)
        break
      case 'after-error':
        assert.equal(res.status, 200, `${what}: the response went out (${body})`)
        assert.equal(errs.length, 1, `${what}: one error passed to next(err)`)
        const err = errs[0] as { code?: string; message?: string } | undefined
        assert.match(`${err?.code ?? ''} ${err?.message ?? String(err)}`, s.expect.message)
        break
    }
    if (s.route === 'write' && s.expect.kind === 'ok' && ANSWERING.includes(s.mode)) {
      assert.equal(JSON.parse(store.data.get(sid)!).data, 'written', `${what}: saved`)
    }
    if (s.route === 'regenerate' && s.expect.kind === 'ok') {
      assert.ok(!store.data.has(sid) || s.mode === 'late', `${what}: the old session is gone`)
      assert.doesNotMatch(body, new RegExp(sid), `${what}: a new ID`)
    }
  }

  describe('scenarios (concurrently)', { concurrency: 16 }, () => {
    for (const s of scenarios()) {
      it(`${s.route}: ${s.method} ${s.mode}${s.timeout ? ', storeTimeout' : ''}${s.policy === 'continue' ? ", storeErrors 'continue'" : ''} -> ${s.expect.kind}`, () => run(s))
    }
  })

  it('late answers to calls that never answered, after the clients gave up, change nothing and crash nothing', async () => {
    assert.ok(hungTags.length > 0 && store.held.length > 0)
    store.releaseHeld()
    await sleep(50)
    for (const tag of hungTags) assert.ok((ends.get(tag) ?? 0) <= 1, 'never ended twice')
    watch.assertClean()
  })

  it('leaves no unhandled rejection, no pending storeTimeout timer and no open socket', async () => {
    assert.ok(await waitLate(store), 'late answers delivered')
    const closed = await Promise.all([...servers.values()].map((server) => server.close()))
    assert.deepEqual(closed, closed.map(() => true), 'every server closed: no connection left open')
    await sleep(20)
    watch.assertClean()
    assert.ok(timers.created > 0, 'storeTimeout timers were used')
    assert.equal(timers.live, 0, 'every storeTimeout timer fired or was cleared')
    const now = activeResources()
    for (const type of ['TCPSocketWrap', 'TCPServerWrap', 'Timeout']) {
      assert.equal(now[type] ?? 0, resourcesBefore[type] ?? 0, `active ${type} resources back to where they were`)
    }
  })
})

async function waitLate(store: FaultyStore): Promise<boolean> {
  for (let i = 0; i < 100 && store.lateDue > 0; i++) await sleep(10)
  return store.lateDue === 0
}
