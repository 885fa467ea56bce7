// Compile-time type tests: `tsc -p test/types` must exit 0. The files in test/types/ assert exact types
// (`assertType<Equal<A, B>>()`) and mark what must not compile with `// @ts-expect-error`, which is itself an
// error when the line compiles. They import 'express-session' as users do, so they check dist/*.d.ts.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'

const root = path.join(__dirname, '..', '..')
const typesDir = __dirname

function run(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // No V8 coverage of tsc under `npm test` (c8 would have to read it all, and none of it is of src/).
    const env = { ...process.env }
    delete env.NODE_V8_COVERAGE
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, output }))
  })
}

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs)
  }
  return newest
}

test('the type tests in test/types compile (tsc -p test/types exits 0)', async () => {
  // The declarations under test are the built ones: rebuild when dist/ is missing or older than src/.
  const declarations = ['index.d.ts', 'index.d.mts'].map((file) => path.join(root, 'dist', file))
  const srcTime = newestMtime(path.join(root, 'src'))
  if (!declarations.every((file) => existsSync(file) && statSync(file).mtimeMs >= srcTime)) {
    const built = await run([path.join(root, 'scripts', 'build.js')])
    assert.equal(built.code, 0, `the build failed:\n${built.output}`)
  }

  const tsc = require.resolve('typescript/bin/tsc')
  const result = await run([tsc, '-p', typesDir, '--pretty', 'false', '--listFiles'])
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
