/**
 * Shared helpers for HTTP-level tests: servers in the style of the 1.x suite, and readers of
 * `Set-Cookie` headers.
 */
import http from 'node:http'
import assert from 'node:assert/strict'
import session from 'express-session'
import type { Response } from 'supertest'

export type Handler = (req: http.IncomingMessage & Record<string, any>, res: http.ServerResponse) => void

/**
 * A plain `node:http` server running the session middleware with `options` (secret 'keyboard cat',
 * resave/saveUninitialized true unless given), then `handler`. Errors answer `err.status || 500` with the message.
 */
export function createServer(options: session.SessionOptions | ((req: any, res: any, next: any) => void) | null, handler?: Handler): http.Server {
  const middleware = typeof options === 'function'
    ? options
    : session({ secret: 'keyboard cat', resave: true, saveUninitialized: true, ...(options ?? {}) })
  return http.createServer((req: any, res) => {
    middleware(req, res, (err?: any) => {
      if (err) {
        res.statusCode = err.status || 500
        res.end(err.message)
        return
      }
      if (handler) handler(req, res)
      else res.end(req.session?.id ?? 'no session')
    })
  })
}

/** All `Set-Cookie` values of a response. */
export function setCookies(res: Response): string[] {
  const header = res.headers['set-cookie'] as unknown
  if (header === undefined) return []
  return Array.isArray(header) ? header : [String(header)]
}

/** The `Set-Cookie` value for cookie `name`, if any. */
export function setCookieFor(res: Response, name = 'connect.sid'): string | undefined {
  return setCookies(res).find((value) => value.startsWith(name + '='))
}

/** `name=value` of the session cookie, ready to send back in a `Cookie` header. */
export function cookie(res: Response, name = 'connect.sid'): string {
  const value = setCookieFor(res, name)
  assert.ok(value, `expected a Set-Cookie for ${name}`)
  return value.split(';')[0]!
}

/** The session ID inside the signed cookie of a response. */
export function sid(res: Response, name = 'connect.sid'): string {
  const value = decodeURIComponent(cookie(res, name).slice(name.length + 1))
  const match = /^s:(.*)\.[^.]*$/.exec(value)
  assert.ok(match, `not a signed session cookie: ${value}`)
  return match[1]!
}

/** The `Expires` attribute of the session cookie, if present. */
export function expires(res: Response, name = 'connect.sid'): string | undefined {
  const value = setCookieFor(res, name)
  return value ? /; *Expires=([^;]+)/i.exec(value)?.[1] : undefined
}

/** supertest assertion: the response sets cookie `name`. */
export function shouldSetCookie(name = 'connect.sid') {
  return (res: Response) => {
    assert.ok(setCookieFor(res, name), `should set cookie ${name}`)
  }
}

/** supertest assertion: the response does not set cookie `name`. */
export function shouldNotHaveHeader(header: string) {
  return (res: Response) => {
    assert.ok(!(header.toLowerCase() in res.headers), `should not have ${header} header`)
  }
}

/** supertest assertion: the response does not set cookie `name`. */
export function shouldNotSetCookie(name = 'connect.sid') {
  return (res: Response) => {
    assert.ok(!setCookieFor(res, name), `should not set cookie ${name}`)
  }
}

/** supertest assertion: the session cookie carries attribute `attr` (optionally with `value`). */
export function shouldSetCookieWithAttribute(name: string, attr: string, value?: string) {
  return (res: Response) => {
    const header = setCookieFor(res, name)
    assert.ok(header, `should set cookie ${name}`)
    const attrs = header.split(';').slice(1).map((part) => part.trim())
    const found = attrs.find((part) => part.split('=')[0]!.toLowerCase() === attr.toLowerCase())
    assert.ok(found, `should set cookie ${name} with attribute ${attr}: ${header}`)
    if (value !== undefined) assert.equal(found.split('=').slice(1).join('='), value)
  }
}

/** supertest assertion: the session cookie lacks attribute `attr`. */
export function shouldSetCookieWithoutAttribute(name: string, attr: string) {
  return (res: Response) => {
    const header = setCookieFor(res, name)
    assert.ok(header, `should set cookie ${name}`)
    const attrs = header.split(';').slice(1).map((part) => part.trim().split('=')[0]!.toLowerCase())
    assert.ok(!attrs.includes(attr.toLowerCase()), `should set cookie ${name} without ${attr}: ${header}`)
  }
}

/** A promise resolved after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Polls `predicate` every few ms until it holds; fails after `timeout` ms. */
export async function waitFor(predicate: () => boolean, timeout = 1000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeout
  while (!predicate()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await delay(5)
  }
}

/** `name=value` of a session cookie for `id`, signed with `secret`, ready for a `Cookie` header. */
export function signedCookie(id: string, secret = 'keyboard cat', name = 'connect.sid'): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { sign } = require('cookie-signature') as { sign(value: string, secret: string): string }
  return name + '=' + encodeURIComponent('s:' + sign(id, secret))
}

/**
 * A MemoryStore that counts the calls made to each of its methods (`store.calls.set`, ...) and records
 * the session IDs `set` was called with (`store.setIds`). Like most third-party stores it has no `patch`, so
 * every save writes the whole session, as in 1.x; `new CountingStore({ patch: true })` keeps MemoryStore's.
 */
export class CountingStore extends session.MemoryStore {
  calls: Record<'get' | 'set' | 'patch' | 'destroy' | 'touch', number> = { get: 0, set: 0, patch: 0, destroy: 0, touch: 0 }
  setIds: string[] = []

  constructor(options: { patch?: boolean } = {}) {
    super()
    if (options.patch !== true) (this as { patch?: unknown }).patch = undefined
  }

  override patch(sid: string, changes: session.SessionChanges, callback?: (err: any, existed?: boolean) => void): void {
    this.calls.patch++
    super.patch(sid, changes, callback)
  }

  override get(sid: string, callback: (err: any, sess?: any) => void): void {
    this.calls.get++
    super.get(sid, callback)
  }

  override set(sid: string, sess: object, callback?: (err?: any) => void): void {
    this.calls.set++
    this.setIds.push(sid)
    super.set(sid, sess, callback)
  }

  override destroy(sid: string, callback?: (err?: any) => void): void {
    this.calls.destroy++
    super.destroy(sid, callback)
  }

  override touch(sid: string, sess: { cookie: unknown }, callback?: (err?: any) => void): void {
    this.calls.touch++
    super.touch(sid, sess, callback)
  }

  /** The stored data of `sid` as the store holds it (parsed JSON), or undefined. */
  stored(sid: string): Record<string, any> | undefined {
    const json = this.sessions[sid]
    return json === undefined ? undefined : JSON.parse(json)
  }

  /** Resets the counters. */
  resetCalls(): void {
    this.calls = { get: 0, set: 0, patch: 0, destroy: 0, touch: 0 }
    this.setIds = []
  }
}

// (imports are hoisted: this one sits here because this file is extended append-only)
import express from 'express'

/** A handler of an Express app (`req` loosely typed: tests put arbitrary fields on the session). */
export type ExpressHandler = (req: any, res: express.Response, next: express.NextFunction) => void

/** How {@link createExpressApp} builds the app. */
export interface ExpressAppSetup {
  /** Runs on the app before the session middleware is added (settings such as 'trust proxy', cookie-parser, ...). */
  before?: (app: express.Express) => void
  /** Path the session middleware and the handler are mounted at. Default `'/'`. */
  mount?: string
  /** Collects every error that reaches the error handler, including errors passed after the response was sent. */
  errors?: unknown[]
}

/**
 * An Express 4 app running the session middleware with `options` (secret 'keyboard cat', resave/saveUninitialized
 * true unless given; or a ready middleware), then `handler` (default: answers the session ID, or 'no session').
 * Errors answer `err.status || 500` with the message, unless the response was already sent.
 */
export function createExpressApp(
  options: session.SessionOptions | express.RequestHandler | null,
  handler?: ExpressHandler,
  setup: ExpressAppSetup = {},
): express.Express {
  const app = express()
  setup.before?.(app)
  const middleware = typeof options === 'function'
    ? options
    : session({ secret: 'keyboard cat', resave: true, saveUninitialized: true, ...(options ?? {}) })
  const mount = setup.mount ?? '/'
  app.use(mount, middleware as express.RequestHandler)
  app.use(mount, handler ?? ((req: any, res: express.Response) => { res.end(req.session?.id ?? 'no session') }))
  app.use((err: any, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    setup.errors?.push(err)
    if (res.headersSent) return
    res.statusCode = err?.status || 500
    res.end(String(err?.message ?? err))
  })
  return app
}

/** Sets `req.session.value` from the X-Set header when there is one; answers the session ID. */
export const maybeModify: ExpressHandler = (req, res) => {
  const value = req.headers['x-set']
  if (value !== undefined) req.session.value = value
  res.end(req.session.id)
}

/** Whether deprecation warnings are silenced in this process (`--no-deprecation`, `NO_DEPRECATION`). */
export const deprecationsSilenced = process.noDeprecation ||
  /(^|[ ,])(\*|express-session)([ ,]|$)/i.test(process.env.NO_DEPRECATION ?? '')

/** The warnings (`"<name>: <message>"`) Node emits while `fn` runs (and one turn after). */
export async function warningsFrom(fn: () => unknown): Promise<string[]> {
  const warnings: string[] = []
  const listener = (warning: Error): void => {
    warnings.push(`${warning.name}: ${warning.message}`)
  }
  process.on('warning', listener)
  try {
    fn()
    await new Promise((resolve) => setImmediate(resolve))
  } finally {
    process.off('warning', listener)
  }
  return warnings
}
