import { describe, expect, it } from 'vitest';
import type { MemberRecord, Store } from '../store/store.js';
import { MembershipCache } from './membership-cache.js';

function storeWith(members: string[]) {
  const calls = { n: 0 };
  const store = {
    async listMembers(channelId: string): Promise<MemberRecord[]> {
      calls.n++;
      return members.map((userId) => ({ channelId, userId, role: 'member', joinedAt: 0, joinedSeq: 1, leftSeq: null, deliveredSeq: 0, readSeq: 0, mutedUntil: null }));
    },
  } as unknown as Store;
  return { store, calls, members };
}

describe('MembershipCache', () => {
  it('loads once, serves from memory, reloads after invalidation', async () => {
    const { store, calls, members } = storeWith(['a', 'b']);
    const cache = new MembershipCache(store);
    expect(await cache.isMember('c', 'a')).toBe(true);
    expect(await cache.isMember('c', 'z')).toBe(false);
    expect(calls.n).toBe(1);
    members.push('z');
    cache.invalidate('c');
    expect(await cache.isMember('c', 'z')).toBe(true);
    expect(calls.n).toBe(2);
  });

  it('forgets entries after the ttl, so a missed invalidation cannot linger', async () => {
    const clock = { t: 0 };
    const { store, calls, members } = storeWith(['a']);
    const cache = new MembershipCache(store, { ttlMs: 1_000, now: () => clock.t });
    expect(await cache.isMember('c', 'b')).toBe(false);
    members.push('b');
    clock.t = 999;
    expect(await cache.isMember('c', 'b')).toBe(false);
    clock.t = 1_000;
    expect(await cache.isMember('c', 'b')).toBe(true);
    expect(calls.n).toBe(2);
  });

  it('evicts the least recently used channel beyond its size', async () => {
    const { store, calls } = storeWith(['a']);
    const cache = new MembershipCache(store, { maxEntries: 2 });
    await cache.members('c1');
    await cache.members('c2');
    await cache.members('c1');
    await cache.members('c3');
    expect(calls.n).toBe(3);
    await cache.members('c1');
    expect(calls.n).toBe(3);
    await cache.members('c2');
    expect(calls.n).toBe(4);
  });
});
