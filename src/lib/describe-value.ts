/**
 * How error messages show the value an option was given: its type, and the value itself when it is short.
 * @internal
 */

/** Values longer than this are shown by type and size only. */
const SHORT = 40

function short(text: string): string | undefined {
  return text.length <= SHORT ? text : undefined
}

function describeObject(value: object): string {
  if (value instanceof Date) {
    return Number.isFinite(value.valueOf()) ? `Date ${value.toISOString()}` : 'an invalid Date'
  }
  if (Buffer.isBuffer(value)) return value.length === 0 ? 'an empty Buffer' : `a Buffer of ${value.length} bytes`
  if (Array.isArray(value)) {
    if (value.length === 0) return 'an empty array'
    let json: string | undefined
    try {
      json = short(JSON.stringify(value))
    } catch {
      json = undefined
    }
    return json === undefined ? `an array of ${value.length} items` : `array ${json}`
  }
  const constructorName = (value as { constructor?: { name?: unknown } }).constructor?.name
  if (typeof constructorName === 'string' && constructorName !== '' && constructorName !== 'Object') {
    return `a ${constructorName} object`
  }
  return 'an object'
}

/**
 * `string "1h"`, `number NaN`, `an empty string`, `an invalid Date`, `function RedisStore`, `an object`...:
 * what a message says the option was given.
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value === 'object') return describeObject(value)
  switch (typeof value) {
    case 'undefined':
      return 'undefined'
    case 'string': {
      if (value === '') return 'an empty string'
      const json = short(JSON.stringify(value))
      return json === undefined ? `a string of ${value.length} characters` : `string ${json}`
    }
    case 'number':
    case 'boolean':
      return `${typeof value} ${String(value)}`
    case 'bigint':
      return `bigint ${String(value)}n`
    case 'symbol':
      return 'a symbol'
    default: {
      // a function
      const name = (value as { name?: unknown }).name
      return typeof name === 'string' && name !== '' ? `function ${name}` : 'a function'
    }
  }
}

/**
 * The message of a `TypeError` for a bad option: `<option> must be <accepted> (got <value described>)`, then
 * `hint` (what to do) when given.
 */
export function optionMessage(option: string, accepted: string, value: unknown, hint?: string): string {
  const message = `${option} must be ${accepted} (got ${describeValue(value)})`
  return hint === undefined ? message : `${message}; ${hint}`
}
