#!/usr/bin/env node
// Takes the README's screenshots of the demo (examples/demo.js) with a real headless Chromium:
//   docs/demo.png          the home page of a logged-in user
//   docs/demo-devices.png  the "your devices" page of that user, logged in from three browsers
//
// Run after `npm run build`:  node scripts/screenshot.js
// Needs Chromium at /usr/bin/chromium (or CHROMIUM=/path/to/chromium) and playwright-core (a devDependency).
// The demo runs in this process on a free port of 127.0.0.1 with COOKIE_MAX_AGE of one day, so the pages show
// an expiry date; nothing goes to the network. Pages are 800 px wide, one device pixel per CSS pixel.
'use strict'
const path = require('node:path')
const http = require('node:http')
const { chromium } = require('playwright-core')
const { createApp } = require('../examples/demo.js')

const docs = path.join(__dirname, '..', 'docs')
// Three "devices" of one user: each browser context has its own cookies, and its own User-Agent here.
const DEVICES = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0'
]

async function main () {
  const server = http.createServer(createApp({ cookieMaxAge: 24 * 60 * 60 * 1000 }))
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const base = `http://127.0.0.1:${server.address().port}`
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run']
  })
  try {
    const pages = []
    // The other devices first, so that the one we photograph is the most recent login.
    for (const userAgent of [...DEVICES].reverse()) {
      const context = await browser.newContext({ userAgent, viewport: { width: 800, height: 600 }, deviceScaleFactor: 1 })
      const page = await context.newPage()
      await page.goto(base + '/')
      await page.fill('#name', 'Ada')
      await Promise.all([page.waitForURL(base + '/'), page.click('#login')])
      pages.unshift(page)
    }
    const page = pages[0]
    await page.reload() // a second view: the counter and the store count read as a returning visit
    await page.screenshot({ path: path.join(docs, 'demo.png'), fullPage: true })
    await page.goto(base + '/devices')
    await page.screenshot({ path: path.join(docs, 'demo-devices.png'), fullPage: true })
    console.log(`wrote ${path.relative(process.cwd(), path.join(docs, 'demo.png'))} and ${path.relative(process.cwd(), path.join(docs, 'demo-devices.png'))}`)
  } finally {
    await browser.close()
    server.close()
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
