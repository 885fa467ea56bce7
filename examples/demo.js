/**
 * The demo app: what a session is, shown from the inside. A view counter, log in / log out, what the session
 * holds, its cookie, how many sessions the store keeps, and a "your devices" page, on the bundled MemoryStore.
 *
 * Start: npm start   (builds, then runs `node examples/demo.js`; open http://localhost:3000, PORT=4000 npm start to change)
 *
 * - Every view of / increments `req.session.views`, so the first visit creates the session and sets the cookie.
 * - POST /login (form field `name`) regenerates the session before storing the user: a new session ID is issued
 *   at the moment of log-in, so a session ID planted before log-in (session fixation) is worth nothing after it.
 * - POST /logout destroys the session in the store and clears the cookie.
 * - GET /devices lists the logged-in user's sessions (one per browser: "devices"); POST /devices/logout-others
 *   logs out every one of them but this one. Log in with the same name in two browsers to see it work.
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

const COOKIE_NAME = 'demo.sid'

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
    name: COOKIE_NAME, // the default, connect.sid, tells every visitor which library you use
    secret: options.secret || 'demo secret: set SESSION_SECRET',
    store,
    resave: false, // MemoryStore implements touch(), so unchanged sessions need not be rewritten
    saveUninitialized: false, // no session (and no cookie) until something is stored in it
    owner: (s) => s.user, // whose session it is: the store indexes sessions by it (listOwnSessions, /devices)
    track: true, // record each session's User-Agent, creation and last-seen time, for the devices page
    cookie: {
      httpOnly: true, // the default, spelled out: page scripts cannot read the cookie
      sameSite: 'lax', // not sent on cross-site POSTs: another site cannot submit our forms as you (CSRF)
      secure: Boolean(options.secureCookie),
      maxAge: options.cookieMaxAge // undefined: the cookie lasts until the browser closes
    }
  }))

  // Express 4 does not catch a rejected promise: hand async errors to next() ourselves.
  const route = (handler) => (req, res, next) => handler(req, res).catch(next)

  app.get('/', route(async (req, res) => {
    req.session.views = (req.session.views || 0) + 1
    const user = req.session.user
    // The session's data: your keys, plus the `__session*` keys the middleware keeps for `owner` and `track`.
    const { cookie, ...data } = req.session
    const yours = {}
    const bookkeeping = {}
    for (const [key, value] of Object.entries(data)) (key.startsWith('__session') ? bookkeeping : yours)[key] = value
    const count = await storeLength(store)
    res.type('html').send(page(user ? `Hello, ${escapeHtml(user)}` : 'Session demo', user, `
      <section class="card">
        <p>You have viewed this page <strong id="views">${req.session.views}</strong> time${req.session.views === 1 ? '' : 's'}.</p>
        <p><small>The count lives in your session on the server; your browser only holds its signed ID.</small></p>
      </section>
      <section class="card">
      ${user
        ? `<p id="user">Logged in as <strong>${escapeHtml(user)}</strong>. <a href="/devices">Your devices</a></p>
           <form method="post" action="/logout"><button id="logout" type="submit">Log out</button></form>`
        : `<form method="post" action="/login">
             <label>Name <input id="name" name="name" required autocomplete="username"></label>
             <button id="login" type="submit">Log in</button>
           </form>
           <p><small>Any name will do. Logging in gives you a new session ID (see the cookie below).</small></p>`}
      </section>
      <section class="card">
        <h2>What the session holds</h2>
        <pre id="data">${escapeHtml(JSON.stringify(yours, null, 2))}</pre>
        <p><small>Kept by the middleware for <code>owner</code> and <code>track</code> (reserved keys; times in ms since 1970):</small></p>
        <pre id="bookkeeping">${escapeHtml(JSON.stringify(bookkeeping, null, 2))}</pre>
      </section>
      <section class="card">
        <h2>Its cookie</h2>
        <table id="cookie">
          <tr><th>Name</th><td><code>${COOKIE_NAME}</code></td></tr>
          <tr><th>Session ID</th><td><code id="sid">${escapeHtml(req.sessionID.slice(0, 6))}…</code>
            <small>(the rest stays hidden: whoever has it is you)</small></td></tr>
          <tr><th>HttpOnly</th><td>${yesNo(cookie.httpOnly)} <small>page scripts cannot read it</small></td></tr>
          <tr><th>SameSite</th><td>${escapeHtml(cookie.sameSite || 'not set')}</td></tr>
          <tr><th>Secure</th><td>${yesNo(cookie.secure)} <small>${cookie.secure ? 'sent over HTTPS only' : 'sent over HTTP too'}</small></td></tr>
          <tr><th>Path</th><td><code>${escapeHtml(cookie.path)}</code></td></tr>
          <tr><th>Expires</th><td id="expires">${cookie.expires
            ? `${when(cookie.expires)} <small>(maxAge ${Math.round(cookie.originalMaxAge / 1000)} s, renewed whenever a response sends the cookie: every view of this page)</small>`
            : 'when the browser closes <small>(no maxAge: a browser-session cookie)</small>'}</td></tr>
        </table>
      </section>
      <section class="card">
        <p>The store holds <strong id="store-count">${count ?? '?'}</strong> session${count === 1 ? '' : 's'}.
          <small>A new one is saved when this response ends, so a first visit counts from the next page.</small></p>
      </section>`))
  }))

  app.post('/login', (req, res, next) => {
    const name = String(req.body.name || '').trim()
    if (!name) return res.status(400).type('html').send(page('Log in', undefined, '<section class="card"><p>A name is required. <a href="/">Back</a></p></section>'))
    const views = req.session.views || 0
    // A new session ID at the moment the privilege level changes: prevents session fixation. The old, anonymous
    // session is destroyed, so it never shows up among the user's devices.
    req.session.regenerate((err) => {
      if (err) return next(err)
      req.session.user = name // `owner` reads this when the session is saved: the store now knows it is name's
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
      res.clearCookie(COOKIE_NAME, { path: '/', httpOnly: true, sameSite: 'lax', secure: Boolean(options.secureCookie) })
      res.redirect(303, '/')
    })
  })

  // "Your devices": every session of the logged-in user, the one of this browser first.
  app.get('/devices', route(async (req, res) => {
    const user = req.session.user
    if (!user) return res.redirect(303, '/') // logged out (or logged out from another device): back home
    const sessions = await req.session.listOwnSessions()
    const loggedOut = Number.parseInt(req.query.loggedOut, 10) // set by the redirect after POST, below
    res.type('html').send(page('Your devices', user, `
      ${Number.isInteger(loggedOut) ? `<p class="card notice" id="logged-out">Logged out ${loggedOut} other session${loggedOut === 1 ? '' : 's'}.</p>` : ''}
      <section class="card">
        <p>Logged in as <strong>${escapeHtml(user)}</strong> in <strong id="device-count">${sessions.length}</strong>
          place${sessions.length === 1 ? '' : 's'}. Each browser you log in from has a session of its own.</p>
        <ul id="devices">${sessions.map((s) => `
          <li class="device${s.current ? ' current' : ''}">
            <strong>${escapeHtml(shortAgent(s.userAgent))}</strong>
            ${s.current ? '<span class="badge">this device</span>' : ''}
            <br><small class="ua">${escapeHtml(s.userAgent || 'no User-Agent recorded')}</small>
            <br><small>created ${when(s.createdAt)} · last seen ${when(s.lastSeen)} ·
              expires ${s.expires ? when(s.expires) : 'when the browser closes'}</small>
          </li>`).join('')}
        </ul>
        <form method="post" action="/devices/logout-others">
          <button id="logout-others" type="submit"${sessions.length > 1 ? '' : ' disabled'}>Log out all other devices</button>
        </form>
        <p><small>Lost a phone, or logged in on a shared computer? This destroys those sessions in the store:
          their next request finds nothing and they are logged out. Change your password too, in a real app.</small></p>
      </section>`))
  }))

  app.post('/devices/logout-others', route(async (req, res) => {
    if (!req.session.user) return res.redirect(303, '/')
    const count = await req.session.destroyOtherSessions() // every session of the same owner but this one
    // Post/Redirect/Get: a reload of the result page does not post again.
    res.redirect(303, `/devices?loggedOut=${count}`)
  }))

  return app
}

/** How many sessions the store holds (`store.length`, which not every store implements). */
function storeLength (store) {
  if (typeof store.length !== 'function') return Promise.resolve(undefined)
  return new Promise((resolve, reject) => store.length((err, n) => (err ? reject(err) : resolve(n))))
}

/** "Firefox on Windows" out of a User-Agent header; good enough to recognise your own devices. */
function shortAgent (ua) {
  if (!ua) return 'Unknown browser'
  const browser = [['Edge', /Edg\/(\d+)/], ['Firefox', /Firefox\/(\d+)/], ['Chrome', /Chrom(?:e|ium)\/(\d+)/],
    ['Safari', /Version\/(\d+).*Safari/], ['curl', /curl\/([\d.]+)/]].find(([, re]) => re.test(ua))
  const os = [['Android', /Android/], ['iPhone', /iPhone/], ['iPad', /iPad/], ['Windows', /Windows/],
    ['macOS', /Mac OS X/], ['Linux', /Linux/]].find(([, re]) => re.test(ua))
  if (!browser) return ua.length > 40 ? ua.slice(0, 40) + '…' : ua
  return `${browser[0]} ${browser[1].exec(ua)[1]}${os ? ` on ${os[0]}` : ''}${/Headless/.test(ua) ? ' (headless)' : ''}`
}

/** A date as "3 min ago" / "in 2 h", with the exact time on hover. */
function when (date) {
  if (!date) return 'unknown'
  date = new Date(date)
  const seconds = Math.round((date.getTime() - Date.now()) / 1000)
  const abs = Math.abs(seconds)
  const [amount, unit] = abs < 90 ? [abs, 's'] : abs < 90 * 60 ? [Math.round(abs / 60), 'min']
    : abs < 48 * 3600 ? [Math.round(abs / 3600), 'h'] : [Math.round(abs / 86400), 'd']
  const text = abs < 5 ? 'just now' : seconds < 0 ? `${amount} ${unit} ago` : `in ${amount} ${unit}`
  return `<time datetime="${date.toISOString()}" title="${date.toUTCString()}">${text}</time>`
}

const yesNo = (flag) => (flag ? 'yes' : 'no')

/** A little CSS, inline: readable type, some room, the content on cards. No build step, no framework. */
const style = `
  body { font: 17px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2933;
         background: #eef1f5; margin: 0; padding: 2rem 1rem; }
  main { max-width: 40rem; margin: 0 auto; }
  nav { margin-bottom: 1rem; } nav a { margin-right: 1rem; }
  h1 { font-size: 1.6rem; margin: 0 0 1rem; } h2 { font-size: 1.1rem; margin: 0 0 .75rem; }
  a { color: #1d4ed8; }
  .card { background: #fff; border-radius: 10px; padding: 1.25rem 1.5rem; margin: 0 0 1rem;
          box-shadow: 0 1px 3px rgba(0, 0, 0, .12); }
  .card p { margin: 0 0 .75rem; } .card p:last-child { margin-bottom: 0; }
  .notice { background: #ecfdf5; color: #065f46; }
  label { display: block; margin-bottom: .75rem; }
  input { font: inherit; padding: .4rem .6rem; margin-left: .5rem; border: 1px solid #9aa5b1; border-radius: 6px; }
  button { font: inherit; padding: .4rem 1rem; border: 0; border-radius: 6px; background: #2563eb; color: #fff; cursor: pointer; }
  button:hover { background: #1d4ed8; } button:disabled { background: #9aa5b1; cursor: default; }
  pre { background: #f5f7fa; border-radius: 6px; padding: .6rem .8rem; margin: 0 0 .75rem; font-size: .85rem; white-space: pre-wrap; word-break: break-all; }
  form { margin: 0 0 .75rem; }
  table { border-collapse: collapse; width: 100%; } th { text-align: left; width: 8rem; font-weight: 600; }
  th, td { padding: .3rem 0; border-bottom: 1px solid #e4e7eb; vertical-align: top; }
  ul { list-style: none; padding: 0; margin: 0 0 1rem; }
  .device { padding: .6rem .8rem; border: 1px solid #e4e7eb; border-radius: 8px; margin-bottom: .5rem; }
  .current { border-color: #2563eb; }
  .badge { background: #2563eb; color: #fff; border-radius: 99px; padding: 0 .5rem; font-size: .8rem; }
  .ua { word-break: break-all; } small { color: #616e7c; }
`

/** `title` must already be HTML (escaped); `user` adds the "Your devices" link to the top bar. */
function page (title, user, body) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><style>${style}</style></head>
<body><main><nav><a href="/">Home</a>${user ? '<a href="/devices">Your devices</a>' : ''}</nav>
<h1>${title}</h1>${body}</main></body></html>
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
