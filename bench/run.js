#!/usr/bin/env node
// HTTP benchmark: bare Express vs express-session 1.19.0 vs this package, side by side, alternating.
// See bench/README.md. Usage (after `npm run build`):
//
//   node bench/run.js [--quick] [--duration S] [--warmup S] [--rounds N] [--connections N]
//                     [--scenarios B,C,D,E,F,C-express5,C-redis,D-redis,E-patch,E-overwrite,E-redis-patch,
//                                  E-redis-overwrite] [--micro | --no-micro]
//                     [--results | --no-results] [--json FILE]
//
// --quick: 1 s rounds (and warm-up), results not written to bench/RESULTS.md unless --results.
// --micro: run only the in-process microbenchmark (bench/micro.js).
'use strict'

const { fork, spawn } = require('node:child_process')
const fs = require('node:fs')
const http = require('node:http')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const autocannon = require('autocannon')
const { SCENARIO_INFO, median, withSection, withSectionsKept } = require('./common.js')

const HOST = '127.0.0.1'
const VARIANTS = ['bare', 'upstream', 'ours']
const VARIANT_LABEL = { bare: 'bare Express', hooks: 'hooks only', upstream: '1.19.0', ours: 'ours' }
const ALL_SCENARIOS = [
  { id: 'B', scenario: 'B', framework: 'express4', store: 'memory' },
  // C also runs "hooks only" (what any session middleware must install, without session work): see bench/server.js
  { id: 'C', scenario: 'C', framework: 'express4', store: 'memory', variants: ['bare', 'hooks', 'upstream', 'ours'] },
  { id: 'D', scenario: 'D', framework: 'express4', store: 'memory' },
  { id: 'E', scenario: 'E', framework: 'express4', store: 'memory' },
  { id: 'F', scenario: 'F', framework: 'express4', store: 'memory' },
  { id: 'C-express5', scenario: 'C', framework: 'express5', store: 'memory' },
  { id: 'C-redis', scenario: 'C', framework: 'express4', store: 'redis' },
  { id: 'D-redis', scenario: 'D', framework: 'express4', store: 'redis' },
  // Patch saves (the store's patch, the default) vs whole-session saves (concurrency: 'overwrite', the store's set)
  // of E's ~10 KB session, ours only: the selected ones of these run as one group, with a bare Express server as
  // reference, all alternating in the same rounds. redis-bundled: this package's RedisStore (express-session/redis).
  { id: 'E-patch', scenario: 'E', framework: 'express4', store: 'memory', group: 'save', save: 'patch' },
  { id: 'E-overwrite', scenario: 'E', framework: 'express4', store: 'memory', group: 'save', save: 'overwrite' },
  { id: 'E-redis-patch', scenario: 'E', framework: 'express4', store: 'redis-bundled', group: 'save', save: 'patch' },
  { id: 'E-redis-overwrite', scenario: 'E', framework: 'express4', store: 'redis-bundled', group: 'save',
    save: 'overwrite' },
]
const isRedisStore = (store) => store === 'redis' || store === 'redis-bundled'
/** Throughput targets, ours / 1.19.0 req/s. */
const TARGETS = { C: 1.6 }
/** Server CPU per request above bare Express, ours as a share of 1.19.0's: (ours - bare) / (1.19.0 - bare). */
const CPU_SHARE_TARGETS = { B: 0.4, C: 0.12, D: 0.3, E: 0.1, F: 0.25 }

// ---- options -----------------------------------------------------------------------------------------------
function parseArgs(argv) {
  const opts = {
    quick: false,
    duration: 5,
    warmup: undefined,
    rounds: 5,
    connections: 50,
    scenarios: ALL_SCENARIOS.map((s) => s.id),
    micro: 'also',
    results: undefined,
    json: undefined,
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = () => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${a} needs a value`)
      return v
    }
    if (a === '--quick') opts.quick = true
    else if (a === '--duration') opts.duration = Number(val())
    else if (a === '--warmup') opts.warmup = Number(val())
    else if (a === '--rounds') opts.rounds = Number(val())
    else if (a === '--connections') opts.connections = Number(val())
    else if (a === '--scenarios') {
      const wanted = val().split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)
      opts.scenarios = wanted.map((w) => {
        const found = ALL_SCENARIOS.find((s) => s.id.toLowerCase() === w)
        if (!found) throw new Error(`unknown scenario ${w} (known: ${ALL_SCENARIOS.map((s) => s.id).join(', ')})`)
        return found.id
      })
    } else if (a === '--micro') opts.micro = 'only'
    else if (a === '--no-micro') opts.micro = 'no'
    else if (a === '--results') opts.results = true
    else if (a === '--no-results') opts.results = false
    else if (a === '--json') opts.json = val()
    else if (a === '--help' || a === '-h') {
      console.log(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 10).join('\n'))
      process.exit(0)
    } else throw new Error(`unknown argument ${a}`)
  }
  if (opts.quick) opts.duration = 1
  if (opts.warmup === undefined) opts.warmup = opts.quick ? 1 : Math.min(opts.duration, 3)
  if (opts.results === undefined) opts.results = !opts.quick
  if (!(opts.rounds >= 1) || !(opts.duration > 0)) throw new Error('bad --rounds / --duration')
  return opts
}

// ---- helpers -----------------------------------------------------------------------------------------------
function get(port, urlPath, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path: urlPath, headers, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${urlPath} timed out`)))
  })
}

async function getJson(port, urlPath) {
  const r = await get(port, urlPath)
  if (r.status !== 200) throw new Error(`GET ${urlPath}: ${r.status} ${r.body}`)
  return JSON.parse(r.body)
}

/** The servers' environment: not production, where both versions print a MemoryStore warning. */
function serverEnv(extra = {}) {
  const env = { ...process.env }
  delete env.NODE_ENV
  delete env.BENCH_CONCURRENCY
  return { ...env, ...extra }
}

function startServer(variant, sc, redisUrl, execArgv = []) {
  const args = [variant, sc.framework, sc.scenario, sc.store]
  if (redisUrl) args.push(redisUrl)
  // a whole-session save: the middleware option concurrency: 'overwrite' (see bench/server.js)
  const extraEnv = variant === 'ours' && sc.save === 'overwrite' ? { BENCH_CONCURRENCY: 'overwrite' } : {}
  const child = fork(path.join(__dirname, 'server.js'), args, {
    execArgv: ['--expose-gc', ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: serverEnv(extraEnv),
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${variant} server did not start`)), 20_000)
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`${variant} server exited with ${code}`)))
    child.once('message', (msg) => {
      clearTimeout(timer)
      child.removeAllListeners('exit')
      resolve({
        variant,
        child,
        port: msg.port,
        stop: () =>
          new Promise((res) => {
            if (child.exitCode !== null || child.signalCode !== null) return res()
            child.once('exit', () => res())
            get(msg.port, '/__exit').catch(() => child.kill('SIGTERM'))
            setTimeout(() => child.kill('SIGKILL'), 5000).unref()
          }),
      })
    })
  })
}

/** Sets up the scenario's session on a server and returns the cookie to send ('' for none). */
async function setupCookie(server, sc) {
  if (sc.scenario === 'B' || !['upstream', 'ours'].includes(server.variant)) return ''
  const r = await get(server.port, '/__setup')
  const setCookie = r.headers['set-cookie']
  if (r.status !== 200 || !setCookie) throw new Error(`${server.variant}: /__setup gave no cookie (${r.status})`)
  return setCookie[0].split(';')[0]
}

/** Socket writes for one response (median of a few requests, each on a new connection). */
async function countWrites(server, cookie) {
  const counts = []
  const stream = []
  for (let i = 0; i < 5; i++) {
    const headers = { 'x-bench-count-writes': '1' }
    if (cookie) headers.cookie = cookie
    const r = await get(server.port, '/', headers)
    if (r.status !== 200) throw new Error(`${server.variant}: GET / ${r.status}`)
    const w = await getJson(server.port, '/__writes')
    counts.push(w.socketWrites)
    stream.push(w.streamWrites)
  }
  return { socketWrites: median(counts), streamWrites: median(stream) }
}

async function loadRound(server, cookie, seconds, connections, redisMeter) {
  // the previous round's requests still in flight when autocannon stopped finish first (they would count here)
  if (redisMeter) await redisMeter.settle()
  const redisBefore = redisMeter ? await redisMeter.read() : undefined
  await getJson(server.port, '/__reset')
  const headers = cookie ? { cookie } : {}
  const result = await autocannon({
    url: `http://${HOST}:${server.port}/`,
    connections,
    duration: seconds,
    headers,
  })
  // this round's tail (requests in flight when autocannon stopped) is counted, in requests, CPU and bytes alike
  if (redisMeter) await redisMeter.settle()
  const stats = await getJson(server.port, '/__stats')
  const redisDelta = redisMeter ? redisMeter.delta(redisBefore, await redisMeter.read()) : undefined
  const bad = result.errors + result.timeouts + result.non2xx
  if (bad > 0) console.warn(`  ! ${server.variant}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx`)
  const perReq = (x) => (stats.requests > 0 ? x / stats.requests : NaN)
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    cpuPerReq: perReq(stats.cpuUs),
    requests: stats.requests,
    bad,
    ...(redisDelta && {
      redisInPerReq: perReq(redisDelta.inBytes),
      redisOutPerReq: perReq(redisDelta.outBytes),
      redisCpuPerReq: perReq(redisDelta.cpuUs),
      redisCommandsPerReq: perReq(redisDelta.commands),
    }),
  }
}

// ---- redis -------------------------------------------------------------------------------------------------
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, HOST, () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

function redisPing(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, HOST)
    sock.setTimeout(500)
    sock.once('connect', () => sock.write('PING\r\n'))
    sock.once('data', (d) => {
      sock.destroy()
      resolve(d.toString('latin1').startsWith('+PONG'))
    })
    sock.once('error', () => resolve(false))
    sock.once('timeout', () => {
      sock.destroy()
      resolve(false)
    })
  })
}

async function startRedis() {
  // the test helper when it loads (TypeScript, through tsx), else redis-server directly
  try {
    const tsx = require('tsx/cjs/api')
    const servers = tsx.require('../test/support/servers.ts', __filename)
    if (typeof servers.startRedis === 'function') {
      const r = await servers.startRedis()
      return { url: r.url, stop: () => r.stop() }
    }
  } catch (err) {
    console.warn(`(test/support/servers.ts not usable: ${err.message.split('\n')[0]}; starting redis-server directly)`)
  }
  const bin = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => fs.existsSync(p)) || 'redis-server'
  const port = await freePort()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-redis-'))
  const child = spawn(bin, ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no',
    '--protected-mode', 'no', '--dir', dir, '--logfile', ''], { stdio: 'ignore' })
  const deadline = Date.now() + 15_000
  while (!(await redisPing(port))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error('redis-server did not start')
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    url: `redis://${HOST}:${port}`,
    stop: () =>
      new Promise((resolve) => {
        const done = () => {
          fs.rmSync(dir, { recursive: true, force: true })
          resolve()
        }
        if (child.exitCode !== null) return done()
        child.once('exit', done)
        child.kill('SIGTERM')
        setTimeout(() => child.kill('SIGKILL'), 5000).unref()
      }),
  }
}

/**
 * What the Redis server received and sent, from `INFO stats` and `INFO cpu` read before and after a round:
 * total_net_input_bytes (bytes clients sent to Redis: commands and their arguments), total_net_output_bytes
 * (replies), total_commands_processed, used_cpu_user + used_cpu_sys. The whole server's counters: while one bench
 * server is loaded the others are idle, so a round's delta is that server's traffic; the meter's own INFO calls are
 * measured once (two INFOs in a row) and subtracted.
 */
async function redisMeter(url) {
  const { createClient } = require('redis')
  const client = createClient({ url })
  client.on('error', (err) => console.error('bench redis meter error', err.message))
  await client.connect()
  const read = async () => {
    const text = await client.sendCommand(['INFO', 'stats', 'cpu'])
    const field = (name) => {
      const m = new RegExp(`^${name}:([0-9.]+)`, 'm').exec(text)
      if (!m) throw new Error(`INFO has no ${name}`)
      return Number(m[1])
    }
    return {
      inBytes: field('total_net_input_bytes'),
      outBytes: field('total_net_output_bytes'),
      commands: field('total_commands_processed'),
      cpuUs: (field('used_cpu_user') + field('used_cpu_sys')) * 1e6,
    }
  }
  const raw = (a, b) => ({
    inBytes: b.inBytes - a.inBytes,
    outBytes: b.outBytes - a.outBytes,
    commands: b.commands - a.commands,
    cpuUs: b.cpuUs - a.cpuUs,
  })
  // the meter's own cost between two reads (median of a few): subtracted from every delta; not the CPU, too noisy
  const own = []
  for (let i = 0; i < 5; i++) own.push(raw(await read(), await read()))
  const overhead = {
    inBytes: median(own.map((o) => o.inBytes)),
    outBytes: median(own.map((o) => o.outBytes)),
    commands: median(own.map((o) => o.commands)),
  }
  /** Waits until Redis gets no command but the meter's own for 50 ms (at most 5 s). */
  const settle = async () => {
    const deadline = Date.now() + 5000
    let last = await read()
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50))
      const now = await read()
      const quiet = now.commands - last.commands <= overhead.commands
      last = now
      if (quiet) return
    }
  }
  return {
    overhead,
    read,
    settle,
    delta: (a, b) => {
      const d = raw(a, b)
      return {
        inBytes: d.inBytes - overhead.inBytes,
        outBytes: d.outBytes - overhead.outBytes,
        commands: d.commands - overhead.commands,
        cpuUs: d.cpuUs,
      }
    },
    close: () => client.quit().catch(() => {}),
  }
}

// ---- formatting --------------------------------------------------------------------------------------------
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-')
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : NaN)

function markdownTable(header, rows) {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((h, i) => (i < 2 ? '---' : '--:')).join('|')}|`]
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`)
  return lines.join('\n')
}

function textTable(header, rows) {
  const all = [header, ...rows]
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)))
  const line = (r) => r.map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

// ---- main --------------------------------------------------------------------------------------------------
/**
 * What is measured together, alternating: a scenario alone (its variants), or the selected scenarios of one group
 * (each as the variant ours) with a bare Express server as reference.
 */
function measurementUnits(scenarios) {
  const units = []
  const groupsSeen = new Set()
  for (const sc of scenarios) {
    if (!sc.group) {
      const members = (sc.variants ?? VARIANTS).map((v) => ({ key: v, variant: v, sc }))
      units.push({ title: `${sc.id}: ${SCENARIO_INFO[sc.scenario]} (${sc.framework}, ${sc.store})`, sc, members })
      continue
    }
    if (groupsSeen.has(sc.group)) continue
    groupsSeen.add(sc.group)
    const inGroup = scenarios.filter((s) => s.group === sc.group)
    const bareSc = { ...inGroup[0], id: 'bare', store: 'memory', save: undefined }
    const members = [{ key: 'bare', variant: 'bare', sc: bareSc }]
    for (const s of inGroup) members.push({ key: s.id, variant: 'ours', sc: s })
    units.push({
      title: `${inGroup.map((s) => s.id).join(', ')}: ${SCENARIO_INFO[inGroup[0].scenario]}, patch vs ` +
        'whole-session saves (ours), alternating with bare Express',
      group: sc.group,
      members,
    })
  }
  return units
}

async function runHttp(opts) {
  const scenarios = ALL_SCENARIOS.filter((s) => opts.scenarios.includes(s.id))
  const results = []
  const groups = []
  let redis
  let meter
  const cleanup = []
  const onSignal = async () => {
    for (const fn of cleanup.reverse()) await fn().catch(() => {})
    process.exit(130)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    if (scenarios.some((s) => isRedisStore(s.store))) {
      redis = await startRedis()
      cleanup.push(() => redis.stop())
      console.log(`redis at ${redis.url}`)
    }
    // bytes to and from Redis per request: measured in the group of patch vs whole-session saves
    if (redis && scenarios.some((s) => s.group && isRedisStore(s.store))) {
      meter = await redisMeter(redis.url)
      cleanup.push(() => meter.close())
      console.log(`redis meter: its own INFO costs ${meter.overhead.inBytes} B in, ${meter.overhead.outBytes} B out, ` +
        `${meter.overhead.commands} command(s) per read (subtracted)`)
    }
    const keep = cleanup.length
    for (const unit of measurementUnits(scenarios)) {
      const t0 = Date.now()
      console.log(`\n== ${unit.title}`)
      const { members } = unit
      const servers = {}
      for (const m of members) {
        servers[m.key] = await startServer(m.variant, m.sc, isRedisStore(m.sc.store) ? redis.url : undefined)
        cleanup.push(() => servers[m.key].stop())
      }
      const cookies = {}
      for (const m of members) cookies[m.key] = await setupCookie(servers[m.key], m.sc)
      // the variants without sessions get a cookie header of the same size, so that request parsing costs the same
      const sessionCookie = members.map((m) => cookies[m.key]).find(Boolean) ?? ''
      for (const m of members) if (['bare', 'hooks'].includes(m.variant) && m.sc.scenario !== 'B') cookies[m.key] = sessionCookie
      const writes = {}
      for (const m of members) writes[m.key] = await countWrites(servers[m.key], cookies[m.key])

      const rounds = Object.fromEntries(members.map((m) => [m.key, []]))
      for (let r = 0; r <= opts.rounds; r++) {
        const order = members.map((_, i) => members[(i + r) % members.length])
        for (const m of order) {
          const res = await loadRound(servers[m.key], cookies[m.key], r === 0 ? opts.warmup : opts.duration,
            opts.connections, unit.group ? meter : undefined)
          if (r > 0) rounds[m.key].push(res)
        }
        if (r > 0) {
          const line = members.map((m) => {
            const x = rounds[m.key][r - 1]
            const bytes = isRedisStore(m.sc.store) && x.redisInPerReq !== undefined ? ` ${fmt(x.redisInPerReq)} B→redis` : ''
            return `${m.key} ${fmt(x.rps)} req/s ${fmt(x.cpuPerReq, 1)} µs${bytes}`
          }).join(' | ')
          console.log(`  round ${r}: ${line}`)
        }
      }
      for (const m of members) await servers[m.key].stop()
      cleanup.length = keep

      const summary = {}
      for (const m of members) {
        const rs = rounds[m.key]
        const med = (k) => median(rs.map((x) => x[k]))
        summary[m.key] = {
          rps: med('rps'),
          p99: med('p99'),
          cpuPerReq: med('cpuPerReq'),
          ...(unit.group && isRedisStore(m.sc.store) && {
            redisInPerReq: med('redisInPerReq'),
            redisOutPerReq: med('redisOutPerReq'),
            redisCpuPerReq: med('redisCpuPerReq'),
            redisCommandsPerReq: med('redisCommandsPerReq'),
          }),
          rounds: rs,
          writes: writes[m.key],
        }
      }
      if (unit.group) {
        groups.push({
          group: unit.group,
          members: members.map((m) => ({ id: m.sc.id, variant: m.variant, store: m.sc.store, save: m.sc.save,
            summary: summary[m.key] })),
        })
      } else {
        results.push({ ...unit.sc, summary })
      }
      console.log(`  (${((Date.now() - t0) / 1000).toFixed(0)} s)`)
    }
  } finally {
    // last started, first stopped: the servers and the meter before Redis
    for (const fn of cleanup.reverse()) await fn().catch(() => {})
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
  }
  return { results, groups }
}

/** Rows of the patch-vs-whole-session table: each patch row compared with the overwrite row of the same store. */
function saveRows(groups) {
  const rows = []
  for (const g of groups) {
    const bare = g.members.find((m) => m.variant === 'bare')
    const counterpart = (m) => g.members.find((o) => o.store === m.store && o.save === 'overwrite' && o.variant === 'ours')
    for (const m of g.members) {
      const s = m.summary
      const o = m.save === 'patch' ? counterpart(m)?.summary : undefined
      const redisStore = isRedisStore(m.store)
      const above = (x) => (bare ? x.cpuPerReq - bare.summary.cpuPerReq : NaN)
      rows.push([
        m.variant === 'bare' ? 'bare' : m.id,
        m.variant === 'bare' ? 'bare Express' : `${STORE_LABEL[m.store] ?? m.store}, ${m.save === 'overwrite' ? 'set (overwrite)' : 'patch'}`,
        fmt(s.rps),
        fmt(s.p99, 1),
        fmt(s.cpuPerReq, 1),
        redisStore ? fmt(s.redisInPerReq) : '',
        redisStore ? fmt(s.redisOutPerReq) : '',
        redisStore ? fmt(s.redisCpuPerReq, 1) : '',
        o ? fmt(ratio(s.rps, o.rps), 2) : '',
        o ? fmt(ratio(s.cpuPerReq, o.cpuPerReq), 2) : '',
        o && bare ? fmt(ratio(above(s), above(o)), 2) : '',
        o && redisStore ? fmt(ratio(s.redisInPerReq, o.redisInPerReq), 3) : '',
        String(s.writes.socketWrites),
      ])
    }
  }
  return rows
}
const STORE_LABEL = { memory: 'MemoryStore', 'redis-bundled': 'RedisStore', redis: 'connect-redis' }
const SAVE_HEADER = ['scenario', 'store, save', 'req/s', 'p99 ms', 'CPU µs/req', 'B→Redis /req', 'B←Redis /req',
  'Redis CPU µs/req', 'req/s ÷ set', 'CPU ÷ set', 'CPU above bare ÷ set\'s', 'B→Redis ÷ set',
  'writes/resp']

function httpRows(results) {
  const rows = []
  for (const r of results) {
    const { bare, upstream } = r.summary
    for (const v of Object.keys(r.summary)) {
      const s = r.summary[v]
      rows.push([
        r.id,
        VARIANT_LABEL[v],
        fmt(s.rps),
        fmt(s.p99, 1),
        fmt(s.cpuPerReq, 1),
        fmt(ratio(s.rps, bare.rps), 2),
        v === 'upstream' || v === 'ours' ? fmt(ratio(s.rps, upstream.rps), 2) : '',
        v === 'upstream' || v === 'ours' ? fmt(ratio(s.cpuPerReq, upstream.cpuPerReq), 2) : '',
        v === 'upstream' || v === 'ours' ? fmt(cpuShare(s, bare, upstream), 2) : '',
        String(s.writes.socketWrites),
      ])
    }
  }
  return rows
}
const HTTP_HEADER = ['scenario', 'variant', 'req/s', 'p99 ms', 'CPU µs/req', 'req/s ÷ bare', 'req/s ÷ 1.19.0',
  'CPU ÷ 1.19.0', 'CPU above bare ÷ 1.19.0\'s', 'writes/resp']

/** (variant - bare) / (1.19.0 - bare) of the server CPU per request: the share of 1.19.0's session cost. */
function cpuShare(s, bare, upstream) {
  return (s.cpuPerReq - bare.cpuPerReq) / (upstream.cpuPerReq - bare.cpuPerReq)
}

function runMicro(opts) {
  const outFile = path.join(os.tmpdir(), `bench-micro-${process.pid}.json`)
  const args = [path.join(__dirname, 'micro.js'), '--json', outFile]
  if (opts.quick) args.push('--quick')
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit' })
    child.once('error', reject)
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`micro.js exited with ${code}`))
      const data = JSON.parse(fs.readFileSync(outFile, 'utf8'))
      fs.rmSync(outFile, { force: true })
      resolve(data)
    })
  })
}

function targetLines(results, micro) {
  const lines = []
  const byId = Object.fromEntries(results.map((r) => [r.id, r.summary]))
  for (const [id, target] of Object.entries(TARGETS)) {
    const s = byId[id]
    if (!s) continue
    const rr = ratio(s.ours.rps, s.upstream.rps)
    lines.push(`${id}: ours/1.19.0 req/s ${fmt(rr, 2)} (target >= ${target}) ${rr >= target ? 'met' : 'NOT met'}`)
  }
  for (const [id, target] of Object.entries(CPU_SHARE_TARGETS)) {
    const s = byId[id]
    if (!s) continue
    const q = cpuShare(s.ours, s.bare, s.upstream)
    lines.push(`${id}: CPU per request above bare, ours/1.19.0 ${fmt(q * 100, 0)}% (target <= ${target * 100}%) ` +
      (q <= target ? 'met' : 'NOT met'))
  }
  for (const id of ['C', 'C-express5']) {
    const s = byId[id]
    if (!s) continue
    const rb = ratio(s.ours.rps, s.bare.rps)
    lines.push(`${id}: ours/bare req/s ${fmt(rb, 2)}`)
    if (s.hooks) {
      lines.push(`${id}: hooks only/bare req/s ${fmt(ratio(s.hooks.rps, s.bare.rps), 2)} (what any session ` +
        `middleware with 1.x's contract must do, and no session work); ours/hooks only ${fmt(ratio(s.ours.rps, s.hooks.rps), 2)}`)
    }
  }
  if (results.length) {
    const w = results.map((r) => `${r.id} ${r.summary.upstream.writes.socketWrites}→${r.summary.ours.writes.socketWrites}`)
    const ok = results.every((r) => r.summary.ours.writes.socketWrites <= 1)
    lines.push(`socket writes per response, 1.19.0→ours: ${w.join(', ')} (target: 1) ${ok ? 'met' : 'NOT met'}`)
  }
  if (micro) {
    const c = micro.results.find((x) => x.scenario === 'C')
    if (c) {
      const q = c.netRatio
      lines.push(`micro C: ours/1.19.0 middleware CPU per call ${fmt(q, 2)} (target <= 0.33) ${q <= 1 / 3 ? 'met' : 'NOT met'}`)
    }
  }
  return lines
}

function microRows(micro) {
  return micro.results.map((r) => [
    r.scenario,
    fmt(r.baseline, 2),
    fmt(r.upstream, 2),
    fmt(r.ours, 2),
    fmt(r.upstreamNet, 2),
    fmt(r.oursNet, 2),
    fmt(r.netRatio, 2),
    fmt(r.rawRatio, 2),
  ])
}
const MICRO_HEADER = ['scenario', 'no middleware µs', '1.19.0 µs', 'ours µs', '1.19.0 net µs', 'ours net µs',
  'net ours ÷ 1.19.0', 'raw ours ÷ 1.19.0']

const SAVE_SECTION = '## Patch vs whole-session saves'

/** The RESULTS.md section of the patch-vs-set group (lines); `command` and the machine when it is written alone. */
function saveSection(groups, opts, machine, command) {
  const lines = [SAVE_SECTION, '']
  if (command) {
    lines.push(`- Date: ${machine.date}`)
    lines.push(`- Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGB} GB, ${machine.platform}; ` +
      `Node ${machine.node}; autocannon and redis-server (throwaway, 127.0.0.1) on the same machine`)
    lines.push(`- Command: ${command}`)
  }
  lines.push(`- Scenario E (the ~10 KB session, one key changed per request), ours only: default save (the store's ` +
    "`patch`) vs `concurrency: 'overwrite'` (the store's whole-session `set`, as 1.x), on MemoryStore and on the " +
    'bundled RedisStore (node-redis 6 client), with bare Express as reference; all servers alternating in the same ' +
    `rounds: ${opts.connections} connections, warm-up ${opts.warmup} s, ${opts.rounds} rounds of ${opts.duration} s ` +
    'each; medians over rounds.')
  lines.push('- B→Redis / B←Redis: the Redis server\'s `INFO stats` `total_net_input_bytes` / `total_net_output_bytes` ' +
    'delta over the round, divided by the requests the bench server served (the meter\'s own INFO traffic ' +
    'subtracted); Redis CPU (`INFO cpu` used_cpu_user + used_cpu_sys) likewise. CPU µs/req is the bench ' +
    'server\'s only (Redis\'s not included). The ÷ set columns compare each patch row with the set row of the same ' +
    'store; "CPU above bare" subtracts bare Express\'s CPU per request.', '')
  lines.push(markdownTable(SAVE_HEADER, saveRows(groups)), '')
  return lines
}

function machineInfo() {
  const cpus = os.cpus()
  return {
    cpu: cpus[0] ? cpus[0].model.trim() : 'unknown',
    cores: cpus.length,
    memGB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const machine = machineInfo()
  const t0 = Date.now()
  console.log(`express-session bench: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}`)
  let results = []
  let groups = []
  if (opts.micro !== 'only') {
    console.log(`rounds: warm-up ${opts.warmup} s + ${opts.rounds} × ${opts.duration} s per variant, ` +
      `${opts.connections} connections, alternating order`)
    ;({ results, groups } = await runHttp(opts))
  }
  let micro
  if (opts.micro !== 'no') {
    console.log('\n== microbenchmark (middleware alone, in-process, no network)')
    micro = await runMicro(opts)
  }

  const out = []
  if (results.length) {
    console.log('\n' + textTable(HTTP_HEADER, httpRows(results)))
  }
  if (groups.length) {
    console.log('\npatch vs whole-session saves (medians of rounds; bytes: Redis INFO total_net_input/output_bytes ' +
      'per request served):')
    console.log(textTable(SAVE_HEADER, saveRows(groups)))
  }
  if (micro) {
    console.log(`\nmicro (CPU µs per call, median of ${micro.rounds} rounds, concurrency ${micro.concurrency}):`)
    console.log(textTable(MICRO_HEADER, microRows(micro)))
  }
  const targets = targetLines(results, micro)
  if (targets.length) console.log('\n' + targets.join('\n'))
  console.log(`\ntotal ${((Date.now() - t0) / 1000).toFixed(0)} s`)

  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ machine, opts, results, groups, micro }, null, 2))

  if (opts.results) {
    const file = path.join(__dirname, 'RESULTS.md')
    const command = `\`npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}\``
    if (groups.length && !results.length && !micro) {
      // only the patch-vs-set group ran: replace (or add) its section, keep the rest of the file
      const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmark results\n'
      fs.writeFileSync(file, withSection(old, SAVE_SECTION, saveSection(groups, opts, machine, command)))
      console.log(`wrote section "${SAVE_SECTION}" of ${path.relative(process.cwd(), file)}`)
      return
    }
    out.push('# Benchmark results', '')
    out.push(`- Date: ${machine.date}`)
    out.push(`- Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGB} GB, ${machine.platform}`)
    out.push(`- Node ${machine.node}; load generator autocannon in the same machine, 127.0.0.1`)
    out.push(`- Command: \`npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}\``)
    if (results.length) {
      out.push(`- HTTP: ${opts.connections} connections, warm-up ${opts.warmup} s, then ${opts.rounds} rounds of ` +
        `${opts.duration} s per variant in alternating order; medians over rounds. CPU is the server process's ` +
        'user+system time over the measured window divided by the requests it served. writes/resp: socket ' +
        'writes (net.Socket#_writeGeneric calls) for one response.', '')
      out.push('## HTTP', '', markdownTable(HTTP_HEADER, httpRows(results)), '')
    }
    if (groups.length) out.push(...saveSection(groups, opts, machine, null))
    if (micro) {
      out.push('## Middleware alone (bench/micro.js)', '')
      out.push(`CPU µs per call, median of ${micro.rounds} rounds of ${micro.iterationsNote}, concurrency ` +
        `${micro.concurrency}; real http.IncomingMessage/ServerResponse writing to a discarding stream. "net" subtracts the ` +
        'same handler run without middleware.', '')
      out.push(markdownTable(MICRO_HEADER, microRows(micro)), '')
    }
    if (targets.length) out.push('## Targets', '', ...targets.map((l) => `- ${l}`), '')
    // sections this run did not measure (the patch-vs-set group, bench/store-writes.js's counts) are kept
    fs.writeFileSync(file, withSectionsKept(out.join('\n'), fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''))
    console.log(`wrote ${path.relative(process.cwd(), file)}`)
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
