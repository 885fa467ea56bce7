#!/usr/bin/env node
// Soak: sustained new-session load on the bundled MemoryStore, to show that memory stays bounded.
//
//   npm run soak                          # build, then 120 s (the long run; figures in docs/reliability.md)
//   node bench/soak.js --duration 6 --short --json    # a quick look with shorter lifetimes
// This is a benchmark: its checks depend on the rate the machine reaches. `npm test` runs a soak of a fixed amount
// of work instead (test/memory-store/soak.test.ts), whose bounds hold however slow the machine is.
//
// Three servers, each in its own process (so that its memory is only its own), take the same load at the same
// time: every request comes without a cookie, so every request creates and saves a new session.
//   sweep    MemoryStore({ checkPeriod }) and a short cookie maxAge: the sweep must keep the store bounded.
//            Checked every 250 ms: the number of stored sessions never exceeds the sessions written in the
//            last maxAge + checkPeriod + 1 s (anything older must have been swept), and the heap (after a
//            full GC) of the last third of the run is no higher than that of the first third, plus slack.
//   max      MemoryStore({ max }) and a long maxAge: `max` alone bounds it. Checked after every write: the
//            number of stored sessions never exceeds `max` (and reaches it). The count after each write is
//            kept without an O(n) Object.keys() (see countAfterWrite), so the check does not slow the server.
//   control  MemoryStore({ checkPeriod: 0 }) and the short maxAge: no sweep, so nothing is ever removed.
//            It shows what the sweep prevents: it keeps every session written, and the sweep server's bound
//            check, applied to it, fails: the check can tell.
// Load: autocannon, in this process, with --connections per server. Any non-2xx answer or socket error fails.
// Exit code 0 when every check holds. `--json` prints the figures as the last line (`RESULT {...}`).
'use strict'
const { fork } = require('node:child_process')
const http = require('node:http')
const path = require('node:path')

const root = path.join(__dirname, '..')

function parseArgs(argv) {
  const args = { duration: 120, connections: 8, short: false, json: false, server: undefined }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--duration') args.duration = Number(argv[++i])
    else if (arg === '--connections') args.connections = Number(argv[++i])
    else if (arg === '--short') args.short = true
    else if (arg === '--json') args.json = true
    else if (arg === '--server') args.server = argv[++i]
    else if (arg === '--config') args.config = JSON.parse(argv[++i])
    else throw new Error(`unknown argument ${arg}`)
  }
  if (!(args.duration > 0)) throw new Error('--duration must be a positive number of seconds')
  return args
}

/** Store and cookie settings; `--short` shrinks the times so that a few seconds show the steady state. */
function settings(short) {
  return short
    ? { shortMaxAge: 1000, checkPeriod: 500, longMaxAge: 600_000, max: 1000 }
    : { shortMaxAge: 5000, checkPeriod: 2000, longMaxAge: 600_000, max: 5000 }
}

// ------------------------------------------------------------------------------------------------------------
// Server process
// ------------------------------------------------------------------------------------------------------------

function runServer(mode, config) {
  const session = require(root)
  const storeOptions = {
    sweep: { checkPeriod: config.checkPeriod },
    max: { max: config.max, checkPeriod: config.checkPeriod },
    control: { checkPeriod: 0 },
  }[mode]
  const maxAge = mode === 'max' ? config.longMaxAge : config.shortMaxAge
  const store = new session.MemoryStore(storeOptions)
  const exactCount = () => Object.keys(store.sessions).length

  // The count of stored sessions after every write, without an O(n) Object.keys() each time: `written` holds
  // the IDs written, oldest first, minus those seen gone from the oldest end. In this load the store only ever
  // removes its oldest entries (eviction by max, or expiry of same-lifetime sessions), so `written.size` is the
  // exact count; were anything else removed, it would only overestimate the count (an upper bound), and an
  // overestimate above a limit is confirmed with an exact count.
  const written = new Set()
  const countAfterWrite = (limit) => {
    for (const oldest of written) {
      if (oldest in store.sessions) break
      written.delete(oldest)
    }
    return written.size > limit ? exactCount() : written.size
  }

  // writes, bucketed by 50 ms, for the sweep bound
  const bucketMs = 50
  const buckets = new Map()
  let writes = 0
  let maxCount = 0
  let checks = 0
  const limit = mode === 'max' ? config.max : Infinity
  const set = store.set
  store.set = function checkedSet(sid, sess, callback) {
    set.call(this, sid, sess, callback)
    writes++
    written.add(sid)
    const bucket = Math.floor(Date.now() / bucketMs)
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1)
    checks++
    const n = countAfterWrite(limit)
    if (n > maxCount) maxCount = n
  }
  const count = () => countAfterWrite(Infinity)

  /** Sessions written within the last `ms` milliseconds. */
  const writtenWithin = (ms) => {
    const from = Math.floor((Date.now() - ms) / bucketMs)
    let n = 0
    for (const [bucket, written] of buckets) {
      if (bucket >= from) n += written
      else if (bucket < from - 1000) buckets.delete(bucket)
    }
    return n
  }

  const middleware = session({
    secret: 'soak secret',
    store,
    resave: false,
    saveUninitialized: true,
    cookie: { maxAge },
  })
  let requests = 0
  let errors = 0
  const server = http.createServer((req, res) => {
    requests++
    middleware(req, res, (err) => {
      if (err) {
        errors++
        res.statusCode = 500
        res.end(String(err.message))
        return
      }
      res.end('ok')
    })
  })

  const started = Date.now()
  const samples = []
  let boundViolations = 0
  let worstBoundRatio = 0
  // the bound: whatever was written before maxAge + checkPeriod + 1 s of slack ago must be gone
  const window = maxAge + config.checkPeriod + 1000
  const boundTimer = setInterval(() => {
    const n = count()
    const bound = writtenWithin(window)
    if (n > bound) boundViolations++
    if (bound > 0) worstBoundRatio = Math.max(worstBoundRatio, n / bound)
    if (n > maxCount) maxCount = n
  }, 250)
  const sampleTimer = setInterval(() => {
    global.gc()
    const memory = process.memoryUsage()
    const n = count()
    if (n > maxCount) maxCount = n
    samples.push({ t: (Date.now() - started) / 1000, count: n, heapUsed: memory.heapUsed, rss: memory.rss, requests, writes })
  }, 1000)

  process.on('message', (message) => {
    if (message !== 'report') return
    clearInterval(boundTimer)
    clearInterval(sampleTimer)
    global.gc()
    const memory = process.memoryUsage()
    process.send({
      mode,
      maxAge,
      storeOptions,
      requests,
      errors,
      writes,
      checks,
      finalCount: exactCount(),
      maxCount,
      boundViolations,
      worstBoundRatio,
      finalHeapUsed: memory.heapUsed,
      finalRss: memory.rss,
      samples,
    }, () => {
      store.close()
      server.close()
      process.exit(0)
    })
  })

  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }))
}

// ------------------------------------------------------------------------------------------------------------
// Load and checks
// ------------------------------------------------------------------------------------------------------------

function startServer(mode, config) {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--server', mode, '--config', JSON.stringify(config)], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    child.once('message', (message) => resolve({ child, port: message.port, mode }))
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`${mode} server exited with code ${code} before listening`)))
  })
}

function report(server) {
  return new Promise((resolve, reject) => {
    server.child.removeAllListeners('exit')
    server.child.once('message', resolve)
    server.child.once('exit', (code) => reject(new Error(`${server.mode} server exited with code ${code}`)))
    server.child.send('report')
  })
}

function load(port, duration, connections) {
  const autocannon = require('autocannon')
  return new Promise((resolve, reject) => {
    autocannon({ url: `http://127.0.0.1:${port}/`, connections, duration, timeout: 10 }, (err, result) => (err ? reject(err) : resolve(result)))
  })
}

const MB = 1024 * 1024
const mb = (bytes) => Math.round((bytes / MB) * 10) / 10

/** Least-squares slope of `y` over `t`, per second. */
function slope(points) {
  const n = points.length
  if (n < 2) return 0
  const mt = points.reduce((a, p) => a + p.t, 0) / n
  const my = points.reduce((a, p) => a + p.y, 0) / n
  let num = 0
  let den = 0
  for (const p of points) {
    num += (p.t - mt) * (p.y - my)
    den += (p.t - mt) ** 2
  }
  return den === 0 ? 0 : num / den
}

/** Heap figures of a server's samples after `warmup` seconds. */
function heapTrend(samples, warmup) {
  const steady = samples.filter((s) => s.t >= warmup)
  const third = Math.max(1, Math.floor(steady.length / 3))
  const first = steady.slice(0, third)
  const last = steady.slice(-third)
  const max = (list) => Math.max(...list.map((s) => s.heapUsed))
  return {
    steadySamples: steady.length,
    firstThirdMaxHeapMB: steady.length ? mb(max(first)) : undefined,
    lastThirdMaxHeapMB: steady.length ? mb(max(last)) : undefined,
    heapSlopeKBps: Math.round(slope(steady.map((s) => ({ t: s.t, y: s.heapUsed }))) / 1024),
    minHeapMB: steady.length ? mb(Math.min(...steady.map((s) => s.heapUsed))) : undefined,
    maxRssMB: steady.length ? mb(Math.max(...steady.map((s) => s.rss))) : undefined,
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const config = settings(args.short)
  if (args.server) return runServer(args.server, args.config)

  const t0 = Date.now()
  const modes = ['sweep', 'max', 'control']
  const servers = await Promise.all(modes.map((mode) => startServer(mode, config)))
  let loads
  try {
    loads = await Promise.all(servers.map((server) => load(server.port, args.duration, args.connections)))
  } catch (err) {
    for (const server of servers) server.child.kill()
    throw err
  }
  const reports = await Promise.all(servers.map(report))
  const byMode = Object.fromEntries(reports.map((r, i) => [r.mode, { ...r, load: loads[i] }]))

  const warmup = config.shortMaxAge / 1000 + config.checkPeriod / 1000 + 1.5
  const result = { duration: args.duration, connections: args.connections, settings: config, wallSeconds: (Date.now() - t0) / 1000, servers: {} }
  const failures = []
  for (const mode of modes) {
    const r = byMode[mode]
    const l = r.load
    result.servers[mode] = {
      storeOptions: r.storeOptions,
      maxAge: r.maxAge,
      requests: r.requests,
      requestsPerSecond: Math.round(l.requests.average),
      latencyP99ms: l.latency.p99,
      non2xx: l.non2xx,
      socketErrors: l.errors,
      timeouts: l.timeouts,
      sessionsWritten: r.writes,
      countChecks: r.checks,
      maxCount: r.maxCount,
      finalCount: r.finalCount,
      boundViolations: r.boundViolations,
      worstCountToBoundRatio: Math.round(r.worstBoundRatio * 1000) / 1000,
      finalHeapMB: mb(r.finalHeapUsed),
      finalRssMB: mb(r.finalRss),
      ...heapTrend(r.samples, warmup),
      samples: r.samples.map((s) => ({ t: Math.round(s.t), count: s.count, heapMB: mb(s.heapUsed), rssMB: mb(s.rss) })),
    }
    if (l.non2xx > 0 || l.errors > 0 || l.timeouts > 0 || r.errors > 0) {
      failures.push(`${mode}: ${l.non2xx} non-2xx answers, ${l.errors} socket errors, ${l.timeouts} timeouts, ${r.errors} middleware errors`)
    }
  }

  const sweep = result.servers.sweep
  const max = result.servers.max
  const control = result.servers.control
  if (sweep.boundViolations > 0) failures.push(`sweep: the store held sessions older than maxAge + checkPeriod + 1 s in ${sweep.boundViolations} checks`)
  if (sweep.steadySamples >= 3 && sweep.lastThirdMaxHeapMB > sweep.firstThirdMaxHeapMB * 1.25 + 4) {
    failures.push(`sweep: heap grew from ${sweep.firstThirdMaxHeapMB} MB to ${sweep.lastThirdMaxHeapMB} MB`)
  }
  if (max.maxCount > config.max) failures.push(`max: ${max.maxCount} sessions stored, over max ${config.max}`)
  if (max.sessionsWritten > config.max && max.maxCount !== config.max) failures.push(`max: the count never reached max (${max.maxCount})`)
  if (control.finalCount !== control.sessionsWritten) failures.push('control: expected nothing removed without a sweep')
  // the bound check must be able to fail: the unswept store breaks it
  if (!(control.boundViolations > 0)) failures.push('control: the bound check did not notice a store without sweep (run too short?)')
  // the sweep must have had something to do (and the control shows that the bound check can fail)
  if (!(sweep.finalCount < sweep.sessionsWritten)) failures.push('sweep: nothing was swept: the run was too short')
  result.failures = failures

  for (const mode of modes) {
    const s = result.servers[mode]
    console.log(
      `${mode.padEnd(8)} ${String(s.requests).padStart(8)} requests (${s.requestsPerSecond}/s, p99 ${s.latencyP99ms} ms), ` +
        `sessions: max ${s.maxCount}, final ${s.finalCount}; heap after GC ${s.minHeapMB}-${s.lastThirdMaxHeapMB} MB ` +
        `(slope ${s.heapSlopeKBps} KB/s), rss max ${s.maxRssMB} MB`,
    )
  }
  console.log(failures.length ? `FAIL\n  ${failures.join('\n  ')}` : 'PASS: the sweep bounds the store, max caps it')
  if (args.json) console.log('RESULT ' + JSON.stringify(result))
  process.exitCode = failures.length ? 1 : 0
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
