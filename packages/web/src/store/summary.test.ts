import type { ChannelSummary, Message } from '@confab/protocol';
import { describe, expect, it } from 'vitest';
import { mergeSummary, sortChannels, summaryWithMessage, unreadOf } from './summary.js';

const summary = (over: Partial<ChannelSummary> = {}): ChannelSummary => ({
  id: 'c_1',
  kind: 'group',
  name: 'Trip',
  createdAt: 1_000,
  memberCount: 3,
  lastSeq: 4,
  lastMessage: null,
  role: 'member',
  joinedSeq: 1,
  readSeq: 4,
  unreadCount: 0,
  left: false,
  mutedUntil: null,
  ...over,
});
const msg = (seq: number, senderId: string, over: Partial<Message> = {}): Message => ({
  channelId: 'c_1',
  seq,
  senderId,
  clientId: `m${seq}`,
  kind: 'text',
  text: `#${seq}`,
  createdAt: seq * 1_000,
  ...over,
});

describe('summaryWithMessage', () => {
  it("counts someone else's new message as unread and makes it the preview", () => {
    const next = summaryWithMessage(summary(), msg(5, 'u_b'), 'u_me');
    expect(next.lastSeq).toBe(5);
    expect(unreadOf(next)).toBe(1);
    expect(next.lastMessage?.seq).toBe(5);
  });

  it('treats my own message as read, as the server does', () => {
    const next = summaryWithMessage(summary({ readSeq: 2 }), msg(5, 'u_me'), 'u_me');
    expect(unreadOf(next)).toBe(0);
  });

  it('takes the new name from a rename', () => {
    const rename = msg(5, 'u_b', { kind: 'system', text: 'renamed', system: { event: 'renamed', actorId: 'u_b', name: 'Holiday' } });
    expect(summaryWithMessage(summary(), rename, 'u_me').name).toBe('Holiday');
  });

  it('ignores a message it already knows', () => {
    const ch = summary({ lastMessage: msg(4, 'u_b') });
    expect(summaryWithMessage(ch, msg(3, 'u_b'), 'u_me')).toBe(ch);
  });
});

describe('mergeSummary', () => {
  it('never moves positions backwards when a fetched row is older than live events', () => {
    const live = summaryWithMessage(summary(), msg(6, 'u_b'), 'u_me');
    const fetched = summary({ lastSeq: 5, readSeq: 5, memberCount: 4 });
    const merged = mergeSummary(live, fetched);
    expect([merged.lastSeq, merged.readSeq, merged.memberCount, merged.lastMessage?.seq]).toEqual([6, 5, 4, 6]);
    expect(unreadOf(merged)).toBe(1);
  });

  it('takes the mute setting from the fetched row', () => {
    expect(mergeSummary(summary({ mutedUntil: 5_000 }), summary({ mutedUntil: null })).mutedUntil).toBeNull();
    expect(mergeSummary(summary(), summary({ mutedUntil: 9_000 })).mutedUntil).toBe(9_000);
  });
});

describe('sortChannels', () => {
  it('puts the latest activity first', () => {
    const a = summary({ id: 'c_a', lastMessage: msg(1, 'u_b', { createdAt: 5_000 }) });
    const b = summary({ id: 'c_b', createdAt: 9_000 });
    const c = summary({ id: 'c_c', lastMessage: msg(1, 'u_b', { createdAt: 7_000 }) });
    expect(sortChannels([a, b, c]).map((ch) => ch.id)).toEqual(['c_b', 'c_c', 'c_a']);
  });
});
