/**
 * Log in and log out with `req.session.regenerate()`: a new session ID whenever the user's privilege changes.
 *
 * Start: node examples/login-regenerate.js   (then open http://localhost:3000; PORT=4000 to change)
 *
 * Why regenerate: if an attacker can make a victim's browser use a session ID the attacker knows (session
 * fixation), and that same ID becomes "logged in" when the victim logs in, the attacker is logged in too.
 * Regenerating on log-in throws the old ID away; regenerating on log-out makes sure nothing of the logged-in
 * session outlives it.
 *
 * GET /         the login form, or a greeting when logged in (anonymous visits are counted too)
 * POST /login   form field `user` (any name; password `secret` accepted for every user)
 * POST /logout
 */
'use strict'

const express = require('express')
const session = require('express-session')

const app = express()

app.use(express.urlencoded({ extended: false }))
app.use(session({
  secret: process.env.SESSION_SECRET || 'login example secret',
  resave: false,
  saveUninitialized: false
}))

function escapeHtml (text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c])
}

app.get('/', (req, res) => {
  if (req.session.user) {
    res.send(`<p>Hello, ${escapeHtml(req.session.user)}!</p>
<form method="post" action="/logout"><button>Log out</button></form>\n`)
    return
  }
  // Anonymous visitors also get a session (and a cookie): the ID an attacker could have planted.
  req.session.anonymousVisits = (req.session.anonymousVisits || 0) + 1
  res.send(`<p>Not logged in (visit ${req.session.anonymousVisits}).</p>
<form method="post" action="/login">
  <label>User <input name="user"></label> <label>Password <input name="password" type="password"></label>
  <button>Log in</button>
</form>\n`)
})

app.post('/login', (req, res, next) => {
  const user = typeof req.body.user === 'string' ? req.body.user.trim() : ''
  if (!user || req.body.password !== 'secret') {
    res.status(401).send('<p>Wrong user or password. <a href="/">Try again</a></p>\n')
    return
  }
  // The old session (and its ID) is destroyed in the store; req.session is a fresh, empty one with a new ID.
  req.session.regenerate((err) => {
    if (err) return next(err)
    req.session.user = user
    // Save before redirecting: the redirected request must find the session in the store.
    req.session.save((err) => {
      if (err) return next(err)
      res.redirect('/')
    })
  })
})

app.post('/logout', (req, res, next) => {
  // Remove the user first and save, so a request racing with this one cannot still see it...
  req.session.user = null
  req.session.save((err) => {
    if (err) return next(err)
    // ...then issue a new ID, so the logged-in session ID is dead for good.
    req.session.regenerate((err) => {
      if (err) return next(err)
      res.redirect('/')
    })
  })
})

const server = app.listen(Number(process.env.PORT || 3000), process.env.HOST, () => {
  console.log(`Login example listening on http://${process.env.HOST || 'localhost'}:${server.address().port}`)
})
