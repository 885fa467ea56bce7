/**
 * ESM entry of `express-session/redis`: re-exports the CommonJS implementation, so that `RedisStore` exists once
 * whether it is imported or required.
 */
import redis from './redis.js'

export const { RedisStore } = redis
export type {
  RedisStoreOptions,
  RedisClientLike,
  NodeRedisClientLike,
  NodeRedisClusterLike,
  IoRedisLike,
} from './redis.js'

/** The Redis session store. */
export type RedisStore = redis.RedisStore
