/**
 * Capturing what `DEBUG=express-session` prints: in this process (the `debug` module's log redirected), or from a
 * script run in a child process with the variable set.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import * as path from 'node:path'
import { format } from 'node:util'
import debugModule from 'debug'

/** Runs `run` with the debug output of 'express-session' on and captured; answers the lines written. */
export async function captureDebug(run: (lines: string[]) => Promise<unknown>): Promise<string[]> {
  const lines: string[] = []
  const log = debugModule.log
  const namespaces = debugModule.disable()
  debugModule.enable('express-session')
  debugModule.log = (...args: unknown[]) => lines.push(format(...args))
  try {
    await run(lines)
  } finally {
    debugModule.log = log
    debugModule.disable()
    if (namespaces) debugModule.enable(namespaces)
  }
  return lines
}

/** Runs `script` (`node -e`) in the repository with DEBUG=express-session; answers its stdout and stderr. */
export function runScriptWithDebug(script: string): { stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['-e', script], {
    cwd: path.join(__dirname, '..', '..'),
    env: { ...process.env, DEBUG: 'express-session', DEBUG_COLORS: 'no', NODE_V8_COVERAGE: '' },
    encoding: 'utf8',
    timeout: 20_000,
  })
  assert.equal(result.status, 0, result.stderr)
  return { stdout: result.stdout, stderr: result.stderr }
}
