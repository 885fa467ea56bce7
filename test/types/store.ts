// Store, MemoryStore, AsyncStore, Cookie and the event types: stores written against @types/express-session
// (class extends) and against 1.x JavaScript (Store.call + util.inherits) both type-check.
import { subscribe } from 'node:diagnostics_channel'
import { inherits } from 'node:util'
import session from 'express-session'
import {
  Cookie,
  MemoryStore,
  Store,
  type CookieOptions,
  type SessionData,
  type SessionEvent,
  type SessionEventMessage,
  type SessionOptions,
  type StoreCallContext,
  type StoreErrorMessage,
} from 'express-session'
import { assertType, expectAssignable, type Equal, type IsAny, typeOnly } from './helpers'

// Every public name is reachable both as a named import and on the default export's namespace.
assertType<Equal<typeof Store, typeof session.Store>>()
assertType<Equal<typeof MemoryStore, typeof session.MemoryStore>>()
assertType<Equal<typeof Cookie, typeof session.Cookie>>()
assertType<Equal<SessionOptions, session.SessionOptions>>()
assertType<Equal<CookieOptions, session.CookieOptions>>()
assertType<Equal<SessionData, session.SessionData>>()
assertType<Equal<SessionEventMessage, session.SessionEventMessage>>()
assertType<Equal<StoreCallContext, session.StoreCallContext>>()
assertType<Equal<StoreErrorMessage, session.StoreErrorMessage>>()
assertType<Equal<IsAny<session.Store>, false>>()
assertType<Equal<IsAny<session.Session>, false>>()

/** A store in the @types/express-session idiom. */
class MapStore extends session.Store {
  private readonly data = new Map<string, string>()

  get(sid: string, callback: (err: any, session?: SessionData | null) => void): void {
    const json = this.data.get(sid)
    callback(null, json === undefined ? null : (JSON.parse(json) as SessionData))
  }

  set(sid: string, sess: SessionData, callback?: (err?: any) => void): void {
    this.data.set(sid, JSON.stringify(sess))
    callback?.()
  }

  destroy(sid: string, callback?: (err?: any) => void): void {
    this.data.delete(sid)
    callback?.()
  }

  touch(sid: string, sess: SessionData, callback?: () => void): void {
    this.set(sid, sess, callback)
  }

  all(callback: (err: any, obj?: { [sid: string]: SessionData } | null) => void): void {
    callback(null, Object.fromEntries([...this.data].map(([sid, json]) => [sid, JSON.parse(json) as SessionData])))
  }
}

/** A store in the 1.x JavaScript idiom: Store.call(this) and util.inherits. */
interface LegacyStore extends Store {
  sessions: Record<string, string>
}
const LegacyStore = function LegacyStore(this: LegacyStore, options?: { prefix?: string }) {
  Store.call(this, options)
  this.sessions = {}
} as unknown as { new (options?: { prefix?: string }): LegacyStore }
inherits(LegacyStore, Store)

/** A store written with async methods, callable both ways. */
class AsyncMapStore extends session.AsyncStore {
  private readonly data = new Map<string, SessionData>()
  async get(sid: string): Promise<SessionData | null> {
    return this.data.get(sid) ?? null
  }
  async set(sid: string, sess: SessionData): Promise<void> {
    this.data.set(sid, sess)
  }
  async destroy(sid: string): Promise<void> {
    this.data.delete(sid)
  }
}

typeOnly(async () => {
  const stores: Store[] = [new MapStore(), new LegacyStore(), new MemoryStore(), new session.MemoryStore({ max: 100 }), new AsyncMapStore()]
  for (const store of stores) {
    // Stores are EventEmitters; the middleware listens for these two.
    store.on('disconnect', () => undefined).on('connect', () => undefined)
    store.emit('connect')
    store.get('sid', (err, sess) => void [err, sess satisfies SessionData | null | undefined])
    store.set('sid', { cookie: new Cookie(), views: 1 }, (err) => void err)
    store.destroy('sid', (err) => void err)
    // The base class's helpers, typed as @types/express-session types them; the request may be any object.
    store.regenerate({ sessionID: 'sid' }, (err) => void err)
    store.load('sid', (err, sess) => {
      if (!err && sess) assertType<Equal<typeof sess, session.Session & SessionData>>()
    })
    const created = store.createSession({ sessionID: 'sid' }, { cookie: new Cookie(), views: 0 })
    assertType<Equal<typeof created, session.Session & SessionData>>()
    // @ts-expect-error stored data has a cookie
    store.createSession({ sessionID: 'sid' }, { views: 0 })
    // @ts-expect-error the request is an object
    store.regenerate('sid', () => undefined)
  }

  // Stores typed from their own class keep their precise signatures.
  new MapStore().get('sid', (err, sess) => {
    if (!err && sess) assertType<Equal<typeof sess.views, number>>()
  })

  // AsyncStore: await it, or call it back.
  const asyncStore: session.AsyncStore = new AsyncMapStore()
  const loaded = await asyncStore.get('sid')
  assertType<Equal<typeof loaded, SessionData | null | undefined>>()
  asyncStore.get('sid', (err, sess) => void [err satisfies Error | null, sess satisfies SessionData | null | undefined])
  await asyncStore.set('sid', { cookie: new Cookie(), views: 1 })
  // @ts-expect-error an AsyncStore<SessionData> stores SessionData
  await asyncStore.set('sid', { cookie: new Cookie(), views: 'x' })

  // MemoryStore's extras.
  const memory = new MemoryStore()
  memory.all((err, sessions) => void [err, sessions])
  memory.length((err, length) => {
    if (!err && length !== undefined) assertType<Equal<typeof length, number>>()
  })
  memory.clear()
  memory.close()
  // @ts-expect-error max is a number of sessions
  new MemoryStore({ max: 'lots' })

  // Cookie.
  const cookie = new Cookie({ maxAge: 1000, sameSite: 'strict', secure: true })
  // As @types/express-session types them (a browser-session cookie's maxAge is null at runtime, as in 1.x).
  assertType<Equal<typeof cookie.maxAge, number | undefined>>()
  assertType<Equal<typeof cookie.originalMaxAge, number | null>>()
  assertType<Equal<typeof cookie.expires, Date | null | undefined>>()
  assertType<Equal<typeof cookie.httpOnly, boolean | undefined>>()
  assertType<Equal<typeof cookie.path, string | undefined>>()
  assertType<Equal<typeof cookie.secure, boolean | 'auto' | undefined>>()
  const header: string = cookie.serialize('connect.sid', 's:value')
  const json = cookie.toJSON()
  assertType<Equal<typeof json.originalMaxAge, number | null>>()
  cookie.maxAge = 5000
  cookie.expires = new Date()
  // @ts-expect-error expires is a Date
  cookie.expires = '2030-01-01'
  // @ts-expect-error the constructor takes an options object
  new Cookie('maxAge=1000')
  void header

  // The error classes, for `instanceof` in error handlers.
  const handle = (err: unknown): string | undefined => {
    if (!(err instanceof session.StoreTimeoutError)) return undefined
    assertType<Equal<typeof err.code, 'ESTORETIMEOUT'>>()
    assertType<Equal<typeof err.timeout, number>>()
    expectAssignable<string>(err.method)
    return err.message
  }
  void handle

  // Diagnostics: the event, store-call and store-error messages.
  const events: SessionEvent[] = ['created', 'loaded', 'regenerated', 'destroyed', 'expired']
  // @ts-expect-error not a lifecycle event
  expectAssignable<SessionEvent>('saved')
  for (const event of events) {
    subscribe(`express-session:session:${event}`, (message) => {
      const { sessionId, previousSessionId } = message as SessionEventMessage
      assertType<Equal<typeof sessionId, string>>()
      assertType<Equal<typeof previousSessionId, string | undefined>>()
    })
  }
  subscribe('express-session:store:get:asyncEnd', (message) => {
    const context = message as StoreCallContext
    assertType<Equal<typeof context.method, string>>()
    assertType<Equal<typeof context.sessionId, string | undefined>>()
    assertType<Equal<typeof context.duration, number | undefined>>()
    assertType<Equal<typeof context.error, Error | undefined>>()
  })
  subscribe('express-session:store:error', (message) => {
    const failure = message as StoreErrorMessage
    assertType<Equal<typeof failure.method, string>>()
    assertType<Equal<typeof failure.sessionId, string | undefined>>()
    assertType<Equal<typeof failure.error, Error>>()
    assertType<Equal<typeof failure.req, unknown>>()
  })
})
