/**
 * What a handler does after `res.end()` while the session is being saved behaves as on a bare `node:http`
 * server, side by side: a header set after `end()` throws the same error, the client receives the same status,
 * headers and body, and the response always completes. Two deliberate differences from a bare server, both as
 * in express-session 1.x: a second `end()` returns `false`, and a `write()` after `end()` does not emit the
 * `'error'` event that ends a process without a listener (its callback gets the error).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import session from 'express-session'

type Step = [label: string, run: (res: http.ServerResponse) => unknown]

const end = (...args: unknown[]): Step => [`end(${args.map((a) => JSON.stringify(a)).join(', ')})`, (res) => (res.end as (...a: unknown[]) => unknown)(...args)]
const write = (chunk: string): Step => [`write(${JSON.stringify(chunk)})`, (res) => res.write(chunk)]
const setHeader = (name: string, value: string): Step => [`setHeader(${name})`, (res) => res.setHeader(name, value)]
const status = (code: number): Step => [`statusCode = ${code}`, (res) => { res.statusCode = code }]

interface Scenario {
  name: string
  method?: string
  steps: Step[]
}

const scenarios: Scenario[] = [
  { name: 'end(), setHeader(Content-Length), end(chunk)', steps: [end(), setHeader('Content-Length', '3'), end('foo')] },
  { name: 'end(chunk), end(chunk)', steps: [end('a'), end('foo')] },
  { name: 'end(chunk), write(chunk)', steps: [end('a'), write('foo')] },
  { name: 'end(chunk), setHeader', steps: [end('abc'), setHeader('X-Late', '1')] },
  { name: 'end(chunk, encoding), then writeHead', steps: [end('68656c6c6f', 'hex'), ['writeHead(201)', (res) => res.writeHead(201)]] },
  { name: 'write(chunk), end(chunk), write(chunk)', steps: [write('x'), end('a'), write('b')] },
  { name: 'status 204, end(), setHeader', steps: [status(204), end(), setHeader('X-Late', '1')] },
  { name: 'HEAD: end(chunk), setHeader', method: 'HEAD', steps: [end('abc'), setHeader('X-Late', '1')] },
  { name: 'Content-Length set, end(chunk), end()', steps: [setHeader('Content-Length', '2'), end('ab'), end()] },
]

interface Observed {
  /** Per step: what it returned ('res' for the response itself) or the code of what it threw. */
  outcomes: string[]
  /** Codes of 'error' events emitted on the response. */
  errorEvents: string[]
  status: number
  headers: Record<string, unknown>
  body: string
}

/** An async store: a MemoryStore whose `set` answers after 30 ms. */
class SlowStore extends session.MemoryStore {
  override set(sid: string, sess: session.SessionData, callback?: (err?: unknown) => void): void {
    setTimeout(() => super.set(sid, sess, callback), 30)
  }
}

type Kind = 'bare node:http' | 'session, MemoryStore' | 'session, async store'

async function observe(kind: Kind, scenario: Scenario): Promise<Observed> {
  const observed: Observed = { outcomes: [], errorEvents: [], status: 0, headers: {}, body: '' }
  const run = (res: http.ServerResponse): void => {
    res.on('error', (err: NodeJS.ErrnoException) => observed.errorEvents.push(String(err.code)))
    for (const [, step] of scenario.steps) {
      try {
        const result = step(res)
        observed.outcomes.push(result === res ? 'res' : String(result))
      } catch (err) {
        observed.outcomes.push('throws ' + String((err as NodeJS.ErrnoException).code))
      }
    }
  }
  const middleware = kind === 'bare node:http'
    ? undefined
    : session({
        secret: 'keyboard cat', resave: false, saveUninitialized: true,
        store: kind === 'session, async store' ? new SlowStore() : new session.MemoryStore(),
      })
  const server = http.createServer((req, res) => {
    if (!middleware) run(res)
    else middleware(req, res, (err?: unknown) => {
      assert.ifError(err)
      run(res)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const { port } = server.address() as AddressInfo
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${kind}: the response never finished`)), 3000)
      const req = http.request({ host: '127.0.0.1', port, method: scenario.method ?? 'GET', agent: false }, (res) => {
        observed.status = res.statusCode ?? 0
        const { date: _date, 'set-cookie': _cookie, ...headers } = res.headers
        observed.headers = headers
        res.setEncoding('latin1')
        res.on('data', (chunk: string) => { observed.body += chunk })
        res.on('end', () => {
          clearTimeout(timer)
          resolve()
        })
      })
      req.on('error', reject)
      req.end()
    })
    // node emits write-after-end errors on a later tick
    await new Promise((resolve) => setTimeout(resolve, 50))
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
  return observed
}

describe('after res.end(), while the session is saved: as on a bare node:http server', () => {
  for (const scenario of scenarios) {
    it(scenario.name, async () => {
      const bare = await observe('bare node:http', scenario)
      for (const kind of ['session, MemoryStore', 'session, async store'] as const) {
        const ours = await observe(kind, scenario)
        const expected = scenario.steps.map(([label], i) => {
          const outcome = bare.outcomes[i]!
          // 1.x: a second end() returns false (node: the response itself)
          return label.startsWith('end(') && scenario.steps.slice(0, i).some(([l]) => l.startsWith('end(')) ? 'false' : outcome
        })
        assert.deepEqual(ours.outcomes, expected, `${kind}: what each step returned or threw`)
        assert.equal(ours.status, bare.status, `${kind}: status`)
        assert.deepEqual(ours.headers, bare.headers, `${kind}: headers`)
        assert.equal(ours.body, bare.body, `${kind}: body`)
        assert.deepEqual(ours.errorEvents, [], `${kind}: no 'error' event on the response`)
      }
    })
  }

  it("a write() after end() passes node's error to its callback and writes nothing", async () => {
    const errors: string[] = []
    const scenario: Scenario = {
      name: 'write with callback',
      steps: [end('a'), ['write(b, cb)', (res) => res.write('b', (err) => errors.push(String((err as NodeJS.ErrnoException | undefined)?.code)))]],
    }
    const ours = await observe('session, async store', scenario)
    assert.deepEqual(ours.outcomes, ['res', 'false'])
    assert.equal(ours.body, 'a')
    assert.deepEqual(errors, ['ERR_STREAM_WRITE_AFTER_END'])
  })

  it('gives the response back its own methods once it is sent, none of them enumerable', async () => {
    const middleware = session({ secret: 'keyboard cat', resave: false, saveUninitialized: true, store: new SlowStore() })
    const names = ['write', 'setHeader', 'appendHeader', 'removeHeader'] as const
    const seen: string[] = []
    const server = http.createServer((req, res) => {
      const before = names.map((name) => res[name])
      middleware(req, res, (err?: unknown) => {
        assert.ifError(err)
        const sess = (req as unknown as { session: { count?: number } }).session
        sess.count = (sess.count ?? 0) + 1
        res.on('finish', () => {
          seen.push(names.filter((name, i) => res[name] !== before[i]).join(',') || 'same')
          seen.push(names.filter((name) => Object.keys(res).includes(name)).join(',') || 'none')
        })
        res.end('ok')
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as AddressInfo
      const get = (cookie?: string) => new Promise<string | undefined>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, agent: false, headers: cookie ? { cookie } : {} }, (res) => {
          res.resume()
          res.on('end', () => resolve(res.headers['set-cookie']?.[0]?.split(';')[0]))
        }).on('error', reject)
      })
      const cookie = await get()
      // a new session (saved whole, the response's write held) and a loaded one changed (a patch, its headers held too)
      await get(cookie)
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
    assert.deepEqual(seen, ['same', 'none', 'same', 'none'])
  })
})
