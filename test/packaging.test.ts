// Packaging: what an application or a store sees after `npm install express-session`.
//
// The project is packed with `npm pack`, the tarball is installed for real into a throwaway consumer project
// in the OS temp dir (under the name `express-session`, with express, @types/express, @types/node and
// typescript linked from this repo's node_modules so nothing else is downloaded), and then:
// - `require()` gives the middleware carrying Store/Cookie/Session/MemoryStore, stores written with
//   `Store.call(this)` + util.inherits and with `class extends` work, and an Express app runs on it;
// - ESM `import` yields the very same objects, and Node's CommonJS named-export detection sees them;
// - a consumer written in the `@types/express-session` idioms passes a strict `tsc --noEmit` (skipLibCheck off)
//   under node16 (an .mts and a .cts file, each its own program), commonjs + esModuleInterop, commonjs without
//   esModuleInterop (`import * as session`), and bundler resolution, with no `@types/express-session` anywhere;
// - publint and @arethetypeswrong/cli (every entry point, node10/node16-cjs/node16-esm/bundler) find no problems.
// Temp dirs are removed afterwards (set KEEP_PACKAGING_TMP=1 to keep them for debugging).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { ensureBuilt, envWithoutCoverage } from './support/node-process.js'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'

const root = path.join(__dirname, '..')
const repoModules = path.join(root, 'node_modules')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

/**
 * The environment of every child process: no colours, and no V8 coverage output (under `npm test`, c8 would
 * otherwise collect megabytes of coverage of tsc and npm, none of it of this package's repo files).
 */
const childEnv: NodeJS.ProcessEnv = { ...envWithoutCoverage(), NO_COLOR: '1', FORCE_COLOR: '0', npm_config_update_notifier: 'false' }

interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a command to completion (never throws on a non-zero exit; the caller asserts). */
function run(command: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

function describeRun(what: string, result: RunResult): string {
  return `${what} exited with ${result.code}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`
}

function link(consumer: string, name: string): void {
  const target = path.join(repoModules, name)
  assert.ok(existsSync(target), `${name} is missing from this repo's node_modules: run npm install`)
  const where = path.join(consumer, 'node_modules', name)
  mkdirSync(path.dirname(where), { recursive: true })
  symlinkSync(target, where, 'junction')
}

// ---------------------------------------------------------------------------------------------------------
// The consumer project's files.

/** Runtime, CommonJS: what stores and applications do with `require('express-session')`. */
const cjsCheck = String.raw`'use strict'
const assert = require('node:assert/strict')
const { EventEmitter } = require('node:events')
const path = require('node:path')
const util = require('node:util')
const express = require('express')
const session = require('express-session')

assert.ok(require.resolve('express-session').startsWith(path.join(__dirname, 'node_modules', 'express-session') + path.sep))
assert.equal(typeof session, 'function', 'require() gives the middleware factory')
for (const name of ['Store', 'Cookie', 'Session', 'MemoryStore']) assert.equal(typeof session[name], 'function', name)
// connect-sqlite3 & co. look at .session first: it must not exist, or carry Store.
if ('session' in session) assert.equal(typeof session.session.Store, 'function', '.session without .Store')

// A store in the style of session-file-store / connect-sqlite3: Store.call(this) and util.inherits.
function LegacyStore(options) {
  session.Store.call(this, options)
  this.sessions = Object.create(null)
}
util.inherits(LegacyStore, session.Store)
LegacyStore.prototype.get = function (sid, cb) {
  const raw = this.sessions[sid]
  setImmediate(cb, null, raw ? JSON.parse(raw) : null)
}
LegacyStore.prototype.set = function (sid, sess, cb) {
  this.sessions[sid] = JSON.stringify(sess)
  setImmediate(cb)
}
LegacyStore.prototype.destroy = function (sid, cb) {
  delete this.sessions[sid]
  setImmediate(cb)
}

// A store in the style of connect-redis 7+: class extends.
class ModernStore extends session.Store {
  constructor() {
    super()
    this.map = new Map()
  }
  get(sid, cb) { const raw = this.map.get(sid); setImmediate(cb, null, raw ? JSON.parse(raw) : null) }
  set(sid, sess, cb) { this.map.set(sid, JSON.stringify(sess)); setImmediate(cb) }
  destroy(sid, cb) { this.map.delete(sid); setImmediate(cb) }
}

// express-mysql-session never calls the Store constructor.
function NoConstructorStore() {}
util.inherits(NoConstructorStore, session.Store)

const legacy = new LegacyStore({})
const modern = new ModernStore()
for (const store of [legacy, modern, new NoConstructorStore(), new session.MemoryStore()]) {
  assert.ok(store instanceof session.Store)
  assert.ok(store instanceof EventEmitter)
  for (const method of ['regenerate', 'load', 'createSession']) assert.equal(typeof store[method], 'function', method)
}
let heard = 0
legacy.on('ping', () => heard++)
modern.on('ping', () => heard++)
legacy.emit('ping')
modern.emit('ping')
assert.equal(heard, 2, 'stores are EventEmitters')
assert.equal(new session.Cookie().path, '/')

async function countViews(store) {
  const app = express()
  app.use(session({ secret: 'packaging', store, resave: false, saveUninitialized: false }))
  app.get('/', (req, res) => {
    req.session.views = (req.session.views || 0) + 1
    res.json({ views: req.session.views, ok: req.session instanceof session.Session })
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  try {
    const url = 'http://127.0.0.1:' + server.address().port + '/'
    const first = await fetch(url)
    const setCookie = first.headers.getSetCookie()
    assert.equal(setCookie.length, 1)
    assert.match(setCookie[0], /^connect\.sid=s%3A[\w-]{32}\.[^;]+; Path=\/; HttpOnly$/)
    assert.deepEqual(await first.json(), { views: 1, ok: true })
    const second = await fetch(url, { headers: { cookie: setCookie[0].split(';')[0] } })
    assert.deepEqual(await second.json(), { views: 2, ok: true })
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
}

;(async () => {
  await countViews(legacy)
  assert.equal(Object.keys(legacy.sessions).length, 1)
  await countViews(modern)
  assert.equal(modern.map.size, 1)
  console.log('cjs ok')
})().catch((err) => {
  console.error(err)
  process.exitCode = 1
})
`

/** Runtime, ESM: `import` must yield the CommonJS objects themselves. */
const esmCheck = String.raw`import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import util from 'node:util'
import session, { Store, Cookie, Session, MemoryStore } from 'express-session'
import * as namespace from 'express-session'

const require = createRequire(import.meta.url)
const cjs = require('express-session')

assert.equal(session, cjs, 'default import is the required function')
assert.equal(Store, cjs.Store)
assert.equal(Cookie, cjs.Cookie)
assert.equal(Session, cjs.Session)
assert.equal(MemoryStore, cjs.MemoryStore)
assert.equal(namespace.default, cjs)
assert.equal(namespace.Store, cjs.Store)

// Importing the CommonJS file itself: Node's named-export detection must find the constructors.
const viaCjs = await import(pathToFileURL(require.resolve('express-session')).href)
assert.equal(viaCjs.default, cjs)
for (const name of ['Store', 'Cookie', 'Session', 'MemoryStore']) assert.equal(viaCjs[name], cjs[name], 'named export ' + name)

class EsmStore extends Store {
  get(sid, cb) { cb(null, null) }
  set(sid, sess, cb) { cb() }
  destroy(sid, cb) { cb() }
}
function InheritedStore() { Store.call(this) }
util.inherits(InheritedStore, Store)
class CjsBasedStore extends cjs.Store {}

for (const store of [new EsmStore(), new InheritedStore(), new CjsBasedStore(), new MemoryStore(), new cjs.MemoryStore()]) {
  assert.ok(store instanceof Store, 'instanceof the imported Store')
  assert.ok(store instanceof cjs.Store, 'instanceof the required Store')
}
assert.ok(new MemoryStore() instanceof cjs.MemoryStore)
assert.ok(new cjs.Cookie() instanceof Cookie)
console.log('esm ok')
`

/** Type-level checks shared by every consumer file (after its imports). */
const typedBody = `
declare module 'express-session' {
  interface SessionData {
    views: number
    user?: { name: string }
  }
}

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
function expectTrue<T extends true>(proof?: T): T | undefined {
  return proof
}

// A store written against @types/express-session.
class MyStore extends session.Store {
  private readonly data = new Map<string, string>()

  constructor() {
    super()
  }

  get(sid: string, cb: (err: any, session?: session.SessionData | null) => void): void {
    const raw = this.data.get(sid)
    cb(null, raw === undefined ? null : (JSON.parse(raw) as session.SessionData))
  }

  set(sid: string, sess: session.SessionData, cb?: (err?: any) => void): void {
    this.data.set(sid, JSON.stringify(sess))
    if (cb) cb()
  }

  destroy(sid: string, cb?: (err?: any) => void): void {
    this.data.delete(sid)
    if (cb) cb()
  }

  touch(sid: string, sess: session.SessionData, cb?: () => void): void {
    this.set(sid, sess, cb)
  }

  all(cb: (err: any, obj?: session.SessionData[] | { [sid: string]: session.SessionData } | null) => void): void {
    const out: { [sid: string]: session.SessionData } = {}
    for (const [sid, raw] of this.data) out[sid] = JSON.parse(raw) as session.SessionData
    cb(null, out)
  }

  length(cb: (err: any, length?: number) => void): void {
    cb(null, this.data.size)
  }

  clear(cb?: (err?: any) => void): void {
    this.data.clear()
    if (cb) cb()
  }
}

// The same with the named imports.
class NamedStore extends Store {
  get(sid: string, cb: (err: any, session?: SessionData | null) => void): void {
    cb(null, sid ? null : undefined)
  }
  set(sid: string, sess: SessionData, cb?: (err?: any) => void): void {
    if (sid && sess.cookie && cb) cb()
  }
  destroy(sid: string, cb?: (err?: any) => void): void {
    if (sid && cb) cb()
  }
}

const store = new MyStore()
const asBase: Store = store
asBase.on('disconnect', () => undefined)
const named: Store = new NamedStore()
const memory = new session.MemoryStore()
const memoryToo: MemoryStore = new MemoryStore()
memoryToo.all((err, sessions) => void [err, sessions])
store.get('some-id', (err, sess) => {
  if (!err && sess) {
    const views: number = sess.views
    const maxAge: number | null = sess.cookie.originalMaxAge
    void [views, maxAge]
  }
})

const cookieOptions: session.CookieOptions = { secure: 'auto', sameSite: 'lax', maxAge: 1000 }
const options: session.SessionOptions = {
  secret: 'x',
  cookie: { secure: 'auto', sameSite: 'lax', maxAge: 1000 },
  store,
  resave: false,
  saveUninitialized: false,
}

const app = express()
app.set('trust proxy', 1)
app.use(session(options))
app.use(session({ secret: 'x', cookie: { secure: 'auto', sameSite: 'lax', maxAge: 1000 }, store }))
app.use(
  session({
    secret: ['new secret', 'old secret'],
    name: 'sid',
    store: named,
    genid: () => 'id',
    rolling: true,
    proxy: true,
    unset: 'destroy',
    cookie: (req) => ({ ...cookieOptions, secure: true, sameSite: 'none', httpOnly: true, path: req.sessionID ? '/' : '/x' }),
  }),
)
app.use(session({ secret: 'x', store: memory, cookie: (req: express.Request) => ({ domain: req.hostname, sameSite: 'strict' }) }))

app.get('/', (req: express.Request, res: express.Response) => {
  expectTrue<Equal<typeof req.session.views, number | undefined>>()
  expectTrue<Equal<typeof req.session.user, { name: string } | undefined>>()
  expectTrue<Equal<typeof req.sessionID, string>>()
  const id: string = req.sessionID
  req.session.views = (req.session.views ?? 0) + 1
  if (req.session.user) {
    const name: string = req.session.user.name
    void name
  }
  const cookie: Cookie = req.session.cookie
  cookie.maxAge = 60_000
  const current: Session = req.session
  const sid: string = current.id
  req.session.touch().resetMaxAge()
  const storeOfRequest: Store = req.sessionStore
  void storeOfRequest
  res.json({ views: req.session.views, id, sid })
})

app.post('/login', (req, res, next) => {
  req.session.regenerate((err) => {
    if (err) return next(err)
    req.session.user = { name: 'ada' }
    req.session.save((err) => {
      if (err) return next(err)
      res.redirect('/')
    })
  })
})

app.post('/logout', (req, res, next) => {
  req.session.destroy((err) => {
    if (err) return next(err)
    res.redirect('/')
  })
})

app.get('/reload', (req, res, next) => {
  req.session.reload((err) => {
    if (err) return next(err)
    res.json(req.session.views)
  })
})

app.get('/await', async (req, res) => {
  await req.session.save()
  await req.session.regenerate({ keepData: true })
  res.end()
})

export { app }
`

const consumerSources: Record<string, string> = {
  // ESM (node16, .mts) and CommonJS (node16, .cts / commonjs + esModuleInterop, .ts): the same imports.
  esm: `import express from 'express'
import session, { Store, MemoryStore, Cookie, Session, SessionData } from 'express-session'
${typedBody}`,
  interop: `import express from 'express'
import session from 'express-session'
import { Store, MemoryStore, Cookie, Session, SessionData } from 'express-session'
${typedBody}`,
  // Older projects without esModuleInterop.
  legacy: `import express = require('express')
import * as session from 'express-session'
import Store = session.Store
import MemoryStore = session.MemoryStore
import Cookie = session.Cookie
import Session = session.Session
import SessionData = session.SessionData
${typedBody}`,
}

const strict = {
  strict: true,
  noEmit: true,
  skipLibCheck: false,
  target: 'es2022',
  lib: ['es2022'],
  typeRoots: ['./node_modules/@types'],
}

/** One strict `tsc --noEmit` project per module setting. */
const tsconfigs: Record<string, { compilerOptions: object; files: string[] }> = {
  // Separate programs, so that each file's `declare module` augmentation has to work on its own.
  'tsconfig.node16-esm.json': {
    compilerOptions: { ...strict, module: 'node16', moduleResolution: 'node16' },
    files: ['consumer-esm.mts'],
  },
  'tsconfig.node16-cjs.json': {
    compilerOptions: { ...strict, module: 'node16', moduleResolution: 'node16' },
    files: ['consumer-cjs.cts'],
  },
  'tsconfig.commonjs.json': {
    compilerOptions: { ...strict, module: 'commonjs', moduleResolution: 'node10', esModuleInterop: true },
    files: ['consumer-interop.ts'],
  },
  'tsconfig.legacy.json': {
    compilerOptions: { ...strict, module: 'commonjs', moduleResolution: 'node10', esModuleInterop: false },
    files: ['consumer-legacy.ts'],
  },
  'tsconfig.bundler.json': {
    compilerOptions: { ...strict, module: 'esnext', moduleResolution: 'bundler' },
    files: ['consumer-bundler.ts'],
  },
}

/**
 * Known defects, reported as TODO (the test still runs and prints its diagnostics) until fixed; remove the entry
 * once the check passes.
 */
const knownTypeProblems: Record<string, string | undefined> = {}

// ---------------------------------------------------------------------------------------------------------

let tmp = ''
let consumer = ''
let tarball = ''
const version: string = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version

before(async () => {
  await ensureBuilt()
  tmp = mkdtempSync(path.join(os.tmpdir(), 'express-session-packaging-'))
  const packDir = path.join(tmp, 'pack')
  consumer = path.join(tmp, 'consumer')
  mkdirSync(packDir)
  mkdirSync(consumer)

  // dist/ is built above: --ignore-scripts keeps `prepare` from rebuilding it while other test files read it.
  const packed = await run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', packDir], root)
  assert.equal(packed.code, 0, describeRun('npm pack', packed))
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string }>
  tarball = path.join(packDir, info!.filename)
  assert.ok(existsSync(tarball), `no tarball at ${tarball}`)

  writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }, null, 2))
  const installed = await run(
    npm,
    ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', '--ignore-scripts'],
    consumer,
  )
  assert.equal(installed.code, 0, describeRun('npm install <tarball>', installed))
  // Linked after the install (npm would prune them as extraneous otherwise).
  for (const name of ['express', '@types/express', '@types/node', 'typescript']) link(consumer, name)

  writeFileSync(path.join(consumer, 'cjs-check.cjs'), cjsCheck)
  writeFileSync(path.join(consumer, 'esm-check.mjs'), esmCheck)
  writeFileSync(path.join(consumer, 'consumer-esm.mts'), consumerSources.esm!)
  writeFileSync(path.join(consumer, 'consumer-cjs.cts'), consumerSources.interop!)
  writeFileSync(path.join(consumer, 'consumer-interop.ts'), consumerSources.interop!)
  writeFileSync(path.join(consumer, 'consumer-legacy.ts'), consumerSources.legacy!)
  writeFileSync(path.join(consumer, 'consumer-bundler.ts'), consumerSources.esm!)
  for (const [file, config] of Object.entries(tsconfigs)) {
    writeFileSync(path.join(consumer, file), JSON.stringify(config, null, 2))
  }
})

after(() => {
  if (tmp && !process.env.KEEP_PACKAGING_TMP) rmSync(tmp, { recursive: true, force: true })
})

describe('the packed package', { concurrency: true }, () => {
  test('installs the tarball itself under the name express-session, with a 1.x version and no @types/express-session', () => {
    const installedDir = path.join(consumer, 'node_modules', 'express-session')
    assert.equal(lstatSync(installedDir).isSymbolicLink(), false, 'a real install, not a link to the repo')
    const pkg = JSON.parse(readFileSync(path.join(installedDir, 'package.json'), 'utf8'))
    assert.equal(pkg.name, 'express-session')
    assert.equal(pkg.version, version)
    assert.match(pkg.version, /^1\./)
    assert.equal(pkg.license, 'MIT')
    for (const file of ['dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/index.d.mts', 'src/index.ts']) {
      assert.ok(existsSync(path.join(installedDir, file)), `${file} is in the tarball`)
    }
    assert.equal(existsSync(path.join(consumer, 'node_modules', '@types', 'express-session')), false)
    assert.equal(existsSync(path.join(repoModules, '@types', 'express-session')), false)
  })

  test('require(): the middleware with Store/Cookie/Session/MemoryStore; inherits and class stores; an Express app', async () => {
    const result = await run(process.execPath, ['cjs-check.cjs'], consumer)
    assert.equal(result.code, 0, describeRun('cjs-check.cjs', result))
    assert.match(result.stdout, /cjs ok/)
  })

  test("1.x's module paths (express-session/session/store, ...) give the same classes, required and imported", async () => {
    const script = [
      "const session = require('express-session')",
      "const assert = require('node:assert/strict')",
      "const paths = { store: 'Store', cookie: 'Cookie', memory: 'MemoryStore', session: 'Session' }",
      'for (const [file, name] of Object.entries(paths)) {',
      "  assert.equal(require('express-session/session/' + file), session[name], file)",
      "  assert.equal(require('express-session/session/' + file + '.js'), session[name], file + '.js')",
      '}',
      "assert.throws(() => require('express-session/index.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' })",
      "import('express-session/session/store').then((m) => { assert.equal(m.default, session.Store); console.log('paths ok') })",
    ].join('\n')
    const result = await run(process.execPath, ['-e', script], consumer)
    assert.equal(result.code, 0, describeRun('module paths', result))
    assert.match(result.stdout, /paths ok/)
  })

  test('ESM import yields the very same objects as require(), and instanceof holds across them', async () => {
    const result = await run(process.execPath, ['esm-check.mjs'], consumer)
    assert.equal(result.code, 0, describeRun('esm-check.mjs', result))
    assert.match(result.stdout, /esm ok/)
  })

  for (const config of Object.keys(tsconfigs)) {
    test(`strict tsc --noEmit of code written for @types/express-session (${config})`, { todo: knownTypeProblems[config] }, async () => {
      const tsc = path.join(consumer, 'node_modules', 'typescript', 'bin', 'tsc')
      const result = await run(process.execPath, [tsc, '-p', config, '--listFiles'], consumer)
      const lines = result.stdout.split('\n').map((line) => line.trim())
      const diagnostics = lines.filter((line) => line !== '' && !path.isAbsolute(line)).join('\n')
      assert.equal(result.code, 0, `tsc -p ${config} exited with ${result.code}:\n${diagnostics}\n${result.stderr}`)
      const files = lines
      // The types came from the installed tarball, not from the repo and not from DefinitelyTyped.
      const ours = files.filter((file) => file.includes('/node_modules/express-session/'))
      assert.ok(ours.length > 0, 'the installed package supplied the types')
      const installed = realpathSync(path.join(consumer, 'node_modules', 'express-session')).split(path.sep).join('/')
      for (const file of ours) assert.ok(file.startsWith(`${installed}/`), `${file} is not from the installed tarball`)
      assert.equal(files.some((file) => file.includes('@types/express-session')), false)
    })
  }

  test('publint finds nothing to report in the tarball', async () => {
    const publint = path.join(repoModules, 'publint', 'src', 'cli.js')
    const result = await run(process.execPath, [publint, 'run', tarball, '--level', 'suggestion', '--strict'], root)
    assert.equal(result.code, 0, describeRun('publint', result))
    assert.match(result.stdout, /All good!/, describeRun('publint', result))
  })

  test('@arethetypeswrong/cli finds no problems in any resolution mode', async () => {
    const attw = path.join(repoModules, '@arethetypeswrong', 'cli', 'dist', 'index.js')
    const result = await run(process.execPath, [attw, tarball, '--format', 'json', '--no-definitely-typed'], root)
    const report = JSON.parse(result.stdout) as {
      problems?: unknown[]
      analysis: {
        problems: unknown[]
        entrypoints: Record<string, { resolutions: Record<string, { resolution?: { fileName: string; isTypeScript: boolean } }> }>
      }
    }
    assert.deepEqual(report.analysis.problems, [], describeRun('attw', result))
    assert.equal(result.code, 0, describeRun('attw', result))
    const entrypoints = report.analysis.entrypoints
    for (const entry of ['.', './conformance']) {
      assert.ok(entrypoints[entry], `attw checked ${entry}`)
      for (const mode of ['node10', 'node16-cjs', 'node16-esm', 'bundler']) {
        const resolution = entrypoints[entry]!.resolutions[mode]?.resolution
        assert.ok(resolution?.isTypeScript, `${entry} resolves to type declarations under ${mode}`)
      }
    }
  })
})
