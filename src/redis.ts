/**
 * `express-session/redis`: the bundled Redis session store, over the application's own node-redis (4 or later)
 * or ioredis client, standalone or cluster (the client packages are optional peer dependencies).
 *
 * ```js
 * const { RedisStore } = require('express-session/redis')
 * ```
 */
import { RedisStore as RedisStoreClass } from './redis-store.js'

export type {
  RedisStoreOptions,
  RedisClientLike,
  NodeRedisClientLike,
  NodeRedisClusterLike,
  IoRedisLike,
} from './redis-store.js'

/** The Redis session store. */
export const RedisStore = RedisStoreClass
/** The Redis session store. */
export type RedisStore = RedisStoreClass
