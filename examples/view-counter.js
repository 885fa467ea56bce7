/**
 * View counter: the smallest useful session. Each visit increments a number kept in the session.
 *
 * Start: node examples/view-counter.js   (then open http://localhost:3000; PORT=4000 to change)
 *
 * GET /        counts this visit and says how many there have been
 * GET /reset   forgets the count (the session stays, with views back to 0)
 */
'use strict'

const express = require('express')
const session = require('express-session')

const app = express()

app.use(session({
  secret: process.env.SESSION_SECRET || 'view-counter example secret',
  resave: false, // the MemoryStore supports touch(), no need to rewrite unchanged sessions
  saveUninitialized: false, // only visitors who got a count get a cookie
  cookie: { maxAge: 60 * 60 * 1000 } // one hour, renewed whenever the session is saved
}))

app.get('/', (req, res) => {
  req.session.views = (req.session.views || 0) + 1
  const expiresIn = Math.round(req.session.cookie.maxAge / 1000)
  res.type('text').send(
    req.session.views === 1
      ? `Welcome! This is your first visit. (views: 1, cookie expires in ${expiresIn}s)\n`
      : `views: ${req.session.views} (cookie expires in ${expiresIn}s)\n`
  )
})

app.get('/reset', (req, res) => {
  req.session.views = 0
  res.type('text').send('views: 0\n')
})

const server = app.listen(Number(process.env.PORT || 3000), process.env.HOST, () => {
  console.log(`View counter listening on http://${process.env.HOST || 'localhost'}:${server.address().port}`)
})
