/**
 * Express 5: the same middleware, with async route handlers and promise-wrapped session methods.
 *
 * Start: node examples/express5.js   (then open http://localhost:3000; PORT=4000 to change)
 *
 * Express 5 is installed in this repository under the alias `express5`; in your app it is `require('express')`
 * with `"express": "^5"` in package.json. Express 5 passes a rejected promise from a handler to the error
 * handler, so `await`ing the session methods needs no try/catch around each call.
 *
 * GET /             counts views: { views, user }
 * POST /login       JSON {"name": "..."}: regenerates the session, then stores the user
 * GET /me           { user } or 401
 * POST /logout      destroys the session
 * GET /files/*path  an Express 5 wildcard route, to show that the session is there on any route
 */
'use strict'

const { promisify } = require('node:util')
const express = require('express5') // in your app: require('express')
const session = require('express-session')

const app = express()
app.use(express.json())
app.use(session({
  secret: process.env.SESSION_SECRET || 'express 5 example secret',
  resave: false,
  saveUninitialized: false
}))

// `req.session.regenerate(cb)` etc. are callback APIs: promisify them per call, bound to the session.
const regenerate = (req) => promisify(req.session.regenerate.bind(req.session))()
const save = (req) => promisify(req.session.save.bind(req.session))()
const destroy = (req) => promisify(req.session.destroy.bind(req.session))()

app.get('/', (req, res) => {
  req.session.views = (req.session.views || 0) + 1
  res.json({ views: req.session.views, user: req.session.user ?? null })
})

app.post('/login', async (req, res) => {
  const name = req.body?.name
  if (typeof name !== 'string' || name.trim() === '') {
    res.status(400).json({ error: 'send a JSON body {"name": "..."}' })
    return
  }
  await regenerate(req) // a new session ID at log-in
  req.session.user = name.trim()
  await save(req) // stored before the response goes out
  res.json({ user: req.session.user })
})

app.get('/me', (req, res) => {
  if (!req.session.user) {
    res.status(401).json({ error: 'not logged in' })
    return
  }
  res.json({ user: req.session.user })
})

app.post('/logout', async (req, res) => {
  await destroy(req)
  res.clearCookie('connect.sid')
  res.json({ loggedOut: true })
})

app.get('/files/*path', (req, res) => {
  res.json({ path: req.params.path.join('/'), views: req.session.views ?? 0 })
})

// Errors from the awaited session calls (say, the store is down) and bad JSON bodies end up here.
app.use((err, req, res, next) => {
  console.error(err)
  res.status(err.status || 500).json({ error: err.expose ? err.message : 'internal error' })
})

const server = app.listen(Number(process.env.PORT || 3000), process.env.HOST, (err) => {
  if (err) throw err
  console.log(`Express 5 example listening on http://${process.env.HOST || 'localhost'}:${server.address().port}`)
})
