/**
 * One app process of the parallel-update tests: Express 4, express-session on the bundled RedisStore, over
 * node-redis 6 (`createClient`, or `createCluster` when REDIS_CLUSTER_NODES is set).
 *
 *   REDIS_URL=redis://127.0.0.1:6379 SERVER_NAME=a node --import tsx test/support/redis-store-server.ts
 *   REDIS_CLUSTER_NODES=redis://127.0.0.1:7000,redis://127.0.0.1:7001 ... (a cluster)
 *
 * Prints `listening <port>` once it accepts requests; exits on SIGTERM.
 *   GET /create           a new session
 *   GET /set/:key?gate=   sets session[key] = true; with a gate, once GET /release/:gate is called
 *   GET /held/:gate       whether a request waits at that gate (its session loaded)
 *   GET /read             the session's keys
 *   GET /logout           req.session.destroy()
 */
import express from 'express'
import session from 'express-session'
import { RedisStore } from 'express-session/redis'
import { createClient, createCluster } from 'redis'
import { serveUntilSigterm } from './app-process.js'

const name = process.env.SERVER_NAME ?? String(process.pid)

async function main(): Promise<void> {
  const nodes = process.env.REDIS_CLUSTER_NODES
  const client = nodes
    ? createCluster({ rootNodes: nodes.split(',').map((url) => ({ url })) })
    : createClient({ url: process.env.REDIS_URL })
  client.on('error', (err) => console.error(`[${name}] redis:`, err))
  await client.connect()

  const app = express()
  app.use((_req, res, next) => {
    res.setHeader('X-Server', name)
    next()
  })
  // requests held at a gate (`/set/:key?gate=name`), with their session loaded, until `/release/:name`
  const gates = new Map<string, () => void>()
  app.get('/held/:gate', (req, res) => {
    res.json({ held: gates.has(req.params.gate) })
  })
  app.get('/release/:gate', (req, res) => {
    gates.get(req.params.gate)?.()
    res.json({ released: gates.delete(req.params.gate) })
  })
  app.use(session({
    store: new RedisStore({ client, prefix: process.env.PREFIX ?? 'par:' }),
    secret: 'the same secret on every process',
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: 10 * 60_000 },
  }))
  const data = (req: express.Request): Record<string, unknown> => req.session as unknown as Record<string, unknown>
  app.get('/create', (req, res) => {
    data(req).created = true
    res.json({ server: name, id: req.sessionID })
  })
  app.get('/set/:key', (req, res) => {
    const set = (): void => {
      data(req)[req.params.key] = true
      res.json({ server: name, key: req.params.key })
    }
    const gate = req.query.gate
    if (typeof gate === 'string') gates.set(gate, set)
    else set()
  })
  app.get('/read', (req, res) => {
    res.json({ server: name, id: req.sessionID, keys: Object.keys(req.session).filter((k) => k !== 'cookie') })
  })
  app.get('/logout', (req, res, next) => {
    req.session.destroy((err) => (err ? next(err) : res.json({ server: name, destroyed: true })))
  })

  serveUntilSigterm(app, 0, () => client.close())
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
