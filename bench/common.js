// Shared by bench/server.js and bench/micro.js: the session options and data of each scenario.
'use strict'

/** The scenarios (see bench/README.md). */
const SCENARIO_INFO = {
  B: 'new session per request (no cookie sent, saveUninitialized: true: every request creates and saves one)',
  C: 'existing session, read only',
  D: 'existing session, one field changed per request',
  E: 'like D with a ~10 KB session',
  F: 'like C with rolling: true',
}

/** ~10 KB of JSON-able data, the shape of a typical fat session (cart, preferences, history). */
function bigData() {
  const items = []
  for (let i = 0; i < 60; i++) {
    items.push({
      sku: `SKU-${100000 + i}`,
      name: `Product number ${i} with a reasonably long name`,
      qty: (i % 5) + 1,
      price: Math.round((i * 13.37 + 4.99) * 100) / 100,
      tags: ['a', 'b', 'c'].slice(0, (i % 3) + 1),
    })
  }
  return {
    cart: items,
    prefs: { theme: 'dark', lang: 'en-GB', tz: 'Europe/London', notifications: { email: true, sms: false } },
    history: Array.from({ length: 20 }, (_, i) => `/products/${1000 + i}?ref=home&page=${i}`),
  }
}

/** What GET /__setup puts in the session the load generator then sends the cookie of. */
function fillSession(scenario, sess) {
  sess.user = { id: 42, name: 'bench', roles: ['user'] }
  sess.count = 0
  if (scenario === 'E') sess.data = bigData()
}

/** Middleware options for a scenario (the same for upstream and ours). */
function sessionOptions(scenario, store) {
  return {
    secret: 'bench secret, keyboard cat',
    store,
    resave: false,
    saveUninitialized: true,
    rolling: scenario === 'F',
    cookie: { maxAge: 60 * 60 * 1000 },
  }
}

/** The session work of the measured route; returns the response body. */
function routeWork(scenario, session) {
  if (scenario === 'D' || scenario === 'E') {
    session.count = (session.count || 0) + 1
    return 'hello ' + session.user.name
  }
  const user = session.user
  return 'hello ' + (user ? user.name : 'bench')
}

function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const mid = v.length >> 1
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

/** `text` with the section `heading` (up to the next `## ` heading) replaced by `lines`, or them appended. */
function withSection(text, heading, lines) {
  const all = text.replace(/\s*$/, '\n').split('\n')
  const start = all.indexOf(heading)
  if (start === -1) return [...all.slice(0, -1), '', ...lines].join('\n')
  let end = all.findIndex((l, i) => i > start && l.startsWith('## '))
  if (end === -1) end = all.length
  return [...all.slice(0, start), ...lines, ...all.slice(end)].join('\n')
}

/**
 * `text` with every `## ` section of `old` that it lacks and that carries its own `- Date:` line appended, as it
 * stands in `old` (the sections other commands write; an undated one belonged to the old file's run).
 */
function withSectionsKept(text, old) {
  const all = old.replace(/\s*$/, '\n').split('\n')
  let kept = text
  all.forEach((line, start) => {
    if (!line.startsWith('## ') || kept.split('\n').includes(line)) return
    let end = all.findIndex((l, i) => i > start && l.startsWith('## '))
    if (end === -1) end = all.length
    const section = all.slice(start, end)
    if (section.some((l) => l.startsWith('- Date: '))) kept = withSection(kept, line, section)
  })
  return kept
}

module.exports = { SCENARIO_INFO, bigData, fillSession, sessionOptions, routeWork, median, withSection, withSectionsKept }
