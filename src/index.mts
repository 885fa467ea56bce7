/**
 * ESM entry: re-exports the CommonJS implementation, so that `Store` and the other constructors exist
 * once whether the package is imported or required.
 */
import session from './index.js'

export default session
export const { Store, AsyncStore, Cookie, Session, MemoryStore, StoreTimeoutError } = session
export type {
  SessionData,
  SessionOptions,
  CookieOptions,
  CookieData,
  MemoryStoreOptions,
  RegenerateOptions,
  StoreErrorPolicy,
  SessionEvent,
  SessionEventMessage,
  StoreCallContext,
  StoreErrorMessage,
  AsyncStoreCallback,
  SessionChanges,
  OwnSession,
  ListOwnSessionsOptions,
  OwnedSession,
  SessionsOfOptions,
  DestroyOwnerOptions,
} from './index.js'

/** Base of session stores. */
export type Store = session.Store
/** Base of stores written with `async` methods, callable with callbacks or as promises. */
export type AsyncStore<Data extends session.SessionData = session.SessionData> = session.AsyncStore<Data>
/** The bundled in-memory store. */
export type MemoryStore = session.MemoryStore
/** The session ID cookie of a session. */
export type Cookie = session.Cookie
/** A request's session. */
export type Session = session.Session
/** The error a store call fails with after `storeTimeout` ms. */
export type StoreTimeoutError = session.StoreTimeoutError
