import { expect } from 'vitest';
import type { Store } from './store.js';

/*
 * The upgrade to sync versions per channel: rows as the previous release
 * wrote them (a message bumped every member row's version; channels had no
 * version of their own), and what sync must make of them once the migration
 * has run. Each adapter's test writes the rows with its own schema up to the
 * migration before, then opens the store on them. The embedded store keeps
 * its counter and must meet `expectSyncAcrossUpgrade`; the PostgreSQL store's
 * versions have since become transaction ids (old cursors then read from the
 * beginning), so its test states its own expectations on the same rows.
 */

/** A direct channel with one message, written when member rows carried every version. */
export const ROWS_BEFORE_CHANNEL_VERSIONS = `
  INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES ('u_alice', 'alice', 'alice', 'h', 1), ('u_bob', 'bob', 'bob', 'h', 1);
  INSERT INTO channels (id, kind, direct_key, created_by, created_at, last_seq, member_count, last_activity_at)
    VALUES ('c_d', 'direct', 'u_alice u_bob', 'u_alice', 1, 1, 2, 1);
  INSERT INTO messages (channel_id, seq, sender_id, sender_device_id, client_id, kind, text, created_at) VALUES ('c_d', 1, 'u_alice', 'd_a', 'm1', 'text', 'hi', 2);
  INSERT INTO members (channel_id, user_id, role, joined_at, joined_seq, read_seq, delivered_seq, version)
    VALUES ('c_d', 'u_alice', 'member', 1, 1, 1, 1, 2), ('c_d', 'u_bob', 'member', 1, 1, 0, 0, 2);
  UPDATE meta SET value = 2 WHERE key = 'version';
`;

/** Sync on a store opened over those rows: the old versions still count, and new messages move the channel. */
export async function expectSyncAcrossUpgrade(store: Store): Promise<void> {
  // What the old rows say is still there for a cursor from before them...
  expect((await store.sync('u_bob', '1', 10)).entries).toEqual([{ channelId: 'c_d', lastSeq: 1, joinedSeq: 1, readSeq: 0, left: false, mutedUntil: null }]);
  // ...and nothing for one from after them.
  expect(await store.sync('u_bob', '2', 10)).toEqual({ cursor: '2', hasMore: false, entries: [] });
  // A new message moves the channel's version past that cursor.
  await store.appendMessages([{ channelId: 'c_d', senderId: 'u_alice', senderDeviceId: 'd_a', clientId: 'm2', text: 'again' }], 3);
  const page = await store.sync('u_bob', '2', 10);
  expect(page.entries).toEqual([{ channelId: 'c_d', lastSeq: 2, joinedSeq: 1, readSeq: 0, left: false, mutedUntil: null }]);
  expect(Number(page.cursor)).toBe(3);
}
