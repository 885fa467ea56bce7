// Compile-time type tests: `tsc -p test/types` must exit 0. The files in test/types/ assert exact types
// (`assertType<Equal<A, B>>()`) and mark what must not compile with `// @ts-expect-error`, which is itself an
// error when the line compiles. They import 'express-session' as users do, so they check dist/*.d.ts.
// The same files are compiled again with Express 4's types, and small programs in throwaway projects check the
// declarations without Express's types and beside a leftover @types/express-session (packages npm cannot provide
// offline make those tests skip, except on CI).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import { promisify } from 'node:util'
import { ensureBuilt, runNode } from '../support/node-process.js'

const root = path.join(__dirname, '..', '..')
const typesDir = __dirname
const tsc = require.resolve('typescript/bin/tsc')
/** The @types/express-session release whose programs must compile against this package's declarations. */
const AT_TYPES_VERSION = '1.19.0'

/**
 * A throwaway project outside the repository (so that nothing resolves through the repository's node_modules):
 * `node_modules/express-session` is this package's package.json and dist/, `packages` are linked from the
 * repository's node_modules, `files` are written. Compile it with `preserveSymlinks`, so that modules resolve from
 * the project. Returns its directory.
 */
function tempProject(packages: string[], files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'express-session-types-'))
  mkdirSync(path.join(dir, 'node_modules', '@types'), { recursive: true })
  // the package as npm installs it: package.json and dist/, without the repository's own node_modules
  const installed = path.join(dir, 'node_modules', 'express-session')
  mkdirSync(installed)
  cpSync(path.join(root, 'package.json'), path.join(installed, 'package.json'))
  symlinkSync(path.join(root, 'dist'), path.join(installed, 'dist'), 'dir')
  for (const name of packages) {
    symlinkSync(realpathSync(path.join(root, 'node_modules', name)), path.join(dir, 'node_modules', name), 'dir')
  }
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text)
  return dir
}

/** `tsc -p dir`: exit code and diagnostics. */
async function compile(dir: string): Promise<{ code: number | null; output: string }> {
  return runNode([tsc, '-p', dir, '--pretty', 'false'])
}

/** A tsconfig.json compiling `files` (names or globs, as `include`). */
function tsconfig(options: Record<string, unknown>, include: string[]): string {
  const compilerOptions = { target: 'es2022', module: 'node16', moduleResolution: 'node16', strict: true, noEmit: true, ...options }
  return JSON.stringify({ compilerOptions, include })
}

/** Express's types (@types/express 5 and what it depends on) and Node's, as the repository has them installed. */
const EXPRESS_TYPES = readdirSync(path.join(root, 'node_modules', '@types'))
  .filter((name) => name !== 'express-session')
  .map((name) => `@types/${name}`)
  .concat('undici-types')

test('the type tests in test/types compile (tsc -p test/types exits 0)', async () => {
  // The declarations under test are the built ones.
  await ensureBuilt()

  const tsc = require.resolve('typescript/bin/tsc')
  const result = await runNode([tsc, '-p', typesDir, '--pretty', 'false', '--listFiles'])
  const lines = result.output.split('\n').map((line) => line.trim()).filter(Boolean)
  const diagnostics = lines.filter((line) => !path.isAbsolute(line))
  assert.equal(result.code, 0, `tsc -p test/types failed:\n${diagnostics.join('\n')}`)

  // Every type-test file was part of the program, and 'express-session' resolved to this package's declarations.
  const compiled = new Set(lines.map((line) => path.resolve(line)))
  for (const file of readdirSync(typesDir).filter((name) => /\.m?ts$/.test(name) && !name.endsWith('.test.ts'))) {
    assert.ok(compiled.has(path.join(typesDir, file)), `${file} was not compiled`)
  }
  for (const file of ['index.d.ts', 'index.d.mts']) {
    assert.ok(compiled.has(path.join(root, 'dist', file)), `dist/${file} was not used`)
  }
})

test('without Express\'s types, the declarations compile and cookie(req)/genid(req) get Node\'s request', async () => {
  await ensureBuilt()
  const app = [
    "import { createServer } from 'node:http'",
    "import session = require('express-session')",
    "declare module 'express-session' {",
    '  interface SessionData { views: number }',
    '}',
    'const middleware = session({',
    "  secret: 'x',",
    "  cookie: (req) => ({ secure: req.headers['x-forwarded-proto'] === 'https' }),",
    "  genid: (req) => `${req.url ?? ''}-${Date.now()}`,",
    '})',
    'createServer((req, res) => {',
    '  middleware(req, res, () => {',
    '    const request = req as typeof req & Express.Request',
    '    request.session.views = (request.session.views ?? 0) + 1',
    '    res.end(request.sessionID)',
    '  })',
    '})',
    "// @ts-expect-error Express's members are not there without Express's types (the request is not `any`)",
    'session({ cookie: (req) => ({ secure: req.secure }) })',
    '',
  ].join('\n')
  const dir = tempProject(['@types/node', 'undici-types'], {
    'app.ts': app,
    'tsconfig.json': tsconfig({ types: ['node'], skipLibCheck: false, preserveSymlinks: true }, ['app.ts']),
  })
  try {
    const result = await compile(dir)
    assert.equal(result.code, 0, `tsc failed without Express's types:\n${result.output}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

/**
 * A package from npm's cache (fetched once if missing), unpacked into a new directory under `into`; `undefined`
 * when npm cannot get it (offline, no cache): the test then says so and skips, except on CI.
 */
async function npmPackage(spec: string, into: string): Promise<string | undefined> {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const run = promisify(execFile)
  try {
    const { stdout } = await run(npm, ['pack', spec, '--prefer-offline', '--silent', '--pack-destination', into], { timeout: 60_000 })
    const unpacked = mkdtempSync(path.join(into, 'unpacked-'))
    await run('tar', ['xzf', path.join(into, stdout.trim().split('\n').pop() ?? ''), '-C', unpacked])
    // the tarball's one top-level directory ('package', or the @types package's own name)
    const [top] = readdirSync(unpacked)
    return top === undefined ? undefined : path.join(unpacked, top)
  } catch {
    return undefined
  }
}

/** Skips `t` (or fails it on CI) when a package could not be had from npm. */
function skipUnavailable(t: TestContext, spec: string): void {
  if (process.env.CI === 'true') assert.fail(`npm could not provide ${spec}`)
  t.skip(`npm could not provide ${spec} (offline, not cached)`)
}

test('the type tests in test/types also compile with Express 4\'s types', async (t) => {
  await ensureBuilt()
  const files = Object.fromEntries(
    readdirSync(typesDir)
      .filter((name) => /\.m?ts$/.test(name) && !name.endsWith('.test.ts'))
      .map((name) => [name, readFileSync(path.join(typesDir, name), 'utf8')]),
  )
  const dir = tempProject(EXPRESS_TYPES.filter((name) => name !== '@types/express' && name !== '@types/express-serve-static-core'), files)
  try {
    for (const name of ['express', 'express-serve-static-core']) {
      const spec = `@types/${name}@4`
      const unpacked = await npmPackage(spec, dir)
      if (unpacked === undefined) return skipUnavailable(t, spec)
      cpSync(unpacked, path.join(dir, 'node_modules', '@types', name), { recursive: true })
    }
    const options = { lib: ['es2022'], types: ['node'], skipLibCheck: false, preserveSymlinks: true }
    // the same program as test/types/tsconfig.json's
    writeFileSync(path.join(dir, 'tsconfig.json'), tsconfig(options, ['./*.ts', './*.mts']))
    const result = await compile(dir)
    assert.equal(result.code, 0, `the type tests failed with Express 4's types:\n${result.output}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a leftover @types/express-session clashes without skipLibCheck (the docs say to uninstall it) and is overridden with it', async (t) => {
  await ensureBuilt()
  const app = [
    "import express = require('express')",
    "import session = require('express-session')",
    "declare module 'express-session' {",
    '  interface SessionData { views: number }',
    '}',
    'const app = express()',
    "app.use(session({ secret: 'x', cookie: (req) => ({ secure: req.secure }) }))",
    "app.get('/', (req, res) => {",
    '  req.session.views = (req.session.views ?? 0) + 1',
    '  const left: number | undefined = req.session.cookie.maxAge',
    '  res.json({ views: req.session.views, left })',
    '})',
    // with our types in force: an option @types does not have
    "app.use(session({ secret: 'x', storeTimeout: 1000 }))",
    '',
  ].join('\n')
  const dir = tempProject(EXPRESS_TYPES, { 'app.ts': app })
  try {
    const spec = `@types/express-session@${AT_TYPES_VERSION}`
    const atTypes = await npmPackage(spec, dir)
    if (atTypes === undefined) return skipUnavailable(t, spec)
    // installed the way npm installs it; `types` left unset, so it is included as every @types package is
    cpSync(atTypes, path.join(dir, 'node_modules', '@types', 'express-session'), { recursive: true })

    writeFileSync(path.join(dir, 'tsconfig.json'), tsconfig({ skipLibCheck: false, preserveSymlinks: true }, ['app.ts']))
    const strict = await compile(dir)
    assert.notEqual(strict.code, 0, 'a leftover @types/express-session compiled without skipLibCheck')
    // the error docs/api.md shows
    assert.match(strict.output, /node_modules\/@types\/express-session\/index\.d\.ts\(\d+,\d+\): error TS2717: Subsequent property declarations must have the same type\.\s+Property 'session' must be of type/)
    assert.doesNotMatch(strict.output, /^app\.ts/m, 'the application itself has no errors')

    writeFileSync(path.join(dir, 'tsconfig.json'), tsconfig({ skipLibCheck: true, preserveSymlinks: true }, ['app.ts']))
    const skipping = await compile(dir)
    assert.equal(skipping.code, 0, `with skipLibCheck, this package's types should be in force:\n${skipping.output}`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
