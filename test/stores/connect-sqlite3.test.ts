/**
 * connect-sqlite3 (sqlite3) on a temp database file. It finds our Store through `require('express-session').Store`
 * (it checks `.session` first, which this package does not export). get() filters expired rows; they are deleted
 * at start-up and by a once-a-day cleanup, so an expired row may stay in the table until then.
 *   node --import tsx --test test/stores/connect-sqlite3.test.ts
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import session from 'express-session'
import SQLiteStoreFactory from 'connect-sqlite3'
import { describeStore, pkgVersion } from '../support/store-harness.js'

interface SqliteDb {
  get(sql: string, params: unknown[], cb: (err: Error | null, row?: Record<string, unknown>) => void): void
  close(cb?: (err: Error | null) => void): void
}

interface SQLiteStore extends session.Store {
  table: string
  db: SqliteDb
  client: NodeJS.EventEmitter
}

const SQLiteStore = SQLiteStoreFactory(session) as unknown as new (options: object) => SQLiteStore

let dir: string

const tables = { http: 'sessions', conformance: 'sessions_conformance' }

describeStore<SQLiteStore>({
  title: `connect-sqlite3 ${pkgVersion('connect-sqlite3')} (sqlite3 ${pkgVersion('sqlite3')}, temp file)`,
  setup: async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'es-test-sqlite3-'))
  },
  teardown: async () => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true })
  },
  createStore: async (purpose) => {
    const store = new SQLiteStore({ dir, db: 'sessions.db', table: tables[purpose] })
    // the table is created asynchronously; the store says so with 'connect' on store.client
    await new Promise((resolve) => store.client.once('connect', resolve))
    return store
  },
  closeStore: (store) => new Promise<void>((resolve, reject) => store.db.close((err) => (err ? reject(err) : resolve()))),
  // the row's expired column (ms) is the store's expiry
  inspect: (store, sid) => new Promise((resolve, reject) => {
    store.db.get(`SELECT expired FROM ${store.table} WHERE sid = ?`, [sid], (err, row) => {
      if (err) reject(err)
      else resolve(row ? { present: true, expiresAt: Number(row.expired) } : { present: false })
    })
  }),
  expiryResolutionMs: 10,
  shortMaxAgeMs: 1000,
  expiryMechanism: 'get() filters expired rows; a daily cleanup deletes them (not run here)',
  lazyRecords: true,
})
