import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { RateLimiter } from './rate-limiter.js';
import { perWindow, type BucketSpec } from './token-bucket.js';

/*
 * The behaviour every RateLimiter implementation must have (see
 * rate-limiter.ts). An adapter's test file calls `describeRateLimiterContract`
 * with a factory that opens `nodes` limiters sharing one fresh namespace; a
 * one-process implementation returns one limiter and its multi-node cases are
 * not registered. Time is passed in, so nothing here waits.
 */

export interface LimiterCluster {
  limiters: RateLimiter[];
  cleanup(): Promise<void>;
}

const T0 = 1_764_000_000_000;

export function describeRateLimiterContract(name: string, make: (nodes: number) => Promise<LimiterCluster>, capabilities: { nodes: number } = { nodes: Number.POSITIVE_INFINITY }): void {
  const itWithNodes = (nodes: number) => (nodes <= capabilities.nodes ? it : (_title: string, _fn: () => Promise<void>) => {});

  describe(`RateLimiter contract: ${name}`, () => {
    let current: LimiterCluster | undefined;
    afterEach(async () => {
      const c = current;
      current = undefined;
      await c?.cleanup();
    });
    async function start(nodes = 1): Promise<RateLimiter[]> {
      current = await make(nodes);
      if (current.limiters.length < nodes) throw new Error(`needs ${nodes} limiters`);
      return current.limiters;
    }
    const key = (label: string) => `${label}:${randomBytes(4).toString('hex')}`;
    /** 5 at once, then one per second. */
    const fivePerFiveSeconds: BucketSpec = perWindow(5, 5_000);

    it('a new bucket is full: it allows its capacity at once, then refuses with the wait until the next token', async () => {
      const [l] = await start();
      const k = key('full');
      for (let i = 0; i < 5; i++) expect(await l!.take(k, fivePerFiveSeconds, 1, T0)).toBe(0);
      expect(await l!.take(k, fivePerFiveSeconds, 1, T0)).toBe(1_000);
      expect(await l!.take(k, fivePerFiveSeconds, 1, T0 + 400)).toBe(600);
      expect(await l!.take(k, fivePerFiveSeconds, 1, T0 + 1_000)).toBe(0);
      expect(await l!.take(k, fivePerFiveSeconds, 1, T0 + 1_000)).toBe(1_000);
    });

    it('refills evenly up to its capacity, never beyond', async () => {
      const [l] = await start();
      const k = key('refill');
      expect(await l!.take(k, fivePerFiveSeconds, 5, T0)).toBe(0);
      expect(await l!.take(k, fivePerFiveSeconds, 3, T0 + 2_500)).toBe(500);
      expect(await l!.take(k, fivePerFiveSeconds, 2, T0 + 2_500)).toBe(0);
      // An hour later it holds 5, not 3,600.
      expect(await l!.take(k, fivePerFiveSeconds, 5, T0 + 3_600_000)).toBe(0);
      expect(await l!.take(k, fivePerFiveSeconds, 1, T0 + 3_600_000)).toBe(1_000);
    });

    it('a refused take takes nothing', async () => {
      const [l] = await start();
      const k = key('refused');
      expect(await l!.take(k, fivePerFiveSeconds, 3, T0)).toBe(0);
      expect(await l!.take(k, fivePerFiveSeconds, 4, T0)).toBe(2_000);
      expect(await l!.take(k, fivePerFiveSeconds, 2, T0)).toBe(0);
    });

    it('a negative cost gives tokens back, up to the capacity', async () => {
      const [l] = await start();
      const k = key('refund');
      expect(await l!.take(k, fivePerFiveSeconds, 5, T0)).toBe(0);
      expect(await l!.take(k, fivePerFiveSeconds, -2, T0)).toBe(0);
      expect(await l!.take(k, fivePerFiveSeconds, 2, T0)).toBe(0);
      expect(await l!.take(k, fivePerFiveSeconds, 1, T0)).toBe(1_000);
      expect(await l!.take(k, fivePerFiveSeconds, -100, T0)).toBe(0);
      expect(await l!.take(k, fivePerFiveSeconds, 5, T0)).toBe(0);
      expect(await l!.take(k, fivePerFiveSeconds, 1, T0)).toBe(1_000);
    });

    it('keys are independent, and a clock going backwards adds nothing', async () => {
      const [l] = await start();
      const [a, b] = [key('a'), key('b')];
      expect(await l!.take(a, fivePerFiveSeconds, 5, T0)).toBe(0);
      expect(await l!.take(b, fivePerFiveSeconds, 5, T0)).toBe(0);
      expect(await l!.take(a, fivePerFiveSeconds, 1, T0 - 60_000)).toBeGreaterThan(0);
      expect(await l!.take(a, fivePerFiveSeconds, 1, T0 + 1_000)).toBe(0);
    });

    it('keeps fractional rates exact enough over a long window', async () => {
      const [l] = await start();
      const k = key('fraction');
      const tenPer15Minutes = perWindow(10, 900_000);
      for (let i = 0; i < 10; i++) expect(await l!.take(k, tenPer15Minutes, 1, T0)).toBe(0);
      expect(await l!.take(k, tenPer15Minutes, 1, T0)).toBe(90_000);
      expect(await l!.take(k, tenPer15Minutes, 1, T0 + 89_999)).toBe(1);
      expect(await l!.take(k, tenPer15Minutes, 1, T0 + 90_000)).toBe(0);
    });

    it('concurrent takes get exactly what the bucket affords', async () => {
      const [l] = await start();
      const k = key('race');
      const results = await Promise.all(Array.from({ length: 20 }, () => l!.take(k, fivePerFiveSeconds, 1, T0)));
      expect(results.filter((w) => w === 0)).toHaveLength(5);
    });

    itWithNodes(2)('nodes draw from the same bucket', async () => {
      const [a, b] = await start(2);
      const k = key('shared');
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a! : b!).take(k, fivePerFiveSeconds, 1, T0)));
      expect(results.filter((w) => w === 0)).toHaveLength(5);
      expect(await a!.take(k, fivePerFiveSeconds, -1, T0)).toBe(0);
      expect(await b!.take(k, fivePerFiveSeconds, 1, T0)).toBe(0);
      expect(await b!.take(k, fivePerFiveSeconds, 1, T0)).toBe(1_000);
    });
  });
}
