/**
 * Large top-level members of a stored session, kept as JSON text until the application first uses them.
 *
 * A session with a 10 KB cart costs one `JSON.parse` of it when loaded and one `JSON.stringify` when the
 * request ends, even when the request never looks at the cart. The bundled MemoryStore hands the middleware
 * its sessions with each member of at least {@link LAZY_MIN_LENGTH} characters of JSON left unparsed: the
 * member is an accessor that parses it on first read (or is replaced on first write) and becomes an ordinary
 * data property. A member nobody touched is serialized again as the very text it was read from.
 *
 * Only JSON the store wrote itself is read this way: it is valid and canonical (what `JSON.stringify` gives
 * back after `JSON.parse`), so the text of an untouched member is exactly what serializing it would give.
 * @internal
 */

/** Members whose JSON has fewer characters than this are parsed with the rest of the session. */
export const LAZY_MIN_LENGTH = 1024

/**
 * Saves of a session for which a large member the application used stays parsed with the rest (cheaper when
 * it is used on every request), before it is left unparsed again.
 */
export const EAGER_SAVES = 16

/** Where a large member's value is, in a JSON object's text: `json.slice(start, end)`. */
export interface MemberSpan {
  key: string
  start: number
  end: number
  /** Saves left for which the member is parsed with the rest, as it was used recently; 0: left unparsed. */
  eager: number
}

/** A lazy member: its JSON text and the accessor standing for it. */
interface LazyMember {
  text: string
  accessor: PropertyDescriptor
}

/**
 * What an object loaded this way was given (shared, never changed, by every object it is copied to): its
 * unparsed members, and the saves left for each large member parsed with the rest.
 */
interface LazyRecord {
  lazy: Map<string, LazyMember>
  eager: Map<string, number>
}

const kLazy = Symbol('express-session.lazy-members')

/** Values parsed for objects on which the member could not become a data property (frozen or sealed). */
const pinned = new WeakMap<object, Map<string, unknown>>()

function dataProperty(value: unknown): PropertyDescriptor {
  return { value, writable: true, enumerable: true, configurable: true }
}

/** Parses `key`'s text on first read, and turns the member into a data property holding the result. */
function materialize(target: object, key: string): unknown {
  const kept = pinned.get(target)
  if (kept !== undefined && kept.has(key)) return kept.get(key)
  const member = (target as { [kLazy]?: LazyRecord })[kLazy]?.lazy.get(key)
  if (member === undefined) return undefined
  const value: unknown = JSON.parse(member.text)
  try {
    Object.defineProperty(target, key, dataProperty(value))
  } catch {
    // the object was frozen or sealed: keep the value so that every read returns the same one
    pin(target, key, value)
  }
  return value
}

/** Keeps `value` as `target[key]` where the member cannot become a data property. */
function pin(target: object, key: string, value: unknown): void {
  const kept = pinned.get(target)
  if (kept === undefined) pinned.set(target, new Map([[key, value]]))
  else kept.set(key, value)
}

/** Accessors by member name: sessions sharing them share V8 hidden classes. Bounded; rarer names get their own. */
const accessors = new Map<string, PropertyDescriptor>()
const MAX_SHARED_ACCESSORS = 64

function accessorFor(key: string): PropertyDescriptor {
  let accessor = accessors.get(key)
  if (accessor !== undefined) return accessor
  accessor = {
    get(this: object) {
      return materialize(this, key)
    },
    set(this: object, value: unknown) {
      try {
        Object.defineProperty(this, key, dataProperty(value))
      } catch {
        // sealed (the value is kept aside, as reads find it) or frozen (read-only, as a frozen data property is)
        if (Object.isFrozen(this)) throw new TypeError(`Cannot assign to read only property '${key}' of object`)
        pin(this, key, value)
      }
    },
    enumerable: true,
    configurable: true,
  }
  if (accessors.size < MAX_SHARED_ACCESSORS) accessors.set(key, accessor)
  return accessor
}

function recordOf(target: object): LazyRecord | undefined {
  return (target as { [kLazy]?: LazyRecord })[kLazy]
}

/** Whether `target[key]` is still the unparsed member of `record` (not read, written, redefined or deleted). */
function isLazy(target: object, record: LazyRecord, key: string): boolean {
  const member = record.lazy.get(key)
  if (member === undefined || Object.getOwnPropertyDescriptor(target, key)?.get !== member.accessor.get) return false
  return pinned.get(target)?.has(key) !== true
}

/** Index of the `"` closing the JSON string whose opening quote is at `start`, or -1. */
function stringEnd(json: string, start: number): number {
  let quote = json.indexOf('"', start + 1)
  while (quote !== -1) {
    // escaped when an odd number of backslashes precede it
    let backslashes = 0
    while (json.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++
    if (backslashes % 2 === 0) return quote
    quote = json.indexOf('"', quote + 1)
  }
  return -1
}

/**
 * Index of the `,` or `}` ending the value that starts at `start` in an object's text, or -1. Strings are
 * skipped with `indexOf`.
 */
export function valueEnd(json: string, start: number): number {
  let depth = 0
  for (let i = start; i < json.length; i++) {
    const c = json.charCodeAt(i)
    if (c === 0x22) {
      i = stringEnd(json, i)
      if (i === -1) return -1
    } else if (c === 0x7b || c === 0x5b) depth++
    else if (c === 0x7d || c === 0x5d) {
      if (depth === 0) return c === 0x7d ? i : -1
      depth--
    } else if (c === 0x2c && depth === 0) return i
  }
  return -1
}

/**
 * The large members (other than `cookie`) of a JSON object written by `JSON.stringify` (no whitespace);
 * `undefined` when the text is not such an object.
 */
export function largeMemberSpans(json: string): MemberSpan[] | undefined {
  if (json.charCodeAt(0) !== 0x7b) return undefined
  const spans: MemberSpan[] = []
  if (json === '{}') return spans
  for (let i = 1; ; ) {
    if (json.charCodeAt(i) !== 0x22) return undefined
    const keyEnd = stringEnd(json, i)
    if (keyEnd === -1 || json.charCodeAt(keyEnd + 1) !== 0x3a) return undefined
    const start = keyEnd + 2
    const end = valueEnd(json, start)
    if (end === -1) return undefined
    if (end - start >= LAZY_MIN_LENGTH) {
      const key = JSON.parse(json.slice(i, keyEnd + 1)) as string
      if (key !== 'cookie') spans.push({ key, start, end, eager: 0 })
    }
    if (json.charCodeAt(end) === 0x7d) return end === json.length - 1 ? spans : undefined
    i = end + 1
  }
}

/**
 * `JSON.parse(json)`, except that the members at `spans` (not used recently) stay unparsed until first used.
 * `json` must be valid, canonical JSON (see the module comment) and `spans` its large members.
 */
export function parseWithLazyMembers(json: string, spans: readonly MemberSpan[]): Record<string, unknown> {
  // the rest of the session, with `null` in place of each unparsed member (which keeps the members' order)
  let rest = ''
  let from = 0
  for (const { start, end, eager } of spans) {
    if (eager > 0) continue
    rest += json.slice(from, start) + 'null'
    from = end
  }
  const data = JSON.parse(from === 0 ? json : rest + json.slice(from)) as Record<string, unknown>
  const record: LazyRecord = { lazy: new Map(), eager: new Map() }
  for (const { key, start, end, eager } of spans) {
    if (eager > 0) {
      record.eager.set(key, eager)
      continue
    }
    const accessor = accessorFor(key)
    record.lazy.set(key, { text: json.slice(start, end), accessor })
    Object.defineProperty(data, key, accessor)
  }
  Object.defineProperty(data, kLazy, { value: record })
  return data
}

/** Whether `target` was loaded with its large members tracked (some may be unparsed). */
export function hasLazyMembers(target: object): boolean {
  return recordOf(target) !== undefined
}

/**
 * Copies `source[key]` onto `target` as it is: when it is an unparsed member, it stays one (no parsing);
 * otherwise by assignment. For the Session constructor.
 */
export function copyMember(target: object, source: object, key: string): void {
  const record = recordOf(source)
  if (record !== undefined) {
    if (recordOf(target) === undefined) Object.defineProperty(target, kLazy, { value: record })
    if (recordOf(target) === record && isLazy(source, record, key)) {
      Object.defineProperty(target, key, record.lazy.get(key)!.accessor)
      return
    }
  }
  ;(target as Record<string, unknown>)[key] = (source as Record<string, unknown>)[key]
}

/** Parses every member of `target` still unparsed (for printing it). */
export function materializeAll(target: object): void {
  const record = recordOf(target)
  if (record === undefined) return
  for (const key of record.lazy.keys()) {
    if (isLazy(target, record, key)) materialize(target, key)
  }
}

/** The `eager` of a large member that is parsed now: used after being left unparsed, or parsed with the rest. */
function eagerSavesLeft(record: LazyRecord, key: string): number {
  if (record.lazy.has(key)) return EAGER_SAVES
  const left = record.eager.get(key)
  return left === undefined ? 0 : left - 1
}

/** The JSON of a member `key` holding `value`, as `JSON.stringify` writes it inside an object; `undefined` to omit it. */
function memberJson(key: string, value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return JSON.stringify(value)
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined
    case 'object':
      if (value === null) return 'null'
      if (typeof (value as { toJSON?: unknown }).toJSON !== 'function') return JSON.stringify(value)
  }
  // toJSON (or a BigInt's): serialized as a member, so that toJSON receives its key
  const keyJson = JSON.stringify(key)
  const wrapped = JSON.stringify({ [key]: value })
  return wrapped === '{}' ? undefined : wrapped.slice(keyJson.length + 2, -1)
}

/** An object's last serialization with lazy members, and its large members (see {@link largeMembersOf}). */
const kSerialized = Symbol('express-session.lazy-members.serialized')

interface Serialized {
  json: string
  spans: MemberSpan[]
}

/**
 * `JSON.stringify(target)` without its top-level `cookie`, writing the members still unparsed as the text
 * they were read from; `undefined` when `target` has no lazy members (the caller serializes it as usual).
 */
export function serializeWithLazyMembers(target: object): string | undefined {
  const record = recordOf(target)
  if (record === undefined) return undefined
  // a toJSON of the session's own, or one added to every object or array (which the stored text predates)
  if (typeof (target as { toJSON?: unknown }).toJSON === 'function' ||
      (Object.prototype as { toJSON?: unknown }).toJSON !== undefined ||
      (Array.prototype as { toJSON?: unknown }).toJSON !== undefined) {
    materializeAll(target)
    return undefined
  }
  const spans: MemberSpan[] = []
  let json = '{'
  for (const key of Object.keys(target)) {
    if (key === 'cookie') continue
    const lazy = isLazy(target, record, key)
    const text = lazy ? record.lazy.get(key)!.text : memberJson(key, (target as Record<string, unknown>)[key])
    if (text === undefined) continue
    json += (json.length === 1 ? '' : ',') + JSON.stringify(key) + ':'
    if (text.length >= LAZY_MIN_LENGTH) {
      spans.push({ key, start: json.length, end: json.length + text.length, eager: lazy ? 0 : eagerSavesLeft(record, key) })
    }
    json += text
  }
  json += '}'
  const last = (target as { [kSerialized]?: Serialized })[kSerialized]
  if (last !== undefined) {
    last.json = json
    last.spans = spans
  } else if (Object.isExtensible(target)) {
    Object.defineProperty(target, kSerialized, { value: { json, spans } })
  }
  return json
}

/**
 * The large members of `dataJson` when it is the last serialization of `target` made with lazy members (the
 * store then need not look for them); `undefined` when unknown.
 */
export function largeMembersOf(target: object, dataJson: string): MemberSpan[] | undefined {
  const last = (target as { [kSerialized]?: Serialized })[kSerialized]
  return last !== undefined && last.json === dataJson ? last.spans : undefined
}
