import { describe, expect, it } from 'vitest';
import { Backoff, backoffCeiling, backoffDelay } from './backoff.js';

const opts = { initialDelayMs: 500, maxDelayMs: 30_000 };

describe('backoff', () => {
  it('doubles the ceiling per attempt up to the maximum', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((a) => backoffCeiling(a, opts))).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    expect(backoffCeiling(10_000, opts)).toBe(30_000);
    expect(backoffCeiling(100, { initialDelayMs: 0, maxDelayMs: 10 })).toBe(0);
  });

  it('draws the full jitter range [0, ceiling]', () => {
    expect(backoffDelay(3, opts, () => 0)).toBe(0);
    expect(backoffDelay(3, opts, () => 0.999_999_999)).toBe(4000);
    expect(backoffDelay(3, opts, () => 0.5)).toBe(2000);
    expect(backoffDelay(50, opts, () => 0.999_999_999)).toBe(30_000);
  });

  it('stays within bounds and actually spreads delays', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = backoffCeiling(attempt, opts);
      const samples = Array.from({ length: 300 }, () => backoffDelay(attempt, opts));
      for (const d of samples) {
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(ceiling);
        expect(Number.isInteger(d)).toBe(true);
      }
      // Full jitter: samples land in both halves of the window.
      expect(samples.some((d) => d < ceiling / 2)).toBe(true);
      expect(samples.some((d) => d > ceiling / 2)).toBe(true);
    }
  });

  it('counts attempts and resets', () => {
    const b = new Backoff(opts, () => 0.999_999_999);
    expect([b.next(), b.next(), b.next()]).toEqual([500, 1000, 2000]);
    expect(b.attempts).toBe(3);
    b.reset();
    expect(b.next()).toBe(500);
  });
});
