import { MUTED_FOREVER, type ChannelSummary, type Message } from '@confab/protocol';
import { describe, expect, it } from 'vitest';
import { LIVE_NOTIFY_MAX_AGE_MS, PREVIEW_CHARS, liveNotification } from './live-notification.js';

const NOW = 1_800_000_000_000;
const channel = (over: Partial<ChannelSummary> = {}): ChannelSummary => ({
  id: 'c_1',
  kind: 'direct',
  name: null,
  createdAt: 0,
  memberCount: 2,
  lastSeq: 5,
  lastMessage: null,
  role: 'member',
  joinedSeq: 1,
  readSeq: 3,
  unreadCount: 2,
  left: false,
  mutedUntil: null,
  peer: { id: 'u_bob', username: 'bob', displayName: 'Bob', createdAt: 0 },
  ...over,
});
const message = (over: Partial<Message> = {}): Message => ({
  channelId: 'c_1',
  seq: 5,
  senderId: 'u_bob',
  clientId: 'x',
  kind: 'text',
  text: 'Lunch?',
  createdAt: NOW - 1_000,
  ...over,
});
const ctx = (over: { message?: Partial<Message>; channel?: Partial<ChannelSummary>; senderName?: string } = {}) => ({
  message: message(over.message),
  channel: channel(over.channel),
  myId: 'u_me',
  senderName: over.senderName,
  now: NOW,
});

describe('liveNotification', () => {
  it('describes a new 1:1 message like a push would', () => {
    expect(liveNotification(ctx())).toEqual({
      type: 'message',
      channelId: 'c_1',
      count: 2,
      senderId: 'u_bob',
      senderName: 'Bob',
      channelName: null,
      preview: 'Lunch?',
      seq: 5,
    });
  });

  it('names the group and the sender in a group', () => {
    const p = liveNotification(ctx({ channel: { kind: 'group', name: 'Trip', peer: undefined }, senderName: 'Carol', message: { senderId: 'u_carol' } }));
    expect(p).toMatchObject({ channelName: 'Trip', senderName: 'Carol' });
  });

  it('stays quiet for my own messages, system events, read, left, muted or old ones', () => {
    expect(liveNotification(ctx({ message: { senderId: 'u_me' } }))).toBeNull();
    expect(liveNotification(ctx({ message: { kind: 'system' } }))).toBeNull();
    expect(liveNotification(ctx({ channel: { readSeq: 5 } }))).toBeNull();
    expect(liveNotification(ctx({ channel: { left: true } }))).toBeNull();
    expect(liveNotification(ctx({ channel: { mutedUntil: MUTED_FOREVER } }))).toBeNull();
    expect(liveNotification(ctx({ channel: { mutedUntil: NOW + 60_000 } }))).toBeNull();
    expect(liveNotification(ctx({ message: { createdAt: NOW - LIVE_NOTIFY_MAX_AGE_MS - 1 } }))).toBeNull();
    expect(liveNotification({ ...ctx(), channel: undefined })).toBeNull();
  });

  it('notifies again once a mute has run out', () => {
    expect(liveNotification(ctx({ channel: { mutedUntil: NOW - 1 } }))).not.toBeNull();
  });

  it('cuts a long message to a preview', () => {
    const preview = liveNotification(ctx({ message: { text: '😀'.repeat(PREVIEW_CHARS + 50) } }))!.preview!;
    expect(Array.from(preview)).toHaveLength(PREVIEW_CHARS);
    expect(preview.endsWith('…')).toBe(true);
  });
});
