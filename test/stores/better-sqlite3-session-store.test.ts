/**
 * better-sqlite3-session-store (better-sqlite3) on a temp database file. Synchronous: it calls back before
 * returning. get() filters expired rows (comparing whole seconds); clearExpiredSessions() deletes them, every
 * `expired.intervalMs` (500 ms here, in the HTTP part).
 *
 * The store starts that interval with a timer it neither unrefs nor exposes, which would keep the process
 * alive forever; the tests capture it while constructing the store, to clear it when done.
 *   node --import tsx --test test/stores/better-sqlite3-session-store.test.ts
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import session from 'express-session'
import Database from 'better-sqlite3'
import SqliteStoreFactory from 'better-sqlite3-session-store'
import { describeStore, pkgVersion } from '../support/store-harness.js'

interface SqliteStore extends session.Store {
  client: Database.Database
  clearExpiredSessions(): void
}

const SqliteStore = SqliteStoreFactory(session) as unknown as new (options: object) => SqliteStore

let dir: string
const timers = new Map<SqliteStore, NodeJS.Timeout[]>()

/** `new SqliteStore(options)`, keeping the interval timers it starts. */
function construct(options: object): SqliteStore {
  const original = globalThis.setInterval
  const started: NodeJS.Timeout[] = []
  globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
    const timer = original(...args)
    started.push(timer)
    return timer
  }) as typeof setInterval
  try {
    const store = new SqliteStore(options)
    timers.set(store, started)
    return store
  } finally {
    globalThis.setInterval = original
  }
}

describeStore<SqliteStore>({
  title: `better-sqlite3-session-store ${pkgVersion('better-sqlite3-session-store')} (better-sqlite3 ${pkgVersion('better-sqlite3')}, temp file)`,
  setup: async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'es-test-better-sqlite3-'))
  },
  teardown: async () => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true })
  },
  // its table name is fixed ('sessions'): the conformance run gets its own database file
  createStore: (purpose) => construct({
    client: new Database(path.join(dir, `${purpose}.db`)),
    expired: { clear: true, intervalMs: purpose === 'http' ? 500 : 900_000 },
  }),
  closeStore: (store) => {
    for (const timer of timers.get(store) ?? []) clearInterval(timer)
    store.client.close()
  },
  // the row's expire column (ISO time) is the store's expiry
  inspect: async (store, sid) => {
    const row = store.client.prepare('SELECT expire FROM sessions WHERE sid = ?').get(sid) as { expire: string } | undefined
    return row ? { present: true, expiresAt: Date.parse(row.expire) } : { present: false }
  },
  expiryResolutionMs: 1000,
  shortMaxAgeMs: 2000,
  expiryMechanism: 'get() filters expired rows; clearExpiredSessions() deletes them every expired.intervalMs',
  conformance: {
    knownIssues: { all: 'its all() calls back with the raw table rows ({ sid, sess: <JSON string>, expire }), not sessions' },
  },
})
