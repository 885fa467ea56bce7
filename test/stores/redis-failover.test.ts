/**
 * Failover under load, on the bundled RedisStore:
 *  - on a real Redis Cluster (3 masters + 3 replicas, cluster-node-timeout 1 s), over node-redis 6's createCluster
 *    and over ioredis's Cluster: sessions are written and acknowledged by the replicas, then a master is killed
 *    (SIGKILL) while two apps (storeErrors 'fail' and 'continue', storeTimeout 2 s) keep answering requests that
 *    create, update and read sessions spread over every slot;
 *  - on a single redis-server (AOF, appendfsync always) over node-redis 6 and ioredis: killed and restarted on the
 *    same port with its data dir.
 * Asserted: every request is answered, with 200 or the error policy's 500, within 2 x storeTimeout + a margin
 * (a request makes at most a load and a save); errors only from the kill until a few seconds after the failover
 * (or restart); no uncaught exception or unhandled rejection in the process running the apps; afterwards every
 * session written before the kill is readable through the apps, and new sessions are created and read again.
 * Nothing here measures speed.
 *
 * node-redis 4's cluster client is left out: it learns a new topology only from a MOVED reply, which a dead node
 * never sends, and keeps its slot map private (no `_slots.rediscover` for the store to call), so its commands for
 * the dead master's slots wait on the dead node for good (node-redis issues #2806, #2141).
 *   node scripts/test.js test/stores/redis-failover.test.ts
 */
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { describe, it } from 'node:test'
import express from 'express'
import session from 'express-session'
import { RedisStore } from 'express-session/redis'
import { Cluster, Redis } from 'ioredis'
import { createClient, createCluster } from 'redis'
import { clusterSkipReason, startRedisCluster, type RedisCluster } from '../support/redis-cluster.js'
import { skipUnless, startRedis } from '../support/servers.js'
import { cookieFrom, HttpClient, ProcessWatch, sleep } from '../support/in-process.js'
import { pkgVersion } from '../support/store-harness.js'

const STORE_TIMEOUT = 2000
/** A request makes at most two store calls (load, save), each cut at storeTimeout; plus room for a loaded machine. */
const ANSWER_LIMIT = 2 * STORE_TIMEOUT + 3000
/** After the failover (or restart) has completed, errors may go on this long (client reconnection, a loaded machine). */
const SETTLE_MS = 8000
const SESSIONS = 40
const WORKERS = 8

type Policy = 'fail' | 'continue'

interface App {
  policy: Policy
  http: HttpClient
  close(): Promise<void>
}

interface Sample {
  app: Policy
  start: number
  end: number
  status: number | 'no-answer'
  body: string
}

/** An Express app on RedisStore over `client`. */
async function startApp(policy: Policy, client: unknown, prefix: string): Promise<App> {
  const web = express()
  web.use(session({
    store: new RedisStore({ client: client as never, prefix }),
    secret: 'failover secret',
    resave: false,
    saveUninitialized: false,
    storeTimeout: STORE_TIMEOUT,
    storeErrors: policy,
    cookie: { maxAge: 10 * 60_000 },
  }))
  web.get('/write', (req, res) => {
    if (!req.session) {
      res.json({ session: false })
      return
    }
    const data = req.session as unknown as { v?: number }
    data.v = (data.v ?? 0) + 1
    res.json({ session: true, id: req.sessionID, v: data.v })
  })
  web.get('/read', (req, res) => {
    const v = (req.session as unknown as { v?: number } | undefined)?.v
    res.json({ session: Boolean(req.session), id: req.sessionID, v })
  })
  const server = web.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  const http = new HttpClient((server.address() as AddressInfo).port, WORKERS * 2)
  return {
    policy,
    http,
    close: () => new Promise<void>((resolve) => {
      http.agent.destroy()
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}

async function timed(app: App, path: string, cookie?: string): Promise<Sample> {
  for (let attempt = 0; ; attempt++) {
    // timed per attempt: ANSWER_LIMIT bounds how long the middleware takes to answer one request
    const start = Date.now()
    try {
      const res = await app.http.request(path, { cookie, timeout: ANSWER_LIMIT })
      return { app: app.policy, start, end: Date.now(), status: res.status, body: res.body }
    } catch (err) {
      // A save that fails after the response was sent goes to Express's final handler, which then destroys the
      // connection (as with 1.19.0): a request already written to that kept-alive connection is not lost to the
      // store but to the closed socket, so it is sent again, once, on a new connection.
      const code = (err as { code?: string }).code
      if (attempt === 0 && (code === 'ECONNRESET' || /socket hang up/.test(String(err)))) continue
      return { app: app.policy, start, end: Date.now(), status: 'no-answer', body: String(err) }
    }
  }
}

/** Whether a sample got what it asked for (a 200 with a session), rather than the error policy's answer. */
function served(sample: Sample): boolean {
  return sample.status === 200 && (JSON.parse(sample.body) as { session: boolean }).session
}

interface Outage {
  /** Kills the server (or a master) and resolves when it serves every key again. */
  run(): Promise<void>
}

/**
 * The scenario: create sessions, let them be acknowledged (`acknowledged`), run the load, cause the outage,
 * keep the load going until SETTLE_MS after it ended, then check.
 */
async function scenario(
  t: { diagnostic(message: string): void },
  apps: [App, App],
  acknowledged: () => Promise<void>,
  outage: Outage,
): Promise<void> {
  const watch = new ProcessWatch().install()
  try {
    const cookies: string[] = []
    for (let i = 0; i < SESSIONS; i++) {
      const res = await apps[i % 2]!.http.request('/write')
      assert.equal(res.status, 200)
      cookies.push(cookieFrom(res)!)
    }
    await acknowledged()

    const samples: Sample[] = []
    let running = true
    const workers = Array.from({ length: WORKERS }, async (_, w) => {
      for (let i = 0; running; i++) {
        const app = apps[(w + i) % 2]!
        const cookie = cookies[(w * 7 + i * 3) % cookies.length]
        const kind = i % 3
        samples.push(await timed(app, kind === 0 ? '/read' : '/write', kind === 2 ? undefined : cookie))
        await sleep(20)
      }
    })
    await sleep(500)
    const killedAt = Date.now()
    await outage.run()
    const recoveredAt = Date.now()
    t.diagnostic(`outage: ${recoveredAt - killedAt} ms until the servers served every key again`)
    await sleep(SETTLE_MS + 1000)
    running = false
    await Promise.all(workers)

    const unanswered = samples.filter((s) => s.status === 'no-answer')
    assert.deepEqual(unanswered, [], 'every request is answered')
    const statuses = new Set(samples.map((s) => s.status))
    for (const status of statuses) assert.ok(status === 200 || status === 500, `status ${status} is 200 or the error policy's 500`)
    const slow = samples.filter((s) => s.end - s.start > ANSWER_LIMIT)
    assert.deepEqual(slow, [], `every request is answered within ${ANSWER_LIMIT} ms`)
    for (const s of samples) if (s.app === 'continue') assert.equal(s.status, 200, "storeErrors 'continue' answers 200")

    const failed = samples.filter((s) => !served(s))
    const early = failed.filter((s) => s.end < killedAt)
    const late = failed.filter((s) => s.start > recoveredAt + SETTLE_MS)
    t.diagnostic(`${samples.length} requests, ${failed.length} without their session (500 or 'continue'), ` +
      `all between ${failed.length ? Math.min(...failed.map((s) => s.start)) - killedAt : 0} and ` +
      `${failed.length ? Math.max(...failed.map((s) => s.end)) - killedAt : 0} ms after the kill`)
    assert.deepEqual(early, [], 'no error before the kill')
    assert.deepEqual(late, [], `no error later than ${SETTLE_MS} ms after the failover`)

    // every session written before the kill is there, through both apps
    for (const [i, cookie] of cookies.entries()) {
      const res = await apps[i % 2]!.http.request('/read', { cookie })
      assert.equal(res.status, 200)
      const body = JSON.parse(res.body) as { session: boolean; v?: number }
      assert.ok(typeof body.v === 'number' && body.v >= 1, `session ${i} written before the kill is readable: ${res.body}`)
    }
    // and new sessions work again on both apps
    for (const app of apps) {
      const created = await app.http.request('/write')
      assert.equal(created.status, 200)
      const read = await apps[apps.indexOf(app) ^ 1]!.http.request('/read', { cookie: cookieFrom(created) })
      assert.equal((JSON.parse(read.body) as { v?: number }).v, 1)
    }
    watch.assertClean()
  } finally {
    watch.uninstall()
  }
}

interface Kind {
  name: string
  cluster(c: RedisCluster): Promise<{ client: unknown; close(): Promise<unknown> }>
  single(url: string): Promise<{ client: unknown; close(): Promise<unknown> }>
}

const kinds: Kind[] = [
  {
    name: `redis ${pkgVersion('redis')}`,
    cluster: async (c) => {
      const client = createCluster({
        rootNodes: c.rootNodes.map((n) => ({ url: n.url })),
        defaults: { socket: { connectTimeout: 1000, reconnectStrategy: (retries: number) => Math.min(50 * (retries + 1), 200) } },
      })
      client.on('error', () => undefined)
      await client.connect()
      return { client, close: () => client.close().catch(() => client.destroy()) }
    },
    single: async (url) => {
      const client = createClient({ url, socket: { connectTimeout: 1000, reconnectStrategy: (retries: number) => Math.min(50 * (retries + 1), 200) } })
      client.on('error', () => undefined)
      await client.connect()
      return { client, close: () => client.close().catch(() => client.destroy()) }
    },
  },
  {
    name: `ioredis ${pkgVersion('ioredis')}`,
    cluster: async (c) => {
      const client = new Cluster(c.rootNodes.map(({ host, port }) => ({ host, port })), { lazyConnect: true })
      client.on('error', () => undefined)
      await client.connect()
      return { client, close: async () => client.disconnect() }
    },
    single: async (url) => {
      const client = new Redis(url, { lazyConnect: true, retryStrategy: (times) => Math.min(50 * times, 200) })
      client.on('error', () => undefined)
      await client.connect()
      return { client, close: async () => client.disconnect() }
    },
  },
]

describe('RedisStore: a master of a Redis Cluster killed under load', { skip: clusterSkipReason() }, () => {
  for (const kind of kinds) {
    it(`over ${kind.name}: requests answered throughout, acknowledged sessions kept, new ones work after the failover`, async (t) => {
      const c = await startRedisCluster()
      const connections: Array<{ close(): Promise<unknown> }> = []
      const apps: App[] = []
      try {
        const prefix = 'fo:'
        for (const policy of ['fail', 'continue'] as const) {
          const connection = await kind.cluster(c)
          connections.push(connection)
          apps.push(await startApp(policy, connection.client, prefix))
        }
        let victim = 0
        await scenario(t, apps as [App, App], async () => {
          await c.waitReplicated()
          // kill a master that holds some of the sessions
          const masters = await c.masters()
          victim = masters[Math.floor(Math.random() * masters.length)]!
          const held = Number((await c.command(victim, 'DBSIZE')).trim())
          assert.ok(held > 0, `master ${victim} holds some of the sessions`)
          t.diagnostic(`killing master ${victim}, which holds ${held} of the ${SESSIONS} sessions`)
        }, {
          run: async () => {
            const result = await c.killMaster(victim)
            t.diagnostic(`master ${result.killed} failed over to ${result.promoted} in ${result.failoverMs} ms`)
          },
        })
      } finally {
        for (const app of apps) await app.close()
        for (const connection of connections) await connection.close()
        await c.stop()
      }
    })
  }
})

describe('RedisStore: a single redis-server killed and restarted under load', { skip: skipUnless('redis') }, () => {
  for (const kind of kinds) {
    it(`over ${kind.name}: requests answered within the storeTimeout bound during the outage, sessions persisted before it are there after`, async (t) => {
      const redis = await startRedis({ persist: true })
      const connections: Array<{ close(): Promise<unknown> }> = []
      const apps: App[] = []
      try {
        for (const policy of ['fail', 'continue'] as const) {
          const connection = await kind.single(redis.url)
          connections.push(connection)
          apps.push(await startApp(policy, connection.client, 'single:'))
        }
        await scenario(t, apps as [App, App], async () => undefined, {
          run: async () => {
            await redis.kill()
            await sleep(1500)
            await redis.restart()
            t.diagnostic(`redis-server restarted after 1500 ms down, in ${redis.startupMs} ms`)
          },
        })
      } finally {
        for (const app of apps) await app.close()
        for (const connection of connections) await connection.close()
        await redis.stop()
      }
    })
  }
})
