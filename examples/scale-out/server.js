/**
 * One of several app processes sharing their sessions through Redis: a session created by one process is
 * read, and updated, by any other (as behind a load balancer without sticky sessions).
 *
 * Start: PORT=3001 INSTANCE=a REDIS_URL=redis://127.0.0.1:6379 node examples/scale-out/server.js
 * Start two: REDIS_URL=redis://127.0.0.1:6379 node examples/scale-out/start.js   (on ports 3001 and 3002)
 *
 * What every process must share: the store (same Redis, same prefix) and the secret (SESSION_SECRET), or the
 * other processes cannot verify the cookie's signature and start a new session instead.
 *
 * GET /         { instance, pid, views, seenBy }: views counts across all processes, seenBy lists which served it
 * POST /logout  destroys the session everywhere
 */
'use strict'

const express = require('express')
const session = require('express-session')
const { RedisStore } = require('connect-redis')
const { createClient } = require('redis')

const instance = process.env.INSTANCE || `pid-${process.pid}`

async function main () {
  let started = false
  const client = createClient({
    url: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
    socket: {
      // Unreachable at start-up: give up at once (the error says why). Once running: retry with a growing delay.
      reconnectStrategy: (retries, cause) => (started ? Math.min(100 * 2 ** retries, 5000) : cause)
    }
  })
  client.on('error', (err) => console.error(`[${instance}] Redis client error: ${err.message}`))
  await client.connect()
  started = true

  const app = express()
  // Behind a load balancer that terminates TLS, also: app.set('trust proxy', 1) and cookie.secure: true.
  app.use(session({
    store: new RedisStore({ client, prefix: 'scale-out:' }),
    secret: process.env.SESSION_SECRET || 'scale-out example secret (set SESSION_SECRET, the same everywhere)',
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: 60 * 60 * 1000 }
  }))

  app.get('/', (req, res) => {
    req.session.views = (req.session.views || 0) + 1
    const seenBy = new Set(req.session.seenBy || [])
    seenBy.add(instance)
    req.session.seenBy = [...seenBy]
    res.json({ instance, pid: process.pid, views: req.session.views, seenBy: req.session.seenBy })
  })

  app.post('/logout', (req, res, next) => {
    req.session.destroy((err) => {
      if (err) return next(err)
      res.json({ instance, loggedOut: true })
    })
  })

  const server = app.listen(Number(process.env.PORT || 3001), process.env.HOST, () => {
    console.log(`[${instance}] listening on http://${process.env.HOST || 'localhost'}:${server.address().port}`)
  })

  const shutdown = () => {
    server.close(() => client.close().finally(() => process.exit(0)))
    server.closeAllConnections()
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}

main().catch((err) => {
  console.error(`[${instance}] could not start: ${err.message}`)
  process.exit(1)
})
