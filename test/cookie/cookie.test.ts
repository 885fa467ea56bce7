/**
 * The Cookie class (`session.Cookie`), used directly as stores and applications do.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import session from 'express-session'
import { Cookie as CoreCookie, cookieJson } from '../../src/core/cookie.js'

const { Cookie } = session

describe('new Cookie()', () => {
  it('has the 1.x defaults', () => {
    const cookie = new Cookie()
    assert.equal(cookie.path, '/')
    assert.equal(cookie.httpOnly, true)
    assert.equal(cookie.maxAge, null)
    assert.equal(cookie.expires, null)
    assert.equal(cookie.originalMaxAge, null)
    assert.equal(cookie.secure, undefined)
    assert.equal(cookie.domain, undefined)
    assert.equal(cookie.sameSite, undefined)
  })

  it('takes its attributes from the options', () => {
    const cookie = new Cookie({ path: '/app', httpOnly: false, secure: true, domain: 'example.com', sameSite: 'strict' })
    assert.equal(cookie.path, '/app')
    assert.equal(cookie.httpOnly, false)
    assert.equal(cookie.secure, true)
    assert.equal(cookie.domain, 'example.com')
    assert.equal(cookie.sameSite, 'strict')
  })

  for (const value of ['foo', 42, true]) {
    it(`throws a TypeError for a non-object argument (${JSON.stringify(value)})`, () => {
      assert.throws(() => new Cookie(value as any), { name: 'TypeError', message: /^Cookie options must be an object of cookie settings \(got / })
    })
  }

  for (const value of ['1000', {}, [], true]) {
    it(`throws a TypeError for a truthy non-number maxAge (${JSON.stringify(value)})`, () => {
      assert.throws(() => new Cookie({ maxAge: value as any }), { name: 'TypeError', message: /^cookie\.maxAge must be a number of milliseconds .*\(got / })
    })
  }

  it('accepts maxAge: null and undefined (a browser-session cookie)', () => {
    assert.equal(new Cookie({ maxAge: null }).expires, null)
    assert.equal(new Cookie({ maxAge: undefined }).expires, undefined)
  })

  it('accepts a Date maxAge (deprecated) as the expiry date', () => {
    const date = new Date(Date.now() + 5000)
    const cookie = new Cookie({ maxAge: date })
    assert.equal(cookie.expires, date)
    assert.ok(cookie.maxAge! > 4900 && cookie.maxAge! <= 5000)
  })

  it('maxAge: 0 means the cookie expires now', () => {
    const before = Date.now()
    const cookie = new Cookie({ maxAge: 0 })
    assert.ok(cookie.expires instanceof Date)
    const time = cookie.expires.getTime()
    assert.ok(time >= before && time <= Date.now())
    assert.ok(cookie.maxAge! <= 0)
    assert.equal(cookie.originalMaxAge, 0)
    assert.match(cookie.serialize('sid', 'x'), /; Expires=/)
  })

  it('maxAge sets expires to now + maxAge and originalMaxAge to maxAge', () => {
    const before = Date.now()
    const cookie = new Cookie({ maxAge: 60000 })
    const time = (cookie.expires as Date).getTime()
    assert.ok(time >= before + 60000 && time <= Date.now() + 60000)
    assert.equal(cookie.originalMaxAge, 60000)
  })

  it('ignores a `data` key in the options', () => {
    const cookie = new Cookie({ data: { path: '/forged', httpOnly: false }, path: '/real' } as any)
    assert.equal(cookie.path, '/real')
    assert.equal(cookie.data.path, '/real')
    assert.equal(cookie.data.httpOnly, true)
  })

  it('keeps a given originalMaxAge', () => {
    const cookie = new Cookie({ originalMaxAge: 60000, path: '/' })
    assert.equal(cookie.originalMaxAge, 60000)
  })
})

describe('cookie.expires', () => {
  it('setting it recomputes originalMaxAge', () => {
    const cookie = new Cookie({ maxAge: 60000 })
    cookie.expires = new Date(Date.now() + 5000)
    assert.ok(cookie.originalMaxAge! > 4900 && cookie.originalMaxAge! <= 5000, String(cookie.originalMaxAge))
    cookie.expires = null
    assert.equal(cookie.originalMaxAge, null)
    assert.equal(cookie.maxAge, null)
  })

  it('is kept in an own `_expires` property', () => {
    const date = new Date(Date.now() + 1000)
    const cookie = new Cookie()
    cookie.expires = date
    assert.ok(Object.hasOwn(cookie, '_expires'))
    assert.equal(cookie._expires, date)
    assert.ok(Object.hasOwn(new Cookie({ maxAge: 1000 }), '_expires'))
  })
})

describe('cookie.maxAge', () => {
  it('gives the milliseconds left', async () => {
    const cookie = new Cookie()
    cookie.expires = new Date(Date.now() + 2000)
    const first = cookie.maxAge!
    assert.ok(first > 1900 && first <= 2000)
    await new Promise((resolve) => setTimeout(resolve, 25))
    assert.ok(cookie.maxAge! <= first - 20, 'counts down')
  })

  it('is negative once expired', () => {
    const cookie = new Cookie()
    cookie.expires = new Date(Date.now() - 1000)
    assert.ok(cookie.maxAge! < 0)
  })

  it('setting it moves expires and originalMaxAge', () => {
    const cookie = new Cookie({ maxAge: 1000 })
    cookie.maxAge = 60000
    assert.ok((cookie.expires as Date).getTime() > Date.now() + 59000)
    assert.equal(cookie.originalMaxAge, 60000)
  })

  it('setting a truthy non-number throws', () => {
    const cookie = new Cookie()
    assert.throws(() => {
      cookie.maxAge = 'forever' as any
    }, TypeError)
  })
})

describe('cookie.toJSON()', () => {
  it('returns exactly the stored attributes', () => {
    const cookie = new Cookie({ maxAge: 1000, domain: 'example.com', secure: true, sameSite: 'lax', partitioned: true, priority: 'high' })
    const json = cookie.toJSON()
    assert.deepEqual(Object.keys(json).sort(), [
      'domain', 'expires', 'httpOnly', 'originalMaxAge', 'partitioned', 'path', 'priority', 'sameSite', 'secure',
    ])
    assert.equal(json.expires, cookie.expires)
    assert.equal(json.originalMaxAge, 1000)
    assert.equal(json.domain, 'example.com')
    assert.equal(json.secure, true)
    assert.equal(json.httpOnly, true)
    assert.equal(json.path, '/')
    assert.equal(json.sameSite, 'lax')
    assert.equal(json.partitioned, true)
    assert.equal(json.priority, 'high')
  })

  it('is what JSON.stringify writes (no `_expires`)', () => {
    const cookie = new Cookie({ maxAge: 1000 })
    const parsed = JSON.parse(JSON.stringify(cookie))
    assert.equal(parsed._expires, undefined)
    assert.equal(parsed.expires, (cookie.expires as Date).toISOString())
    assert.equal(parsed.originalMaxAge, 1000)
    assert.deepEqual(Object.keys(parsed).sort(), ['expires', 'httpOnly', 'originalMaxAge', 'path'])
  })
})

describe('cookie.serialize(name, value)', () => {
  it('builds a Set-Cookie value with the attributes', () => {
    const cookie = new Cookie({ domain: 'example.com', secure: true, sameSite: 'strict', path: '/app' })
    cookie.expires = new Date(Date.UTC(2030, 0, 2, 3, 4, 5))
    const header = cookie.serialize('sid', 'abc')
    const [pair, ...attrs] = header.split('; ')
    assert.equal(pair, 'sid=abc')
    assert.deepEqual(attrs.sort(), [
      'Domain=example.com', 'Expires=Wed, 02 Jan 2030 03:04:05 GMT', 'HttpOnly', 'Path=/app', 'SameSite=Strict', 'Secure',
    ])
  })

  it('without expiry makes a browser-session cookie, and never emits Max-Age', () => {
    assert.equal(new Cookie().serialize('sid', 'abc'), 'sid=abc; Path=/; HttpOnly')
    assert.doesNotMatch(new Cookie({ maxAge: 1000 }).serialize('sid', 'abc'), /Max-Age/i)
  })

  it('URL-encodes the value', () => {
    assert.match(new Cookie().serialize('sid', 's:a b'), /^sid=s%3Aa%20b;/)
  })
})

describe('cookieJson(cookie)', () => {
  const attributes = fc.record({
    maxAge: fc.oneof(fc.integer({ min: -1e12, max: 1e12 }), fc.constant(null), fc.constant(undefined)),
    expires: fc.oneof(fc.date(), fc.constant(new Date(NaN)), fc.constant(null), fc.constant(undefined)),
    secure: fc.oneof(fc.boolean(), fc.constant('auto' as const), fc.constant(undefined)),
    httpOnly: fc.option(fc.boolean(), { nil: undefined }),
    domain: fc.option(fc.string(), { nil: undefined }),
    path: fc.option(fc.string(), { nil: undefined }),
    sameSite: fc.option(fc.constantFrom(true, false, 'lax' as const, 'strict' as const, 'none' as const), { nil: undefined }),
    priority: fc.option(fc.constantFrom('low' as const, 'medium' as const, 'high' as const), { nil: undefined }),
    partitioned: fc.option(fc.boolean(), { nil: undefined }),
  }, { requiredKeys: [] })

  it('writes what JSON.stringify writes, for any cookie', () => {
    fc.assert(fc.property(attributes, fc.boolean(), ({ expires, ...options }, setExpires) => {
      const cookie = new CoreCookie(options)
      if (setExpires) cookie.expires = expires
      assert.equal(cookieJson(cookie), JSON.stringify(cookie))
      // the cookie class this module checks for: the fast path is the one compared
      assert.ok(cookie instanceof CoreCookie)
    }), { numRuns: 1000 })
  })

  it('leaves what is not a plain Cookie to JSON.stringify: objects, a custom toJSON on the cookie or its Date', () => {
    const plain = { originalMaxAge: 1, expires: new Date(0) }
    assert.equal(cookieJson(plain), JSON.stringify(plain))
    assert.equal(cookieJson(undefined), undefined)
    const custom = new CoreCookie({ maxAge: 1000 })
    Object.defineProperty(custom, 'toJSON', { value: () => ({ custom: true }) })
    assert.equal(cookieJson(custom), '{"custom":true}')
    const odd = new CoreCookie({ maxAge: 1000 })
    const date = new Date(0)
    Object.defineProperty(date, 'toJSON', { value: () => 'then' })
    odd.expires = date
    assert.equal(cookieJson(odd), JSON.stringify(odd))
    assert.match(cookieJson(odd) as string, /"expires":"then"/)
  })
})
