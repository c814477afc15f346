import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, type TestContext } from 'vitest';
import type { Broker, BusEvent } from './broker.js';
import { until } from '../../test/support/wait.js';

/*
 * The behaviour every Broker implementation must have (see broker.ts). An
 * adapter's test file calls `describeBrokerContract` with a factory that
 * starts a cluster of `nodes` brokers sharing one fresh namespace. An
 * implementation that is one process by nature (MemoryBroker) returns one
 * broker whatever it is asked for and declares so in its capabilities; the
 * cases that need more are not registered for it.
 *
 * Absence is checked with a fence instead of a sleep: a broadcast published
 * after the events under test has reached every node only once everything
 * that publisher sent before it has (events of one publisher arrive in
 * publish order).
 */

export interface BrokerCluster {
  brokers: Broker[];
  cleanup(): Promise<void>;
  /**
   * Optional: node `index` dies without any cleanup (its process is gone,
   * its routes and liveness entry stay behind). Resolves once the others
   * consider it dead, with a probe counting what is still sent towards it.
   */
  crash?(index: number): Promise<{ traffic(): number; close(): Promise<void> }>;
}

interface Recorder {
  events: BusEvent[];
  deliveries(): Extract<BusEvent, { kind: 'deliver' }>[];
  /** Waits until this node has received a fence with this id. */
  sawFence(id: string): boolean;
}

const WAIT_MS = 5_000;

/** What an implementation can be tested for: a one-process broker has one node and cannot crash apart. */
export interface BrokerCapabilities {
  nodes: number;
  crash: boolean;
}

export function describeBrokerContract(
  name: string,
  makeCluster: (nodes: number) => Promise<BrokerCluster>,
  capabilities: BrokerCapabilities = { nodes: Number.POSITIVE_INFINITY, crash: true },
): void {
  /** Registers a case only where the implementation can be put in its situation (never as a skipped test). */
  const itWith = (need: { nodes?: number; crash?: boolean }) =>
    (need.nodes ?? 1) <= capabilities.nodes && (!need.crash || capabilities.crash) ? it : (_title: string, _fn: (ctx: TestContext) => Promise<void>) => {};
  describe(`Broker contract: ${name}`, () => {
    let current: BrokerCluster | undefined;
    let recorders: Recorder[] = [];
    let fences = 0;
    let userSeq = 0;

    afterEach(async () => {
      const c = current;
      current = undefined;
      recorders = [];
      await c?.cleanup();
    });

    /**
     * Starts a cluster of `nodes`; with fewer (a one-node implementation) the
     * test runs if it can with `min`, and is skipped otherwise.
     */
    async function cluster(ctx: TestContext, nodes: number, min = nodes): Promise<Broker[]> {
      current = await makeCluster(nodes);
      if (current.brokers.length < min) throw new Error(`needs ${min} nodes; this implementation has ${current.brokers.length}`);
      recorders = current.brokers.map((b) => record(b));
      return current.brokers;
    }

    function user(label = 'u'): string {
      return `${label}_${++userSeq}_${randomBytes(3).toString('hex')}`;
    }

    /** Publishes a fence from `from` and waits until every node (or those given) has seen it. */
    async function fence(from: Broker, nodes: number[] = recorders.map((_, i) => i)): Promise<void> {
      const id = `fence-${++fences}`;
      from.publish({ kind: 'membership', channelId: id });
      await waitUntil(() => nodes.every((i) => recorders[i]?.sawFence(id)), `fence ${id} to reach nodes ${nodes.join(',')}`);
    }

    function deliver(userIds: string[], payload: Buffer | string): BusEvent {
      return { kind: 'deliver', userIds, payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload) };
    }

    function payloadsAt(node: number): string[] {
      return (recorders[node]?.deliveries() ?? []).map((d) => d.payload.toString());
    }

    // --- delivery ---------------------------------------------------------------

    it('delivers to a node holding the user, once, with the payload bytes unchanged', async (ctx) => {
      const [a] = await cluster(ctx, 1);
      const u = user();
      await a!.addLocalUser(u);
      // Every byte value, framing-like content, and a large body.
      const payload = Buffer.concat([
        Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
        Buffer.from('\r\n{"kind":"deliver","userIds":[]}\u0000'),
        randomBytes(256 * 1024),
      ]);
      a!.publish(deliver([u], payload));
      await fence(a!);
      const got = recorders[0]!.deliveries();
      expect(got).toHaveLength(1);
      expect(got[0]!.userIds).toContain(u);
      expect(Buffer.compare(got[0]!.payload, payload)).toBe(0);
    });

    it('delivers one event per node however many of its users it names', async (ctx) => {
      const [a] = await cluster(ctx, 1);
      const [u1, u2, u3] = [user(), user(), user()];
      for (const u of [u1, u2, u3]) await a!.addLocalUser(u);
      a!.publish(deliver([u1, u2, u3, u1], 'once'));
      await fence(a!);
      const got = recorders[0]!.deliveries();
      expect(got).toHaveLength(1);
      expect(new Set(got[0]!.userIds)).toEqual(new Set([u1, u2, u3]));
    });

    itWith({ nodes: 3 })('routes a delivery only to the nodes holding one of its users, each once', async (ctx) => {
      const [a, b, c] = await cluster(ctx, 3);
      const [ua, ub, ub2, nobody] = [user('a'), user('b'), user('b'), user('x')];
      await a!.addLocalUser(ua);
      await b!.addLocalUser(ub);
      await b!.addLocalUser(ub2);
      c!.publish(deliver([ua], 'to-a'));
      c!.publish(deliver([ub, ub2], 'to-b'));
      c!.publish(deliver([ua, ub, nobody], 'to-a-and-b'));
      c!.publish(deliver([nobody], 'to-nobody'));
      await fence(c!);
      expect(payloadsAt(0)).toEqual(['to-a', 'to-a-and-b']);
      expect(payloadsAt(1)).toEqual(['to-b', 'to-a-and-b']);
      expect(payloadsAt(2)).toEqual([]);
      // A node is given at least its own users of the event, and none that are not in it.
      for (const [node, mine] of [[0, [ua]], [1, [ub]]] as const) {
        const d = recorders[node]!.deliveries().find((e) => e.payload.toString() === 'to-a-and-b')!;
        for (const u of mine) expect(d.userIds).toContain(u);
        for (const u of d.userIds) expect([ua, ub, nobody]).toContain(u);
      }
      const both = recorders[1]!.deliveries().find((e) => e.payload.toString() === 'to-b')!;
      expect(new Set(both.userIds)).toEqual(new Set([ub, ub2]));
    });

    itWith({ nodes: 3 })('delivers to every node holding the same user', async (ctx) => {
      const [a, b, c] = await cluster(ctx, 3);
      const u = user();
      await a!.addLocalUser(u);
      await c!.addLocalUser(u);
      b!.publish(deliver([u], 'multi'));
      await fence(b!);
      expect(payloadsAt(0)).toEqual(['multi']);
      expect(payloadsAt(1)).toEqual([]);
      expect(payloadsAt(2)).toEqual(['multi']);
    });

    itWith({ nodes: 3 })('broadcasts revoke-device and membership events to every node', async (ctx) => {
      const brokers = await cluster(ctx, 3);
      brokers[1]!.publish({ kind: 'revoke-device', userId: 'u_1', deviceId: 'd_1' });
      brokers[1]!.publish({ kind: 'membership', channelId: 'c_1' });
      await fence(brokers[1]!);
      for (const r of recorders) {
        const seen = r.events.filter((e) => !(e.kind === 'membership' && e.channelId.startsWith('fence-')));
        expect(seen).toEqual([
          { kind: 'revoke-device', userId: 'u_1', deviceId: 'd_1' },
          { kind: 'membership', channelId: 'c_1' },
        ]);
      }
    });

    it('broadcasts on a single node too, and calls every subscribed handler', async (ctx) => {
      const [a] = await cluster(ctx, 1);
      const second: BusEvent[] = [];
      a!.subscribe((e) => second.push(e));
      a!.publish({ kind: 'membership', channelId: 'c_only' });
      await fence(a!);
      expect(recorders[0]!.events[0]).toEqual({ kind: 'membership', channelId: 'c_only' });
      expect(second[0]).toEqual({ kind: 'membership', channelId: 'c_only' });
    });

    // --- order ------------------------------------------------------------------

    it("keeps one publisher's events in publish order at every node (500 events, mixed kinds)", async (ctx) => {
      const brokers = await cluster(ctx, 2, 1);
      const p = brokers[0]!;
      const holders = brokers.map((_, i) => user(`h${i}`));
      for (let i = 0; i < brokers.length; i++) await brokers[i]!.addLocalUser(holders[i]!);
      const expected: string[] = [];
      for (let i = 0; i < 500; i++) {
        if (i % 7 === 3) {
          p.publish({ kind: 'membership', channelId: `m${i}` });
          expected.push(`m${i}`);
        } else {
          // Alternately every holder and a single one: a different set of nodes per event.
          const targets = i % 2 === 0 ? holders : [holders[(i >> 1) % holders.length]!];
          p.publish(deliver(targets, `d${i}:${targets.join('+')}`));
          expected.push(`d${i}:${targets.join('+')}`);
        }
      }
      await fence(p);
      for (let node = 0; node < brokers.length; node++) {
        const got = recorders[node]!.events.flatMap((e) => {
          if (e.kind === 'deliver') return [e.payload.toString()];
          if (e.kind === 'membership' && !e.channelId.startsWith('fence-')) return [e.channelId];
          return [];
        });
        const mine = expected.filter((x) => x.startsWith('m') || x.includes(holders[node]!));
        expect(got).toEqual(mine);
      }
    });

    itWith({ nodes: 2 })("keeps each publisher's order when several publish at once", async (ctx) => {
      const brokers = await cluster(ctx, 2);
      const u = user();
      await brokers[1]!.addLocalUser(u);
      for (let i = 0; i < 200; i++) {
        brokers[0]!.publish(deliver([u], `A${i}`));
        brokers[1]!.publish(deliver([u], `B${i}`));
      }
      await fence(brokers[0]!);
      await fence(brokers[1]!);
      const got = payloadsAt(1);
      const seq = (p: string) => got.filter((x) => x.startsWith(p)).map((x) => Number(x.slice(1)));
      expect(seq('A')).toEqual(Array.from({ length: 200 }, (_, i) => i));
      expect(seq('B')).toEqual(Array.from({ length: 200 }, (_, i) => i));
    });

    // --- routing changes ----------------------------------------------------------

    it('never misses a delivery published after addLocalUser resolved', async (ctx) => {
      const brokers = await cluster(ctx, 2, 1);
      const [p, holder] = [brokers[0]!, brokers[brokers.length - 1]!];
      const users: string[] = [];
      for (let i = 0; i < 50; i++) {
        const u = user('late');
        users.push(u);
        await holder.addLocalUser(u);
        p.publish(deliver([u], u));
      }
      await fence(p);
      expect(payloadsAt(brokers.length - 1)).toEqual(users);
    });

    itWith({ nodes: 2 })('stops delivering to a node after removeLocalUser, and resumes after addLocalUser', async (ctx) => {
      const [a, b] = await cluster(ctx, 2);
      const [u, stays] = [user(), user()];
      await b!.addLocalUser(u);
      await b!.addLocalUser(stays);
      await a!.addLocalUser(u);
      b!.removeLocalUser(u);
      // Removal is fire-and-forget; from its own node it is ordered with later publishes.
      b!.publish(deliver([u], 'after-remove'));
      b!.publish(deliver([u, stays], 'one-stays'));
      await fence(b!);
      expect(payloadsAt(1)).toEqual(['one-stays']);
      expect(payloadsAt(0)).toEqual(['after-remove', 'one-stays']);
      const d = recorders[1]!.deliveries()[0]!;
      expect(d.userIds).toContain(stays);

      // From another node, once the removal has had time to land.
      await waitUntil(async () => {
        const before = payloadsAt(1).length;
        a!.publish(deliver([u], 'probe'));
        await fence(a!);
        return payloadsAt(1).length === before;
      }, 'removal to reach the other publisher');

      await b!.addLocalUser(u);
      a!.publish(deliver([u], 'back'));
      await fence(a!);
      expect(payloadsAt(1).at(-1)).toBe('back');
    });

    itWith({ nodes: 3 })('gives a closed node no more events and keeps serving the others', async (ctx) => {
      const [a, b, c] = await cluster(ctx, 3);
      const [ub, uc] = [user(), user()];
      await b!.addLocalUser(ub);
      await c!.addLocalUser(uc);
      await c!.close();
      const before = recorders[2]!.events.length;
      a!.publish(deliver([ub, uc], 'after-close'));
      a!.publish({ kind: 'membership', channelId: 'c_after_close' });
      await fence(a!, [0, 1]);
      expect(payloadsAt(1)).toEqual(['after-close']);
      expect(recorders[2]!.events.length).toBe(before);
      // Publishing on a closed broker is harmless.
      expect(() => c!.publish(deliver([ub], 'from-closed'))).not.toThrow();
    });

    itWith({ nodes: 3, crash: true })('sends no traffic to a node that died without cleanup', async (ctx) => {
      const brokers = await cluster(ctx, 3);
      const [a, b] = brokers;
      const [ub, shared, onDead] = [user(), user(), user()];
      await b!.addLocalUser(ub);
      await b!.addLocalUser(shared);
      await brokers[2]!.addLocalUser(shared);
      await brokers[2]!.addLocalUser(onDead);
      const probe = await current!.crash!(2);
      try {
        for (let i = 0; i < 20; i++) a!.publish(deliver([ub, shared, onDead], `p${i}`));
        a!.publish(deliver([onDead], 'dead-only'));
        a!.publish({ kind: 'revoke-device', userId: onDead, deviceId: 'd_dead' });
        await fence(a!, [0, 1]);
        expect(payloadsAt(1)).toEqual(Array.from({ length: 20 }, (_, i) => `p${i}`));
        await new Promise((r) => setTimeout(r, 100));
        expect(probe.traffic()).toBe(0);
      } finally {
        await probe.close();
      }
    });

    it('never throws from publish, whatever it is given', async (ctx) => {
      const [a] = await cluster(ctx, 1);
      expect(() => a!.publish(deliver([], 'nobody'))).not.toThrow();
      expect(() => a!.publish(deliver([user()], Buffer.alloc(0)))).not.toThrow();
      a!.removeLocalUser(user());
      await fence(a!);
    });
  });
}

function record(broker: Broker): Recorder {
  const events: BusEvent[] = [];
  const fences = new Set<string>();
  broker.subscribe((event) => {
    events.push(event);
    if (event.kind === 'membership' && event.channelId.startsWith('fence-')) fences.add(event.channelId);
  });
  return {
    events,
    deliveries: () => events.filter((e): e is Extract<BusEvent, { kind: 'deliver' }> => e.kind === 'deliver'),
    sawFence: (id) => fences.has(id),
  };
}

function waitUntil(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  return until(check, WAIT_MS, what, 5);
}
