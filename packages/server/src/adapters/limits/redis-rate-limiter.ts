import type { RateLimiter } from '../../limits/rate-limiter.js';
import type { BucketSpec } from '../../limits/token-bucket.js';
import { closeRedis, connectionName, openRedis, type RedisClient, type RedisConnectionOptions } from '../redis/connect.js';

export interface RedisRateLimiterOptions {
  redis: RedisConnectionOptions;
  /** Prefix of every key (e.g. `confab:`). */
  keyPrefix: string;
  onError?: (err: unknown) => void;
}

/*
 * Redis layout (P = keyPrefix):
 *   P limit:<key>   hash {t: tokens, at: ms}; expires once the bucket would
 *                   be full again (a missing bucket is a full one)
 *
 * One script per take touches one key, so on a Redis Cluster it runs on that
 * key's shard and is atomic there. Numbers cross into Lua as strings and are
 * written back with %.17g, which round-trips a double exactly.
 */

/** KEYS[1] bucket; ARGV capacity, refill per ms, cost, now. Returns 0 (taken) or the ms to wait. */
const TAKE = `
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local saved = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = cap
local at = now
if saved[1] then
  tokens = tonumber(saved[1])
  at = tonumber(saved[2])
  if now > at then tokens = math.min(cap, tokens + (now - at) * rate) end
end
if cost > 0 and tokens < cost then
  return math.max(1, math.ceil((cost - tokens) / rate))
end
tokens = math.min(cap, tokens - cost)
if now > at then at = now end
if tokens >= cap then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'at', string.format('%.17g', at))
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((cap - tokens) / rate)))
return 0
`;

interface LimitScripts {
  confabLimitTake(key: string, capacity: number, refillPerMs: string, cost: number, now: number): Promise<number>;
}

/** Cluster-wide token buckets in Redis: every node of a deployment draws from the same buckets. */
export class RedisRateLimiter implements RateLimiter {
  private constructor(
    private readonly redis: RedisClient & LimitScripts,
    private readonly prefix: string,
  ) {}

  static async open(opts: RedisRateLimiterOptions): Promise<RedisRateLimiter> {
    const redis = (await openRedis(opts.redis, { name: connectionName('confab-limits:', opts.keyPrefix), ...(opts.onError && { onError: opts.onError }) })) as RedisClient & LimitScripts;
    redis.defineCommand('confabLimitTake', { numberOfKeys: 1, lua: TAKE });
    return new RedisRateLimiter(redis, opts.keyPrefix);
  }

  async take(key: string, spec: BucketSpec, cost: number, now: number): Promise<number> {
    if (cost > spec.capacity || !(spec.refillPerMs > 0)) throw new RangeError('a take must cost at most the capacity of a refilling bucket');
    // The rate is a fraction: passed with every digit, not through Lua's shorter default format.
    return Number(await this.redis.confabLimitTake(`${this.prefix}limit:${key}`, spec.capacity, spec.refillPerMs.toPrecision(17), cost, now));
  }

  async close(): Promise<void> {
    await closeRedis(this.redis);
  }
}
