import type { Message, SystemEvent } from '@confab/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import type { PushRegistration } from '../push/push-sender.js';
import type {
  AppendRequest,
  ChannelChange,
  ChannelChangeResult,
  ChannelState,
  DeviceRecord,
  PushJob,
  PushPolicy,
  Store,
  SyncPage,
  UserRecord,
} from './store.js';

/*
 * The behaviour every Store implementation must have. An adapter's test file
 * calls `describeStoreContract` with a factory that opens an empty store; each
 * test gets a fresh one. Tests assert on error codes, never on message text.
 */

const T0 = 1_764_000_000_000;

export function describeStoreContract(
  name: string,
  open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>,
): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    /** A clock that moves forward on every call, so orderings by time are unambiguous. */
    let clock: number;
    const now = (): number => (clock += 1000);

    beforeEach(async () => {
      ({ store, cleanup } = await open());
      clock = T0;
    });
    afterEach(async () => {
      await cleanup();
    });

    // --- fixtures -----------------------------------------------------------

    function userRecord(username: string): UserRecord {
      return {
        id: `u_${username}`,
        username,
        displayName: username.toUpperCase(),
        passwordHash: `hash-of-${username}`,
        createdAt: now(),
        lastSeen: null,
      };
    }

    async function users(...usernames: string[]): Promise<string[]> {
      for (const u of usernames) await store.createUser(userRecord(u));
      return usernames.map((u) => `u_${u}`);
    }

    function deviceRecord(id: string, userId: string): DeviceRecord {
      const at = now();
      return { id, userId, name: `phone ${id}`, platform: 'ios', createdAt: at, lastActiveAt: at };
    }

    async function group(id: string, ownerId: string, memberIds: string[]): Promise<ChannelChangeResult> {
      const event: SystemEvent = { event: 'created', actorId: ownerId, name: `group ${id}`, userIds: memberIds };
      return store.createGroup({
        id,
        name: `group ${id}`,
        ownerId,
        memberIds,
        createdAt: now(),
        system: { text: `${ownerId} created the group`, event },
      });
    }

    function req(channelId: string, senderId: string, clientId: string, text = `text ${clientId}`, deviceId = `d_${senderId}`): AppendRequest {
      return { channelId, senderId, senderDeviceId: deviceId, clientId, text };
    }

    /** Appends one message that must be accepted, and returns it. */
    async function send(channelId: string, senderId: string, clientId: string, text?: string): Promise<Message> {
      const { results } = await store.appendMessages([req(channelId, senderId, clientId, text)], now());
      const result = results[0]!;
      if (!result.ok) throw new Error(`append refused: ${result.code}`);
      return result.message;
    }

    async function sendMany(channelId: string, senderId: string, count: number): Promise<void> {
      const requests = Array.from({ length: count }, (_, i) => req(channelId, senderId, `bulk-${channelId}-${i}`, `message ${i}`));
      await store.appendMessages(requests, now());
    }

    function change(actorId: string, c: Omit<ChannelChange, 'system'>, event: SystemEvent['event'] = 'member_added'): (s: ChannelState) => ChannelChange {
      return () => ({ ...c, system: { actorId, text: `${actorId} did ${event}`, event: { event, actorId } } });
    }

    function seqs(messages: readonly Message[]): number[] {
      return messages.map((m) => m.seq);
    }

    function range(from: number, to: number): number[] {
      return Array.from({ length: to - from + 1 }, (_, i) => from + i);
    }

    /** Every entry from `cursor` on, following pages of `limit`; also returns the final cursor. */
    async function syncAll(userId: string, cursor: string, limit: number): Promise<{ pages: SyncPage[]; cursor: string }> {
      const pages: SyncPage[] = [];
      for (let i = 0; i < 100; i++) {
        const page = await store.sync(userId, cursor, limit);
        pages.push(page);
        cursor = page.cursor;
        if (!page.hasMore) return { pages, cursor };
      }
      throw new Error('sync did not finish');
    }

    async function head(userId: string): Promise<string> {
      return (await store.sync(userId, null, 10)).cursor;
    }

    // --- users ----------------------------------------------------------------

    describe('users', () => {
      it('creates and looks up a user by id and by username', async () => {
        const alice = userRecord('alice');
        await store.createUser(alice);
        expect(await store.getUser(alice.id)).toStrictEqual(alice);
        expect(await store.getUserByUsername('alice')).toStrictEqual(alice);
        expect(await store.getUser('u_nobody')).toBeNull();
        expect(await store.getUserByUsername('nobody')).toBeNull();
      });

      it('refuses a taken username with username_taken and keeps the first account', async () => {
        const first = userRecord('alice');
        await store.createUser(first);
        const second = { ...userRecord('alice'), id: 'u_other' };
        const attempt = store.createUser(second);
        await expect(attempt).rejects.toBeInstanceOf(AppError);
        await expect(attempt).rejects.toMatchObject({ code: 'username_taken' });
        expect(await store.getUserByUsername('alice')).toStrictEqual(first);
        expect(await store.getUser('u_other')).toBeNull();
      });

      it('gets several users at once, leaving out unknown ids', async () => {
        await users('alice', 'bob', 'carol');
        const found = await store.getUsers(['u_carol', 'u_alice', 'u_nobody']);
        expect(found.map((u) => u.id).sort()).toEqual(['u_alice', 'u_carol']);
        expect(await store.getUsers([])).toEqual([]);
      });

      it('searches usernames by prefix, ordered by username, up to the limit', async () => {
        await users('bob', 'alicia', 'al', 'alice', 'alf', 'zed');
        expect((await store.searchUsers('ali', 10)).map((u) => u.username)).toEqual(['alice', 'alicia']);
        expect((await store.searchUsers('al', 10)).map((u) => u.username)).toEqual(['al', 'alf', 'alice', 'alicia']);
        expect((await store.searchUsers('al', 2)).map((u) => u.username)).toEqual(['al', 'alf']);
        expect((await store.searchUsers('alice', 10)).map((u) => u.username)).toEqual(['alice']);
        expect(await store.searchUsers('x', 10)).toEqual([]);
        const [hit] = await store.searchUsers('zed', 1);
        expect(hit).toStrictEqual(await store.getUser('u_zed'));
      });

      it('updates the display name and last seen time', async () => {
        await users('alice');
        await store.updateDisplayName('u_alice', 'Alice A.');
        await store.setLastSeen(new Map([['u_alice', T0 + 5]]));
        expect(await store.getUser('u_alice')).toMatchObject({ displayName: 'Alice A.', lastSeen: T0 + 5 });
        await store.setLastSeen(new Map());
      });

      it('records many last-seen times in one call, ignoring unknown users', async () => {
        await users('alice', 'bob', 'carol');
        await store.setLastSeen(new Map([['u_carol', T0 + 9], ['u_alice', T0 + 7], ['u_nobody', T0 + 1]]));
        const got = await store.getUsers(['u_alice', 'u_bob', 'u_carol']);
        expect(Object.fromEntries(got.map((u) => [u.id, u.lastSeen]))).toEqual({ u_alice: T0 + 7, u_bob: null, u_carol: T0 + 9 });
      });
    });

    // --- devices --------------------------------------------------------------

    describe('devices', () => {
      it('finds a live device by token hash, together with its user', async () => {
        await users('alice');
        const device = deviceRecord('d_1', 'u_alice');
        await store.createDevice(device, 'hash-1');
        const found = await store.findDeviceByTokenHash('hash-1');
        expect(found).toStrictEqual({ device, user: await store.getUser('u_alice') });
        expect(await store.findDeviceByTokenHash('hash-unknown')).toBeNull();
      });

      it('lists the user’s live devices', async () => {
        await users('alice', 'bob');
        const d1 = deviceRecord('d_1', 'u_alice');
        const d2 = deviceRecord('d_2', 'u_alice');
        await store.createDevice(d1, 'hash-1');
        await store.createDevice(d2, 'hash-2');
        await store.createDevice(deviceRecord('d_3', 'u_bob'), 'hash-3');
        const listed = await store.listDevices('u_alice');
        expect([...listed].sort((a, b) => a.id.localeCompare(b.id))).toStrictEqual([d1, d2]);
      });

      it('revokes only the owner’s live device, which then disappears everywhere', async () => {
        await users('alice', 'bob');
        await store.createDevice(deviceRecord('d_1', 'u_alice'), 'hash-1');
        await store.createDevice(deviceRecord('d_2', 'u_alice'), 'hash-2');
        expect(await store.revokeDevice('u_bob', 'd_1', now())).toBe(false);
        expect(await store.findDeviceByTokenHash('hash-1')).not.toBeNull();

        expect(await store.revokeDevice('u_alice', 'd_1', now())).toBe(true);
        expect(await store.findDeviceByTokenHash('hash-1')).toBeNull();
        expect((await store.listDevices('u_alice')).map((d) => d.id)).toEqual(['d_2']);
        expect(await store.revokeDevice('u_alice', 'd_1', now())).toBe(false);
        expect(await store.revokeDevice('u_alice', 'd_missing', now())).toBe(false);
      });

      it('touches a device’s last activity time', async () => {
        await users('alice');
        await store.createDevice(deviceRecord('d_1', 'u_alice'), 'hash-1');
        await store.touchDevice('d_1', T0 + 99_000);
        expect((await store.findDeviceByTokenHash('hash-1'))?.device.lastActiveAt).toBe(T0 + 99_000);
      });
    });

    // --- channels -------------------------------------------------------------

    describe('direct channels', () => {
      it('creates one empty channel per pair, whatever the order of the users', async () => {
        const [a, b] = await users('alice', 'bob');
        const at = now();
        const first = await store.getOrCreateDirect('c_1', a!, b!, at);
        expect(first).toStrictEqual({
          created: true,
          channel: { id: 'c_1', kind: 'direct', name: null, createdBy: a, createdAt: at, lastSeq: 0, memberCount: 2 },
        });
        const again = await store.getOrCreateDirect('c_2', b!, a!, now());
        expect(again).toStrictEqual({ created: false, channel: first.channel });
        const same = await store.getOrCreateDirect('c_3', a!, b!, now());
        expect(same).toStrictEqual({ created: false, channel: first.channel });
        expect(await store.findDirect(b!, a!)).toStrictEqual(first.channel);
        expect(await store.findDirect(a!, 'u_nobody')).toBeNull();
        expect(await store.getChannel('c_2')).toBeNull();
        expect(await store.getChannel('c_1')).toStrictEqual(first.channel);

        const members = await store.listMembers('c_1');
        expect(members.map((m) => m.userId).sort()).toEqual([a, b]);
        for (const m of members) {
          expect(m).toMatchObject({ channelId: 'c_1', role: 'member', joinedSeq: 1, leftSeq: null, deliveredSeq: 0, readSeq: 0 });
        }
        expect(await store.getMessages('c_1', { limit: 10 })).toEqual({ messages: [], hasMore: false });
      });

      it('lists direct peers only', async () => {
        const [a, b, c, d] = await users('alice', 'bob', 'carol', 'dave');
        await store.getOrCreateDirect('c_ab', a!, b!, now());
        await store.getOrCreateDirect('c_ca', c!, a!, now());
        await group('c_g', a!, [d!]);
        expect((await store.listDirectPeers(a!)).sort()).toEqual([b, c]);
        expect(await store.listDirectPeers(b!)).toEqual([a]);
        expect(await store.listDirectPeers(d!)).toEqual([]);
      });
    });

    describe('groups', () => {
      it('creates the channel, its members and the created event at seq 1', async () => {
        const [a, b, c] = await users('alice', 'bob', 'carol');
        const at = clock + 1000;
        const result = await group('c_g', a!, [b!, c!]);
        expect(result.channel).toStrictEqual({
          id: 'c_g',
          kind: 'group',
          name: 'group c_g',
          createdBy: a,
          createdAt: at,
          lastSeq: 1,
          memberCount: 3,
        });
        expect(result.message).toStrictEqual({
          channelId: 'c_g',
          seq: 1,
          senderId: a,
          clientId: result.message.clientId,
          kind: 'system',
          text: `${a} created the group`,
          createdAt: at,
          system: { event: 'created', actorId: a, name: 'group c_g', userIds: [b, c] },
        });
        expect([...result.recipients].sort()).toEqual([a, b, c]);
        expect(await store.getChannel('c_g')).toStrictEqual(result.channel);

        const members = await store.listMembers('c_g');
        expect(Object.fromEntries(members.map((m) => [m.userId, m.role]))).toEqual({ [a!]: 'owner', [b!]: 'member', [c!]: 'member' });
        for (const m of members) expect(m).toMatchObject({ joinedSeq: 1, leftSeq: null, joinedAt: at });

        const history = await store.getMessages('c_g', { limit: 10 });
        expect(history).toStrictEqual({ messages: [result.message], hasMore: false });
      });

      it('reports membership of users who never joined as null', async () => {
        const [a, b, c] = await users('alice', 'bob', 'carol');
        await group('c_g', a!, [b!]);
        expect(await store.getMember('c_g', c!)).toBeNull();
        expect(await store.getMember('c_none', a!)).toBeNull();
        expect(await store.getMember('c_g', b!)).toMatchObject({ channelId: 'c_g', userId: b, role: 'member', leftSeq: null });
        expect(await store.listMembers('c_none')).toEqual([]);
        expect(await store.getChannel('c_none')).toBeNull();
      });
    });

    // --- appending ------------------------------------------------------------

    describe('appendMessages', () => {
      it('assigns gap-free, monotonic seqs per channel within a batch mixing channels', async () => {
        const [a, b, c] = await users('alice', 'bob', 'carol');
        await group('c_g', a!, [b!, c!]);
        await store.getOrCreateDirect('c_d', a!, b!, now());
        const at = now();
        const batch = await store.appendMessages(
          [req('c_g', a!, 'g1'), req('c_d', a!, 'd1'), req('c_g', b!, 'g2'), req('c_d', b!, 'd2'), req('c_g', c!, 'g3')],
          at,
        );
        expect(batch.results.map((r) => (r.ok ? [r.message.channelId, r.message.seq, r.duplicate] : r.code))).toEqual([
          ['c_g', 2, false],
          ['c_d', 1, false],
          ['c_g', 3, false],
          ['c_d', 2, false],
          ['c_g', 4, false],
        ]);
        const first = batch.results[0]!;
        expect(first.ok && first.message).toStrictEqual({
          channelId: 'c_g',
          seq: 2,
          senderId: a,
          clientId: 'g1',
          kind: 'text',
          text: 'text g1',
          createdAt: at,
        });
        expect(first.ok && 'system' in first.message).toBe(false);

        expect([...batch.recipients.keys()].sort()).toEqual(['c_d', 'c_g']);
        expect([...batch.recipients.get('c_g')!].sort()).toEqual([a, b, c]);
        expect([...batch.recipients.get('c_d')!].sort()).toEqual([a, b]);

        expect((await store.getChannel('c_g'))?.lastSeq).toBe(4);
        expect((await store.getChannel('c_d'))?.lastSeq).toBe(2);
        const g = await store.getMessages('c_g', { limit: 50 });
        expect(seqs(g.messages)).toEqual([1, 2, 3, 4]);
        expect(g.messages.slice(1)).toStrictEqual(batch.results.flatMap((r) => (r.ok && r.message.channelId === 'c_g' ? [r.message] : [])));
        expect(seqs((await store.getMessages('c_d', { limit: 50 })).messages)).toEqual([1, 2]);

        // The next batch continues where the last one stopped.
        expect((await send('c_g', c!, 'g4')).seq).toBe(5);
        expect((await send('c_d', a!, 'd3')).seq).toBe(3);
      });

      it('moves the sender’s read and delivered watermarks to their message', async () => {
        const [a, b] = await users('alice', 'bob');
        await group('c_g', a!, [b!]);
        await store.appendMessages([req('c_g', a!, 'm1'), req('c_g', b!, 'm2'), req('c_g', a!, 'm3')], now());
        expect(await store.getMember('c_g', a!)).toMatchObject({ readSeq: 4, deliveredSeq: 4 });
        expect(await store.getMember('c_g', b!)).toMatchObject({ readSeq: 3, deliveredSeq: 3 });
      });

      it('returns the original message for a repeat within the batch and in a later batch', async () => {
        const [a, b] = await users('alice', 'bob');
        await group('c_g', a!, [b!]);
        const batch = await store.appendMessages([req('c_g', a!, 'k1', 'hello'), req('c_g', a!, 'k1', 'hello')], now());
        const [original, repeat] = batch.results;
        expect(original).toMatchObject({ ok: true, duplicate: false, message: { seq: 2, text: 'hello' } });
        expect(repeat).toStrictEqual({ ok: true, duplicate: true, message: original!.ok && original!.message });

        const later = await store.appendMessages([req('c_g', a!, 'k1', 'hello')], now());
        expect(later.results).toStrictEqual([{ ok: true, duplicate: true, message: original!.ok && original!.message }]);
        // Nothing new was committed, so nobody needs to be told.
        expect(later.recipients.size).toBe(0);
        expect((await store.getChannel('c_g'))?.lastSeq).toBe(2);
        expect(seqs((await store.getMessages('c_g', { limit: 10 })).messages)).toEqual([1, 2]);
      });

      it('scopes the idempotency key to the sending device and the channel', async () => {
        const [a, b] = await users('alice', 'bob');
        await group('c_g', a!, [b!]);
        await store.getOrCreateDirect('c_d', a!, b!, now());
        const { results } = await store.appendMessages(
          [req('c_g', a!, 'k', 'same', 'd_phone'), req('c_g', a!, 'k', 'same', 'd_laptop'), req('c_d', a!, 'k', 'same', 'd_phone')],
          now(),
        );
        expect(results.map((r) => r.ok && [r.message.channelId, r.message.seq, r.duplicate])).toEqual([
          ['c_g', 2, false],
          ['c_g', 3, false],
          ['c_d', 1, false],
        ]);
      });

      it('refuses a repeat with other text as idempotency_conflict and keeps the original', async () => {
        const [a, b] = await users('alice', 'bob');
        await group('c_g', a!, [b!]);
        const original = await send('c_g', a!, 'k1', 'original');
        const later = await store.appendMessages([req('c_g', a!, 'k1', 'changed')], now());
        expect(later.results).toEqual([{ ok: false, code: 'idempotency_conflict' }]);
        expect(later.recipients.size).toBe(0);

        const sameBatch = await store.appendMessages([req('c_g', a!, 'k2', 'first'), req('c_g', a!, 'k2', 'second')], now());
        expect(sameBatch.results[0]).toMatchObject({ ok: true, duplicate: false, message: { seq: 3, text: 'first' } });
        expect(sameBatch.results[1]).toEqual({ ok: false, code: 'idempotency_conflict' });

        const history = await store.getMessages('c_g', { limit: 10 });
        expect(history.messages.map((m) => [m.seq, m.text])).toEqual([
          [1, `${a} created the group`],
          [2, 'original'],
          [3, 'first'],
        ]);
        expect(history.messages[1]).toStrictEqual(original);
      });

      it('refuses non-members and unknown channels without storing anything, and commits the rest of the batch', async () => {
        const [a, b, outsider] = await users('alice', 'bob', 'eve');
        await group('c_g', a!, [b!]);
        const before = await head(outsider!);
        const batch = await store.appendMessages(
          [req('c_g', outsider!, 'x1'), req('c_none', a!, 'x2'), req('c_g', b!, 'ok1'), req('c_g', outsider!, 'x3')],
          now(),
        );
        expect(batch.results.map((r) => (r.ok ? r.message.seq : r.code))).toEqual(['not_member', 'channel_not_found', 2, 'not_member']);
        expect([...batch.recipients.keys()]).toEqual(['c_g']);
        expect(batch.recipients.get('c_g')).not.toContain(outsider);
        expect((await store.getChannel('c_g'))?.lastSeq).toBe(2);
        expect((await store.getMessages('c_g', { limit: 10 })).messages.map((m) => m.senderId)).toEqual([a, b]);
        expect(await store.getChannel('c_none')).toBeNull();
        expect(await store.getMember('c_g', outsider!)).toBeNull();
        expect((await store.sync(outsider!, before, 10)).entries).toEqual([]);

        const onlyRefused = await store.appendMessages([req('c_g', outsider!, 'x4')], now());
        expect(onlyRefused.results).toEqual([{ ok: false, code: 'not_member' }]);
        expect(onlyRefused.recipients.size).toBe(0);
        expect((await store.getChannel('c_g'))?.lastSeq).toBe(2);
      });

      it('refuses a removed member, and no longer counts them as a recipient', async () => {
        const [a, b, c] = await users('alice', 'bob', 'carol');
        await group('c_g', a!, [b!, c!]);
        await store.changeChannel('c_g', change(a!, { remove: [c!] }, 'member_removed'), now());
        const batch = await store.appendMessages([req('c_g', c!, 'late'), req('c_g', a!, 'fine')], now());
        expect(batch.results.map((r) => (r.ok ? r.message.seq : r.code))).toEqual(['not_member', 3]);
        expect([...batch.recipients.get('c_g')!].sort()).toEqual([a, b]);
      });

      it('still answers a retry of a send that committed before its sender was removed', async () => {
        const [a, b, c] = await users('alice', 'bob', 'carol');
        await group('c_g', a!, [b!, c!]);
        const original = await send('c_g', c!, 'k1', 'before removal');
        await store.changeChannel('c_g', change(a!, { remove: [c!] }, 'member_removed'), now());
        const retry = await store.appendMessages([req('c_g', c!, 'k1', 'before removal')], now());
        expect(retry.results).toEqual([{ ok: true, message: original, duplicate: true }]);
        const fresh = await store.appendMessages([req('c_g', c!, 'k2', 'after removal')], now());
        expect(fresh.results).toEqual([{ ok: false, code: 'not_member' }]);
      });

      it('counts an event as read by the member who caused it', async () => {
        const [a, b] = await users('alice', 'bob');
        await group('c_g', a!, [b!]);
        expect(await store.getMember('c_g', a!)).toMatchObject({ readSeq: 1, deliveredSeq: 1 });
        expect(await store.getMember('c_g', b!)).toMatchObject({ readSeq: 0, deliveredSeq: 0 });
        await store.changeChannel('c_g', change(b!, { rename: 'new' }, 'renamed'), now());
        expect(await store.getMember('c_g', b!)).toMatchObject({ readSeq: 2, deliveredSeq: 2 });
        expect(await store.getMember('c_g', a!)).toMatchObject({ readSeq: 1 });
      });

      it('returns an empty result for an empty batch', async () => {
        const result = await store.appendMessages([], now());
        expect(result.results).toEqual([]);
        expect(result.recipients.size).toBe(0);
      });
    });

    // --- history --------------------------------------------------------------

    describe('getMessages', () => {
      /** c_h holds seqs 1..21: the created event and 20 text messages; c_other has its own. */
      beforeEach(async () => {
        const [a, b] = await users('alice', 'bob');
        await group('c_h', a!, [b!]);
        await sendMany('c_h', a!, 20);
        await group('c_other', b!, [a!]);
        await sendMany('c_other', b!, 5);
      });

      it('without bounds returns the newest page', async () => {
        const page = await store.getMessages('c_h', { limit: 5 });
        expect(seqs(page.messages)).toEqual([17, 18, 19, 20, 21]);
        expect(page.hasMore).toBe(true);
        const all = await store.getMessages('c_h', { limit: 100 });
        expect(seqs(all.messages)).toEqual(range(1, 21));
        expect(all.hasMore).toBe(false);
        expect(all.messages.every((m) => m.channelId === 'c_h')).toBe(true);
        const exact = await store.getMessages('c_h', { limit: 21 });
        expect(exact.messages).toHaveLength(21);
        expect(exact.hasMore).toBe(false);
      });

      it('with `before` returns the newest messages below it, ascending', async () => {
        expect(await store.getMessages('c_h', { before: 10, limit: 3 }).then((p) => [seqs(p.messages), p.hasMore])).toEqual([[7, 8, 9], true]);
        expect(await store.getMessages('c_h', { before: 4, limit: 3 }).then((p) => [seqs(p.messages), p.hasMore])).toEqual([[1, 2, 3], false]);
        expect(await store.getMessages('c_h', { before: 3, limit: 5 }).then((p) => [seqs(p.messages), p.hasMore])).toEqual([[1, 2], false]);
        expect(await store.getMessages('c_h', { before: 1, limit: 5 }).then((p) => [seqs(p.messages), p.hasMore])).toEqual([[], false]);
      });

      it('with `after` returns the oldest messages above it', async () => {
        expect(await store.getMessages('c_h', { after: 5, limit: 3 }).then((p) => [seqs(p.messages), p.hasMore])).toEqual([[6, 7, 8], true]);
        expect(await store.getMessages('c_h', { after: 18, limit: 3 }).then((p) => [seqs(p.messages), p.hasMore])).toEqual([[19, 20, 21], false]);
        expect(await store.getMessages('c_h', { after: 0, limit: 2 }).then((p) => [seqs(p.messages), p.hasMore])).toEqual([[1, 2], true]);
        expect(await store.getMessages('c_h', { after: 21, limit: 5 }).then((p) => [seqs(p.messages), p.hasMore])).toEqual([[], false]);
      });

      it('with both bounds returns the window from its oldest end', async () => {
        expect(await store.getMessages('c_h', { after: 5, before: 10, limit: 3 }).then((p) => [seqs(p.messages), p.hasMore])).toEqual([[6, 7, 8], true]);
        expect(await store.getMessages('c_h', { after: 5, before: 10, limit: 4 }).then((p) => [seqs(p.messages), p.hasMore])).toEqual([[6, 7, 8, 9], false]);
        expect(await store.getMessages('c_h', { after: 5, before: 10, limit: 50 }).then((p) => [seqs(p.messages), p.hasMore])).toEqual([[6, 7, 8, 9], false]);
        expect(await store.getMessages('c_h', { after: 5, before: 6, limit: 5 }).then((p) => [seqs(p.messages), p.hasMore])).toEqual([[], false]);
      });

      it('never returns messages above maxSeq, and hasMore stays within it', async () => {
        expect(await store.getMessages('c_h', { maxSeq: 12, limit: 3 }).then((p) => [seqs(p.messages), p.hasMore])).toEqual([[10, 11, 12], true]);
        expect(await store.getMessages('c_h', { maxSeq: 12, after: 10, limit: 5 }).then((p) => [seqs(p.messages), p.hasMore])).toEqual([[11, 12], false]);
        expect(await store.getMessages('c_h', { maxSeq: 12, after: 9, limit: 3 }).then((p) => [seqs(p.messages), p.hasMore])).toEqual([[10, 11, 12], false]);
        expect(await store.getMessages('c_h', { maxSeq: 12, before: 15, limit: 2 }).then((p) => [seqs(p.messages), p.hasMore])).toEqual([[11, 12], true]);
        expect(await store.getMessages('c_h', { maxSeq: 12, before: 11, limit: 2 }).then((p) => [seqs(p.messages), p.hasMore])).toEqual([[9, 10], true]);
        expect(await store.getMessages('c_h', { maxSeq: 12, after: 12, limit: 5 }).then((p) => [seqs(p.messages), p.hasMore])).toEqual([[], false]);
        expect(await store.getMessages('c_h', { maxSeq: 12, after: 3, before: 20, limit: 50 }).then((p) => [seqs(p.messages), p.hasMore])).toEqual([range(4, 12), false]);
      });

      it('pages through the whole channel without gaps or repeats in both directions', async () => {
        const backward: number[] = [];
        let before: number | undefined;
        for (;;) {
          const page = await store.getMessages('c_h', { limit: 4, ...(before !== undefined && { before }) });
          backward.unshift(...seqs(page.messages));
          if (!page.hasMore) break;
          before = page.messages[0]!.seq;
        }
        expect(backward).toEqual(range(1, 21));

        const forward: number[] = [];
        let after = 0;
        for (;;) {
          const page = await store.getMessages('c_h', { after, limit: 4 });
          forward.push(...seqs(page.messages));
          if (!page.hasMore) break;
          after = page.messages.at(-1)!.seq;
        }
        expect(forward).toEqual(range(1, 21));
      });

      it('returns an empty page for an unknown channel', async () => {
        expect(await store.getMessages('c_none', { limit: 10 })).toEqual({ messages: [], hasMore: false });
      });
    });

    // --- membership changes ---------------------------------------------------

    describe('changeChannel', () => {
      it('returns null for an unknown channel without calling decide', async () => {
        let called = false;
        const result = await store.changeChannel(
          'c_none',
          (s) => {
            called = true;
            return change('u_x', {})(s);
          },
          now(),
        );
        expect(result).toBeNull();
        expect(called).toBe(false);
      });

      it('hands decide the channel and its current members only', async () => {
        const [a, b, c] = await users('alice', 'bob', 'carol');
        await group('c_g', a!, [b!, c!]);
        await store.changeChannel('c_g', change(a!, { remove: [c!] }, 'member_removed'), now());
        let seen: ChannelState | undefined;
        await store.changeChannel(
          'c_g',
          (s) => {
            seen = s;
            return change(a!, { rename: 'new name' }, 'renamed')(s);
          },
          now(),
        );
        expect(seen?.channel).toStrictEqual({ ...(await store.getChannel('c_g'))!, name: 'group c_g', lastSeq: 2 });
        expect(seen?.members.map((m) => m.userId).sort()).toEqual([a, b]);
      });

      it('renames with a system message at the next seq', async () => {
        const [a, b] = await users('alice', 'bob');
        await group('c_g', a!, [b!]);
        await send('c_g', b!, 'm1');
        const at = now();
        const result = await store.changeChannel(
          'c_g',
          () => ({ rename: 'Renamed', system: { actorId: b!, text: 'bob renamed', event: { event: 'renamed', actorId: b!, name: 'Renamed' } } }),
          at,
        );
        expect(result?.channel).toMatchObject({ id: 'c_g', name: 'Renamed', lastSeq: 3, memberCount: 2 });
        expect(result?.message).toStrictEqual({
          channelId: 'c_g',
          seq: 3,
          senderId: b,
          clientId: result!.message.clientId,
          kind: 'system',
          text: 'bob renamed',
          createdAt: at,
          system: { event: 'renamed', actorId: b, name: 'Renamed' },
        });
        expect([...result!.recipients].sort()).toEqual([a, b]);
        expect(await store.getChannel('c_g')).toStrictEqual(result!.channel);
        expect((await store.getMessages('c_g', { limit: 1 })).messages).toStrictEqual([result!.message]);
      });

      it('adds members at the event’s seq and tells them', async () => {
        const [a, b, c] = await users('alice', 'bob', 'carol');
        await group('c_g', a!, [b!]);
        await send('c_g', a!, 'm1');
        const at = now();
        const result = await store.changeChannel('c_g', change(a!, { add: [{ userId: c!, role: 'admin' }] }), at);
        expect(result?.channel).toMatchObject({ lastSeq: 3, memberCount: 3 });
        expect([...result!.recipients].sort()).toEqual([a, b, c]);
        expect(await store.getMember('c_g', c!)).toStrictEqual({
          channelId: 'c_g',
          userId: c,
          role: 'admin',
          joinedAt: at,
          joinedSeq: 3,
          leftSeq: null,
          // Earlier messages are history, not unread: watermarks start just before the join.
          deliveredSeq: 2,
          readSeq: 2,
          mutedUntil: null,
        });
        expect((await send('c_g', c!, 'hello')).seq).toBe(4);
      });

      it('removes members: they keep a former row, get the event, and nothing after', async () => {
        const [a, b, c] = await users('alice', 'bob', 'carol');
        await group('c_g', a!, [b!, c!]);
        const result = await store.changeChannel('c_g', change(a!, { remove: [c!] }, 'member_removed'), now());
        expect(result?.channel).toMatchObject({ lastSeq: 2, memberCount: 2 });
        expect([...result!.recipients].sort()).toEqual([a, b, c]);
        expect(await store.getMember('c_g', c!)).toMatchObject({ leftSeq: 2, role: 'member', joinedSeq: 1 });
        expect((await store.listMembers('c_g')).map((m) => m.userId).sort()).toEqual([a, b]);

        const later = await store.appendMessages([req('c_g', a!, 'after')], now());
        expect([...later.recipients.get('c_g')!].sort()).toEqual([a, b]);
        // A later membership event goes to current members only.
        const rename = await store.changeChannel('c_g', change(a!, { rename: 'x' }, 'renamed'), now());
        expect([...rename!.recipients].sort()).toEqual([a, b]);
      });

      it('brings a former member back with a new joinedSeq; what happened while away is history, not unread', async () => {
        const [a, b, c] = await users('alice', 'bob', 'carol');
        await group('c_g', a!, [b!, c!]);
        await send('c_g', c!, 'mine'); // c's watermarks move to 2
        await store.changeChannel('c_g', change(a!, { remove: [c!] }, 'member_removed'), now()); // seq 3
        await send('c_g', a!, 'while away'); // seq 4
        const result = await store.changeChannel('c_g', change(a!, { add: [{ userId: c!, role: 'member' }] }), now()); // seq 5
        expect(result?.channel).toMatchObject({ lastSeq: 5, memberCount: 3 });
        expect(await store.getMember('c_g', c!)).toMatchObject({ joinedSeq: 5, leftSeq: null, readSeq: 4, deliveredSeq: 4, role: 'member' });
        expect((await send('c_g', c!, 'back')).seq).toBe(6);
      });

      it('changes roles', async () => {
        const [a, b] = await users('alice', 'bob');
        await group('c_g', a!, [b!]);
        await store.changeChannel('c_g', change(a!, { roles: [{ userId: b!, role: 'admin' }] }, 'role_changed'), now());
        expect((await store.getMember('c_g', b!))?.role).toBe('admin');
        expect((await store.getMember('c_g', a!))?.role).toBe('owner');
      });

      it('writes nothing when decide refuses, and the next change takes the next seq', async () => {
        const [a, b, c] = await users('alice', 'bob', 'carol');
        await group('c_g', a!, [b!]);
        const channelBefore = await store.getChannel('c_g');
        const membersBefore = await store.listMembers('c_g');
        const cursor = await head(b!);

        const refused = store.changeChannel(
          'c_g',
          () => {
            throw new AppError('forbidden');
          },
          now(),
        );
        await expect(refused).rejects.toBeInstanceOf(AppError);
        await expect(refused).rejects.toMatchObject({ code: 'forbidden' });

        expect(await store.getChannel('c_g')).toStrictEqual(channelBefore);
        expect(await store.listMembers('c_g')).toStrictEqual(membersBefore);
        expect(await store.getMember('c_g', c!)).toBeNull();
        expect(seqs((await store.getMessages('c_g', { limit: 10 })).messages)).toEqual([1]);
        expect((await store.sync(b!, cursor, 10)).entries).toEqual([]);

        const next = await store.changeChannel('c_g', change(a!, { add: [{ userId: c!, role: 'member' }] }), now());
        expect(next?.message.seq).toBe(2);
      });

      it('gives system messages distinct client ids', async () => {
        const [a, b] = await users('alice', 'bob');
        const created = await group('c_g', a!, [b!]);
        const renamed = await store.changeChannel('c_g', change(a!, { rename: 'x' }, 'renamed'), now());
        expect(renamed!.message.clientId).not.toBe(created.message.clientId);
      });
    });

    // --- channel lists --------------------------------------------------------

    describe('listMemberships', () => {
      it('lists current and former memberships, newest activity first, with the last readable message', async () => {
        const [a, b, c] = await users('alice', 'bob', 'carol');
        await store.getOrCreateDirect('c_empty', a!, c!, now());
        await group('c_left', b!, [a!]);
        const removal = await store.changeChannel('c_left', change(b!, { remove: [a!] }, 'member_removed'), now());
        await store.getOrCreateDirect('c_d', a!, b!, now());
        const direct = await send('c_d', b!, 'dm');
        await group('c_g', a!, [b!, c!]);
        const groupLast = await send('c_g', c!, 'latest');
        // Activity after alice left moves c_left to the top, but she only sees up to her removal.
        await send('c_left', b!, 'after alice left');

        const views = await store.listMemberships(a!);
        expect(views.map((v) => v.channel.id)).toEqual(['c_left', 'c_g', 'c_d', 'c_empty']);
        const byId = new Map(views.map((v) => [v.channel.id, v]));

        const left = byId.get('c_left')!;
        expect(left.channel).toStrictEqual(await store.getChannel('c_left'));
        expect(left.channel.lastSeq).toBe(3);
        expect(left.member).toMatchObject({ userId: a, leftSeq: 2 });
        expect(left.lastMessage).toStrictEqual(removal!.message);
        expect(left.peerId).toBeNull();

        expect(byId.get('c_g')).toStrictEqual({
          channel: await store.getChannel('c_g'),
          member: await store.getMember('c_g', a!),
          lastMessage: groupLast,
          peerId: null,
        });
        expect(byId.get('c_d')).toMatchObject({ lastMessage: direct, peerId: b });
        expect(byId.get('c_empty')).toMatchObject({ lastMessage: null, peerId: c, channel: { lastSeq: 0 } });

        expect((await store.listMemberships(c!)).map((v) => v.channel.id)).toEqual(['c_g', 'c_empty']);
        await users('dave');
        expect(await store.listMemberships('u_dave')).toEqual([]);
      });
    });

    // --- sync -----------------------------------------------------------------

    describe('sync', () => {
      it('from a null cursor returns an empty page at the head', async () => {
        const [a, b] = await users('alice', 'bob');
        await group('c_g', a!, [b!]);
        const start = await store.sync(a!, null, 10);
        expect(start).toEqual({ cursor: start.cursor, hasMore: false, entries: [] });
        expect(typeof start.cursor).toBe('string');
        // The head cursor is a valid cursor: nothing has changed since.
        expect(await store.sync(a!, start.cursor, 10)).toMatchObject({ hasMore: false, entries: [] });

        await send('c_g', b!, 'm1');
        const next = await store.sync(a!, start.cursor, 10);
        // The creator has read the `created` event they caused.
        expect(next.entries).toEqual([{ channelId: 'c_g', lastSeq: 2, joinedSeq: 1, readSeq: 1, left: false, mutedUntil: null }]);
        expect(next.hasMore).toBe(false);
        expect(next.cursor).not.toBe(start.cursor);
        expect((await store.sync(a!, next.cursor, 10)).entries).toEqual([]);
      });

      it('from "0" lists every channel of the user once, oldest change first', async () => {
        const [a, b, c] = await users('alice', 'bob', 'carol');
        await group('c_1', a!, [b!]);
        await store.getOrCreateDirect('c_2', a!, c!, now());
        await group('c_3', c!, [a!]);
        await group('c_other', b!, [c!]);
        await send('c_1', a!, 'm1');

        const page = await store.sync(a!, '0', 100);
        expect(page.hasMore).toBe(false);
        expect(page.entries).toEqual([
          { channelId: 'c_2', lastSeq: 0, joinedSeq: 1, readSeq: 0, left: false, mutedUntil: null },
          { channelId: 'c_3', lastSeq: 1, joinedSeq: 1, readSeq: 0, left: false, mutedUntil: null },
          { channelId: 'c_1', lastSeq: 2, joinedSeq: 1, readSeq: 2, left: false, mutedUntil: null },
        ]);
        expect((await store.sync(b!, '0', 100)).entries.map((e) => e.channelId)).toEqual(['c_other', 'c_1']);
        expect(await store.sync(a!, page.cursor, 100)).toMatchObject({ hasMore: false, entries: [] });
      });

      it('pages with a limit, without skipping or repeating, also when one commit touched several channels', async () => {
        const [a, b] = await users('alice', 'bob');
        for (let i = 1; i <= 5; i++) await group(`c_${i}`, b!, [a!]);
        const cursor = await head(a!);
        // One batch touching all five channels of alice.
        await store.appendMessages(range(1, 5).map((i) => req(`c_${i}`, b!, `m${i}`)), now());

        const { pages, cursor: end } = await syncAll(a!, cursor, 2);
        expect(pages.map((p) => [p.entries.length, p.hasMore])).toEqual([
          [2, true],
          [2, true],
          [1, false],
        ]);
        const ids = pages.flatMap((p) => p.entries.map((e) => e.channelId));
        expect([...ids].sort()).toEqual(['c_1', 'c_2', 'c_3', 'c_4', 'c_5']);
        expect(pages.flatMap((p) => p.entries).every((e) => e.lastSeq === 2)).toBe(true);

        const one = await syncAll(a!, cursor, 1);
        expect(one.pages.flatMap((p) => p.entries.map((e) => e.channelId)).sort()).toEqual(['c_1', 'c_2', 'c_3', 'c_4', 'c_5']);
        expect((await store.sync(a!, end, 10)).entries).toEqual([]);
      });

      it('reports a channel once, with its latest state, however often it changed', async () => {
        const [a, b] = await users('alice', 'bob');
        await group('c_g', a!, [b!]);
        const cursor = await head(a!);
        for (let i = 0; i < 3; i++) await send('c_g', b!, `m${i}`);
        const page = await store.sync(a!, cursor, 10);
        expect(page.entries).toEqual([{ channelId: 'c_g', lastSeq: 4, joinedSeq: 1, readSeq: 1, left: false, mutedUntil: null }]);
      });

      it('shows the reader’s own read watermark change, but not to other members', async () => {
        const [a, b] = await users('alice', 'bob');
        await group('c_g', a!, [b!]);
        await store.getOrCreateDirect('c_d', a!, b!, now());
        await send('c_g', a!, 'm1');
        await send('c_d', a!, 'm2');
        const cursorB = await head(b!);
        const cursorA = await head(a!);

        await store.updateReceipts([
          { channelId: 'c_g', userId: b!, readSeq: 2 },
          { channelId: 'c_d', userId: b!, readSeq: 1 },
        ]);
        // Both of bob's rows changed in one call: a page of one must not skip the second.
        const { pages } = await syncAll(b!, cursorB, 1);
        expect(pages.flatMap((p) => p.entries)).toEqual(
          expect.arrayContaining([
            { channelId: 'c_g', lastSeq: 2, joinedSeq: 1, readSeq: 2, left: false, mutedUntil: null },
            { channelId: 'c_d', lastSeq: 1, joinedSeq: 1, readSeq: 1, left: false, mutedUntil: null },
          ]),
        );
        expect(pages.flatMap((p) => p.entries)).toHaveLength(2);
        expect((await store.sync(a!, cursorA, 10)).entries).toEqual([]);

        // Delivered alone is not something the reader's devices sync.
        const afterRead = await head(b!);
        await send('c_g', a!, 'm3');
        const afterSend = await head(b!);
        await store.updateReceipts([{ channelId: 'c_g', userId: b!, deliveredSeq: 3 }]);
        expect((await store.sync(b!, afterSend, 10)).entries).toEqual([]);
        expect((await store.sync(b!, afterRead, 10)).entries).toEqual([{ channelId: 'c_g', lastSeq: 3, joinedSeq: 1, readSeq: 2, left: false, mutedUntil: null }]);
      });

      it('shows a removed member `left`, with lastSeq capped at the removal, and nothing after it', async () => {
        const [a, b, c] = await users('alice', 'bob', 'carol');
        await group('c_g', a!, [b!, c!]);
        await send('c_g', a!, 'm1');
        const before = await head(c!);
        await store.changeChannel('c_g', change(a!, { remove: [c!] }, 'member_removed'), now()); // seq 3
        const page = await store.sync(c!, before, 10);
        expect(page.entries).toEqual([{ channelId: 'c_g', lastSeq: 3, joinedSeq: 1, readSeq: 0, left: true, mutedUntil: null }]);

        await send('c_g', a!, 'm2');
        await store.changeChannel('c_g', change(a!, { rename: 'secret' }, 'renamed'), now());
        expect((await store.getChannel('c_g'))?.lastSeq).toBe(5);
        expect((await store.sync(c!, page.cursor, 10)).entries).toEqual([]);
        expect((await store.sync(c!, '0', 10)).entries).toEqual([{ channelId: 'c_g', lastSeq: 3, joinedSeq: 1, readSeq: 0, left: true, mutedUntil: null }]);
        expect((await store.sync(b!, page.cursor, 10)).entries).toEqual([{ channelId: 'c_g', lastSeq: 5, joinedSeq: 1, readSeq: 0, left: false, mutedUntil: null }]);
      });

      it('shows a channel to a member added later, from their joinedSeq', async () => {
        const [a, b, c] = await users('alice', 'bob', 'carol');
        await group('c_g', a!, [b!]);
        await send('c_g', a!, 'm1');
        const before = await head(c!);
        await store.changeChannel('c_g', change(a!, { add: [{ userId: c!, role: 'member' }] }), now());
        expect((await store.sync(c!, before, 10)).entries).toEqual([{ channelId: 'c_g', lastSeq: 3, joinedSeq: 3, readSeq: 2, left: false, mutedUntil: null }]);
      });

      it('shows a new direct channel to both users', async () => {
        const [a, b] = await users('alice', 'bob');
        const cursor = await head(b!);
        await store.getOrCreateDirect('c_d', a!, b!, now());
        expect((await store.sync(b!, cursor, 10)).entries).toEqual([{ channelId: 'c_d', lastSeq: 0, joinedSeq: 1, readSeq: 0, left: false, mutedUntil: null }]);
      });

      it('refuses cursors it did not issue with bad_request', async () => {
        const [a] = await users('alice');
        const current = await head(a!);
        const beyond = String(Number(current) + 1000);
        for (const cursor of ['abc', '-1', '1.5', '', ' 1', '1e3', '0x10', '99999999999999999999999', beyond]) {
          const attempt = store.sync(a!, cursor, 10);
          await expect(attempt, `cursor ${JSON.stringify(cursor)}`).rejects.toBeInstanceOf(AppError);
          await expect(attempt, `cursor ${JSON.stringify(cursor)}`).rejects.toMatchObject({ code: 'bad_request' });
        }
      });
    });

    // --- receipts -------------------------------------------------------------

    describe('updateReceipts', () => {
      async function threeMessages(): Promise<[string, string, string]> {
        const [a, b, c] = await users('alice', 'bob', 'carol');
        await group('c_g', a!, [b!]);
        await sendMany('c_g', a!, 3); // seqs 2..4
        return [a!, b!, c!];
      }

      it('raises watermarks, read implying delivered, and returns the changed rows', async () => {
        const [, b] = await threeMessages();
        expect(await store.updateReceipts([{ channelId: 'c_g', userId: b, deliveredSeq: 2 }])).toEqual([
          { channelId: 'c_g', userId: b, deliveredSeq: 2, readSeq: 0 },
        ]);
        expect(await store.updateReceipts([{ channelId: 'c_g', userId: b, readSeq: 3 }])).toEqual([
          { channelId: 'c_g', userId: b, deliveredSeq: 3, readSeq: 3 },
        ]);
        expect(await store.getMember('c_g', b)).toMatchObject({ deliveredSeq: 3, readSeq: 3 });
        expect(await store.updateReceipts([{ channelId: 'c_g', userId: b, deliveredSeq: 4, readSeq: 3 }])).toEqual([
          { channelId: 'c_g', userId: b, deliveredSeq: 4, readSeq: 3 },
        ]);
      });

      it('never lowers a watermark, and reports nothing when nothing changed', async () => {
        const [, b] = await threeMessages();
        await store.updateReceipts([{ channelId: 'c_g', userId: b, readSeq: 3 }]);
        expect(await store.updateReceipts([{ channelId: 'c_g', userId: b, readSeq: 2, deliveredSeq: 1 }])).toEqual([]);
        expect(await store.updateReceipts([{ channelId: 'c_g', userId: b, readSeq: 3 }])).toEqual([]);
        expect(await store.getMember('c_g', b)).toMatchObject({ deliveredSeq: 3, readSeq: 3 });
      });

      it('clamps to the end of the channel', async () => {
        const [, b] = await threeMessages();
        expect(await store.updateReceipts([{ channelId: 'c_g', userId: b, deliveredSeq: 999 }])).toEqual([
          { channelId: 'c_g', userId: b, deliveredSeq: 4, readSeq: 0 },
        ]);
        expect(await store.updateReceipts([{ channelId: 'c_g', userId: b, readSeq: 999 }])).toEqual([
          { channelId: 'c_g', userId: b, deliveredSeq: 4, readSeq: 4 },
        ]);
        expect(await store.updateReceipts([{ channelId: 'c_g', userId: b, readSeq: 999 }])).toEqual([]);
      });

      it('clamps a former member to their removal', async () => {
        const [a, b] = await threeMessages();
        await store.changeChannel('c_g', change(a, { remove: [b] }, 'member_removed'), now()); // seq 5
        await send('c_g', a, 'later'); // seq 6
        expect(await store.updateReceipts([{ channelId: 'c_g', userId: b, readSeq: 6 }])).toEqual([
          { channelId: 'c_g', userId: b, deliveredSeq: 5, readSeq: 5 },
        ]);
      });

      it('skips users who were never members and unknown channels', async () => {
        const [, b, c] = await threeMessages();
        expect(
          await store.updateReceipts([
            { channelId: 'c_g', userId: c, readSeq: 2 },
            { channelId: 'c_none', userId: b, readSeq: 2 },
          ]),
        ).toEqual([]);
        expect(await store.getMember('c_g', c)).toBeNull();
      });

      it('applies a batch in order and reports each changed row once with its final values', async () => {
        const [a, b] = await threeMessages();
        const changes = await store.updateReceipts([
          { channelId: 'c_g', userId: b, deliveredSeq: 2 },
          { channelId: 'c_g', userId: a, readSeq: 4 }, // already there: the sender's own message
          { channelId: 'c_g', userId: b, readSeq: 3 },
          { channelId: 'c_g', userId: b, readSeq: 1 },
        ]);
        expect(changes).toEqual([{ channelId: 'c_g', userId: b, deliveredSeq: 3, readSeq: 3 }]);
      });
    });

    // --- push -----------------------------------------------------------------

    describe('push', () => {
      const web = (n: number): PushRegistration => ({ kind: 'webpush', endpoint: `https://push.example/${n}`, keys: { p256dh: `key${n}`, auth: `auth${n}` } });
      const apns = (token: string): PushRegistration => ({ kind: 'apns', token });
      const POLICY = (at: number): PushPolicy => ({ dueAt: at + 5_000, minIntervalMs: 60_000 });
      const FAR = T0 + 10 ** 9;

      /** alice (d_a1, d_a2), bob (d_b1 web, d_b2 apns, d_b3 unregistered) and carol (d_c1) in group c_g. */
      async function setup(): Promise<string[]> {
        const ids = await users('alice', 'bob', 'carol');
        for (const [id, user] of [['d_a1', 'u_alice'], ['d_a2', 'u_alice'], ['d_b1', 'u_bob'], ['d_b2', 'u_bob'], ['d_b3', 'u_bob'], ['d_c1', 'u_carol']] as const) {
          await store.createDevice(deviceRecord(id, user), `hash-${id}`);
        }
        await store.setPushRegistration('d_a1', web(1), now());
        await store.setPushRegistration('d_a2', apns('aa02'), now());
        await store.setPushRegistration('d_b1', web(2), now());
        await store.setPushRegistration('d_b2', apns('bb02'), now());
        await store.setPushRegistration('d_c1', { kind: 'fcm', token: 'fcm-c1' }, now());
        await group('c_g', ids[0]!, [ids[1]!, ids[2]!]);
        return ids;
      }

      /** Every job, claimed (and so leased) far in the future: for looking only. */
      async function jobs(): Promise<PushJob[]> {
        const all = await store.claimPushJobs(FAR, 1000, FAR);
        return all.sort((x, y) => `${x.deviceId}/${x.channelId}`.localeCompare(`${y.deviceId}/${y.channelId}`));
      }

      async function pushSend(channelId: string, senderId: string, clientId: string, at: number, deviceId = `d_${senderId}`): Promise<number> {
        const { results } = await store.appendMessages([req(channelId, senderId, clientId, `text ${clientId}`, deviceId)], at, POLICY(at));
        const r = results[0]!;
        if (!r.ok) throw new Error(r.code);
        return r.message.seq;
      }

      it('keeps one registration per device, replaceable, and a target on the device that registered it last', async () => {
        await users('alice', 'bob');
        await store.createDevice(deviceRecord('d_1', 'u_alice'), 'hash-1');
        await store.createDevice(deviceRecord('d_2', 'u_bob'), 'hash-2');
        expect(await store.getPushRegistration('d_1')).toBeNull();
        await store.setPushRegistration('d_1', web(1), now());
        expect(await store.getPushRegistration('d_1')).toStrictEqual(web(1));
        await store.setPushRegistration('d_1', apns('ab01'), now());
        expect(await store.getPushRegistration('d_1')).toStrictEqual(apns('ab01'));
        // The same APNs token now registered by bob's device (say, the app was reinstalled and bob logged in).
        await store.setPushRegistration('d_2', apns('ab01'), now());
        expect(await store.getPushRegistration('d_2')).toStrictEqual(apns('ab01'));
        expect(await store.getPushRegistration('d_1')).toBeNull();
      });

      it('deletes a registration only when it is still the one named, and with it the device’s jobs', async () => {
        const [a, b] = await setup();
        await pushSend('c_g', a!, 'm1', now(), 'd_a1');
        expect((await jobs()).some((j) => j.deviceId === 'd_b1')).toBe(true);
        expect(await store.deletePushRegistration('d_b1', web(99))).toBe(false);
        expect(await store.getPushRegistration('d_b1')).toStrictEqual(web(2));
        expect(await store.deletePushRegistration('d_b1', web(2))).toBe(true);
        expect(await store.getPushRegistration('d_b1')).toBeNull();
        expect((await jobs()).some((j) => j.deviceId === 'd_b1')).toBe(false);
        expect(await store.deletePushRegistration('d_b1')).toBe(false);
        void b;
      });

      it('revoking a device removes its registration and its jobs', async () => {
        const [a, b] = await setup();
        await pushSend('c_g', a!, 'm1', now(), 'd_a1');
        expect(await store.revokeDevice(b!, 'd_b2', now())).toBe(true);
        expect(await store.getPushRegistration('d_b2')).toBeNull();
        expect((await jobs()).map((j) => j.deviceId)).toEqual(['d_b1', 'd_c1']);
      });

      it('records one job per registered device of the other members, none for the sender’s own devices', async () => {
        const [a] = await setup();
        const at = now();
        const seq = await pushSend('c_g', a!, 'm1', at, 'd_a1');
        const all = await jobs();
        expect(all.map((j) => j.deviceId)).toEqual(['d_b1', 'd_b2', 'd_c1']);
        expect(all[0]).toStrictEqual({
          deviceId: 'd_b1',
          userId: 'u_bob',
          channelId: 'c_g',
          count: 1,
          lastSeq: seq,
          notifiedSeq: 0,
          attempts: 0,
          createdAt: at,
          registration: web(2),
        });
        expect(all[1]!.registration).toStrictEqual(apns('bb02'));
        expect(all[2]!.registration).toStrictEqual({ kind: 'fcm', token: 'fcm-c1' });
      });

      it('records nothing without a push policy', async () => {
        const [a] = await setup();
        await send('c_g', a!, 'm1');
        expect(await jobs()).toEqual([]);
      });

      it('folds a burst into one job per device and channel, counting it, due from the first message', async () => {
        const [a, b] = await setup();
        const first = now();
        await pushSend('c_g', a!, 'm1', first, 'd_a1');
        await pushSend('c_g', a!, 'm2', now(), 'd_a1');
        const last = await pushSend('c_g', b!, 'm3', now(), 'd_b1');
        // Not due before the first message's grace has passed, due after it.
        expect(await store.claimPushJobs(first + 4_999, 100, FAR)).toEqual([]);
        const due = await store.claimPushJobs(first + 5_000, 100, FAR);
        const byDevice = new Map(due.map((j) => [j.deviceId, j]));
        // bob's devices: alice's two messages (not his own); carol's: all three; alice's: bob's one.
        expect(byDevice.get('d_b1')).toMatchObject({ count: 2, lastSeq: last - 1 });
        expect(byDevice.get('d_c1')).toMatchObject({ count: 3, lastSeq: last });
        // alice's devices got their first job with bob's message: due from then.
        expect(byDevice.has('d_a1')).toBe(false);
        const mine = (await jobs()).filter((j) => j.userId === a);
        expect(mine.map((j) => [j.deviceId, j.count, j.lastSeq])).toEqual([['d_a1', 1, last], ['d_a2', 1, last]]);
      });

      it('also folds the messages of one batch', async () => {
        const [a] = await setup();
        const at = now();
        await store.appendMessages([req('c_g', a!, 'x1', 'one', 'd_a1'), req('c_g', a!, 'x2', 'two', 'd_a1')], at, POLICY(at));
        expect((await jobs()).find((j) => j.deviceId === 'd_c1')).toMatchObject({ count: 2, lastSeq: 3 });
      });

      it('skips members who muted the channel until the mute ends, and former members', async () => {
        const [a, b, c] = await setup();
        const member = await store.setMuted('c_g', b!, T0 + 50_000_000);
        expect(member).toMatchObject({ userId: b, mutedUntil: T0 + 50_000_000 });
        await store.changeChannel('c_g', change(a!, { remove: [c!] }, 'member_removed'), now());
        await pushSend('c_g', a!, 'm1', now(), 'd_a1');
        expect(await jobs()).toEqual([]);
        // Once the mute has ended, pushes resume.
        await pushSend('c_g', a!, 'm2', T0 + 50_000_000, 'd_a1');
        expect((await jobs()).map((j) => j.deviceId)).toEqual(['d_b1', 'd_b2']);
      });

      it('sets and clears a mute for current members only, and tells the member’s devices through sync', async () => {
        const [a, b] = await setup();
        const cursor = await head(b!);
        expect(await store.setMuted('c_g', b!, 123)).toMatchObject({ mutedUntil: 123 });
        expect((await store.getMember('c_g', b!))?.mutedUntil).toBe(123);
        const page = await store.sync(b!, cursor, 10);
        expect(page.entries).toEqual([{ channelId: 'c_g', lastSeq: 1, joinedSeq: 1, readSeq: 0, left: false, mutedUntil: 123 }]);
        expect((await store.sync(a!, cursor, 10)).entries).toEqual([]);
        expect(await store.setMuted('c_g', b!, null)).toMatchObject({ mutedUntil: null });
        expect(await store.setMuted('c_g', 'u_nobody', 5)).toBeNull();
        expect(await store.setMuted('c_missing', b!, 5)).toBeNull();
      });

      it('leases claimed jobs: nobody else gets them until the lease ends', async () => {
        const [a] = await setup();
        const at = now();
        await pushSend('c_g', a!, 'm1', at, 'd_a1');
        const claimed = await store.claimPushJobs(at + 5_000, 2, at + 35_000);
        expect(claimed).toHaveLength(2);
        const rest = await store.claimPushJobs(at + 5_000, 10, at + 35_000);
        expect(rest).toHaveLength(1);
        expect(await store.claimPushJobs(at + 34_999, 10, FAR)).toEqual([]);
        expect(await store.claimPushJobs(at + 35_000, 10, FAR)).toHaveLength(3);
      });

      it('after a notification keeps the job without a due time, and the next message waits out the minimum interval', async () => {
        const [a] = await setup();
        const at = now();
        await pushSend('c_g', a!, 'm1', at, 'd_a1');
        const [job] = (await store.claimPushJobs(at + 5_000, 100, at + 30_000)).filter((j) => j.deviceId === 'd_c1');
        await store.settlePushJob(job!, { kind: 'notified', at: at + 6_000, nextDueAt: at + 66_000 });
        expect((await store.claimPushJobs(FAR, 100, FAR)).filter((j) => j.deviceId === 'd_c1')).toEqual([]);

        const seq = await pushSend('c_g', a!, 'm2', at + 10_000, 'd_a1');
        // Grace would make it due at +15 s; the last push was at +6 s, so +66 s.
        expect((await store.claimPushJobs(at + 65_999, 100, FAR)).filter((j) => j.deviceId === 'd_c1')).toEqual([]);
        const [again] = (await store.claimPushJobs(at + 66_000, 100, FAR)).filter((j) => j.deviceId === 'd_c1');
        expect(again).toMatchObject({ count: 2, lastSeq: seq, notifiedSeq: job!.lastSeq });
      });

      it('keeps a job due when messages arrived while it was out', async () => {
        const [a] = await setup();
        const at = now();
        await pushSend('c_g', a!, 'm1', at, 'd_a1');
        const [job] = (await store.claimPushJobs(at + 5_000, 100, at + 30_000)).filter((j) => j.deviceId === 'd_c1');
        const seq = await pushSend('c_g', a!, 'm2', at + 5_500, 'd_a1');
        await store.settlePushJob(job!, { kind: 'notified', at: at + 6_000, nextDueAt: at + 9_000 });
        const [next] = (await store.claimPushJobs(at + 9_000, 100, FAR)).filter((j) => j.deviceId === 'd_c1');
        expect(next).toMatchObject({ count: 2, lastSeq: seq, notifiedSeq: job!.lastSeq });
        // `done` on a changed job also keeps it.
        const seq3 = await pushSend('c_g', a!, 'm3', at + 9_500, 'd_a1');
        await store.settlePushJob(next!, { kind: 'done', nextDueAt: at + 12_000 });
        expect((await store.claimPushJobs(at + 12_000, 100, FAR)).find((j) => j.deviceId === 'd_c1')).toMatchObject({ lastSeq: seq3 });
      });

      it('deletes a job that is done, and requeues a retry counting the attempt', async () => {
        const [a] = await setup();
        const at = now();
        await pushSend('c_g', a!, 'm1', at, 'd_a1');
        const claimed = await store.claimPushJobs(at + 5_000, 100, at + 30_000);
        const c1 = claimed.find((j) => j.deviceId === 'd_c1')!;
        const b1 = claimed.find((j) => j.deviceId === 'd_b1')!;
        await store.settlePushJob(c1, { kind: 'done', nextDueAt: at + 9_000 });
        await store.settlePushJob(b1, { kind: 'retry', dueAt: at + 8_000 });
        const later = await store.claimPushJobs(at + 8_000, 100, FAR);
        expect(later.map((j) => [j.deviceId, j.attempts])).toEqual([['d_b1', 1]]);
        expect((await jobs()).map((j) => j.deviceId)).toEqual(['d_b1', 'd_b2']);
      });

      it('clears a device’s job when it acknowledges delivery up to the job’s last message, not before', async () => {
        const [a] = await setup();
        const s1 = await pushSend('c_g', a!, 'm1', now(), 'd_a1');
        const s2 = await pushSend('c_g', a!, 'm2', now(), 'd_a1');
        await store.clearPushJobs([{ deviceId: 'd_c1', channelId: 'c_g', seq: s1 }, { deviceId: 'd_b1', channelId: 'c_g', seq: s2 }]);
        expect((await jobs()).map((j) => j.deviceId)).toEqual(['d_b2', 'd_c1']);
        await store.clearPushJobs([{ deviceId: 'd_c1', channelId: 'c_g', seq: s2 }]);
        expect((await jobs()).map((j) => j.deviceId)).toEqual(['d_b2']);
        await store.clearPushJobs([]);
      });

      it('on a read drops pending pushes and turns shown notifications into read pushes due at once', async () => {
        const [a, , c] = await setup();
        const at = now();
        const s1 = await pushSend('c_g', a!, 'm1', at, 'd_a1');
        await store.setPushRegistration('d_c1', { kind: 'fcm', token: 'fcm-c1' }, at);
        const [job] = (await store.claimPushJobs(at + 5_000, 100, at + 30_000)).filter((j) => j.deviceId === 'd_b1');
        await store.settlePushJob(job!, { kind: 'notified', at: at + 5_000, nextDueAt: at + 65_000 });
        const s2 = await pushSend('c_g', a!, 'm2', at + 6_000, 'd_a1');

        // bob read up to s1 only: his job (now covering s2) stays; carol read everything.
        await store.pushChannelsRead([{ userId: 'u_bob', channelId: 'c_g', readSeq: s1 }, { userId: c!, channelId: 'c_g', readSeq: s2 }], at + 7_000);
        expect((await jobs()).map((j) => j.deviceId)).toEqual(['d_b1', 'd_b2']);

        await store.pushChannelsRead([{ userId: 'u_bob', channelId: 'c_g', readSeq: s2 }], at + 8_000);
        // d_b1 showed a notification: a read push (count 0) is due now; d_b2 never did: dropped.
        const due = await store.claimPushJobs(at + 8_000, 100, FAR);
        expect(due.map((j) => [j.deviceId, j.count, j.notifiedSeq])).toEqual([['d_b1', 0, s1]]);
        await store.settlePushJob(due[0]!, { kind: 'done', nextDueAt: at + 9_000 });
        expect(await jobs()).toEqual([]);
      });
    });

    // --- passwords ------------------------------------------------------------

    describe('setPassword', () => {
      it('replaces the hash and revokes every other live device with its pushes, keeping the given one', async () => {
        await users('alice', 'bob');
        for (const [id, user] of [['d_1', 'u_alice'], ['d_2', 'u_alice'], ['d_3', 'u_alice'], ['d_b', 'u_bob']] as const) {
          await store.createDevice(deviceRecord(id, user), `hash-${id}`);
        }
        await store.revokeDevice('u_alice', 'd_3', now());
        await store.setPushRegistration('d_2', { kind: 'apns', token: 'aa02' }, now());
        await store.setPushRegistration('d_b', { kind: 'apns', token: 'bb01' }, now());

        expect(await store.setPassword('u_alice', 'new-hash', 'd_1', now())).toEqual(['d_2']);
        expect((await store.getUser('u_alice'))?.passwordHash).toBe('new-hash');
        expect((await store.listDevices('u_alice')).map((d) => d.id)).toEqual(['d_1']);
        expect(await store.findDeviceByTokenHash('hash-d_2')).toBeNull();
        expect(await store.findDeviceByTokenHash('hash-d_1')).not.toBeNull();
        expect(await store.getPushRegistration('d_2')).toBeNull();
        // Nobody else is touched.
        expect((await store.getUser('u_bob'))?.passwordHash).toBe('hash-of-bob');
        expect(await store.getPushRegistration('d_b')).toEqual({ kind: 'apns', token: 'bb01' });
        expect(await store.setPassword('u_alice', 'newer-hash', 'd_1', now())).toEqual([]);
      });
    });

    // --- blocks ---------------------------------------------------------------

    describe('blocks', () => {
      it('blocks, lists newest first, lifts; blocking again keeps the first time', async () => {
        const [a, b, c] = await users('alice', 'bob', 'carol');
        const t1 = now();
        await store.block(a!, b!, t1);
        const t2 = now();
        await store.block(a!, c!, t2);
        await store.block(a!, b!, now());
        expect(await store.listBlocks(a!)).toEqual([{ userId: c, blockedAt: t2 }, { userId: b, blockedAt: t1 }]);
        expect(await store.listBlocks(b!)).toEqual([]);
        expect(await store.isBlockedBetween(a!, b!)).toBe(true);
        expect(await store.isBlockedBetween(b!, a!)).toBe(true);
        expect(await store.isBlockedBetween(b!, c!)).toBe(false);
        expect((await store.blockRelations(a!)).sort()).toEqual([b, c]);
        expect(await store.blockRelations(b!)).toEqual([a]);

        expect(await store.unblock(a!, b!)).toBe(true);
        expect(await store.unblock(a!, b!)).toBe(false);
        expect(await store.isBlockedBetween(a!, b!)).toBe(false);
        expect(await store.listBlocks(a!)).toEqual([{ userId: c, blockedAt: t2 }]);
      });

      it('refuses new sends in a direct channel either way while a block stands; groups are unaffected', async () => {
        const [a, b, c] = await users('alice', 'bob', 'carol');
        await store.getOrCreateDirect('c_ab', a!, b!, now());
        await store.getOrCreateDirect('c_ac', a!, c!, now());
        await group('c_g', a!, [b!]);
        const before = await send('c_ab', b!, 'before');
        await store.block(a!, b!, now());

        const { results, recipients } = await store.appendMessages(
          [req('c_ab', b!, 'after'), req('c_ab', a!, 'mine'), req('c_ab', b!, 'before'), req('c_ac', a!, 'other'), req('c_g', b!, 'group'), req('c_ab', c!, 'stranger')],
          now(),
        );
        expect(results.map((r) => (r.ok ? [r.message.channelId, r.message.seq, r.duplicate] : r.code))).toEqual([
          'blocked',
          'blocked',
          // A send committed before the block still gets its original ack.
          ['c_ab', before.seq, true],
          ['c_ac', 1, false],
          ['c_g', 2, false],
          'not_member',
        ]);
        expect([...recipients.keys()].sort()).toEqual(['c_ac', 'c_g']);
        expect(seqs((await store.getMessages('c_ab', { limit: 10 })).messages)).toEqual([1]);

        await store.unblock(a!, b!);
        expect((await send('c_ab', b!, 'again')).seq).toBe(2);
      });

      it('finds contacts: users sharing a current channel, without a block either way', async () => {
        const [a, b, c, d, e, f] = await users('alice', 'bob', 'carol', 'dave', 'erin', 'frank');
        await store.getOrCreateDirect('c_ab', a!, b!, now());
        await group('c_g', a!, [c!, d!, e!]);
        await group('c_other', f!, [b!]);
        await store.changeChannel('c_g', change(a!, { remove: [d!] }, 'member_removed'), now());
        await store.block(e!, a!, now());
        expect((await store.contactsAmong(a!, [a!, b!, c!, d!, e!, f!, 'u_nobody'])).sort()).toEqual([b, c]);
        expect(await store.contactsAmong(d!, [a!, c!])).toEqual([]);
        expect((await store.contactsAmong(b!, [a!, f!])).sort()).toEqual([a, f]);
        expect(await store.contactsAmong(a!, [])).toEqual([]);
      });
    });

    // --- atomicity ------------------------------------------------------------

    describe('atomicity', () => {
      it('serializes concurrent appends to one channel without gaps or repeats', async () => {
        const [a, b] = await users('alice', 'bob');
        await group('c_g', a!, [b!]);
        const batches = await Promise.all(
          range(1, 10).map((i) => store.appendMessages([req('c_g', i % 2 ? a! : b!, `p${i}-1`), req('c_g', a!, `p${i}-2`)], now())),
        );
        const assigned = batches.flatMap((r) => r.results.map((x) => (x.ok ? x.message.seq : -1)));
        expect([...assigned].sort((x, y) => x - y)).toEqual(range(2, 21));
        expect(seqs((await store.getMessages('c_g', { limit: 100 })).messages)).toEqual(range(1, 21));
        expect((await store.getChannel('c_g'))?.lastSeq).toBe(21);
      });
    });
  });
}
