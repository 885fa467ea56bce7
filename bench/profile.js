#!/usr/bin/env node
// CPU profile of the benchmark server under load, summarised: top self-time functions, time by package, and the
// time attributable to this package's functions (mapped to src/*.ts through the source maps).
//
//   node bench/profile.js [--variant ours|upstream|bare] [--scenario C] [--framework express4] [--store memory]
//                         [--duration 10] [--connections 50] [--top 30] [--keep]
//
// Runs `node --cpu-prof bench/server.js ...`, loads GET / with autocannon after a short warm-up, stops the server
// so the .cpuprofile is written (kept with --keep, path printed), and prints the summary.
'use strict'

const { fork } = require('node:child_process')
const fs = require('node:fs')
const http = require('node:http')
const os = require('node:os')
const path = require('node:path')
const { SourceMap } = require('node:module')
const autocannon = require('autocannon')

const ROOT = path.join(__dirname, '..')

function parseArgs(argv) {
  const o = { variant: 'ours', scenario: 'C', framework: 'express4', store: 'memory', duration: 10, warmup: 2,
    connections: 50, top: 30, keep: false, redisUrl: undefined }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = () => argv[++i]
    if (a === '--variant') o.variant = val()
    else if (a === '--scenario') o.scenario = val().toUpperCase()
    else if (a === '--framework') o.framework = val()
    else if (a === '--store') o.store = val()
    else if (a === '--redis-url') o.redisUrl = val()
    else if (a === '--duration') o.duration = Number(val())
    else if (a === '--warmup') o.warmup = Number(val())
    else if (a === '--connections') o.connections = Number(val())
    else if (a === '--top') o.top = Number(val())
    else if (a === '--keep') o.keep = true
    else throw new Error(`unknown argument ${a}`)
  }
  return o
}

function get(port, p, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p, headers, agent: false }, (res) => {
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }))
    }).on('error', reject)
  })
}

// ---- source maps for dist/*.js -----------------------------------------------------------------------------
const maps = new Map()
function mapLocation(url, line, column) {
  if (!url.includes('/dist/') || url.includes('node_modules/')) return undefined
  const file = url.replace(/^file:\/\//, '')
  if (!maps.has(file)) {
    let sm
    try {
      sm = new SourceMap(JSON.parse(fs.readFileSync(file + '.map', 'utf8')))
    } catch {
      sm = null
    }
    maps.set(file, sm)
  }
  const sm = maps.get(file)
  if (!sm) return undefined
  const e = sm.findEntry(line, column)
  if (!e || !e.originalSource) return undefined
  const src = path.relative(ROOT, path.resolve(path.dirname(file), e.originalSource.replace(/^file:\/\//, '')))
  return `${src}:${e.originalLine + 1}`
}

function category(url, name) {
  if (!url) {
    if (name === '(garbage collector)') return 'GC'
    if (name === '(idle)') return 'idle'
    if (name === '(program)') return 'program (native, unattributed)'
    return 'native/builtin'
  }
  if (url.startsWith('node:')) return 'node internals'
  const m = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)
  if (m) return m[1]
  if (url.includes('/work/main/dist/') || url.includes(`${ROOT}/dist/`)) return 'THIS PACKAGE (dist/)'
  if (url.includes('/bench/')) return 'bench server'
  return url
}

function summarise(profile, top) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map()
  const { samples, timeDeltas } = profile
  for (let i = 0; i < samples.length; i++) {
    const dt = timeDeltas[i + 1] ?? 0
    self.set(samples[i], (self.get(samples[i]) || 0) + dt)
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0)
  const idle = [...self.entries()].filter(([id]) => byId.get(id).callFrame.functionName === '(idle)')
    .reduce((a, [, v]) => a + v, 0)
  const busy = total - idle

  const key = (cf) => `${cf.functionName || '(anonymous)'} ${cf.url}:${cf.lineNumber}:${cf.columnNumber}`
  const label = (cf) => {
    const where = mapLocation(cf.url, cf.lineNumber, cf.columnNumber)
    const short = cf.url ? cf.url.replace(/^file:\/\//, '').replace(ROOT + '/', '') : ''
    return `${cf.functionName || '(anonymous)'}  ${where || (short ? `${short}:${cf.lineNumber + 1}` : '')}`
  }

  // self time per function, and per category
  const fnSelf = new Map()
  const catSelf = new Map()
  for (const [id, t] of self) {
    const cf = byId.get(id).callFrame
    const k = key(cf)
    const e = fnSelf.get(k) || { cf, t: 0 }
    e.t += t
    fnSelf.set(k, e)
    const c = category(cf.url, cf.functionName)
    catSelf.set(c, (catSelf.get(c) || 0) + t)
  }

  // attributed time: each sample goes to the nearest frame of this package on its stack, unless application
  // code (express, the bench route) lies in between (then it is the app's, reached through next())
  const parent = new Map()
  for (const n of profile.nodes) for (const c of n.children || []) parent.set(c, n.id)
  const OURS = 'THIS PACKAGE (dist/)'
  const APP = new Set(['express', 'express5', 'router', 'bench server'])
  const attributed = new Map()
  let oursTotal = 0
  for (const [id, t] of self) {
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur).callFrame
      const c = category(cf.url, cf.functionName)
      if (APP.has(c)) break
      if (c !== OURS) continue
      const k = key(cf)
      const e = attributed.get(k) || { cf, t: 0 }
      e.t += t
      attributed.set(k, e)
      oursTotal += t
      break
    }
  }

  const pct = (t) => `${((100 * t) / busy).toFixed(1).padStart(5)}%`
  const ms = (t) => `${(t / 1000).toFixed(0).padStart(6)} ms`
  const out = []
  out.push(`busy (non-idle) time ${ms(busy)}; percentages are of busy time`)
  out.push('', 'self time by package:')
  for (const [c, t] of [...catSelf].filter(([c]) => c !== 'idle').sort((a, b) => b[1] - a[1]).slice(0, 15)) {
    out.push(`  ${pct(t)} ${ms(t)}  ${c}`)
  }
  out.push('', `top ${top} functions by self time:`)
  for (const e of [...fnSelf.values()].filter((e) => e.cf.functionName !== '(idle)').sort((a, b) => b.t - a.t).slice(0, top)) {
    out.push(`  ${pct(e.t)} ${ms(e.t)}  ${label(e.cf)}  [${category(e.cf.url, e.cf.functionName)}]`)
  }
  out.push('', `this package: self time plus the node/library code it calls (not the app's, via next()): ` +
    `${pct(oursTotal).trim()} of busy time, by function:`)
  for (const e of [...attributed.values()].sort((a, b) => b.t - a.t).slice(0, top)) {
    out.push(`  ${pct(e.t)} ${ms(e.t)}  ${label(e.cf)}`)
  }
  return out.join('\n')
}

async function main() {
  const o = parseArgs(process.argv.slice(2))
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-prof-'))
  const args = [o.variant, o.framework, o.scenario, o.store]
  if (o.redisUrl) args.push(o.redisUrl)
  const env = { ...process.env }
  delete env.NODE_ENV
  const child = fork(path.join(__dirname, 'server.js'), args, {
    execArgv: ['--cpu-prof', '--cpu-prof-dir', dir],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env,
  })
  const port = await new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m.port))
    child.once('exit', (c) => reject(new Error(`server exited ${c}`)))
  })
  let cookie = ''
  if (o.scenario !== 'B' && o.variant !== 'bare' && o.variant !== 'hooks') {
    const r = await get(port, '/__setup')
    cookie = r.headers['set-cookie'][0].split(';')[0]
  }
  const headers = cookie ? { cookie } : {}
  const url = `http://127.0.0.1:${port}/`
  if (o.warmup > 0) await autocannon({ url, connections: o.connections, duration: o.warmup, headers })
  const r = await autocannon({ url, connections: o.connections, duration: o.duration, headers })
  console.log(`${o.variant} ${o.framework} ${o.scenario} ${o.store}: ${r.requests.average.toFixed(0)} req/s ` +
    `(profiled: slower than unprofiled)`)
  const exited = new Promise((resolve) => child.once('exit', resolve))
  await get(port, '/__exit').catch(() => child.kill('SIGTERM'))
  await exited
  const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
  if (!file) throw new Error('no .cpuprofile written')
  const profile = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'))
  console.log(summarise(profile, o.top))
  if (o.keep) console.log(`\nprofile: ${path.join(dir, file)} (open in Chrome DevTools > Performance)`)
  else fs.rmSync(dir, { recursive: true, force: true })
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err)
    process.exit(1)
  })
}

module.exports = { summarise }
