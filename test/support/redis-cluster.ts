/**
 * A throwaway real Redis Cluster for tests: six `redis-server --cluster-enabled yes` processes (three masters, three
 * replicas) on random free 127.0.0.1 ports, joined with `redis-cli --cluster create ... --cluster-replicas 1`.
 *
 *   import { clusterSkipReason, startRedisCluster, type RedisCluster } from '../support/redis-cluster.js'
 *
 *   describe('on a cluster', { skip: clusterSkipReason() }, () => {
 *     let cluster: RedisCluster
 *     before(async () => { cluster = await startRedisCluster() })
 *     after(async () => { await cluster?.stop() })
 *     it('x', async () => { createCluster({ rootNodes: cluster.rootNodes.map((n) => ({ url: n.url })) }) })
 *   })
 *
 * Each node is a `startRedis()` server of ./servers.ts (own temp dir, stopped and removed by `stop()` or at the
 * latest when the test process exits), with an explicit cluster bus port (`--cluster-port`, a second free port,
 * instead of port + 10000, which may be taken or past 65535) and a short `cluster-node-timeout` (1000 ms by default)
 * so that a killed master is failed over within a few seconds.
 *
 * Missing binaries (redis-server or redis-cli): locally skipped with one line, with CI=true a failure.
 */
import { execFile } from 'node:child_process'
import { findBinary, freePort, HOST, isCI, missingReason, startRedis, type RedisServer } from './servers.js'

export interface ClusterNodeAddress {
  host: string
  port: number
  /** redis://127.0.0.1:PORT */
  url: string
}

export interface ClusterNode extends ClusterNodeAddress {
  /** The node's cluster ID (from CLUSTER MYID). */
  readonly id: string
  /** The redis-server process (its handle: kill(), restart(), logTail()). */
  readonly server: RedisServer
  /** false once killed by killMaster()/killNode(). */
  readonly alive: boolean
}

export interface RedisClusterOptions {
  /** `cluster-node-timeout` in ms (default 1000): how soon an unreachable master is failed over. */
  nodeTimeoutMs?: number
  /** Extra redis-server arguments for every node. */
  args?: string[]
}

export interface FailoverResult {
  /** Port of the master that was killed. */
  killed: number
  /** Port of its replica, now master of its slots. */
  promoted: number
  /** ms from the kill until the cluster served all slots again (cluster_state:ok everywhere, slots moved). */
  failoverMs: number
}

export interface RedisCluster {
  /** All six nodes, killed ones included (see `alive`). */
  readonly nodes: readonly ClusterNode[]
  /** The addresses of the nodes started, for a cluster client's `rootNodes` / startup nodes. */
  readonly rootNodes: readonly ClusterNodeAddress[]
  /** The node-timeout in force. */
  readonly nodeTimeoutMs: number
  /** Runs a command on the node at `port` through redis-cli; resolves its output (raw, one reply element a line). */
  command(port: number, ...args: string[]): Promise<string>
  /** Ports of the live masters that serve slots, as the cluster sees them now. */
  masters(): Promise<number[]>
  /** For each live master port, the ports of its live replicas. */
  replicasOf(): Promise<Map<number, number[]>>
  /** The port of the master serving `slot` (0-16383) now. */
  masterOfSlot(slot: number): Promise<number>
  /** Resolves once every live node reports cluster_state:ok, all 16384 slots are served and every replica is in sync. */
  waitHealthy(timeoutMs?: number): Promise<void>
  /**
   * Resolves once each master's replicas have acknowledged everything the master held when this was called
   * (replica offsets caught up with the master's replication offset).
   */
  waitReplicated(timeoutMs?: number): Promise<void>
  /** SIGKILLs the master at `port` (default: the first master) and waits until one of its replicas took over. */
  killMaster(port?: number, timeoutMs?: number): Promise<FailoverResult>
  /** Stops every node and removes their dirs. */
  stop(): Promise<void>
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** `{ skip: clusterSkipReason() }`: undefined when redis-server and redis-cli are installed; throws with CI=true. */
export function clusterSkipReason(): string | undefined {
  const reasons: string[] = []
  const server = missingReason('redis')
  if (server) reasons.push(server)
  else if (!findBinary('redis-cli')) reasons.push('redis-cli not installed')
  if (reasons.length === 0) return undefined
  if (isCI()) throw new Error(`${reasons.join('; ')} (CI=true: a missing server is a failure, not a skip)`)
  return reasons.join('; ')
}

function redisCli(args: string[], timeoutMs = 10_000): Promise<string> {
  const cli = findBinary('redis-cli')
  if (!cli) return Promise.reject(new Error('redis-cli not installed'))
  return new Promise((resolve, reject) => {
    execFile(cli, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`redis-cli ${args.join(' ')} failed: ${error.message}\n${String(stdout)}${String(stderr)}`.trimEnd()))
      else resolve(String(stdout))
    })
  })
}

/** `key:value` lines of INFO / CLUSTER INFO as a map. */
function fields(text: string): Map<string, string> {
  const map = new Map<string, string>()
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':')
    if (i > 0) map.set(line.slice(0, i), line.slice(i + 1).trim())
  }
  return map
}

interface NodesLine {
  id: string
  port: number
  flags: string[]
  masterId: string | undefined
  slots: Array<[number, number]>
}

/** Parses CLUSTER NODES output. */
function parseNodes(text: string): NodesLine[] {
  const out: NodesLine[] = []
  for (const line of text.split('\n')) {
    const parts = line.trim().split(' ')
    if (parts.length < 8) continue
    const [id, address, flags, master] = parts as [string, string, string, string]
    const port = Number(/:(\d+)@/.exec(address)?.[1] ?? /:(\d+)$/.exec(address)?.[1])
    const slots: Array<[number, number]> = []
    for (const range of parts.slice(8)) {
      if (range.startsWith('[')) continue // migrating / importing marker
      const [from, to] = range.split('-')
      slots.push([Number(from), Number(to ?? from)])
    }
    out.push({ id, port, flags: flags.split(','), masterId: master === '-' ? undefined : master, slots })
  }
  return out
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, describeLast: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) {
      const last = lastError instanceof Error ? `; last error: ${lastError.message}` : ''
      throw new Error(`Redis Cluster: ${what} not reached within ${timeoutMs} ms${last} ${describeLast()}`.trimEnd())
    }
    await sleep(100)
  }
}

/** Starts one cluster node on a free port with a free bus port; retries on a port clash. */
async function startNode(nodeTimeoutMs: number, extraArgs: string[], taken: Set<number>): Promise<RedisServer> {
  let lastError: unknown
  for (let attempt = 0; attempt < 5; attempt++) {
    let busPort = await freePort()
    while (taken.has(busPort)) busPort = await freePort()
    try {
      const server = await startRedis({
        args: [
          '--cluster-enabled', 'yes',
          '--cluster-config-file', 'nodes.conf',
          '--cluster-node-timeout', String(nodeTimeoutMs),
          '--cluster-port', String(busPort),
          // a replica whose master died may be promoted however long the link was down
          '--cluster-replica-validity-factor', '0',
          '--appendonly', 'no',
          ...extraArgs,
        ],
      })
      if (taken.has(server.port)) {
        await server.stop()
        continue
      }
      taken.add(server.port)
      taken.add(busPort)
      return server
    } catch (err) {
      lastError = err
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError))
}

/** Starts six nodes, creates the cluster (3 masters, 1 replica each) and waits until it is healthy. */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1000
  const taken = new Set<number>()
  const servers: RedisServer[] = []
  const killed = new Set<number>()
  const ids = new Map<number, string>()

  const raw = (port: number, ...args: string[]): Promise<string> => redisCli(['-h', HOST, '-p', String(port), '--raw', ...args], 5000)
  const livePorts = (): number[] => servers.filter((s) => !killed.has(s.port)).map((s) => s.port)

  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop().catch(() => undefined)))
  }

  /** The topology as a live node sees it. */
  const view = async (): Promise<NodesLine[]> => {
    let lastError: unknown
    for (const port of livePorts()) {
      try {
        return parseNodes(await raw(port, 'CLUSTER', 'NODES'))
      } catch (err) {
        lastError = err
      }
    }
    throw lastError instanceof Error ? lastError : new Error('no live node')
  }

  const masters = async (): Promise<number[]> =>
    (await view())
      .filter((n) => n.flags.includes('master') && !n.flags.includes('fail') && n.slots.length > 0 && !killed.has(n.port))
      .map((n) => n.port)
      .sort((a, b) => a - b)

  const replicasOf = async (): Promise<Map<number, number[]>> => {
    const nodes = await view()
    const byId = new Map(nodes.map((n) => [n.id, n]))
    const result = new Map<number, number[]>()
    for (const m of await masters()) result.set(m, [])
    for (const n of nodes) {
      if (!n.flags.includes('slave') || killed.has(n.port) || !n.masterId) continue
      const master = byId.get(n.masterId)
      if (master) result.get(master.port)?.push(n.port)
    }
    return result
  }

  const masterOfSlot = async (slot: number): Promise<number> => {
    for (const n of await view()) {
      if (n.flags.includes('master') && n.slots.some(([a, b]) => slot >= a && slot <= b)) return n.port
    }
    throw new Error(`no master serves slot ${slot}`)
  }

  /** Every live node: cluster_state ok, all slots assigned and ok; no live node is flagged failing; replicas synced. */
  const healthy = async (): Promise<true | undefined> => {
    for (const port of livePorts()) {
      const info = fields(await raw(port, 'CLUSTER', 'INFO'))
      if (info.get('cluster_state') !== 'ok' || info.get('cluster_slots_ok') !== '16384') return undefined
      const nodes = parseNodes(await raw(port, 'CLUSTER', 'NODES'))
      for (const n of nodes) {
        if (killed.has(n.port)) continue
        if (n.flags.some((f) => f === 'fail' || f === 'fail?' || f === 'handshake' || f === 'noaddr')) return undefined
      }
      const served = nodes
        .filter((n) => n.flags.includes('master') && !killed.has(n.port))
        .reduce((sum, n) => sum + n.slots.reduce((s, [a, b]) => s + b - a + 1, 0), 0)
      if (served !== 16384) return undefined
      const replication = fields(await raw(port, 'INFO', 'replication'))
      if (replication.get('role') === 'slave') {
        if (replication.get('master_link_status') !== 'up' || replication.get('master_sync_in_progress') !== '0') return undefined
        if (killed.has(Number(replication.get('master_port')))) return undefined
      }
    }
    return true
  }

  const describeState = (): string => {
    const live = livePorts()
    return `(live nodes: ${live.join(', ')}; killed: ${[...killed].join(', ') || 'none'})`
  }

  const waitHealthy = async (timeoutMs = 30_000): Promise<void> => {
    await until('cluster_state:ok on every node with replicas in sync', timeoutMs, healthy, describeState)
  }

  const waitReplicated = async (timeoutMs = 10_000): Promise<void> => {
    const targets = new Map<number, number>()
    for (const m of await masters()) {
      targets.set(m, Number(fields(await raw(m, 'INFO', 'replication')).get('master_repl_offset')))
    }
    const replicas = await replicasOf()
    await until('replicas acknowledging the masters\' writes', timeoutMs, async () => {
      for (const [master, offset] of targets) {
        const ports = replicas.get(master) ?? []
        if (ports.length === 0) throw new Error(`master ${master} has no live replica`)
        // the master's own view of what each replica acknowledged (REPLCONF ACK offsets)
        const info = fields(await raw(master, 'INFO', 'replication'))
        const acked = [...info.entries()]
          .filter(([k]) => /^slave\d+$/.test(k))
          .map(([, v]) => Number(/offset=(\d+)/.exec(v)?.[1] ?? -1))
        if (!acked.some((o) => o >= offset)) return undefined
      }
      return true
    })
  }

  const killMaster = async (port?: number, timeoutMs = 30_000): Promise<FailoverResult> => {
    const current = await masters()
    const target = port ?? current[0]
    if (target === undefined || !current.includes(target)) throw new Error(`${String(port)} is not a live master (masters: ${current.join(', ')})`)
    const candidates = (await replicasOf()).get(target) ?? []
    if (candidates.length === 0) throw new Error(`master ${target} has no replica to fail over to`)
    const slots = (await view()).find((n) => n.port === target)?.slots ?? []
    const server = servers.find((s) => s.port === target)!
    const t0 = Date.now()
    killed.add(target)
    await server.kill()
    const promoted = await until(`failover of master ${target} to one of ${candidates.join(', ')}`, timeoutMs, async () => {
      for (const candidate of candidates) {
        const replication = fields(await raw(candidate, 'INFO', 'replication'))
        if (replication.get('role') === 'master') return candidate
      }
      return undefined
    }, describeState)
    // every live node sees the killed master's slots served by the promoted one, and the cluster is ok again
    await until('the cluster serving every slot again after the failover', timeoutMs, async () => {
      for (const live of livePorts()) {
        const nodes = parseNodes(await raw(live, 'CLUSTER', 'NODES'))
        const holder = nodes.find((n) => n.port === promoted)
        if (!holder?.flags.includes('master')) return undefined
        for (const [a] of slots) if (!holder.slots.some(([x, y]) => a >= x && a <= y)) return undefined
        const info = fields(await raw(live, 'CLUSTER', 'INFO'))
        if (info.get('cluster_state') !== 'ok') return undefined
      }
      return true
    }, describeState)
    return { killed: target, promoted, failoverMs: Date.now() - t0 }
  }

  try {
    // start the six nodes two at a time (a shared 2-core machine)
    for (let i = 0; i < 6; i += 2) {
      servers.push(...(await Promise.all([startNode(nodeTimeoutMs, options.args ?? [], taken), startNode(nodeTimeoutMs, options.args ?? [], taken)])))
    }
    await redisCli(
      ['--cluster', 'create', ...servers.map((s) => `${HOST}:${s.port}`), '--cluster-replicas', '1', '--cluster-yes'],
      60_000,
    )
    for (const s of servers) ids.set(s.port, (await raw(s.port, 'CLUSTER', 'MYID')).trim())
    await waitHealthy(60_000)
    // every node knows all six
    await until('every node knowing all six nodes', 30_000, async () => {
      for (const s of servers) if (parseNodes(await raw(s.port, 'CLUSTER', 'NODES')).length !== 6) return undefined
      return true
    })
  } catch (err) {
    const logs = servers.map((s) => `--- ${s.port} ---\n${s.logTail(15)}`).join('\n')
    await stop()
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${logs}`)
  }

  const nodes: ClusterNode[] = servers.map((server) => ({
    host: HOST,
    port: server.port,
    url: `redis://${HOST}:${server.port}`,
    id: ids.get(server.port) ?? '',
    server,
    get alive() {
      return !killed.has(server.port)
    },
  }))

  return {
    nodes,
    rootNodes: nodes.map(({ host, port, url }) => ({ host, port, url })),
    nodeTimeoutMs,
    command: raw,
    masters,
    replicasOf,
    masterOfSlot,
    waitHealthy,
    waitReplicated,
    killMaster,
    stop,
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Key slots (CRC16/XMODEM of the key or its {hash tag}, mod 16384), to spread or aim keys in tests
// ---------------------------------------------------------------------------------------------------------------

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256)
  for (let i = 0; i < 256; i++) {
    let crc = i << 8
    for (let j = 0; j < 8; j++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
    table[i] = crc
  }
  return table
})()

/** The cluster hash slot of `key` (as CLUSTER KEYSLOT computes it). */
export function keySlot(key: string): number {
  let hashed = key
  const open = key.indexOf('{')
  if (open !== -1) {
    const close = key.indexOf('}', open + 1)
    if (close > open + 1) hashed = key.slice(open + 1, close)
  }
  let crc = 0
  for (const byte of Buffer.from(hashed, 'utf8')) crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ byte) & 0xff]!
  return crc % 16384
}
