/**
 * Observability through `node:diagnostics_channel`: a tracing channel per store call the middleware makes
 * (`express-session:store:get|set|touch|destroy`), a channel for every failed store call
 * (`express-session:store:error`) and lifecycle channels
 * (`express-session:session:created|loaded|regenerated|destroyed|expired`).
 */
import { afterEach, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import express from 'express'
import request from 'supertest'
import session from 'express-session'
import { cookie, delay, sid, signedCookie, waitFor } from '../support/http.js'
import { POLICIES, runStoreFailure, STORE_FAILURES } from './store-failures.js'

type Method = 'get' | 'set' | 'touch' | 'destroy'
const METHODS: Method[] = ['get', 'set', 'touch', 'destroy']
const EVENTS = ['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const
const LIFECYCLE = ['created', 'loaded', 'regenerated', 'destroyed', 'expired'] as const

/** Unsubscribes everything a test subscribed. */
const cleanups: Array<() => void> = []
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup()
})

interface TraceEvent {
  method: Method
  event: (typeof EVENTS)[number]
  /** The published object itself (the same one for every event of a call). */
  context: Record<string, any>
  /** A copy of it as it was when published. */
  snapshot: Record<string, any>
}

/** Subscribes to the store tracing channels, recording the events about `store`. */
function traceStore(store: object): TraceEvent[] {
  const events: TraceEvent[] = []
  for (const method of METHODS) {
    const channel = diagnostics.tracingChannel(`express-session:store:${method}`)
    const handlers = Object.fromEntries(EVENTS.map((event) => [event, (message: any) => {
      if (message.store === store) events.push({ method, event, context: message, snapshot: { ...message } })
    }]))
    channel.subscribe(handlers as any)
    cleanups.push(() => channel.unsubscribe(handlers as any))
  }
  return events
}

interface LifecycleEvent {
  event: (typeof LIFECYCLE)[number]
  message: { sessionId: string; previousSessionId?: string; reason?: string; req?: any }
}

/** Subscribes to the lifecycle channels. */
function watchLifecycle(): LifecycleEvent[] {
  const events: LifecycleEvent[] = []
  for (const event of LIFECYCLE) {
    const onMessage = (message: unknown) => events.push({ event, message: message as LifecycleEvent['message'] })
    diagnostics.subscribe(`express-session:session:${event}`, onMessage)
    cleanups.push(() => diagnostics.unsubscribe(`express-session:session:${event}`, onMessage))
  }
  return events
}

/** Calls of a trace: `[method, events in order]` for each traced call. */
function calls(events: TraceEvent[]): Array<[Method, string[]]> {
  const byContext = new Map<object, [Method, string[]]>()
  for (const { method, event, context } of events) {
    if (!byContext.has(context)) byContext.set(context, [method, []])
    byContext.get(context)![1].push(event)
  }
  return [...byContext.values()]
}

/** A MemoryStore whose `get` answers after `latency` ms and whose methods in `failing` fail. */
class TestStore extends session.MemoryStore {
  latency = 0
  failing = new Set<Method>()

  override get(sid: string, callback: (err: any, sess?: any) => void): void {
    if (this.failing.has('get')) return void setImmediate(callback, new Error('get failed'))
    if (this.latency) return void setTimeout(() => super.get(sid, callback), this.latency)
    super.get(sid, callback)
  }

  override set(sid: string, sess: object, callback?: (err?: any) => void): void {
    if (this.failing.has('set')) return void setImmediate(() => callback?.(new Error('set failed')))
    super.set(sid, sess, callback)
  }
}

/**
 * An app: a middleware numbers each request (`req.requestNumber`), then the session, then `/login` stores a
 * user, `/logout` unsets the session (`unset: 'destroy'`), `/destroy` and `/regenerate` call those methods,
 * `/` answers the user.
 */
function createApp(options: session.SessionOptions = {}, store: session.Store = new TestStore()) {
  const app = express()
  let requestNumber = 0
  app.use((req: any, _res, next) => {
    req.requestNumber = ++requestNumber
    next()
  })
  app.use(session({ secret: 'keyboard cat', store, resave: false, saveUninitialized: false, unset: 'destroy', ...options }))
  app.get('/login', (req: any, res) => {
    req.session.user = 'tj'
    res.end('logged in')
  })
  app.get('/logout', (req: any, res) => {
    req.session = null
    res.end('logged out')
  })
  app.get('/destroy', (req: any, res, next) => req.session.destroy((err: any) => (err ? next(err) : res.end('destroyed'))))
  app.get('/regenerate', (req: any, res, next) => req.session.regenerate((err: any) => (err ? next(err) : res.end(req.sessionID))))
  app.get('/', (req: any, res) => res.end(req.session ? `user: ${req.session.user ?? 'nobody'}` : 'no session'))
  app.use((err: any, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    if (res.headersSent) return
    res.status(500).end(String(err.code ?? err.message))
  })
  return { app, store: store as TestStore }
}

describe('diagnostics channels', () => {
  describe('store tracing channels', () => {
    it('trace a load on express-session:store:get: start, end, asyncStart, asyncEnd, with the payload', async () => {
      const { app, store } = createApp()
      const login = await request(app).get('/login').expect(200)
      const events = traceStore(store)
      store.latency = 30
      await request(app).get('/').set('Cookie', cookie(login)).expect(200, 'user: tj')

      const full = ['start', 'end', 'asyncStart', 'asyncEnd']
      assert.deepEqual(calls(events), [['get', full], ['touch', full]], 'the load, then the touch of the end')
      const [start, end, asyncStart] = events
      assert.equal(start!.snapshot.method, 'get')
      assert.equal(start!.snapshot.sessionId, sid(login))
      assert.equal(start!.snapshot.store, store)
      assert.equal(start!.snapshot.duration, undefined, 'no duration before the store answered')
      assert.equal(end!.snapshot.duration, undefined, 'end: the synchronous part is over, the store has not answered')
      assert.equal(typeof asyncStart!.snapshot.duration, 'number')
      assert.ok(asyncStart!.snapshot.duration >= 25, `duration measures the store: ${asyncStart!.snapshot.duration}`)
      assert.ok(asyncStart!.snapshot.duration < 1000)
      assert.equal(asyncStart!.snapshot.error, undefined)
      assert.equal(asyncStart!.snapshot.result.user, 'tj', 'result: what the store answered')
    })

    it('trace the saves, touches and destroys of the end of the response', async () => {
      const { app, store } = createApp()
      const events = traceStore(store)
      const login = await request(app).get('/login').expect(200)
      const id = sid(login)
      await request(app).get('/').set('Cookie', cookie(login)).expect(200, 'user: tj')
      await request(app).get('/logout').set('Cookie', cookie(login)).expect(200, 'logged out')

      const full = ['start', 'end', 'asyncStart', 'asyncEnd']
      assert.deepEqual(calls(events), [
        ['set', full],
        ['get', full], ['touch', full],
        ['get', full], ['destroy', full],
      ])
      const payloads = events.filter(({ event }) => event === 'asyncEnd').map(({ snapshot }) => snapshot)
      for (const payload of payloads) {
        assert.equal(payload.sessionId, id)
        assert.equal(payload.store, store)
        assert.ok(payload.duration >= 0)
        assert.equal(payload.error, undefined)
      }
      assert.deepEqual(payloads.map(({ method }) => method), ['set', 'get', 'touch', 'get', 'destroy'])
    })

    it('trace the store calls of the Session methods', async () => {
      const { app, store } = createApp()
      const login = await request(app).get('/login').expect(200)
      const second = await request(app).get('/login').expect(200)
      const events = traceStore(store)
      const regenerated = await request(app).get('/regenerate').set('Cookie', cookie(login)).expect(200)
      await request(app).get('/destroy').set('Cookie', cookie(second)).expect(200, 'destroyed')
      const traced = events.filter(({ event }) => event === 'start').map(({ snapshot }) => [snapshot.method, snapshot.sessionId])
      assert.deepEqual(traced, [
        ['get', sid(login)], ['destroy', sid(login)], ['set', regenerated.text],
        ['get', sid(second)], ['destroy', sid(second)],
      ])
    })

    it('publish a failure on error, before asyncStart and asyncEnd', async () => {
      const { app, store } = createApp()
      const login = await request(app).get('/login').expect(200)
      const events = traceStore(store)
      store.failing.add('get')
      await request(app).get('/').set('Cookie', cookie(login)).expect(500, 'get failed')

      assert.deepEqual(calls(events), [['get', ['start', 'end', 'error', 'asyncStart', 'asyncEnd']]])
      const error = events.find(({ event }) => event === 'error')!.snapshot
      assert.equal(error.method, 'get')
      assert.equal(error.sessionId, sid(login))
      assert.ok(error.error instanceof Error)
      assert.equal(error.error.message, 'get failed')
      assert.ok(error.duration >= 0)
    })

    it('publish a timeout as an error with code ESTORETIMEOUT', async () => {
      const { app, store } = createApp({ storeTimeout: 50 })
      const login = await request(app).get('/login').expect(200)
      const events = traceStore(store)
      store.latency = 200
      await request(app).get('/').set('Cookie', cookie(login)).expect(500, 'ESTORETIMEOUT')
      const error = events.find(({ event }) => event === 'error')!.snapshot
      assert.equal(error.error.code, 'ESTORETIMEOUT')
      assert.ok(error.duration >= 45 && error.duration < 200, `duration ${error.duration}`)
      await delay(200)
      assert.equal(events.filter(({ event }) => event === 'asyncEnd').length, 1, 'the late answer is not traced again')
    })

    it('publish a store that throws as an error', async () => {
      const store = new session.MemoryStore({ checkPeriod: 0 })
      store.get = () => {
        throw new Error('thrown by the store')
      }
      const { app } = createApp({}, store)
      const events = traceStore(store)
      await request(app).get('/').set('Cookie', signedCookie('some-id')).expect(500, 'thrown by the store')
      const error = events.find(({ event }) => event === 'error')
      assert.ok(error, 'an error event')
      assert.equal(error.snapshot.error.message, 'thrown by the store')
      assert.deepEqual(calls(events)[0]![1].sort(), ['asyncEnd', 'asyncStart', 'end', 'error', 'start'])
    })

    it('stop publishing once unsubscribed', async () => {
      const { app, store } = createApp()
      const events = traceStore(store)
      await request(app).get('/login').expect(200)
      for (const cleanup of cleanups.splice(0)) cleanup()
      const before = events.length
      assert.ok(before > 0)
      await request(app).get('/login').expect(200)
      assert.equal(events.length, before)
    })
  })

  describe('express-session:store:error', () => {
    /** Subscribes to the failure channel. */
    function watchFailures(): Array<Record<string, any>> {
      const messages: Array<Record<string, any>> = []
      const onMessage = (message: unknown) => messages.push(message as Record<string, any>)
      diagnostics.subscribe('express-session:store:error', onMessage)
      cleanups.push(() => diagnostics.unsubscribe('express-session:store:error', onMessage))
      return messages
    }

    for (const policy of POLICIES) {
      for (const failure of STORE_FAILURES) {
        it(`publishes ${failure.callSite} failing (store.${failure.method}), storeErrors: '${policy}'`, async () => {
          const messages = watchFailures()
          const { store, sessionId } = await runStoreFailure(failure, policy)
          await waitFor(() => messages.length > 0, 1000, 'a failure message')
          await delay(20)
          assert.equal(messages.length, 1, 'one message')
          const [message] = messages as [Record<string, any>]
          assert.deepEqual(Object.keys(message).sort(), ['error', 'method', 'req', 'sessionId', 'store'])
          assert.equal(message.method, failure.method)
          assert.equal(message.sessionId, sessionId)
          assert.equal(message.store, store)
          assert.ok(message.error instanceof Error)
          assert.equal(message.error.message, `${failure.method} failed`)
          assert.equal(message.req.path, failure.path, 'the request the call was made for')
        })
      }
    }

    it('publishes a timeout, and a store without a request (Store#load) without req', async () => {
      const { app, store } = createApp({ storeTimeout: 30 })
      const login = await request(app).get('/login').expect(200)
      const messages = watchFailures()
      store.latency = 100
      await request(app).get('/').set('Cookie', cookie(login)).expect(500, 'ESTORETIMEOUT')
      store.failing.add('get')
      const loaded = await new Promise<unknown>((resolve) => store.load(sid(login), resolve))
      assert.equal((loaded as Error).message, 'get failed')
      assert.deepEqual(messages.map(({ method, sessionId, error, req }) => [method, sessionId, error.code ?? error.message, req?.path]), [
        ['get', sid(login), 'ESTORETIMEOUT', '/'],
        ['get', sid(login), 'get failed', undefined],
      ])
      assert.equal('req' in messages[1]!, false)
    })
  })

  describe('session lifecycle channels', () => {
    it('created: a new session, with its ID and the request', async () => {
      const { app } = createApp({ saveUninitialized: true })
      const events = watchLifecycle()
      const res = await request(app).get('/').expect(200, 'user: nobody')
      assert.equal(events.length, 1)
      assert.equal(events[0]!.event, 'created')
      assert.equal(events[0]!.message.sessionId, sid(res))
      assert.equal(events[0]!.message.req.requestNumber, 1)
    })

    it('loaded: a session found in the store', async () => {
      const { app } = createApp()
      const login = await request(app).get('/login').expect(200)
      const events = watchLifecycle()
      await request(app).get('/').set('Cookie', cookie(login)).expect(200, 'user: tj')
      assert.deepEqual(events.map(({ event, message }) => [event, message.sessionId, message.req.requestNumber]), [
        ['loaded', sid(login), 2],
      ])
    })

    it('created, not loaded, for a signed ID the store does not know', async () => {
      const { app } = createApp()
      const events = watchLifecycle()
      await request(app).get('/').set('Cookie', signedCookie('unknown-id')).expect(200)
      assert.deepEqual(events.map(({ event }) => event), ['created'])
      assert.notEqual(events[0]!.message.sessionId, 'unknown-id')
    })

    it('regenerated: the new ID and the previous one', async () => {
      const { app } = createApp()
      const login = await request(app).get('/login').expect(200)
      const events = watchLifecycle()
      const res = await request(app).get('/regenerate').set('Cookie', cookie(login)).expect(200)
      assert.deepEqual(events.map(({ event, message }) => [event, message.sessionId, message.previousSessionId]), [
        ['loaded', sid(login), undefined],
        ['regenerated', res.text, sid(login)],
      ])
      assert.equal(events[1]!.message.req.requestNumber, 2)
    })

    it('destroyed: by destroy(), and by unsetting req.session (unset: destroy)', async () => {
      const { app } = createApp()
      const one = await request(app).get('/login').expect(200)
      const two = await request(app).get('/login').expect(200)
      const events = watchLifecycle()
      await request(app).get('/destroy').set('Cookie', cookie(one)).expect(200, 'destroyed')
      await request(app).get('/logout').set('Cookie', cookie(two)).expect(200, 'logged out')
      assert.deepEqual(events.map(({ event, message }) => [event, message.sessionId, message.req.requestNumber]), [
        ['loaded', sid(one), 3],
        ['destroyed', sid(one), 3],
        ['loaded', sid(two), 4],
        ['destroyed', sid(two), 4],
      ])
    })

    it("expired, reason 'absoluteTimeout': then a new session is created", async () => {
      const { app } = createApp({ absoluteTimeout: 40 })
      const login = await request(app).get('/login').expect(200)
      await delay(60)
      const events = watchLifecycle()
      await request(app).get('/').set('Cookie', cookie(login)).expect(200, 'user: nobody')
      assert.deepEqual(events.map(({ event, message }) => [event, message.reason]), [['expired', 'absoluteTimeout'], ['created', undefined]])
      assert.equal(events[0]!.message.sessionId, sid(login))
      assert.equal(events[0]!.message.req.requestNumber, 2)
      assert.notEqual(events[1]!.message.sessionId, sid(login))
    })

    it("expired, reason 'maxAge': the MemoryStore drops an expired session when it is read", async () => {
      const store = new session.MemoryStore({ checkPeriod: 0 })
      const { app } = createApp({ cookie: { maxAge: 30 } }, store)
      const login = await request(app).get('/login').expect(200)
      await delay(50)
      const events = watchLifecycle()
      await request(app).get('/').set('Cookie', cookie(login)).expect(200, 'user: nobody')
      assert.deepEqual(events.map(({ event }) => event), ['expired', 'created'])
      assert.equal(events[0]!.message.sessionId, sid(login))
      assert.equal(events[0]!.message.reason, 'maxAge')
    })

    it("expired, reason 'maxAge': the MemoryStore sweep, with no request", async () => {
      const store = new session.MemoryStore({ checkPeriod: 20 })
      cleanups.push(() => store.close())
      const { app } = createApp({ cookie: { maxAge: 30 } }, store)
      const events = watchLifecycle()
      const login = await request(app).get('/login').expect(200)
      await waitFor(() => events.some(({ event }) => event === 'expired'), 1000, 'the sweep')
      const expired = events.find(({ event }) => event === 'expired')!
      assert.deepEqual(expired.message, { sessionId: sid(login), reason: 'maxAge', req: undefined })
    })

    it("expired, reason 'max': the MemoryStore evicts the least recently used session", async () => {
      const store = new session.MemoryStore({ max: 1, checkPeriod: 0 })
      const { app } = createApp({}, store)
      const first = await request(app).get('/login').expect(200)
      const events = watchLifecycle()
      await request(app).get('/login').expect(200)
      const expired = events.filter(({ event }) => event === 'expired')
      assert.deepEqual(expired.map(({ message }) => [message.sessionId, message.reason]), [[sid(first), 'max']])
    })
  })
})
