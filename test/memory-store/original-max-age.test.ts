/**
 * The bundled MemoryStore through the shared store tests and the conformance kit.
 *   node --import tsx --test test/memory-store/original-max-age.test.ts
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import session from 'express-session'
import { describeStore, pkgVersion } from '../support/store-harness.js'

describeStore<session.MemoryStore>({
  title: `MemoryStore (express-session ${pkgVersion('express-session')}, in process)`,
  createStore: () => new session.MemoryStore(),
  closeStore: (store) => store.close(),
  // the stored JSON's cookie.expires is the store's expiry
  inspect: async (store, sid) => {
    const json = store.sessions[sid]
    if (json === undefined) return { present: false }
    const expires = (JSON.parse(json) as { cookie?: { expires?: string | null } }).cookie?.expires
    return { present: true, expiresAt: expires ? Date.parse(expires) : undefined }
  },
  expiryResolutionMs: 10,
  shortMaxAgeMs: 1000,
  expiryMechanism: 'get() drops expired entries; a sweep every checkPeriod (default 60 s) removes the rest',
  conformance: { expiryMs: 1000 },
})

// Stores persist cookie.originalMaxAge; it must be the configured lifetime exactly, on every save and touch.
describe('cookie.originalMaxAge as stores persist it', () => {
  it('is exactly maxAge even when the clock ticks while it is set, and does not drift with touch()', (t) => {
    let now = Date.parse('2024-01-01T00:00:00.000Z')
    t.mock.method(Date, 'now', () => now++) // every reading of the clock is a millisecond later
    const cookie = new session.Cookie({ maxAge: 60_000 })
    assert.equal(cookie.originalMaxAge, 60_000)
    const sess = new session.Session({ sessionID: 'x' }, {})
    sess.cookie = cookie
    for (let i = 0; i < 100; i++) sess.touch()
    assert.equal(JSON.parse(JSON.stringify(sess)).cookie.originalMaxAge, 60_000)
    assert.ok(cookie.expires instanceof Date && cookie.expires.getTime() >= now + 59_990)
  })
})
