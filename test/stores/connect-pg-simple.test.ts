/**
 * connect-pg-simple with pg, on a throwaway PostgreSQL. The store creates its table from its table.sql
 * (`createTableIfMissing: true`). Expired rows are filtered out by get() and deleted by its prune job
 * (`pruneSessions()`, every `pruneSessionInterval`, 15 min by default), which the expiry checks run.
 *   node --import tsx --test test/stores/connect-pg-simple.test.ts
 */
import session from 'express-session'
import connectPgSimple from 'connect-pg-simple'
import pg from 'pg'
import { startPostgres, type PostgresServer } from '../support/servers.js'
import { describeStore, pkgVersion, serverVersion, sleep } from '../support/store-harness.js'

interface PGStore extends session.Store {
  pruneSessions(callback?: (err: Error | null) => void): void
  close(): Promise<void>
}

const PGStore = connectPgSimple(session) as unknown as new (options: object) => PGStore

let server: PostgresServer
let pool: pg.Pool

// The conformance run gets its own schema: table.sql names its primary key and index after the table
// 'session' whatever the table is called, so a second table in the same schema cannot be created.
const schemas = { http: undefined, conformance: 'conformance' }

describeStore<PGStore>({
  title: `connect-pg-simple ${pkgVersion('connect-pg-simple')} (pg ${pkgVersion('pg')}) on PostgreSQL ${serverVersion('postgres')}`,
  requires: ['postgres'],
  setup: async () => {
    server = await startPostgres()
    pool = new pg.Pool({ connectionString: server.connectionString, max: 20 })
    await pool.query('CREATE SCHEMA conformance')
  },
  teardown: async () => {
    await pool?.end()
    // pool.end() resolves before the pool's sockets have closed: wait until the server has no other client
    // backends, or stopping it makes those sockets emit unhandled 'terminating connection' errors.
    if (server) {
      const client = new pg.Client({ connectionString: server.connectionString })
      await client.connect()
      for (let i = 0; i < 50; i++) {
        const { rows } = await client.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")
        if (rows[0].n === 0) break
        await sleep(20)
      }
      await client.end()
    }
    await server?.stop()
  },
  // one pool for both stores; no prune timer (the tests prune when they need to)
  createStore: (purpose) => new PGStore({ pool, schemaName: schemas[purpose], createTableIfMissing: true, pruneSessionInterval: false }),
  closeStore: (store) => store.close(),
  // the row's expire column is the store's expiry
  inspect: async (store, sid) => {
    const table = (store as unknown as { quotedTable(): string }).quotedTable()
    const { rows } = await pool.query(`SELECT extract(epoch from expire::timestamptz) * 1000 AS ms FROM ${table} WHERE sid = $1`, [sid])
    return rows.length === 0 ? { present: false } : { present: true, expiresAt: Number(rows[0].ms) }
  },
  expiryResolutionMs: 1000,
  shortMaxAgeMs: 1000,
  expiryMechanism: 'get() filters expired rows; its prune job (pruneSessions()) deletes them',
  prune: (store) => new Promise((resolve, reject) => store.pruneSessions((err) => (err ? reject(err) : resolve()))),
})
