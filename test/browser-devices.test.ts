/**
 * The demo's "your devices" page in a real browser: Debian's Chromium driven by playwright-core.
 *
 * Three browser contexts are three devices with cookie jars of their own: a laptop and a phone logged in as the
 * same user, and a third device of another user. From the laptop, "Log out all other devices" must log the phone
 * out (its next page shows the login form), keep the laptop logged in, and leave the other user alone.
 * Everything is asserted on what the user sees on the page.
 *
 * Without /usr/bin/chromium the file is skipped with one line; under CI=true that is a failure.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { skipUnless } from './support/servers.js';
import { launchChromium } from './support/browser.js';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createApp } = require('../examples/demo.js') as { createApp: (options?: object) => Express };

const TEST_TIMEOUT = 60_000;
const LAPTOP_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const PHONE_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36';

describe('a real Chromium on the demo\'s "your devices" page', { skip: skipUnless('chromium'), timeout: 3 * TEST_TIMEOUT }, () => {
  let browser: Browser;
  let server: http.Server;
  let base: string;
  const contexts: BrowserContext[] = [];

  before(async () => {
    browser = await launchChromium();
    server = http.createServer(createApp());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await new Promise<void>((resolve) => {
      if (!server) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  });

  /** A new "device" (browser context with its own cookies and User-Agent), logged in as `name` on its home page. */
  async function device(name: string, userAgent?: string): Promise<Page> {
    const context = await browser.newContext(userAgent ? { userAgent } : {});
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(base + '/');
    await page.fill('#name', name);
    await Promise.all([page.waitForURL(base + '/'), page.click('#login')]);
    assert.equal(await page.textContent('#user strong'), name);
    return page;
  }

  /** The text of each entry of the devices list, in order. */
  async function listed(page: Page): Promise<string[]> {
    return (await page.locator('#devices li').allTextContents()).map((text) => text.replace(/\s+/g, ' ').trim());
  }

  it('logging out the others from the laptop logs the phone out, keeps the laptop in, leaves another user alone', { timeout: TEST_TIMEOUT }, async () => {
    const laptop = await device('ada', LAPTOP_UA);
    const phone = await device('ada', PHONE_UA);
    const stranger = await device('grace');

    // The laptop's devices page: two sessions, this one first and marked, each named by its browser.
    await Promise.all([laptop.waitForURL(base + '/devices'), laptop.click('a[href="/devices"] >> nth=0')]);
    assert.equal(await laptop.textContent('h1'), 'Your devices');
    let entries = await listed(laptop);
    assert.equal(entries.length, 2, entries.join('\n'));
    assert.match(entries[0]!, /^Firefox 128 on Linux this device/);
    assert.ok(entries[0]!.includes(LAPTOP_UA), 'the full User-Agent is shown too');
    assert.match(entries[1]!, /^Chrome 126 on Android/);
    assert.doesNotMatch(entries[1]!, /this device/);
    assert.equal(await laptop.locator('#devices li.current').count(), 1);
    assert.match(entries[0]!, /created (?:just now|\d+ s ago) · last seen (?:just now|\d+ s ago) · expires when the browser closes/);

    // The phone sees the same two, with itself marked.
    await phone.goto(base + '/devices');
    entries = await listed(phone);
    assert.equal(entries.length, 2);
    assert.match(entries[0]!, /^Chrome 126 on Android this device/);

    // The laptop logs out all the others.
    await Promise.all([laptop.waitForURL(/\/devices\?loggedOut=1$/), laptop.click('#logout-others')]);
    assert.equal((await laptop.textContent('#logged-out'))?.trim(), 'Logged out 1 other session.');
    entries = await listed(laptop);
    assert.equal(entries.length, 1, entries.join('\n'));
    assert.match(entries[0]!, /^Firefox 128 on Linux this device/);
    assert.equal(await laptop.isDisabled('#logout-others'), true, 'nothing left to log out');

    // The phone's next page load: logged out, sent home to the login form.
    await phone.reload();
    assert.equal(new URL(phone.url()).pathname, '/', '/devices sends a logged-out visitor home');
    assert.equal(await phone.locator('#user').count(), 0, 'no user on the phone');
    assert.equal(await phone.isVisible('#login'), true, 'the login form instead');
    assert.equal(await phone.textContent('h1'), 'Session demo');
    assert.equal(await phone.textContent('#views'), '1', 'a fresh session');

    // The laptop is still logged in.
    await laptop.goto(base + '/');
    assert.equal(await laptop.textContent('#user strong'), 'ada');

    // Another user is untouched: still logged in, with one device.
    await stranger.reload();
    assert.equal(await stranger.textContent('#user strong'), 'grace');
    await stranger.goto(base + '/devices');
    entries = await listed(stranger);
    assert.equal(entries.length, 1);
    assert.match(entries[0]!, /this device/);
  });
});
