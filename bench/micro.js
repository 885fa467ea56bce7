#!/usr/bin/env node
// Microbenchmark: the session middleware alone, in-process, no network, for express-session 1.19.0 and this
// package, scenarios B-F on MemoryStore (see bench/README.md).
//
//   node bench/micro.js [--quick] [--rounds N] [--round-ms MS] [--warmup-ms MS] [--concurrency N] [--scenarios B,C]
//                       [--json FILE]
//
// Each call: a real http.IncomingMessage and http.ServerResponse, the middleware, then the route's session work
// and `res.end(body)` with Content-Type/Content-Length set as Express's res.send does. The response writes to a
// sink stream (a Writable that discards what it is given, one per concurrent worker) as it would to a socket, so
// the cost of each write is included. A call is complete when the response emits 'finish', i.e. after
// the store's callbacks and the writes. Calls run with bounded concurrency.
// (Without a socket a response queues its output in small objects holding a callback that references the
// response. In about 1 process in 3, V8 decided during warm-up to allocate those in the old generation; each then
// kept its whole request alive until the next full collection, and that process measured about twice as slow,
// every variant alike. See bench/README.md.)
//
// Every measurement runs in a fresh process (this file with --child), like the servers of the HTTP benchmark:
// it warms up for --warmup-ms (then, in B, empties the store), collects garbage and waits 200 ms for the
// collector's background threads, then makes calls for --round-ms and reports the process's CPU time
// (process.cpuUsage: every thread, so garbage collection and JIT compilation count) divided by the calls made.
// Variants alternate within each round; medians over rounds. "none" runs the same handler without middleware;
// "net" subtracts it. Separate processes keep one variant's garbage and JIT state out of another's figures.
'use strict'

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const http = require('node:http')
const { Writable } = require('node:stream')
const { fillSession, sessionOptions, routeWork, median } = require('./common.js')

const VARIANTS = ['none', 'upstream', 'ours']

function parseArgs(argv) {
  const opts = { quick: false, rounds: 7, concurrency: 8, roundMs: 1500, warmupMs: 1000, scenarios: ['B', 'C', 'D', 'E', 'F'],
    json: undefined, child: undefined }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = () => argv[++i]
    if (a === '--quick') opts.quick = true
    else if (a === '--rounds') opts.rounds = Number(val())
    else if (a === '--concurrency') opts.concurrency = Number(val())
    else if (a === '--round-ms') opts.roundMs = Number(val())
    else if (a === '--warmup-ms') opts.warmupMs = Number(val())
    else if (a === '--child') opts.child = { variant: val(), scenario: val() }
    else if (a === '--scenarios') opts.scenarios = val().toUpperCase().split(',')
    else if (a === '--json') opts.json = val()
    else throw new Error(`unknown argument ${a}`)
  }
  if (opts.quick) {
    opts.rounds = Math.min(opts.rounds, 3)
    opts.roundMs = 500
    opts.warmupMs = 500
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

/** Where a response writes instead of a socket: takes every chunk and discards it. */
function makeSink() {
  return new Writable({
    write(chunk, encoding, callback) {
      callback()
    },
    writev(chunks, callback) {
      callback()
    },
  })
}

/** One request through `mw` (or none), writing to `sink`; resolves when the response has finished. */
function call(mw, scenario, cookie, setup, sink) {
  return new Promise((resolve, reject) => {
    const req = makeReq(cookie)
    const res = new http.ServerResponse(req)
    res.assignSocket(sink)
    res.on('finish', () => {
      res.detachSocket(sink)
      resolve(res)
    })
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
    const res = await call(v.mw, scenario, '', true, makeSink())
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
    const sink = makeSink()
    while (left > 0) {
      left--
      await call(v.mw, scenario, v.cookie, false, sink)
    }
  }
  const workers = []
  for (let i = 0; i < Math.min(concurrency, n); i++) workers.push(worker())
  await Promise.all(workers)
}

/** Makes calls in batches until `ms` of wall time have passed; returns the calls made. */
async function runFor(v, scenario, ms, concurrency) {
  const until = performance.now() + ms
  let calls = 0
  while (performance.now() < until) {
    await runCalls(v, scenario, 200, concurrency)
    calls += 200
  }
  return calls
}

/** In a child process: one variant, warmed up, then CPU µs per call over `roundMs`; printed as JSON. */
async function child(opts) {
  const { variant, scenario } = opts.child
  const v = await prepare(variant, scenario)
  await runFor(v, scenario, opts.warmupMs, opts.concurrency)
  // B fills the store with a session per call: measure from an empty store, as the HTTP runs do every round
  if (scenario === 'B' && v.store) await new Promise((resolve) => v.store.clear(resolve))
  // start from a collected heap, with the collector's background work finished
  global.gc()
  await new Promise((resolve) => setTimeout(resolve, 200))
  const cpu0 = process.cpuUsage()
  const calls = await runFor(v, scenario, opts.roundMs, opts.concurrency)
  const cpu = process.cpuUsage(cpu0)
  if (v.store && v.store.close) v.store.close()
  process.stdout.write(JSON.stringify({ us: (cpu.user + cpu.system) / calls, calls }) + '\n')
}

function measureInChild(variant, scenario, opts) {
  const args = ['--expose-gc', __filename, '--child', variant, scenario, '--round-ms', String(opts.roundMs),
    '--warmup-ms', String(opts.warmupMs), '--concurrency', String(opts.concurrency)]
  return JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }))
}

function runScenario(scenario, opts) {
  const samples = Object.fromEntries(VARIANTS.map((name) => [name, []]))
  let calls = 0
  for (let r = 0; r < opts.rounds; r++) {
    const order = VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length])
    for (const name of order) {
      const m = measureInChild(name, scenario, opts)
      samples[name].push(m.us)
      if (name === 'ours') calls += m.calls
    }
  }
  const baseline = median(samples.none)
  const upstream = median(samples.upstream)
  const ours = median(samples.ours)
  const result = {
    scenario,
    n: Math.round(calls / opts.rounds),
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
      `${result.netRatio.toFixed(2)}) [${opts.rounds} rounds, ~${result.n} calls of ours each]`,
  )
  return result
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  if (opts.child) return child(opts)
  const results = []
  for (const scenario of opts.scenarios) results.push(runScenario(scenario, opts))
  const data = {
    rounds: opts.rounds,
    concurrency: opts.concurrency,
    iterationsNote: `${opts.roundMs} ms after a ${opts.warmupMs} ms warm-up, each in a fresh process`,
    results,
  }
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify(data, null, 2))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
