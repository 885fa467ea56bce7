/**
 * Requests of one session in parallel: a shopping cart filled by several XHRs at once, and a logout that a slow
 * request cannot undo.
 *
 * Start: node examples/parallel-requests.js   (then open http://localhost:3000; PORT=4000 to change)
 *
 * The bundled MemoryStore has `patch`, so each request saves only what it changed and nothing is lost. For a
 * store without `patch`, add `concurrency: 'serialize'` (within one process); `concurrency: 'overwrite'` brings
 * back 1.x's last-writer-wins, and then most of the items below go missing.
 *
 * GET  /             the cart, and a button that adds 10 items with 10 parallel requests
 * POST /add/:item    adds one item (each request waits a random 0-50 ms, as a real backend would)
 * POST /slow-visit   records a visit after 500 ms
 * POST /logout
 */
'use strict'

const express = require('express')
const session = require('express-session')

const app = express()

app.use(session({
  secret: process.env.SESSION_SECRET || 'parallel example secret',
  resave: false,
  saveUninitialized: false,
  concurrency: process.env.CONCURRENCY || undefined
}))

app.get('/', (req, res) => {
  // the first visit starts the session, so that the parallel requests below share it
  req.session.since = req.session.since || new Date().toISOString()
  const items = Object.keys(req.session).filter((key) => key.startsWith('item:')).map((key) => key.slice(5))
  res.send(`<!doctype html><title>Parallel requests</title>
<p>Cart (${items.length}): ${items.sort().join(', ') || 'empty'}</p>
<button onclick="Promise.all([...Array(10).keys()].map((i) => fetch('/add/item' + i, { method: 'POST' }))).then(() => location.reload())">
Add 10 items in parallel</button>
<form method="post" action="/logout"><button>Log out</button></form>\n`)
})

app.post('/add/:item', (req, res) => {
  setTimeout(() => {
    // one key per item: each request changes its own key, and its save sends only that key
    req.session[`item:${req.params.item}`] = true
    res.json({ added: req.params.item })
  }, Math.random() * 50)
})

app.post('/slow-visit', (req, res) => {
  setTimeout(() => {
    req.session.lastVisit = Date.now()
    res.json({ recorded: true })
  }, 500)
})

app.post('/logout', (req, res, next) => {
  req.session.destroy((err) => (err ? next(err) : res.redirect('/')))
})

const port = Number(process.env.PORT) || 3000
const server = app.listen(port, process.env.HOST, () => {
  console.log(`Parallel requests example listening on http://${process.env.HOST || 'localhost'}:${server.address().port}`)
})
