/**
 * The request path's own serializers give exactly what the general ones give: the cookie's JSON (what stores
 * write) is `JSON.stringify(cookie)`, a session Set-Cookie value is `cookie.serialize(name, value, cookie.data)`
 * (or the same error), and the once-per-second date strings are `Date#toISOString()` / `toUTCString()`.
 * Property-based: random attribute values, including the ones the general paths reject or escape.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { serialize, type SerializeOptions } from 'cookie'
import fc from 'fast-check'
import { Cookie, cookieJson } from '../../src/cookie.js'
import { isoString, utcString } from '../../src/date-strings.js'
import { SessionCookieSerializer } from '../../src/signed-cookie.js'

const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined
const MAX_TIME = 8.64e15

/** Times a `Date` can hold, near now and across the whole range. */
const time = fc.oneof(
  fc.integer({ min: -MAX_TIME, max: MAX_TIME }),
  fc.integer({ min: -5000, max: 5000 }).map((offset) => Date.now() + offset),
  fc.constantFrom(0, -1, 999, 1000, -1000, 253402300799999, 253402300800000, -62198755200000),
)

/** Values an app or a stored session may leave in a cookie attribute. */
const anyValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.integer(),
  fc.string({ unit: 'binary', maxLength: 10 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.constantFrom('/', '/admin', 'example.com', '.example.com', 'lax', 'strict', 'none', 'Lax', 'low', 'high', 'a"b', 'a\\b'),
  time.map((t) => new Date(t)),
  fc.constant(new Date(NaN)),
  fc.constant({ nested: true }),
)

/** Attribute values as the middleware usually holds them. */
const usualAttributes = fc.record({
  domain: fc.constantFrom(undefined, 'example.com', '.example.com'),
  path: fc.constantFrom('/', '/app', '/a b'),
  httpOnly: fc.boolean(),
  secure: fc.constantFrom(undefined, true, false),
  partitioned: fc.constantFrom(undefined, true, false),
  priority: fc.constantFrom(undefined, 'low', 'medium', 'high'),
  sameSite: fc.constantFrom(undefined, true, false, 'lax', 'strict', 'none'),
})

const anyAttributes = fc.record({
  domain: anyValue,
  path: anyValue,
  httpOnly: anyValue,
  secure: anyValue,
  partitioned: anyValue,
  priority: anyValue,
  sameSite: anyValue,
  originalMaxAge: anyValue,
  expires: anyValue,
})

function cookieWith(attributes: Record<string, unknown>): Cookie {
  const cookie = new Cookie()
  const { expires, ...rest } = attributes
  Object.assign(cookie, rest)
  cookie._expires = expires as Date
  return cookie
}

/** What `fn` returns, or the message of what it throws. */
function outcome(fn: () => string): string {
  try {
    return 'ok: ' + fn()
  } catch (err) {
    return `throws ${(err as Error).name}: ${(err as Error).message}`
  }
}

describe('serializers of the request path', () => {
  it('date strings match toISOString and toUTCString, for any time a Date holds', () => {
    fc.assert(
      fc.property(time, (t) => {
        assert.equal(isoString(t), new Date(t).toISOString())
        assert.equal(utcString(t), new Date(t).toUTCString())
      }),
      { numRuns: 5000, seed },
    )
  })

  it("cookie JSON is JSON.stringify(cookie), whatever the attributes hold", () => {
    fc.assert(
      fc.property(fc.oneof(usualAttributes, anyAttributes), (attributes) => {
        const cookie = cookieWith(attributes)
        assert.equal(cookieJson(cookie), JSON.stringify(cookie))
      }),
      { numRuns: 5000, seed },
    )
  })

  it('cookie JSON of a Cookie subclass, a plain object or nothing is JSON.stringify of it', () => {
    class Special extends Cookie {
      override toJSON() {
        return { ...this.data, special: true }
      }
    }
    const special = new Special({ maxAge: 1000 })
    assert.equal(cookieJson(special), JSON.stringify(special))
    assert.match(cookieJson(special), /"special":true/)
    const plain = { originalMaxAge: 5, expires: new Date(0) }
    assert.equal(cookieJson(plain), JSON.stringify(plain))
    assert.equal(cookieJson(undefined), JSON.stringify(undefined))
    const ownToJSON = Object.assign(new Date(0), { toJSON: () => 'custom' })
    const cookie = cookieWith({ path: '/', expires: ownToJSON })
    assert.equal(cookieJson(cookie), JSON.stringify(cookie))
  })

  it('a Set-Cookie value is cookie.serialize(name, value, cookie.data), or the same error, across changing attributes', () => {
    const values = fc.constantFrom('s:abc.def', 's:H8HxiiET1-CLXXPlGfV1QvVuzYebr6Tw.kdoNJSpLIuSMj/Ts8lWuvzM3Jlh+xuUXnMKZbzGe0sM', 's:\u00e9t\u00e9.x')
    fc.assert(
      fc.property(
        fc.constantFrom('connect.sid', 'sid', 'a;b', ''),
        fc.array(fc.tuple(values, fc.oneof(usualAttributes, usualAttributes, anyAttributes)), { minLength: 1, maxLength: 6 }),
        (name, calls) => {
          // one serializer across calls: what it remembers of one call's attributes must not leak into the next
          const serializer = new SessionCookieSerializer(name)
          for (const [value, attributes] of calls) {
            const cookie = cookieWith({ expires: new Date(Date.now() + 3600_000), ...attributes })
            assert.equal(
              outcome(() => serializer.serialize(value, cookie)),
              outcome(() => serialize(name, value, cookie.data as SerializeOptions)),
            )
          }
        },
      ),
      { numRuns: 3000, seed },
    )
  })

  it('a Set-Cookie value for a Cookie subclass is built from its own data', () => {
    class Shorter extends Cookie {
      override get data() {
        return { ...super.data, path: '/short' }
      }
    }
    const cookie = new Shorter({ maxAge: 1000 })
    const serializer = new SessionCookieSerializer('connect.sid')
    assert.equal(serializer.serialize('s:a.b', cookie), serialize('connect.sid', 's:a.b', cookie.data as SerializeOptions))
    assert.match(serializer.serialize('s:a.b', cookie), /Path=\/short/)
  })
})

describe("the MemoryStore's reading of its stored JSON", () => {
  it('finds the end of the leading cookie object of any stored session, whatever its strings hold', async () => {
    const { cookieEnd } = await import('../../src/memory-store.js')
    const jsonValue = fc.jsonValue({ maxDepth: 3 })
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'binary', maxLength: 6 }), jsonValue, { maxKeys: 5 }), fc.dictionary(fc.string(), jsonValue, { maxKeys: 4 }),
        (cookie, data) => {
          const cookieText = JSON.stringify(cookie)
          const json = '{"cookie":' + cookieText + JSON.stringify(data).replace(/^\{/, ',').replace(/^,\}$/, '}')
          assert.equal(cookieEnd(json), 10 + cookieText.length - 1)
          assert.equal(cookieEnd(json.slice(0, 10 + cookieText.length - 1)), -1, 'no end in a truncated cookie')
        }),
      { numRuns: 3000, seed },
    )
    assert.equal(cookieEnd('{"user":1}'), -1)
    assert.equal(cookieEnd('{"cookie":{"path":"\\\\"}}'), 22)
    assert.equal(cookieEnd('{"cookie":{"path":"\\"}"}}'), 23)
  })
})
