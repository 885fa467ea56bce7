/**
 * The `proxy` option of `session(options)`: what makes a request count as secure, seen through a
 * `cookie.secure: true` session cookie (sent only on secure requests).
 */
import { describe, it, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import https from 'node:https'
import os from 'node:os'
import path from 'node:path'
import request from 'supertest'
import {
  CountingStore,
  createExpressApp,
  shouldNotSetCookie,
  shouldSetCookieWithAttribute,
  type ExpressAppSetup,
} from '../support/http.js'

const NAME = 'connect.sid'

/** An app whose session cookie is `Secure`, so that it is only sent when the request counts as secure. */
function secureApp(proxy: boolean | undefined, setup?: ExpressAppSetup) {
  return createExpressApp({ proxy, cookie: { secure: true } }, undefined, setup)
}

const trustProxy: ExpressAppSetup = { before: (app) => app.set('trust proxy', true) }

describe('proxy option', () => {
  describe('when true', () => {
    it('trusts X-Forwarded-Proto: https', async () => {
      await request(secureApp(true)).get('/').set('X-Forwarded-Proto', 'https').expect(shouldSetCookieWithAttribute(NAME, 'Secure')).expect(200)
    })

    it('compares the protocol case-insensitively', async () => {
      await request(secureApp(true)).get('/').set('X-Forwarded-Proto', 'HTTPS').expect(shouldSetCookieWithAttribute(NAME, 'Secure')).expect(200)
    })

    it('uses the first value of a comma-separated X-Forwarded-Proto', async () => {
      await request(secureApp(true)).get('/').set('X-Forwarded-Proto', 'https, http').expect(shouldSetCookieWithAttribute(NAME, 'Secure')).expect(200)
      await request(secureApp(true)).get('/').set('X-Forwarded-Proto', 'https,http,http').expect(shouldSetCookieWithAttribute(NAME, 'Secure')).expect(200)
      await request(secureApp(true)).get('/').set('X-Forwarded-Proto', 'http, https').expect(shouldNotSetCookie()).expect(200)
    })

    it('counts X-Forwarded-Proto: http as insecure', async () => {
      await request(secureApp(true)).get('/').set('X-Forwarded-Proto', 'http').expect(shouldNotSetCookie()).expect(200)
    })

    it('counts a request without X-Forwarded-Proto as insecure', async () => {
      await request(secureApp(true)).get('/').expect(shouldNotSetCookie()).expect(200)
    })

    it('does not need the Express "trust proxy" setting', async () => {
      const app = createExpressApp({ proxy: true, cookie: { secure: true } }, (req, res) => {
        res.end(String(req.secure))
      })
      await request(app).get('/').set('X-Forwarded-Proto', 'https').expect(shouldSetCookieWithAttribute(NAME, 'Secure')).expect(200, 'false')
    })

    it('still saves the session when the cookie is not sent', async () => {
      const store = new CountingStore()
      const app = createExpressApp({ store, proxy: true, cookie: { secure: true } }, (req, res) => {
        req.session.seen = true
        res.end(req.session.id)
      })
      const res = await request(app).get('/').set('X-Forwarded-Proto', 'http').expect(shouldNotSetCookie()).expect(200)
      assert.equal(store.stored(res.text)?.seen, true)
    })
  })

  describe('when false', () => {
    it('ignores X-Forwarded-Proto', async () => {
      await request(secureApp(false)).get('/').set('X-Forwarded-Proto', 'https').expect(shouldNotSetCookie()).expect(200)
    })

    it('ignores req.secure from the Express "trust proxy" setting', async () => {
      const app = createExpressApp({ proxy: false, cookie: { secure: true } }, (req, res) => {
        res.end(String(req.secure))
      }, trustProxy)
      await request(app).get('/').set('X-Forwarded-Proto', 'https').expect(shouldNotSetCookie()).expect(200, 'true')
    })
  })

  describe('when undefined', () => {
    it('does not trust X-Forwarded-Proto by itself', async () => {
      await request(secureApp(undefined)).get('/').set('X-Forwarded-Proto', 'https').expect(shouldNotSetCookie()).expect(200)
    })

    it('uses req.secure, from the Express "trust proxy" setting', async () => {
      await request(secureApp(undefined, trustProxy))
        .get('/')
        .set('X-Forwarded-Proto', 'https')
        .expect(shouldSetCookieWithAttribute(NAME, 'Secure'))
        .expect(200)
      await request(secureApp(undefined, trustProxy)).get('/').set('X-Forwarded-Proto', 'http').expect(shouldNotSetCookie()).expect(200)
    })

    it('follows "trust proxy" set to a hop count', async () => {
      const app = secureApp(undefined, { before: (app) => app.set('trust proxy', 1) })
      await request(app).get('/').set('X-Forwarded-Proto', 'https').expect(shouldSetCookieWithAttribute(NAME, 'Secure')).expect(200)
    })
  })

  describe('over a TLS connection', () => {
    let dir: string | undefined
    let tls: { key: Buffer; cert: Buffer } | undefined

    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'express-session-tls-'))
      const key = path.join(dir, 'key.pem')
      const cert = path.join(dir, 'cert.pem')
      try {
        execFileSync('openssl', [
          'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
          '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost',
        ], { stdio: 'ignore' })
        tls = { key: fs.readFileSync(key), cert: fs.readFileSync(cert) }
      } catch {
        // no openssl: the same behaviour is checked through X-Forwarded-Proto below
        tls = undefined
      }
    })

    after(() => {
      if (dir) fs.rmSync(dir, { recursive: true, force: true })
    })

    /**
     * GET / on `app` over a secure connection: real TLS with the generated certificate, or, without
     * openssl, plain HTTP with X-Forwarded-Proto (the request is then secure only for proxy: true).
     */
    function secureGet(app: ReturnType<typeof createExpressApp>, headers: Record<string, string> = {}) {
      if (tls === undefined) {
        return request(app).get('/').set({ 'X-Forwarded-Proto': 'https', ...headers })
      }
      return request(https.createServer(tls, app)).get('/').disableTLSCerts().set(headers)
    }

    for (const proxy of [true, false, undefined]) {
      it(`always counts as secure (proxy: ${proxy})`, async (t) => {
        if (tls === undefined && proxy !== true) {
          t.skip('openssl is not available to make a certificate')
          return
        }
        await secureGet(secureApp(proxy)).expect(shouldSetCookieWithAttribute(NAME, 'Secure')).expect(200)
      })
    }

    it('counts as secure even when X-Forwarded-Proto says http', async (t) => {
      if (tls === undefined) {
        t.skip('openssl is not available to make a certificate')
        return
      }
      await secureGet(secureApp(true), { 'X-Forwarded-Proto': 'http' }).expect(shouldSetCookieWithAttribute(NAME, 'Secure')).expect(200)
    })

    it('resolves secure "auto" and sameSite "auto" as secure', async () => {
      await secureGet(createExpressApp({ proxy: tls === undefined ? true : false, cookie: { secure: 'auto', sameSite: 'auto' } }))
        .expect(shouldSetCookieWithAttribute(NAME, 'Secure'))
        .expect(shouldSetCookieWithAttribute(NAME, 'SameSite', 'None'))
        .expect(200)
    })
  })
})
