import type { RateLimiter } from '../../limits/rate-limiter.js';
import { isFull, takeTokens, type BucketSpec, type BucketState } from '../../limits/token-bucket.js';

/** How often (in the callers' time) buckets that refilled completely are forgotten. */
const PRUNE_EVERY_MS = 60_000;

/**
 * Token buckets in this process: the limiter of a single node. A bucket that
 * has refilled completely is the same as one never seen, so such buckets are
 * dropped now and then and memory stays proportional to recent activity.
 */
export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, { state: BucketState; spec: BucketSpec }>();
  private prunedAt = Number.NEGATIVE_INFINITY;

  async take(key: string, spec: BucketSpec, cost: number, now: number): Promise<number> {
    return this.takeNow(key, spec, cost, now);
  }

  /** The same, synchronously, for callers on a hot path in this process. */
  takeNow(key: string, spec: BucketSpec, cost: number, now: number): number {
    if (now - this.prunedAt >= PRUNE_EVERY_MS) this.prune(now);
    const bucket = this.buckets.get(key);
    const result = takeTokens(bucket?.state, spec, cost, now);
    if (!result.ok) return result.waitMs;
    this.buckets.set(key, { state: result.state, spec });
    return 0;
  }

  /** Buckets held (for tests of pruning). */
  get size(): number {
    return this.buckets.size;
  }

  async close(): Promise<void> {
    this.buckets.clear();
  }

  private prune(now: number): void {
    this.prunedAt = now;
    for (const [key, { state, spec }] of this.buckets) if (isFull(state, spec, now)) this.buckets.delete(key);
  }
}
