/**
 * The members of a JSON object text, found without parsing their values: what lets the MemoryStore apply a
 * change set to a stored session by replacing the JSON of the changed keys only.
 * @internal
 */

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
const COMMA = 0x2c
const COLON = 0x3a

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++
  return i
}

/**
 * The index just past the string starting at `i` (a quote), or -1 when it does not end: the first quote after it
 * that an odd run of backslashes does not escape, found by `indexOf` rather than character by character.
 */
function endOfString(text: string, i: number): number {
  let quote = text.indexOf('"', i + 1)
  while (quote >= 0) {
    let slashes = 0
    while (text.charCodeAt(quote - 1 - slashes) === BACKSLASH) slashes++
    if (slashes % 2 === 0) return quote + 1
    quote = text.indexOf('"', quote + 1)
  }
  return -1
}

/** The index just past the value starting at `i`, or -1 when it does not end where a value can. */
function endOfValue(text: string, i: number): number {
  const first = text.charCodeAt(i)
  if (first === QUOTE) return endOfString(text, i)
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0
    for (let j = i; j < text.length; j++) {
      const code = text.charCodeAt(j)
      if (code === QUOTE) {
        j = endOfString(text, j) - 1
        if (j < 0) return -1
      } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
        depth++
      } else if ((code === CLOSE_BRACE || code === CLOSE_BRACKET) && --depth === 0) {
        return j + 1
      }
    }
    return -1
  }
  // a number, true, false or null: up to the next separator
  let j = i
  while (j < text.length) {
    const code = text.charCodeAt(j)
    if (code === COMMA || code === CLOSE_BRACE || code === CLOSE_BRACKET || isSpace(code)) break
    j++
  }
  return j === i ? -1 : j
}

/** A key written with escapes, decoded; `undefined` when its escapes are not JSON's. */
function parseKey(keyText: string): string | undefined {
  try {
    return JSON.parse(keyText) as string
  } catch {
    return undefined
  }
}

/**
 * The members of the JSON object `text`, in order: each key with its value's JSON text (as it stands in `text`).
 * `undefined` when `text` is not a JSON object. Values are delimited, not validated: a value that is not valid
 * JSON stays as it is (and fails whoever parses it).
 */
export function jsonMembers(text: string): Map<string, string> | undefined {
  const members = new Map<string, string>()
  let i = skipSpace(text, 0)
  if (text.charCodeAt(i) !== OPEN_BRACE) return undefined
  i = skipSpace(text, i + 1)
  if (text.charCodeAt(i) === CLOSE_BRACE) return skipSpace(text, i + 1) === text.length ? members : undefined
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return undefined
    const keyEnd = endOfString(text, i)
    if (keyEnd < 0) return undefined
    const keyText = text.slice(i, keyEnd)
    const key = keyText.includes('\\') ? parseKey(keyText) : keyText.slice(1, -1)
    if (key === undefined) return undefined
    i = skipSpace(text, keyEnd)
    if (text.charCodeAt(i) !== COLON) return undefined
    i = skipSpace(text, i + 1)
    const valueEnd = endOfValue(text, i)
    if (valueEnd < 0) return undefined
    // a repeated key: JSON.parse keeps the last value, at the first key's place, as a Map does
    members.set(key, text.slice(i, valueEnd))
    i = skipSpace(text, valueEnd)
    const code = text.charCodeAt(i)
    if (code === COMMA) {
      i = skipSpace(text, i + 1)
    } else if (code === CLOSE_BRACE) {
      return skipSpace(text, i + 1) === text.length ? members : undefined
    } else {
      return undefined
    }
  }
}

/** The JSON object text of `members` (keys with their values' JSON text). */
export function jsonObject(members: Map<string, string>): string {
  let text = ''
  for (const [key, value] of members) text += (text === '' ? '{' : ',') + JSON.stringify(key) + ':' + value
  return text === '' ? '{}' : text + '}'
}

/**
 * `text` (a JSON object text) with the value of its first member replaced by `valueJson`, when that member is
 * `key` (written without escapes or spaces, `{"key":`, as `JSON.stringify` writes it) and no other member of that
 * key follows (a repeated key would win when parsed); `undefined` otherwise, for the caller to parse and rewrite
 * the text. The other members keep their text as it stands; only the replaced value is delimited (not validated).
 */
export function withFirstMember(text: string, key: string, valueJson: string): string | undefined {
  const keyJson = JSON.stringify(key)
  const prefix = '{' + keyJson + ':'
  if (!text.startsWith(prefix)) return undefined
  const end = endOfValue(text, prefix.length)
  if (end < 0) return undefined
  const next = text.charCodeAt(end)
  if (!(next === COMMA || (next === CLOSE_BRACE && end === text.length - 1))) return undefined
  // another member of that key, written plainly or with \u escapes (JSON.stringify writes them in no key's letters)
  if (text.includes(keyJson, end) || text.includes('\\u', end)) return undefined
  return prefix + valueJson + text.slice(end)
}
