/**
 * Parallel requests of one session across two app processes on the bundled RedisStore (which has `patch`), on a
 * single redis-server and on a Redis Cluster (node-redis 6 clients; app script test/support/redis-store-server.ts):
 *  - 20 and 200 parallel requests, split between the two processes, each setting its own key: every key is kept;
 *  - a logout racing a slower in-flight request that sets a key stays a logout: the session is gone afterwards and
 *    the slow request's response sets no cookie for it.
 *   node scripts/test.js test/stores/redis-parallel.test.ts
 */
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import * as path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { clusterSkipReason, startRedisCluster, type RedisCluster } from '../support/redis-cluster.js'
import { skipUnless, startRedis, type RedisServer } from '../support/servers.js'
import { cookieFrom, HttpClient } from '../support/in-process.js'
import { startAppProcess, stopAppProcess } from '../support/app-process.js'

const SERVER_SCRIPT = path.join(__dirname, '..', 'support', 'redis-store-server.ts')

interface AppProcess {
  name: string
  child: ChildProcess
  http: HttpClient
}

async function startApp(name: string, env: Record<string, string>): Promise<AppProcess> {
  const { child, port } = await startAppProcess(SERVER_SCRIPT, name, env)
  return { name, child, http: new HttpClient(port, 64) }
}

async function stopApp(app: AppProcess | undefined): Promise<void> {
  if (!app) return
  app.http.agent.destroy()
  await stopAppProcess(app.child)
}

interface Backend {
  name: string
  skip: string | undefined
  start(): Promise<{ env: Record<string, string>; stop(): Promise<void> }>
}

const backends: Backend[] = [
  {
    name: 'a single redis-server',
    skip: skipUnless('redis'),
    start: async () => {
      const redis: RedisServer = await startRedis()
      return { env: { REDIS_URL: redis.url }, stop: () => redis.stop() }
    },
  },
  {
    name: 'a Redis Cluster (3 masters + 3 replicas)',
    skip: clusterSkipReason(),
    start: async () => {
      const cluster: RedisCluster = await startRedisCluster()
      return { env: { REDIS_CLUSTER_NODES: cluster.rootNodes.map((n) => n.url).join(',') }, stop: () => cluster.stop() }
    },
  },
]

for (const backend of backends) {
  describe(`parallel requests of one session across two app processes, RedisStore on ${backend.name}`, { skip: backend.skip }, () => {
    let stopBackend: (() => Promise<void>) | undefined
    let a: AppProcess | undefined
    let b: AppProcess | undefined

    before(async () => {
      const started = await backend.start()
      stopBackend = started.stop
      const apps = await Promise.allSettled([startApp('a', started.env), startApp('b', started.env)])
      if (apps[0].status === 'fulfilled') a = apps[0].value
      if (apps[1].status === 'fulfilled') b = apps[1].value
      for (const result of apps) if (result.status === 'rejected') throw result.reason
    })
    after(async () => {
      await Promise.all([stopApp(a), stopApp(b)])
      await stopBackend?.()
    })

    for (const count of [20, 200]) {
      it(`${count} parallel requests, each setting its own key, half on each process: every key is kept`, async () => {
        const created = await a!.http.request('/create')
        assert.equal(created.status, 200)
        const cookie = cookieFrom(created)!
        const keys = Array.from({ length: count }, (_, i) => `k${i}`)
        const replies = await Promise.all(keys.map((key, i) => (i % 2 ? b! : a!).http.request(`/set/${key}`, { cookie, timeout: 30_000 })))
        for (const reply of replies) assert.equal(reply.status, 200, reply.body)
        const read = JSON.parse((await b!.http.request('/read', { cookie })).body) as { keys: string[] }
        const missing = keys.filter((key) => !read.keys.includes(key))
        assert.deepEqual(missing, [], `all ${count} keys are in the session`)
      })
    }

    it('a logout racing a slower request that sets a key stays a logout, and the slow response sets no cookie for it', async () => {
      const created = await a!.http.request('/create')
      const cookie = cookieFrom(created)!
      // the slow request has loaded the session and waits at a gate while the other process logs out
      const gate = `late-${Date.now()}`
      const slow = a!.http.request(`/set/late?gate=${gate}`, { cookie, timeout: 30_000 })
      const deadline = Date.now() + 20_000
      while (!JSON.parse((await a!.http.request(`/held/${gate}`)).body).held) {
        assert.ok(Date.now() < deadline, 'the slow request reached its gate')
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      const logout = await b!.http.request('/logout', { cookie })
      assert.equal(logout.status, 200)
      await a!.http.request(`/release/${gate}`)
      const late = await slow
      assert.equal(late.status, 200)
      const setCookie = ([] as string[]).concat(late.headers['set-cookie'] ?? [])
      assert.deepEqual(setCookie.filter((c) => c.startsWith(cookie.split(';')[0]!.split('=')[0]! + '=')), [], 'no Set-Cookie for the destroyed session')
      const read = JSON.parse((await a!.http.request('/read', { cookie })).body) as { keys: string[] }
      assert.deepEqual(read.keys, [], 'the session is gone: the request gets a new, empty one')
    })
  })
}
