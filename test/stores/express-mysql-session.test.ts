/**
 * express-mysql-session (mysql2) on a throwaway MariaDB. The store creates its table (`createDatabaseTable`,
 * the default) and is promise-based: it never calls our Store constructor and answers with promises
 * (it also calls a callback when given one). Expired rows are filtered by get() and deleted by its
 * clearExpired job, run here every 500 ms (`checkExpirationInterval`) in the HTTP part.
 *   node --import tsx --test test/stores/express-mysql-session.test.ts
 */
import session from 'express-session'
import MySQLStoreFactory from 'express-mysql-session'
import { startMariaDB, type MariaDBServer } from '../support/servers.js'
import { describeStore, pkgVersion, serverVersion } from '../support/store-harness.js'

interface MySQLStore extends session.Store {
  options: { schema: { tableName: string } }
  onReady(): Promise<void>
  close(): Promise<void>
  query(sql: string, params: unknown[]): Promise<[Array<Record<string, unknown>>, unknown]>
}

const MySQLStore = MySQLStoreFactory(session as never) as unknown as new (options: object) => MySQLStore

let server: MariaDBServer

const tables = { http: 'sessions', conformance: 'sessions_conformance' }

describeStore<MySQLStore>({
  title: `express-mysql-session ${pkgVersion('express-mysql-session')} (mysql2 ${pkgVersion('mysql2')}) on MariaDB ${serverVersion('mariadb')}`,
  requires: ['mariadb'],
  setup: async () => {
    server = await startMariaDB()
  },
  teardown: async () => {
    await server?.stop()
  },
  createStore: async (purpose) => {
    const store = new MySQLStore({
      ...server.connectionOptions,
      schema: { tableName: tables[purpose] },
      clearExpired: purpose === 'http',
      checkExpirationInterval: 500,
    })
    await store.onReady()
    return store
  },
  closeStore: (store) => store.close(),
  // the row's expires column (seconds) is the store's expiry
  inspect: async (store, sid) => {
    const [rows] = await store.query('SELECT expires FROM ?? WHERE session_id = ?', [store.options.schema.tableName, sid])
    return rows.length === 0 ? { present: false } : { present: true, expiresAt: Number(rows[0]!.expires) * 1000 }
  },
  expiryResolutionMs: 1000,
  shortMaxAgeMs: 1000,
  expiryMechanism: 'get() filters expired rows; its clearExpired job deletes them (checkExpirationInterval)',
})
