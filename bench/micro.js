#!/usr/bin/env node
// Microbenchmark: the session middleware alone, in-process, no sockets, for express-session 1.19.0 and this
// package, scenarios B-F on MemoryStore (see bench/README.md).
//
//   node --expose-gc bench/micro.js [--quick] [--rounds N] [--concurrency N] [--scenarios B,C] [--json FILE]
//
// Each call: a real http.IncomingMessage and http.ServerResponse (no socket: the response buffers its output),
// the middleware, then the route's session work and `res.end(body)` with Content-Type/Content-Length set as
// Express's res.send does. A call is complete when the response's own `end` has run, i.e. after the store's
// callbacks. Calls run with bounded concurrency. CPU time (process.cpuUsage) over N calls / N, median of rounds,
// the variants alternating within each round. "none" runs the same handler without middleware; "net" subtracts it.
'use strict'

const fs = require('node:fs')
const http = require('node:http')
const { fillSession, sessionOptions, routeWork, median } = require('./common.js')

const VARIANTS = ['none', 'upstream', 'ours']

function parseArgs(argv) {
  const opts = { quick: false, rounds: 7, concurrency: 8, roundMs: 400, scenarios: ['B', 'C', 'D', 'E', 'F'], json: undefined }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = () => argv[++i]
    if (a === '--quick') opts.quick = true
    else if (a === '--rounds') opts.rounds = Number(val())
    else if (a === '--concurrency') opts.concurrency = Number(val())
    else if (a === '--round-ms') opts.roundMs = Number(val())
    else if (a === '--scenarios') opts.scenarios = val().toUpperCase().split(',')
    else if (a === '--json') opts.json = val()
    else throw new Error(`unknown argument ${a}`)
  }
  if (opts.quick) {
    opts.rounds = Math.min(opts.rounds, 3)
    opts.roundMs = 150
  }
  return opts
}

const fakeSocket = { readableHighWaterMark: 16384, encrypted: false, remoteAddress: '127.0.0.1' }

function makeReq(cookie) {
  const req = new http.IncomingMessage(fakeSocket)
  req.method = 'GET'
  req.url = '/'
  req.httpVersionMajor = 1
  req.httpVersionMinor = 1
  req.httpVersion = '1.1'
  req.headers = cookie ? { host: '127.0.0.1', cookie } : { host: '127.0.0.1' }
  return req
}

/** What Express's res.send(string) does to the response, minus ETag. */
function send(res, body) {
  res.statusCode = 200
  res.setHeader('Content-Type', 'text/html; charset=utf-8')
  res.setHeader('Content-Length', Buffer.byteLength(body))
  res.end(body)
}

/** One request through `mw` (or none); resolves when the response's real end() has run. */
function call(mw, scenario, cookie, setup) {
  return new Promise((resolve, reject) => {
    const req = makeReq(cookie)
    const res = new http.ServerResponse(req)
    const realEnd = res.end
    res.end = function end(...args) {
      const r = realEnd.apply(this, args)
      resolve(res)
      return r
    }
    const handler = (err) => {
      if (err) return reject(err)
      if (!mw) return send(res, 'hello bench')
      if (setup) {
        fillSession(scenario, req.session)
        return send(res, 'setup')
      }
      send(res, routeWork(scenario, req.session))
    }
    if (mw) mw(req, res, handler)
    else handler()
  })
}

function makeVariant(variant, scenario) {
  if (variant === 'none') return { mw: null, store: null }
  const session = require(variant === 'upstream' ? 'express-session-1.19.0' : 'express-session')
  const store = new session.MemoryStore()
  return { mw: session(sessionOptions(scenario, store)), store }
}

async function prepare(variant, scenario) {
  const v = makeVariant(variant, scenario)
  v.cookie = ''
  if (v.mw && scenario !== 'B') {
    const res = await call(v.mw, scenario, '', true)
    const sc = res.getHeader('set-cookie')
    if (!sc) throw new Error(`${variant}: setup gave no cookie`)
    v.cookie = (Array.isArray(sc) ? sc[0] : sc).split(';')[0]
  } else if (scenario !== 'B') {
    v.cookie = 'connect.sid=s%3AH8HxiiET1-CLXXPlGfV1QvVuzYebr6Tw.kdoNJSpLIuSMj%2FTs8lWuvzM3Jlh%2BxuUXnMKZbzGe0sM'
  }
  return v
}

async function runCalls(v, scenario, n, concurrency) {
  let left = n
  const worker = async () => {
    while (left > 0) {
      left--
      await call(v.mw, scenario, v.cookie, false)
    }
  }
  const workers = []
  for (let i = 0; i < Math.min(concurrency, n); i++) workers.push(worker())
  await Promise.all(workers)
}

function clearStore(v) {
  return new Promise((resolve) => (v.store && v.store.clear ? v.store.clear(() => resolve()) : resolve()))
}

/** CPU µs per call over n calls. */
async function measure(v, scenario, n, concurrency) {
  if (scenario === 'B') await clearStore(v)
  if (global.gc) global.gc()
  const cpu0 = process.cpuUsage()
  await runCalls(v, scenario, n, concurrency)
  const cpu = process.cpuUsage(cpu0)
  return (cpu.user + cpu.system) / n
}

async function runScenario(scenario, opts) {
  const vs = {}
  for (const name of VARIANTS) vs[name] = await prepare(name, scenario)
  // warm-up, and calibrate n so that the slowest variant's round takes about roundMs
  let slowest = 0
  for (const name of VARIANTS) {
    await measure(vs[name], scenario, 2000, opts.concurrency)
    slowest = Math.max(slowest, await measure(vs[name], scenario, 2000, opts.concurrency))
  }
  const n = Math.max(500, Math.round((opts.roundMs * 1000) / slowest))
  const samples = Object.fromEntries(VARIANTS.map((name) => [name, []]))
  for (let r = 0; r < opts.rounds; r++) {
    const order = VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length])
    for (const name of order) samples[name].push(await measure(vs[name], scenario, n, opts.concurrency))
  }
  for (const name of VARIANTS) if (vs[name].store && vs[name].store.close) vs[name].store.close()
  const baseline = median(samples.none)
  const upstream = median(samples.upstream)
  const ours = median(samples.ours)
  const result = {
    scenario,
    n,
    baseline,
    upstream,
    ours,
    upstreamNet: upstream - baseline,
    oursNet: ours - baseline,
    rawRatio: ours / upstream,
    netRatio: (ours - baseline) / (upstream - baseline),
    samples,
  }
  console.log(
    `  ${scenario}: none ${baseline.toFixed(2)} µs, 1.19.0 ${upstream.toFixed(2)} µs, ours ${ours.toFixed(2)} µs ` +
      `per call (net ${result.upstreamNet.toFixed(2)} vs ${result.oursNet.toFixed(2)}: ours/1.19.0 ` +
      `${result.netRatio.toFixed(2)}) [${opts.rounds} × ${n} calls]`,
  )
  return result
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  if (!global.gc) console.log('  (run with --expose-gc for a GC between rounds)')
  const results = []
  for (const scenario of opts.scenarios) results.push(await runScenario(scenario, opts))
  const data = {
    rounds: opts.rounds,
    concurrency: opts.concurrency,
    iterationsNote: `~${opts.roundMs} ms (${results.map((r) => `${r.scenario} ${r.n}`).join(', ')} calls)`,
    results,
  }
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(data, null, 2))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
