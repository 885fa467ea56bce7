// Compile-time type tests: `tsc -p test/types` must exit 0. The files in test/types/ assert exact types
// (`assertType<Equal<A, B>>()`) and mark what must not compile with `// @ts-expect-error`, which is itself an
// error when the line compiles. They import 'express-session' as users do, so they check dist/*.d.ts.
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { ensureBuilt, runNode } from '../support/node-process.js'

const root = path.join(__dirname, '..', '..')
const typesDir = __dirname

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
