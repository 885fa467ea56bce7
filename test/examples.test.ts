/**
 * Every example in examples/ is started as its own process (the way its header says), on a free port on
 * 127.0.0.1, and driven over HTTP through the cookie flow it exists to show. The Redis ones run against a
 * throwaway redis-server (skipped with one line when it is not installed, a failure under CI=true).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import request from 'supertest';
import { createClient } from 'redis';
import { cookie, setCookieFor, sid } from './support/http.js';
import { isCI, skipUnless, startRedis, type RedisServer } from './support/servers.js';
import { missingOpenssl, selfSignedCertificate, type Certificate } from './support/browser.js';

const root = path.join(__dirname, '..');
/** No example may hang the suite: a stuck request fails its describe after this long. */
const timeout = 120_000;
const examplesDir = path.join(root, 'examples');

// ---------------------------------------------------------------------------------------------------------------
// Running an example as a child process
// ---------------------------------------------------------------------------------------------------------------

interface RunningExample {
  /** Every `http(s)://host:port` the process announced ("... listening on URL"), in order. */
  urls: string[];
  /** The first of them. */
  url: string;
  child: ChildProcess;
  /** stdout + stderr so far. */
  output(): string;
  /** SIGTERM, then SIGKILL to the whole process group after 5 s. Idempotent. */
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) killGroup(child, 'SIGKILL');
});

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Starts `examples/<file>` with PORT=0 and HOST=127.0.0.1 (plus `env`), and resolves once it has printed
 * `urls` listening URLs. `.ts` files run through tsx, as their headers say.
 */
async function startExample(
  file: string,
  options: { env?: Record<string, string | undefined>; urls?: number } = {},
): Promise<RunningExample> {
  const wanted = options.urls ?? 1;
  const args = file.endsWith('.ts') ? ['--import', 'tsx', path.join(examplesDir, file)] : [path.join(examplesDir, file)];
  const env: Record<string, string | undefined> = { ...process.env, PORT: '0', HOST: '127.0.0.1', NODE_ENV: 'test', ...options.env };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.add(child);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));

  const stop = async (): Promise<void> => {
    if (!exited(child)) {
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 5000))) {
        killGroup(child, 'SIGKILL');
        await waitForExit(child, 5000);
      }
    }
    killGroup(child, 'SIGKILL'); // anything the example itself started and left behind
    children.delete(child);
  };

  const urls = await new Promise<string[]>((resolve, reject) => {
    const found = (): string[] => [...output.matchAll(/listening on (https?:\/\/[^\s]+)/g)].map((m) => m[1]!);
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${file} did not print ${wanted} listening URL(s) within 30 s. Output:\n${output}`));
    }, 30_000);
    const onData = (): void => {
      const urls = found();
      if (urls.length >= wanted) {
        cleanup();
        resolve(urls);
      }
    };
    const onExit = (code: number | null, signal: string | null): void => {
      cleanup();
      reject(new Error(`${file} exited (${signal ?? code}) before listening. Output:\n${output}`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });

  return { urls, url: urls[0]!, child, output: () => output, stop };
}

/** The number in the demo page's `<strong id="views">N</strong>`. */
function demoViews(html: string): number {
  const match = /id="views">(\d+)</.exec(html);
  assert.ok(match, `no view count in:\n${html}`);
  return Number(match[1]);
}

/** Attributes of one Set-Cookie value, lower-cased names: { path: '/', httponly: true, ... }. */
function attributes(setCookie: string): Record<string, string | true> {
  const result: Record<string, string | true> = {};
  for (const part of setCookie.split(';').slice(1)) {
    const [name, ...value] = part.trim().split('=');
    result[name!.toLowerCase()] = value.length ? value.join('=') : true;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// Every example has a "Start:" line and is covered here
// ---------------------------------------------------------------------------------------------------------------

/** Entry points exercised below. The guard test fails when an example is added without a test. */
const EXERCISED = [
  'api-client.js',
  'custom-store.ts',
  'demo.js',
  'express5.js',
  'login-regenerate.js',
  'parallel-requests.js',
  'redis.js',
  'scale-out/server.js',
  'scale-out/start.js',
  'typed-session-data.ts',
  'view-counter.js',
];

function exampleFiles(dir = examplesDir): string[] {
  const files: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...exampleFiles(full));
    else if (/\.[cm]?[jt]s$/.test(entry.name)) files.push(path.relative(examplesDir, full).split(path.sep).join('/'));
  }
  return files.sort();
}

describe('examples/', { timeout }, () => {
  it('every example is exercised by this file', () => {
    assert.deepEqual(exampleFiles(), EXERCISED);
  });

  it('every example says in its header how to start it', () => {
    for (const file of exampleFiles()) {
      const header = fs.readFileSync(path.join(examplesDir, file), 'utf8').split('\n').slice(0, 15).join('\n');
      const commands = [...header.matchAll(/^ \* Start(?: [a-z]+)?: (.+)$/gm)].map((m) => m[1]!);
      assert.ok(commands.length > 0, `${file}: no " * Start: <command>" line in the header`);
      const command = commands.find((c) => (file === 'demo.js' ? /^npm start\b/.test(c) : c.includes(`examples/${file}`)));
      assert.ok(command, `${file}: no Start line runs this file: ${commands.join(' | ')}`);
      if (file.endsWith('.ts')) assert.match(command, /node --import tsx /, `${file}: TypeScript examples run through tsx`);
    }
  });

  it('scale-out/README.md says how to launch the two processes', () => {
    const readme = fs.readFileSync(path.join(examplesDir, 'scale-out', 'README.md'), 'utf8');
    assert.match(readme, /node examples\/scale-out\/start\.js/);
  });

  it('package.json "start" runs the demo', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.match(pkg.scripts.start!, /node examples\/demo\.js/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The demo (npm start)
// ---------------------------------------------------------------------------------------------------------------

for (const maxAge of [undefined, 60_000]) {
  describe(`examples/demo.js ${maxAge ? `with COOKIE_MAX_AGE=${maxAge}` : 'without COOKIE_MAX_AGE (browser-session cookie)'}`, { timeout }, () => {
    let app: RunningExample;
    before(async () => {
      app = await startExample('demo.js', { env: { COOKIE_MAX_AGE: maxAge ? String(maxAge) : undefined } });
    });
    after(() => app?.stop());

    it('prints the URL it listens on', () => {
      assert.match(app.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    });

    it('serves a page styled by a small inline stylesheet: readable font, spacing, cards; no external asset', async () => {
      const res = await request(app.url).get('/').expect(200).expect('Content-Type', /html/);
      const style = /<style>([\s\S]*?)<\/style>/.exec(res.text)?.[1];
      assert.ok(style, `no inline <style> in:\n${res.text}`);
      assert.match(style, /body\s*\{[^}]*font:[^}]*sans-serif/, 'a readable font on body');
      assert.match(style, /main\s*\{[^}]*max-width/, 'a readable line length');
      assert.match(style, /\.card\s*\{[^}]*padding/, 'cards with room inside');
      assert.ok(style.length < 2000, `a small stylesheet, not ${style.length} characters`);
      assert.ok((res.text.match(/<section class="card">/g) ?? []).length >= 2, 'the count and the form are on cards');
      assert.match(res.text, /<meta name="viewport"/);
      assert.doesNotMatch(res.text, /<link |<script/, 'no stylesheet or script to fetch: no build step');
    });

    it('the first visit sets an HttpOnly, SameSite=Lax cookie; the count goes up with it', async () => {
      const first = await request(app.url).get('/').expect(200).expect('Content-Type', /html/);
      assert.equal(demoViews(first.text), 1);
      const setCookie = setCookieFor(first, 'demo.sid');
      assert.ok(setCookie, 'no demo.sid cookie');
      const attrs = attributes(setCookie);
      assert.equal(attrs.httponly, true);
      assert.equal(attrs.samesite, 'Lax');
      assert.equal(attrs.path, '/');
      assert.equal(attrs.secure, undefined);
      if (maxAge) {
        const expires = Date.parse(String(attrs.expires));
        assert.ok(Math.abs(expires - (Date.now() + maxAge)) < 5000, `Expires ${attrs.expires} is not ~${maxAge} ms away`);
      } else {
        assert.equal(attrs.expires, undefined, 'without COOKIE_MAX_AGE the cookie must be a session cookie');
        assert.equal(attrs['max-age'], undefined);
      }
      const second = await request(app.url).get('/').set('Cookie', cookie(first, 'demo.sid')).expect(200);
      assert.equal(demoViews(second.text), 2);
      const third = await request(app.url).get('/').expect(200);
      assert.equal(demoViews(third.text), 1, 'no cookie, new count');
    });

    it('log in regenerates the session (new ID, views carried over); log out destroys it', async () => {
      const home = await request(app.url).get('/').expect(200);
      const anonymous = cookie(home, 'demo.sid');
      assert.match(home.text, /<form method="post" action="\/login">/);

      const login = await request(app.url)
        .post('/login').set('Cookie', anonymous).type('form').send({ name: 'Ada <admin>' })
        .expect(303).expect('Location', '/');
      const loggedIn = cookie(login, 'demo.sid');
      assert.notEqual(sid(login, 'demo.sid'), sid(home, 'demo.sid'), 'the session ID must change at log-in');

      const page = await request(app.url).get('/').set('Cookie', loggedIn).expect(200);
      assert.match(page.text, /Logged in as <strong>Ada &lt;admin&gt;<\/strong>/, 'the name is shown, HTML-escaped');
      assert.equal(demoViews(page.text), 2, 'views carried over into the new session');

      const old = await request(app.url).get('/').set('Cookie', anonymous).expect(200);
      assert.doesNotMatch(old.text, /Logged in/, 'the pre-login session ID must not be logged in');
      assert.equal(demoViews(old.text), 1, 'the pre-login session is gone');

      const logout = await request(app.url).post('/logout').set('Cookie', loggedIn).expect(303).expect('Location', '/');
      const cleared = setCookieFor(logout, 'demo.sid');
      assert.ok(cleared && /^demo\.sid=;/.test(cleared) && /Expires=Thu, 01 Jan 1970/.test(cleared), `cookie not cleared: ${cleared}`);
      const after = await request(app.url).get('/').set('Cookie', loggedIn).expect(200);
      assert.doesNotMatch(after.text, /Logged in/);
      assert.equal(demoViews(after.text), 1, 'the logged-in session was destroyed');
    });

    it('log in without a name is a 400 with a way back', async () => {
      const res = await request(app.url).post('/login').type('form').send({ name: '  ' }).expect(400);
      assert.match(res.text, /A name is required/);
    });

    it('shows what the session holds, its cookie (ID cut short) and how many sessions the store holds', async () => {
      const first = await request(app.url).get('/').set('User-Agent', 'test-agent/1').expect(200);
      const jar = cookie(first, 'demo.sid');
      const home = await request(app.url).get('/').set('Cookie', jar).expect(200);
      const data = JSON.parse(unescapeHtml(/<pre id="data">([\s\S]*?)<\/pre>/.exec(home.text)?.[1] ?? 'null')) as unknown;
      assert.deepEqual(data, { views: 2 }, 'the app\'s own data, without the cookie or the bookkeeping keys');
      const bookkeeping = JSON.parse(unescapeHtml(/<pre id="bookkeeping">([\s\S]*?)<\/pre>/.exec(home.text)?.[1] ?? 'null')) as Record<string, unknown>;
      assert.equal(bookkeeping.__sessionUserAgent, 'test-agent/1', 'track: true recorded the User-Agent');
      assert.ok(Object.keys(bookkeeping).every((key) => key.startsWith('__session')), Object.keys(bookkeeping).join());

      const id = sid(first, 'demo.sid');
      assert.equal(/<code id="sid">([^<]*)<\/code>/.exec(home.text)?.[1], `${id.slice(0, 6)}…`, 'only a prefix of the ID');
      assert.ok(!home.text.includes(id), 'the whole session ID is not on the page');
      const table = /<table id="cookie">([\s\S]*?)<\/table>/.exec(home.text)?.[1] ?? '';
      assert.match(table, /Name<\/th><td><code>demo\.sid</);
      assert.match(table, /HttpOnly<\/th><td>yes/);
      assert.match(table, /SameSite<\/th><td>lax/);
      assert.match(table, /Secure<\/th><td>no/);
      assert.match(table, /Path<\/th><td><code>\/</);
      if (maxAge) assert.match(table, /id="expires"><time datetime="[^"]+"[^>]*>in \d+ s<\/time> <small>\(maxAge 60 s/);
      else assert.match(table, /id="expires">when the browser closes/);
      const count = Number(/<strong id="store-count">(\d+)</.exec(home.text)?.[1]);
      assert.ok(count >= 1, `the store holds ${count} sessions, this one among them`);
      const more = await request(app.url).get('/').set('Cookie', jar).expect(200);
      assert.equal(Number(/<strong id="store-count">(\d+)</.exec(more.text)?.[1]), count, 'a view of the same session adds none');
    });

    it('/devices lists the user\'s sessions with their User-Agent, escaped; "log out all others" logs them out', async () => {
      const name = `<b>eve</b> "${maxAge ?? 'session'}"`;
      const logIn = async (agent: string): Promise<string> =>
        cookie(await request(app.url).post('/login').set('User-Agent', agent).type('form').send({ name }).expect(303), 'demo.sid');
      const phone = await logIn('<img src=x onerror=alert(1)> Mobile');
      const laptop = await logIn('Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0');
      const other = cookie(await request(app.url).post('/login').type('form').send({ name: `mallory ${maxAge}` }).expect(303), 'demo.sid');

      await request(app.url).get('/devices').expect(303).expect('Location', '/'); // logged out: back home
      const devices = await request(app.url).get('/devices').set('Cookie', laptop).expect(200);
      assert.ok(devices.text.includes('&lt;b&gt;eve&lt;/b&gt; &quot;'), 'the user name is escaped');
      assert.ok(devices.text.includes('&lt;img src=x onerror=alert(1)&gt; Mobile'), 'the User-Agent is escaped');
      assert.doesNotMatch(devices.text, /<img|<b>/, 'nothing user-controlled is markup');
      const items = devices.text.split('<li class="device').slice(1);
      assert.equal(items.length, 2);
      assert.match(items[0]!, /^ current">[\s\S]*Firefox 128 on Windows[\s\S]*this device/, 'this device first, marked, named shortly');
      assert.doesNotMatch(items[1]!, /this device/);

      const done = await request(app.url).post('/devices/logout-others').set('Cookie', laptop).expect(303);
      assert.equal(done.headers.location, '/devices?loggedOut=1');
      const after = await request(app.url).get(done.headers.location).set('Cookie', laptop).expect(200);
      assert.match(after.text, /id="logged-out">Logged out 1 other session\./);
      assert.equal(after.text.split('<li class="device').length - 1, 1);
      const phoneHome = await request(app.url).get('/').set('Cookie', phone).expect(200);
      assert.doesNotMatch(phoneHome.text, /Logged in/, 'the phone is logged out');
      const otherHome = await request(app.url).get('/').set('Cookie', other).expect(200);
      assert.match(otherHome.text, /Logged in as <strong>mallory/, 'another user is untouched');
    });
  });
}

function unescapeHtml(html: string): string {
  return html.replace(/&(amp|lt|gt|quot|#39);/g, (_, entity: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[entity]!);
}

describe('examples/demo.js over HTTPS (HTTPS_KEY, HTTPS_CERT, SECURE_COOKIE=1)', { skip: opensslSkip(), timeout }, () => {
  let app: RunningExample;
  let certificate: Certificate;
  before(async () => {
    certificate = selfSignedCertificate();
    app = await startExample('demo.js', {
      env: { HTTPS_KEY: certificate.keyFile, HTTPS_CERT: certificate.certFile, SECURE_COOKIE: '1' },
    });
  });
  after(async () => {
    await app?.stop();
    certificate?.remove();
  });

  it('serves HTTPS and marks the cookie Secure', async () => {
    assert.match(app.url, /^https:\/\//);
    const res = await request(app.url).get('/').disableTLSCerts().expect(200);
    const attrs = attributes(setCookieFor(res, 'demo.sid') ?? '');
    assert.equal(attrs.secure, true);
    assert.equal(attrs.httponly, true);
    const again = await request(app.url).get('/').disableTLSCerts().set('Cookie', cookie(res, 'demo.sid')).expect(200);
    assert.equal(demoViews(again.text), 2);
  });
});

function opensslSkip(): string | undefined {
  const reason = missingOpenssl();
  if (reason && isCI()) throw new Error(`${reason} (CI=true: the HTTPS demo test cannot be skipped)`);
  return reason;
}

describe('examples/demo.js refuses a bad COOKIE_MAX_AGE', { timeout }, () => {
  it('exits 1 with a message saying what is expected', async () => {
    await assert.rejects(
      startExample('demo.js', { env: { COOKIE_MAX_AGE: 'soon' } }),
      /exited \(1\) before listening[\s\S]*COOKIE_MAX_AGE must be a positive number of milliseconds, got "soon"/,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// README's first app, pasted as it is
// ---------------------------------------------------------------------------------------------------------------

/** The first js block under README's "## A first app", and the README line it starts on. */
function readmeFirstApp(): { code: string; line: number } {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.indexOf('\n## A first app\n');
  assert.ok(section >= 0, 'README.md has no "## A first app" section');
  const match = /\n```js\n([\s\S]*?)\n```\n/.exec(readme.slice(section));
  assert.ok(match, 'no js block under "## A first app"');
  const line = readme.slice(0, section + match.index).split('\n').length + 2;
  return { code: match[1]!, line };
}

describe("README's first app", { timeout }, () => {
  let dir: string;
  let app: RunningExample;
  before(async () => {
    fs.mkdirSync(path.join(root, '.tmp'), { recursive: true });
    // Inside the repository, so that `express` and `express-session` resolve as in an application that has them.
    dir = fs.mkdtempSync(path.join(root, '.tmp', 'first-app-'));
    fs.writeFileSync(path.join(dir, 'app.js'), readmeFirstApp().code);
    // The app listens on 3000 as written; this moves that to a free port on 127.0.0.1 and says which.
    fs.writeFileSync(
      path.join(dir, 'free-port.cjs'),
      `const net = require('node:net')
const listen = net.Server.prototype.listen
net.Server.prototype.listen = function (port, ...rest) {
  if (port !== 3000) return listen.call(this, port, ...rest)
  this.once('listening', () => console.log('first app listening on http://127.0.0.1:' + this.address().port))
  return listen.call(this, 0, '127.0.0.1', ...rest)
}
`,
    );
    const nodeOptions = `${process.env.NODE_OPTIONS ?? ''} --require ${JSON.stringify(path.join(dir, 'free-port.cjs'))}`;
    app = await startExample(path.relative(examplesDir, path.join(dir, 'app.js')), { env: { NODE_OPTIONS: nodeOptions } });
  });
  after(async () => {
    await app?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is on the first screen: about ten lines, a literal secret and a one-line warning to use an environment variable', () => {
    const { code, line } = readmeFirstApp();
    assert.ok(line <= 40, `the first app starts on README line ${line}`);
    const lines = code.split('\n').filter((l) => l.trim() !== '');
    assert.ok(lines.length <= 12, `the first app has ${lines.length} non-blank lines`);
    assert.match(code, /secret: '[^']+'/);
    assert.match(code, /^\/\/ .*production.*environment variable/m);
  });

  it('runs as pasted: each request with the cookie counts one more', async () => {
    const first = await request(app.url).get('/').expect(200, 'You have been here 1 times');
    const jar = cookie(first);
    assert.match(jar, /^connect\.sid=s%3A/);
    await request(app.url).get('/').set('Cookie', jar).expect(200, 'You have been here 2 times');
    await request(app.url).get('/').expect(200, 'You have been here 1 times');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// view-counter.js, login-regenerate.js, express5.js
// ---------------------------------------------------------------------------------------------------------------

describe('examples/view-counter.js', { timeout }, () => {
  let app: RunningExample;
  before(async () => {
    app = await startExample('view-counter.js');
  });
  after(() => app?.stop());

  it('counts views per session, with a one-hour cookie', async () => {
    const first = await request(app.url).get('/').expect(200);
    assert.match(first.text, /^Welcome! This is your first visit\. \(views: 1, cookie expires in 3600s\)/);
    const setCookie = setCookieFor(first);
    assert.ok(setCookie);
    assert.ok(Math.abs(Date.parse(String(attributes(setCookie).expires)) - (Date.now() + 3_600_000)) < 5000);
    const jar = cookie(first);
    const second = await request(app.url).get('/').set('Cookie', jar).expect(200);
    assert.match(second.text, /^views: 2 /);
    await request(app.url).get('/reset').set('Cookie', jar).expect(200, 'views: 0\n');
    const afterReset = await request(app.url).get('/').set('Cookie', jar).expect(200);
    assert.match(afterReset.text, /views: 1/);
    const stranger = await request(app.url).get('/').expect(200);
    assert.match(stranger.text, /views: 1/);
    assert.notEqual(sid(stranger), sid(first));
  });
});

describe('examples/login-regenerate.js', { timeout }, () => {
  let app: RunningExample;
  before(async () => {
    app = await startExample('login-regenerate.js');
  });
  after(() => app?.stop());

  it('log-in issues a new session ID and kills the old one; log-out does the same', async () => {
    const anonymous = await request(app.url).get('/').expect(200);
    assert.match(anonymous.text, /Not logged in \(visit 1\)/);
    const planted = cookie(anonymous);

    await request(app.url).post('/login').set('Cookie', planted).type('form').send({ user: 'alice', password: 'nope' }).expect(401);
    const stillAnonymous = await request(app.url).get('/').set('Cookie', planted).expect(200);
    assert.match(stillAnonymous.text, /visit 2/, 'a failed log-in leaves the session alone');

    const login = await request(app.url).post('/login').set('Cookie', planted).type('form')
      .send({ user: '<alice>', password: 'secret' }).expect(302).expect('Location', '/');
    assert.notEqual(sid(login), sid(anonymous), 'log-in must issue a new session ID');
    const loggedIn = cookie(login);

    await request(app.url).get('/').set('Cookie', loggedIn).expect(200, /Hello, &lt;alice&gt;!/);
    const withPlanted = await request(app.url).get('/').set('Cookie', planted).expect(200);
    assert.match(withPlanted.text, /Not logged in \(visit 1\)/, 'the pre-login ID is worthless after log-in');

    await request(app.url).post('/logout').set('Cookie', loggedIn).expect(302).expect('Location', '/');
    const afterLogout = await request(app.url).get('/').set('Cookie', loggedIn).expect(200);
    assert.match(afterLogout.text, /Not logged in \(visit 1\)/, 'the logged-in ID is worthless after log-out');
  });
});

describe('examples/parallel-requests.js', { timeout }, () => {
  let app: RunningExample;
  before(async () => {
    app = await startExample('parallel-requests.js');
  });
  after(() => app?.stop());

  it('keeps every item added by 10 parallel requests, and a logout stays one despite a slower request', async () => {
    const first = await request(app.url).get('/').expect(200, /Cart \(0\): empty/);
    const jar = cookie(first);
    await Promise.all(Array.from({ length: 10 }, (_, i) => request(app.url).post(`/add/item${i}`).set('Cookie', jar).expect(200)));
    await request(app.url).get('/').set('Cookie', jar).expect(200, /Cart \(10\): item0, item1, item2, item3, item4, item5, item6, item7, item8, item9/);

    const slow = request(app.url).post('/slow-visit').set('Cookie', jar).then((res) => res);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await request(app.url).post('/logout').set('Cookie', jar).expect(302);
    const slowRes = await slow;
    // (on a loaded machine the slow request may start after the logout: then it has a new session of its own)
    if (setCookieFor(slowRes) !== undefined) assert.notEqual(sid(slowRes), sid(first), 'no cookie for the destroyed session');
    const after = await request(app.url).get('/').set('Cookie', jar).expect(200, /Cart \(0\): empty/);
    assert.notEqual(sid(after), sid(first), 'the logged-out session stays gone');
  });
});

describe('examples/api-client.js', { timeout }, () => {
  let app: RunningExample;
  before(async () => {
    app = await startExample('api-client.js');
  });
  after(() => app?.stop());

  it('carries the session in the x-session-id header, without a cookie; log-in issues a new ID', async () => {
    await request(app.url).get('/me').expect(401);
    const login = await request(app.url).post('/login').send({ name: 'ada' }).expect(200, { user: 'ada' });
    assert.equal(login.headers['set-cookie'], undefined, 'cookie: false sends no cookie');
    const id = login.headers['x-session-id'] as string;
    assert.match(id, /^s:[\w-]+\.[\w+/]+$/);
    const me = await request(app.url).get('/me').set('x-session-id', id).expect(200, { user: 'ada' });
    assert.equal(me.headers['x-session-id'], undefined, 'the header is sent for a new session only');
    await request(app.url).post('/login').send({}).expect(400);

    await request(app.url).post('/logout').set('x-session-id', id).expect(200, { loggedOut: true });
    await request(app.url).get('/me').set('x-session-id', id).expect(401);
  });

  it('its client part keeps the header from the log-in response and sends it until log-out', async () => {
    const { stdout } = await execFileAsync(process.execPath, [path.join(examplesDir, 'api-client.js'), 'client', app.url], { cwd: root });
    assert.equal(stdout, [
      'GET /me -> 401 {"error":"not logged in"}',
      'POST /login -> 200 {"user":"ada"}',
      'GET /me -> 200 {"user":"ada"}',
      'POST /logout -> 200 {"loggedOut":true}',
      'GET /me -> 401 {"error":"not logged in"}',
      '',
    ].join('\n'));
  });
});

describe('examples/express5.js', { timeout }, () => {
  let app: RunningExample;
  before(async () => {
    app = await startExample('express5.js');
  });
  after(() => app?.stop());

  it('counts views, logs in with await regenerate/save, logs out with await destroy', async () => {
    const first = await request(app.url).get('/').expect(200, { views: 1, user: null });
    const anonymous = cookie(first);
    await request(app.url).get('/').set('Cookie', anonymous).expect(200, { views: 2, user: null });
    await request(app.url).get('/files/a/b.txt').set('Cookie', anonymous).expect(200, { path: 'a/b.txt', views: 2 });

    const login = await request(app.url).post('/login').set('Cookie', anonymous).send({ name: 'grace' }).expect(200, { user: 'grace' });
    assert.notEqual(sid(login), sid(first));
    const loggedIn = cookie(login);
    await request(app.url).get('/me').set('Cookie', loggedIn).expect(200, { user: 'grace' });
    await request(app.url).get('/me').set('Cookie', anonymous).expect(401);

    const logout = await request(app.url).post('/logout').set('Cookie', loggedIn).expect(200, { loggedOut: true });
    assert.match(setCookieFor(logout) ?? '', /^connect\.sid=;.*Expires=Thu, 01 Jan 1970/);
    await request(app.url).get('/me').set('Cookie', loggedIn).expect(401);
  });

  it('bad input reaches the error handler as a 4xx, not a crash', async () => {
    await request(app.url).post('/login').send({}).expect(400);
    await request(app.url).post('/login').set('Content-Type', 'application/json').send('{not json').expect(400);
    await request(app.url).get('/').expect(200);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// TypeScript examples: custom-store.ts, typed-session-data.ts
// ---------------------------------------------------------------------------------------------------------------

const execFileAsync = promisify(execFile);
const TSC = [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--module', 'node16',
  '--moduleResolution', 'node16', '--esModuleInterop', '--types', 'node', '--skipLibCheck'];

/** Runs a strict `tsc --noEmit` on `files`; resolves with its output and exit code. */
async function typeCheck(files: string[], cwd = root): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [...TSC, ...files], { cwd });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

describe('examples/custom-store.ts', { timeout }, () => {
  let app: RunningExample;
  before(async () => {
    app = await startExample('custom-store.ts');
  });
  after(() => app?.stop());

  it('type-checks under strict', async () => {
    const { code, output } = await typeCheck(['examples/custom-store.ts']);
    assert.equal(code, 0, output);
  });

  it('keeps sessions in its Map: set on change, read back, removed by destroy', async () => {
    const first = await request(app.url).get('/').expect(200, 'views: 1\n');
    const jar = cookie(first);
    await request(app.url).get('/').set('Cookie', jar).expect(200, 'views: 2\n');
    const other = await request(app.url).get('/').expect(200, 'views: 1\n');

    const store = await request(app.url).get('/store').expect(200);
    assert.equal(store.body.count, 2);
    const mine = store.body.sessions.find((s: { id: string }) => s.id === sid(first));
    assert.ok(mine, 'the session is in the custom store under its ID');
    assert.equal(mine.views, 2);
    assert.ok(mine.expiresInSeconds > 1790 && mine.expiresInSeconds <= 1800, `expires in ${mine.expiresInSeconds}s`);

    await request(app.url).post('/logout').set('Cookie', jar).expect(200, 'logged out\n');
    const afterLogout = await request(app.url).get('/store').expect(200);
    assert.deepEqual(afterLogout.body.sessions.map((s: { id: string }) => s.id), [sid(other)]);
    await request(app.url).get('/').set('Cookie', jar).expect(200, 'views: 1\n');
  });
});

describe('examples/typed-session-data.ts', { timeout }, () => {
  let app: RunningExample;
  before(async () => {
    app = await startExample('typed-session-data.ts');
  });
  after(() => app?.stop());

  it('type-checks under strict, and misuse of a SessionData field does not', async () => {
    const good = await typeCheck(['examples/typed-session-data.ts']);
    assert.equal(good.code, 0, good.output);

    // The same file plus wrongly typed assignments, compiled from a temp dir that sees this project's node_modules.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'es-test-typed-'));
    try {
      fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
      const source = fs.readFileSync(path.join(examplesDir, 'typed-session-data.ts'), 'utf8');
      fs.writeFileSync(path.join(dir, 'bad.ts'), source + `
app.get('/bad', (req) => {
  req.session.views = 'many';
  req.session.user = { name: 'mallory', role: 'root' };
  req.session.cart?.push({ sku: 'apple' });
});
`);
      const bad = await typeCheck(['bad.ts'], dir);
      assert.notEqual(bad.code, 0, 'misuse must not compile');
      const errors = bad.output.split('\n').filter((line) => /bad\.ts\(\d+,\d+\): error TS/.test(line));
      assert.equal(errors.length, 3, bad.output);
      assert.match(bad.output, /Type 'string' is not assignable to type 'number'/);
      assert.match(bad.output, /'"root"' is not assignable to type '"admin" \| "customer"'/);
      assert.match(bad.output, /Property 'qty' is missing/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps a typed cart across a regenerating log-in', async () => {
    const add = await request(app.url).post('/cart').send({ sku: 'apple', qty: 2 }).expect(201);
    const anonymous = cookie(add);
    await request(app.url).post('/cart').set('Cookie', anonymous).send({ sku: 'bread', qty: 1 }).expect(201);
    await request(app.url).post('/cart').set('Cookie', anonymous).send({ sku: 'apple', qty: 1 }).expect(201);
    await request(app.url).post('/cart').set('Cookie', anonymous).send({ sku: 'caviar', qty: 1 }).expect(400);
    await request(app.url).get('/cart').set('Cookie', anonymous)
      .expect(200, { items: [{ sku: 'apple', qty: 3 }, { sku: 'bread', qty: 1 }], total: 3.75, views: 1 });
    await request(app.url).get('/admin').set('Cookie', anonymous).expect(403);

    const login = await request(app.url).post('/login').set('Cookie', anonymous).send({ name: 'ann', role: 'admin' })
      .expect(200, { user: { name: 'ann', role: 'admin' } });
    assert.notEqual(sid(login), sid(add));
    const admin = cookie(login);
    await request(app.url).get('/admin').set('Cookie', admin).expect(200, { hello: 'ann' });
    const cart = await request(app.url).get('/cart').set('Cookie', admin).expect(200);
    assert.equal(cart.body.total, 3.75, 'the cart survived the log-in');
    await request(app.url).get('/admin').set('Cookie', anonymous).expect(403);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Redis: redis.js and scale-out/
// ---------------------------------------------------------------------------------------------------------------

describe('examples with Redis', { skip: skipUnless('redis'), timeout }, () => {
  let redis: RedisServer;
  let client: ReturnType<typeof createClient>;
  before(async () => {
    redis = await startRedis();
    client = createClient({ url: redis.url });
    await client.connect();
  });
  after(async () => {
    await client?.close();
    await redis?.stop();
  });

  describe('examples/redis.js', { timeout }, () => {
    it('stores the session in Redis with a TTL; it survives a restart of the app; logout deletes it', async () => {
      let app = await startExample('redis.js', { env: { REDIS_URL: redis.url } });
      try {
        const first = await request(app.url).get('/').expect(200, 'views: 1\n');
        const jar = cookie(first);
        await request(app.url).get('/').set('Cookie', jar).expect(200, 'views: 2\n');

        const key = `example:${sid(first)}`;
        const stored = JSON.parse((await client.get(key)) ?? 'null') as { views: number } | null;
        assert.equal(stored?.views, 2, `no session under ${key}`);
        const ttl = await client.ttl(key);
        assert.ok(ttl > 86_000 && ttl <= 86_400, `TTL ${ttl}`);

        await app.stop();
        assert.ok(exited(app.child));
        app = await startExample('redis.js', { env: { REDIS_URL: redis.url } });
        await request(app.url).get('/').set('Cookie', jar).expect(200, 'views: 3\n');

        await request(app.url).post('/logout').set('Cookie', jar).expect(200, 'logged out\n');
        assert.equal(await client.exists(key), 0, 'the key is deleted');
      } finally {
        await app.stop();
      }
    });

    it('exits with a message when Redis is unreachable', async () => {
      await assert.rejects(
        startExample('redis.js', { env: { REDIS_URL: 'redis://127.0.0.1:1' } }),
        /exited \(1\) before listening[\s\S]*Could not start: .*ECONNREFUSED/,
      );
    });
  });

  describe('examples/scale-out', { timeout }, () => {
    it('two server.js processes share sessions through Redis', async () => {
      const a = await startExample('scale-out/server.js', { env: { REDIS_URL: redis.url, INSTANCE: 'a' } });
      const b = await startExample('scale-out/server.js', { env: { REDIS_URL: redis.url, INSTANCE: 'b' } });
      // A third process with another secret cannot read the cookie: the shared secret matters.
      const stranger = await startExample('scale-out/server.js', {
        env: { REDIS_URL: redis.url, INSTANCE: 'c', SESSION_SECRET: 'another secret' },
      });
      try {
        const viaA = await request(a.url).get('/').expect(200);
        assert.deepEqual({ ...viaA.body, pid: 0 }, { instance: 'a', pid: 0, views: 1, seenBy: ['a'] });
        const jar = cookie(viaA);
        const viaB = await request(b.url).get('/').set('Cookie', jar).expect(200);
        assert.equal(viaB.body.instance, 'b');
        assert.notEqual(viaB.body.pid, viaA.body.pid, 'two processes');
        assert.equal(viaB.body.views, 2, 'the session created via a is read through b');
        assert.deepEqual(viaB.body.seenBy, ['a', 'b']);
        const backToA = await request(a.url).get('/').set('Cookie', jar).expect(200);
        assert.equal(backToA.body.views, 3, 'and b\'s update is read through a');

        const viaC = await request(stranger.url).get('/').set('Cookie', jar).expect(200);
        assert.equal(viaC.body.views, 1, 'another secret: the cookie is not accepted, a new session starts');

        await request(b.url).post('/logout').set('Cookie', jar).expect(200);
        const afterLogout = await request(a.url).get('/').set('Cookie', jar).expect(200);
        assert.equal(afterLogout.body.views, 1, 'destroyed via b means gone for a');
      } finally {
        await Promise.all([a.stop(), b.stop(), stranger.stop()]);
      }
    });

    it('start.js launches two instances and stops both', async () => {
      const pair = await startExample('scale-out/start.js', { env: { REDIS_URL: redis.url, PORT_A: '0', PORT_B: '0' }, urls: 2 });
      let pids: number[] = [];
      try {
        assert.match(pair.output(), /\[a\] listening on/);
        assert.match(pair.output(), /\[b\] listening on/);
        const [urlA, urlB] = pair.urls as [string, string];
        const first = await request(urlA).get('/').expect(200);
        const second = await request(urlB).get('/').set('Cookie', cookie(first)).expect(200);
        assert.deepEqual([first.body.views, second.body.views], [1, 2]);
        assert.deepEqual(second.body.seenBy.sort(), ['a', 'b']);
        pids = [first.body.pid, second.body.pid];
        pair.child.kill('SIGTERM');
        assert.ok(await waitForExit(pair.child, 10_000), 'start.js exits on SIGTERM');
        assert.equal(pair.child.exitCode, 0);
        for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `instance ${pid} still running`);
      } finally {
        await pair.stop();
      }
    });
  });
});
