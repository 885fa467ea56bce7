/**
 * An app script run as its own Node process (for tests across processes): started with tsx, ready once it
 * prints `listening <port>`, stopped with SIGTERM (SIGKILL after 5 s), and never outliving the test process.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import type { Server } from 'node:http'
import * as path from 'node:path'
import type { Express } from 'express'

export interface AppProcess {
  name: string
  port: number
  child: ChildProcess
}

/** Starts `script` with `env` (plus `SERVER_NAME=name`) and waits for its `listening <port>` line. */
export function startAppProcess(script: string, name: string, env: Record<string, string>, startTimeoutMs = 30_000): Promise<AppProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: path.join(__dirname, '..', '..'),
      env: { ...process.env, ...env, SERVER_NAME: name },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    // never outlive the test process, whatever happens to it
    const killOnExit = (): void => {
      child.kill('SIGKILL')
    }
    process.once('exit', killOnExit)
    child.once('exit', () => process.removeListener('exit', killOnExit))
    let out = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`app ${name} did not start within ${startTimeoutMs / 1000} s; output: ${out}`))
    }, startTimeoutMs)
    const onEarlyExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer)
      reject(new Error(`app ${name} exited during start-up (${signal ?? code}); output: ${out}`))
    }
    child.once('exit', onEarlyExit)
    child.stdout!.setEncoding('utf8')
    child.stdout!.on('data', (chunk: string) => {
      out += chunk
      const match = /listening (\d+)/.exec(out)
      if (match) {
        clearTimeout(timer)
        child.removeListener('exit', onEarlyExit)
        resolve({ name, port: Number(match[1]), child })
      }
    })
  })
}

/** Stops the app process: SIGTERM, then SIGKILL after 5 s. */
export async function stopAppProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/**
 * The app script's side: listens on 127.0.0.1 (`port`, 0 for a free one), prints `listening <port>`, and on SIGTERM
 * closes its connections, runs `close` (the store's client) and exits.
 */
export function serveUntilSigterm(app: Express, port: number, close: () => Promise<unknown>): Server {
  const server = app.listen(port, '127.0.0.1', () => {
    const address = server.address()
    process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : ''}\n`)
  })
  process.once('SIGTERM', () => {
    server.closeAllConnections()
    server.close(() => {
      close().finally(() => process.exit(0))
    })
  })
  return server
}
