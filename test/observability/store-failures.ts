/**
 * Every place the middleware and the Session methods call a store, made to fail, under each `storeErrors`
 * policy: what the DEBUG and diagnostics tests check is reported for each failure.
 */
import express from 'express'
import request, { type Response } from 'supertest'
import session from 'express-session'
import { cookie, delay, sid } from '../support/http.js'

export type Method = 'get' | 'set' | 'patch' | 'touch' | 'destroy'
export const POLICIES = ['fail', 'continue'] as const

/** A MemoryStore whose methods in `failing` call back with `new Error('<method> failed')`. */
export class FailingStore extends session.MemoryStore {
  failing = new Set<Method>()

  constructor() {
    super({ checkPeriod: 0 })
  }

  private failed(method: Method, callback: ((err?: any) => void) | undefined): boolean {
    if (!this.failing.has(method)) return false
    setImmediate(() => callback?.(new Error(`${method} failed`)))
    return true
  }

  override get(sid: string, callback: (err: any, sess?: any) => void): void {
    if (!this.failed('get', callback)) super.get(sid, callback)
  }

  override set(sid: string, sess: any, callback?: (err?: any) => void): void {
    if (!this.failed('set', callback)) super.set(sid, sess, callback)
  }

  override patch(sid: string, changes: session.SessionChanges, callback?: (err?: any, existed?: boolean) => void): void {
    if (!this.failed('patch', callback)) super.patch(sid, changes, callback)
  }

  override touch(sid: string, sess: any, callback?: (err?: any) => void): void {
    if (!this.failed('touch', callback)) super.touch(sid, sess, callback)
  }

  override destroy(sid: string, callback?: (err?: any) => void): void {
    if (!this.failed('destroy', callback)) super.destroy(sid, callback)
  }
}

/** One store call site, and how to make it fail. */
export interface StoreFailure {
  /** Which call it is. */
  callSite: string
  /** The store method that fails. */
  method: Method
  /** The request path that makes the call. */
  path: string
  /** Extra middleware options. */
  options?: session.SessionOptions
  /** The request makes a new session (no login first). */
  newSession?: boolean
  /** Milliseconds to wait between the login and the request. */
  wait?: number
  /** The route makes the store fail (after the load), not the `?fail=` of the request. */
  failedByRoute?: boolean
}

export const STORE_FAILURES: StoreFailure[] = [
  { callSite: 'the load', method: 'get', path: '/' },
  { callSite: 'the absoluteTimeout destroy', method: 'destroy', path: '/', options: { absoluteTimeout: 50 }, wait: 80 },
  { callSite: 'the save at the end of the response', method: 'set', path: '/login', newSession: true },
  { callSite: 'the patch at the end of the response', method: 'patch', path: '/change' },
  { callSite: 'the touch at the end of the response', method: 'touch', path: '/' },
  { callSite: "the unset: 'destroy' at the end of the response", method: 'destroy', path: '/logout' },
  { callSite: 'Session#save', method: 'patch', path: '/save' },
  { callSite: 'Session#save', method: 'set', path: '/save', options: { concurrency: 'overwrite' } },
  { callSite: 'Session#reload', method: 'get', path: '/reload', failedByRoute: true },
  { callSite: 'Session#destroy', method: 'destroy', path: '/destroy' },
  { callSite: "Session#regenerate's destroy", method: 'destroy', path: '/regenerate' },
]

/**
 * An app with `store`: `?fail=<method>` makes that store method fail for the request; `/login` stores a user,
 * `/change` changes it, `/logout` unsets the session (`unset: 'destroy'`), `/save`, `/reload` (making `get` fail after the load),
 * `/destroy` and `/regenerate` call those Session methods; errors answer 500.
 */
export function createFailingApp(store: FailingStore, options: session.SessionOptions = {}): express.Express {
  const app = express()
  app.use((req, _res, next) => {
    store.failing.clear()
    if (typeof req.query.fail === 'string') store.failing.add(req.query.fail as Method)
    next()
  })
  app.use(session({ secret: 'keyboard cat', store, resave: false, saveUninitialized: false, unset: 'destroy', ...options }))
  const answer = (res: express.Response, next: express.NextFunction) => (err: unknown) => (err ? next(err) : res.end('done'))
  app.get('/login', (req: any, res) => {
    req.session.user = 'tj'
    res.end('logged in')
  })
  app.get('/change', (req: any, res) => {
    req.session.changes = (req.session.changes ?? 0) + 1
    res.end('changed')
  })
  app.get('/logout', (req: any, res) => {
    req.session = null
    res.end('logged out')
  })
  app.get('/save', (req: any, res, next) => {
    req.session.saved = true
    req.session.save(answer(res, next))
  })
  app.get('/reload', (req: any, res, next) => {
    store.failing.add('get')
    req.session.reload(answer(res, next))
  })
  app.get('/destroy', (req: any, res, next) => req.session.destroy(answer(res, next)))
  app.get('/regenerate', (req: any, res, next) => req.session.regenerate(answer(res, next)))
  app.get('/', (req: any, res) => res.end(req.session ? `user: ${req.session.user ?? 'nobody'}` : 'no session'))
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    if (!res.headersSent) res.status(500).end(err.message)
  })
  return app
}

/** Runs `failure` under `policy`; answers the session ID the failed call was about, and the response. */
export async function runStoreFailure(
  failure: StoreFailure,
  policy: (typeof POLICIES)[number],
): Promise<{ store: FailingStore; sessionId: string; res: Response }> {
  const store = new FailingStore()
  const app = createFailingApp(store, { storeErrors: policy, ...failure.options })
  const url = failure.failedByRoute ? failure.path : `${failure.path}?fail=${failure.method}`
  if (failure.newSession) {
    const res = await request(app).get(url)
    return { store, sessionId: sid(res), res }
  }
  const login = await request(app).get('/login').expect(200)
  if (failure.wait !== undefined) await delay(failure.wait)
  const res = await request(app).get(url).set('Cookie', cookie(login))
  return { store, sessionId: sid(login), res }
}
