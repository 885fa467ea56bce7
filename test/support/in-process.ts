/**
 * Helpers of the fault and security tests: an in-process driver that runs the middleware on real
 * `IncomingMessage` / `ServerResponse` objects (no sockets, so tens of thousands of cases run in
 * seconds), a keep-alive HTTP client, and watchers for unhandled rejections and leaked resources.
 */
import assert from 'node:assert/strict'
import { createHook } from 'node:async_hooks'
import http, { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'

export type Middleware = (req: any, res: any, next: (err?: unknown) => void) => void

/** What one in-process request produced. */
export interface InvokeResult {
  status: number
  /** Every `Set-Cookie` value of the response. */
  setCookies: string[]
  /** Errors passed to `next(err)`, including errors passed after the response ended. */
  errors: unknown[]
  /** How many times the middleware called `next` (with or without an error). */
  nextCalls: number
  /** How many times the response's own `end` (the one the session middleware wraps) ran. */
  endCalls: number
  /** `req.sessionID` and `req.session` as the handler saw them (undefined when next(err) ran instead). */
  sessionID: unknown
  session: Record<string, unknown> | undefined
}

/** Options of {@link invoke}. */
export interface InvokeOptions {
  headers?: Record<string, string | string[]>
  url?: string
  method?: string
  /** Runs where the application's route would, after the middleware called `next()`. Must end the response. */
  handler?: (req: any, res: ServerResponse) => void
  /** Macrotask turns to wait after the response ended, to catch errors passed late to `next(err)`. Default 1. */
  settleTurns?: number
}

const sharedSocket = new Socket()

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/**
 * Runs `middleware` on a real `IncomingMessage`/`ServerResponse` pair, then `handler` (default: end the
 * response). `next(err)` answers 500 with the message, as an application's error handler would.
 * Resolves once the response's own `end` ran (and `settleTurns` more turns passed).
 */
export function invoke(middleware: Middleware, options: InvokeOptions = {}): Promise<InvokeResult> {
  const req = new IncomingMessage(sharedSocket) as IncomingMessage & Record<string, any>
  req.method = options.method ?? 'GET'
  req.url = options.url ?? '/'
  req.headers = (options.headers ?? {}) as http.IncomingHttpHeaders
  const res = new ServerResponse(req)
  const result: InvokeResult = {
    status: 0,
    setCookies: [],
    errors: [],
    nextCalls: 0,
    endCalls: 0,
    sessionID: undefined,
    session: undefined,
  }
  return new Promise<InvokeResult>((resolve, reject) => {
    const ownEnd = res.end
    res.end = function end(this: ServerResponse, ...args: any[]) {
      result.endCalls++
      const value = (ownEnd as (...a: any[]) => ServerResponse).apply(this, args)
      if (result.endCalls === 1) {
        result.status = res.statusCode
        const header = res.getHeader('set-cookie')
        result.setCookies = header === undefined ? [] : Array.isArray(header) ? header.map(String) : [String(header)]
        void (async () => {
          for (let i = 0; i < (options.settleTurns ?? 1); i++) await nextTurn()
          resolve(result)
        })()
      }
      return value
    } as ServerResponse['end']
    try {
      middleware(req, res, (err?: unknown) => {
        result.nextCalls++
        if (err) {
          result.errors.push(err)
          if (!res.headersSent) {
            res.statusCode = 500
            res.end(err instanceof Error ? err.message : String(err))
          }
          return
        }
        result.sessionID = req.sessionID
        result.session = req.session ? { ...req.session } : undefined
        if (options.handler) options.handler(req, res)
        else res.end('ok')
      })
    } catch (err) {
      reject(err)
    }
  })
}

/** The value of the `Set-Cookie` for `name` among `setCookies`, URL-decoded; undefined if absent. */
export function cookieValue(setCookies: string[], name: string): string | undefined {
  const found = setCookies.filter((value) => value.startsWith(name + '='))
  assert.ok(found.length <= 1, `at most one Set-Cookie for ${name}: ${found.join(' | ')}`)
  if (found.length === 0) return undefined
  const raw = found[0]!.slice(name.length + 1).split(';')[0]!
  return decodeURIComponent(raw)
}

/** A response read by {@link HttpClient}. */
export interface HttpResult {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

/** A small keep-alive HTTP client for one server; `close()` destroys its sockets. */
export class HttpClient {
  readonly agent: http.Agent

  constructor(readonly port: number, maxSockets = 16) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets })
  }

  /**
   * GETs (or `method`s) `path`. Rejects with `code: 'ETIMEDOUT_TEST'` when no response arrives within
   * `timeout` ms (the request is then aborted).
   */
  request(path: string, options: { cookie?: string; method?: string; timeout?: number; headers?: Record<string, string> } = {}): Promise<HttpResult> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...(options.headers ?? {}) }
      if (options.cookie) headers.cookie = options.cookie
      const req = http.request(
        { host: '127.0.0.1', port: this.port, path, method: options.method ?? 'GET', agent: this.agent, headers },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('end', () => {
            clearTimeout(timer)
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') })
          })
          res.on('error', (err) => {
            clearTimeout(timer)
            reject(err)
          })
        },
      )
      const timer = setTimeout(() => {
        const err = Object.assign(new Error(`no response to ${path} within ${options.timeout} ms`), { code: 'ETIMEDOUT_TEST' })
        req.destroy(err)
      }, options.timeout ?? 5000)
      req.on('error', (err) => {
        clearTimeout(timer)
        reject(err)
      })
      req.end()
    })
  }

  close(): void {
    this.agent.destroy()
  }
}

/** `name=value` of the cookie `name` set by an HTTP response, ready for a `Cookie` header. */
export function cookieFrom(result: HttpResult, name = 'connect.sid'): string | undefined {
  const header = result.headers['set-cookie'] ?? []
  const found = header.find((value) => value.startsWith(name + '='))
  return found?.split(';')[0]
}

/** Collects unhandled rejections and uncaught exceptions of this process while installed. */
export class ProcessWatch {
  readonly unhandled: unknown[] = []
  readonly uncaught: unknown[] = []
  private readonly onRejection = (reason: unknown): void => {
    this.unhandled.push(reason)
  }
  private readonly onException = (err: unknown): void => {
    this.uncaught.push(err)
  }

  install(): this {
    process.on('unhandledRejection', this.onRejection)
    process.on('uncaughtException', this.onException)
    return this
  }

  uninstall(): void {
    process.off('unhandledRejection', this.onRejection)
    process.off('uncaughtException', this.onException)
  }

  assertClean(): void {
    assert.deepEqual(this.unhandled, [], 'no unhandled promise rejection')
    assert.deepEqual(this.uncaught, [], 'no uncaught exception')
  }
}

/** Counts of `process.getActiveResourcesInfo()` by type (what keeps the event loop alive). */
export function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1
  return counts
}

/**
 * Tracks every timer (`Timeout`, referenced or not) created while enabled whose creation stack passes
 * through `fileFragment`, and which of them are still pending (neither fired nor cleared).
 */
export class TimerTracker {
  private readonly pending = new Map<number, string>()
  created = 0
  private readonly hook

  constructor(fileFragment: string) {
    this.hook = createHook({
      init: (asyncId, type) => {
        if (type !== 'Timeout') return
        const holder: { stack?: string } = {}
        Error.captureStackTrace(holder)
        if (holder.stack?.includes(fileFragment)) {
          this.created++
          this.pending.set(asyncId, holder.stack)
        }
      },
      destroy: (asyncId) => {
        this.pending.delete(asyncId)
      },
    })
  }

  enable(): this {
    this.hook.enable()
    return this
  }

  disable(): void {
    this.hook.disable()
  }

  /** Timers created through the tracked file and still pending. */
  get live(): number {
    return this.pending.size
  }
}

/** A promise resolved after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Waits (polling every 10 ms, at most `timeout` ms) until `predicate()` holds; returns whether it did. */
export async function eventually(predicate: () => boolean, timeout = 2000): Promise<boolean> {
  const deadline = Date.now() + timeout
  while (!predicate()) {
    if (Date.now() > deadline) return false
    await sleep(10)
  }
  return true
}
