/**
 * Every option error: a `TypeError` whose message names the option, shows what it was given (its type, and the
 * value when short) and says what the option accepts. Thrown by `session(options)` for the options, passed to
 * `next(err)` for a bad `cookie(req)` result or a bad cookie attribute set during a request.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import request from 'supertest'
import session from 'express-session'
import sessionV1 from 'express-session-1.19.0'
import { createExpressApp, setCookieFor, shouldNotSetCookie, type ExpressHandler } from '../support/http.js'

const base = { secret: 'keyboard cat', resave: false, saveUninitialized: true }

/** An option error: the start of its message (`<option> must be <accepted>`), what it got, and what else it says. */
interface Expected {
  option: string
  accepted: string
  got: string
  hint?: string
}

/** Asserts that `message` is `<option> must be <accepted> (got <got>)[; <hint>]`. */
function assertOptionMessage(message: string, expected: Expected): void {
  const start = `${expected.option} must be ${expected.accepted} (got ${expected.got})`
  assert.ok(message.startsWith(start), `expected a message starting with\n  ${start}\ngot\n  ${message}`)
  if (expected.hint !== undefined) assert.equal(message, `${start}; ${expected.hint}`)
  else assert.equal(message, start)
}

function creationError(options: Record<string, unknown>): TypeError {
  try {
    session({ ...base, ...options } as session.SessionOptions)
  } catch (err) {
    assert.ok(err instanceof TypeError, `expected a TypeError, got ${String(err)}`)
    return err
  }
  assert.fail(`session(${JSON.stringify(options)}) did not throw`)
}

const MAX_AGE = 'a number of milliseconds giving a valid expiry date, or null for a cookie that ends with the browser session'
const MAX_AGE_HINT = 'e.g. 3600000 (60 * 60 * 1000) for one hour'
const NAME = `a cookie name: printable ASCII without spaces, ';' or '=' (e.g. "connect.sid")`

describe('option errors', () => {
  describe('thrown by session(options)', () => {
    const cases: [string, Record<string, unknown>, Expected][] = [
      ['genid not a function', { genid: 'abc' },
        { option: 'genid option', accepted: 'a function (req) => string, or returning a Promise of a string', got: 'string "abc"' }],
      ['name not a string', { name: 42 }, { option: 'name option', accepted: NAME, got: 'number 42' }],
      ['name not a cookie name', { name: 'my session' }, { option: 'name option', accepted: NAME, got: 'string "my session"' }],
      ['key not a cookie name', { key: 'a=b' }, { option: 'key option', accepted: NAME, got: 'string "a=b"' }],
      ['name empty', { name: '' },
        { option: 'name option', accepted: NAME, got: 'an empty string', hint: 'leave it out for the default, "connect.sid"' }],
      ['key empty', { key: '' },
        { option: 'key option', accepted: NAME, got: 'an empty string', hint: 'leave it out for the default, "connect.sid"' }],
      ['unset unknown', { unset: 'destory' }, { option: 'unset option', accepted: '"destroy" or "keep"', got: 'string "destory"' }],
      ['storeErrors unknown', { storeErrors: true }, { option: 'storeErrors option', accepted: '"fail", "continue" or "strict"', got: 'boolean true' }],
      ['cookie a string', { cookie: 'path=/' },
        { option: 'cookie option', accepted: 'an object of cookie settings or a function (req) => settings', got: 'string "path=/"' }],
      ['cookie.maxAge a string', { cookie: { maxAge: '1h' } },
        { option: 'cookie.maxAge option', accepted: MAX_AGE, got: 'string "1h"', hint: MAX_AGE_HINT }],
      ['cookie.maxAge an array', { cookie: { maxAge: [60] } },
        { option: 'cookie.maxAge option', accepted: MAX_AGE, got: 'array [60]', hint: MAX_AGE_HINT }],
      ['cookie.maxAge Infinity', { cookie: { maxAge: Infinity } },
        { option: 'cookie.maxAge option', accepted: MAX_AGE, got: 'number Infinity', hint: MAX_AGE_HINT }],
      ['cookie.maxAge an invalid Date', { cookie: { maxAge: new Date(NaN) } },
        { option: 'cookie.maxAge option', accepted: MAX_AGE, got: 'an invalid Date', hint: MAX_AGE_HINT }],
      ['cookie.expires an invalid Date', { cookie: { expires: new Date(NaN) } },
        { option: 'cookie.expires option', accepted: 'a valid Date', got: 'an invalid Date',
          hint: 'for a lifetime, give maxAge in milliseconds instead' }],
      ['cookie.expires a string', { cookie: { expires: '2030-01-01' } },
        { option: 'cookie.expires option', accepted: 'a valid Date', got: 'string "2030-01-01"',
          hint: 'for a lifetime, give maxAge in milliseconds instead' }],
      ['cookie.expires invalid after maxAge', { cookie: { maxAge: 60_000, expires: new Date(NaN) } },
        { option: 'cookie.expires option', accepted: 'a valid Date', got: 'an invalid Date',
          hint: 'for a lifetime, give maxAge in milliseconds instead' }],
      ['cookie.maxAge invalid after expires', { cookie: { expires: new Date(Date.now() + 60_000), maxAge: NaN } },
        { option: 'cookie.maxAge option', accepted: MAX_AGE, got: 'number NaN', hint: MAX_AGE_HINT }],
      ['cookie.domain a URL', { cookie: { domain: 'https://example.com' } },
        { option: 'cookie.domain option', got: 'string "https://example.com"',
          accepted: 'a domain name such as "example.com" (letters, digits, hyphens and dots; no scheme, port or path)' }],
      ['cookie.path with ;', { cookie: { path: '/a;b' } },
        { option: 'cookie.path option', accepted: `a path such as "/" or "/app" (printable ASCII without ';' or '<')`, got: 'string "/a;b"' }],
      ['cookie.sameSite unknown', { cookie: { sameSite: 'sometimes' } },
        { option: 'cookie.sameSite option', accepted: 'true, false, "lax", "strict", "none" or "auto"', got: 'string "sometimes"' }],
      ['cookie.priority unknown', { cookie: { priority: 1 } },
        { option: 'cookie.priority option', accepted: '"low", "medium" or "high"', got: 'number 1' }],
      ['store a class', { store: class RedisStore {} },
        { option: 'store option', got: 'function RedisStore', hint: 'pass an instance (new RedisStore(...)), not the class',
          accepted: 'a session store: an EventEmitter with get, set and destroy, such as an instance of a class extending session.Store' }],
      ['store not an EventEmitter', { store: { get() {} } },
        { option: 'store option', got: 'an object',
          accepted: 'a session store: an EventEmitter with get, set and destroy, such as an instance of a class extending session.Store' }],
      ['absoluteTimeout a string', { absoluteTimeout: '1h' },
        { option: 'absoluteTimeout option', accepted: 'a positive, finite number of milliseconds, or 0 for none', got: 'string "1h"' }],
      ['storeTimeout too long', { storeTimeout: 2 ** 31 },
        { option: 'storeTimeout option', accepted: 'a number of milliseconds from 1 to 2147483647, or 0 for none', got: 'number 2147483648' }],
      ['secret an empty string', { secret: '' },
        { option: 'secret option', accepted: 'a non-empty string or Buffer, or an array of them (the first signs, all verify)', got: 'an empty string',
          hint: 'set it to a long random value, e.g. session({ secret: process.env.SESSION_SECRET }) with that variable set, ' +
            'or leave it out and mount cookie-parser with a secret before the session middleware' }],
    ]
    for (const [what, options, expected] of cases) {
      it(`${what}: names ${expected.option.split(' ')[0]}, what it got and what it accepts`, () => {
        assertOptionMessage(creationError(options).message, expected)
      })
    }

    it('names expires, not maxAge, for cookie: { expires: new Date(NaN) } (was a message about maxAge)', () => {
      const { message } = creationError({ cookie: { expires: new Date(NaN) } })
      assert.match(message, /^cookie\.expires option/)
      assert.doesNotMatch(message, /maxAge (option )?must/)
    })

    it('accepts an invalid expires that a later maxAge replaces, as 1.19.0 does (the last one wins)', () => {
      assert.doesNotThrow(() => session({ ...base, cookie: { expires: new Date(NaN), maxAge: 60_000 } }))
    })

    it('checks the name when cookie is a function too', () => {
      assertOptionMessage(creationError({ name: 'a b', cookie: () => ({}) }).message, { option: 'name option', accepted: NAME, got: 'string "a b"' })
    })

    it('shows a long value by its size only', () => {
      const { message } = creationError({ cookie: { domain: 'x'.repeat(41) + ' y' } })
      assert.match(message, /\(got a string of 43 characters\)$/)
    })
  })

  describe('an empty name (difference from 1.19.0)', () => {
    it('1.19.0 silently named the cookie connect.sid', async () => {
      const app = createExpressApp(sessionV1({ ...base, name: '' }) as never)
      const res = await request(app).get('/').expect(200)
      assert.ok(setCookieFor(res, 'connect.sid'))
    })
  })

  describe('passed to next(err) for what cookie(req) returns', () => {
    const cases: [string, unknown, string][] = [
      ['not an object', 'secure', 'cookie option function must return an object of cookie settings (got string "secure")'],
      ['null', null, 'cookie option function must return an object of cookie settings (got null)'],
      ['maxAge a string', { maxAge: '1h' },
        `cookie.maxAge option (returned by the cookie function) must be ${MAX_AGE} (got string "1h"); ${MAX_AGE_HINT}`],
      ['an invalid expires', { expires: new Date(NaN) },
        'cookie.expires option (returned by the cookie function) must be a valid Date (got an invalid Date); ' +
          'for a lifetime, give maxAge in milliseconds instead'],
      ['an unknown sameSite', { sameSite: 'sometimes' },
        'cookie.sameSite option (returned by the cookie function) must be true, false, "lax", "strict", "none" or "auto" (got string "sometimes")'],
      ['an unknown priority', { priority: 'urgent' },
        'cookie.priority option (returned by the cookie function) must be "low", "medium" or "high" (got string "urgent")'],
    ]
    for (const [what, returned, message] of cases) {
      it(`${what}: a TypeError naming the option, before anything is written`, async () => {
        const errors: unknown[] = []
        const app = createExpressApp({ cookie: (() => returned) as never }, undefined, { errors })
        await request(app).get('/').expect(shouldNotSetCookie()).expect(500, message)
        assert.ok(errors[0] instanceof TypeError)
      })
    }
  })

  describe('passed to next(err) for a cookie attribute set during the request', () => {
    it('names the attribute, what it got and what it accepts', async () => {
      const errors: unknown[] = []
      const handler: ExpressHandler = (req, res) => {
        req.session.cookie.sameSite = 'sometimes' as never
        res.end('ok')
      }
      await request(createExpressApp(null, handler, { errors })).get('/').expect(shouldNotSetCookie())
      assert.ok(errors[0] instanceof TypeError)
      assert.equal(errors[0].message, 'cookie.sameSite must be true, false, "lax", "strict" or "none" (got string "sometimes")')
    })

    it('req.session.cookie.maxAge = "1h" throws a TypeError naming cookie.maxAge and the value', async () => {
      const handler: ExpressHandler = (req, res) => {
        try {
          req.session.cookie.maxAge = '1h' as never
          res.end('accepted')
        } catch (err) {
          res.end(`${(err as Error).name}: ${(err as Error).message}`)
        }
      }
      await request(createExpressApp(null, handler))
        .get('/')
        .expect(200, `TypeError: cookie.maxAge must be ${MAX_AGE} (got string "1h"); ${MAX_AGE_HINT}`)
    })
  })

  describe('new session.Cookie(options)', () => {
    it('names what it got when options is not an object', () => {
      assert.throws(() => new session.Cookie('x' as never), {
        name: 'TypeError',
        message: 'Cookie options must be an object of cookie settings (got string "x")',
      })
    })
  })
})
