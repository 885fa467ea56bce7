/**
 * A real browser against the demo app (examples/demo.js): Debian's Chromium driven by playwright-core.
 *
 * What a user would notice: the session cookie is HttpOnly (page scripts cannot see it), the view counter survives
 * reloads, and a browser restart only when the cookie has a maxAge; log-in issues a new cookie value and log-out
 * kills the session; a `secure` cookie is stored over HTTPS and not over HTTP; a SameSite=Lax cookie stays home
 * on a cross-site POST.
 *
 * Without /usr/bin/chromium the file is skipped with one line; under CI=true that is a failure.
 * The closing test prints, as test diagnostics, what the browser saw in each case.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Express } from 'express';
import session from 'express-session';
import type { Browser, BrowserContext, Cookie, Page } from 'playwright-core';
import { isCI, skipUnless } from './support/servers.js';
import { launchChromium, launchPersistentChromium, missingOpenssl, selfSignedCertificate, type Certificate } from './support/browser.js';

interface DemoOptions {
  cookieMaxAge?: number;
  secureCookie?: boolean;
  secret?: string;
  store?: session.Store;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createApp } = require('../examples/demo.js') as { createApp: (options?: DemoOptions) => Express };

const COOKIE = 'demo.sid';
const TEST_TIMEOUT = 60_000;

// ---------------------------------------------------------------------------------------------------------------
// Servers and small helpers
// ---------------------------------------------------------------------------------------------------------------

const servers: Array<http.Server> = [];

/** Listens on 127.0.0.1 (or `host`) on a free port; the server is closed after all tests. */
function listen(server: http.Server, host = '127.0.0.1'): Promise<number> {
  servers.push(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port));
  });
}

async function closeServers(): Promise<void> {
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  })));
}

/** The demo app on a plain HTTP server on 127.0.0.1; resolves with its base URL. */
async function startDemo(options: DemoOptions = {}, extend?: (app: Express) => void): Promise<string> {
  const app = createApp(options);
  extend?.(app);
  const port = await listen(http.createServer(app));
  return `http://127.0.0.1:${port}`;
}

async function views(page: Page): Promise<number> {
  return Number(await page.textContent('#views'));
}

async function sessionCookie(context: BrowserContext): Promise<Cookie | undefined> {
  return (await context.cookies()).find((c) => c.name === COOKIE);
}

/** The session ID inside a signed cookie value (`s%3A<id>.<signature>`). */
function idOf(cookie: Cookie): string {
  const match = /^s:([^.]+)\./.exec(decodeURIComponent(cookie.value));
  assert.ok(match, `not a signed session cookie: ${cookie.value}`);
  return match[1]!;
}

/** One line per cookie: name, flags, lifetime. */
function describeCookie(cookie: Cookie | undefined): string {
  if (!cookie) return 'no cookie stored';
  const lifetime = cookie.expires === -1 ? 'session cookie' : `expires in ${Math.round(cookie.expires - Date.now() / 1000)}s`;
  return `${cookie.name} domain=${cookie.domain} path=${cookie.path} HttpOnly=${cookie.httpOnly} Secure=${cookie.secure} ` +
    `SameSite=${cookie.sameSite} ${lifetime}`;
}

function storeGet(store: session.Store, id: string): Promise<unknown> {
  return new Promise((resolve, reject) => store.get(id, (err, data) => (err ? reject(err) : resolve(data ?? null))));
}

function tempDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `es-test-${name}-`));
}

/** What the browser saw, case by case, printed by the last test. */
const observations: Array<[string, string]> = [];
function observe(label: string, text: string): void {
  observations.push([label, text]);
}

// ---------------------------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------------------------

describe('a real Chromium against the demo app', { skip: skipUnless('chromium'), timeout: 10 * TEST_TIMEOUT }, () => {
  let browser: Browser;
  const dirs: string[] = [];
  let certificate: Certificate | undefined;

  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await closeServers();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    certificate?.remove();
  });

  it('the first visit sets an HttpOnly cookie that document.cookie cannot see; the count survives reloads', { timeout: TEST_TIMEOUT }, async () => {
    const base = await startDemo();
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const response = await page.goto(base + '/');
      assert.equal(response?.status(), 200);
      assert.equal(await views(page), 1);

      const cookie = await sessionCookie(context);
      assert.ok(cookie, 'the first visit stores the session cookie');
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'Lax');
      assert.equal(cookie.secure, false);
      assert.equal(cookie.expires, -1, 'no maxAge: a browser-session cookie');
      const visible = await page.evaluate(() => document.cookie);
      assert.equal(visible, '', 'document.cookie must not expose the HttpOnly cookie');
      // And a script cannot overwrite it either.
      await page.evaluate((name) => {
        document.cookie = `${name}=forged; path=/`;
      }, COOKIE);
      assert.equal((await sessionCookie(context))?.value, cookie.value, 'a script cannot replace an HttpOnly cookie');
      observe('first visit (http://127.0.0.1)', `${describeCookie(cookie)}; document.cookie=${JSON.stringify(visible)}`);

      await page.reload();
      assert.equal(await views(page), 2);
      await page.reload();
      assert.equal(await views(page), 3);
      assert.equal((await sessionCookie(context))?.value, cookie.value, 'the same session across reloads');
      observe('reloads', `views 1 -> 2 -> 3, cookie value unchanged`);
    } finally {
      await context.close();
    }
  });

  for (const maxAge of [undefined, 3_600_000]) {
    const label = maxAge ? `maxAge ${maxAge / 1000}s` : 'no maxAge';
    it(`after a browser restart the count ${maxAge ? 'survives' : 'starts over'} (${label})`, { timeout: TEST_TIMEOUT }, async () => {
      const base = await startDemo({ cookieMaxAge: maxAge });
      const profile = tempDir('chromium-profile');
      dirs.push(profile);

      let context = await launchPersistentChromium(profile);
      let before: Cookie | undefined;
      try {
        const page = context.pages()[0] ?? (await context.newPage());
        await page.goto(base + '/');
        await page.reload();
        assert.equal(await views(page), 2);
        before = await sessionCookie(context);
        assert.ok(before);
        if (maxAge) {
          const expected = (Date.now() + maxAge) / 1000;
          assert.ok(Math.abs(before.expires - expected) < 10, `expires ${before.expires}, expected ~${expected}`);
        } else {
          assert.equal(before.expires, -1);
        }
      } finally {
        await context.close(); // quits the browser; the profile stays on disk
      }

      context = await launchPersistentChromium(profile);
      try {
        const restored = await sessionCookie(context);
        const page = context.pages()[0] ?? (await context.newPage());
        await page.goto(base + '/');
        const count = await views(page);
        if (maxAge) {
          assert.ok(restored, 'a cookie with maxAge is kept across a browser restart');
          assert.equal(restored.value, before.value);
          assert.equal(count, 3, 'the count continues');
        } else {
          assert.equal(restored, undefined, 'a session cookie is gone after a browser restart');
          assert.equal(count, 1, 'the count starts over');
        }
        observe(`restart, ${label}`, `before: ${describeCookie(before)}; after restart: ${restored ? 'cookie kept' : 'cookie gone'}, views ${count}`);
      } finally {
        await context.close();
      }
    });
  }

  it('logging in regenerates the session (new cookie value); logging out destroys it', { timeout: TEST_TIMEOUT }, async () => {
    const store = new session.MemoryStore();
    const base = await startDemo({ store });
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(base + '/');
      await page.reload();
      const anonymous = await sessionCookie(context);
      assert.ok(anonymous);

      await page.fill('#name', 'Ada');
      await Promise.all([page.waitForURL(base + '/'), page.click('#login')]);
      assert.equal(await page.textContent('#user strong'), 'Ada');
      assert.equal(await views(page), 3, 'the count was carried into the new session');
      const loggedIn = await sessionCookie(context);
      assert.ok(loggedIn);
      assert.notEqual(loggedIn.value, anonymous.value, 'log-in must change the cookie value');
      assert.notEqual(idOf(loggedIn), idOf(anonymous), 'log-in must change the session ID');
      assert.equal(await storeGet(store, idOf(anonymous)), null, 'the pre-login session is gone from the store');
      assert.equal(loggedIn.httpOnly, true);

      await Promise.all([page.waitForURL(base + '/'), page.click('#logout')]);
      assert.equal(await page.$('#user'), null, 'logged out');
      assert.equal(await views(page), 1, 'a fresh session after log-out');
      const afterLogout = await sessionCookie(context);
      assert.notEqual(afterLogout?.value, loggedIn.value);
      assert.equal(await storeGet(store, idOf(loggedIn)), null, 'log-out destroyed the session in the store');

      // Replaying the logged-in cookie does not log anyone in.
      await context.addCookies([{ ...loggedIn, expires: -1 }]);
      await page.goto(base + '/');
      assert.equal(await page.$('#user'), null, 'the old cookie is worthless');
      observe('log in / log out', `cookie value changed at log-in (${idOf(anonymous).slice(0, 6)}… -> ${idOf(loggedIn).slice(0, 6)}…); ` +
        `after log-out the old session is gone from the store and a new cookie (${afterLogout ? idOf(afterLogout).slice(0, 6) + '…' : 'none'}) was set by the next view`);
    } finally {
      await context.close();
    }
  });

  describe('Secure cookies', { skip: opensslSkip() }, () => {
    it('over HTTPS a `secure: true` cookie is stored and sent back', { timeout: TEST_TIMEOUT }, async () => {
      certificate = selfSignedCertificate();
      const server = https.createServer({ key: certificate.key, cert: certificate.cert }, createApp({ secureCookie: true }));
      const port = await listen(server as unknown as http.Server);
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      try {
        const page = await context.newPage();
        const response = await page.goto(`https://localhost:${port}/`);
        assert.match(String((await response?.allHeaders())?.['set-cookie']), /; Secure/);
        const cookie = await sessionCookie(context);
        assert.ok(cookie, 'the secure cookie is stored over HTTPS');
        assert.equal(cookie.secure, true);
        assert.equal(cookie.httpOnly, true);
        await page.reload();
        assert.equal(await views(page), 2, 'and sent back');
        observe('HTTPS, secure: true (https://localhost, self-signed)', describeCookie(cookie));
      } finally {
        await context.close();
      }
    });

    it('over plain HTTP a `secure: true` cookie is not stored', { timeout: TEST_TIMEOUT }, async () => {
      const base = await startDemo({ secureCookie: true });
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        const response = await page.goto(base + '/');
        assert.equal(response?.status(), 200);
        const sent = (await response?.allHeaders())?.['set-cookie'];
        assert.equal(sent, undefined, 'the middleware does not send a Secure cookie over plain HTTP');
        assert.deepEqual(await context.cookies(), [], 'nothing stored');
        await page.reload();
        assert.equal(await views(page), 1, 'so every view is a new session');
        observe('HTTP, secure: true (http://127.0.0.1)', `no Set-Cookie sent, ${describeCookie(undefined)}, views stay at 1`);
      } finally {
        await context.close();
      }
    });
  });

  it('a SameSite=Lax cookie is not sent on a cross-site POST, but is on a same-site one', { timeout: TEST_TIMEOUT }, async () => {
    const seen: Array<{ from: string; method: string; cookie: boolean; views: number | null }> = [];
    const base = await startDemo({}, (app) => {
      app.all('/echo', (req, res) => {
        const field: unknown = (req.body as Record<string, unknown> | undefined)?.from ?? req.query.from;
        const from = typeof field === 'string' ? field : '?';
        const cookie = (req.headers.cookie ?? '').split(/;\s*/).some((c) => c.startsWith(COOKIE + '='));
        const entry = { from, method: req.method, cookie, views: typeof req.session.views === 'number' ? req.session.views : null };
        seen.push(entry);
        res.json(entry);
      });
    });
    // Pages that submit a form to the demo's /echo as soon as they load.
    const formPage = (method: string, from: string): string =>
      `<!doctype html><form id="f" method="${method}" action="${base}/echo"><input name="from" value="${from}"></form>` +
      `<script>document.getElementById('f').submit()</script>`;
    const pages = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      res.setHeader('Content-Type', 'text/html');
      res.end(formPage(url.searchParams.get('method') ?? 'POST', url.searchParams.get('from') ?? '?'));
    });
    const pagesPort = await listen(pages, '127.0.0.1');
    const crossSite = `http://localhost:${pagesPort}`; // localhost and 127.0.0.1 are different sites
    const sameSite = `http://127.0.0.1:${pagesPort}`; // another origin (port) on the same site

    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(base + '/');
      const cookie = await sessionCookie(context);
      assert.equal(cookie?.sameSite, 'Lax');

      const submit = async (origin: string, method: string, from: string): Promise<(typeof seen)[number]> => {
        await page.goto('about:blank');
        await Promise.all([
          page.waitForURL((url) => url.pathname === '/echo'),
          page.goto(`${origin}/?method=${method}&from=${from}`, { waitUntil: 'commit' }),
        ]);
        const entry = seen.find((e) => e.from === from);
        assert.ok(entry, `the demo saw no request from ${from}`);
        return entry;
      };

      const crossPost = await submit(crossSite, 'POST', 'cross-site-post');
      assert.equal(crossPost.method, 'POST');
      assert.equal(crossPost.cookie, false, 'a Lax cookie must not go with a cross-site POST');
      assert.equal(crossPost.views, null, 'so the POST had no session');

      const samePost = await submit(sameSite, 'POST', 'same-site-post');
      assert.equal(samePost.cookie, true, 'a same-site POST carries the cookie');
      assert.equal(samePost.views, 1, 'and the session');

      const crossGet = await submit(crossSite, 'GET', 'cross-site-get');
      assert.equal(crossGet.cookie, true, 'Lax still sends the cookie on a cross-site top-level GET navigation');

      observe('SameSite=Lax', `cross-site POST (localhost:${pagesPort} -> 127.0.0.1): cookie sent=${crossPost.cookie}; ` +
        `same-site POST (127.0.0.1:${pagesPort} -> 127.0.0.1): cookie sent=${samePost.cookie}; ` +
        `cross-site top-level GET: cookie sent=${crossGet.cookie}`);
    } finally {
      await context.close();
    }
  });

  it('summary: what the browser saw', (t) => {
    t.diagnostic(`Chromium ${browser.version()} (playwright-core), headless`);
    const lines = observations.map(([label, text]) => `${label}: ${text}`);
    for (const line of lines) t.diagnostic(line);
    // Also kept for the closing note of `npm test` (scripts/test.js may print it after the totals).
    const dir = path.join(__dirname, '..', '.tmp');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'browser-observations.txt'), [`Chromium ${browser.version()}`, ...lines].join('\n') + '\n');
    assert.ok(observations.length > 0);
  });
});

function opensslSkip(): string | undefined {
  const reason = missingOpenssl();
  if (reason && isCI()) throw new Error(`${reason} (CI=true: the HTTPS browser test cannot be skipped)`);
  return reason;
}
