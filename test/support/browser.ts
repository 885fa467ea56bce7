/**
 * Helpers for the real-browser tests (and for anything else needing a TLS certificate):
 * launching Debian's Chromium through playwright-core, and a throwaway self-signed certificate made with openssl.
 *
 *   describe('browser', { skip: skipUnless('chromium') }, () => { ... launchChromium() ... })
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserContext, type LaunchOptions } from 'playwright-core';
import { chromiumPath, findBinary } from './servers.js';

/** Flags for a quiet, headless Chromium in a container: no sandbox, no GPU, no background traffic. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

function launchOptions(): LaunchOptions {
  return { executablePath: chromiumPath() ?? '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS, timeout: 60_000 };
}

/** A fresh Chromium (incognito-like contexts: nothing outlives `browser.close()`). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch(launchOptions());
}

/**
 * Chromium with a profile on disk: close it and launch again with the same `userDataDir` to simulate the user
 * quitting and restarting the browser (persistent cookies survive, session cookies do not).
 */
export function launchPersistentChromium(userDataDir: string, options: { ignoreHTTPSErrors?: boolean } = {}): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, { ...launchOptions(), ...options });
}

export interface Certificate {
  key: string;
  cert: string;
  keyFile: string;
  certFile: string;
  /** Removes the temp dir holding the files. */
  remove(): void;
}

/** Why selfSignedCertificate() cannot work here ('openssl not installed'), or undefined. */
export function missingOpenssl(): string | undefined {
  return findBinary('openssl') ? undefined : 'openssl not installed';
}

/** A self-signed certificate for localhost and 127.0.0.1, valid for two days, in a fresh temp dir. */
export function selfSignedCertificate(): Certificate {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'es-test-tls-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync(
    findBinary('openssl') ?? 'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-keyout', keyFile, '-out', certFile,
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return {
    key: fs.readFileSync(keyFile, 'utf8'),
    cert: fs.readFileSync(certFile, 'utf8'),
    keyFile,
    certFile,
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
