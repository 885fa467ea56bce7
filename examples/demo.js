/**
 * The demo app: a view counter plus log in / log out, on the bundled MemoryStore.
 *
 * Start: npm start   (builds, then runs `node examples/demo.js`; open http://localhost:3000, PORT=4000 npm start to change)
 *
 * - Every page view increments `req.session.views`, so the first visit creates the session and sets the cookie.
 * - POST /login (form field `name`) regenerates the session before storing the user: a new session ID is issued
 *   at the moment of log-in, so a session ID planted before log-in (session fixation) is worth nothing after it.
 * - POST /logout destroys the session in the store and clears the cookie.
 *
 * Environment (all optional):
 *   PORT             port to listen on (default 3000; 0 picks a free one)
 *   HOST             address to listen on (default: every address, so both localhost and 127.0.0.1 work)
 *   SESSION_SECRET   secret that signs the session cookie (default: a fixed demo secret, never do this in production)
 *   COOKIE_MAX_AGE   cookie lifetime in milliseconds; without it the cookie is a browser-session cookie
 *   HTTPS_KEY, HTTPS_CERT   PEM files: serve HTTPS instead of HTTP
 *   SECURE_COOKIE=1  mark the cookie `Secure` (browsers then only send it, and only store it, over HTTPS)
 *
 * `createApp(options)` is exported so tests (and you) can build the app without listening.
 */
'use strict'

const fs = require('node:fs')
const http = require('node:http')
const https = require('node:https')
const express = require('express')
const session = require('express-session')

/**
 * @param {object} [options]
 * @param {number} [options.cookieMaxAge]  cookie lifetime in ms (undefined: a browser-session cookie)
 * @param {boolean} [options.secureCookie] set the `Secure` attribute
 * @param {string} [options.secret]        cookie signing secret
 * @param {import('express-session').Store} [options.store] defaults to a new MemoryStore
 */
function createApp (options = {}) {
  const app = express()
  const store = options.store || new session.MemoryStore()

  app.use(express.urlencoded({ extended: false }))
  app.use(session({
    name: 'demo.sid',
    secret: options.secret || 'demo secret: set SESSION_SECRET',
    store,
    resave: false, // MemoryStore implements touch(), so unchanged sessions need not be rewritten
    saveUninitialized: false, // no session (and no cookie) until something is stored in it
    cookie: {
      httpOnly: true, // the default, spelled out: page scripts cannot read the cookie
      sameSite: 'lax', // not sent on cross-site POSTs
      secure: Boolean(options.secureCookie),
      maxAge: options.cookieMaxAge // undefined: the cookie lasts until the browser closes
    }
  }))

  app.get('/', (req, res) => {
    req.session.views = (req.session.views || 0) + 1
    const user = req.session.user
    res.type('html').send(page(user ? `Hello, ${escapeHtml(user)}` : 'Session demo', `
      <section class="card">
        <p>You have viewed this page <strong id="views">${req.session.views}</strong> time${req.session.views === 1 ? '' : 's'}.</p>
        <p><small>The count lives in your session on the server; your browser only holds its signed ID.</small></p>
      </section>
      <section class="card">
      ${user
        ? `<p id="user">Logged in as <strong>${escapeHtml(user)}</strong>.</p>
           <form method="post" action="/logout"><button id="logout" type="submit">Log out</button></form>`
        : `<form method="post" action="/login">
             <label>Name <input id="name" name="name" required autocomplete="username"></label>
             <button id="login" type="submit">Log in</button>
           </form>`}
      </section>`))
  })

  app.post('/login', (req, res, next) => {
    const name = String(req.body.name || '').trim()
    if (!name) return res.status(400).type('html').send(page('Log in', '<section class="card"><p>A name is required. <a href="/">Back</a></p></section>'))
    const views = req.session.views || 0
    // A new session ID at the moment the privilege level changes: prevents session fixation.
    req.session.regenerate((err) => {
      if (err) return next(err)
      req.session.user = name
      req.session.views = views // carry over what is worth keeping, explicitly
      // Save before redirecting, so the next request finds the logged-in session even with a slow store.
      req.session.save((err) => {
        if (err) return next(err)
        res.redirect(303, '/')
      })
    })
  })

  app.post('/logout', (req, res, next) => {
    req.session.destroy((err) => {
      if (err) return next(err)
      res.clearCookie('demo.sid', { path: '/', httpOnly: true, sameSite: 'lax', secure: Boolean(options.secureCookie) })
      res.redirect(303, '/')
    })
  })

  return app
}

/** A little CSS, inline: readable type, some room, the content on a card. No build step, no framework. */
const style = `
  body { font: 17px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2933;
         background: #eef1f5; margin: 0; padding: 3rem 1rem; }
  main { max-width: 32rem; margin: 0 auto; }
  h1 { font-size: 1.6rem; margin: 0 0 1rem; }
  .card { background: #fff; border-radius: 10px; padding: 1.25rem 1.5rem; margin-bottom: 1rem;
          box-shadow: 0 1px 3px rgba(0, 0, 0, .12); }
  .card p { margin: 0 0 .75rem; }
  .card p:last-child { margin-bottom: 0; }
  label { display: block; margin-bottom: .75rem; }
  input { font: inherit; padding: .4rem .6rem; margin-left: .5rem; border: 1px solid #9aa5b1; border-radius: 6px; }
  button { font: inherit; padding: .4rem 1rem; border: 0; border-radius: 6px; background: #2563eb; color: #fff; cursor: pointer; }
  button:hover { background: #1d4ed8; }
  small { color: #616e7c; }
`

function page (title, body) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><style>${style}</style></head>
<body><main><h1>${title}</h1>${body}</main></body></html>
`
}

function escapeHtml (text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c])
}

module.exports = { createApp }

if (require.main === module) {
  const env = process.env
  const maxAge = env.COOKIE_MAX_AGE ? Number(env.COOKIE_MAX_AGE) : undefined
  if (maxAge !== undefined && !(Number.isFinite(maxAge) && maxAge > 0)) {
    console.error(`COOKIE_MAX_AGE must be a positive number of milliseconds, got ${JSON.stringify(env.COOKIE_MAX_AGE)}`)
    process.exit(1)
  }
  const app = createApp({ cookieMaxAge: maxAge, secureCookie: env.SECURE_COOKIE === '1', secret: env.SESSION_SECRET })
  const useHttps = Boolean(env.HTTPS_KEY && env.HTTPS_CERT)
  const server = useHttps
    ? https.createServer({ key: fs.readFileSync(env.HTTPS_KEY), cert: fs.readFileSync(env.HTTPS_CERT) }, app)
    : http.createServer(app)
  const port = env.PORT === undefined || env.PORT === '' ? 3000 : Number(env.PORT)
  server.listen(port, env.HOST || undefined, () => {
    const host = env.HOST && !['0.0.0.0', '::'].includes(env.HOST) ? env.HOST : 'localhost'
    console.log(`Session demo listening on ${useHttps ? 'https' : 'http'}://${host}:${server.address().port}`)
  })
  const stop = () => {
    server.close(() => process.exit(0))
    server.closeAllConnections()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
}
