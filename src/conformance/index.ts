/**
 * `express-session/conformance`: the session store conformance kit.
 *
 * {@link runStoreConformance} registers tests of the store contract that express-session relies on, for
 * a store you create: `get`, `set` and `destroy` (required), expiry, "not found" (including an `ENOENT`
 * error), both calling conventions (callbacks and promises, through the same adapter the middleware
 * uses), concurrent calls, the round trip of nested data and Dates, loading into a `Session`, and the
 * optional `touch`, `all`, `length` and `clear`, which are tested when present and reported.
 *
 * It runs under node's test runner (the default) or mocha (pass mocha's `describe`, `it`, `before` and
 * `after`). `node:test` is loaded only when no test functions are passed.
 *
 * ```ts
 * import { runStoreConformance } from 'express-session/conformance'
 * import { MyStore } from '../src/my-store'
 *
 * runStoreConformance({
 *   name: 'my-store',
 *   createStore: () => new MyStore({ url: process.env.MY_URL }),
 *   teardown: (store) => store.close(),
 * })
 * ```
 *
 * The kit writes, reads and (when the store has `clear`) clears sessions: run it against a dedicated
 * database, key prefix or directory.
 *
 * @packageDocumentation
 */

import { Cookie } from '../core/cookie.js'
import { Session } from '../core/session.js'
import { OWNER_KEY } from '../core/owner.js'
import { Store, type SessionChanges } from '../core/store.js'
import { callStore, type StoreMethod } from '../lib/store-call.js'

// ---------------------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------------------

/** A callback as stores receive it: an error first, then the result. */
export type StoreCallback<T = unknown> = (err?: unknown, result?: T) => void

/**
 * The shape of a session store as the kit (and the middleware) sees it. Any `express-session` store
 * satisfies it: methods may call back (synchronously or later) and/or return a promise.
 */
export interface ConformanceStore {
  /** Calls back with the stored session, or with nothing (or an `ENOENT` error) when there is none. */
  get(sid: string, callback: StoreCallback): unknown
  /** Stores `session` (a live `Session`, whose `cookie` is a `Cookie`) under `sid`. */
  set(sid: string, session: object, callback: StoreCallback): unknown
  /** Removes the session `sid`; removing an unknown ID is not an error. */
  destroy(sid: string, callback: StoreCallback): unknown
  /** Optional: extends the lifetime of `sid` to its `session.cookie.expires`, keeping its data. */
  touch?(sid: string, session: object, callback: StoreCallback): unknown
  /** Optional: all sessions, as an object keyed by session ID or as an array. */
  all?(callback: StoreCallback): unknown
  /** Optional: the number of stored sessions. */
  length?(callback: StoreCallback<number>): unknown
  /** Optional: removes every session. */
  clear?(callback: StoreCallback): unknown
  /** Optional: applies a change set atomically to `sid`; calls back whether it existed, never recreating it. */
  patch?(sid: string, changes: SessionChanges, callback: StoreCallback<boolean>): unknown
  /** Optional, with `destroyOwner`: up to `options.limit` live sessions `{ id, session }` whose `__sessionOwner` is `owner`. */
  sessionsOf?(owner: string, options: { limit: number }, callback: StoreCallback<unknown[]>): unknown
  /** Optional, with `sessionsOf`: destroys the sessions of `owner` but `options.except`; calls back how many. */
  destroyOwner?(owner: string, options: { except?: string }, callback: StoreCallback<number>): unknown
}

/** The optional store methods; the kit tests each one that is present and reports it. */
export type OptionalMethod = 'touch' | 'all' | 'length' | 'clear' | 'patch' | 'sessionsOf'

/** Identifier of one check of the kit. */
export type ConformanceCheckId =
  | 'get-missing'
  | 'set-get'
  | 'overwrite'
  | 'destroy'
  | 'round-trip'
  | 'load'
  | 'conventions'
  | 'concurrency'
  | 'expiry'
  | OptionalMethod

/**
 * Outcome of a check:
 * - `pass` / `fail`: ran and passed / failed;
 * - `known-issue`: listed in `knownIssues`, ran and failed as expected (not counted as a failure);
 * - `absent`: an optional method the store does not have;
 * - `disabled`: turned off in the options (`capabilities`, `expiry: false`);
 * - `not-run`: the test runner has not run it (yet), e.g. it was filtered out.
 */
export type CheckStatus = 'pass' | 'fail' | 'known-issue' | 'absent' | 'disabled' | 'not-run'

/** The result of one check. */
export interface CheckResult {
  readonly id: ConformanceCheckId
  /** What the check verifies, as the test is named. */
  readonly title: string
  /** Whether every store must pass it. */
  readonly required: boolean
  status: CheckStatus
  /** What was observed (e.g. "Dates come back as ISO strings"). */
  detail?: string
  /** The failure message, for `fail` and `known-issue`. */
  error?: string
  /** How long the check took. */
  durationMs?: number
}

/** How the store answers calls, observed by the `conventions` check. */
export interface CallingConventions {
  /** The store calls the callback it is given. */
  callback: boolean
  /**
   * The store returns a promise (thenable); `'result'` if `get` called without a callback resolves with the
   * session, `'no-result'` if its promises resolve without it (use the callback).
   */
  promise: false | 'result' | 'no-result'
  /** The store called a callback synchronously (before the method returned); allowed, but worth knowing. */
  synchronousCallback: boolean
  /** The store called a callback more than once (a bug the middleware tolerates). */
  repeatedCallback: boolean
}

/** Facts about the store gathered while checking, for the report. */
export interface ConformanceObservations {
  /** What `get` of an unknown ID gave: `null`/`undefined`, or an error with code `ENOENT`. */
  notFound?: 'empty' | 'ENOENT'
  /** How a `Date` in session data comes back from `get`. */
  dates?: 'Date' | 'ISO string' | 'other'
  /** The calling conventions the store uses. */
  conventions?: CallingConventions
  /** The shape `all` calls back with. */
  allShape?: 'object keyed by ID' | 'array'
  /** What `touch` of an unknown ID did. */
  touchUnknown?: 'ignored' | 'error' | 'created a session'
}

/** The report of one conformance run; filled in as the tests run, complete once the suite has finished. */
export interface StoreConformanceReport {
  /** The `name` given to {@link runStoreConformance}. */
  readonly name: string
  /** Every check by ID, in the order they run. */
  readonly checks: { readonly [K in ConformanceCheckId]: CheckResult }
  readonly observations: ConformanceObservations
  /** Present optional methods, whether each passed (`true`), failed (`false`) or was not run (`undefined`). */
  optional(): Partial<Record<OptionalMethod, boolean | undefined>>
  /** Whether every required check passed. */
  requiredPassed(): boolean
  /** A few lines summarising the run, for logs and READMEs. */
  summary(): string
  /** The report as plain data (`JSON.stringify(report)`), e.g. to keep it as a CI artifact. */
  toJSON(): object
}

/** A test or hook body: returns a promise; takes no declared parameters (so mocha does not wait for `done`). */
export type ConformanceTestBody = (this: unknown, ...args: unknown[]) => Promise<void>

/**
 * The test functions the kit registers its tests with. node's `node:test` (`describe`, `it`, `before`,
 * `after`) and mocha's globals both fit.
 */
export interface TestFunctions {
  describe(name: string, fn: () => void): unknown
  it(name: string, fn: ConformanceTestBody): unknown
  before(fn: ConformanceTestBody): unknown
  after(fn: ConformanceTestBody): unknown
}

/** Settings of the expiry check. */
export interface ExpiryOptions {
  /** `cookie.maxAge` of the session that must expire, in ms. Default 2000 (stores that count in whole seconds need ≥ 2000). */
  maxAgeMs?: number
  /** How long after the cookie's expiry the session may still be returned, in ms. Default 2500. */
  graceMs?: number
  /** Run the store's own expiry mechanism (a prune/reap method) before each look; for stores that only expire that way. */
  prune?: (store: ConformanceStore) => void | Promise<void>
}

/** Options of {@link runStoreConformance}. */
export interface StoreConformanceOptions<S extends ConformanceStore = ConformanceStore> {
  /** Name of the store (and version), used in the suite name and the report. */
  name: string
  /** Creates the store under test; called once, before the checks. */
  createStore: () => S | Promise<S>
  /** Closes the store (connections, timers) after the checks, so the process can exit. */
  teardown?: (store: S) => void | Promise<void>
  /** Test functions to register with. Default: `node:test`'s, loaded on first use. */
  test?: TestFunctions
  /**
   * Optional methods to leave untested (`false`: reported as `disabled`), or to require (`true`: fails
   * when absent). Unlisted ones are tested when the store has them.
   */
  capabilities?: Partial<Record<OptionalMethod, boolean>>
  /**
   * Checks expected to fail, with the reason. They still run; a failure is reported as `known-issue`
   * (node:test marks the test TODO) and a pass as `pass`, so a fixed issue shows up.
   */
  knownIssues?: Partial<Record<ConformanceCheckId, string>>
  /** Settings of the expiry check, or `false` to skip it (a store that never expires sessions). */
  expiry?: ExpiryOptions | false
  /** Shorthand for `expiry.maxAgeMs`. */
  expiryMs?: number
  /** Parallel calls in the concurrency check. Default 50. */
  concurrency?: number
  /** Milliseconds a single store call may take before it fails the check. Default 10000. */
  callTimeoutMs?: number
  /** Prefix of the session IDs the kit writes. Default `'conformance-'`. */
  idPrefix?: string
  /** Called with the complete report once the suite has finished. */
  onReport?: (report: StoreConformanceReport) => void
  /**
   * Where the `report` test prints the summary when the runner has no per-test diagnostics (mocha).
   * Default `console.log`. Under node:test the summary is a diagnostic of the `report` test.
   */
  log?: (summary: string) => void
}

// ---------------------------------------------------------------------------------------------------------------
// Test framework glue
// ---------------------------------------------------------------------------------------------------------------

/** node:test's functions, loaded lazily so that requiring this module under mocha never loads node:test. */
function nodeTestFunctions(): TestFunctions {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when used (mocha users never load node:test)
  const nodeTest = require('node:test') as typeof import('node:test')
  return { describe: nodeTest.describe, it: nodeTest.it, before: nodeTest.before, after: nodeTest.after }
}

/** What a running test offers, whichever framework runs it. */
interface RunningTest {
  /** Marks the test skipped with a reason (mocha's skip throws, so call it last). */
  readonly skip: (reason: string) => void
  /** Marks a known failure (node: TODO; mocha: nothing to mark). */
  readonly todo: (reason: string) => void
  /** Prints a line under the test (node: diagnostic; mocha: nothing, the report has it). */
  readonly note: (line: string) => void
}

interface NodeTestContextLike {
  skip(message?: string): void
  todo(message?: string): void
  diagnostic(message: string): void
}

interface MochaContextLike {
  skip(): void
  timeout(ms: number): void
}

function hasMethods<K extends string>(value: unknown, ...names: K[]): value is Record<K, (...args: never[]) => unknown> {
  return typeof value === 'object' && value !== null &&
    names.every((name) => typeof (value as Record<string, unknown>)[name] === 'function')
}

function runningTest(self: unknown, args: unknown[], timeoutMs: number): RunningTest {
  const nodeContext = args[0]
  if (hasMethods(nodeContext, 'skip', 'todo', 'diagnostic')) {
    const t = nodeContext as NodeTestContextLike
    return { skip: (r) => t.skip(r), todo: (r) => t.todo(r), note: (l) => t.diagnostic(l) }
  }
  if (hasMethods(self, 'skip', 'timeout')) {
    const mocha = self as MochaContextLike
    mocha.timeout(timeoutMs)
    return { skip: () => mocha.skip(), todo: () => undefined, note: () => undefined }
  }
  return { skip: () => undefined, todo: () => undefined, note: () => undefined }
}

// ---------------------------------------------------------------------------------------------------------------
// Store calls
// ---------------------------------------------------------------------------------------------------------------

interface CallOutcome<T> {
  err: Error | null
  value: T | undefined
}

/** Calls a store method through the middleware's store adapter (callbacks, promises, sync, repeated callbacks). */
function call<T>(store: ConformanceStore, method: StoreMethod, args: unknown[], timeoutMs: number): Promise<CallOutcome<T>> {
  return new Promise((resolve) => {
    // the adapter's timeout timer does not keep the process alive; while waiting for a store, this one does
    const keepAlive = setTimeout(() => undefined, timeoutMs + 1000)
    callStore<T>(store, method, args, timeoutMs, (err, value) => {
      clearTimeout(keepAlive)
      resolve({ err, value })
    })
  })
}

/** Like {@link call}, failing on an error. */
async function expectOk<T>(store: ConformanceStore, method: StoreMethod, args: unknown[], timeoutMs: number): Promise<T | undefined> {
  const { err, value } = await call<T>(store, method, args, timeoutMs)
  if (err) throw new ConformanceError(`store.${method}() failed: ${err.message}`)
  return value
}

function isNotFoundError(err: Error | null): boolean {
  return err !== null && (err as Error & { code?: unknown }).code === 'ENOENT'
}

class ConformanceError extends Error {
  override name = 'ConformanceError'
}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ConformanceError(message)
}

/** The expiry (ms) of a session the kit made, which always has one. */
function expiresAt(sess: { cookie: { expires?: Date | null | boolean } }): number {
  const expires = sess.cookie.expires
  check(expires instanceof Date, 'the session made for the check has no cookie expiry')
  return expires.getTime()
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** How `promise` settles, or undefined if it does not within `ms`. */
function settleWithin(promise: PromiseLike<unknown>, ms: number): Promise<{ err: unknown; value: unknown } | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms, undefined)
    Promise.resolve(promise).then(
      (value) => {
        clearTimeout(timer)
        resolve({ err: null, value })
      },
      (err: unknown) => {
        clearTimeout(timer)
        resolve({ err, value: undefined })
      },
    )
  })
}

type Data = Record<string, unknown>

function isRecord(value: unknown): value is Data {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Whether two JSON-like values are equal (Dates compared by time). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime()
  }
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => sameValue(item, b[i]))
  }
  if (isRecord(a)) {
    if (!isRecord(b)) return false
    const keys = Object.keys(a)
    return keys.length === Object.keys(b).length && keys.every((key) => sameValue(a[key], b[key]))
  }
  return Object.is(a, b)
}

/** A short printable form of a value for messages. */
function show(value: unknown): string {
  let text: string
  try {
    // undefined for undefined, functions and symbols, whatever its declared type says
    const json = JSON.stringify(value) as unknown
    text = typeof json === 'string' ? json : String(value)
  } catch {
    text = String(value)
  }
  return text.length > 160 ? `${text.slice(0, 157)}...` : text
}

/** Milliseconds since the epoch of a stored `expires` (a Date or a string), or undefined. */
function timeOf(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime()
  if (typeof value === 'string' || typeof value === 'number') {
    const time = new Date(value).getTime()
    return Number.isNaN(time) ? undefined : time
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------------------------

const TITLES: { readonly [K in ConformanceCheckId]: string } = {
  'get-missing': 'get of an unknown ID gives no session (nothing, or an ENOENT error)',
  'set-get': 'set then get returns the session and its cookie',
  'overwrite': 'set replaces a stored session',
  'destroy': 'destroy removes a session; destroying an unknown ID is not an error',
  'round-trip': 'nested data, unicode and Dates survive the round trip',
  'load': 'a stored session loads into a Session through Store.prototype.load',
  'conventions': 'calls complete by callback or promise, through the store adapter',
  'concurrency': 'parallel sets, gets and destroys stay consistent',
  'expiry': 'a session with a short cookie maxAge disappears after it lapses',
  'touch': 'touch (optional) extends the lifetime and keeps the data',
  'all': 'all (optional) lists the stored sessions',
  'length': 'length (optional) counts the stored sessions',
  'clear': 'clear (optional) removes every session',
  'patch': 'patch (optional) applies changes atomically, never recreating a session that is gone',
  'sessionsOf': 'the owner index (optional: sessionsOf and destroyOwner) lists and destroys exactly the sessions of one owner',
}

const REQUIRED: readonly ConformanceCheckId[] = [
  'get-missing', 'set-get', 'overwrite', 'destroy', 'round-trip', 'load', 'conventions', 'concurrency', 'expiry',
]
const OPTIONAL: readonly OptionalMethod[] = ['touch', 'all', 'length', 'clear', 'patch', 'sessionsOf']

/** The Date used in round-trip data. */
const SAMPLE_DATE = new Date('2001-02-03T04:05:06.789Z')

function sampleData(marker: string): Data {
  return {
    marker,
    count: 42,
    ratio: 0.25,
    negative: -7,
    flag: true,
    off: false,
    nothing: null,
    empty: '',
    text: 'Zoë, 名前, emoji 🚀, quote " and backslash \\',
    user: { name: 'ada', roles: ['admin', 'editor'], prefs: { theme: 'dark', size: 3, nested: { deep: [1, [2, 3]] } } },
    list: [1, 'two', { three: 3 }, [4]],
    when: new Date(SAMPLE_DATE.getTime()),
  }
}

/** Resolved settings of the expiry check. */
interface ExpirySettings {
  maxAgeMs: number
  graceMs: number
  prune: ExpiryOptions['prune']
}

/** Shared state of one run. */
class Run {
  store: ConformanceStore | undefined
  counter = 0
  readonly runId = Math.random().toString(36).slice(2, 10)
  /** Whether the expiry check also touches a session for the touch check. */
  touch = false
  /** Whether the length check passed (then the clear check also looks at length). */
  lengthWorks = false
  /** Results of the expiry phase that the touch check reads. */
  touchedSurvived: { sid: string; survived: boolean; dataKept: boolean; detail: string } | undefined

  constructor(
    readonly prefix: string,
    readonly timeoutMs: number,
    readonly concurrency: number,
    readonly expiry: ExpirySettings | undefined,
  ) {}

  get s(): ConformanceStore {
    check(this.store, 'the store was not created (createStore failed or the before hook did not run)')
    return this.store
  }

  /** A new session ID, unique to this run. */
  sid(label: string): string {
    return `${this.prefix}${this.runId}-${label}-${++this.counter}`
  }

  /** A live Session as the middleware passes it to `set`: a `Cookie` with `maxAge` (ms, or null: browser session). */
  session(sid: string, data: Data, maxAgeMs: number | null = 60_000): Session {
    const req = { sessionID: sid, sessionStore: this.store }
    const sess = new Session(req, data)
    sess.cookie = new Cookie(maxAgeMs === null ? {} : { maxAge: maxAgeMs })
    return sess
  }

  set(sid: string, sess: object): Promise<unknown> {
    return expectOk(this.s, 'set', [sid, sess], this.timeoutMs)
  }

  /** The stored session, or undefined when not found (nothing, or ENOENT). */
  async get(sid: string): Promise<Data | undefined> {
    const { err, value } = await call<unknown>(this.s, 'get', [sid], this.timeoutMs)
    if (err && !isNotFoundError(err)) throw new ConformanceError(`store.get() failed: ${err.message}`)
    if (err || value == null) return undefined
    check(isRecord(value), `store.get() called back with ${show(value)}, not a session object`)
    return value
  }

  destroy(sid: string): Promise<unknown> {
    return expectOk(this.s, 'destroy', [sid], this.timeoutMs)
  }
}

/** `Store.prototype.load` on the store, as a promise that fails after the call timeout. */
function load(run: Run, sid: string): Promise<Session | undefined> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new ConformanceError(`Store.prototype.load did not answer within ${run.timeoutMs} ms`))
    }, run.timeoutMs)
    Store.prototype.load.call(run.s as unknown as Store, sid, (err?: unknown, loaded?: Session) => {
      clearTimeout(timer)
      if (err) {
        const error = new ConformanceError(`Store.prototype.load failed: ${err instanceof Error ? err.message : show(err)}`)
        ;(error as { cause?: unknown }).cause = err
        reject(error)
      } else {
        resolve(loaded)
      }
    })
  })
}

type CheckBody = (run: Run, report: ReportImpl, note: (line: string) => void) => Promise<string | undefined>

const checks: { readonly [K in ConformanceCheckId]: CheckBody } = {
  async 'get-missing'(run, report) {
    const { err, value } = await call<unknown>(run.s, 'get', [run.sid('missing')], run.timeoutMs)
    if (err) {
      check(isNotFoundError(err), `store.get() of an unknown ID failed: ${err.message} (only code 'ENOENT' means "not found")`)
      report.observations.notFound = 'ENOENT'
      return 'unknown ID: an ENOENT error (accepted as "not found")'
    }
    check(value == null, `store.get() of an unknown ID called back with ${show(value)}; expected nothing`)
    report.observations.notFound = 'empty'
    return `unknown ID: ${value === null ? 'null' : 'undefined'}`
  },

  async 'set-get'(run) {
    const sid = run.sid('set-get')
    const sess = run.session(sid, { marker: sid, count: 1, name: 'ada' })
    const expires = expiresAt(sess)
    await run.set(sid, sess)
    const stored = await run.get(sid)
    check(stored, 'store.get() found nothing right after store.set()')
    check(stored.marker === sid && stored.count === 1 && stored.name === 'ada',
      `store.get() returned other data than was set: ${show(stored)}`)
    const cookie = stored.cookie
    check(isRecord(cookie), `the stored session has no cookie object: ${show(stored)}`)
    check(cookie.originalMaxAge === 60_000, `cookie.originalMaxAge came back as ${show(cookie.originalMaxAge)}, expected 60000`)
    check(timeOf(cookie.expires) === expires,
      `cookie.expires came back as ${show(cookie.expires)}, expected ${new Date(expires).toISOString()}`)
    check(cookie.path === '/' && cookie.httpOnly === true, `cookie.path/httpOnly came back as ${show(cookie)}`)
    await run.destroy(sid)
    return undefined
  },

  async overwrite(run) {
    const sid = run.sid('overwrite')
    await run.set(sid, run.session(sid, { marker: sid, count: 1, removed: 'yes' }))
    await run.set(sid, run.session(sid, { marker: sid, count: 2 }))
    const stored = await run.get(sid)
    check(stored, 'store.get() found nothing after a second store.set()')
    check(stored.count === 2, `store.get() returned count ${show(stored.count)} after it was set to 2`)
    check(!('removed' in stored), 'a key absent from the second store.set() is still there: set must replace the session')
    await run.destroy(sid)
    return undefined
  },

  async destroy(run) {
    const sid = run.sid('destroy')
    await run.set(sid, run.session(sid, { marker: sid }))
    check(await run.get(sid), 'store.get() found nothing right after store.set()')
    await run.destroy(sid)
    check((await run.get(sid)) === undefined, 'store.get() still finds the session after store.destroy()')
    const { err } = await call(run.s, 'destroy', [run.sid('never-stored')], run.timeoutMs)
    check(err === null, `store.destroy() of an unknown ID failed: ${err?.message} (regenerate() and destroy() of unsaved sessions do this)`)
    return undefined
  },

  async 'round-trip'(run, report) {
    const sid = run.sid('round-trip')
    const data = sampleData(sid)
    await run.set(sid, run.session(sid, data))
    const stored = await run.get(sid)
    check(stored, 'store.get() found nothing right after store.set()')
    for (const key of Object.keys(data)) {
      if (key === 'when') continue
      check(sameValue(stored[key], data[key]), `${key} came back as ${show(stored[key])}, expected ${show(data[key])}`)
    }
    const when = stored.when
    let dates: NonNullable<ConformanceObservations['dates']>
    if (when instanceof Date) {
      check(when.getTime() === SAMPLE_DATE.getTime(), `a Date came back as ${when.toISOString()}, expected ${SAMPLE_DATE.toISOString()}`)
      dates = 'Date'
    } else if (when === SAMPLE_DATE.toISOString()) {
      dates = 'ISO string'
    } else {
      check(timeOf(when) === SAMPLE_DATE.getTime(), `a Date came back as ${show(when)}: neither a Date nor its ISO string`)
      dates = 'other'
    }
    report.observations.dates = dates
    await run.destroy(sid)
    return `Dates come back as ${dates === 'Date' ? 'Dates' : dates === 'ISO string' ? 'ISO strings (JSON)' : show(when)}`
  },

  async load(run) {
    const sid = run.sid('load')
    const sess = run.session(sid, { marker: sid, count: 7 })
    const expires = expiresAt(sess)
    check(typeof (run.s as { createSession?: unknown }).createSession === 'function',
      "the store has no createSession(): it must inherit from express-session's Store " +
      '(class MyStore extends session.Store, or util.inherits(MyStore, session.Store))')
    await run.set(sid, sess)
    const loaded = await load(run, sid)
    check(loaded instanceof Session, `Store.prototype.load gave ${show(loaded)}, not a Session`)
    check(loaded.id === sid, `the loaded Session has id ${show(loaded.id)}, expected ${sid}`)
    const data = loaded as unknown as Record<string, unknown>
    check(data.marker === sid && data.count === 7, `the loaded Session has other data: ${show(loaded)}`)
    check(loaded.cookie instanceof Cookie, 'the loaded Session has no Cookie')
    check(loaded.cookie.expires instanceof Date && loaded.cookie.expires.getTime() === expires,
      `the loaded cookie expires ${show(loaded.cookie.expires)}, expected ${new Date(expires).toISOString()}`)
    check(loaded.cookie.originalMaxAge === 60_000, `the loaded cookie has originalMaxAge ${show(loaded.cookie.originalMaxAge)}`)
    await run.destroy(sid)
    let missing: Session | undefined
    try {
      missing = await load(run, run.sid('load-missing'))
    } catch (err) {
      if (!isNotFoundError((err as { cause?: Error }).cause ?? null)) throw err
    }
    check(missing === undefined, `Store.prototype.load of an unknown ID gave ${show(missing)}; expected nothing`)
    return undefined
  },

  async conventions(run, report) {
    const sid = run.sid('conventions')
    const sess = run.session(sid, { marker: sid })
    const conventions: CallingConventions = { callback: false, promise: false, synchronousCallback: false, repeatedCallback: false }
    const observe = async (method: 'set' | 'get' | 'destroy', args: unknown[]): Promise<unknown> => {
      let calls = 0
      let returned = false
      let result: { err: unknown; value: unknown } | undefined
      const callback = (err?: unknown, value?: unknown): void => {
        calls++
        if (!returned) conventions.synchronousCallback = true
        result ??= { err, value }
      }
      const fn = (run.s as unknown as Record<string, (...a: unknown[]) => unknown>)[method]
      const out = fn.apply(run.s, [...args, callback])
      returned = true
      let promised: { err: unknown; value: unknown } | undefined
      if (typeof (out as PromiseLike<unknown> | undefined)?.then === 'function') {
        promised = await settleWithin(out as PromiseLike<unknown>, run.timeoutMs)
        check(promised, `store.${method}() returned a promise that did not settle within ${run.timeoutMs} ms`)
      }
      const deadline = Date.now() + (promised ? 50 : run.timeoutMs)
      while (calls === 0 && Date.now() < deadline) await sleep(5)
      await sleep(20) // time for a repeated callback to show
      if (calls > 0) conventions.callback = true
      if (calls > 1) conventions.repeatedCallback = true
      if (promised && method === 'get') {
        let value = promised.value
        if (!(isRecord(value) && value.marker === sid)) {
          // It returns a promise when given a callback; called without one (safe for a promise-aware store),
          // does its promise give the session?
          const bare = settleWithin(fn.apply(run.s, [sid]) as PromiseLike<unknown>, run.timeoutMs)
          value = (await bare)?.value
        }
        conventions.promise = isRecord(value) && value.marker === sid ? 'result' : 'no-result'
      } else if (promised && conventions.promise === false) {
        conventions.promise = 'no-result'
      }
      const outcome = result ?? promised
      check(outcome, `store.${method}() neither called back nor returned a promise within ${run.timeoutMs} ms`)
      check(!outcome.err, `store.${method}() failed: ${outcome.err instanceof Error ? outcome.err.message : show(outcome.err)}`)
      return outcome.value
    }
    await observe('set', [sid, sess])
    await observe('get', [sid])
    await observe('destroy', [sid])
    report.observations.conventions = conventions
    check((await run.get(sid)) === undefined, 'the session is still there after destroy')
    return describeConventions(conventions)
  },

  async concurrency(run) {
    const n = run.concurrency
    const sids = Array.from({ length: n }, (_, i) => run.sid(`parallel${i}`))
    await Promise.all(sids.map((sid, i) => run.set(sid, run.session(sid, { marker: sid, n: i }))))
    const got = await Promise.all(sids.map((sid) => run.get(sid)))
    got.forEach((stored, i) => {
      check(stored, `parallel get ${i} of ${n} found nothing`)
      check(stored.marker === sids[i] && stored.n === i, `parallel get ${i} returned another session's data: ${show(stored)}`)
    })
    // many writers of one session: the last write wins, nothing is corrupted
    const shared = run.sid('shared')
    const writers = Math.min(n, 20)
    await Promise.all(Array.from({ length: writers }, (_, i) => run.set(shared, run.session(shared, { marker: shared, n: i }))))
    const last = await run.get(shared)
    check(last && last.marker === shared && typeof last.n === 'number' && last.n >= 0 && last.n < writers,
      `after ${writers} parallel sets of one ID, get returned ${show(last)}`)
    // interleaved reads and writes of distinct IDs
    await Promise.all(sids.map(async (sid, i) => {
      await run.set(sid, run.session(sid, { marker: sid, n: i + 1000 }))
      const stored = await run.get(sid)
      check(stored?.n === i + 1000, `a get right after its own set returned ${show(stored)}`)
    }))
    await Promise.all([...sids, shared].map((sid) => run.destroy(sid)))
    const after = await Promise.all(sids.map((sid) => run.get(sid)))
    check(after.every((stored) => stored === undefined), 'sessions are still there after parallel destroys')
    return `${n} parallel calls of each kind`
  },

  async expiry(run, _report, note) {
    check(run.expiry !== undefined, 'the expiry check ran without its settings')
    const { maxAgeMs, graceMs, prune } = run.expiry
    const sid = run.sid('expiry')
    const sess = run.session(sid, { marker: sid }, maxAgeMs)
    const expires = expiresAt(sess)
    // a second session, touched to a long lifetime, for the touch check
    const touched = run.touch ? run.sid('expiry-touched') : undefined
    const started = Date.now()
    await run.set(sid, sess)
    // when the touched session's own short lifetime ends (later than sid's, by the time the calls took)
    let touchedExpires = expires
    if (touched) {
      const short = run.session(touched, { marker: touched, count: 5 }, maxAgeMs)
      touchedExpires = expiresAt(short)
      await run.set(touched, short)
      const { err } = await call(run.s, 'touch', [touched, run.session(touched, { marker: touched, count: 5 }, 60_000)], run.timeoutMs)
      if (err) note(`touch failed: ${err.message}`)
    }
    const presentAfterSet = (await run.get(sid)) !== undefined
    await sleep(Math.max(0, expires - Date.now()))
    const deadline = expires + graceMs
    let gone = false
    for (;;) {
      if (prune) await prune(run.s)
      if ((await run.get(sid)) === undefined) {
        gone = true
        break
      }
      if (Date.now() > deadline) break
      await sleep(100)
    }
    if (touched) {
      // looked at no sooner after its own expiry than sid was found gone after sid's
      if (gone) {
        await sleep(Math.max(0, touchedExpires - expires) + 20)
        if (prune) await prune(run.s)
      }
      const stored = await run.get(touched)
      run.touchedSurvived = {
        sid: touched,
        survived: stored !== undefined,
        dataKept: stored?.count === 5,
        detail: stored === undefined ? 'gone' : show(stored),
      }
      await run.destroy(touched)
    }
    // checked after the touch observation is recorded, so that the touch check has it either way
    check(presentAfterSet, `the session is gone right after store.set() with cookie.maxAge ${maxAgeMs} (expired too early)`)
    check(gone, `the session is still returned ${graceMs} ms after its cookie expired` +
      (prune ? '' : ' (if the store expires only by pruning, pass expiry.prune)'))
    return `gone ${Date.now() - started - maxAgeMs} ms after a ${maxAgeMs} ms maxAge lapsed` + (prune ? ' (with prune)' : '')
  },

  async touch(run, report) {
    const survived = run.touchedSurvived
    if (survived) {
      check(survived.survived, 'a session touched to a 60 s lifetime expired with its original short one: touch does not extend it')
      check(survived.dataKept, `touch changed the session data: ${survived.detail}`)
    } else {
      const sid = run.sid('touch')
      await run.set(sid, run.session(sid, { marker: sid, count: 5 }))
      await expectOk(run.s, 'touch', [sid, run.session(sid, { marker: sid, count: 5 }, 120_000)], run.timeoutMs)
      const stored = await run.get(sid)
      check(stored?.count === 5, `after touch, get returned ${show(stored)}`)
      await run.destroy(sid)
    }
    const unknown = run.sid('touch-unknown')
    const { err } = await call(run.s, 'touch', [unknown, run.session(unknown, { marker: unknown })], run.timeoutMs)
    const created = (await run.get(unknown)) !== undefined
    report.observations.touchUnknown = created ? 'created a session' : err ? 'error' : 'ignored'
    if (created) await run.destroy(unknown)
    check(!created, 'touch of an unknown (destroyed or expired) ID created a session')
    return `touch of an unknown ID: ${report.observations.touchUnknown}${err ? ` (${err.message})` : ''}`
  },

  async patch(run) {
    const patch = (sid: string, changes: SessionChanges): Promise<unknown> => expectOk<unknown>(run.s, 'patch', [sid, changes], run.timeoutMs)
    const sid = run.sid('patch')
    const control = run.sid('patch-control')
    const newWhen = new Date(SAMPLE_DATE.getTime() + 1000)
    await run.set(sid, run.session(sid, sampleData(sid)))
    await run.set(control, run.session(control, { ...sampleData(sid), when: new Date(newWhen.getTime()) }))
    const before = await run.get(sid)
    check(before, 'the session stored for the check is missing')
    const cookie = new Cookie({ maxAge: 120_000 })
    const existed = await patch(sid, {
      set: { count: 43, when: newWhen, added: { list: [1, { two: 2 }] } }, unset: ['flag', 'nothing'], cookie, cookieChanged: true,
    })
    check(existed === true, `patch of a stored session called back with ${show(existed)}, not true`)
    const after = await run.get(sid)
    const reference = await run.get(control)
    check(after, 'the session is gone after patch')
    check(reference, 'the control session is missing')
    check(after.count === 43 && sameValue(after.added, { list: [1, { two: 2 }] }), `patched keys not set: ${show(after)}`)
    check(!('flag' in after) && !('nothing' in after), `unset keys still stored: ${show(after)}`)
    check(sameValue(after.when, reference.when), `a Date set by patch comes back as ${show(after.when)}, set stores ${show(reference.when)}`)
    for (const key of ['marker', 'ratio', 'negative', 'off', 'empty', 'text', 'user', 'list']) {
      check(sameValue(after[key], before[key]), `patch changed the untouched key ${key}: ${show(before[key])} became ${show(after[key])}`)
    }
    const storedExpiry = timeOf(isRecord(after.cookie) ? after.cookie.expires : undefined)
    check(storedExpiry !== undefined && Math.abs(storedExpiry - expiresAt(run.session(sid, {}, 120_000))) < 60_000,
      `patch did not store the new cookie: ${show(after.cookie)}`)

    // parallel patches of different keys: none lost
    const keys = Array.from({ length: Math.min(run.concurrency, 20) }, (_, i) => `k${i}`)
    await Promise.all(keys.map((key) => patch(sid, { set: { [key]: true }, unset: [], cookie, cookieChanged: false })))
    const merged = await run.get(sid)
    const lost = keys.filter((key) => merged?.[key] !== true)
    check(lost.length === 0, `parallel patches lost ${lost.length} of ${keys.length} keys (${lost.join(', ')})`)

    // a session that is gone stays gone
    await run.destroy(sid)
    await run.destroy(control)
    const unknown = run.sid('patch-unknown')
    for (const missing of [sid, unknown]) {
      const answer = await patch(missing, { set: { count: 1 }, unset: [], cookie, cookieChanged: true })
      check(answer === false, `patch of a ${missing === sid ? 'destroyed' : 'never stored'} session called back with ${show(answer)}, not false`)
      const recreated = await run.get(missing)
      if (recreated !== undefined) await run.destroy(missing)
      check(recreated === undefined, `patch of a ${missing === sid ? 'destroyed' : 'never stored'} session recreated it`)
    }
    return `${keys.length} parallel patches kept every key; a patch of a missing session calls back false`
  },

  async sessionsOf(run) {
    check(typeof run.s.destroyOwner === 'function', 'the store has sessionsOf() but no destroyOwner(): an owner index needs both')
    const owners = { a: `${run.runId}-owner-a`, b: `${run.runId}-owner-b`, c: `${run.runId}-owner-c` }
    const listed = async (owner: string, limit = 100): Promise<string[]> => {
      const value = await expectOk<unknown>(run.s, 'sessionsOf', [owner, { limit }], run.timeoutMs)
      check(Array.isArray(value), `store.sessionsOf() called back with ${show(value)}, not an array`)
      return value.map((entry: unknown) => {
        check(isRecord(entry) && typeof entry.id === 'string' && isRecord(entry.session),
          `store.sessionsOf() listed ${show(entry)}, not { id, session }`)
        check(entry.session[OWNER_KEY] === owner, `store.sessionsOf(${show(owner)}) listed a session of ${show(entry.session[OWNER_KEY])}`)
        return entry.id
      }).sort()
    }
    const same = (got: string[], expected: string[], what: string): void => {
      check(sameValue(got, [...expected].sort()), `${what}: listed ${show(got)}, expected ${show([...expected].sort())}`)
    }
    const owned = (sid: string, owner: string | undefined, maxAgeMs?: number): Promise<unknown> =>
      run.set(sid, run.session(sid, owner === undefined ? { marker: sid } : { marker: sid, [OWNER_KEY]: owner }, maxAgeMs))
    const [a1, a2, b1, c1, none] = ['a1', 'a2', 'b1', 'c1', 'none'].map((label) => run.sid(`owner-${label}`))
    await Promise.all([owned(a1, owners.a), owned(a2, owners.a), owned(b1, owners.b), owned(c1, owners.c), owned(none, undefined)])
    same(await listed(owners.a), [a1, a2], 'two sessions of one owner')
    check((await listed(owners.a, 1)).length === 1, 'store.sessionsOf() with limit 1 listed more than one session')

    // a new owner moves the session; no owner takes it out; destroy removes it
    await owned(a2, owners.b)
    same(await listed(owners.a), [a1], 'after a session moved to another owner, the old owner')
    same(await listed(owners.b), [b1, a2], 'after a session moved to another owner, the new owner')
    if (typeof run.s.patch === 'function') {
      const cookie = new Cookie({ maxAge: 60_000 })
      await expectOk(run.s, 'patch', [b1, { set: {}, unset: [OWNER_KEY], cookie, cookieChanged: false }], run.timeoutMs)
      same(await listed(owners.b), [a2], 'after a patch removed the owner')
      await expectOk(run.s, 'patch', [b1, { set: { [OWNER_KEY]: owners.b }, unset: [], cookie, cookieChanged: false }], run.timeoutMs)
      same(await listed(owners.b), [b1, a2], 'after a patch set the owner')
    }
    await run.destroy(a1)
    same(await listed(owners.a), [], 'after destroy')

    // destroyOwner keeps `except` and leaves other owners alone
    const b2 = run.sid('owner-b2')
    await owned(b2, owners.b)
    const destroyed = await expectOk<unknown>(run.s, 'destroyOwner', [owners.b, { except: a2 }], run.timeoutMs)
    check(destroyed === 2, `store.destroyOwner() called back with ${show(destroyed)}, expected 2 (destroyed)`)
    same(await listed(owners.b), [a2], 'after destroyOwner with except')
    check((await run.get(b1)) === undefined && (await run.get(b2)) === undefined, 'destroyOwner left a session in the store')
    check((await run.get(a2)) !== undefined, 'destroyOwner destroyed the session in except')
    same(await listed(owners.c), [c1], 'another owner after destroyOwner')
    check((await run.get(none)) !== undefined, 'destroyOwner destroyed a session without an owner')

    // parallel writes of one owner: none missing
    const many = Array.from({ length: Math.min(run.concurrency, 20) }, (_, i) => run.sid(`owner-many-${i}`))
    await Promise.all(many.map((sid) => owned(sid, owners.c)))
    same(await listed(owners.c), [c1, ...many], `${many.length} sessions saved in parallel`)
    const all = await expectOk<unknown>(run.s, 'destroyOwner', [owners.c, {}], run.timeoutMs)
    check(all === many.length + 1, `store.destroyOwner() without except called back with ${show(all)}, expected ${many.length + 1}`)
    same(await listed(owners.c), [], 'after destroyOwner without except')

    // an expired session drops out of the listing
    let expiry = ''
    if (run.expiry !== undefined) {
      const { maxAgeMs, graceMs, prune } = run.expiry
      const lapsing = run.sid('owner-lapsing')
      await owned(lapsing, owners.a, maxAgeMs)
      await new Promise((resolve) => setTimeout(resolve, maxAgeMs + graceMs))
      if (prune) await prune(run.s)
      same(await listed(owners.a), [], 'after the only session of an owner expired')
      expiry = '; an expired session drops out'
    }
    await Promise.all([run.destroy(a2), run.destroy(none)])
    return `lists, moves and destroys by owner; ${many.length} parallel saves all listed${expiry}`
  },

  async all(run, report) {
    const sids = [run.sid('all'), run.sid('all'), run.sid('all')]
    await Promise.all(sids.map((sid) => run.set(sid, run.session(sid, { marker: sid }))))
    const value = await expectOk<unknown>(run.s, 'all', [], run.timeoutMs)
    let sessions: unknown[]
    if (Array.isArray(value)) {
      sessions = value
      report.observations.allShape = 'array'
    } else {
      check(isRecord(value), `store.all() called back with ${show(value)}, not an object or array`)
      sessions = Object.values(value)
      report.observations.allShape = 'object keyed by ID'
      for (const sid of sids) check(isRecord(value[sid]), `store.all() has no entry keyed by ${sid}`)
    }
    const markers = new Set(sessions.map((s) => (isRecord(s) ? s.marker : undefined)))
    for (const sid of sids) check(markers.has(sid), `store.all() does not list a stored session as session data (${sid})`)
    await Promise.all(sids.map((sid) => run.destroy(sid)))
    return `calls back with ${report.observations.allShape === 'array' ? 'an array' : 'an object keyed by ID'}`
  },

  async length(run) {
    const count = async (): Promise<number> => {
      const value = await expectOk<unknown>(run.s, 'length', [], run.timeoutMs)
      check(typeof value === 'number' && Number.isInteger(value) && value >= 0,
        `store.length() called back with ${show(value)}, not a count`)
      return value
    }
    const before = await count()
    const sids = [run.sid('length'), run.sid('length')]
    await Promise.all(sids.map((sid) => run.set(sid, run.session(sid, { marker: sid }))))
    const withTwo = await count()
    check(withTwo === before + 2, `store.length() went from ${before} to ${withTwo} after storing 2 sessions`)
    await run.destroy(sids[0])
    const withOne = await count()
    check(withOne === before + 1, `store.length() is ${withOne} after destroying 1 of 2 new sessions (was ${before})`)
    await run.destroy(sids[1])
    return undefined
  },

  async clear(run) {
    const sids = [run.sid('clear'), run.sid('clear')]
    await Promise.all(sids.map((sid) => run.set(sid, run.session(sid, { marker: sid }))))
    await expectOk(run.s, 'clear', [], run.timeoutMs)
    for (const sid of sids) check((await run.get(sid)) === undefined, 'a session is still there after store.clear()')
    if (typeof run.s.length === 'function' && run.lengthWorks) {
      const { err, value } = await call<unknown>(run.s, 'length', [], run.timeoutMs)
      check(!err && value === 0, `store.length() gives ${show(value)} after store.clear()`)
    }
    return undefined
  },
}

function describeConventions(c: CallingConventions): string {
  const parts = [
    `callback ${c.callback ? 'yes' : 'no'}`,
    `promise ${c.promise === 'result' ? 'yes (resolves with the result)' : c.promise === 'no-result' ? 'returned, without the result' : 'no'}`,
  ]
  if (c.synchronousCallback) parts.push('calls back synchronously')
  if (c.repeatedCallback) parts.push('calls back more than once')
  return parts.join(', ')
}

// ---------------------------------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------------------------------

class ReportImpl implements StoreConformanceReport {
  readonly checks: { [K in ConformanceCheckId]: CheckResult }
  readonly observations: ConformanceObservations = {}

  constructor(readonly name: string) {
    const entries = [...REQUIRED, ...OPTIONAL].map((id): [ConformanceCheckId, CheckResult] =>
      [id, { id, title: TITLES[id], required: (REQUIRED as readonly string[]).includes(id), status: 'not-run' }])
    this.checks = Object.fromEntries(entries) as { [K in ConformanceCheckId]: CheckResult }
  }

  optional(): Partial<Record<OptionalMethod, boolean | undefined>> {
    const out: Partial<Record<OptionalMethod, boolean | undefined>> = {}
    for (const id of OPTIONAL) {
      const { status } = this.checks[id]
      if (status === 'absent' || status === 'disabled') continue
      out[id] = status === 'pass' ? true : status === 'not-run' ? undefined : false
    }
    return out
  }

  requiredPassed(): boolean {
    return REQUIRED.every((id) => ['pass', 'disabled'].includes(this.checks[id].status))
  }

  summary(): string {
    const required = REQUIRED.map((id) => this.checks[id])
    const passed = required.filter((c) => c.status === 'pass').length
    const counted = required.filter((c) => c.status !== 'disabled').length
    const mark = (c: CheckResult): string =>
      ({ pass: 'pass', fail: 'FAIL', 'known-issue': 'known issue', absent: 'absent', disabled: 'disabled', 'not-run': 'not run' })[c.status]
    const lines = [
      `${this.name}: required ${passed}/${counted} passed` +
        required.filter((c) => c.status !== 'pass').map((c) => `; ${c.id} ${mark(c)}`).join('') +
        `; optional: ${OPTIONAL.map((id) => `${id} ${mark(this.checks[id])}`).join(', ')}`,
    ]
    const o = this.observations
    const facts: string[] = []
    if (o.conventions) facts.push(describeConventions(o.conventions))
    if (o.notFound) facts.push(`not found: ${o.notFound === 'ENOENT' ? 'ENOENT error' : 'empty'}`)
    if (o.dates) facts.push(`Dates: ${o.dates}`)
    if (o.allShape) facts.push(`all(): ${o.allShape}`)
    if (o.touchUnknown) facts.push(`touch of unknown ID: ${o.touchUnknown}`)
    if (facts.length) lines.push(`  ${facts.join('; ')}`)
    for (const c of [...required, ...OPTIONAL.map((id) => this.checks[id])]) {
      if (c.status === 'fail' || c.status === 'known-issue') lines.push(`  ${c.id}: ${c.error ?? ''}`)
    }
    return lines.join('\n')
  }

  toJSON(): object {
    return { name: this.name, checks: this.checks, observations: this.observations, requiredPassed: this.requiredPassed() }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------------------------------

/**
 * Registers the store conformance tests for a store, in a suite named `store conformance: <name>`.
 * Returns the report, which fills in as the tests run; a last test, `report`, prints the summary and
 * fails if a required check did not pass.
 *
 * @example
 * // node --test
 * runStoreConformance({ name: 'my-store 1.0', createStore: () => new MyStore(), teardown: (s) => s.close() })
 *
 * @example
 * // mocha
 * runStoreConformance({ name: 'my-store', createStore, test: { describe, it, before, after } })
 */
export function runStoreConformance<S extends ConformanceStore>(options: StoreConformanceOptions<S>): StoreConformanceReport {
  if ((options as unknown) === null || typeof options !== 'object') throw new TypeError('runStoreConformance(options): options must be an object')
  if (typeof options.name !== 'string' || options.name === '') throw new TypeError('runStoreConformance: options.name must be a non-empty string')
  if (typeof options.createStore !== 'function') throw new TypeError('runStoreConformance: options.createStore must be a function returning the store')
  const fns = options.test ?? nodeTestFunctions()
  for (const key of ['describe', 'it', 'before', 'after'] as const) {
    if (typeof fns[key] !== 'function') throw new TypeError(`runStoreConformance: options.test.${key} must be a function`)
  }
  const timeoutMs = options.callTimeoutMs ?? 10_000
  const expiry: ExpirySettings | undefined = options.expiry === false
    ? undefined
    : {
        maxAgeMs: options.expiry?.maxAgeMs ?? options.expiryMs ?? 2000,
        graceMs: options.expiry?.graceMs ?? 2500,
        prune: options.expiry?.prune,
      }
  const capabilities = options.capabilities ?? {}
  const knownIssues = options.knownIssues ?? {}
  const report = new ReportImpl(options.name)
  const concurrency = options.concurrency ?? 50
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError('runStoreConformance: options.concurrency must be a positive integer')
  const run = new Run(options.idPrefix ?? 'conformance-', timeoutMs, concurrency, expiry)
  let storeError: unknown
  let reported = false

  const finish = (): void => {
    if (reported) return
    reported = true
    options.onReport?.(report)
  }

  fns.describe(`store conformance: ${options.name}`, () => {
    fns.before(async function (this: unknown) {
      if (hasMethods(this, 'timeout')) (this as MochaContextLike).timeout(timeoutMs + 5000)
      try {
        const store: unknown = await options.createStore()
        check(hasMethods(store, 'get', 'set', 'destroy'), `createStore() gave ${show(store)}, not a store with get, set and destroy`)
        run.store = store
      } catch (err) {
        storeError = err
        return
      }
      run.touch = typeof run.store.touch === 'function' && capabilities.touch !== false && expiry !== undefined
    })

    fns.after(async function (this: unknown) {
      if (hasMethods(this, 'timeout')) (this as MochaContextLike).timeout(timeoutMs + 5000)
      try {
        if (run.store && options.teardown) await options.teardown(run.store as S)
      } finally {
        finish()
      }
    })

    for (const id of [...REQUIRED, ...OPTIONAL]) {
      const result = report.checks[id]
      const optional = (OPTIONAL as readonly string[]).includes(id) ? (id as OptionalMethod) : undefined
      const testTimeout = timeoutMs * 4 + (id === 'expiry' && expiry ? expiry.maxAgeMs + expiry.graceMs : 0)
      fns.it(`${id}: ${TITLES[id]}`, async function (this: unknown, ...args: unknown[]) {
        const t = runningTest(this, args, testTimeout)
        if (storeError !== undefined) {
          result.status = 'fail'
          result.error = `createStore() failed: ${storeError instanceof Error ? storeError.message : show(storeError)}`
          throw storeError instanceof Error ? storeError : new Error(result.error)
        }
        const store = run.s
        if (id === 'expiry' && !expiry) {
          result.status = 'disabled'
          t.skip('expiry check disabled (expiry: false)')
          return
        }
        if (optional) {
          if (capabilities[optional] === false) {
            result.status = 'disabled'
            t.skip(`${optional}() not tested (capabilities.${optional}: false)`)
            return
          }
          if (typeof store[optional] !== 'function') {
            result.status = 'absent'
            check(capabilities[optional] !== true, `the store has no ${optional}() but capabilities.${optional} is true`)
            t.skip(`the store has no ${optional}()`)
            return
          }
        }
        const started = Date.now()
        const known = knownIssues[id]
        try {
          const detail = await checks[id](run, report, t.note)
          result.status = 'pass'
          result.detail = detail
          if (id === 'length') run.lengthWorks = true
          if (detail) t.note(detail)
          if (known) t.note(`listed as a known issue (${known}), but passes`)
        } catch (err) {
          const message = err instanceof Error ? err.message : show(err)
          result.error = message
          if (known) {
            result.status = 'known-issue'
            t.todo(`known issue: ${known}; fails with: ${message}`)
            return
          }
          result.status = 'fail'
          throw err
        } finally {
          result.durationMs = Date.now() - started
        }
      })
    }

    fns.it(`report: ${options.name}`, function (this: unknown, ...args: unknown[]) {
      const t = runningTest(this, args, 1000)
      const summary = report.summary()
      for (const line of summary.split('\n')) t.note(line)
      if (!hasMethods(args[0], 'diagnostic')) (options.log ?? console.log)(summary)
      const failed = REQUIRED.filter((id) => report.checks[id].status === 'fail')
      return failed.length === 0 ? Promise.resolve() : Promise.reject(new ConformanceError(`required checks failed: ${failed.join(', ')}`))
    })
  })

  return report
}
