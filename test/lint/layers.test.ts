/**
 * The layers of src/ and their one dependency direction (src/lib -> src/core -> src/middleware -> MemoryStore,
 * the conformance kit and the entry points), as the built package and the linter keep them:
 *   - every built module loads first, in a fresh process (an import cycle made `require('dist/core/store.js')`
 *     throw before the entry point had run);
 *   - the linter of `npm test` refuses an import cycle, and a core module importing the MemoryStore or a leaf
 *     importing the core: checked on a copy of src/ with such imports added.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, rmSync, appendFileSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, it, after } from 'node:test'
import { envWithoutCoverage } from '../support/node-process.js'

const root = path.join(__dirname, '..', '..')
const run = promisify(execFile)
const env = envWithoutCoverage()

function builtModules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return builtModules(full)
    return entry.name.endsWith('.js') ? [full] : []
  })
}

describe('layers of src/', { timeout: 180_000 }, () => {
  it('every built module can be the first one required', async () => {
    const modules = builtModules(path.join(root, 'dist'))
    assert.ok(modules.length > 10, `found ${modules.length} built modules`)
    // one process per module: each must load with nothing loaded before it
    for (const file of modules) {
      await assert.doesNotReject(run(process.execPath, ['-e', `require(${JSON.stringify(file)})`], { env }),
        `require('${path.relative(root, file)}') first`)
    }
  })

  describe('the linter', () => {
    mkdirSync(path.join(root, '.tmp'), { recursive: true })
    const copy = mkdtempSync(path.join(root, '.tmp', 'lint-'))
    after(() => rmSync(copy, { recursive: true, force: true }))

    /** ESLint over the copy: one `file:line:col: message [rule]` line per problem. */
    async function lint(): Promise<string> {
      const eslint = path.join(root, 'node_modules', 'eslint', 'bin', 'eslint.js')
      let stdout: string
      try {
        stdout = (await run(process.execPath, [eslint, '--format', 'json', 'src'], { cwd: copy, env, maxBuffer: 64 * 1024 * 1024 })).stdout
      } catch (err) {
        const { code, stdout: out, stderr } = err as { code?: number; stdout: string; stderr: string }
        // exit 1: problems found; anything else is ESLint failing to run
        assert.equal(code, 1, `eslint failed to run: ${stderr}`)
        stdout = out
      }
      const results = JSON.parse(stdout) as { filePath: string; messages: { line: number; column: number; message: string; ruleId: string | null }[] }[]
      return results.flatMap((file) => file.messages.map((m) =>
        `${path.relative(copy, file.filePath)}:${m.line}:${m.column}: ${m.message} [${m.ruleId ?? ''}]`)).join('\n')
    }

    it('passes src/ as it is, and refuses a cycle, a core module importing the MemoryStore and a leaf importing the core', async () => {
      for (const name of ['src', 'tsconfig.json', 'eslint.config.mjs']) cpSync(path.join(root, name), path.join(copy, name), { recursive: true })
      assert.equal(await lint(), '', 'src/ as it is passes')

      appendFileSync(path.join(copy, 'src/core/cookie.ts'), "\nimport { Session as CycleSession } from './session.js'\nexport const cycle = CycleSession\n")
      appendFileSync(path.join(copy, 'src/core/session.ts'), "\nimport { Cookie as CycleCookie } from './cookie.js'\nexport const cycleBack = CycleCookie\n")
      appendFileSync(path.join(copy, 'src/core/store.ts'), "\nimport { MemoryStore as Concrete } from '../memory-store.js'\nexport const concrete = Concrete\n")
      appendFileSync(path.join(copy, 'src/lib/ids.ts'), "\nimport { Cookie as Upward } from '../core/cookie.js'\nexport const upward = Upward\n")
      const report = await lint()
      assert.match(report, /src\/core\/cookie\.ts:\d+:\d+: Dependency cycle detected/)
      assert.match(report, /src\/core\/store\.ts:\d+:\d+: .*The core knows only the Store interface/)
      assert.match(report, /src\/lib\/ids\.ts:\d+:\d+: .*src\/lib holds the leaves/)
    })
  })
})
