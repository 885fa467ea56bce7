/**
 * session-file-store: one JSON file per session in a temp dir. A missing file is an ENOENT error from get(),
 * which express-session reads as "not found". Expiry is its own: `__lastAccess` + cookie.originalMaxAge
 * (or `ttl`), checked on read; its reaper deletes expired files every `reapInterval` seconds (1 s here, in the
 * HTTP part). `retries: 0` (its documented option) stops it retrying a missing file 5 times before answering.
 *   node --import tsx --test test/stores/session-file-store.test.ts
 */
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import session from 'express-session'
import FileStoreFactory from 'session-file-store'
import { describeStore, pkgVersion } from '../support/store-harness.js'

interface FileStore extends session.Store {
  options: { path: string; reapIntervalObject?: NodeJS.Timeout }
}

const FileStore = FileStoreFactory(session) as unknown as new (options: object) => FileStore

let dir: string

describeStore<FileStore>({
  title: `session-file-store ${pkgVersion('session-file-store')} (files in a temp dir)`,
  setup: async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'es-test-file-store-'))
  },
  teardown: async () => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true })
  },
  createStore: (purpose) => new FileStore({
    path: path.join(dir, purpose),
    retries: 0,
    reapInterval: purpose === 'http' ? 1 : -1,
    logFn: () => undefined,
  }),
  closeStore: (store) => clearInterval(store.options.reapIntervalObject),
  // the file, and its __lastAccess + originalMaxAge (what the store's isExpired() uses)
  inspect: async (store, sid) => {
    let json: string
    try {
      json = fs.readFileSync(path.join(store.options.path, `${sid}.json`), 'utf8')
    } catch {
      return { present: false }
    }
    const data = JSON.parse(json) as { __lastAccess: number; cookie: { originalMaxAge: number | null } }
    return { present: true, expiresAt: data.__lastAccess + (data.cookie.originalMaxAge ?? 3600 * 1000) }
  },
  expiryResolutionMs: 10,
  shortMaxAgeMs: 1000,
  expiryMechanism: 'get() ignores expired files; its reaper deletes them every reapInterval',
})
