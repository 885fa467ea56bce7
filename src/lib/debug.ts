/**
 * The package's `DEBUG=express-session` output. Every line goes through {@link debug}, which returns at once
 * when that output is off: the `debug` package's own function allocates an array for its arguments on every
 * call, on or off, and the request path makes several.
 * @internal
 */

import debugFactory from 'debug'

const output = debugFactory('express-session')

/** `debug('express-session')(format, a, b)` when `DEBUG` enables it; nothing otherwise. */
export function debug(format: string, a?: unknown, b?: unknown): void {
  if (!output.enabled) return
  if (arguments.length === 1) output(format)
  else if (arguments.length === 2) output(format, a)
  else output(format, a, b)
}
