/**
 * An app for the parallel-request tests: requests of one session that all load it before any of them saves
 * (a barrier), and a slow request that a logout overtakes.
 */
import http from 'node:http'
import express from 'express'
import request from 'supertest'
import session from 'express-session'
import { cookie, setCookieFor } from './http.js'

/** Opens when `count` requests have arrived. */
class Barrier {
  private arrived = 0
  private release!: () => void
  readonly open: Promise<void>
  constructor(private readonly count: number) {
    this.open = new Promise((resolve) => (this.release = resolve))
  }
  arrive(): Promise<void> {
    if (++this.arrived >= this.count) this.release()
    return this.open
  }
}

export interface ConcurrencyApp {
  app: express.Express
  /** Lets the requests held at `/slow/:key` go on. */
  releaseSlow(): void
  /** Resolves when a request has arrived at `/slow/:key` (its session loaded). */
  slowArrived: Promise<void>
  /** Errors that reached the error handler. */
  errors: Error[]
}

/**
 * Routes: `/login` stores `user`; `/set/:key?n=N` waits until N such requests have loaded the session, then
 * sets `req.session[key] = true`; `/slow/:key` waits for `releaseSlow()`, then sets its key; `/logout` calls
 * `req.session.destroy()`; `/keys` answers the session's keys as JSON (`null` without a user).
 */
export function concurrencyApp(options: Partial<session.SessionOptions> = {}): ConcurrencyApp {
  const app = express()
  const errors: Error[] = []
  let barrier: Barrier | undefined
  let releaseSlow!: () => void
  const slowGate = new Promise<void>((resolve) => (releaseSlow = resolve))
  let slowArrivedResolve!: () => void
  const slowArrived = new Promise<void>((resolve) => (slowArrivedResolve = resolve))

  app.use(session({ secret: 'keyboard cat', resave: false, saveUninitialized: false, cookie: { maxAge: 60_000 }, ...options }))
  app.get('/login', (req: any, res) => {
    req.session.user = 'tj'
    res.end('logged in')
  })
  app.get('/set/:key', (req: any, res, next) => {
    barrier ??= new Barrier(Number(req.query.n))
    barrier.arrive().then(() => {
      req.session[req.params.key] = true
      res.end('set')
    }, next)
  })
  app.get('/slow/:key', (req: any, res, next) => {
    slowArrivedResolve()
    slowGate.then(() => {
      req.session[req.params.key] = true
      res.end('set late')
    }, next)
  })
  app.get('/logout', (req: any, res, next) => {
    req.session.destroy((err: unknown) => (err ? next(err) : res.end('logged out')))
  })
  app.get('/keys', (req: any, res) => {
    res.json(req.session.user ? Object.keys(req.session).filter((k) => k !== 'cookie').sort() : null)
  })
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    errors.push(err)
    res.status(500).end(err.message)
  })
  return { app, releaseSlow, slowArrived, errors }
}

/** Logs in, then sends `n` parallel `/set/k<i>` requests on the session; answers the session's keys after. */
export async function keysAfterParallelSets(apps: express.Express[], n: number): Promise<string[]> {
  const login = await request(apps[0]).get('/login').expect(200)
  const jar = cookie(login)
  await Promise.all(Array.from({ length: n }, (_, i) =>
    request(apps[i % apps.length]).get(`/set/k${i}?n=${n}`).set('Cookie', jar).expect(200)))
  const res = await request(apps[0]).get('/keys').set('Cookie', jar).expect(200)
  return res.body as string[]
}

/** {@link keysAfterParallelSets} on one listening server (supertest would start one per request). */
export async function keysAfterParallelSetsOn(app: express.Express, n: number): Promise<string[]> {
  const server = http.createServer(app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    return await keysAfterParallelSets([server as never], n)
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
}

/** The keys `/set/k0` ... `/set/k<n-1>` and `user`, sorted as `/keys` answers them. */
export function expectedKeys(n: number): string[] {
  return ['user', ...Array.from({ length: n }, (_, i) => `k${i}`)].sort()
}

/**
 * Logs in, starts a slow request that loaded the session, logs out, then lets the slow request set its key.
 * Answers the slow response's Set-Cookie for the session (undefined when none) and what `/keys` answers after.
 */
export async function logoutRacingSlowRequest(
  target: ConcurrencyApp, logoutApp: express.Express = target.app,
): Promise<{ slowSetCookie: string | undefined; keysAfter: unknown }> {
  const login = await request(target.app).get('/login').expect(200)
  const jar = cookie(login)
  const slow = request(target.app).get('/slow/late').set('Cookie', jar).then((res) => res)
  await target.slowArrived
  await request(logoutApp).get('/logout').set('Cookie', jar).expect(200, 'logged out')
  target.releaseSlow()
  const slowRes = await slow
  const keysAfter = (await request(target.app).get('/keys').set('Cookie', jar).expect(200)).body as unknown
  return { slowSetCookie: setCookieFor(slowRes), keysAfter }
}
