#!/usr/bin/env node
// HTTP benchmark: bare Express vs express-session 1.19.0 vs this package, side by side, alternating.
// See bench/README.md. Usage (after `npm run build`):
//
//   node bench/run.js [--quick] [--duration S] [--warmup S] [--rounds N] [--connections N]
//                     [--scenarios B,C,D,E,F,C-express5,C-redis,D-redis] [--micro | --no-micro]
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
const { SCENARIO_INFO, median } = require('./common.js')

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
]
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
function serverEnv() {
  const env = { ...process.env }
  delete env.NODE_ENV
  return env
}

function startServer(variant, sc, redisUrl, execArgv = []) {
  const args = [variant, sc.framework, sc.scenario, sc.store]
  if (redisUrl) args.push(redisUrl)
  const child = fork(path.join(__dirname, 'server.js'), args, {
    execArgv: ['--expose-gc', ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: serverEnv(),
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

async function loadRound(server, cookie, seconds, connections) {
  await getJson(server.port, '/__reset')
  const headers = cookie ? { cookie } : {}
  const result = await autocannon({
    url: `http://${HOST}:${server.port}/`,
    connections,
    duration: seconds,
    headers,
  })
  const stats = await getJson(server.port, '/__stats')
  const bad = result.errors + result.timeouts + result.non2xx
  if (bad > 0) console.warn(`  ! ${server.variant}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx`)
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    cpuPerReq: stats.requests > 0 ? stats.cpuUs / stats.requests : NaN,
    requests: stats.requests,
    bad,
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
async function runHttp(opts) {
  const scenarios = ALL_SCENARIOS.filter((s) => opts.scenarios.includes(s.id))
  const results = []
  let redis
  const cleanup = []
  const onSignal = async () => {
    for (const fn of cleanup) await fn().catch(() => {})
    process.exit(130)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    if (scenarios.some((s) => s.store === 'redis')) {
      redis = await startRedis()
      cleanup.push(() => redis.stop())
      console.log(`redis at ${redis.url}`)
    }
    for (const sc of scenarios) {
      const t0 = Date.now()
      console.log(`\n== ${sc.id}: ${SCENARIO_INFO[sc.scenario]} (${sc.framework}, ${sc.store})`)
      const variants = sc.variants ?? VARIANTS
      const servers = {}
      for (const v of variants) {
        servers[v] = await startServer(v, sc, sc.store === 'redis' ? redis.url : undefined)
        cleanup.push(() => servers[v].stop())
      }
      const cookies = {}
      for (const v of variants) cookies[v] = await setupCookie(servers[v], sc)
      // the variants without sessions get a cookie header of the same size, so that request parsing costs the same
      if (sc.scenario !== 'B') for (const v of ['bare', 'hooks']) if (v in cookies) cookies[v] = cookies.ours
      const writes = {}
      for (const v of variants) writes[v] = await countWrites(servers[v], cookies[v])

      const rounds = Object.fromEntries(variants.map((v) => [v, []]))
      for (let r = 0; r <= opts.rounds; r++) {
        const order = variants.map((_, i) => variants[(i + r) % variants.length])
        for (const v of order) {
          const res = await loadRound(servers[v], cookies[v], r === 0 ? opts.warmup : opts.duration, opts.connections)
          if (r > 0) rounds[v].push(res)
        }
        if (r > 0) {
          const line = variants.map((v) => {
            const x = rounds[v][r - 1]
            return `${v} ${fmt(x.rps)} req/s ${fmt(x.cpuPerReq, 1)} µs`
          }).join(' | ')
          console.log(`  round ${r}: ${line}`)
        }
      }
      for (const v of variants) await servers[v].stop()
      cleanup.length = redis ? 1 : 0

      const summary = {}
      for (const v of variants) {
        summary[v] = {
          rps: median(rounds[v].map((x) => x.rps)),
          p99: median(rounds[v].map((x) => x.p99)),
          cpuPerReq: median(rounds[v].map((x) => x.cpuPerReq)),
          rounds: rounds[v],
          writes: writes[v],
        }
      }
      results.push({ ...sc, summary })
      console.log(`  (${((Date.now() - t0) / 1000).toFixed(0)} s)`)
    }
  } finally {
    for (const fn of cleanup) await fn().catch(() => {})
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
  }
  return results
}

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
  if (opts.micro !== 'only') {
    console.log(`rounds: warm-up ${opts.warmup} s + ${opts.rounds} × ${opts.duration} s per variant, ` +
      `${opts.connections} connections, alternating order`)
    results = await runHttp(opts)
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
  if (micro) {
    console.log(`\nmicro (CPU µs per call, median of ${micro.rounds} rounds, concurrency ${micro.concurrency}):`)
    console.log(textTable(MICRO_HEADER, microRows(micro)))
  }
  const targets = targetLines(results, micro)
  if (targets.length) console.log('\n' + targets.join('\n'))
  console.log(`\ntotal ${((Date.now() - t0) / 1000).toFixed(0)} s`)

  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ machine, opts, results, micro }, null, 2))

  if (opts.results) {
    const file = path.join(__dirname, 'RESULTS.md')
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
    if (micro) {
      out.push('## Middleware alone (bench/micro.js)', '')
      out.push(`CPU µs per call, median of ${micro.rounds} rounds of ${micro.iterationsNote}, concurrency ` +
        `${micro.concurrency}; real http.IncomingMessage/ServerResponse writing to a discarding stream. "net" subtracts the ` +
        'same handler run without middleware.', '')
      out.push(markdownTable(MICRO_HEADER, microRows(micro)), '')
    }
    if (targets.length) out.push('## Targets', '', ...targets.map((l) => `- ${l}`), '')
    fs.writeFileSync(file, out.join('\n'))
    console.log(`wrote ${path.relative(process.cwd(), file)}`)
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
