/**
 * connect-redis 10 (no `patch`) with `concurrency: 'serialize'`, on a throwaway redis-server: parallel requests of
 * one session in one process lose no update, and a logout racing a slower request stays a logout.
 *   node --import tsx --test test/stores/connect-redis-serialize.test.ts
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import { RedisStore } from 'connect-redis'
import { createClient } from 'redis'
import { skipUnless, startRedis, type RedisServer } from '../support/servers.js'
import { concurrencyApp, expectedKeys, keysAfterParallelSets, logoutRacingSlowRequest } from '../support/concurrency.js'

type Client = ReturnType<typeof createClient>

describe("connect-redis with concurrency: 'serialize'", { skip: skipUnless('redis') }, () => {
  let server: RedisServer
  let client: Client
  before(async () => {
    server = await startRedis()
    client = createClient({ url: server.url })
    await client.connect()
  })
  after(async () => {
    await client?.close()
    await server?.stop()
  })

  let prefixes = 0
  const store = () => new RedisStore({ client, prefix: `serialize-${++prefixes}:` })

  for (const n of [20, 200]) {
    it(`${n} parallel requests, each setting its own key, keep every key`, async () => {
      const { app } = concurrencyApp({ store: store(), concurrency: 'serialize' })
      const listening = http.createServer(app).listen(0, '127.0.0.1')
      try {
        assert.deepEqual(await keysAfterParallelSets([listening as never], n), expectedKeys(n))
      } finally {
        listening.closeAllConnections()
        listening.close()
      }
    })
  }

  it('loses updates without it (1.x behaviour, the default for a store without patch)', async () => {
    const { app } = concurrencyApp({ store: store() })
    const keys = await keysAfterParallelSets([app], 20)
    assert.ok(keys.length < expectedKeys(20).length, `kept ${keys.length} keys`)
  })

  it('a logout racing a slower in-flight request stays a logout', async () => {
    const s = store()
    const target = concurrencyApp({ store: s, concurrency: 'serialize' })
    const { slowSetCookie, keysAfter } = await logoutRacingSlowRequest(target)
    assert.equal(slowSetCookie, undefined)
    assert.equal(keysAfter, null)
    assert.deepEqual(await client.keys(`${s.prefix}*`), [], 'nothing written back')
    assert.deepEqual(target.errors, [])
  })
})
