// Programs written against @types/express-session 1.19, unchanged: the idioms of that package's own test file
// (express-session-tests.ts) and of apps and stores typed with it. Each must compile under `strict` against this
// package's bundled declarations; what @types rejects, and we reject too, is marked `@ts-expect-error`.
import { createSecretKey } from 'node:crypto'
import express = require('express')
import session = require('express-session')
import { assertType, type Equal, typeOnly } from './helpers'

declare module 'express-session' {
  interface SessionData {
    /** Required in SessionData, optional on req.session (as session-data.ts declares it). */
    views: number
    /** The @types README's idiom: an optional field. */
    returnTo?: string
  }
}

typeOnly(() => {
  const app = express()

  // The options of @types' own tests.
  app.use(session({ secret: 'keyboard cat', cookie: { secure: 'auto' } }))
  app.use(
    session({
      secret: 'keyboard cat',
      name: 'connect.sid',
      store: new session.MemoryStore(),
      cookie: { path: '/', httpOnly: true, secure: false, sameSite: true, maxAge: undefined, expires: null },
      genid: (req: express.Request): string => req.ip ?? '',
      rolling: false,
      resave: true,
      proxy: true,
      saveUninitialized: true,
      unset: 'keep',
    }),
  )
  app.use(session({ secret: ['new secret', 'old secret'], cookie: { sameSite: 'strict', partitioned: true, priority: 'low' } }))
  // CipherKey secrets: Buffers, typed arrays and KeyObjects.
  app.use(session({ secret: [Buffer.from('a'), new Uint8Array([1, 2, 3]), createSecretKey(Buffer.from('k'))] }))
  app.use(session({ secret: 'x', cookie: { signed: true, encode: (value: string) => encodeURIComponent(value) } }))
  const options: session.SessionOptions = { secret: 'x', name: undefined, store: undefined, cookie: undefined, unset: undefined }
  app.use(session(options))

  // The cookie option as a function of Express's request (1.19).
  app.use(session({ secret: 'x', cookie: (req) => ({ secure: req.secure, domain: req.hostname, path: req.baseUrl || '/' }) }))
  app.use(session({ secret: 'x', cookie: (req: express.Request): session.CookieOptions => ({ maxAge: req.path === '/' ? 1000 : undefined }) }))
  app.use(session({ secret: 'x', genid: (req) => `${req.ip ?? 'anon'}:${req.get('x-tenant') ?? ''}` }))

  // The session in a handler: data fields through SessionData augmentation.
  app.use((req, res, next) => {
    if (req.session.views) {
      req.session.views++
      res.setHeader('Content-Type', 'text/html')
      res.write(`<p>views: ${req.session.views}</p>`)
      res.write(`<p>expires in: ${(req.session.cookie.maxAge || 0) / 1000}s</p>`)
      res.end()
    } else {
      req.session.views = 1
      res.end('welcome to the session demo. refresh!')
    }
    next()
  })

  app.get('/cookie', (req, res) => {
    const cookie = req.session.cookie
    // Cookie members as @types declares them.
    const maxAge: number | undefined = cookie.maxAge
    const originalMaxAge: number | null = cookie.originalMaxAge
    const expires: Date | null | undefined = cookie.expires
    const httpOnly: boolean | undefined = cookie.httpOnly
    const path: string | undefined = cookie.path
    const domain: string | undefined = cookie.domain
    const secure: boolean | 'auto' | undefined = cookie.secure
    const sameSite: boolean | 'lax' | 'strict' | 'none' | undefined = cookie.sameSite
    const signed: boolean | undefined = cookie.signed
    // Writes @types allows.
    cookie.maxAge = 60_000
    cookie.maxAge = undefined
    cookie.expires = new Date(Date.now() + 1000)
    cookie.expires = null
    cookie.expires = undefined
    cookie.originalMaxAge = null
    cookie.httpOnly = false
    cookie.secure = true
    cookie.sameSite = 'none'
    cookie.domain = 'example.com'
    cookie.path = '/app'
    // A Cookie is usable as cookie options (it implements CookieOptions in @types).
    const asOptions: session.CookieOptions = cookie
    res.json([maxAge, originalMaxAge, expires, httpOnly, path, domain, secure, sameSite, signed, asOptions])
  })

  app.post('/login', (req, res, next) => {
    // Session methods with @types' callbacks (err: any), returning the session for chaining.
    req.session.regenerate((err) => {
      if (err) return next(err)
      req.session.returnTo = '/home'
      req.session.save((err) => {
        if (err) next(err)
        else res.redirect(req.session.returnTo ?? '/')
      })
    })
    req.session.reload((err) => void err).touch().resetMaxAge()
    req.session.destroy((err) => void err)
    req.session.save()
    const id: string = req.session.id
    const sid: string = req.sessionID
    void [id, sid]
  })

  // req.sessionStore is Express.SessionStore: a Store with generate(req).
  app.use((req, _res, next) => {
    const store: Express.SessionStore = req.sessionStore
    store.generate(req)
    req.sessionStore.get(req.sessionID, (err, sess) => {
      if (err) return next(err)
      if (sess) {
        const views: number = sess.views
        const cookie: session.Cookie = sess.cookie
        void [views, cookie]
      }
      next()
    })
    req.sessionStore.set(req.sessionID, req.session as session.SessionData)
    req.sessionStore.destroy(req.sessionID)
    req.sessionStore.regenerate(req, (err) => void err)
    req.sessionStore.load(req.sessionID, (err, sess) => {
      if (!err && sess) {
        const data: session.SessionData = sess
        void data
      }
    })
    const created: session.Session & session.SessionData = req.sessionStore.createSession(req, req.session as session.SessionData)
    void created
    req.sessionStore.all?.((err, sessions) => {
      if (!err && sessions) {
        const list: session.SessionData[] = Array.isArray(sessions) ? sessions : Object.values(sessions)
        void list
      }
    })
    req.sessionStore.length?.((err, length) => void [err, length satisfies number | undefined])
    req.sessionStore.clear?.((err) => void err)
    req.sessionStore.touch?.(req.sessionID, req.session as session.SessionData, () => undefined)
  })

  // A handler typed by hand, and a helper taking the session as @types types it.
  function remember(sess: session.Session & Partial<session.SessionData>, url: string): void {
    sess.returnTo = url
  }
  const handler: express.RequestHandler = (req: express.Request, res: express.Response) => {
    remember(req.session, req.originalUrl)
    res.end()
  }
  app.use(handler)

  // Apps that redeclare req.session with @types' type (a common augmentation) still compile.
  assertType<Equal<express.Request['session'], session.Session & Partial<session.SessionData>>>()
  assertType<Equal<express.Request['sessionID'], string>>()

  // What @types rejects, and so do we.
  // @ts-expect-error SessionData says views is a number
  app.use((req) => void (req.session.views = 'many'))
  // @ts-expect-error unset is 'destroy' or 'keep'
  session({ secret: 'x', unset: 'remove' })
  // @ts-expect-error sameSite is not a free string
  session({ secret: 'x', cookie: { sameSite: 'relaxed' } })
  // @ts-expect-error the cookie function returns cookie options
  session({ secret: 'x', cookie: () => ({ secure: 'yes' }) })
  // @ts-expect-error genid returns a string
  session({ secret: 'x', genid: () => 42 })
  // @ts-expect-error a store implements get, set and destroy
  session({ secret: 'x', store: {} })
})

// Custom stores as @types' tests write them: arrow-function fields, and methods.
class ArrowStore extends session.Store {
  private sessions: { [sid: string]: string | undefined }

  constructor() {
    super()
    this.sessions = {}
  }

  get = (sid: string, callback: (err: any, session?: session.SessionData | null) => void): void => {
    const json = this.sessions[sid]
    callback(null, json ? (JSON.parse(json) as session.SessionData) : null)
  }

  set = (sid: string, sess: session.SessionData, callback?: (err?: any) => void): void => {
    this.sessions[sid] = JSON.stringify(sess)
    if (callback) callback()
  }

  destroy = (sid: string, callback?: (err?: any) => void): void => {
    this.sessions[sid] = undefined
    if (callback) callback()
  }
}

class MethodStore extends session.Store {
  private readonly sessions = new Map<string, session.SessionData>()

  override get(sid: string, callback: (err: any, session?: session.SessionData | null) => void): void {
    callback(null, this.sessions.get(sid) ?? null)
  }

  override set(sid: string, sess: session.SessionData, callback?: (err?: any) => void): void {
    this.sessions.set(sid, sess)
    callback?.()
  }

  override destroy(sid: string, callback?: (err?: any) => void): void {
    this.sessions.delete(sid)
    callback?.()
  }

  override all(callback: (err: any, obj?: session.SessionData[] | { [sid: string]: session.SessionData } | null) => void): void {
    callback(null, Object.fromEntries(this.sessions))
  }

  override length(callback: (err: any, length?: number) => void): void {
    callback(null, this.sessions.size)
  }

  override clear(callback?: (err?: any) => void): void {
    this.sessions.clear()
    callback?.()
  }

  override touch(sid: string, sess: session.SessionData, callback?: () => void): void {
    this.sessions.set(sid, sess)
    callback?.()
  }
}

/** A subclass of MemoryStore, overriding with @types' MemoryStore signatures. */
class LoggingMemoryStore extends session.MemoryStore {
  override get(sid: string, callback: (err: any, session?: session.SessionData | null) => void): void {
    super.get(sid, callback)
  }
  override all(callback: (err: any, obj?: { [sid: string]: session.SessionData } | null) => void): void {
    super.all(callback)
  }
  override touch(sid: string, sess: session.SessionData, callback?: () => void): void {
    super.touch(sid, sess, callback)
  }
}

typeOnly(() => {
  const app = express()
  for (const store of [new ArrowStore(), new MethodStore(), new LoggingMemoryStore(), new session.MemoryStore()]) {
    app.use(session({ secret: 'keyboard cat', store }))
    const asStore: session.Store = store
    void asStore
  }
  const memory = new session.MemoryStore()
  memory.get('sid', (err, sess) => void [err, sess satisfies session.SessionData | null | undefined])
  memory.all((err, obj) => void [err, obj satisfies { [sid: string]: session.SessionData } | null | undefined])
  memory.length((err, length) => void [err, length satisfies number | undefined])
  memory.clear()
  memory.touch('sid', { cookie: new session.Cookie(), views: 1 })
  // @ts-expect-error a stored session has a cookie
  memory.set('sid', { views: 1 })
})
