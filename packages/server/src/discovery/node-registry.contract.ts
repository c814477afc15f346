import { describe, expect, it } from 'vitest';
import type { NodeRegistry } from './node-registry.js';

/** The NodeRegistry contract, run against every implementation with a controllable clock. */
export function describeNodeRegistryContract(name: string, open: (now: () => number) => Promise<{ registry: NodeRegistry; cleanup(): Promise<void> }>): void {
  describe(`NodeRegistry contract: ${name}`, () => {
    async function withRegistry(fn: (r: NodeRegistry, clock: { t: number }) => Promise<void>) {
      const clock = { t: 1_000_000 };
      const { registry, cleanup } = await open(() => clock.t);
      try {
        await fn(registry, clock);
      } finally {
        await cleanup();
      }
    }

    it('lists announced nodes with their latest load until their ttl runs out', () =>
      withRegistry(async (r, clock) => {
        await r.announce({ id: 'a', url: 'http://a', connections: 1, draining: false }, 1_000);
        await r.announce({ id: 'b', url: 'http://b', connections: 5, draining: false }, 3_000);
        await r.announce({ id: 'a', url: 'http://a', connections: 7, draining: true }, 1_000);
        const live = (await r.live()).sort((x, y) => x.id.localeCompare(y.id));
        expect(live).toEqual([
          { id: 'a', url: 'http://a', connections: 7, draining: true },
          { id: 'b', url: 'http://b', connections: 5, draining: false },
        ]);
        clock.t += 2_000;
        expect((await r.live()).map((n) => n.id)).toEqual(['b']);
        await r.announce({ id: 'a', url: 'http://a', connections: 0, draining: false }, 1_000);
        expect((await r.live()).map((n) => n.id).sort()).toEqual(['a', 'b']);
      }));

    it('forgets a withdrawn node at once', () =>
      withRegistry(async (r) => {
        await r.announce({ id: 'a', url: 'http://a', connections: 0, draining: false }, 10_000);
        await r.withdraw('a');
        expect(await r.live()).toEqual([]);
        await r.withdraw('never-there');
      }));
  });
}
