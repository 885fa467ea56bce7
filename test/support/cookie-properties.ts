/**
 * Property-based model of the cookie and signature path, shared by `cookie-fuzz.test.ts` (the fast run
 * in `npm test`) and `fuzz.ts` (`npm run fuzz`, a million cases).
 *
 * Each generated case is a `Cookie` header (structured: session cookies with valid, rotated-out, wrong,
 * truncated or extended signatures in several encodings, among noise cookies; or raw: arbitrary strings
 * mixed with those fragments), a middleware configuration and whether the route changes the session.
 * The expected outcome comes from an independent model of the documented rules, {@link expectedSignedId}:
 * the first cookie of the name wins, its value is URL-decoded when it can be, only `s:<id>.<sig>` values
 * are considered, and `sig` must be the unpadded base64 HMAC-SHA256 of `<id>` under one of the secrets.
 * A session is adopted only when that ID is signed and the store knows it; otherwise a fresh ID is issued.
 */
import assert from 'node:assert/strict'
import { createHmac, randomBytes } from 'node:crypto'
import http from 'node:http'
import net from 'node:net'
import fc from 'fast-check'
import session from 'express-session'
import { cookieValue, invoke, type Middleware } from './in-process.js'

/** Unpadded base64 HMAC-SHA256 of `value`: the signature format of the session cookie. */
export function hmac(value: string, secret: string | Buffer): string {
  return createHmac('sha256', secret).update(value).digest('base64').replace(/=+$/, '')
}

/** Trims spaces and horizontal tabs (the only whitespace RFC 6265 cookie parsing skips). */
function trimOws(text: string): string {
  let start = 0
  let end = text.length
  while (start < end && (text[start] === ' ' || text[start] === '\t')) start++
  while (end > start && (text[end - 1] === ' ' || text[end - 1] === '\t')) end--
  return text.slice(start, end)
}

/** Percent-decodes `text` when it has a `%` and is valid; otherwise keeps it as it is. */
function decodeValue(text: string): string {
  if (!text.includes('%')) return text
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/**
 * The model: the session ID a `Cookie` header validly carries for cookie `name` under `secrets`, or
 * undefined. Pairs are separated by `;`, pairs without `=` are skipped, names and values are trimmed of
 * spaces and tabs, the first pair named `name` decides.
 */
export function expectedSignedId(header: string, name: string, secrets: ReadonlyArray<string | Buffer>): string | undefined {
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=')
    if (eq === -1) continue
    if (trimOws(pair.slice(0, eq)) !== name) continue
    const value = decodeValue(trimOws(pair.slice(eq + 1)))
    if (!value.startsWith('s:')) return undefined
    const body = value.slice(2)
    const dot = body.lastIndexOf('.')
    if (dot === -1) return undefined
    const id = body.slice(0, dot)
    const signature = body.slice(dot + 1)
    return secrets.some((secret) => hmac(id, secret) === signature) ? id : undefined
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------------------
// The fixture: configurations, secrets, and a store that knows a few sessions
// ---------------------------------------------------------------------------------------------------------

const CURRENT = 'hardening secret 2025'
const PREVIOUS = 'hardening secret 2024'
/** Was a secret, rotated out: must no longer verify. */
const RETIRED = 'hardening secret 2023'
const BUFFER_SECRET = randomBytes(32)

/** Every secret the generator signs with; only a configuration's own list verifies. */
export const ALL_SECRETS: ReadonlyArray<string | Buffer> = [CURRENT, PREVIOUS, RETIRED, BUFFER_SECRET, 'wrong secret', '']

/** One middleware under test and the rules it was configured with. */
export interface FuzzConfig {
  label: string
  name: string
  /** Secrets that verify; the first signs. */
  secrets: ReadonlyArray<string | Buffer>
  rolling: boolean
  saveUninitialized: boolean
  middleware: Middleware
}

/** Session IDs the store knows. Real ones (base64url) and some a custom `genid` could have made. */
function makeKnownIds(): string[] {
  const ids = Array.from({ length: 6 }, () => randomBytes(24).toString('base64url'))
  ids.push('legacy.id.with.dots', 'ünïcödé-id', 'pct%41id', ' spaced id ')
  return ids
}

/**
 * A MemoryStore (bounded, so long runs stay small) in front of a fixed set of known sessions, each of which
 * carries `owner: <its id>`. Writes are logged with the request's `x-case` header; writes to a known ID are
 * logged and dropped, so the fixtures never change.
 */
class FixtureStore extends session.MemoryStore {
  readonly fixtures = new Map<string, string>()
  /** Session IDs written, by the `x-case` header of the request that wrote them. */
  readonly writes = new Map<string, string[]>()

  constructor(knownIds: string[]) {
    super({ max: 2000, checkPeriod: 0 })
    // its get answers from the fixtures, which a MemoryStore patch would not see: whole writes only
    ;(this as { patch?: unknown }).patch = undefined
    const expires = new Date(Date.now() + 7 * 24 * 3600 * 1000).toISOString()
    for (const id of knownIds) {
      const cookie = { originalMaxAge: 7 * 24 * 3600 * 1000, expires, httpOnly: true, path: '/' }
      this.fixtures.set(id, JSON.stringify({ cookie, owner: id }))
    }
  }

  override get(sid: string, callback: (err: any, sess?: any) => void): void {
    const json = this.fixtures.get(sid)
    if (json !== undefined) setImmediate(callback, null, JSON.parse(json))
    else super.get(sid, callback)
  }

  override set(sid: string, sess: any, callback?: (err?: any) => void): void {
    const tag = String(sess?.req?.headers?.['x-case'])
    const list = this.writes.get(tag)
    if (list) list.push(sid)
    else this.writes.set(tag, [sid])
    if (this.fixtures.has(sid)) {
      if (callback) setImmediate(callback)
      return
    }
    super.set(sid, sess, callback)
  }

  override touch(sid: string, sess: any, callback?: (err?: any) => void): void {
    if (this.fixtures.has(sid)) {
      if (callback) setImmediate(callback)
      return
    }
    super.touch(sid, sess, callback)
  }
}

/** Everything the properties need: the configurations, the known IDs and their store. */
export interface CookieFixture {
  configs: FuzzConfig[]
  knownIds: string[]
  store: FixtureStore
}

export function createCookieFixture(): CookieFixture {
  const knownIds = makeKnownIds()
  const store = new FixtureStore(knownIds)
  const make = (label: string, options: session.SessionOptions & { name: string; secret: Array<string | Buffer> }): FuzzConfig => ({
    label,
    name: options.name,
    secrets: options.secret,
    rolling: Boolean(options.rolling),
    saveUninitialized: Boolean(options.saveUninitialized),
    middleware: session({ store, resave: false, ...options }) as Middleware,
  })
  const configs = [
    // secret rotation: the new secret signs, the previous one still verifies; rolling re-signs every response
    make('rotation', { name: 'connect.sid', secret: [CURRENT, PREVIOUS], rolling: true, saveUninitialized: false }),
    make('buffer-secret', { name: 'sid', secret: [BUFFER_SECRET, CURRENT], saveUninitialized: true }),
    make('single-secret', { name: 'app.session-id', secret: [CURRENT], saveUninitialized: true, cookie: { maxAge: 60_000, sameSite: 'lax' } }),
  ]
  return { configs, knownIds, store }
}

// ---------------------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------------------

/** One generated request. */
export interface CookieCase {
  config: number
  /** The Cookie header, or several `Cookie` header lines (over the wire; joined with `; ` by Node). */
  lines: string[]
  /** Whether the route writes to the session. */
  mutate: boolean
  /** IDs the generator put into the header (valid or not): a fresh ID must be none of them. */
  ids: string[]
}

/** Sizes of the generated headers. */
export interface GeneratorLimits {
  /** Longest single noise value (a "huge" cookie). */
  hugeValue: number
  /** Most extra small cookies added to one header ("many cookies"). */
  manyCookies: number
  /** Strip control characters from 9 cases in 10 (over the wire, Node refuses them before the middleware). */
  rareControlCharacters?: boolean
}

const SPECIAL_FRAGMENTS = [
  '%', '%%', '%2', '%G1', '%zz', '%00', '%25', '%3B', '%3D', '%20', '%E0%A4%A', '%C3%28', '%ED%A0%80', '%C0%AF', '%FF',
  ';', '=', ' ', '\t', '"', ',', '\\', '\uD800', '\uDFFF', '\uFEFF', '\u2028', '\u00a0', '\x7f', '\x00', '\r\n',
  's:', 's%3A', '.', 'connect.sid', 'sid', 'app.session-id', '__proto__', 'constructor',
]

/** Single "characters" of noise: ASCII, any code point, control characters, lone surrogates, fragments. */
const noiseUnit: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 31 }).map((code) => String.fromCharCode(code)) },
  { weight: 2, arbitrary: fc.constantFrom(...SPECIAL_FRAGMENTS) },
)

const noiseString = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: noiseUnit, maxLength })

const whitespace = fc.constantFrom('', '', '', ' ', '  ', '\t', ' \t ', '\u00a0', '\v', '\n')

const separator = fc.constantFrom('; ', '; ', '; ', ';', ';  ', ' ; ', ';\t', ';;', '; ;', ', ')

const randomId = fc.uint8Array({ minLength: 24, maxLength: 24 }).map((bytes) => Buffer.from(bytes).toString('base64url'))

const specialId = fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', '', '.', 's:', 'undefined', 'null', 'a.b.c', '%2E')

/** Percent-encodes every UTF-8 byte of `text`. */
function encodeAll(text: string, lower: boolean): string {
  let out = ''
  for (const byte of Buffer.from(text, 'utf8')) {
    const hex = byte.toString(16).padStart(2, '0')
    out += '%' + (lower ? hex : hex.toUpperCase())
  }
  return out
}

function encode(text: string, encoding: string): string {
  switch (encoding) {
    case 'uri':
      try {
        return encodeURIComponent(text)
      } catch {
        return text // lone surrogates
      }
    case 'all':
      return encodeAll(text, false)
    case 'lower':
      return encodeAll(text, true)
    case 'colon':
      return text.replace(':', '%3A')
    default:
      return text
  }
}

type SignatureMutation =
  | { kind: 'none' }
  | { kind: 'truncate'; by: number }
  | { kind: 'append'; text: string }
  | { kind: 'flip'; at: number }
  | { kind: 'pad'; text: string }
  | { kind: 'other' }
  | { kind: 'empty' }
  | { kind: 'nodot' }
  | { kind: 'case' }

const signatureMutation: fc.Arbitrary<SignatureMutation> = fc.oneof(
  { weight: 10, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 43 }).map((by) => ({ kind: 'truncate' as const, by })) },
  { weight: 2, arbitrary: noiseString(3).filter((text) => text !== '').map((text) => ({ kind: 'append' as const, text })) },
  { weight: 2, arbitrary: fc.nat({ max: 42 }).map((at) => ({ kind: 'flip' as const, at })) },
  { weight: 1, arbitrary: fc.constantFrom('=', '==').map((text) => ({ kind: 'pad' as const, text })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'other' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'empty' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'nodot' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'case' as const }) },
)

const FLIP = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

function signed(id: string, secret: string | Buffer, mutation: SignatureMutation, otherId: string): string {
  let signature = hmac(id, secret)
  switch (mutation.kind) {
    case 'truncate':
      signature = signature.slice(0, Math.max(0, signature.length - mutation.by))
      break
    case 'append':
      signature += mutation.text
      break
    case 'flip': {
      const at = mutation.at % signature.length
      const replacement = FLIP[(FLIP.indexOf(signature[at]!) + 1) % FLIP.length]!
      signature = signature.slice(0, at) + replacement + signature.slice(at + 1)
      break
    }
    case 'pad':
      signature += mutation.text
      break
    case 'other':
      signature = hmac(otherId, secret)
      break
    case 'empty':
      signature = ''
      break
    case 'nodot':
      return id + signature
    case 'case':
      signature = signature.toUpperCase() === signature ? signature.toLowerCase() : signature.toUpperCase()
      break
  }
  return id + '.' + signature
}

/** Whitespace the cookie parser trims around names and values. */
const trimmable = fc.constantFrom('', '', '', '', ' ', '  ', '\t', ' \t ')

/** A clean `name=value` pair, mostly for a known session, signed with a secret of `config`, in some encoding. */
function validPair(knownIds: string[], config: FuzzConfig): fc.Arbitrary<{ text: string; id: string }> {
  return fc
    .record({
      // mostly known sessions; some validly signed IDs the store does not know
      id: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...knownIds) }, { weight: 1, arbitrary: randomId }, { weight: 1, arbitrary: specialId }),
      secret: fc.constantFrom(...config.secrets),
      encoding: fc.constantFrom('raw', 'uri', 'uri', 'all', 'lower', 'colon'),
      spaces: fc.tuple(trimmable, trimmable, trimmable, trimmable),
    })
    .map(({ id, secret, encoding, spaces }) => ({
      text: spaces[0] + config.name + spaces[1] + '=' + spaces[2] + encode('s:' + id + '.' + hmac(id, secret), encoding) + spaces[3],
      id,
    }))
}

/** A `name=value` pair carrying a session ID: possibly valid, likely tampered with, in some encoding. */
function sessionPair(knownIds: string[], config: FuzzConfig, names: string[]): fc.Arbitrary<{ text: string; id: string }> {
  const idArb = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...knownIds) },
    { weight: 2, arbitrary: randomId },
    { weight: 1, arbitrary: specialId },
    { weight: 1, arbitrary: noiseString(12) },
  )
  const tampered = fc
    .record({
      id: idArb,
      otherId: fc.constantFrom(...knownIds),
      secret: fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...config.secrets) }, { weight: 3, arbitrary: fc.constantFrom(...ALL_SECRETS) }),
      mutation: signatureMutation,
      prefix: fc.constantFrom('s:', 's:', 's:', 's:', 's:', '', 'S:', 's:s:', 's', ':s:'),
      encoding: fc.constantFrom('raw', 'raw', 'uri', 'uri', 'all', 'lower', 'colon'),
      breakage: fc.option(fc.tuple(fc.constantFrom(...SPECIAL_FRAGMENTS), fc.boolean()), { freq: 6 }),
      name: fc.oneof(
        { weight: 12, arbitrary: fc.constant(config.name) },
        { weight: 2, arbitrary: fc.constantFrom(...names) },
        { weight: 1, arbitrary: fc.constantFrom(config.name.toUpperCase(), config.name + 'x', '$' + config.name, config.name.replace('.', '%2E'), config.name + ' x') },
      ),
      before: whitespace,
      after: whitespace,
      nameBefore: whitespace,
      nameAfter: whitespace,
    })
    .map((p) => {
      let value = encode(p.prefix + signed(p.id, p.secret, p.mutation, p.otherId), p.encoding)
      if (p.breakage) value = p.breakage[1] ? value + p.breakage[0] : p.breakage[0] + value
      return { text: p.nameBefore + p.name + p.nameAfter + '=' + p.before + value + p.after, id: p.id }
    })
  return fc.oneof({ weight: 2, arbitrary: validPair(knownIds, config) }, { weight: 3, arbitrary: tampered })
}

/** Other cookies: well-formed ones, garbage pairs, bare words, empty pairs, huge values. */
function noisePair(limits: GeneratorLimits): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(noiseString(16), noiseString(40)).map(([name, value]) => name + '=' + value) },
    { weight: 2, arbitrary: fc.constantFrom('_ga=GA1.2.345.678', 'csrf=abc123', 'theme=dark', 'a=', '=b', '=', 'flag') },
    { weight: 1, arbitrary: noiseString(20) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom('big', 'x', 'connect.sid-backup'), fc.nat({ max: limits.hugeValue }), fc.constantFrom('x', 'ab%', '€', ';'))
        .map(([name, length, unit]) => name + '=' + unit.repeat(Math.ceil(length / unit.length))),
    },
  )
}

const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/g

/** The generator of whole cases for `fixture`. */
export function cookieCaseArbitrary(fixture: CookieFixture, limits: GeneratorLimits): fc.Arbitrary<CookieCase> {
  const names = [...new Set(fixture.configs.map((config) => config.name))]
  type Item = { text: string; id: string | undefined }
  const forConfig = (config: FuzzConfig) => {
    const session: fc.Arbitrary<Item> = sessionPair(fixture.knownIds, config, names)
    const noise: fc.Arbitrary<Item> = noisePair(limits).map((text) => ({ text, id: undefined }))
    const structured = fc
      .record({
        items: fc.array(fc.oneof({ weight: 3, arbitrary: session }, { weight: 4, arbitrary: noise }), { maxLength: 10 }),
        separators: fc.array(separator, { minLength: 10, maxLength: 10 }),
        many: fc.option(fc.tuple(fc.integer({ min: 1, max: limits.manyCookies }), fc.nat()), { freq: 8 }),
        edges: fc.tuple(whitespace, whitespace),
      })
      .map(({ items, separators, many, edges }) => {
        const texts = items.map((entry) => entry.text)
        if (many) {
          const filler = Array.from({ length: many[0] }, (_, i) => `c${i}=v${i}`)
          texts.splice(many[1] % (texts.length + 1), 0, ...filler)
        }
        let header = edges[0]
        texts.forEach((text, i) => {
          header += (i === 0 ? '' : separators[i % separators.length]) + text
        })
        header += edges[1]
        return { header, ids: items.flatMap((entry) => (entry.id === undefined ? [] : [entry.id])) }
      })
    const raw = fc
      .array(
        fc.oneof(
          { weight: 2, arbitrary: session },
          { weight: 3, arbitrary: noiseString(24).map((text): Item => ({ text, id: undefined })) },
          { weight: 1, arbitrary: separator.map((text): Item => ({ text, id: undefined })) },
        ),
        { maxLength: 8 },
      )
      .map((parts) => ({ header: parts.map((part) => part.text).join(''), ids: parts.flatMap((part) => (part.id === undefined ? [] : [part.id])) }))
    return fc.oneof({ weight: 4, arbitrary: structured }, { weight: 1, arbitrary: raw })
  }

  return fc.nat({ max: fixture.configs.length - 1 }).chain((config) =>
    fc
      .record({
        built: forConfig(fixture.configs[config]!),
        splitAt: fc.array(fc.nat(), { maxLength: 2 }),
        mutate: fc.boolean(),
        keepControl: fc.nat({ max: 9 }),
      })
      .map(({ built, splitAt, mutate, keepControl }) => {
        let header = built.header
        // over the wire, control characters make Node refuse the request before any middleware runs
        if (limits.rareControlCharacters && keepControl !== 0) header = header.replace(CONTROL, '')
        // over the wire the header may come as several `Cookie` lines, split at `; `
        const chunks = header.split('; ')
        const cuts = [...new Set(splitAt.map((n) => 1 + (n % Math.max(1, chunks.length - 1))))].filter((n) => n < chunks.length).sort((a, b) => a - b)
        const lines: string[] = []
        let from = 0
        for (const cut of cuts) {
          lines.push(chunks.slice(from, cut).join('; '))
          from = cut
        }
        lines.push(chunks.slice(from).join('; '))
        return { config, lines, mutate, ids: built.ids }
      }),
  )
}

// ---------------------------------------------------------------------------------------------------------
// The check: what a user would see
// ---------------------------------------------------------------------------------------------------------

/** What one request produced, however it was driven. */
export interface CookieOutcome {
  status: number
  /** The Cookie header as the middleware saw it (undefined: none). */
  header: string | undefined
  /** Errors passed to `next(err)`. */
  errors: unknown[]
  /** Times `next` was called; times the response was ended (-1 when not observable). */
  nextCalls: number
  endCalls: number
  sessionID: unknown
  owner: unknown
  /** The session cookie's decoded value in `Set-Cookie`, if any. */
  cookie: string | undefined
  /** Session IDs written to the store for this request. */
  writes: string[]
}

const FRESH_ID = /^[A-Za-z0-9_-]{32}$/

/** How often each kind of outcome occurred: shows that a run exercised every branch of the model. */
export interface CookieStats {
  cases: number
  /** A validly signed, known session was adopted. */
  adopted: number
  /** ... adopted through a secret other than the one that signs (rotation). */
  adoptedWithOlderSecret: number
  /** A known ID was in the header but was not adopted (bad signature, not first, retired secret, ...). */
  knownIdRefused: number
  /** A validly signed ID the store does not know: a fresh ID was issued instead. */
  signedButUnknown: number
  /** A Set-Cookie was checked. */
  cookieSet: number
}

export function emptyStats(): CookieStats {
  return { cases: 0, adopted: 0, adoptedWithOlderSecret: 0, knownIdRefused: 0, signedButUnknown: 0, cookieSet: 0 }
}

/** Asserts that `outcome` is what the documented rules (see the module comment) require for `c`. */
export function checkOutcome(fixture: CookieFixture, c: CookieCase, outcome: CookieOutcome, stats?: CookieStats): void {
  const config = fixture.configs[c.config]!
  const header = outcome.header ?? ''
  assert.equal(outcome.status, 200, 'no error status')
  assert.deepEqual(outcome.errors, [], 'nothing passed to next(err)')
  assert.equal(outcome.nextCalls, 1, 'next called once')
  if (outcome.endCalls !== -1) assert.equal(outcome.endCalls, 1, 'response ended once')

  const signedId = header === '' ? undefined : expectedSignedId(header, config.name, config.secrets)
  const adopted = signedId !== undefined && fixture.store.fixtures.has(signedId)
  if (stats) {
    stats.cases++
    if (adopted) {
      stats.adopted++
      if (expectedSignedId(header, config.name, config.secrets.slice(0, 1)) === undefined) stats.adoptedWithOlderSecret++
    } else {
      if (signedId !== undefined) stats.signedButUnknown++
      if (c.ids.some((id) => fixture.store.fixtures.has(id))) stats.knownIdRefused++
    }
  }
  if (adopted) {
    assert.equal(outcome.sessionID, signedId, 'the validly signed, known session is adopted')
    assert.equal(outcome.owner, signedId, 'with its stored data')
  } else {
    assert.equal(outcome.owner, undefined, 'no stored session adopted')
    const id = outcome.sessionID
    assert.ok(typeof id === 'string' && FRESH_ID.test(id), `a fresh 32-character ID, got ${JSON.stringify(id)}`)
    assert.ok(!fixture.store.fixtures.has(id), 'not a known ID')
    assert.ok(!c.ids.includes(id) && id !== signedId && !header.includes(id), 'not an ID the client sent')
  }

  const expectCookie = adopted ? config.rolling || c.mutate : config.saveUninitialized || c.mutate
  if (expectCookie) {
    if (stats) stats.cookieSet++
    const id = outcome.sessionID as string
    assert.equal(outcome.cookie, 's:' + id + '.' + hmac(id, config.secrets[0]!), 'Set-Cookie carries the ID signed with the first secret')
  } else {
    assert.equal(outcome.cookie, undefined, 'no Set-Cookie')
  }

  const expectWrite = adopted ? c.mutate : config.saveUninitialized || c.mutate
  assert.deepEqual(outcome.writes, expectWrite ? [outcome.sessionID] : [], 'store writes only under the session\'s own ID')
}

// ---------------------------------------------------------------------------------------------------------
// Drivers
// ---------------------------------------------------------------------------------------------------------

let caseCounter = 0

/** The IDs the case `tag` wrote to the store (forgotten once read). */
function writesFor(fixture: CookieFixture, tag: string): string[] {
  const found = fixture.store.writes.get(tag) ?? []
  fixture.store.writes.delete(tag)
  return found
}

/** Runs one case in process, on real IncomingMessage/ServerResponse objects. */
export async function runInProcess(fixture: CookieFixture, c: CookieCase): Promise<CookieOutcome> {
  const config = fixture.configs[c.config]!
  const tag = String(++caseCounter)
  const header = c.lines.join('; ')
  const result = await invoke(config.middleware, {
    headers: { cookie: header, 'x-case': tag },
    handler: (req, res) => {
      if (c.mutate) req.session.visits = 1
      res.end('ok')
    },
  })
  const outcome: CookieOutcome = {
    status: result.status,
    header,
    errors: result.errors,
    nextCalls: result.nextCalls,
    endCalls: result.endCalls,
    sessionID: result.sessionID,
    owner: result.session?.owner,
    cookie: cookieValue(result.setCookies, config.name),
    writes: writesFor(fixture, tag),
  }
  return outcome
}

/** The property run in process. */
export function inProcessProperty(fixture: CookieFixture, limits: GeneratorLimits, stats?: CookieStats) {
  return fc.asyncProperty(cookieCaseArbitrary(fixture, limits), async (c) => {
    checkOutcome(fixture, c, await runInProcess(fixture, c), stats)
  })
}

// --- over the wire: a node:http server and a raw keep-alive TCP client (so any bytes can be sent) --------

/** A `node:http` server running the fixture's middleware `/<config index>`; it answers what it saw as JSON. */
export function createWireServer(fixture: CookieFixture): http.Server {
  return http.createServer((req: any, res) => {
    const config = fixture.configs[Number(req.url.slice(1))]
    if (!config) {
      res.statusCode = 404
      res.end()
      return
    }
    config.middleware(req, res, (err?: unknown) => {
      if (err) {
        res.statusCode = 500
        res.end(String(err))
        return
      }
      if (req.headers['x-mutate'] === '1') req.session.visits = 1
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ sid: req.sessionID, owner: req.session?.owner ?? null, cookie: req.headers.cookie ?? null }))
    })
  })
}

interface RawResponse {
  status: number
  headers: Record<string, string[]>
  body: Buffer
}

/** Sends requests one at a time on a keep-alive connection, reconnecting when the server closes it. */
export class RawHttpClient {
  private socket: net.Socket | undefined
  private buffer: Buffer = Buffer.alloc(0)
  private waiting: { resolve: (r: RawResponse) => void; reject: (e: Error) => void } | undefined
  private closed = true

  constructor(private readonly port: number) {}

  private connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.port, '127.0.0.1', () => {
        this.closed = false
        resolve()
      })
      socket.setNoDelay(true)
      socket.on('data', (chunk: Buffer) => {
        this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk
        this.tryParse(false)
      })
      socket.on('close', () => {
        this.closed = true
        this.tryParse(true)
        if (this.waiting) {
          this.waiting.reject(new Error('connection closed without a response'))
          this.waiting = undefined
        }
      })
      socket.on('error', (err) => {
        if (this.closed) reject(err)
      })
      this.socket = socket
    })
  }

  private tryParse(atClose: boolean): void {
    if (!this.waiting) return
    const headEnd = this.buffer.indexOf('\r\n\r\n')
    if (headEnd === -1) return
    const head = this.buffer.subarray(0, headEnd).toString('latin1').split('\r\n')
    const status = Number(head[0]!.split(' ')[1])
    const headers: Record<string, string[]> = {}
    for (const line of head.slice(1)) {
      const colon = line.indexOf(':')
      const key = line.slice(0, colon).trim().toLowerCase()
      ;(headers[key] ??= []).push(line.slice(colon + 1).trim())
    }
    const length = headers['content-length'] ? Number(headers['content-length'][0]) : undefined
    const bodyStart = headEnd + 4
    if (length === undefined && !atClose) return
    const end = length === undefined ? this.buffer.length : bodyStart + length
    if (this.buffer.length < end) return
    const body = this.buffer.subarray(bodyStart, end)
    this.buffer = this.buffer.subarray(end)
    const waiting = this.waiting
    this.waiting = undefined
    waiting.resolve({ status, headers, body })
  }

  /** Sends a GET with these raw header lines; resolves with the response. */
  async send(path: string, headerLines: Buffer[]): Promise<RawResponse> {
    if (this.closed) {
      this.socket?.destroy()
      this.buffer = Buffer.alloc(0)
      await this.connect()
    }
    const parts: Buffer[] = [Buffer.from(`GET ${path} HTTP/1.1\r\nHost: fuzz.test\r\n`, 'latin1')]
    for (const line of headerLines) parts.push(line, Buffer.from('\r\n'))
    parts.push(Buffer.from('\r\n'))
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject }
      this.socket!.write(Buffer.concat(parts))
    })
  }

  close(): void {
    this.socket?.destroy()
  }
}

/** The UTF-8 bytes of `text` without CR and LF (which would end the header line). */
function headerBytes(text: string): Buffer {
  return Buffer.from(text.replace(/[\r\n]/g, ''), 'utf8')
}

/**
 * Runs one case over the wire. Returns undefined when Node's HTTP parser refused the request (400 for
 * control characters in a header, 431 for headers over 16 KB): the middleware never saw it.
 */
export async function runOverWire(fixture: CookieFixture, client: RawHttpClient, c: CookieCase): Promise<CookieOutcome | undefined> {
  const tag = String(++caseCounter)
  const cookieLines = c.lines.map((line) => Buffer.concat([Buffer.from('Cookie: '), headerBytes(line)]))
  const lines = [Buffer.from(`X-Case: ${tag}`), Buffer.from(`X-Mutate: ${c.mutate ? 1 : 0}`), ...cookieLines]
  const response = await client.send('/' + c.config, lines)
  if (response.status === 400 || response.status === 431) {
    const bytes = Buffer.concat(cookieLines)
    // only Node's parser answers these: a control character (other than tab) in the header, or too large
    const refusable = bytes.some((b) => (b < 0x20 && b !== 0x09) || b === 0x7f) || bytes.length > 16_000
    assert.ok(refusable, `status ${response.status} for an acceptable header: ${JSON.stringify(c.lines)}`)
    return undefined
  }
  const config = fixture.configs[c.config]!
  const seen = response.status === 200 ? (JSON.parse(response.body.toString('utf8')) as { sid: string; owner: unknown; cookie: string | null }) : undefined
  const setCookie = response.headers['set-cookie'] ?? []
  return {
    status: response.status,
    header: seen?.cookie ?? undefined,
    errors: response.status === 200 ? [] : [response.body.toString('utf8')],
    nextCalls: 1,
    endCalls: -1,
    sessionID: seen?.sid,
    owner: seen?.owner ?? undefined,
    cookie: cookieValue(setCookie, config.name),
    writes: writesFor(fixture, tag),
  }
}

/** The property run over the wire. */
export function wireProperty(fixture: CookieFixture, client: RawHttpClient, limits: GeneratorLimits, counts: { refused: number }, stats?: CookieStats) {
  return fc.asyncProperty(cookieCaseArbitrary(fixture, limits), async (c) => {
    const outcome = await runOverWire(fixture, client, c)
    if (outcome === undefined) counts.refused++
    else checkOutcome(fixture, c, outcome, stats)
  })
}
