// The ESM entry's types: named imports are the same types and values as the CommonJS namespace's, and a
// `declare module 'express-session'` augmentation written in an ES module types req.session too.
import express from 'express'
import session, {
  Cookie,
  MemoryStore,
  Session,
  Store,
  StoreTimeoutError,
  type CookieOptions,
  type SessionData,
  type SessionEventMessage,
  type SessionOptions,
  type StoreCallContext,
  type StoreErrorMessage,
} from 'express-session'
import { assertType, type Equal } from './helpers.js'

declare module 'express-session' {
  interface SessionData {
    cart?: string[]
  }
}

assertType<Equal<typeof Store, typeof session.Store>>()
assertType<Equal<typeof MemoryStore, typeof session.MemoryStore>>()
assertType<Equal<typeof Cookie, typeof session.Cookie>>()
assertType<Equal<typeof Session, typeof session.Session>>()
assertType<Equal<typeof StoreTimeoutError, typeof session.StoreTimeoutError>>()
assertType<Equal<StoreTimeoutError, session.StoreTimeoutError>>()
assertType<Equal<Store, session.Store>>()
assertType<Equal<MemoryStore, session.MemoryStore>>()
assertType<Equal<Cookie, session.Cookie>>()
assertType<Equal<Session, session.Session>>()
assertType<Equal<SessionData, session.SessionData>>()
assertType<Equal<SessionOptions, session.SessionOptions>>()
assertType<Equal<CookieOptions, session.CookieOptions>>()
assertType<Equal<SessionEventMessage, session.SessionEventMessage>>()
assertType<Equal<StoreCallContext, session.StoreCallContext>>()
assertType<Equal<StoreErrorMessage, session.StoreErrorMessage>>()

// Both augmentations (session-data.ts is CommonJS, this file is ESM) are visible here.
assertType<Equal<SessionData['cart'], string[] | undefined>>()
assertType<Equal<SessionData['views'], number>>()

export function mount(app: express.Express): void {
  app.use(session({ secret: 'x', store: new MemoryStore(), cookie: { secure: 'auto', sameSite: 'auto' } }))
  app.post('/cart', async (req, res) => {
    assertType<Equal<typeof req.session.cart, string[] | undefined>>()
    req.session.cart = [...(req.session.cart ?? []), 'apple']
    // @ts-expect-error the cart holds strings
    req.session.cart = [1]
    await req.session.save()
    res.end()
  })
}

class EsmStore extends Store {
  get(sid: string, cb: (err: unknown, session?: SessionData | null) => void): void {
    cb(null, sid ? null : undefined)
  }
  set(sid: string, sess: SessionData, cb?: (err?: unknown) => void): void {
    if (sid && sess && cb) cb()
  }
  destroy(sid: string, cb?: (err?: unknown) => void): void {
    if (sid && cb) cb()
  }
}
export const store: Store = new EsmStore()
