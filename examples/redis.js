/**
 * Sessions in Redis with connect-redis 10 and the `redis` v6 client: they survive restarts of the app and are
 * shared by every process pointed at the same Redis (see scale-out/).
 *
 * Start: REDIS_URL=redis://127.0.0.1:6379 node examples/redis.js   (then open http://localhost:3000; PORT to change)
 *
 * Needs: npm install express express-session connect-redis redis, and a running Redis.
 *
 * GET /         counts views (stored under the key `example:<session id>` with a TTL from the cookie's maxAge)
 * POST /logout  destroys the session (deletes the key)
 */
'use strict'

const express = require('express')
const session = require('express-session')
const { RedisStore } = require('connect-redis')
const { createClient } = require('redis')

async function main () {
  let started = false
  const client = createClient({
    url: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
    socket: {
      // Unreachable at start-up: give up at once (the error says why). Once running: retry with a growing delay.
      reconnectStrategy: (retries, cause) => (started ? Math.min(100 * 2 ** retries, 5000) : cause)
    }
  })
  // Without an 'error' listener a lost connection would crash the process; the client reconnects by itself.
  client.on('error', (err) => console.error('Redis client error:', err.message))
  await client.connect()
  started = true

  const app = express()
  app.use(session({
    store: new RedisStore({ client, prefix: 'example:' }),
    secret: process.env.SESSION_SECRET || 'redis example secret',
    resave: false, // RedisStore implements touch(): unchanged sessions only get their TTL renewed
    saveUninitialized: false,
    cookie: { maxAge: 24 * 60 * 60 * 1000 } // also the TTL of the Redis key
  }))

  app.get('/', (req, res) => {
    req.session.views = (req.session.views || 0) + 1
    res.type('text').send(`views: ${req.session.views}\n`)
  })

  app.post('/logout', (req, res, next) => {
    req.session.destroy((err) => {
      if (err) return next(err)
      res.type('text').send('logged out\n')
    })
  })

  const server = app.listen(Number(process.env.PORT || 3000), process.env.HOST, () => {
    console.log(`Redis example listening on http://${process.env.HOST || 'localhost'}:${server.address().port}`)
  })

  // Stop accepting requests, then close the Redis connection, so the process can exit cleanly.
  const shutdown = () => {
    server.close(() => client.close().finally(() => process.exit(0)))
    server.closeAllConnections()
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}

main().catch((err) => {
  console.error(`Could not start: ${err.message}`)
  process.exit(1)
})
