#!/usr/bin/env node
// Store writes per 1,000 read-only requests: the store's set, patch and touch calls, counted in the server
// (bench/server.js), while one existing session is read 1,000 times (scenario C; F with rolling: true), with and
// without the touchAfter option, on MemoryStore and, when redis-server is installed, on the bundled RedisStore and
// connect-redis. Counts, not speed: they do not depend on the machine. See bench/README.md.
//
//   node bench/store-writes.js [--requests N] [--touch-after MS] [--no-redis] [--results]
//
// --results: replace (or add) the section "## Store writes per 1,000 read-only requests" of bench/RESULTS.md.
'use strict'

const { fork } = require('node:child_process')
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const autocannon = require('autocannon')
const { withSection } = require('./common.js')

const HOST = '127.0.0.1'
const SECTION = '## Store writes per 1,000 read-only requests'
const STORE_LABEL = { memory: 'MemoryStore', 'redis-bundled': 'RedisStore', redis: 'connect-redis' }

function parseArgs(argv) {
  const opts = { requests: 1000, touchAfter: 60_000, redis: true, results: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--requests') opts.requests = Number(argv[++i])
    else if (a === '--touch-after') opts.touchAfter = Number(argv[++i])
    else if (a === '--no-redis') opts.redis = false
    else if (a === '--results') opts.results = true
    else throw new Error(`unknown argument ${a}`)
  }
  if (!(opts.requests >= 1) || !(opts.touchAfter > 0)) throw new Error('bad --requests / --touch-after')
  return opts
}

function get(port, urlPath) {
  return new Promise((resolve, reject) => {
    http.get({ host: HOST, port, path: urlPath, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }))
    }).on('error', reject)
  })
}

/** Starts bench/server.js for `row`; resolves with its port and a stop function. */
function startServer(row, redisUrl) {
  const args = [row.variant, 'express4', row.scenario, row.store, ...(redisUrl ? [redisUrl] : [])]
  const env = { ...process.env }
  delete env.NODE_ENV
  delete env.BENCH_CONCURRENCY
  delete env.BENCH_TOUCH_AFTER
  if (row.touchAfter) env.BENCH_TOUCH_AFTER = String(row.touchAfter)
  const child = fork(path.join(__dirname, 'server.js'), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env })
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)))
    child.once('message', ({ port }) => {
      child.removeAllListeners('exit')
      const stop = () => new Promise((done) => {
        child.once('exit', () => done())
        get(port, '/__exit').catch(() => child.kill('SIGTERM'))
      })
      resolve({ port, stop })
    })
  })
}

/** One row: a session set up, then `requests` read-only requests sending its cookie; the store's writes meanwhile. */
async function measure(row, opts, redisUrl) {
  const server = await startServer(row, redisUrl)
  try {
    const setup = await get(server.port, '/__setup')
    const cookie = setup.headers['set-cookie'][0].split(';')[0]
    await get(server.port, '/__reset')
    const t0 = Date.now()
    const load = await autocannon({
      url: `http://${HOST}:${server.port}/`, connections: 10, amount: opts.requests, headers: { cookie },
    })
    const seconds = (Date.now() - t0) / 1000
    const stats = JSON.parse((await get(server.port, '/__stats')).body)
    if (load.non2xx + load.errors > 0 || stats.requests !== opts.requests) {
      throw new Error(`${row.label}: ${stats.requests} requests served, ${load.non2xx} non-2xx, ${load.errors} errors`)
    }
    const w = stats.storeWrites
    return { ...row, ...w, total: w.set + w.patch + w.touch, seconds }
  } finally {
    await server.stop()
  }
}

async function startRedis() {
  try {
    const servers = require('tsx/cjs/api').require('../test/support/servers.ts', __filename)
    return await servers.startRedis()
  } catch (err) {
    console.warn(`no Redis rows: ${err.message.split('\n')[0]}`)
    return undefined
  }
}

function rowsFor(opts, stores) {
  const rows = []
  for (const store of stores) {
    for (const scenario of ['C', 'F']) {
      const rolling = scenario === 'F' ? 'on' : 'off'
      // connect-redis works with both; our RedisStore is for this package only
      if (store !== 'redis-bundled') rows.push({ variant: 'upstream', store, scenario, rolling, label: '1.19.0' })
      rows.push({ variant: 'ours', store, scenario, rolling, label: 'ours' })
      rows.push({ variant: 'ours', store, scenario, rolling, touchAfter: opts.touchAfter, label: `ours, touchAfter ${opts.touchAfter}` })
    }
  }
  return rows
}

const HEADER = ['store', 'rolling', 'middleware', 'set', 'patch', 'touch', 'writes per 1,000 requests', 'run s']

function tableRows(results, requests) {
  return results.map((r) => [STORE_LABEL[r.store], r.rolling, r.label, r.set, r.patch, r.touch,
    Math.round((r.total * 1000) / requests), r.seconds.toFixed(1)])
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const redis = opts.redis ? await startRedis() : undefined
  const stores = redis ? ['memory', 'redis-bundled', 'redis'] : ['memory']
  const results = []
  try {
    for (const row of rowsFor(opts, stores)) {
      const r = await measure(row, opts, row.store === 'memory' ? undefined : redis.url)
      console.log(`${STORE_LABEL[r.store]}, rolling ${r.rolling}, ${r.label}: set ${r.set}, patch ${r.patch}, touch ${r.touch}`)
      results.push(r)
    }
  } finally {
    await redis?.stop()
  }
  const table = [`| ${HEADER.join(' | ')} |`, `|${HEADER.map((h, i) => (i < 3 ? '---' : '--:')).join('|')}|`,
    ...tableRows(results, opts.requests).map((r) => `| ${r.join(' | ')} |`)]
  console.log('\n' + table.join('\n'))
  if (!opts.results) return
  const lines = [SECTION, '',
    `- Date: ${new Date().toISOString()}; Node ${process.version}`,
    `- Command: \`node bench/store-writes.js${process.argv.length > 2 ? ' ' + process.argv.slice(2).join(' ') : ''}\``,
    `- One existing session (scenario C: read only; with rolling, scenario F), ${opts.requests} requests sending its ` +
      'cookie (autocannon, 10 connections), right after the request that created it; the store\'s set, patch and ' +
      'touch calls counted in the server. Counts do not depend on the machine; "run s" is how long the requests ' +
      `took, all within touchAfter (${opts.touchAfter} ms) of the session's creation.`, '',
    ...table, '']
  const file = path.join(__dirname, 'RESULTS.md')
  fs.writeFileSync(file, withSection(fs.readFileSync(file, 'utf8'), SECTION, lines))
  console.log(`wrote section "${SECTION}" of ${path.relative(process.cwd(), file)}`)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
