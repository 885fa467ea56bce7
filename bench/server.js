#!/usr/bin/env node
// Benchmark server, run as a child process by bench/run.js (or by hand).
//
//   node bench/server.js <variant> <framework> <scenario> <store> [redisUrl]
//   (or env BENCH_VARIANT, BENCH_FRAMEWORK, BENCH_SCENARIO, BENCH_STORE, BENCH_REDIS_URL, BENCH_PORT)
//
//   variant    bare | hooks | upstream | ours
//              bare: the same route, no session middleware.
//              hooks: a middleware that only installs what any session middleware with 1.x's contract must
//              install on each request, the cheap way, and does no session work (see hooksOnly below): the
//              floor of "bare + a session middleware" on this machine.
//   framework  express4 | express5
//   scenario   B | C | D | E | F          (see bench/README.md)
//   store      memory | redis | redis-bundled
//              redis: connect-redis v10 + redis v6 client, needs redisUrl.
//              redis-bundled: this package's RedisStore (express-session/redis) over a redis v6 client, needs
//              redisUrl; only for the variant ours.
//
//   env BENCH_CONCURRENCY=overwrite   (variant ours only) the middleware option concurrency: 'overwrite', so that a
//              modified session is saved with the store's whole-session set, as 1.x does, instead of its patch
//   env BENCH_TOUCH_AFTER=ms   (variant ours only) the middleware option touchAfter
//
// Listens on 127.0.0.1 (random port unless BENCH_PORT) and reports the port with process.send({ port }) when
// forked, else prints `listening <port>`. Routes:
//   GET /          the measured route
//   GET /__setup   creates the session the scenario needs; its Set-Cookie is what the load generator sends
//   GET /__reset   zeroes the request counter and the CPU clock (and empties the store in scenario B)
//   GET /__stats   { requests, cpuUser, cpuSystem, cpuUs, elapsedMs, rssMB, storeWrites } since the last reset;
//                  storeWrites: the store's set, patch and touch calls { set, patch, touch }
//   GET /__writes  socket writes made for the last request sent with the header `x-bench-count-writes: 1`
//   GET /__exit    exits (so that --cpu-prof profiles get written)
// Only requests to / are counted. Control routes are mounted before the session middleware.
'use strict'

const net = require('node:net')
const Module = require('node:module')
const { fillSession, sessionOptions, routeWork } = require('./common.js')

const argv = process.argv.slice(2)
const variant = argv[0] || process.env.BENCH_VARIANT || 'ours'
const framework = argv[1] || process.env.BENCH_FRAMEWORK || 'express4'
const scenario = (argv[2] || process.env.BENCH_SCENARIO || 'C').toUpperCase()
const storeKind = argv[3] || process.env.BENCH_STORE || 'memory'
const redisUrl = argv[4] || process.env.BENCH_REDIS_URL
const port = Number(process.env.BENCH_PORT || 0)
const concurrency = process.env.BENCH_CONCURRENCY || undefined
const touchAfter = process.env.BENCH_TOUCH_AFTER ? Number(process.env.BENCH_TOUCH_AFTER) : undefined

if (!['bare', 'hooks', 'upstream', 'ours'].includes(variant)) throw new Error(`unknown variant ${variant}`)
if (!['express4', 'express5'].includes(framework)) throw new Error(`unknown framework ${framework}`)
if (!['B', 'C', 'D', 'E', 'F'].includes(scenario)) throw new Error(`unknown scenario ${scenario}`)
if (!['memory', 'redis', 'redis-bundled'].includes(storeKind)) throw new Error(`unknown store ${storeKind}`)
if (storeKind === 'redis-bundled' && ['upstream', 'hooks'].includes(variant)) {
  throw new Error(`store redis-bundled is for the variant ours (and bare), not ${variant}`)
}
if (concurrency !== undefined && !['serialize', 'overwrite'].includes(concurrency)) {
  throw new Error(`unknown BENCH_CONCURRENCY ${concurrency}`)
}
if (concurrency !== undefined && variant !== 'ours') throw new Error('BENCH_CONCURRENCY is for the variant ours')
if (touchAfter !== undefined && variant !== 'ours') throw new Error('BENCH_TOUCH_AFTER is for the variant ours')

// For the upstream variant, stores that `require('express-session')` (connect-redis) must extend 1.19.0's Store,
// not ours (node_modules/express-session is this project).
if (variant === 'upstream') {
  const upstreamPath = require.resolve('express-session-1.19.0')
  const resolve = Module._resolveFilename
  Module._resolveFilename = function (request, ...rest) {
    if (request === 'express-session') return upstreamPath
    return resolve.call(this, request, ...rest)
  }
}

// ---- socket write counting ---------------------------------------------------------------------------------
// net.Socket#_writeGeneric is where a stream write (or a corked writev batch) reaches the handle: one per syscall.
let countingSocket = null
let socketWrites = 0
let streamWrites = 0
{
  const proto = net.Socket.prototype
  const writeGeneric = proto._writeGeneric
  if (typeof writeGeneric === 'function') {
    proto._writeGeneric = function (...args) {
      if (this === countingSocket) socketWrites++
      return writeGeneric.apply(this, args)
    }
  }
  const write = proto.write
  proto.write = function (...args) {
    if (this === countingSocket) streamWrites++
    return write.apply(this, args)
  }
}

// ---- app ---------------------------------------------------------------------------------------------------
const express = require(framework === 'express5' ? 'express5' : 'express')
const app = express()
app.disable('x-powered-by')
app.set('etag', false)

let requests = 0
let cpuStart = process.cpuUsage()
let timeStart = process.hrtime.bigint()
let store
/** The store's writes since the last reset (see countStoreWrites). */
let storeWrites = { set: 0, patch: 0, touch: 0 }

/** Counts the calls of the store's set, patch and touch (those it has) in `storeWrites`. */
function countStoreWrites(target) {
  for (const name of Object.keys(storeWrites)) {
    const method = target[name]
    if (typeof method !== 'function') continue
    target[name] = function (...args) {
      storeWrites[name]++
      return method.apply(this, args)
    }
  }
}

app.get('/__reset', (req, res) => {
  const finish = () => {
    if (global.gc) global.gc()
    requests = 0
    storeWrites = { set: 0, patch: 0, touch: 0 }
    cpuStart = process.cpuUsage()
    timeStart = process.hrtime.bigint()
    res.json({ ok: true })
  }
  // B makes a session per request: start every round from an empty store
  if (scenario === 'B' && store && typeof store.clear === 'function' && storeKind === 'memory') store.clear(finish)
  else finish()
})

app.get('/__stats', (req, res) => {
  const cpu = process.cpuUsage(cpuStart)
  const elapsedMs = Number(process.hrtime.bigint() - timeStart) / 1e6
  res.json({
    requests,
    cpuUser: cpu.user,
    cpuSystem: cpu.system,
    cpuUs: cpu.user + cpu.system,
    elapsedMs,
    rssMB: Math.round(process.memoryUsage().rss / 1048576),
    storeWrites,
  })
})

app.get('/__writes', (req, res) => {
  const result = { socketWrites, streamWrites }
  countingSocket = null
  socketWrites = 0
  streamWrites = 0
  res.json(result)
})

app.get('/__exit', (req, res) => {
  res.json({ ok: true })
  setImmediate(() => shutdown(0))
})

// arm write counting for this request's socket (before the session middleware, so its writes are counted)
app.use((req, res, next) => {
  if (req.headers['x-bench-count-writes'] === '1') {
    countingSocket = req.socket
    socketWrites = 0
    streamWrites = 0
  }
  next()
})

let redisClient

/**
 * The hooks of a session middleware with express-session 1.x's contract, without the session work: the store's
 * answer awaited before next() (one setImmediate, as MemoryStore answers), `req.sessionStore`, `req.sessionID`
 * and `req.session` set, an on-headers listener (Set-Cookie must be decided before headers go out) and `res.end`
 * replaced so that the response ends after the store has answered (one more setImmediate).
 */
function hooksOnly(req, res, next) {
  req.sessionStore = store
  req.sessionID = 'hooks-only'
  const end = res.end
  res.end = function (...args) {
    setImmediate(() => end.apply(res, args))
    return res
  }
  require('on-headers')(res, () => {})
  setImmediate(() => {
    req.session = { user: { id: 42, name: 'bench', roles: ['user'] }, count: 0 }
    next()
  })
}

async function main() {
  if (variant === 'hooks') {
    app.use(hooksOnly)
    app.get('/__setup', (req, res) => res.send('setup'))
  } else if (variant === 'upstream' || variant === 'ours') {
    const session = require(variant === 'upstream' ? 'express-session-1.19.0' : 'express-session')
    if (storeKind === 'redis' || storeKind === 'redis-bundled') {
      if (!redisUrl) throw new Error(`store ${storeKind} needs a redis URL`)
      const { createClient } = require('redis')
      const { RedisStore } = require(storeKind === 'redis' ? 'connect-redis' : 'express-session/redis')
      redisClient = createClient({ url: redisUrl })
      redisClient.on('error', (err) => console.error('redis client error', err.message))
      await redisClient.connect()
      store = new RedisStore({ client: redisClient, prefix: `bench-${variant}-${process.pid}:` })
    } else {
      store = new session.MemoryStore()
    }
    countStoreWrites(store)
    const options = sessionOptions(scenario, store)
    if (concurrency !== undefined) options.concurrency = concurrency
    if (touchAfter !== undefined) options.touchAfter = touchAfter
    app.use(session(options))
    app.get('/__setup', (req, res) => {
      fillSession(scenario, req.session)
      res.send('setup')
    })
  } else {
    app.get('/__setup', (req, res) => res.send('setup'))
  }

  let handler
  if (variant === 'bare') {
    handler = (req, res) => {
      requests++
      res.send('hello bench')
    }
  } else {
    // B: a new (uninitialized) session, saved because saveUninitialized; C, F: read only; D, E: one field changed
    handler = (req, res) => {
      requests++
      res.send(routeWork(scenario, req.session))
    }
  }
  app.get('/', handler)

  const server = app.listen(port, '127.0.0.1', () => {
    const actual = server.address().port
    if (process.send) process.send({ port: actual })
    else console.log(`listening ${actual} (${variant} ${framework} ${scenario} ${storeKind}${concurrency ? ' ' + concurrency : ''})`)
  })
  server.keepAliveTimeout = 60_000

  shutdown = (code) => {
    server.close()
    server.closeAllConnections?.()
    const done = () => process.exit(code)
    if (store && typeof store.close === 'function' && storeKind === 'memory') store.close()
    if (redisClient) redisClient.quit().then(done, done)
    else done()
  }
}

let shutdown = (code) => process.exit(code)
process.on('SIGTERM', () => shutdown(0))
process.on('SIGINT', () => shutdown(0))
process.on('disconnect', () => shutdown(0))

main().catch((err) => {
  console.error(err)
  process.exit(1)
})

