import type { CipherKey } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import type { CookieInit, SameSiteOption } from './core/cookie.js'
import type { Session } from './core/session.js'
import type { Store } from './core/store.js'
import type { SessionData } from './index.js'

/** Options of the session ID cookie (the `cookie` option, or what a `cookie(req)` function returns). */
export interface CookieOptions {
  /** Lifetime in milliseconds; `Expires` is computed from it. Default: none (a browser-session cookie). */
  maxAge?: number | null
  /** Use `maxAge` instead; if both are given the last one wins. */
  expires?: Date | null
  /** `Domain` attribute. Default: none (host-only). */
  domain?: string
  /** `Path` attribute, also the path prefix under which the middleware runs. Default `'/'`. */
  path?: string
  /** `HttpOnly` attribute. Default `true`. */
  httpOnly?: boolean
  /** `Secure` attribute; `'auto'` follows the security of the request that creates the session. */
  secure?: boolean | 'auto'
  /** `SameSite` attribute; `'auto'` is `None` on secure requests and `Lax` otherwise. */
  sameSite?: SameSiteOption | 'auto'
  /** `Partitioned` attribute (CHIPS). */
  partitioned?: boolean
  /** `Priority` attribute. */
  priority?: 'low' | 'medium' | 'high'
  /** Accepted for compatibility with `@types/express-session`; the ID cookie is always signed. */
  signed?: boolean
  /** Accepted for compatibility with `@types/express-session`. */
  encode?: (value: string) => string
}

/** A request as this middleware sees it: Node's `IncomingMessage`, possibly decorated by Express or cookie-parser. */
export interface SessionRequest extends IncomingMessage {
  session?: Session | null
  sessionID?: string
  sessionStore?: Store
  /** cookie-parser's secret, used when the `secret` option is not given. */
  secret?: string
  /** Set by Express from its "trust proxy" setting. */
  secure?: boolean
  originalUrl?: string
  signedCookies?: Record<string, unknown>
  cookies?: Record<string, unknown>
}

/** Any request object the middleware can be mounted on (Express, Connect, `node:http`, HTTP/2 compatibility). */
export type AnyRequest = IncomingMessage | Http2ServerRequest

/** Any response object the middleware can be mounted on. */
export type AnyResponse = ServerResponse | Http2ServerResponse

/** The callback Connect-style middleware receives. */
export type NextFunction = (err?: unknown) => void

/**
 * How store failures are handled: `'fail'` passes them to `next(err)` (1.x), `'continue'` carries on without,
 * `'strict'` is `'fail'` where a failed save at the end of the response gives the error handler's response
 * instead of the route's.
 */
export type StoreErrorPolicy = 'fail' | 'continue' | 'strict'

/** A function of the request; declared as a method so handlers typed with a narrower request are accepted. */
export type RequestFunction<R> = { bivarianceHack(req: RequestOf): R }['bivarianceHack']

/**
 * Express's `Request` (as `@types/express-session` passes it) when Express's types are installed, and empty
 * otherwise: the import below is then unresolved, and an interface extending an unresolved type has no members.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- its members are Express's, when present
export interface ExpressRequestMembers extends ExpressRequest {}

/**
 * The request handed to `genid` and `cookie(req)`: Node's request with the global `Express.Request` members,
 * and Express's own when its types are installed.
 */
export type RequestOf = IncomingMessage & Express.Request & ExpressRequestMembers

/** Options of `session(options)`. */
export interface SessionOptions {
  /**
   * Secret(s) used to sign the session ID cookie: any HMAC key (a string, a Buffer or typed array, a `KeyObject`), or an array whose first
   * element signs and all of which verify. When omitted, `req.secret` (set by cookie-parser) is used.
   */
  secret?: CipherKey | CipherKey[]
  /** Generates a new session ID; may return a Promise. Default: 24 random bytes, base64url (192 bits). */
  genid?(req: RequestOf): string | Promise<string>
  /** Name of the session ID cookie. Default `'connect.sid'`. */
  name?: string
  /** Alias of `name`, kept from Connect. */
  key?: string
  /** The session store. Default: a new `MemoryStore`. */
  store?: Store
  /**
   * Options of the session ID cookie, or a function of the request returning them. `false` with a `header`:
   * no cookie, the session ID travels in that header only.
   */
  cookie?: CookieOptions | RequestFunction<CookieOptions> | false
  /** Set the cookie on every response, restarting its `maxAge`. Default `false`. */
  rolling?: boolean
  /** Save the session on every response even if unmodified. Default `true` (deprecated default). */
  resave?: boolean
  /** Trust `X-Forwarded-Proto` (`true`), only TLS sockets (`false`) or Express's `req.secure` (`undefined`). */
  proxy?: boolean
  /** Save new sessions even if unmodified. Default `true` (deprecated default). */
  saveUninitialized?: boolean
  /** What unsetting `req.session` does: `'keep'` (default) or `'destroy'` the stored session. */
  unset?: 'destroy' | 'keep'
  /** Expire the cookie in the response after the session is destroyed. Default `false`. */
  clearCookieOnDestroy?: boolean
  /** Milliseconds after creation after which a session is expired however active it was. Default: none. */
  absoluteTimeout?: number
  /** Milliseconds a store call may take before it fails with `code: 'ESTORETIMEOUT'`. Default: none. */
  storeTimeout?: number
  /** What a failed store call does to the request. Default `'fail'`. */
  storeErrors?: StoreErrorPolicy
  /**
   * How requests of one session running in parallel save it. A store with `patch` gets each request's changes
   * (no update lost, no logout undone) unless this is `'overwrite'`. For a store without `patch`, `'serialize'`
   * makes the saves of one session in this process run one after another, each re-reading the stored session
   * and applying its changes. `'overwrite'` writes the whole session, last writer wins, as 1.x does (the default
   * for stores without `patch`).
   */
  concurrency?: 'serialize' | 'overwrite'
  /**
   * Names the user a session belongs to, read each time the session is saved (e.g. `(s) => s.userId`); a
   * non-empty string, or `undefined` for none. The store indexes sessions by it, for
   * `req.session.listOwnSessions()` and `req.session.destroyOtherSessions()`. Default: no owner index.
   */
  owner?: (session: Session & Partial<SessionData>) => string | undefined
  /**
   * Record device facts in each session: when it was created, when it was last seen (refreshed at most once
   * per `touchAfter`) and the `User-Agent` it was created with; `listOwnSessions()` returns them. Default `false`.
   */
  track?: boolean
  /**
   * A request header (e.g. `'x-session-id'`) that carries the signed session ID for clients without cookies:
   * read when the request has no valid session cookie (a valid cookie wins), and sent, as `s:<id>.<signature>`,
   * when a session is created or regenerated, whenever its cookie would be.
   * Default: none.
   */
  header?: string
  /**
   * Milliseconds during which a request that changed nothing does not touch the store: the stored expiry is
   * pushed forward at most once per `touchAfter`. Default 0 (touch on every such request, as 1.x does).
   */
  touchAfter?: number
}

export type { CookieInit }

// Express's types are optional: without `@types/express` this import is unresolved (the directive, kept in the
// shipped declarations, keeps that from being an error there) and `ExpressRequestMembers` is empty.
// eslint-disable-next-line @typescript-eslint/ban-ts-comment -- @ts-expect-error would itself fail where Express's types are installed
/** @ts-ignore */
import type { Request as ExpressRequest } from 'express'
