// Installing: the three ways README's "Installation" section gives, each a real `npm install` into a throwaway
// application project in the OS temp dir, of the working tree as it is now (committed or not):
// - from a git URL: the working tree is copied, committed in the copy, cloned bare, and installed as
//   `git+file:///.../repo.git`; npm clones it, installs its dependencies and devDependencies and runs `prepare`,
//   which builds dist/ (it is not in git);
// - from a local path: the copy after its own `npm install` (as a clone would be), installed as `npm install <dir>`;
// - from a tarball: `npm pack` in that copy, then `npm install <file>`.
// Each installed package is then loaded with require() and with import, answers one request over HTTP with a
// session cookie, and its types resolve in a strict tsc run. `--prefer-offline` throughout: the npm cache of
// this repository's own install holds every package. Temp dirs are removed afterwards (KEEP_INSTALL_TMP=1 keeps
// them).
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { envWithoutCoverage } from './support/node-process.js'

const root = path.join(__dirname, '..')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
/** A git install runs a second `npm install` (of every devDependency) inside npm: allow for a slow, busy machine. */
const installTimeout = 8 * 60_000

const childEnv: NodeJS.ProcessEnv = {
  ...envWithoutCoverage(),
  NO_COLOR: '1',
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
}

interface RunResult {
  code: number | null
  output: string
}

/** Runs a command to completion; never throws on a non-zero exit (the caller asserts). */
function run(command: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })
}

async function mustRun(command: string, args: string[], cwd: string, timeoutMs?: number): Promise<string> {
  const result = await run(command, args, cwd, timeoutMs)
  assert.equal(result.code, 0, `${command} ${args.join(' ')} (in ${cwd}) exited with ${result.code}:\n${result.output}`)
  return result.output
}

/** Copies the working tree's files (tracked and untracked, without what .gitignore excludes: no node_modules, no dist). */
function copyWorkingTree(into: string): void {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
  for (const file of listed.split('\0').filter(Boolean)) {
    const from = path.join(root, file)
    if (!existsSync(from)) continue // deleted, not yet committed
    mkdirSync(path.dirname(path.join(into, file)), { recursive: true })
    copyFileSync(from, path.join(into, file))
  }
}

const git = (cwd: string, ...args: string[]): Promise<string> =>
  mustRun('git', ['-c', 'user.name=install test', '-c', 'user.email=install@test.invalid', '-c', 'commit.gpgsign=false', ...args], cwd)

// ---------------------------------------------------------------------------------------------------------
// What each installed package must do.

/** require(): the middleware, from the consumer's node_modules, setting a session cookie on a plain node:http server. */
const requireCheck = String.raw`'use strict'
const assert = require('node:assert/strict')
const http = require('node:http')
const session = require('express-session')

console.log('resolved ' + require.resolve('express-session'))
assert.equal(typeof session, 'function')
assert.equal(typeof session.MemoryStore, 'function')
const middleware = session({ secret: 'install test', resave: false, saveUninitialized: false })
const server = http.createServer((req, res) => {
  middleware(req, res, (err) => {
    if (err) throw err
    req.session.views = 1
    res.end('ok')
  })
})
server.listen(0, '127.0.0.1', async () => {
  try {
    const res = await fetch('http://127.0.0.1:' + server.address().port + '/')
    assert.equal(await res.text(), 'ok')
    assert.match(res.headers.get('set-cookie') ?? '', /^connect\.sid=s%3A[\w-]{32}\.[^;]+; Path=\/; HttpOnly$/)
    console.log('require ok')
  } finally {
    server.close()
  }
})
`

/** import: the same objects as require(). */
const importCheck = String.raw`import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import session, { Store, MemoryStore } from 'express-session'

const cjs = createRequire(import.meta.url)('express-session')
assert.equal(session, cjs)
assert.equal(Store, cjs.Store)
assert.ok(new MemoryStore() instanceof Store)
console.log('import ok')
`

/** Types: the package's own declarations, strictly checked; a wrong option must be an error. */
const typesCheck = `import session, { type SessionOptions } from 'express-session'

declare module 'express-session' {
  interface SessionData {
    views: number
  }
}

const options: SessionOptions = { secret: 'install test', resave: false, saveUninitialized: false }
export const middleware = session(options)
export function count(req: { session: session.Session & Partial<session.SessionData> }): number {
  return (req.session.views = (req.session.views ?? 0) + 1)
}
// @ts-expect-error secret must be a string or an array of them
session({ secret: 42 })
`

const tsconfig = {
  compilerOptions: {
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    module: 'node16',
    moduleResolution: 'node16',
    target: 'es2022',
    lib: ['es2022'],
    types: ['node'],
  },
  files: ['types-check.mts'],
}

/** Makes `dir` an application project that installs express-session with `spec`. */
async function installInto(dir: string, spec: string): Promise<string> {
  mkdirSync(dir, { recursive: true })
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }, null, 2))
  const output = await mustRun(npm, ['install', spec, '--prefer-offline', '--no-audit', '--no-fund'], dir, installTimeout)
  // The type check's compiler and Node types, linked after the install (npm would prune them otherwise).
  for (const name of ['typescript', '@types/node']) {
    const link = path.join(dir, 'node_modules', name)
    mkdirSync(path.dirname(link), { recursive: true })
    symlinkSync(path.join(root, 'node_modules', name), link, 'junction')
  }
  writeFileSync(path.join(dir, 'require-check.cjs'), requireCheck)
  writeFileSync(path.join(dir, 'import-check.mjs'), importCheck)
  writeFileSync(path.join(dir, 'types-check.mts'), typesCheck)
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2))
  return output
}

/** The checks every installed package must pass, as tests. */
function checksFor(app: () => string, installedFrom: () => string): void {
  test('require() loads the installed package, whose session middleware sets a cookie over HTTP', async () => {
    const output = await mustRun(process.execPath, ['require-check.cjs'], app())
    assert.match(output, /require ok/)
    const resolved = /^resolved (.+)$/m.exec(output)?.[1] ?? ''
    assert.equal(realpathSync(resolved), path.join(realpathSync(installedFrom()), 'dist', 'index.js'))
  })

  test('import gives the same objects', async () => {
    assert.match(await mustRun(process.execPath, ['import-check.mjs'], app()), /import ok/)
  })

  test('the types resolve from the installed package (strict tsc)', async () => {
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
    const output = await mustRun(process.execPath, [tsc, '-p', '.', '--listFiles'], app())
    const ours = output.split('\n').filter((file) => file.includes('/node_modules/express-session/') || file.startsWith(realpathSync(installedFrom())))
    assert.ok(ours.some((file) => file.endsWith('/dist/index.d.mts')), `the installed package's dist/index.d.mts was not used:\n${output}`)
  })
}

// ---------------------------------------------------------------------------------------------------------

let tmp = ''

before(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'express-session-install-'))
})

after(() => {
  if (tmp && !process.env.KEEP_INSTALL_TMP) rmSync(tmp, { recursive: true, force: true })
})

describe('npm install from a git URL (prepare builds dist/)', () => {
  const app = (): string => path.join(tmp, 'git-app')
  const installed = (): string => path.join(app(), 'node_modules', 'express-session')

  before(async () => {
    const work = path.join(tmp, 'git-work')
    copyWorkingTree(work)
    assert.equal(existsSync(path.join(work, 'dist')), false, 'dist/ is not in git')
    await git(work, 'init', '-q')
    await git(work, 'add', '-A')
    await git(work, 'commit', '-q', '-m', 'working tree')
    await git(tmp, 'clone', '-q', '--bare', work, 'repo.git')
    await installInto(app(), `git+${pathToFileURL(path.join(tmp, 'repo.git')).href}`)
  })

  test('the installed package is a copy with dist/ built, and no devDependency came with it', () => {
    assert.equal(lstatSync(installed()).isSymbolicLink(), false)
    for (const file of ['dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/index.d.mts']) {
      assert.ok(existsSync(path.join(installed(), file)), `${file} was built`)
    }
    const modules = readdirSync(path.join(app(), 'node_modules'))
    for (const devOnly of ['eslint', 'tsx', 'sqlite3', 'playwright-core']) assert.ok(!modules.includes(devOnly), `${devOnly} was installed into the app`)
  })

  checksFor(app, installed)
})

describe('npm install from a local path, and from a tarball made with npm pack', () => {
  const clone = (): string => path.join(tmp, 'clone')
  const pathApp = (): string => path.join(tmp, 'path-app')
  const tarballApp = (): string => path.join(tmp, 'tarball-app')
  let tarball = ''

  before(async () => {
    // A clone after `npm install`, which runs `prepare` and so builds dist/.
    copyWorkingTree(clone())
    await mustRun(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund'], clone(), installTimeout)
    assert.ok(existsSync(path.join(clone(), 'dist', 'index.js')), 'npm install in the clone built dist/')

    await installInto(pathApp(), clone())

    const packed = await mustRun(npm, ['pack', '--json', '--pack-destination', tmp], clone())
    const [info] = JSON.parse(packed.slice(packed.indexOf('['))) as Array<{ filename: string }>
    tarball = path.join(tmp, info!.filename)
    await installInto(tarballApp(), tarball)
  })

  describe('from a local path', () => {
    test('the app links to the directory', () => {
      assert.equal(realpathSync(path.join(pathApp(), 'node_modules', 'express-session')), realpathSync(clone()))
    })
    checksFor(pathApp, clone)
  })

  describe('from a tarball', () => {
    test('the tarball carries dist/', () => {
      assert.ok(existsSync(path.join(tarballApp(), 'node_modules', 'express-session', 'dist', 'index.js')))
    })
    checksFor(tarballApp, () => path.join(tarballApp(), 'node_modules', 'express-session'))
  })
})
