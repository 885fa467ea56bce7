/**
 * The Redis set-ups the RedisStore tests run on: a throwaway redis-server and a real Redis Cluster (3 masters +
 * 3 replicas), each with the clients the store supports, started on first use and stopped after the file's tests.
 */
import { after } from 'node:test'
import { createClient, createCluster } from 'redis'
import { createClient as createClient4 } from 'redis4'
import { Cluster, Redis } from 'ioredis'
import { clusterSkipReason, startRedisCluster, type RedisCluster } from './redis-cluster.js'
import { skipUnless, startRedis, type RedisServer } from './servers.js'
import { pkgVersion } from './store-harness.js'

let serverStart: Promise<RedisServer> | undefined
function server(): Promise<RedisServer> {
  return (serverStart ??= startRedis())
}
let clusterStart: Promise<RedisCluster> | undefined
function cluster(): Promise<RedisCluster> {
  return (clusterStart ??= startRedisCluster())
}
after(async () => {
  if (serverStart) await (await serverStart.catch(() => undefined))?.stop()
  if (clusterStart) await (await clusterStart.catch(() => undefined))?.stop()
})

/** What the tests read below the store: works on a single server and on a cluster. */
export interface Probe {
  zRange(key: string, start: number, stop: number): Promise<string[]>
  pTTL(key: string): Promise<number>
  exists(key: string): Promise<number>
  hGet(key: string, field: string): Promise<string | null | undefined>
}

/** One set-up: a server or cluster, and a client of it. */
export interface RedisEnv {
  name: string
  cluster: boolean
  /** Why the set-up is skipped (no redis-server here), if it is. */
  skip: string | undefined
  /** A connected client, a probe, and how to close both. */
  connect(): Promise<{ client: any; probe: Probe; close(): Promise<void> }>
  /** INFO commandstats calls of `command` summed over the server or every master. */
  calls(command: string): Promise<number>
}

async function nodeProbe(): Promise<{ probe: Probe; close(): Promise<unknown> }> {
  const probe = createClient({ url: (await server()).url })
  await probe.connect()
  return { probe: probe as unknown as Probe, close: () => probe.close() }
}

async function clusterProbe(): Promise<{ probe: Probe; close(): Promise<unknown> }> {
  const c = await cluster()
  const probe = createCluster({ rootNodes: c.rootNodes.map((n) => ({ url: n.url })) })
  probe.on('error', () => undefined)
  await probe.connect()
  return { probe: probe as unknown as Probe, close: () => probe.close() }
}

function parseCalls(info: string, command: string): number {
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info)
  return match ? Number(match[1]) : 0
}

async function singleCalls(command: string): Promise<number> {
  const { probe, close } = await nodeProbe()
  try {
    return parseCalls(await (probe as any).info('commandstats'), command)
  } finally {
    await close()
  }
}

async function clusterCalls(command: string): Promise<number> {
  const c = await cluster()
  let sum = 0
  for (const port of await c.masters()) sum += parseCalls(await c.command(port, 'INFO', 'commandstats'), command)
  return sum
}

/**
 * The set-ups: node-redis 6 and ioredis on a single server and on the cluster, and node-redis 4 on the single
 * server with `withRedis4`.
 */
export function redisEnvs(options: { withRedis4?: boolean } = {}): RedisEnv[] {
  const single = skipUnless('redis')
  const onCluster = clusterSkipReason()
  const singleEnv = (name: string, make: (url: string) => Promise<{ client: any; quit(): Promise<unknown> }>): RedisEnv => ({
    name: `single server, ${name}`,
    cluster: false,
    skip: single,
    connect: async () => {
      const { client, quit } = await make((await server()).url)
      const { probe, close } = await nodeProbe()
      return { client, probe, close: async () => { await quit(); await close() } }
    },
    calls: singleCalls,
  })
  const clusterEnv = (name: string, make: (c: RedisCluster) => Promise<{ client: any; quit(): Promise<unknown> }>): RedisEnv => ({
    name: `cluster, ${name}`,
    cluster: true,
    skip: onCluster,
    connect: async () => {
      const { client, quit } = await make(await cluster())
      const { probe, close } = await clusterProbe()
      return { client, probe, close: async () => { await quit(); await close() } }
    },
    calls: clusterCalls,
  })
  return [
    singleEnv(`redis ${pkgVersion('redis')}`, async (url) => {
      const client = createClient({ url })
      await client.connect()
      return { client, quit: () => client.close() }
    }),
    singleEnv(`ioredis ${pkgVersion('ioredis')}`, async (url) => {
      const client = new Redis(url, { lazyConnect: true })
      await client.connect()
      return { client, quit: () => client.quit() }
    }),
    ...(options.withRedis4 === true
      ? [singleEnv(`redis ${pkgVersion('redis4')}`, async (url) => {
          const client = createClient4({ url })
          await client.connect()
          return { client, quit: () => client.quit() }
        })]
      : []),
    clusterEnv(`redis ${pkgVersion('redis')} createCluster`, async (c) => {
      const client = createCluster({ rootNodes: c.rootNodes.map((n) => ({ url: n.url })) })
      client.on('error', () => undefined)
      await client.connect()
      return { client, quit: () => client.close() }
    }),
    clusterEnv(`ioredis ${pkgVersion('ioredis')} Cluster`, async (c) => {
      const client = new Cluster(c.rootNodes.map(({ host, port }) => ({ host, port })), { lazyConnect: true })
      client.on('error', () => undefined)
      await client.connect()
      return { client, quit: () => client.quit() }
    }),
  ]
}
