/**
 * Deprecation warnings through Node's own warning mechanism, each message once per process.
 * Silenced the way `depd` is: `NO_DEPRECATION=express-session` (comma- or space-separated list, `*` for all)
 * or `node --no-deprecation`.
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
