import { describe, expect, it } from 'vitest';
import { conversationUrl, isOpenChannelMessage, notificationData, notificationFor, parsePayload, settledByRead, supersedes, NOTIFICATION_ICON } from './notifications.js';

describe('parsePayload', () => {
  it('keeps the fields a push may carry', () => {
    const raw = { type: 'message', channelId: 'c_1', count: 2, senderId: 'u_b', senderName: 'Bob', channelName: null, preview: 'hi', seq: 7 };
    expect(parsePayload(raw)).toEqual(raw);
  });

  it('refuses what is not a Confab push, and drops mistyped fields', () => {
    expect(parsePayload(null)).toBeNull();
    expect(parsePayload('message')).toBeNull();
    expect(parsePayload({ type: 'typing', channelId: 'c_1' })).toBeNull();
    expect(parsePayload({ type: 'message', channelId: '' })).toBeNull();
    expect(parsePayload({ type: 'read', channelId: 'c_1', seq: -1, count: 1.5, preview: 3, channelName: 4 })).toEqual({ type: 'read', channelId: 'c_1' });
  });
});

describe('notificationFor', () => {
  it("titles a 1:1 message with the sender's name and shows the preview", () => {
    const { title, options } = notificationFor({ type: 'message', channelId: 'c_1', senderName: 'Bob', channelName: null, preview: 'Lunch?', seq: 4 });
    expect(title).toBe('Bob');
    expect(options).toEqual({ body: 'Lunch?', tag: 'c_1', renotify: true, icon: NOTIFICATION_ICON, data: { channelId: 'c_1', seq: 4 } });
  });

  it('titles a group message with the group and says who wrote', () => {
    const { title, options } = notificationFor({ type: 'message', channelId: 'c_2', senderName: 'Bob', channelName: 'Trip', preview: 'Tent?' });
    expect([title, options.body, options.data.seq]).toEqual(['Trip', 'Bob: Tent?', null]);
  });

  it('without a preview (privacy mode) says how many messages there are', () => {
    expect(notificationFor({ type: 'message', channelId: 'c', senderName: 'Bob', count: 3 }).options.body).toBe('3 new messages');
    expect(notificationFor({ type: 'message', channelId: 'c', senderName: 'Bob', count: 1 }).options.body).toBe('New message');
    expect(notificationFor({ type: 'message', channelId: 'c' })).toMatchObject({ title: 'New message', options: { body: 'New message' } });
  });

  it('keeps an empty preview as the body rather than inventing one', () => {
    expect(notificationFor({ type: 'message', channelId: 'c', senderName: 'Bob', preview: '' }).options.body).toBe('');
  });
});

describe('ordering and reading', () => {
  it('reads back only data Confab stored', () => {
    expect(notificationData({ channelId: 'c', seq: 3 })).toEqual({ channelId: 'c', seq: 3 });
    expect(notificationData({ channelId: 'c', seq: 'x' })).toEqual({ channelId: 'c', seq: null });
    expect(notificationData({ url: '/' })).toBeNull();
    expect(notificationData(undefined)).toBeNull();
  });

  it('a shown notification about the same or a later message makes a new one redundant', () => {
    expect(supersedes({ channelId: 'c', seq: 5 }, 5)).toBe(true);
    expect(supersedes({ channelId: 'c', seq: 6 }, 5)).toBe(true);
    expect(supersedes({ channelId: 'c', seq: 4 }, 5)).toBe(false);
    expect(supersedes({ channelId: 'c', seq: null }, 5)).toBe(false);
    expect(supersedes({ channelId: 'c', seq: 9 }, undefined)).toBe(false);
  });

  it('reading up to a seq settles notifications up to it, not later ones', () => {
    expect(settledByRead({ channelId: 'c', seq: 5 }, 5)).toBe(true);
    expect(settledByRead({ channelId: 'c', seq: 6 }, 5)).toBe(false);
    expect(settledByRead({ channelId: 'c', seq: 6 }, undefined)).toBe(true);
    expect(settledByRead({ channelId: 'c', seq: null }, 5)).toBe(true);
  });
});

describe('opening a conversation', () => {
  it('points at the hash route the app reads', () => {
    expect(conversationUrl('c_1')).toBe('/#/c/c_1');
    expect(conversationUrl('a/b c')).toBe('/#/c/a%2Fb%20c');
  });

  it('recognizes the message the service worker sends', () => {
    expect(isOpenChannelMessage({ type: 'open-channel', channelId: 'c_1' })).toBe(true);
    expect(isOpenChannelMessage({ type: 'open-channel', channelId: 1 })).toBe(false);
    expect(isOpenChannelMessage({ type: 'other', channelId: 'c_1' })).toBe(false);
    expect(isOpenChannelMessage(null)).toBe(false);
  });
});
