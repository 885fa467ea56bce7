/**
 * The middleware's first property add on Express's `req` and `res` switches them to dictionary mode (see
 * src/dictionary-mode.ts). What an application sees must not change; V8's view is checked in a child process
 * with `--allow-natives-syntax`.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { assignInDictionaryMode } from '../src/dictionary-mode.js'

/** Runs `body` (CommonJS, natives syntax allowed) in a child node from the project root; returns its JSON output. */
function inV8(body: string): unknown {
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '-e', body], { encoding: 'utf8' })
  return JSON.parse(out)
}

describe('assignInDictionaryMode', () => {
  it('assigns like plain assignment: own, enumerable, writable, last in key order', () => {
    const target: Record<string, unknown> = { a: 1, b: 2 }
    assignInDictionaryMode(target, 'c', 3)
    assert.deepEqual(Object.keys(target), ['a', 'b', 'c'])
    assert.deepEqual(Object.getOwnPropertyDescriptor(target, 'c'), { value: 3, writable: true, enumerable: true, configurable: true })
  })

  it('replaces an existing own property in place, as plain assignment does', () => {
    const target: Record<string, unknown> = { a: 1, b: 2 }
    assignInDictionaryMode(target, 'a', 9)
    assert.equal(target.a, 9)
    assert.deepEqual(Object.keys(target), ['a', 'b'])
  })

  it('calls a setter on the prototype chain once and adds no own property', () => {
    const seen: unknown[] = []
    const proto = { set x(v: unknown) { seen.push(v) } }
    const target = Object.create(proto) as object
    assignInDictionaryMode(target, 'x', 5)
    assert.deepEqual(seen, [5])
    assert.equal(Object.hasOwn(target, 'x'), false)
  })

  it('leaves an own accessor in place (its setter runs once)', () => {
    const seen: unknown[] = []
    const target = {}
    Object.defineProperty(target, 'end', { configurable: true, enumerable: true, get: () => 'wrapped', set: (v) => seen.push(v) })
    assignInDictionaryMode(target, 'end', 7)
    assert.deepEqual(seen, [7])
    assert.equal(typeof Object.getOwnPropertyDescriptor(target, 'end')!.set, 'function')
  })

  it('leaves a non-configurable writable property assigned, without throwing', () => {
    const target = {}
    Object.defineProperty(target, 'x', { value: 1, writable: true, configurable: false, enumerable: true })
    assignInDictionaryMode(target, 'x', 2)
    assert.equal((target as { x: number }).x, 2)
  })

  it('assigns on a Proxy that refuses deletes, without throwing', () => {
    const target = new Proxy({} as Record<string, unknown>, {
      deleteProperty() {
        throw new Error('no deletes here')
      },
    })
    assignInDictionaryMode(target, 'sessionStore', 'store')
    assert.equal(target.sessionStore, 'store')
  })

  it('throws as strict-mode assignment does on a frozen object', () => {
    assert.throws(() => assignInDictionaryMode(Object.freeze({}), 'x', 1), TypeError)
  })

  it('switches an object whose prototype was replaced to dictionary mode, and only such an object', () => {
    const result = inV8(`
      const { assignInDictionaryMode } = require('./dist/dictionary-mode.js')
      const replaced = { a: 1 }; Object.setPrototypeOf(replaced, { p: 1 })
      assignInDictionaryMode(replaced, 'b', 2)
      const plain = { a: 1 }
      assignInDictionaryMode(plain, 'b', 2)
      process.stdout.write(JSON.stringify({ replaced: %HasFastProperties(replaced), plain: %HasFastProperties(plain), b: replaced.b }))
    `)
    assert.deepEqual(result, { replaced: false, plain: true, b: 2 })
  })
})

describe('requests through the middleware', () => {
  /** A child that sends one request through `app` and prints V8's view of req and res inside the route. */
  const probe = (framework: string) => `
    const http = require('node:http')
    const session = require('express-session')
    const express = require(${JSON.stringify(framework)})
    const app = express()
    app.use(session({ secret: 'k', resave: false, saveUninitialized: false }))
    app.get('/', (req, res) => {
      req.session.n = 1
      const view = { reqFast: %HasFastProperties(req), resFast: %HasFastProperties(res),
        store: req.sessionStore === undefined ? 'missing' : 'ok', keys: Object.keys(req).filter((k) => k.startsWith('session')) }
      res.send('ok')
      process.stdout.write(JSON.stringify(view), () => process.exit(0))
    })
    const server = app.listen(0, '127.0.0.1', () => http.get({ host: '127.0.0.1', port: server.address().port, path: '/' }, (r) => r.resume()))
  `

  for (const framework of ['express', 'express5']) {
    it(`leaves Express's req and res in dictionary mode (${framework}), session properties in place`, () => {
      const view = inV8(probe(framework)) as { reqFast: boolean; resFast: boolean; store: string; keys: string[] }
      assert.equal(view.reqFast, false)
      assert.equal(view.resFast, false)
      assert.equal(view.store, 'ok')
      assert.deepEqual(view.keys, ['sessionStore', 'sessionID', 'session'])
    })
  }

  it('leaves a plain node:http request in fast mode', () => {
    const view = inV8(`
      const http = require('node:http')
      const session = require('express-session')
      const mw = session({ secret: 'k', resave: false, saveUninitialized: false })
      const server = http.createServer((req, res) => mw(req, res, () => {
        const view = { reqFast: %HasFastProperties(req), resFast: %HasFastProperties(res) }
        res.end('ok')
        process.stdout.write(JSON.stringify(view), () => process.exit(0))
      }))
      server.listen(0, '127.0.0.1', () => http.get({ host: '127.0.0.1', port: server.address().port, path: '/' }, (r) => r.resume()))
    `)
    assert.deepEqual(view, { reqFast: true, resFast: true })
  })
})
