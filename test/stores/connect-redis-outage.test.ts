/**
 * Outage: two apps on connect-redis 10 (redis 6 client) against a real redis-server (AOF, appendfsync always)
 * under load; redis-server is killed (SIGKILL) mid-run and restarted on the same port two seconds later.
 *
 *   app "fail"      storeTimeout 500 ms, storeErrors 'fail', the client's offline queue on (commands wait
 *                   for the reconnection): during the outage requests answer 500 within ~storeTimeout.
 *   app "continue"  storeTimeout 500 ms, storeErrors 'continue', offline queue off (commands fail at once),
 *                   and the client's connection events forwarded to the store ('disconnect' / 'connect'):
 *                   during the outage requests answer 200 without a session.
 *   app "wait"      for contrast, no storeTimeout and the offline queue on: requests wait out the outage.
 * All reconnect quickly (reconnectStrategy: 50 ms, growing to 200 ms). Asserted: every request is answered
 * (no hang, no socket error), only with the documented statuses, both apps save and load sessions again
 * within a few seconds of the restart, the process never crashes (no uncaught exception, no unhandled
 * rejection), and every session whose save was acknowledged, before the kill or after the restart, is in
 * Redis and loads.
 *
 *   node --import tsx --test test/stores/connect-redis-outage.test.ts
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { describe, it } from 'node:test'
import { RedisStore } from 'connect-redis'
import express from 'express'
import session from 'express-session'
import { createClient } from 'redis'
import { skipUnless, startRedis, type RedisServer } from '../support/servers.js'
import { cookieFrom, HttpClient, ProcessWatch, sleep } from '../support/in-process.js'

const STORE_TIMEOUT = 500
const OUTAGE_MS = 2000
const RECOVERY_LIMIT_MS = 5000

type Policy = 'fail' | 'continue' | 'wait'

interface AppUnderTest {
  policy: Policy
  port: number
  prefix: string
  clientErrors: number
  close(): Promise<void>
}

/** What the load saw, request by request. */
interface Sample {
  app: Policy
  kind: 'write' | 'read'
  start: number
  end: number
  status: number | 'no-answer'
  body: any
}

function reconnectStrategy(retries: number): number {
  return Math.min(50 * (retries + 1), 200)
}

async function startApp(policy: Policy, redisUrl: string): Promise<AppUnderTest> {
  const client = createClient({
    url: redisUrl,
    // off for "continue": while disconnected, commands fail at once instead of waiting in the offline queue
    disableOfflineQueue: policy === 'continue',
    socket: { reconnectStrategy, connectTimeout: 1000 },
  })
  const app: AppUnderTest = { policy, port: 0, prefix: `outage-${policy}:`, clientErrors: 0, close: async () => undefined }
  // without an 'error' listener a lost connection would crash the process (an EventEmitter 'error')
  client.on('error', () => {
    app.clientErrors++
  })
  await client.connect()
  const store = new RedisStore({ client, prefix: app.prefix })
  if (policy === 'continue') {
    // the documented fallback: a store that emits 'disconnect' makes requests proceed without a session
    client.on('error', () => {
      if (!client.isReady) store.emit('disconnect')
    })
    client.on('ready', () => store.emit('connect'))
  }

  const web = express()
  web.use(session({
    secret: 'outage secret',
    store,
    resave: false,
    saveUninitialized: false,
    storeTimeout: policy === 'wait' ? undefined : STORE_TIMEOUT,
    storeErrors: policy === 'continue' ? 'continue' : 'fail',
    cookie: { maxAge: 3600_000 },
  }))
  web.get('/write', (req: any, res, next) => {
    if (!req.session) return res.json({ session: false })
    req.session.n = Number(req.query.n)
    req.session.save((err: unknown) => {
      if (!err) return res.json({ saved: true, sid: req.sessionID, n: req.session.n })
      if (policy === 'continue') return res.json({ saved: false }) // this app degrades instead of failing
      next(err)
    })
  })
  web.get('/read', (req: any, res) => {
    res.json({ session: Boolean(req.session), sid: req.sessionID ?? null, n: req.session?.n ?? null })
  })
  web.use((err: any, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    if (res.headersSent) return
    res.status(500).json({ error: String(err?.message ?? err), code: err?.code ?? null })
  })
  const server = web.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  app.port = (server.address() as AddressInfo).port
  app.close = async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    client.destroy()
  }
  return app
}

describe('Redis outage (connect-redis 10, redis 6 client, real redis-server)', { skip: skipUnless('redis') }, () => {
  it('keeps answering through a kill and restart of redis-server, recovers by itself, and loses no acknowledged session', { timeout: 60_000 }, async () => {
    const watch = new ProcessWatch().install()
    let redis: RedisServer | undefined
    const apps: AppUnderTest[] = []
    const clients: HttpClient[] = []
    try {
      redis = await startRedis({ persist: true })
      apps.push(await startApp('fail', redis.url), await startApp('continue', redis.url), await startApp('wait', redis.url))

      const samples: Sample[] = []
      /** Acknowledged saves: the cookie, the value, the app, and when the answer came. */
      const acked: Array<{ app: AppUnderTest; cookie: string; sid: string; n: number; at: number }> = []
      let stop = false
      let counter = 0

      async function worker(app: AppUnderTest): Promise<void> {
        const http = new HttpClient(app.port, 2)
        clients.push(http)
        const timeout = app.policy === 'wait' ? OUTAGE_MS + 8000 : STORE_TIMEOUT + 2500
        while (!stop) {
          const n = ++counter
          const start = Date.now()
          let write
          try {
            write = await http.request(`/write?n=${n}`, { timeout })
          } catch (err) {
            samples.push({ app: app.policy, kind: 'write', start, end: Date.now(), status: 'no-answer', body: String(err) })
            continue
          }
          const body = JSON.parse(write.body)
          samples.push({ app: app.policy, kind: 'write', start, end: Date.now(), status: write.status, body })
          if (write.status !== 200 || body.saved !== true) {
            await sleep(20)
            continue
          }
          const cookie = cookieFrom(write)!
          acked.push({ app, cookie, sid: body.sid, n, at: Date.now() })
          const readStart = Date.now()
          try {
            const read = await http.request('/read', { cookie, timeout })
            samples.push({ app: app.policy, kind: 'read', start: readStart, end: Date.now(), status: read.status, body: JSON.parse(read.body) })
          } catch (err) {
            samples.push({ app: app.policy, kind: 'read', start: readStart, end: Date.now(), status: 'no-answer', body: String(err) })
          }
        }
      }

      const workers = apps.flatMap((app) => [worker(app), worker(app), worker(app), worker(app)])

      await sleep(1500)
      const killAt = Date.now()
      await redis.kill()
      await sleep(OUTAGE_MS)
      const restartAt = Date.now()
      await redis.restart()
      const upAt = Date.now()

      /** First time after `upAt` each app acknowledged a save and then loaded that session. */
      const recoveredAt = (policy: Policy): number | undefined => {
        for (const s of samples) {
          if (s.app === policy && s.kind === 'read' && s.start >= upAt && s.status === 200 && s.body.session === true) return s.end
        }
        return undefined
      }
      const deadline = upAt + RECOVERY_LIMIT_MS + 2000
      const policies = ['fail', 'continue', 'wait'] as const
      while (Date.now() < deadline && policies.some((policy) => recoveredAt(policy) === undefined)) await sleep(50)
      await sleep(1000)
      stop = true
      await Promise.all(workers)

      // -- every request was answered, with a documented status -------------------------------------------
      const unanswered = samples.filter((s) => s.status === 'no-answer')
      assert.deepEqual(unanswered, [], 'every request got an answer (no hang, no reset connection)')
      for (const s of samples) {
        if (s.app === 'continue') assert.equal(s.status, 200, `"continue" answers 200 always: ${JSON.stringify(s)}`)
        else assert.ok(s.status === 200 || s.status === 500, `"${s.app}" answers 200 or 500: ${JSON.stringify(s)}`)
        if (s.app !== 'wait') assert.ok(s.end - s.start < STORE_TIMEOUT + 1500, `answered within storeTimeout + 1.5 s: ${s.end - s.start} ms`)
      }
      // without storeTimeout, requests wait in the client's offline queue until Redis is back
      const waited = Math.max(...samples.filter((s) => s.app === 'wait').map((s) => s.end - s.start))
      assert.ok(waited > OUTAGE_MS / 2, `"wait" requests waited out the outage: ${waited} ms`)
      const failed = samples.filter((s) => s.app === 'fail' && s.status === 500)
      assert.ok(failed.length > 0, 'the outage was seen: "fail" answered 500s')
      for (const s of failed) {
        assert.ok(s.start >= killAt - 100 && s.start <= upAt + RECOVERY_LIMIT_MS, `500 only around the outage: ${JSON.stringify(s)}`)
        assert.ok(typeof s.body.error === 'string' && s.body.error.length > 5 && !s.body.error.includes('[object'), `the error says what happened: ${s.body.error}`)
      }
      const sessionless = samples.filter((s) => s.app === 'continue' && (s.body.session === false || s.body.saved === false))
      assert.ok(sessionless.length > 0, 'the outage was seen: "continue" answered without a session')
      for (const s of sessionless) assert.ok(s.start >= killAt - 100 && s.start <= upAt + RECOVERY_LIMIT_MS, `session-less only around the outage: ${JSON.stringify(s)}`)

      // -- recovery ------------------------------------------------------------------------------------------
      const recovery: Record<string, number> = {}
      for (const policy of policies) {
        const at = recoveredAt(policy)
        assert.ok(at !== undefined, `"${policy}" saves and loads sessions again after the restart`)
        recovery[policy] = at - upAt
        assert.ok(recovery[policy]! < RECOVERY_LIMIT_MS, `"${policy}" recovered within ${RECOVERY_LIMIT_MS} ms of the restart: ${recovery[policy]} ms`)
      }

      // -- nothing acknowledged was lost ---------------------------------------------------------------------
      const beforeKill = acked.filter((a) => a.at < killAt)
      const afterRestart = acked.filter((a) => a.at >= upAt)
      assert.ok(beforeKill.length > 20, `sessions were written before the kill: ${beforeKill.length}`)
      assert.ok(afterRestart.length > 5, `and after the restart: ${afterRestart.length}`)
      const probe = createClient({ url: redis.url })
      probe.on('error', () => undefined)
      await probe.connect()
      try {
        for (const a of acked) {
          const raw = await probe.get(a.app.prefix + a.sid)
          assert.ok(raw, `session ${a.sid} (${a.app.policy}, acknowledged ${a.at < killAt ? 'before the kill' : 'after the restart'}) is in Redis`)
          assert.equal(JSON.parse(raw).n, a.n)
        }
      } finally {
        probe.destroy()
      }
      const check = new HttpClient(apps[0]!.port, 4)
      clients.push(check)
      for (const a of beforeKill.filter((x) => x.app.policy === 'fail').slice(0, 50)) {
        const read = await check.request('/read', { cookie: a.cookie })
        assert.deepEqual(JSON.parse(read.body), { session: true, sid: a.sid, n: a.n }, 'and loads through the app')
      }
      watch.assertClean()

      const outage = samples.filter((s) => s.start >= killAt && s.start < upAt)
      const worst = Math.max(...samples.filter((s) => s.app !== 'wait').map((s) => s.end - s.start))
      // the figures, for docs/reliability.md
      console.log(`outage figures: ${JSON.stringify({
        requests: samples.length,
        duringOutage: outage.length,
        fail500s: failed.length,
        fail500Messages: [...new Set(failed.map((s) => `${s.body.code ?? ''} ${s.body.error}`.trim()))],
        continueSessionless: sessionless.length,
        worstLatencyMsWithStoreTimeout: worst,
        worstLatencyMsWithoutStoreTimeout: waited,
        wait500s: samples.filter((s) => s.app === 'wait' && s.status === 500).length,
        restartMs: upAt - restartAt,
        recoveryMsAfterRestart: recovery,
        ackedBeforeKill: beforeKill.length,
        ackedAfterRestart: afterRestart.length,
        ackedTotalVerifiedInRedis: acked.length,
        redisClientErrorEvents: apps.map((a) => `${a.policy}: ${a.clientErrors}`).join(', '),
      })}`)
    } finally {
      for (const http of clients) http.close()
      for (const app of apps) await app.close().catch(() => undefined)
      await redis?.stop()
      watch.uninstall()
    }
  })
})
