import { describe, expect, it } from 'vitest';
import { describeRateLimiterContract } from '../../limits/rate-limiter.contract.js';
import { perWindow } from '../../limits/token-bucket.js';
import { MemoryRateLimiter } from './memory-rate-limiter.js';

describeRateLimiterContract('MemoryRateLimiter', async () => {
  const limiter = new MemoryRateLimiter();
  return { limiters: [limiter], cleanup: () => limiter.close() };
}, { nodes: 1 });

describe('MemoryRateLimiter', () => {
  it('forgets buckets that refilled completely, so memory follows recent activity', () => {
    const l = new MemoryRateLimiter();
    const spec = perWindow(2, 1_000);
    const t0 = 1_000_000;
    for (let i = 0; i < 100; i++) l.takeNow(`k${i}`, spec, 1, t0);
    l.takeNow('busy', spec, 2, t0 + 59_999);
    expect(l.size).toBe(101);
    l.takeNow('busy', spec, 0, t0 + 60_000);
    expect(l.size).toBe(1);
    expect(l.takeNow('busy', spec, 1, t0 + 60_000)).toBeGreaterThan(0);
  });
});
