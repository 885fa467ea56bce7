/**
 * Large session members left unparsed until used (src/lazy-members.ts): the bundled MemoryStore hands the
 * middleware its sessions with each member of 1 KB of JSON or more still as text. Nothing of it may show:
 * what the application reads, prints, copies and saves is what 1.19.0 gives, and the store ends up with the
 * same data.
 */
import { describe, it } from 'node:test'
import { inspect } from 'node:util'
import assert from 'node:assert/strict'
import http from 'node:http'
import fc from 'fast-check'
import request from 'supertest'
import session from 'express-session'
import upstream from 'express-session-1.19.0'
import { largeMemberSpans, parseWithLazyMembers, serializeWithLazyMembers, EAGER_SAVES, LAZY_MIN_LENGTH } from '../src/lazy-members.js'
import { cookie, createServer, sid } from './support/http.js'

const { MemoryStore } = session

/** A member of about 4 KB of JSON. */
function bigCart(tag = 'a') {
  return {
    tag,
    items: Array.from({ length: 30 }, (_, i) => ({ sku: `SKU-${i}`, name: `Product "${tag}" \\ number ${i} ✓`, qty: i % 4, price: i * 1.25 })),
  }
}

/** Runs `route` behind our middleware and MemoryStore; returns the agent's helpers. */
function app(route: (req: any, res: http.ServerResponse) => void, options: session.SessionOptions = {}) {
  const store = new MemoryStore()
  const server = createServer({ store, resave: false, saveUninitialized: false, cookie: { maxAge: 60_000 }, ...options }, (req, res) => {
    if (req.url === '/setup') {
      req.session.user = 'tj'
      req.session.cart = bigCart()
      req.session.count = 0
      res.end('ok')
      return
    }
    try {
      route(req, res)
    } catch (err) {
      // a failure answers (and fails the test) instead of leaving the request hanging
      res.statusCode = 500
      res.end(String(err))
    }
  })
  return { store, server }
}

async function setup(server: http.Server) {
  const res = await request(server).get('/setup').expect(200)
  return { cookie: cookie(res), id: sid(res) }
}

describe('large members stay unparsed until used', { timeout: 20_000 }, () => {
  it('a request that does not touch the large member reads and writes it as the stored text', async () => {
    let descriptor: PropertyDescriptor | undefined
    const { store, server } = app((req, res) => {
      descriptor = Object.getOwnPropertyDescriptor(req.session, 'cart')
      req.session.count++
      res.end(req.session.user)
    })
    const { cookie, id } = await setup(server)
    const before = JSON.parse(store.sessions[id]!)
    await request(server).get('/').set('Cookie', cookie).expect(200, 'tj')
    assert.equal(typeof descriptor?.get, 'function', 'the member was not parsed')
    const stored = store.sessions[id]!
    assert.equal(stored, JSON.stringify(JSON.parse(stored)), 'the store holds canonical JSON')
    assert.deepEqual(JSON.parse(stored), { ...before, count: 1, cookie: JSON.parse(stored).cookie })
    assert.deepEqual(Object.keys(JSON.parse(stored)), ['cookie', 'user', 'cart', 'count'], 'order kept')
  })

  it('reading, changing, replacing and deleting the member work as on a plain object, and are saved', async () => {
    const steps: Array<(s: any) => unknown> = [
      (s) => s.cart.items[3].qty,
      (s) => { s.cart.items.push({ sku: 'new' }); return s.cart.items.length },
      (s) => { s.cart = bigCart('b'); return s.cart.tag },
      (s) => s.cart.items.at(-1).sku,
      (s) => { delete s.cart; return 'cart' in s },
      (s) => { s.cart = bigCart('c'); s.other = bigCart('d'); return Object.keys(s).join() },
      (s) => [s.cart.tag, s.other.tag].join(),
    ]
    let step = 0
    const { store, server } = app((req, res) => res.end(JSON.stringify(steps[step++]!(req.session))))
    const { cookie, id } = await setup(server)
    const expected = ['3', '31', '"b"', '"SKU-29"', 'false', '"cookie,user,count,cart,other"', '"c,d"']
    for (const body of expected) await request(server).get('/').set('Cookie', cookie).expect(200, body)
    const stored = JSON.parse(store.sessions[id]!)
    assert.deepEqual(stored.cart, bigCart('c'))
    assert.deepEqual(stored.other, bigCart('d'))
  })

  it('prints, copies, stringifies and compares as the parsed data', async () => {
    const seen: Record<string, unknown> = {}
    const { server } = app((req, res) => {
      const s = req.session
      seen.inspected = inspect(s, { depth: 4 })
      seen.spread = { ...s }
      seen.cloned = structuredClone(s)
      seen.json = JSON.parse(JSON.stringify(s))
      seen.keys = Object.keys(s)
      res.end()
    })
    const { cookie } = await setup(server)
    await request(server).get('/').set('Cookie', cookie).expect(200)
    assert.match(seen.inspected as string, /tag: 'a'/)
    assert.doesNotMatch(seen.inspected as string, /Getter/)
    assert.deepEqual((seen.spread as any).cart, bigCart())
    assert.deepEqual((seen.cloned as any).cart, bigCart())
    assert.deepEqual((seen.json as any).cart, bigCart())
    assert.deepEqual(seen.keys, ['cookie', 'user', 'cart', 'count'])
  })

  it('a member the app uses is parsed with the rest for the next saves, then left unparsed again', async () => {
    const kinds: string[] = []
    let read = true
    const { server } = app((req, res) => {
      const descriptor = Object.getOwnPropertyDescriptor(req.session, 'cart')
      kinds.push(descriptor?.get ? 'lazy' : 'parsed')
      if (read) void req.session.cart.tag
      read = false
      req.session.count++
      res.end()
    })
    const { cookie } = await setup(server)
    for (let i = 0; i < EAGER_SAVES + 2; i++) await request(server).get('/').set('Cookie', cookie).expect(200)
    assert.deepEqual(kinds, ['lazy', ...Array(EAGER_SAVES).fill('parsed'), 'lazy'])
  })

  it('of two large members, the one the app uses is parsed with the rest, the other stays unparsed', async () => {
    const kinds: string[] = []
    let step = 0
    const { server } = app((req, res) => {
      const kind = (key: string) => (Object.getOwnPropertyDescriptor(req.session, key)?.get ? 'lazy' : 'parsed')
      if (step === 0) req.session.other = bigCart('other')
      else kinds.push(kind('cart') + '/' + kind('other'))
      if (step === 1) void req.session.cart.tag
      step++
      req.session.count++
      res.end()
    })
    const { cookie } = await setup(server)
    for (let i = 0; i < 4; i++) await request(server).get('/').set('Cookie', cookie).expect(200)
    assert.deepEqual(kinds, ['lazy/lazy', 'parsed/lazy', 'parsed/lazy'])
  })

  it('reading the member twice gives the same object; a frozen session keeps changes made inside it', async () => {
    let same = false
    const { store, server } = app((req, res) => {
      Object.freeze(req.session)
      same = req.session.cart === req.session.cart
      req.session.cart.tag = 'changed'
      res.end()
    })
    const { cookie, id } = await setup(server)
    await request(server).get('/').set('Cookie', cookie).expect(200)
    assert.ok(same)
    assert.equal(JSON.parse(store.sessions[id]!).cart.tag, 'changed')
  })

  it('a touch (nothing changed) keeps the stored member readable at its new place', async () => {
    let tag: string | undefined
    const { server } = app((req, res) => {
      if (req.url === '/read') tag = req.session.cart.tag
      res.end()
    }, { rolling: true })
    const { cookie } = await setup(server)
    // rolling: every response touches; the cookie text changes length when maxAge does
    for (let i = 0; i < 3; i++) await request(server).get('/').set('Cookie', cookie).expect(200)
    await request(server).get('/read').set('Cookie', cookie).expect(200)
    assert.equal(tag, 'a')
  })

  it('JSON written straight into `sessions` is parsed as a whole (never trusted as canonical)', async () => {
    let descriptor: PropertyDescriptor | undefined
    let cart: any
    const { store, server } = app((req, res) => {
      descriptor = Object.getOwnPropertyDescriptor(req.session, 'cart')
      cart = req.session.cart
      res.end()
    })
    const { cookie, id } = await setup(server)
    await request(server).get('/').set('Cookie', cookie).expect(200)
    const parsed = JSON.parse(store.sessions[id]!)
    parsed.cart.tag = 'edited'
    store.sessions[id] = JSON.stringify(parsed, null, 1)
    await request(server).get('/').set('Cookie', cookie).expect(200)
    assert.equal(descriptor?.value?.tag, 'edited', 'a data property, parsed at load')
    assert.equal(cart.tag, 'edited')
  })

  it('store.get() and reload() still give plain parsed data', async () => {
    const descriptors: Array<PropertyDescriptor | undefined> = []
    const { store, server } = app((req, res) => {
      req.session.reload(() => {
        descriptors.push(Object.getOwnPropertyDescriptor(req.session, 'cart'))
        res.end()
      })
    })
    const { cookie, id } = await setup(server)
    await request(server).get('/').set('Cookie', cookie).expect(200)
    const got: any = await new Promise((resolve, reject) => store.get(id, (err, s) => (err ? reject(err) : resolve(s))))
    descriptors.push(Object.getOwnPropertyDescriptor(got, 'cart'))
    for (const d of descriptors) assert.deepEqual(d?.value, bigCart())
  })

  it('regenerate({ keepData: true }) and a session the app builds carry the member', async () => {
    let body = ''
    const { server } = app((req, res) => {
      req.session.regenerate({ keepData: true }, () => {
        body = req.session.cart.tag
        res.end()
      })
    })
    const { cookie } = await setup(server)
    await request(server).get('/').set('Cookie', cookie).expect(200)
    assert.equal(body, 'a')
  })
})

describe('lazy members: the JSON pieces', () => {
  const big = 'x'.repeat(LAZY_MIN_LENGTH)

  it('finds the large top-level members, skipping strings with quotes, backslashes and brackets', () => {
    const value = { cookie: { path: big }, a: 1, b: { s: `"\\}]{[,${big}` }, c: [big], d: 'small' }
    const json = JSON.stringify(value)
    const spans = largeMemberSpans(json)!
    assert.deepEqual(spans.map((s) => s.key), ['b', 'c'], 'cookie excluded, small ones excluded')
    for (const { key, start, end } of spans) assert.equal(json.slice(start, end), JSON.stringify((value as any)[key]))
    assert.deepEqual(largeMemberSpans('{}'), [])
    assert.equal(largeMemberSpans('{ "a": 1 }'), undefined)
    assert.equal(largeMemberSpans('[1]'), undefined)
    assert.equal(largeMemberSpans('{"a":1}x'), undefined)
    assert.equal(largeMemberSpans('{"a":"unterminated'), undefined)
  })

  it('serializes exactly as JSON.stringify does, whatever the members hold', () => {
    class WithToJSON {
      toJSON(key: string) {
        return `member ${key}`
      }
    }
    const json = JSON.stringify({ cookie: {}, big: { s: big }, other: { s: big } })
    const data = parseWithLazyMembers(json, largeMemberSpans(json)!)
    const plain = JSON.parse(json)
    for (const target of [data, plain]) {
      Object.assign(target, {
        n: NaN, u: undefined, f() {}, sym: Symbol('s'), date: new Date(0), custom: new WithToJSON(), nil: null,
        'quote"key': 'v', list: [1, undefined, () => 1],
      })
      target.other.s = 'read and changed'
    }
    assert.equal(serializeWithLazyMembers(data), JSON.stringify({ ...plain, cookie: undefined }))
    ;(data as any).n = 1
    plain.n = 1
    assert.equal(serializeWithLazyMembers(data), JSON.stringify({ ...plain, cookie: undefined }), 'again, changed')
    assert.equal(typeof Object.getOwnPropertyDescriptor(data, 'big')?.get, 'function', 'still unparsed')
  })

  it('round-trips any JSON value through lazy parsing and serializing (property-based)', () => {
    const jsonValue = fc.jsonValue({ maxDepth: 3 })
    fc.assert(
      fc.property(fc.dictionary(fc.string(), jsonValue, { maxKeys: 6 }), fc.array(fc.nat(5), { maxLength: 4 }), (members, touches) => {
        const value: Record<string, unknown> = { cookie: { path: '/' } }
        for (const [key, member] of Object.entries(members)) {
          if (key === 'cookie' || key === '__proto__') continue
          // pad some members past the threshold
          value[key] = key.length % 2 === 0 ? { member, pad: big } : member
        }
        const json = JSON.stringify(value)
        const spans = largeMemberSpans(json)
        assert.ok(spans, json)
        const data = parseWithLazyMembers(json, spans)
        const keys = Object.keys(value)
        for (const t of touches) if (keys[t] !== undefined) void data[keys[t]!]
        assert.deepEqual(JSON.parse(JSON.stringify(data)), JSON.parse(json))
        assert.equal(serializeWithLazyMembers(data), JSON.stringify({ ...value, cookie: undefined }))
      }),
      { numRuns: 300 },
    )
  })
})

describe('lazy members: the same sessions as 1.19.0 (model-based)', { timeout: 60_000 }, () => {
  /** What a request may do with its session. */
  const actions: Array<(s: any, i: number) => unknown> = [
    () => 'nothing',
    (s) => s.cart?.items?.length,
    (s) => { s.cart?.items?.push({ sku: 'pushed' }); return 'pushed' },
    (s, i) => { s.cart = bigCart(`n${i}`); return 'replaced' },
    (s) => { delete s.cart; return 'deleted' },
    (s, i) => { s.count = i; return 'counted' },
    (s, i) => { s.log = Array.from({ length: 60 }, (_, k) => `entry ${i}-${k}`); return 'logged' },
    (s) => Object.keys({ ...s }).join(),
    (s) => JSON.stringify(s).length > 0,
    (s) => { if (s.log) s.log = undefined; return 'unset' },
    (s) => typeof s.cart?.tag,
  ]

  function server(middleware: any) {
    return http.createServer((req: any, res) => {
      middleware(req, res, () => {
        if (req.url === '/setup') {
          req.session.cart = bigCart()
          req.session.user = 'tj'
          res.end('setup')
          return
        }
        const i = Number(new URL(req.url, 'http://x').searchParams.get('a'))
        try {
          res.end(JSON.stringify(actions[i]!(req.session, i) ?? null))
        } catch (err) {
          res.statusCode = 500
          res.end(String(err))
        }
      })
    })
  }

  it('every sequence of reads and writes leaves the same data in the store and answers the same', async () => {
    const options = { secret: 'keyboard cat', resave: false, saveUninitialized: false, cookie: { maxAge: 60_000 } }
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(actions.length - 1), { minLength: 1, maxLength: 12 }), async (sequence) => {
        const ours = new MemoryStore()
        const theirs = new upstream.MemoryStore()
        const servers = [server(session({ ...options, store: ours })), server(upstream({ ...options, store: theirs }))]
        const cookies = await Promise.all(servers.map(async (s) => cookie(await request(s).get('/setup'))))
        for (const a of sequence) {
          const [mine, upstreams] = await Promise.all(servers.map((s, k) => request(s).get(`/?a=${a}`).set('Cookie', cookies[k]!)))
          assert.equal(mine!.text, upstreams!.text, `action ${a}`)
        }
        const strip = (json: string) => ({ ...JSON.parse(json), cookie: undefined })
        const [mine] = Object.values(ours.sessions)
        const [theirsJson] = Object.values((theirs as any).sessions as Record<string, string>)
        assert.deepEqual(strip(mine!), strip(theirsJson!))
        assert.deepEqual(Object.keys(JSON.parse(mine!)), Object.keys(JSON.parse(theirsJson!)))
        assert.equal(mine, JSON.stringify(JSON.parse(mine!)), 'canonical')
      }),
      { numRuns: 40 },
    )
  })
})

describe('lazy members: unusual objects', () => {
  const big = 'y'.repeat(LAZY_MIN_LENGTH)
  const json = JSON.stringify({ cookie: {}, a: { s: big }, b: { s: big } })

  it('on a frozen object, each member is parsed once and keeps its identity', () => {
    const data = Object.freeze(parseWithLazyMembers(json, largeMemberSpans(json)!)) as any
    assert.equal(data.a, data.a)
    assert.equal(data.b, data.b)
    data.b.s = 'changed'
    assert.equal(serializeWithLazyMembers(data), JSON.stringify({ a: { s: big }, b: { s: 'changed' } }))
  })

  it('an object with its own toJSON is left to JSON.stringify, with every member parsed', () => {
    const data = parseWithLazyMembers(json, largeMemberSpans(json)!) as any
    data.toJSON = () => 'mine'
    assert.equal(serializeWithLazyMembers(data), undefined)
    assert.equal(Object.getOwnPropertyDescriptor(data, 'a')?.value.s, big)
  })
})

describe('lazy members: what is never read lazily', { timeout: 20_000 }, () => {
  it('text written straight into `sessions`, even after the store touched it, is parsed whole', async () => {
    let cart: unknown
    let descriptor: PropertyDescriptor | undefined
    const { store, server } = app((req, res) => {
      if (req.url === '/overwrite') {
        const current = store.sessions[req.sessionID]!
        // duplicate key: JSON.parse keeps the last one
        store.sessions[req.sessionID] = current.slice(0, -1) + ',"cart":"last"}'
      } else {
        descriptor = Object.getOwnPropertyDescriptor(req.session, 'cart')
        cart = req.session.cart
      }
      res.end()
    }, { rolling: true })
    const { cookie } = await setup(server)
    await request(server).get('/overwrite').set('Cookie', cookie).expect(200)
    await request(server).get('/').set('Cookie', cookie).expect(200)
    await request(server).get('/').set('Cookie', cookie).expect(200)
    assert.equal(cart, 'last')
    assert.equal(descriptor?.value, 'last')
  })

  it('a store overriding createSession, or created with lazyMembers: false, gets plain data', async () => {
    class Custom extends MemoryStore {
      seen: Array<PropertyDescriptor | undefined> = []
      createSession(req: any, data: any) {
        this.seen.push(Object.getOwnPropertyDescriptor(data, 'cart'))
        return super.createSession(req, data)
      }
    }
    for (const store of [new Custom(), new MemoryStore({ lazyMembers: false })]) {
      let descriptor: PropertyDescriptor | undefined
      const server = createServer({ store, resave: false, saveUninitialized: false }, (req, res) => {
        if (req.url === '/setup') req.session.cart = bigCart()
        else descriptor = Object.getOwnPropertyDescriptor(req.session, 'cart')
        res.end()
      })
      const setupRes = await request(server).get('/setup').expect(200)
      for (let i = 0; i < 2; i++) await request(server).get('/').set('Cookie', cookie(setupRes)).expect(200)
      assert.deepEqual(descriptor?.value, bigCart())
      if (store instanceof Custom) assert.deepEqual(store.seen.map((d) => d?.value?.tag), ['a', 'a'])
    }
    assert.throws(() => new MemoryStore({ lazyMembers: 'yes' as any }), /lazyMembers must be a boolean/)
  })

  it('a toJSON added to every array or object is applied to members never read', async () => {
    const { store, server } = app((req, res) => {
      ;(Array.prototype as any).toJSON = () => 'via toJSON'
      try {
        req.session.count++
        res.end()
      } finally {
        // the end of the response serialized the session synchronously
        delete (Array.prototype as any).toJSON
      }
    })
    const { cookie, id } = await setup(server)
    await request(server).get('/').set('Cookie', cookie).expect(200)
    assert.equal(JSON.parse(store.sessions[id]!).cart.items, 'via toJSON')
  })

  it('a sealed session takes assignments to a member never read', async () => {
    const { store, server } = app((req, res) => {
      Object.seal(req.session)
      req.session.cart = 'replaced'
      res.end(String(req.session.cart))
    })
    const { cookie, id } = await setup(server)
    await request(server).get('/').set('Cookie', cookie).expect(200, 'replaced')
    assert.equal(JSON.parse(store.sessions[id]!).cart, 'replaced')
  })

  it('replacing `sessions` forgets what the store wrote', async () => {
    const { store, server } = app((req, res) => res.end(String(Object.getOwnPropertyDescriptor(req.session, 'cart')?.get === undefined)))
    const { cookie, id } = await setup(server)
    const text = store.sessions[id]!
    store.sessions = Object.assign(Object.create(null), { [id]: text })
    // the same text, but no longer known to be the store's own: parsed whole
    await request(server).get('/').set('Cookie', cookie).expect(200, 'true')
  })
})
