/**
 * How a request writes its session: the whole session (`set`), or only its changes, through the store's
 * atomic `patch` or, for a store without it and `concurrency: 'serialize'`, by re-reading and re-writing the
 * stored session one request at a time. A save that finds the session gone does not recreate it.
 * @internal
 */

import { applyChanges, changesBetween } from '../core/changes.js'
import type { Session } from '../core/session.js'
import type { SessionChanges, Store, StoredSession } from '../core/store.js'
import { debug } from '../lib/debug.js'
import { publishSessionEvent } from '../lib/diagnostics.js'
import { KeyedQueue } from '../lib/keyed-queue.js'
import { callStore } from '../lib/store-call.js'
import type { MiddlewareConfig } from './options.js'
import type { RequestState } from './request-state.js'

/** How modified sessions are written to a store. */
export type SaveMode = 'patch' | 'serialize' | 'overwrite'

/** The save mode for `store` under the `concurrency` option. */
export function saveModeOf(config: MiddlewareConfig, store: Store): SaveMode {
  if (config.concurrency === 'overwrite') return 'overwrite'
  if (typeof store.patch === 'function') return 'patch'
  return config.concurrency === 'serialize' ? 'serialize' : 'overwrite'
}

/** The saves and destroys of each session, one after another, per store (`concurrency: 'serialize'`). */
const queues = new WeakMap<Store, KeyedQueue>()

function queueOf(store: Store): KeyedQueue {
  let queue = queues.get(store)
  if (queue === undefined) queues.set(store, (queue = new KeyedQueue()))
  return queue
}

/**
 * Whether saving `sess` now writes only its changes: the store holds it as this request loaded or last saved
 * it, and the mode allows. A new or regenerated session, and every session under `resave: true`, is written whole.
 */
export function savesChanges(state: RequestState, store: Store, sess: Session): boolean {
  return state.savedKeys !== undefined && state.savedId === sess.id && saveModeOf(state.config, store) !== 'overwrite'
}

/** Records that the session `id` was gone when this request saved it: no cookie is sent for it. */
function sessionGone(state: RequestState, id: string): void {
  debug(state.req, 'session %s is no longer in the store (destroyed or expired meanwhile): not saved again', id)
  state.gone = true
  publishSessionEvent('gone', id, state.req)
}

/** Called when a save or destroy has finished, with the store's error if any. */
type SaveCallback = (err: Error | null) => void

/**
 * `concurrency: 'serialize'`: re-reads the stored session, applies `changes` and writes it back. Calls back
 * `existed: false`, writing nothing, when the store no longer has it.
 */
function readModifyWrite(
  state: RequestState, store: Store, id: string, changes: SessionChanges,
  callback: (err: Error | null, existed: boolean) => void,
): void {
  const { req, config } = state
  callStore<StoredSession>(store, 'get', [id], config.storeTimeout, (err, data) => {
    if (err && (err as { code?: unknown }).code !== 'ENOENT') return callback(err, true)
    if (err || !data) return callback(null, false)
    if (typeof data !== 'object') {
      return callback(new TypeError(`store.get(${JSON.stringify(id)}) returned ${typeof data}, not session data: changes not applied`), true)
    }
    callStore(store, 'set', [id, applyChanges(data, changes)], config.storeTimeout, (setErr) => {
      callback(setErr, true)
    }, req)
  }, req)
}

/**
 * Writes `sess` (whose data JSON is `json`) under `id`: its changes when {@link savesChanges}, else the whole
 * session. Records what the store now holds.
 */
export function saveSession(state: RequestState, store: Store, id: string, sess: Session, json: string, done: SaveCallback): void {
  const { req, config } = state
  const stored = savesChanges(state, store, sess) ? state.savedKeys : undefined
  if (stored === undefined) {
    state.saved(sess, json)
    callStore(store, 'set', [id, sess], config.storeTimeout, done, req)
    return
  }
  const changes = changesBetween(stored, state.keysOf(sess, json), sess, state.cookieChanged(sess))
  state.saved(sess, json)
  const finish = (err: Error | null, existed: unknown): void => {
    // a store that answers without a boolean is taken at its word that it applied the changes
    if (!err && existed === false) sessionGone(state, id)
    done(err)
  }
  if (saveModeOf(config, store) === 'patch') {
    debug(req, 'patching %s: %d set, %d unset', id, Object.keys(changes.set).length, changes.unset.length)
    callStore<boolean>(store, 'patch', [id, changes], config.storeTimeout, finish, req)
    return
  }
  debug(req, 'saving the changes of %s after the saves of this session queued before', id)
  queueOf(store).run(id, (release) => {
    readModifyWrite(state, store, id, changes, (err, existed) => {
      release()
      finish(err, existed)
    })
  })
}

/** Destroys the session `id` in the store; under `concurrency: 'serialize'`, in turn with its saves. */
export function destroySession(state: RequestState, store: Store, id: string, done: SaveCallback): void {
  const { req, config } = state
  if (saveModeOf(config, store) !== 'serialize') {
    callStore(store, 'destroy', [id], config.storeTimeout, done, req)
    return
  }
  queueOf(store).run(id, (release) => {
    callStore(store, 'destroy', [id], config.storeTimeout, (err) => {
      release()
      done(err)
    }, req)
  })
}
