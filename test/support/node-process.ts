/**
 * Running node in a child process from a test, and making sure dist/ is built before a test reads it.
 */
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'

const root = path.join(__dirname, '..', '..')

/**
 * `process.env` without `NODE_V8_COVERAGE`: a child run under `npm test` then writes no V8 coverage (c8 would have
 * to read it all, and none of it is of src/).
 */
export function envWithoutCoverage(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  delete env.NODE_V8_COVERAGE
  return env
}

/** Runs `node <args>` in the repository's root, without coverage; resolves with its exit code and its output. */
export function runNode(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env: envWithoutCoverage(), stdio: ['ignore', 'pipe', 'pipe'] })
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

/** Builds dist/ (`scripts/build.js`) when its entry points are missing or older than src/; throws when the build fails. */
export async function ensureBuilt(): Promise<void> {
  const outputs = ['index.js', 'index.mjs', 'index.d.ts', 'index.d.mts'].map((file) => path.join(root, 'dist', file))
  const srcTime = newestMtime(path.join(root, 'src'))
  if (outputs.every((file) => existsSync(file) && statSync(file).mtimeMs >= srcTime)) return
  const built = await runNode([path.join(root, 'scripts', 'build.js')])
  if (built.code !== 0) throw new Error(`the build failed:\n${built.output}`)
}
