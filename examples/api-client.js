/**
 * A JSON API for clients without cookies (a mobile app, a CLI): the session ID travels in an `x-session-id`
 * header, and there is no cookie at all (`cookie: false`). Also the client: it keeps the header of the last
 * response that sent one and sends it on every request, as a cookie jar would.
 *
 * Start: node examples/api-client.js   (the API on http://localhost:3000; PORT=4000 to change)
 * Start client: node examples/api-client.js client http://localhost:3000
 *
 * POST /login    { "name": "ada" }: a new session ID (regenerate), sent in x-session-id
 * GET  /me       who is logged in, 401 if nobody
 * POST /logout   ends the session; the client forgets its ID
 */
'use strict'

const express = require('express')
const session = require('express-session')

const HEADER = 'x-session-id'

function server() {
  const app = express()
  app.use(express.json())
  app.use(session({
    secret: process.env.SESSION_SECRET || 'api example secret',
    resave: false,
    saveUninitialized: false,
    header: HEADER,
    cookie: false
  }))

  app.post('/login', (req, res, next) => {
    const name = typeof req.body?.name === 'string' ? req.body.name.trim() : ''
    if (!name) return res.status(400).json({ error: 'a name is required' })
    // a new session ID at log-in: the response's x-session-id header carries it
    req.session.regenerate((err) => {
      if (err) return next(err)
      req.session.user = name
      res.json({ user: name })
    })
  })

  app.get('/me', (req, res) => {
    if (!req.session.user) return res.status(401).json({ error: 'not logged in' })
    res.json({ user: req.session.user })
  })

  app.post('/logout', (req, res, next) => {
    req.session.destroy((err) => (err ? next(err) : res.json({ loggedOut: true })))
  })

  const port = Number(process.env.PORT) || 3000
  const listener = app.listen(port, process.env.HOST, () => {
    console.log(`API example listening on http://${process.env.HOST || 'localhost'}:${listener.address().port}`)
  })
}

/** A client that stores the session ID header it is given and sends it back, as a cookie jar would. */
async function client(baseUrl) {
  let sessionId
  async function call(method, path, body) {
    const headers = { 'content-type': 'application/json' }
    if (sessionId) headers[HEADER] = sessionId
    const res = await fetch(baseUrl + path, { method, headers, body: body && JSON.stringify(body) })
    // a new or regenerated session: keep its ID (store it as carefully as a password)
    if (res.headers.has(HEADER)) sessionId = res.headers.get(HEADER)
    const answer = await res.json()
    console.log(`${method} ${path} -> ${res.status} ${JSON.stringify(answer)}`)
    return answer
  }

  await call('GET', '/me')
  await call('POST', '/login', { name: 'ada' })
  await call('GET', '/me')
  await call('POST', '/logout')
  sessionId = undefined
  await call('GET', '/me')
}

if (process.argv[2] === 'client') {
  client(process.argv[3] || 'http://localhost:3000').catch((err) => {
    console.error(err)
    process.exit(1)
  })
} else {
  server()
}
