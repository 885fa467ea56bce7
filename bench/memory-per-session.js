#!/usr/bin/env node
// Memory per stored session in the bundled MemoryStore, beside express-session 1.19.0's MemoryStore.
//
//   node --expose-gc bench/memory-per-session.js [count]       (default 100000; `npm run build` first)
//
// Method: for each store, in turn and in a fresh heap state, force a full GC, read `heapUsed`, store `count`
// small sessions (a 24-hour cookie as the middleware writes it, plus `{ views: 1 }`) under 32-character IDs
// from uid-safe, let every deferred callback run, force a full GC again, and divide the growth of
// `heapUsed` by `count`. The IDs are created before the first reading, so they are not counted. Each store
// is measured in its own child process. The last line is JSON, for scripts.
// "through the middleware": the same sessions written by the middleware itself (a request without a cookie whose
// route sets `views`), as an application writes them; the IDs are then generated inside and counted.
'use strict'
const path = require('node:path')
const uid = require('uid-safe')

if (typeof global.gc !== 'function') {
  console.error('run with: node --expose-gc bench/memory-per-session.js [count]')
  process.exit(2)
}

const root = path.join(__dirname, '..')
const count = Number(process.argv[2] ?? 100000)
if (!(Number.isInteger(count) && count > 0)) {
  console.error('count must be a positive integer')
  process.exit(2)
}

const current = require(root)
let upstream
try {
  upstream = require(require.resolve('express-session-1.19.0', { paths: [root] }))
} catch {
  upstream = undefined
}

const ids = Array.from({ length: count }, () => uid.sync(24))
const maxAge = 24 * 60 * 60 * 1000

/** A session as the middleware hands it to `store.set()`. */
function sessionData() {
  return {
    cookie: { originalMaxAge: maxAge, expires: new Date(Date.now() + maxAge), httpOnly: true, path: '/' },
    views: 1,
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

async function settle() {
  for (let i = 0; i < 3; i++) {
    await tick()
    global.gc()
  }
}

/** Bytes of heap per stored session for a store made by `create`. */
async function measure(create) {
  await settle()
  const before = process.memoryUsage().heapUsed
  const store = create()
  let answered = 0
  const done = () => answered++
  for (const id of ids) store.set(id, sessionData(), done)
  while (answered < count) await tick()
  await settle()
  const after = process.memoryUsage().heapUsed
  const stored = Object.keys(store.sessions).length
  if (stored !== count) throw new Error(`expected ${count} sessions in the store, found ${stored}`)
  const bytes = (after - before) / count
  if (typeof store.close === 'function') store.close()
  return { bytes, json: JSON.stringify(sessionData()).length, keep: store }
}

/** One request without a cookie through `middleware`, whose route sets `req.session.views = 1`. */
function request(middleware) {
  const http = require('node:http')
  return new Promise((resolve, reject) => {
    const req = new http.IncomingMessage({ readableHighWaterMark: 16384, encrypted: false, remoteAddress: '127.0.0.1' })
    req.method = 'GET'
    req.url = '/'
    req.headers = { host: '127.0.0.1' }
    const res = new http.ServerResponse(req)
    const end = res.end
    res.end = function (...args) {
      const result = end.apply(this, args)
      resolve()
      return result
    }
    middleware(req, res, (err) => {
      if (err) return reject(err)
      req.session.views = 1
      res.end('ok')
    })
  })
}

/** Bytes of heap per session written through the middleware of `session` (this package or 1.19.0). */
async function measureThroughMiddleware(session) {
  const store = new session.MemoryStore()
  const middleware = session({ secret: 'memory bench', store, resave: false, saveUninitialized: false, cookie: { maxAge } })
  await settle()
  const before = process.memoryUsage().heapUsed
  for (let i = 0; i < count; i++) await request(middleware)
  await settle()
  const after = process.memoryUsage().heapUsed
  const stored = Object.keys(store.sessions).length
  if (stored !== count) throw new Error(`expected ${count} sessions in the store, found ${stored}`)
  if (typeof store.close === 'function') store.close()
  return { bytes: (after - before) / count, json: JSON.stringify(sessionData()).length, keep: store }
}

const variants = [
  ['this package, MemoryStore()', () => new current.MemoryStore()],
  ['this package, MemoryStore({ max: count })', () => new current.MemoryStore({ max: count })],
  ['this package, MemoryStore({ checkPeriod: 0 })', () => new current.MemoryStore({ checkPeriod: 0 })],
]
if (upstream) variants.push(['express-session 1.19.0, MemoryStore()', () => new upstream.MemoryStore()])
const throughMiddleware = [['this package, through the middleware', current]]
if (upstream) throughMiddleware.push(['express-session 1.19.0, through the middleware', upstream])

async function main() {
  const only = process.env.MEMORY_BENCH_VARIANT
  if (only !== undefined) {
    // a child: measures one variant in its own fresh process
    const index = Number(only)
    const { bytes, json } = index < variants.length
      ? await measure(variants[index][1])
      : await measureThroughMiddleware(throughMiddleware[index - variants.length][1])
    process.stdout.write(JSON.stringify({ bytes, json }))
    return
  }
  const { execFileSync } = require('node:child_process')
  const results = {}
  let json = 0
  const names = [...variants, ...throughMiddleware].map(([name]) => name)
  for (let i = 0; i < names.length; i++) {
    const output = execFileSync(process.execPath, ['--expose-gc', __filename, String(count)], {
      env: { ...process.env, MEMORY_BENCH_VARIANT: String(i) },
      encoding: 'utf8',
    })
    const measured = JSON.parse(output)
    json = measured.json
    results[names[i]] = Math.round(measured.bytes)
  }

  console.log(`${count} sessions of ${json} bytes of JSON each (session ID: 32 characters), Node ${process.version}`)
  for (const [name, bytes] of Object.entries(results)) console.log(`  ${name}: ${bytes} bytes per session`)
  console.log(JSON.stringify({ count, jsonBytes: json, node: process.version, bytesPerSession: results }))
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
