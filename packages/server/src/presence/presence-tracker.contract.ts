import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, type TestContext } from 'vitest';
import type { PresenceTracker } from './presence-tracker.js';
import { sleep } from '../../test/support/wait.js';

/*
 * The behaviour every PresenceTracker implementation must have (see
 * presence-tracker.ts). An adapter's test file calls
 * `describePresenceContract` with a factory that starts `nodes` trackers
 * sharing one fresh namespace. A one-process implementation returns one
 * tracker whatever it is asked for (multi-node cases are then skipped) and
 * says whether connections expire (expiry cases are skipped if not).
 *
 * Times are real (Date.now()): a distributed tracker's sweep runs on its own
 * clock.
 */

export interface PresenceCluster {
  trackers: PresenceTracker[];
  cleanup(): Promise<void>;
  supportsExpiry: boolean;
}

/** Long enough that nothing expires during a test that does not wait for it. */
const NO_EXPIRY_MS = 60_000;
/** Short enough to wait for; long enough for a loaded machine to heartbeat in time. */
const EXPIRY_MS = 600;

export function describePresenceContract(
  name: string,
  make: (opts: { timeoutMs: number; nodes: number }) => Promise<PresenceCluster>,
  capabilities: { nodes: number; expiry: boolean } = { nodes: Number.POSITIVE_INFINITY, expiry: true },
): void {
  /** Registers a case only where the implementation can be put in its situation (never as a skipped test). */
  const itWith = (need: { nodes?: number; expiry?: boolean }) =>
    (need.nodes ?? 1) <= capabilities.nodes && (!need.expiry || capabilities.expiry) ? it : (_title: string, _fn: (ctx: TestContext) => Promise<void>) => {};
  describe(`PresenceTracker contract: ${name}`, () => {
    let current: PresenceCluster | undefined;
    let seq = 0;

    afterEach(async () => {
      const c = current;
      current = undefined;
      await c?.cleanup();
    });

    async function start(ctx: TestContext, opts: { nodes: number; min?: number; timeoutMs?: number; expiry?: boolean }): Promise<PresenceTracker[]> {
      current = await make({ timeoutMs: opts.timeoutMs ?? NO_EXPIRY_MS, nodes: opts.nodes });
      const min = opts.min ?? opts.nodes;
      if (current.trackers.length < min) throw new Error(`needs ${min} nodes; this implementation has ${current.trackers.length}`);
      if (opts.expiry && !current.supportsExpiry) throw new Error('connections of this implementation do not expire');
      return current.trackers;
    }

    const id = (label: string) => `${label}_${++seq}_${randomBytes(3).toString('hex')}`;
    const now = () => Date.now();

    it('reports came online for the first live connection only', async (ctx) => {
      const [t] = await start(ctx, { nodes: 1 });
      const u = id('u');
      expect(await t!.connect(u, id('c'), now())).toBe(true);
      expect(await t!.connect(u, id('c'), now())).toBe(false);
      expect(await t!.connect(id('u'), id('c'), now())).toBe(true);
    });

    it('reports went offline when the last connection goes only', async (ctx) => {
      const [t] = await start(ctx, { nodes: 1 });
      const [u, c1, c2] = [id('u'), id('c'), id('c')];
      await t!.connect(u, c1, now());
      await t!.connect(u, c2, now());
      expect(await t!.disconnect(u, c1, now())).toBe(false);
      expect(await t!.online([u])).toEqual(new Set([u]));
      expect(await t!.disconnect(u, c2, now())).toBe(true);
      expect(await t!.online([u])).toEqual(new Set());
      // And online again afterwards.
      expect(await t!.connect(u, id('c'), now())).toBe(true);
    });

    it('treats repeated connects and disconnects of one connection as harmless', async (ctx) => {
      const [t] = await start(ctx, { nodes: 1 });
      const [u, c] = [id('u'), id('c')];
      expect(await t!.connect(u, c, now())).toBe(true);
      expect(await t!.connect(u, c, now())).toBe(false);
      expect(await t!.disconnect(u, c, now())).toBe(true);
      expect(await t!.disconnect(u, c, now())).toBe(false);
      expect(await t!.disconnect(u, id('c'), now())).toBe(false);
      expect(await t!.disconnect(id('u'), id('c'), now())).toBe(false);
      expect(await t!.online([u])).toEqual(new Set());
    });

    it('does not bring a connection back with a heartbeat after it disconnected', async (ctx) => {
      const [t] = await start(ctx, { nodes: 1 });
      const [u, c, other] = [id('u'), id('c'), id('u')];
      await t!.connect(u, c, now());
      await t!.disconnect(u, c, now());
      t!.heartbeat(u, c, now());
      t!.heartbeat(other, id('c'), now());
      // Heartbeats are fire-and-forget: a later call on the same tracker sees them.
      await t!.connect(id('u'), id('c'), now());
      expect(await t!.online([u, other])).toEqual(new Set());
    });

    it('answers online() for any list of users', async (ctx) => {
      const [t] = await start(ctx, { nodes: 1 });
      const [a, b, c] = [id('u'), id('u'), id('u')];
      await t!.connect(a, id('c'), now());
      await t!.connect(c, id('c'), now());
      expect(await t!.online([a, b, c, a])).toEqual(new Set([a, c]));
      expect(await t!.online([])).toEqual(new Set());
      expect(await t!.online([b])).toEqual(new Set());
    });

    itWith({ nodes: 2 })('tracks a user across nodes', async (ctx) => {
      const [a, b] = await start(ctx, { nodes: 2 });
      const [u, c1, c2] = [id('u'), id('c'), id('c')];
      expect(await a!.connect(u, c1, now())).toBe(true);
      expect(await b!.connect(u, c2, now())).toBe(false);
      expect(await a!.online([u])).toEqual(new Set([u]));
      expect(await b!.online([u])).toEqual(new Set([u]));
      expect(await a!.disconnect(u, c1, now())).toBe(false);
      expect(await a!.online([u])).toEqual(new Set([u]));
      expect(await b!.disconnect(u, c2, now())).toBe(true);
      expect(await a!.online([u])).toEqual(new Set());
    });

    it('reports each change once when nodes race', async (ctx) => {
      const trackers = await start(ctx, { nodes: 3, min: 1 });
      const users = Array.from({ length: 20 }, () => id('u'));
      const conns = users.map(() => trackers.map(() => id('c')));
      const on = await Promise.all(users.flatMap((u, i) => trackers.map((t, n) => t.connect(u, conns[i]![n]!, now()))));
      const off = await Promise.all(users.flatMap((u, i) => trackers.map((t, n) => t.disconnect(u, conns[i]![n]!, now()))));
      for (let i = 0; i < users.length; i++) {
        const slice = (xs: boolean[]) => xs.slice(i * trackers.length, (i + 1) * trackers.length).filter(Boolean).length;
        expect(slice(on)).toBe(1);
        expect(slice(off)).toBe(1);
      }
    });

    itWith({ expiry: true })('expires the users of a node that stopped heartbeating, once across the cluster', async (ctx) => {
      const trackers = await start(ctx, { nodes: 2, min: 1, timeoutMs: EXPIRY_MS, expiry: true });
      const [a, b] = [trackers[0]!, trackers[trackers.length - 1]!];
      const calls: { node: number; userId: string; lastSeen: number }[] = [];
      trackers.forEach((t, node) => t.onExpired((userId, lastSeen) => calls.push({ node, userId, lastSeen })));

      const [gone, kept, split] = [id('gone'), id('kept'), id('split')];
      const [cGone, cKept, cSplitDead, cSplitLive] = [id('c'), id('c'), id('c'), id('c')];
      await a.connect(gone, cGone, now());
      await a.connect(split, cSplitDead, now());
      await b.connect(kept, cKept, now());
      await b.connect(split, cSplitLive, now());
      // One more heartbeat, then a's connections go silent; b's keep beating.
      await sleep(100);
      const lastBeat = now();
      a.heartbeat(gone, cGone, lastBeat);
      a.heartbeat(split, cSplitDead, lastBeat);
      const beat = setInterval(() => {
        b.heartbeat(kept, cKept, now());
        b.heartbeat(split, cSplitLive, now());
      }, EXPIRY_MS / 6);
      try {
        const deadline = Date.now() + EXPIRY_MS * 8;
        while (!calls.some((c) => c.userId === gone) && Date.now() < deadline) await sleep(20);
        // Room for a duplicate from another node's sweep to show up.
        await sleep(EXPIRY_MS / 2);
        expect(calls.filter((c) => c.userId === gone)).toEqual([{ node: expect.any(Number), userId: gone, lastSeen: lastBeat }]);
        expect(calls.filter((c) => c.userId !== gone)).toEqual([]);
        expect(await a.online([gone, kept, split])).toEqual(new Set([kept, split]));
        expect(await b.online([gone, kept, split])).toEqual(new Set([kept, split]));
      } finally {
        clearInterval(beat);
      }
      // The expiry was the announcement: a late disconnect is not another one.
      expect(await a.disconnect(gone, cGone, now())).toBe(false);
      // And the user can come back.
      expect(await b.connect(gone, id('c'), now())).toBe(true);
    });

    itWith({ expiry: true })('keeps a heartbeating connection alive past the timeout', async (ctx) => {
      const [t] = await start(ctx, { nodes: 1, timeoutMs: EXPIRY_MS, expiry: true });
      const calls: string[] = [];
      t!.onExpired((u) => calls.push(u));
      const [u, c] = [id('u'), id('c')];
      await t!.connect(u, c, now());
      const end = Date.now() + EXPIRY_MS * 2.5;
      while (Date.now() < end) {
        t!.heartbeat(u, c, now());
        await sleep(EXPIRY_MS / 6);
      }
      expect(await t!.online([u])).toEqual(new Set([u]));
      expect(calls).toEqual([]);
      expect(await t!.disconnect(u, c, now())).toBe(true);
    });
  });
}
