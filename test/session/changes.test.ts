/**
 * Change sets: the key-by-key data JSON and the changes between two of them, against JSON.stringify.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { applyChanges, changesBetween, keyedDataJson } from '../../src/core/changes.js'
import type { Session } from '../../src/core/session.js'

const keys = fc.oneof(fc.string(), fc.constantFrom('', '"', '"a"', 'a\u0000b', '\u0000', 'cookie', '__proto__x'))
const data = fc.dictionary(keys, fc.oneof(fc.jsonValue(), fc.constant(undefined)))
/** A session-like object: the data as JSON.parse gives it (no prototype tricks), plus a cookie. */
/**
 * Two data objects: unrelated, or the second a copy of the first with at most one key set anew, so that equal data
 * (the copy) and near-equal data (one key) come up as often as different data.
 */
const pairs = fc.oneof(
  fc.tuple(data, data),
  fc.tuple(data, fc.option(keys), fc.oneof(fc.jsonValue(), fc.constant(undefined)))
    .map(([a, key, value]): [Record<string, unknown>, Record<string, unknown>] => [a, key === null ? { ...a } : { ...a, [key]: value }]),
)
const asSession = (value: object) => ({ ...JSON.parse(JSON.stringify(value)), cookie: { path: '/' } }) as unknown as Session
const withoutCookie = (value: object) => {
  const { cookie: _cookie, ...rest } = value as Record<string, unknown>
  return JSON.stringify(rest)
}

describe('keyedDataJson and changesBetween', () => {
  it('give equal texts exactly for sessions whose data JSON is equal', () => {
    fc.assert(fc.property(pairs, ([a, b]) => {
      const sa = asSession(a)
      const sb = asSession(b)
      assert.equal(keyedDataJson(sa).json === keyedDataJson(sb).json, withoutCookie(sa) === withoutCookie(sb))
    }), { numRuns: 500 })
  })

  it('give the changes that turn the stored data into the current data', () => {
    fc.assert(fc.property(pairs, ([a, b]) => {
      const stored = asSession(a)
      const current = asSession(b)
      const changes = changesBetween(keyedDataJson(stored).keys, keyedDataJson(current).keys, current, false)
      const applied = applyChanges(JSON.parse(JSON.stringify(stored)), changes)
      assert.deepEqual(JSON.parse(withoutCookie(applied)), JSON.parse(withoutCookie(current)))
    }), { numRuns: 500 })
  })

  it('tell apart keys that hold a NUL or start with a quote', () => {
    const one = keyedDataJson(asSession({ 'a\u00001': 2 })).json
    const other = keyedDataJson(asSession({ a: 1, '2': 2 })).json
    assert.notEqual(one, other)
    assert.notEqual(keyedDataJson(asSession({ '"a"': 1 })).json, keyedDataJson(asSession({ a: 1 })).json)
  })
})
