/**
 * One MemoryStore soak, run by test/memory-store/soak.test.ts in a process of its own (so that its heap is only its
 * own), with `--expose-gc`:
 *
 *   node --expose-gc --import tsx test/support/soak-worker.ts <sweep|max|control> <requests>
 *
 * A fixed amount of work: `<requests>` requests without a cookie, 8 at a time, each creating a session holding 4 KB.
 *   sweep    MemoryStore({ checkPeriod: 100 }), cookie maxAge 200 ms: once the load stops, the sweep empties it.
 *   max      MemoryStore({ max: 1000 }), cookie maxAge 10 min: the count, checked after every write, never exceeds max.
 *   control  MemoryStore({ checkPeriod: 0 }), cookie maxAge 200 ms: nothing removes anything.
 * Prints one line `RESULT {json}` with the counts and the heap (after a full GC) before, right after the load, and
 * once the store has settled (the sweep emptied it, or 1 s passed).
 */
import http from 'node:http'
import session from 'express-session'

const [mode = '', requestsArg = ''] = process.argv.slice(2)
const requests = Number(requestsArg)
if (!['sweep', 'max', 'control'].includes(mode) || !(requests > 0)) {
  throw new Error('usage: soak-worker.ts <sweep|max|control> <requests>')
}
const exposedGc = (globalThis as { gc?: () => void }).gc
if (exposedGc === undefined) throw new Error('run with --expose-gc')
const gc: () => void = exposedGc

const MAX = 1000
const SHORT_MAX_AGE = 200
const CHECK_PERIOD = 100
/** How long the store may take to settle after the load: generous, since timers run late on a loaded machine. */
const SETTLE_DEADLINE = 60_000

const store = new session.MemoryStore(
  mode === 'sweep' ? { checkPeriod: CHECK_PERIOD } : mode === 'max' ? { max: MAX, checkPeriod: 0 } : { checkPeriod: 0 },
)
const count = (): number => Object.keys(store.sessions).length

let writes = 0
let maxCount = 0
const set = store.set.bind(store)
store.set = (sid, sess, callback) => {
  set(sid, sess, callback)
  writes++
  maxCount = Math.max(maxCount, count())
}

const middleware = session({
  secret: 'soak secret',
  store,
  resave: false,
  saveUninitialized: false,
  cookie: { maxAge: mode === 'max' ? 600_000 : SHORT_MAX_AGE },
})
const payload = 'x'.repeat(4096)
let middlewareErrors = 0
const server = http.createServer((req, res) => {
  middleware(req as never, res as never, (err?: unknown) => {
    if (err) {
      middlewareErrors++
      res.statusCode = 500
      res.end()
      return
    }
    ;(req as unknown as { session: Record<string, unknown> }).session.payload = payload
    res.end('ok')
  })
})

function heapAfterGc(): number {
  gc()
  return process.memoryUsage().heapUsed
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function main(): Promise<void> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 })
  const statuses = new Map<number | string, number>()
  const one = (): Promise<void> => new Promise((resolve) => {
    const req = http.get({ port, host: '127.0.0.1', path: '/', agent }, (res) => {
      res.resume()
      res.on('end', () => {
        statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1)
        resolve()
      })
    })
    req.on('error', (err) => {
      statuses.set(err.message, (statuses.get(err.message) ?? 0) + 1)
      resolve()
    })
  })

  const heapBefore = heapAfterGc()
  let sent = 0
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (sent < requests) {
      sent++
      await one()
    }
  }))
  agent.destroy()
  const countAfterLoad = count()
  const heapAfterLoad = heapAfterGc()

  const settleStart = Date.now()
  if (mode === 'sweep') {
    while (count() > 0 && Date.now() - settleStart < SETTLE_DEADLINE) await sleep(50)
  } else {
    await sleep(1000)
  }
  const countSettled = count()
  const heapSettled = heapAfterGc()
  store.close()
  server.close()
  console.log('RESULT ' + JSON.stringify({
    mode, requests, writes, maxCount, max: MAX, countAfterLoad, countSettled, middlewareErrors,
    statuses: Object.fromEntries(statuses), heapBefore, heapAfterLoad, heapSettled,
  }))
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
