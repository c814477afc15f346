import type { BucketSpec } from './token-bucket.js';

/**
 * The RateLimiter port: named token buckets shared by every node of a
 * deployment, for limits that must hold cluster-wide because any node may
 * serve the request (logins, group operations). Implementations:
 * MemoryRateLimiter (one process) and RedisRateLimiter (a cluster). Both pass
 * `rate-limiter.contract.ts`.
 *
 * Contract:
 * - A bucket never seen is full; a bucket refills at `spec.refillPerMs` up to
 *   `spec.capacity`. The spec travels with every call, so changing a setting
 *   needs no migration.
 * - `take` is atomic per key across all nodes: of concurrent takes that the
 *   bucket can only afford some of, exactly those it affords succeed.
 * - Time is the caller's `now` (ms); a clock going backwards adds no tokens.
 */
export interface RateLimiter {
  /**
   * Takes `cost` tokens from the bucket `key` if it holds that many at `now`
   * and resolves 0; otherwise takes nothing and resolves the ms until it
   * would hold them. A negative cost gives tokens back (up to capacity).
   */
  take(key: string, spec: BucketSpec, cost: number, now: number): Promise<number>;
  close(): Promise<void>;
}
