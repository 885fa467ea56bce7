/**
 * The package's process warnings, through Node's own mechanism (`process.emitWarning`):
 * - deprecations, each message once per process, silenced the way `depd` is: `NO_DEPRECATION=express-session`
 *   (comma- or space-separated list, `*` for all) or `node --no-deprecation`;
 * - warnings about a setup that cannot work as meant, each with a code and what to do, once per process or
 *   per middleware; silenced as Node's warnings are (`node --no-warnings`, `--disable-warning=<code>`).
 * @internal
 */

const NAMESPACE = 'express-session'
const warned = new Set<string>()

function silenced(): boolean {
  if (process.noDeprecation) return true
  const list = process.env.NO_DEPRECATION
  if (!list) return false
  return list.split(/[ ,]+/).some((name) => name === '*' || name.toLowerCase() === NAMESPACE)
}

/** Emits `express-session deprecated <message>` once, unless deprecations are silenced. */
export function deprecate(message: string): void {
  if (warned.has(message)) return
  warned.add(message)
  if (silenced()) return
  process.emitWarning(`${NAMESPACE} deprecated ${message}`, 'DeprecationWarning', 'EXPRESS_SESSION')
}

/** The package's warnings, by code: each says what went wrong and what to do. */
export const WARNINGS = {
  EXPRESS_SESSION_NO_SECRET:
    'no secret option: every request will fail with "secret option required for sessions" unless cookie-parser ' +
    'with a secret runs before the session middleware (app.use(cookieParser(secret))). Set the secret option: ' +
    'session({ secret: process.env.SESSION_SECRET, ... }), a long random string kept out of the source code',
  EXPRESS_SESSION_SECURE_COOKIE_NOT_SENT:
    'cookie.secure is true but a request came over plain HTTP, so no session cookie was sent and the next ' +
    'request starts a new session. Behind a proxy or load balancer that terminates HTTPS, trust it: ' +
    "app.set('trust proxy', 1) (or the proxy option: true); to send the cookie over HTTP too (local " +
    "development), use secure: 'auto'",
  EXPRESS_SESSION_MOUNTED_TWICE:
    'the same session middleware ran twice on one request (it is mounted twice, e.g. on the app and again on ' +
    'a router); the second run does nothing. Mount it once',
  EXPRESS_SESSION_OTHER_MIDDLEWARE_FIRST:
    'a session middleware ran on a request another session middleware had already given a session: it does ' +
    'nothing, so its own name, store and cookie options are not used for that request. Mount one session ' +
    'middleware on each route, or give them cookie paths that do not overlap',
} as const

/** A warning's code. */
export type WarningCode = keyof typeof WARNINGS

/** Who has already emitted which warning: the process (see {@link warnOnce}) or one middleware. */
const emitted = new WeakMap<object, Set<WarningCode>>()

/** The owner of the warnings emitted once per process. */
const PROCESS = {}

/**
 * Emits the warning `code` (`express-session: <what to do>`) once for `owner` (a middleware's configuration,
 * for a warning about what a request showed) or once per process.
 */
export function warnOnce(code: WarningCode, owner: object = PROCESS): void {
  let codes = emitted.get(owner)
  if (codes === undefined) emitted.set(owner, (codes = new Set()))
  if (codes.has(code)) return
  codes.add(code)
  process.emitWarning(`${NAMESPACE}: ${WARNINGS[code]}`, { code })
}
