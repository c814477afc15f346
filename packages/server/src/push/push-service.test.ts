import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../adapters/store/sqlite-store.js';
import type { Store } from '../store/store.js';
import type { PushOutcome, PushPayload, PushRegistration, PushSender } from './push-sender.js';
import { PushService } from './push-service.js';

/*
 * The push domain's decisions at send time, on a real (in-memory SQLite)
 * store with a scripted sender standing in for the push service: the end-to-
 * end suite (test/e2e/push.test.ts) runs the real senders against local push
 * services; this one covers the cases that need a clock under control.
 */

class ScriptedSender implements PushSender {
  readonly kind = 'fcm' as const;
  readonly sent: { registration: PushRegistration; payload: PushPayload; ttlSeconds: number }[] = [];
  outcomes: PushOutcome[] = [];
  async send(registration: PushRegistration, payload: PushPayload, opts: { ttlSeconds: number }): Promise<PushOutcome> {
    this.sent.push({ registration, payload, ttlSeconds: opts.ttlSeconds });
    return this.outcomes.shift() ?? { status: 'sent' };
  }
  async close(): Promise<void> {}
}

const quiet = { info() {}, warn() {}, error() {} };
const T0 = 1_764_000_000_000;

describe('PushService', () => {
  let store: Store;
  let sender: ScriptedSender;
  let push: PushService;
  let clock: number;

  beforeEach(async () => {
    clock = T0;
    store = SqliteStore.open({ path: ':memory:' });
    sender = new ScriptedSender();
    push = new PushService(store, {
      senders: [sender],
      ackGraceMs: 1_000,
      coalesceMs: 5_000,
      privacy: false,
      ttlSeconds: 60,
      pollMs: 1_000,
      flushMs: 10,
      now: () => clock,
      log: quiet,
      retryDelayMs: (attempt) => attempt * 10_000,
    });
    for (const u of ['alice', 'bob']) {
      await store.createUser({ id: `u_${u}`, username: u, displayName: u.toUpperCase(), passwordHash: 'x', createdAt: T0, lastSeen: null });
      await store.createDevice({ id: `d_${u}`, userId: `u_${u}`, name: 'phone', platform: 'android', createdAt: T0, lastActiveAt: T0 }, `h_${u}`);
    }
    await store.setPushRegistration('d_bob', { kind: 'fcm', token: 'bob-token' }, T0);
    await store.createGroup({ id: 'c_g', name: 'Group', ownerId: 'u_alice', memberIds: ['u_bob'], createdAt: T0, system: { text: 'created', event: { event: 'created', actorId: 'u_alice' } } });
  });
  afterEach(async () => {
    await store.close();
  });

  async function send(text: string): Promise<void> {
    await store.appendMessages([{ channelId: 'c_g', senderId: 'u_alice', senderDeviceId: 'd_alice', clientId: text, text }], clock, push.policy(clock));
  }

  it('records nothing while no push service is configured', async () => {
    const off = new PushService(store, { senders: [], ackGraceMs: 1, coalesceMs: 1, privacy: false, ttlSeconds: 60, pollMs: 1, flushMs: 1, now: () => clock, log: quiet });
    expect(off.enabled).toBe(false);
    expect(off.policy(clock)).toBeUndefined();
  });

  it('waits for the ack grace, then sends once with the count and the newest preview', async () => {
    await send('one');
    await send('two');
    clock += 999;
    expect(await push.runOnce()).toBe(0);
    clock += 1;
    expect(await push.runOnce()).toBe(1);
    expect(sender.sent.map((s) => s.payload)).toEqual([
      { type: 'message', channelId: 'c_g', count: 2, seq: 3, senderId: 'u_alice', senderName: 'ALICE', channelName: 'Group', preview: 'two' },
    ]);
    clock += 60_000;
    expect(await push.runOnce()).toBe(0);
  });

  it('decides at send time: a mute or a read since the commit means no push', async () => {
    await send('one');
    await store.setMuted('c_g', 'u_bob', clock + 3_600_000);
    clock += 1_000;
    expect(await push.runOnce()).toBe(1);
    expect(sender.sent).toEqual([]);

    await store.setMuted('c_g', 'u_bob', null);
    await send('two');
    await store.updateReceipts([{ channelId: 'c_g', userId: 'u_bob', readSeq: 3 }]);
    clock += 1_000;
    expect(await push.runOnce()).toBe(1);
    expect(sender.sent).toEqual([]);
  });

  it('retries with backoff, Retry-After when longer, and gives up once the push TTL has passed', async () => {
    await send('hello');
    sender.outcomes = [
      { status: 'retry', reason: '503', afterMs: 30_000 },
      { status: 'retry', reason: '503' },
      { status: 'retry', reason: '503' },
    ];
    clock += 1_000;
    await push.runOnce(); // attempt 1: Retry-After 30 s beats the 10 s backoff
    clock += 29_999;
    expect(await push.runOnce()).toBe(0);
    clock += 1;
    await push.runOnce(); // attempt 2: backoff 20 s → due at +51 s, within the 60 s TTL
    expect(sender.sent.map((s) => s.ttlSeconds)).toEqual([59, 29]);
    clock += 20_000;
    await push.runOnce(); // attempt 3: the next try would be past the TTL: dropped
    expect(sender.sent).toHaveLength(3);
    clock += 120_000;
    expect(await push.runOnce()).toBe(0);
  });

  it('drops a push the service rejects, and pushes the next message again', async () => {
    await send('bad');
    sender.outcomes = [{ status: 'rejected', reason: '400 INVALID_ARGUMENT' }];
    clock += 1_000;
    await push.runOnce();
    clock += 60_000;
    expect(await push.runOnce()).toBe(0);
    await send('good');
    clock += 1_000;
    await push.runOnce();
    expect(sender.sent.map((s) => s.payload.preview)).toEqual(['bad', 'good']);
  });

  it('sends nothing to a member removed since the commit (no preview of a channel they left)', async () => {
    await send('secret');
    await store.changeChannel('c_g', () => ({ remove: ['u_bob'], system: { actorId: 'u_alice', text: 'removed', event: { event: 'member_removed', actorId: 'u_alice', userIds: ['u_bob'] } } }), clock);
    clock += 1_000;
    await push.runOnce();
    expect(sender.sent).toEqual([]);
  });

  it('drops jobs for a kind of push no longer configured', async () => {
    await store.setPushRegistration('d_bob', { kind: 'apns', token: 'ab'.repeat(32) }, clock);
    await send('to apns');
    clock += 1_000;
    expect(await push.runOnce()).toBe(1);
    expect(sender.sent).toEqual([]);
    clock += 60_000;
    expect(await push.runOnce()).toBe(0);
  });

  it('merges a device’s acknowledgements and clears its pending push', async () => {
    await send('seen live');
    push.received('d_bob', 'c_g', 1);
    push.received('d_bob', 'c_g', 2);
    await new Promise((r) => setTimeout(r, 50));
    clock += 1_000;
    expect(await push.runOnce()).toBe(0);
    expect(sender.sent).toEqual([]);
  });
});
