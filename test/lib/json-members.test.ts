/**
 * jsonMembers / jsonObject and applyChangesToJson: the MemoryStore's patch on stored JSON text, checked
 * against JSON.parse and against applyChanges on the parsed session.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { jsonMembers, jsonObject, withFirstMember } from '../../src/lib/json-members.js'
import { applyChanges, applyChangesToJson } from '../../src/core/changes.js'

const objects = fc.dictionary(fc.string(), fc.jsonValue())

describe('jsonMembers', () => {
  it('finds each member of any JSON object, compact or indented, as JSON.parse sees it', () => {
    fc.assert(fc.property(objects, fc.constantFrom(undefined, 2, '\t'), (generated, indent) => {
      // as JSON.parse builds it (fast-check's dictionaries have no prototype)
      const obj = JSON.parse(JSON.stringify(generated))
      const members = jsonMembers(JSON.stringify(obj, null, indent))
      assert.ok(members)
      assert.deepEqual([...members.keys()], Object.keys(obj))
      for (const [key, json] of members) assert.deepEqual(JSON.parse(json), obj[key])
      assert.deepEqual(JSON.parse(jsonObject(members)), obj)
      if (indent === undefined) assert.equal(jsonObject(members), JSON.stringify(obj), 'compact text comes back the same')
    }), { numRuns: 300 })
  })

  it('answers undefined for anything that is not a JSON object', () => {
    for (const text of ['', '[]', 'null', '"x"', '1', '{', '{"a"}', '{"a":}', '{"a":1,}', '{"a":1}x', '{a:1}', '{"a":"x}', '{"\\q":1}', '{"a":[1}']) {
      assert.equal(jsonMembers(text), undefined, text)
    }
  })

  it('ends each string at the first quote no backslash escapes, whatever the run of backslashes before it', () => {
    const obj = { a: 'x\\', b: '"q"', c: '\\"', 'k\\"': ['\\\\', { d: '\\\"' }], e: '' }
    const members = jsonMembers(JSON.stringify(obj))
    assert.ok(members)
    assert.deepEqual(Object.fromEntries([...members].map(([key, json]) => [key, JSON.parse(json)])), obj)
    assert.equal(jsonMembers('{"a":"x\\"}x"}')?.get('a'), '"x\\"}x"')
    assert.equal(jsonMembers('{"a":"x\\\\"}')?.get('a'), '"x\\\\"')
    assert.equal(jsonMembers('{"a":"x\\\\\\"}'), undefined, 'the last quote escaped: the string never ends')
  })

  it('keeps the last of repeated keys at the first one\'s place, as JSON.parse does', () => {
    const text = '{"a":1,"b":2,"a":3}'
    assert.deepEqual(JSON.parse(jsonObject(jsonMembers(text)!)), JSON.parse(text))
  })
})

describe('applyChangesToJson', () => {
  it('gives what applyChanges gives on the parsed session', () => {
    const changes = fc.record({
      set: fc.dictionary(fc.string(), fc.oneof(fc.jsonValue(), fc.constant(undefined), fc.date({ noInvalidDate: true }))),
      unset: fc.array(fc.string()),
    })
    fc.assert(fc.property(objects, changes, (stored, { set, unset }) => {
      const cookie = { originalMaxAge: 1000, expires: new Date(0), path: '/' }
      const text = JSON.stringify({ ...stored, cookie: { path: '/old' } })
      const all = { set, unset, cookie, cookieChanged: true }
      const expected = JSON.parse(JSON.stringify(applyChanges(JSON.parse(text), all)))
      const actual = JSON.parse(jsonObject(applyChangesToJson(jsonMembers(text)!, all)))
      assert.deepEqual(actual, expected)
    }), { numRuns: 300 })
  })
})

describe('withFirstMember', () => {
  it('gives what parsing, replacing the member and serializing again gives, or undefined', () => {
    fc.assert(fc.property(objects, fc.jsonValue(), fc.jsonValue(), (rest, first, replacement) => {
      const obj = JSON.parse(JSON.stringify({ cookie: first, ...rest }))
      const text = JSON.stringify(obj)
      const touched = withFirstMember(text, 'cookie', JSON.stringify(replacement))
      obj.cookie = JSON.parse(JSON.stringify(replacement))
      if (touched !== undefined) assert.equal(touched, JSON.stringify(obj))
      else assert.ok(text.includes('\\u') || text.indexOf('"cookie"', 1) !== -1, `declined ${text}`)
    }), { numRuns: 300 })
  })

  it('declines text whose first member is another key, a repeated key, or text that is not an object', () => {
    for (const text of ['{"a":1,"cookie":{}}', '{"cookie":{},"cookie":{}}', '{"cookie":{},"\\u0063ookie":{}}', '{ "cookie":{}}',
      '{"cookie":{}x', '{"cookie":{', 'null', '{"cookie":{}} ']) {
      assert.equal(withFirstMember(text, 'cookie', '{"a":1}'), undefined, text)
    }
    assert.equal(withFirstMember('{"cookie":{"p":"}"}}', 'cookie', '{"a":1}'), '{"cookie":{"a":1}}')
    assert.equal(withFirstMember('{"cookie":null,"x":[1]}', 'cookie', '{"a":1}'), '{"cookie":{"a":1},"x":[1]}')
  })
})
