/**
 * express-session: session middleware for Express and Connect.
 *
 * `require('express-session')` is the `session(options)` factory, carrying the `Store`, `Cookie`,
 * `Session` and `MemoryStore` constructors; the types live in the `session` namespace, which
 * applications augment to type their data:
 *
 * ```ts
 * declare module 'express-session' {
 *   interface SessionData { views: number }
 * }
 * ```
 */

import { AsyncStore as AsyncStoreClass, type AsyncStoreCallback as AsyncStoreCallbackShape } from './core/async-store.js'
import { Cookie as CookieClass, type CookieData as CookieDataShape } from './core/cookie.js'
import { Session as SessionClass, type RegenerateOptions as RegenerateOptionsShape } from './core/session.js'
import { Store as StoreClass, type SessionChanges as SessionChangesShape } from './core/store.js'
import type {
  DestroyOwnerOptions as DestroyOwnerOptionsShape,
  ListOwnSessionsOptions as ListOwnSessionsOptionsShape,
  OwnedSession as OwnedSessionShape,
  OwnSession as OwnSessionShape,
  SessionsOfOptions as SessionsOfOptionsShape,
} from './core/owner.js'
import { StoreTimeoutError as StoreTimeoutErrorClass } from './lib/store-call.js'
import type {
  SessionEvent as SessionEventName,
  SessionEventMessage as SessionEventPayload,
  StoreCallContext as StoreCallPayload,
  StoreErrorMessage as StoreErrorPayload,
} from './lib/diagnostics.js'
import { MemoryStore as MemoryStoreClass, type MemoryStoreOptions as MemoryStoreOptionsShape } from './memory-store.js'
import { createMiddleware, type SessionMiddleware } from './middleware/index.js'
import { resolveOptions } from './middleware/options.js'
import type {
  CookieOptions as CookieOptionsShape,
  SessionOptions as SessionOptionsShape,
  StoreErrorPolicy as StoreErrorPolicyShape,
} from './types.js'

/**
 * Creates the session middleware. See the README for every option.
 *
 * @example
 * app.use(session({ secret: 'keyboard cat', resave: false, saveUninitialized: false }))
 */
function session(options?: session.SessionOptions): SessionMiddleware {
  const config = resolveOptions(options, () => new MemoryStoreClass())
  if (process.env.NODE_ENV === 'production' && config.store instanceof MemoryStoreClass) warnMemoryStoreInProduction()
  return createMiddleware(config)
}

const PRODUCTION_WARNING =
  'Warning: connect.session() MemoryStore is not\n' +
  'designed for a production environment: it keeps sessions in this\n' +
  'process only, so they are lost on restart and not shared between processes.\n' +
  'Expired sessions are swept, but sessions without cookie.maxAge never expire:\n' +
  'bound their number with new MemoryStore({ max }).\n' +
  'Use a shared store (Redis, PostgreSQL, ...) in production.'

let warnedProduction = false

/** Warns once per process that the MemoryStore is not for production (as 1.x does, in its own words). */
function warnMemoryStoreInProduction(): void {
  if (warnedProduction) return
  warnedProduction = true
  console.warn(PRODUCTION_WARNING)
}

// eslint-disable-next-line @typescript-eslint/no-namespace -- `export =` of a function with types beside it, as @types/express-session declares them
namespace session {
  /** Session data: augment this interface to type `req.session` fields. */
  export interface SessionData {
    cookie: Cookie
  }
  export type SessionOptions = SessionOptionsShape
  export type CookieOptions = CookieOptionsShape
  export type CookieData = CookieDataShape
  export type MemoryStoreOptions = MemoryStoreOptionsShape
  export type RegenerateOptions = RegenerateOptionsShape
  export type StoreErrorPolicy = StoreErrorPolicyShape
  export type SessionEvent = SessionEventName
  export type SessionEventMessage = SessionEventPayload
  export type StoreCallContext = StoreCallPayload
  export type StoreErrorMessage = StoreErrorPayload
  export type SessionChanges = SessionChangesShape
  /** One session of the current user, as `req.session.listOwnSessions()` gives it. */
  export type OwnSession = OwnSessionShape
  export type ListOwnSessionsOptions = ListOwnSessionsOptionsShape
  /** One session of an owner, as a store's `sessionsOf` lists it. */
  export type OwnedSession = OwnedSessionShape
  export type SessionsOfOptions = SessionsOfOptionsShape
  export type DestroyOwnerOptions = DestroyOwnerOptionsShape

  /** Base of session stores (an EventEmitter); see "Writing a store" in the README. */
  export const Store = StoreClass
  export type Store = StoreClass
  /**
   * Base of stores written with `async get/set/destroy/...`: each instance is callable both with a trailing
   * callback and as promises. `Data` is the stored session data (default {@link SessionData}).
   */
  export const AsyncStore = AsyncStoreClass
  export type AsyncStore<Data extends SessionData = SessionData> = AsyncStoreClass<Data>
  /** The callback an {@link AsyncStore} method accepts: an error, or `null` and the result. */
  export type AsyncStoreCallback<T = void> = AsyncStoreCallbackShape<T>
  /** The bundled in-memory store: one process only. */
  export const MemoryStore = MemoryStoreClass
  export type MemoryStore = MemoryStoreClass
  /** The session ID cookie of a session. */
  export const Cookie = CookieClass
  export type Cookie = CookieClass
  /** A request's session (`req.session`). */
  export const Session = SessionClass
  export type Session = SessionClass
  /** The error a store call fails with after `storeTimeout` ms (`code: 'ESTORETIMEOUT'`). */
  export const StoreTimeoutError = StoreTimeoutErrorClass
  export type StoreTimeoutError = StoreTimeoutErrorClass
}

declare global {
  // Merged into Express's `Request` when Express's types are present, harmless otherwise.
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express declares Request in this global namespace
  namespace Express {
    /** The store on `req.sessionStore`: a `Store`, with the `generate(req)` the middleware sets. */
    type SessionStore = session.Store

    interface Request {
      /** This request's session; its data fields are typed by augmenting `SessionData`. */
      session: session.Session & Partial<session.SessionData>
      /** The ID of this request's session. */
      sessionID: string
      /** The store the session middleware uses. */
      sessionStore: SessionStore
    }
  }
}

export = session

// Lets Node's CommonJS named-export detection (ESM `import { Store } from 'express-session'`) see them.
const { Store, AsyncStore, Cookie, Session, MemoryStore, StoreTimeoutError } = session
/* c8 ignore next 2 */
// eslint-disable-next-line @typescript-eslint/no-unused-expressions, @typescript-eslint/no-unnecessary-condition -- never runs: the pattern cjs-module-lexer reads
0 && (module.exports = { Store, AsyncStore, Cookie, Session, MemoryStore, StoreTimeoutError })
