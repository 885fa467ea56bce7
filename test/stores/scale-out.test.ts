/**
 * Scale-out: two Node processes (each its own port) share sessions through one Redis via connect-redis.
 *  - a session created through one process is read, changed and destroyed through the other;
 *  - under load (50 connections for 10 s, SCALE_OUT_SECONDS to change), each connection with its own session,
 *    alternating between the processes and incrementing a counter: no request fails and no update is lost.
 *   node --import tsx --test test/stores/scale-out.test.ts
 */
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import * as http from 'node:http'
import * as path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createClient } from 'redis'
import { skipUnless, startRedis, type RedisServer } from '../support/servers.js'
import { pkgVersion, serverVersion } from '../support/store-harness.js'
import { startAppProcess, stopAppProcess } from '../support/app-process.js'

const SERVER_SCRIPT = path.join(__dirname, '..', 'support', 'scale-out-server.ts')
const CONNECTIONS = 50
const SECONDS = Number(process.env.SCALE_OUT_SECONDS ?? 10)

interface AppProcess {
  name: string
  port: number
  child: ChildProcess
  agent: http.Agent
}

/** Starts the app script as a child process and waits for its `listening <port>` line. */
async function startApp(name: string, redisUrl: string): Promise<AppProcess> {
  const { child, port } = await startAppProcess(SERVER_SCRIPT, name, { REDIS_URL: redisUrl, PORT: '0' }, 20_000)
  return { name, port, child, agent: new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS }) }
}

async function stopApp(app: AppProcess | undefined): Promise<void> {
  if (!app) return
  app.agent.destroy()
  await stopAppProcess(app.child)
}

interface Reply {
  status: number
  body: Record<string, any>
  server: string | undefined
  setCookie: string | undefined
}

/** GET `path` on `app`, with an optional session cookie. */
function get(app: AppProcess, urlPath: string, cookie?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get({
      host: '127.0.0.1',
      port: app.port,
      path: urlPath,
      agent: app.agent,
      headers: cookie ? { cookie } : {},
    }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => {
        let body: Record<string, any> = {}
        try {
          body = JSON.parse(text)
        } catch {
          body = { text }
        }
        const setCookie = res.headers['set-cookie']?.find((c) => c.startsWith('connect.sid='))
        resolve({ status: res.statusCode ?? 0, body, server: res.headers['x-server'] as string | undefined, setCookie })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
  })
}

const cookieOf = (reply: Reply): string => {
  assert.ok(reply.setCookie, 'the response sets the session cookie')
  return reply.setCookie.split(';')[0]!
}

describe(`scale-out: two app processes, one Redis (connect-redis ${pkgVersion('connect-redis')}, redis-server ${serverVersion('redis')})`,
  { skip: skipUnless('redis') }, () => {
    let redis: RedisServer
    let a: AppProcess | undefined
    let b: AppProcess | undefined

    before(async () => {
      redis = await startRedis()
      const started = await Promise.allSettled([startApp('a', redis.url), startApp('b', redis.url)])
      if (started[0].status === 'fulfilled') a = started[0].value
      if (started[1].status === 'fulfilled') b = started[1].value
      for (const result of started) if (result.status === 'rejected') throw result.reason
    })
    after(async () => {
      await Promise.all([stopApp(a), stopApp(b)])
      await redis?.stop()
    })

    it('a session created through one process is read, changed and destroyed through the other', async () => {
      const created = await get(a!, '/create')
      assert.equal(created.status, 200)
      assert.equal(created.server, 'a')
      const cookie = cookieOf(created)

      const read = await get(b!, '/read', cookie)
      assert.equal(read.server, 'b')
      assert.equal(read.body.id, created.body.id, 'process b loads the session process a created')
      assert.equal(read.body.createdBy, 'a')
      assert.equal(read.body.counter, 0)

      const changed = await get(b!, '/change', cookie)
      assert.equal(changed.body.id, created.body.id)
      const readBack = await get(a!, '/read', cookie)
      assert.equal(readBack.body.changedBy, 'b', 'process a sees the change made through process b')

      const destroyed = await get(b!, '/destroy', cookie)
      assert.equal(destroyed.body.destroyed, true)
      const afterDestroy = await get(a!, '/read', cookie)
      assert.notEqual(afterDestroy.body.id, created.body.id, 'process a no longer loads the destroyed session')
      assert.equal(afterDestroy.body.createdBy, undefined)
    })

    it(`under load (${CONNECTIONS} connections, ${SECONDS} s, both processes) no request fails and no session is lost`, async (t) => {
      const apps = [a!, b!]
      const deadline = Date.now() + SECONDS * 1000
      const failures: string[] = []
      const perServer: Record<string, number> = { a: 0, b: 0 }

      interface Worker { cookie: string; id: string; made: number }
      const workers: Worker[] = []

      const runWorker = async (index: number): Promise<void> => {
        const created = await get(apps[index % 2]!, '/create')
        if (created.status !== 200) {
          failures.push(`create: ${created.status}`)
          return
        }
        const worker: Worker = { cookie: cookieOf(created), id: created.body.id, made: 0 }
        workers.push(worker)
        let turn = index
        while (Date.now() < deadline && failures.length < 20) {
          const app = apps[++turn % 2]!
          let reply: Reply
          try {
            reply = await get(app, '/incr', worker.cookie)
          } catch (err) {
            failures.push(`request to ${app.name} failed: ${(err as Error).message}`)
            continue
          }
          perServer[app.name]!++
          if (reply.status !== 200) {
            failures.push(`${app.name} answered ${reply.status}: ${JSON.stringify(reply.body)}`)
            continue
          }
          worker.made++
          if (reply.body.counter !== worker.made) {
            failures.push(`session ${worker.id}: counter ${reply.body.counter} after ${worker.made} increments (through ${app.name})`)
          }
        }
      }

      const started = Date.now()
      await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => runWorker(i)))
      const elapsed = (Date.now() - started) / 1000
      assert.deepEqual(failures, [], 'no request failed and every counter followed its requests')
      assert.equal(workers.length, CONNECTIONS)

      // each session, read back through either process and straight from Redis, holds exactly its increments
      const client = createClient({ url: redis.url })
      await client.connect()
      try {
        for (const [i, worker] of workers.entries()) {
          const read = await get(apps[i % 2]!, '/read', worker.cookie)
          assert.equal(read.body.id, worker.id, 'the session is still there')
          assert.equal(read.body.counter, worker.made, `session ${worker.id} counted every one of its requests`)
          const stored = JSON.parse((await client.get(`scale-out:${worker.id}`)) ?? 'null')
          assert.equal(stored?.counter, worker.made)
        }
        const keys = await client.keys('scale-out:*')
        assert.equal(keys.length, CONNECTIONS, 'one stored session per connection, none lost or duplicated')
      } finally {
        await client.close()
      }

      const total = perServer.a! + perServer.b!
      assert.ok(perServer.a! > 0 && perServer.b! > 0, 'both processes served requests')
      t.diagnostic(`${total} requests in ${elapsed.toFixed(1)} s (${Math.round(total / elapsed)} req/s): ` +
        `a ${perServer.a}, b ${perServer.b}; ${CONNECTIONS} sessions, every counter exact`)
    })
  })
