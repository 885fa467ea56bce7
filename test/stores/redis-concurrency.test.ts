/**
 * Parallel requests of one session on a throwaway redis-server, in one process: the bundled RedisStore (patch)
 * and connect-redis 10 (no patch) with `concurrency: 'serialize'` lose no update, and a logout racing a slower
 * request stays a logout.
 *   node --import tsx --test test/stores/redis-concurrency.test.ts
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { RedisStore } from 'connect-redis'
import { createClient } from 'redis'
import { RedisStore as BundledRedisStore } from 'express-session/redis'
import { skipUnless, startRedis, type RedisServer } from '../support/servers.js'
import { concurrencyApp, expectedKeys, keysAfterParallelSets, keysAfterParallelSetsOn, logoutRacingSlowRequest } from '../support/concurrency.js'

type Client = ReturnType<typeof createClient>

let server: RedisServer
let client: Client
let prefixes = 0

describe('parallel requests on Redis', { skip: skipUnless('redis') }, () => {
  before(async () => {
    server = await startRedis()
    client = createClient({ url: server.url })
    await client.connect()
  })
  after(async () => {
    await client?.close()
    await server?.stop()
  })

  describe('the bundled RedisStore (patch)', () => {
    const store = () => new BundledRedisStore({ client, prefix: `patch-${++prefixes}:` })

    for (const n of [20, 200]) {
      it(`${n} parallel requests, each setting its own key, keep every key`, async () => {
        const { app } = concurrencyApp({ store: store() })
        assert.deepEqual(await keysAfterParallelSetsOn(app, n), expectedKeys(n))
      })
    }

    it('a logout racing a slower in-flight request stays a logout', async () => {
      const prefix = `patch-${++prefixes}:`
      const target = concurrencyApp({ store: new BundledRedisStore({ client, prefix }) })
      const { slowSetCookie, keysAfter } = await logoutRacingSlowRequest(target)
      assert.equal(slowSetCookie, undefined)
      assert.equal(keysAfter, null)
      assert.deepEqual(await client.keys(`${prefix}*`), [], 'nothing written back')
      assert.deepEqual(target.errors, [])
    })
  })

  describe("connect-redis with concurrency: 'serialize'", () => {
    const store = () => new RedisStore({ client, prefix: `serialize-${++prefixes}:` })

    for (const n of [20, 200]) {
      it(`${n} parallel requests, each setting its own key, keep every key`, async () => {
        const { app } = concurrencyApp({ store: store(), concurrency: 'serialize' })
        assert.deepEqual(await keysAfterParallelSetsOn(app, n), expectedKeys(n))
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
})
